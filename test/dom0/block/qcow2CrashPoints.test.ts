/**
 * Crash consistency, exhaustively: a sequence of writes that allocates L2
 * tables, data clusters, refcount blocks and a new refcount table is cut off
 * after its 1st, 2nd, ... file write (the process "dies": no later write
 * reaches the file), and after every cut `qemu-img check` must find no
 * corruption (leaks are allowed). The real kill -9 test (qcow2Kill) lands at
 * random moments; this one visits every point between two writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../../core/dom0/block/blockBackend.ts';
import { SeededRandom } from './diskModel.ts';
import { qemuCheck, qemuImg } from './qemuImg.ts';

const realWriteSync = fs.writeSync;

class SimulatedKill extends Error {}

/** Lets `allowed` writes through, then throws before the next one (as if the process died there). */
function cutWritesAfter(allowed: number, log?: number[]): void {
  let count = 0;
  (fs as { writeSync: unknown }).writeSync = (...args: unknown[]): number => {
    if (count++ >= allowed) throw new SimulatedKill(`killed before write ${count}`);
    if (log) log.push(args[4] as number);
    return (realWriteSync as (...a: unknown[]) => number)(...args);
  };
}

function restoreWrites(): void {
  (fs as { writeSync: unknown }).writeSync = realWriteSync;
}

/** The writes under test: 6 scattered 2 KiB writes (new L2 tables, data clusters, refcount blocks, a bigger refcount table). */
function scenario(image: string): void {
  const disk = openDisk(image);
  const rng = new SeededRandom(5);
  try {
    for (let i = 0; i < 6; i++) disk.write(2 * 1024 * 1024 + rng.below(13 * 1024 * 1024), rng.bytes(2048));
  } finally {
    disk.close();
  }
}

describe('qcow2 crash points', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-crashpoints-'));
  });
  afterEach(restoreWrites);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a cut after any write leaves no corruption', () => {
    // 512-byte clusters, 64-bit refcounts: one refcount block counts 32 KiB of file, one table cluster 2 MiB.
    const pristine = path.join(dir, 'pristine.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', pristine, '16M']);
    // Fill the file up to just below what the first refcount table can count, so the scenario must grow the table.
    const prefill = openDisk(pristine);
    prefill.write(0, new Uint8Array(1975 * 1024).fill(0x42));
    prefill.close();
    expect(qemuCheck(pristine).status).toBe(0);

    const image = path.join(dir, 'image.qcow2');
    fs.copyFileSync(pristine, image);
    const positions: number[] = [];
    cutWritesAfter(Number.MAX_SAFE_INTEGER, positions);
    scenario(image);
    restoreWrites();
    const total = positions.length;
    expect(total).toBeGreaterThan(40);
    expect(positions).toContain(48); // the header's refcount table pointer was rewritten: the table grew
    expect(qemuCheck(image).status).toBe(0);

    for (let cut = 0; cut < total; cut += 1) {
      fs.copyFileSync(pristine, image);
      cutWritesAfter(cut);
      expect(() => scenario(image)).toThrow(SimulatedKill);
      restoreWrites();
      const check = qemuCheck(image);
      if (check.corruptions !== 0 || check.checkErrors !== 0) {
        throw new Error(`cut after write ${cut} of ${total} (offset ${positions[cut - 1]}): ${JSON.stringify(check)}`);
      }
    }
  }, 300_000);
});
