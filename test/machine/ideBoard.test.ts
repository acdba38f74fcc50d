/**
 * The board's IDE controller as the machine builds it from MachineOptions
 * (ideDisks, cdroms): a small Multiboot kernel finds the PIIX3 IDE function
 * at 00:01.1, identifies the disk on the primary master by PIO, reads a
 * sector by bus-master DMA into guest RAM, and sees the ATAPI signature of
 * the CD-ROM drive on the primary slave; on the bare PC and under the VT-x
 * hypervisor (I/O exits to the same device models, DMA through the domain's
 * p2m). Bad configurations are refused with a clear error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import type { MachineApi, RunResult } from '../../core/machine/types.ts';
import { assembleKernel } from './assembleKernel.ts';

function runToStop(machine: MachineApi, maxSlices = 400): RunResult {
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < maxSlices && result.kind === 'running'; i++) result = machine.run(50);
  return result;
}

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

describe('IDE controller on the board', () => {
  let dir: string;
  let disk: string;
  let iso: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-ide-board-'));
    disk = join(dir, 'disk.raw');
    const image = new Uint8Array(1024 * 512);
    image.set([0xde, 0xc0, 0xad, 0x0b], 512); // sector 1
    writeFileSync(disk, image);
    iso = join(dir, 'disc.iso');
    writeFileSync(iso, new Uint8Array(16 * 2048));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['none', 'vtx'] as const)('a driver finds the function, identifies the disk, reads by DMA and sees the CD-ROM (acceleration %s)', (acceleration) => {
    const bytes: number[] = [];
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', acceleration, kernel: assembleKernel('ideProbe'), logPorts: [0x190], ideDisks: [{ path: disk }], cdroms: [{ path: iso }] },
      { onPortByte: (port, byte) => port === 0x190 && bytes.push(byte) },
    );
    expect(runToStop(machine)).toMatchObject({ kind: 'stopped', reason: { kind: 'halt' } });
    expect(bytes).toEqual([
      ...le32(0x7010_8086), // 00:01.1
      ...le32(1024), // sectors
      0xde, 0xc0, 0xad, 0x0b, // sector 1 by DMA
      0x04, // bus master: interrupt, no longer active (the PRD table was exactly the transfer)
      0x50, // ATA status after the command
      0x14, 0xeb, // ATAPI signature on the slave
    ]);
  });

  it('refuses more than four IDE devices and images that are not CDs, naming them', () => {
    const options = { memoryMiB: 16, clock: 'deterministic' as const, kernel: assembleKernel('ideProbe') };
    expect(() => createMachine({ ...options, ideDisks: [{ path: disk }, { path: disk }, { path: disk }], cdroms: [{ path: iso }, { path: iso }] }, {})).toThrow(
      'at most 4 IDE devices (disks and CD-ROM drives together), got 5',
    );
    const tiny = join(dir, 'tiny.iso');
    writeFileSync(tiny, new Uint8Array(1024));
    expect(() => createMachine({ ...options, cdroms: [{ path: tiny }] }, {})).toThrow(`CD-ROM 1 (${tiny}): not a CD image (smaller than one 2048-byte sector)`);
    expect(() => createMachine({ ...options, ideDisks: [{ path: join(dir, 'missing.img') }] }, {})).toThrow(`IDE disk 1 (${join(dir, 'missing.img')}):`);
  });

  it('leaves the PCI function out without IDE devices', () => {
    const bytes: number[] = [];
    const machine = createMachine(
      { memoryMiB: 16, clock: 'deterministic', kernel: assembleKernel('ideProbe'), logPorts: [0x190] },
      { onPortByte: (port, byte) => port === 0x190 && bytes.push(byte) },
    );
    // Without the function the config read is all ones and IDENTIFY never gets DRQ (the port floats at 0xFF, BSY): stop after a while.
    for (let i = 0; i < 5; i++) machine.run(20);
    expect(bytes.slice(0, 4)).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});
