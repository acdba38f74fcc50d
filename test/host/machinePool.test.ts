/**
 * The host's machine memory pool: VMs under the hypervisor take their
 * frames from one pool, a VM that does not fit in what the others leave is
 * refused with the figures, and a VM's frames all come back when its domain
 * ends (however it ended: the host frees by owner, not the worker).
 */
import { describe, expect, it } from 'vitest';
import { MachinePool } from '../../core/host/machinePool.ts';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineApi, RunResult } from '../../core/machine/types.ts';
import { assembleKernel } from '../machine/assembleKernel.ts';

const MiB = 1024 * 1024;

function runToStop(machine: MachineApi): RunResult {
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 200 && result.kind === 'running'; i++) result = machine.run(50);
  return result;
}

function helloVm(pool: MachinePool, memoryMiB: number, acceleration: 'vtx' | 'svm' = 'vtx') {
  let out = '';
  const lease = pool.lease();
  const machine = createMachine(
    { memoryMiB, clock: 'deterministic', acceleration, kernel: assembleKernel('multibootHello'), machineMemory: lease },
    { onSerialOutput: (_p, b) => (out += new TextDecoder().decode(b)) },
  );
  return { machine, owner: lease.owner, output: () => out };
}

describe('the machine memory pool shared by the running VMs', () => {
  it('runs two VMs from one pool, refuses a third that does not fit, and takes a VM’s frames back when it ends', () => {
    const pool = new MachinePool(64 * MiB);
    const a = helloVm(pool, 16);
    const usedByA = pool.usedBytes;
    expect(usedByA).toBeGreaterThan(16 * MiB);
    expect(usedByA).toBeLessThan(17 * MiB);
    const b = helloVm(pool, 16, 'svm');
    expect(pool.usedBytes).toBeGreaterThan(2 * 16 * MiB);

    // Both run in the same pool, each in its own frames.
    expect(runToStop(a.machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(runToStop(b.machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    expect(a.output()).toMatch(/^Hello from Multiboot/);
    expect(b.output()).toBe(a.output());

    const before = pool.usedBytes;
    expect(() => helloVm(pool, 40)).toThrow(
      `not enough machine memory for this VM: it needs 41 MiB (its RAM and what the hypervisor keeps for it); ${Math.floor((64 * MiB - before) / MiB)} MiB of the machine's 64 MiB are free, the other running VMs hold the rest`,
    );
    expect(pool.usedBytes).toBe(before);

    expect(pool.release(a.owner)).toBe(usedByA / 4096);
    expect(pool.release(b.owner)).toBe((before - usedByA) / 4096);
    expect(pool.usedBytes).toBe(0);
    const c = helloVm(pool, 40);
    expect(runToStop(c.machine)).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  });

  it('gives each lease its own owner id and frees nothing twice', () => {
    const pool = new MachinePool(8 * MiB);
    const first = pool.lease();
    const second = pool.lease();
    expect(first.owner).not.toBe(second.owner);
    expect(first.share.buffer).toBe(second.share.buffer);
    expect(pool.release(first.owner)).toBe(0);
    expect(pool.release(first.owner)).toBe(0);
  });
});
