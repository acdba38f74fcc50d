/**
 * The detector guest (test/guests/detector, issue 10) in every mode that runs
 * guests: from its own ring 0 it reads back what the sensitive but
 * unprivileged instructions show and prints a verdict per check. On the bare
 * emulated PC and under hardware assist (VT-x and AMD-V, each with nested and
 * with shadow paging) nothing may leak: the guest sees its own GDT, IDT, LDT,
 * TR, MSW, selectors, flags and descriptors. The CPUID hypervisor bit is not a
 * leak but information: set by Popek's hypervisor, clear on the bare PC.
 *
 * Trap-and-emulate's predicted leaks and binary translation's clean sheet are
 * asserted beside the software monitor (test/hypervisor/software/
 * trapDetector.test.ts, bt/detectorBt.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import { createMachine } from '../../core/machine/machine.ts';
import type { RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../guests/detector');
const detector = assemble(readFileSync(join(DETECTOR_DIR, 'detector.asm'), 'utf8'), [DETECTOR_DIR]);

/** Boots the detector in one mode (deterministic clock) until it powers off; returns its stop and COM1 text. */
function runDetector(acceleration: Acceleration, nestedPaging: boolean): { result: RunResult; out: string } {
  let out = '';
  const decoder = new TextDecoder();
  const machine = createMachine(
    { clock: 'deterministic', acceleration, nestedPaging, memoryMiB: 16, kernel: detector },
    { onSerialOutput: (port, bytes) => port === 0 && (out += decoder.decode(bytes)) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  return { result, out };
}

const NOTHING_LEAKED = [
  'sgdt: ok',
  'sidt: ok',
  'sldt: ok',
  'str: ok',
  'smsw: ok',
  'mov-cs: ok',
  'mov-ss: ok',
  'push-cs: ok',
  'pushf-after-cli: ok',
  'popf-sets-if: ok',
  'popf-clears-if: ok',
  'popf-iopl: ok',
  'lar: ok',
  'lsl: ok',
];

const BARE = [...NOTHING_LEAKED, 'cpuid: bare (hypervisor bit clear)', 'summary: 14 checks, 0 leaked, cpuid bare', ''].join('\n');
const VIRTUALIZED = [
  ...NOTHING_LEAKED,
  'cpuid: virtualized (hypervisor bit set, leaf 0x40000000 "PopekPopekHV")',
  'summary: 14 checks, 0 leaked, cpuid virtualized',
  '',
].join('\n');

describe('the detector guest', () => {
  const cases: { name: string; acceleration: Acceleration; nestedPaging: boolean; expected: string }[] = [
    { name: 'the bare emulated PC (none)', acceleration: 'none', nestedPaging: true, expected: BARE },
    { name: 'VT-x with EPT', acceleration: 'vtx', nestedPaging: true, expected: VIRTUALIZED },
    { name: 'VT-x on shadow page tables', acceleration: 'vtx', nestedPaging: false, expected: VIRTUALIZED },
    { name: 'AMD-V with NPT', acceleration: 'svm', nestedPaging: true, expected: VIRTUALIZED },
    { name: 'AMD-V on shadow page tables', acceleration: 'svm', nestedPaging: false, expected: VIRTUALIZED },
  ];
  for (const c of cases) {
    it(`sees nothing leaked on ${c.name}`, () => {
      const { result, out } = runDetector(c.acceleration, c.nestedPaging);
      expect(out).toBe(c.expected);
      expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
    });
  }
});
