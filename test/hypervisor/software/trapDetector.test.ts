/**
 * The detector guest (test/guests/detector) under trap-and-emulate
 * (acceleration 'trap': the software monitor with translation off). What
 * Popek and Goldberg predict for x86: the sensitive instructions that do not
 * trap outside ring 0 show the monitor, not the guest's virtual CPU. The
 * values are the monitor's own layout (core/hypervisor/software/monitorSpace.ts:
 * shadow GDT at 0xFFC00000 with a 64 KiB limit, IDT page at 0xFFC20000, its
 * LDT and TSS selectors 0xFFF0/0xFFF8), ring compression (RPL 1, DPL 1,
 * kernel segments truncated below 0xFFC00000), and the processor's IF = 1,
 * IOPL = 0 under the guest. SMSW shows the guest's MSW (the monitor keeps the
 * guest's low CR0 bits on the processor) and POPF of IF=1 happens to agree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createMachine } from '../../../core/machine/machine.ts';
import type { RunResult } from '../../../core/machine/types.ts';
import { assemble } from '../../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../../guests/detector');

it('shows the predicted leaks of trap-and-emulate, and the virtualized CPUID', () => {
  const detector = assemble(readFileSync(join(DETECTOR_DIR, 'detector.asm'), 'utf8'), [DETECTOR_DIR]);
  let out = '';
  const decoder = new TextDecoder();
  const machine = createMachine(
    { clock: 'deterministic', acceleration: 'trap', memoryMiB: 16, kernel: detector },
    { onSerialOutput: (port, bytes) => port === 0 && (out += decoder.decode(bytes)) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  expect(out.trim().split('\n')).toEqual([
    'sgdt: LEAK (saw base 0xffd00000 limit 0x0000ffff, loaded base 0x00102000 limit 0x0000002f)',
    'sidt: LEAK (saw base 0xffd20000 limit 0x000007ff, loaded base 0x001020b8 limit 0x000007ff)',
    'sldt: LEAK (saw selector 0x0000fff0, loaded 0x00000020)',
    'str: LEAK (saw selector 0x0000fff8, loaded 0x00000028)',
    'smsw: ok',
    'mov-cs: LEAK (saw selector 0x00000009, loaded 0x00000008)',
    'mov-ss: LEAK (saw selector 0x00000011, loaded 0x00000010)',
    'push-cs: LEAK (saw selector 0x00000009, loaded 0x00000008)',
    'pushf-after-cli: LEAK (IF=1 after CLI)',
    'popf-sets-if: ok',
    'popf-clears-if: LEAK (IF=1 after POPF of IF=0)',
    'popf-iopl: LEAK (saw IOPL 0 then 0 after POPF of IOPL 3 then 0)',
    'lar: LEAK (selector 0x00000008: saw 0x00c0bb00, expected 0x00c09b00)',
    'lsl: LEAK (selector 0x00000008: saw 0xffcfffff, expected 0xffffffff)',
    'cpuid: virtualized (hypervisor bit set, leaf 0x40000000 "PopekPopekHV")',
    'summary: 14 checks, 12 leaked, cpuid virtualized',
  ]);
});
