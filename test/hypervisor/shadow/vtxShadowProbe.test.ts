/**
 * A small guest on the 'vtx' board with nested paging off, compared byte for
 * byte with the bare emulated PC: paging turned on from the boot entry's
 * identity shadow, a 4 MiB page, its own page faults reflected with their
 * error codes and CR2, PTE fixes without INVLPG, A/D bits, INVLPG, CR3
 * reload, and the CR0/CR3/CR4 values the guest reads back (its own, not the
 * processor's).
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';
import { createMachine } from '../../../core/machine/machine.ts';
import type { MachineOptions, RunResult } from '../../../core/machine/types.ts';
import { assemble } from '../../../scripts/nasm.ts';

const KERNELS = join(import.meta.dirname, 'kernels');
const MACHINE_KERNELS = join(import.meta.dirname, '../../machine/kernels');

function run(options: Partial<MachineOptions>) {
  const ports: number[] = [];
  const kernel = assemble(readFileSync(join(KERNELS, 'shadowProbe.asm'), 'utf8'), [MACHINE_KERNELS]);
  const machine = createMachine(
    { memoryMiB: 16, clock: 'deterministic', kernel, logPorts: [0x190], ...options },
    { onPortByte: (_p, b) => ports.push(b) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 200 && result.kind === 'running'; i++) result = machine.run(50);
  return { result, ports, stats: machine.stats() };
}

describe('shadow paging under VT-x: a small guest', () => {
  it('ends exactly as on the bare PC, with its page faults reflected and the rest hidden', () => {
    const bare = run({ acceleration: 'none' });
    const shadow = run({ acceleration: 'vtx', nestedPaging: false });
    expect(bare.ports).toEqual([0x00, 0x10, 0x11, 0x00, 0x01, 0x00, 0x03, 0x01, 0x22, 0x63, 0x63, 0x27, 0xe3, 0x11, 0x20, 0x80]);
    expect(shadow.ports).toEqual(bare.ports);
    expect(shadow.result).toEqual(bare.result);
    expect(shadow.result.kind === 'stopped' && shadow.result.reason.kind).toBe('halt');
    const h = shadow.stats.hypervisor!;
    const s = h.shadowPaging!;
    expect(s.reflectedFaults).toBe(2);
    expect(s.hiddenFaults + s.reflectedFaults).toBe(h.exitsByReason[F.EXIT_REASON_EXCEPTION_NMI]);
    expect(s.pageTableWriteFaults).toBeGreaterThanOrEqual(1);
    expect(s.invlpgs).toBe(1);
    expect(h.exitsByReason[F.EXIT_REASON_INVLPG]).toBe(1);
    expect(s.cr3Switches).toBe(3); // the boot entry's CR3 = 0, and the guest's two loads
    expect(s.modeFlushes).toBe(2); // PSE on, then PG/WP on
    expect(h.eptViolations).toBe(0);
  });

  it('refuses a firmware guest with nested paging off: it starts in real mode', () => {
    const rom = new Uint8Array(64 * 1024);
    expect(() => createMachine({ memoryMiB: 4, clock: 'deterministic', rom, acceleration: 'vtx', nestedPaging: false }, {})).toThrow(
      'VT-x without nested paging runs only a kernel (Linux or Multiboot) entered in protected mode: firmware starts in real mode, which needs unrestricted guest and so EPT',
    );
  });
});
