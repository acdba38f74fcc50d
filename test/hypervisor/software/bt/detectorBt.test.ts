/**
 * The detector guest (test/guests/detector) under binary translation: the
 * software monitor with this translator. Every sensitive instruction the
 * detector checks runs from the translation cache as a callout, so nothing
 * leaks (compare test/hypervisor/software/trapDetector.test.ts, the same
 * guest under trap-and-emulate).
 * Acceleration 'bt': the software processor plugs MonitorTranslator into
 * the monitor.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createMachine } from '../../../../core/machine/machine.ts';
import type { RunResult } from '../../../../core/machine/types.ts';
import type { MonitorTranslator } from '../../../../core/hypervisor/software/bt/monitorTranslator.ts';
import { assemble } from '../../../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../../../guests/detector');

it('the detector sees no leak under binary translation', () => {
  runDetector();
});

function runDetector(): void {
  const detector = assemble(readFileSync(join(DETECTOR_DIR, 'detector.asm'), 'utf8'), [DETECTOR_DIR]);
  let out = '';
  const decoder = new TextDecoder();
  const machine = createMachine(
    { clock: 'deterministic', acceleration: 'bt', memoryMiB: 16, kernel: detector },
    { onSerialOutput: (port, bytes) => port === 0 && (out += decoder.decode(bytes)) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  expect(out.trim().split('\n')).toEqual([
    'sgdt: ok', 'sidt: ok', 'sldt: ok', 'str: ok', 'smsw: ok', 'mov-cs: ok', 'mov-ss: ok', 'push-cs: ok',
    'pushf-after-cli: ok', 'popf-sets-if: ok', 'popf-clears-if: ok', 'popf-iopl: ok', 'lar: ok', 'lsl: ok',
    'cpuid: virtualized (hypervisor bit set, leaf 0x40000000 "PopekPopekHV")',
    'summary: 14 checks, 0 leaked, cpuid virtualized',
  ]);
  // Each checked instruction ran as a callout, from translated code that chained (the translator, through the board's vCPU).
  const board = machine as unknown as { side: { vcpu: { monitor: { translator: MonitorTranslator } } } };
  const c = board.side.vcpu.monitor.translator.translator!.counters;
  for (const kind of ['sgdt', 'sidt', 'sldt', 'str', 'smsw', 'movFromCs', 'movFromSs', 'pushCs', 'pushf', 'popf', 'cli', 'lar', 'lsl'] as const) {
    expect(c.callouts[kind] ?? 0, kind).toBeGreaterThan(0);
  }
  expect(c.chainsMade).toBeGreaterThan(0);
  expect(c.cacheFlushes).toBe(0);
}
