/**
 * The detector guest (test/guests/detector) under binary translation: the
 * software monitor with this translator. Every sensitive instruction the
 * detector checks runs from the translation cache as a callout, so nothing
 * leaks (compare test/hypervisor/software/trapDetector.test.ts, the same
 * guest under trap-and-emulate).
 *
 * Until the machine wiring selects the translator for acceleration 'bt'
 * (softwareProcessor.ts passes none yet), this test plugs it into the
 * software processor's vCPU itself.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createMachine } from '../../../../core/machine/machine.ts';
import type { RunResult } from '../../../../core/machine/types.ts';
import { SoftwareProcessor } from '../../../../core/machine/softwareProcessor.ts';
import { SoftwareVcpu } from '../../../../core/hypervisor/software/softwareVcpu.ts';
import { MonitorTranslator } from '../../../../core/hypervisor/software/bt/monitorTranslator.ts';
import { assemble } from '../../../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../../../guests/detector');

it('the detector sees no leak under binary translation', () => {
  const translator = new MonitorTranslator();
  type Inside = { vcpu: SoftwareVcpu; cpu: SoftwareVcpu['cpu']; domainMemory: unknown; deviceBus: unknown; counters: SoftwareVcpu['counters'] };
  const proto = SoftwareProcessor.prototype as unknown as { connect(this: Inside, chipset: unknown): void };
  const connect = proto.connect;
  proto.connect = function (this: Inside, chipset: unknown) {
    connect.call(this, chipset);
    this.vcpu = new SoftwareVcpu(this.cpu, { memory: this.domainMemory, ports: this.deviceBus } as never, this.counters, translator);
  };
  try {
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
      'sgdt: ok', 'sidt: ok', 'sldt: ok', 'str: ok', 'smsw: ok', 'mov-cs: ok', 'mov-ss: ok', 'push-cs: ok',
      'pushf-after-cli: ok', 'popf-sets-if: ok', 'popf-clears-if: ok', 'popf-iopl: ok', 'lar: ok', 'lsl: ok',
      'cpuid: virtualized (hypervisor bit set, leaf 0x40000000 "PopekPopekHV")',
      'summary: 14 checks, 0 leaked, cpuid virtualized',
    ]);
    // Each checked instruction ran as a callout at least once, from translated code that chained.
    const c = translator.translator!.counters;
    for (const kind of ['sgdt', 'sidt', 'sldt', 'str', 'smsw', 'movFromCs', 'movFromSs', 'pushCs', 'pushf', 'popf', 'cli', 'lar', 'lsl'] as const) {
      expect(c.callouts[kind] ?? 0, kind).toBeGreaterThan(0);
    }
    expect(c.chainsMade).toBeGreaterThan(0);
    expect(c.cacheFlushes).toBe(0);
  } finally {
    proto.connect = connect;
  }
});
