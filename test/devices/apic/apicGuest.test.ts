/**
 * The APICs on the board, end to end with a guest (a nasm Multiboot kernel,
 * kernels/apicTimer.asm): CPUID.1:EDX.APIC and IA32_APIC_BASE as the
 * processor answers them, the local APIC's registers by MMIO, a self-IPI,
 * the LAPIC timer periodic, and the PIT's IRQ 0 through I/O APIC pin 2, with
 * the 8259 masked; and (kernels/ioApicLevel.asm) the ACPI SCI as a
 * level-triggered I/O APIC interrupt with remote IRR and the EOI broadcast; on the bare PC (the APICs on the processor's bus) and
 * under VT-x and AMD-V (the domain's virtual APICs: MMIO by EPT violation /
 * #NPF, or by a shadow page fault on shadow page tables; vectors injected on
 * entry). Deterministic clock: exact counts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../scripts/nasm.ts';
import { createMachine } from '../../../core/machine/machine.ts';
import type { Acceleration } from '../../../core/machine/acceleration.ts';

const kernel = (name: string) => assemble(readFileSync(join(import.meta.dirname, `kernels/${name}`), 'utf8'), [join(import.meta.dirname, '../../machine/kernels')], {});
const KERNEL = kernel('apicTimer.asm');
const LEVEL_KERNEL = kernel('ioApicLevel.asm');

function run(acceleration: Acceleration, apic: boolean, nestedPaging = true, image = KERNEL) {
  let out = '';
  const machine = createMachine(
    { memoryMiB: 16, clock: 'deterministic', acceleration, nestedPaging, apic, kernel: image },
    { onSerialOutput: (port, bytes) => port === 0 && (out += Buffer.from(bytes).toString('latin1')) },
  );
  let result = machine.run(50);
  for (let i = 0; i < 400 && result.kind === 'running'; i++) result = machine.run(50);
  return { out, result };
}

describe.each<[Acceleration, boolean]>([
  ['none', true],
  ['vtx', true],
  ['vtx', false],
  ['svm', true],
  ['svm', false],
])('a guest using the APICs (acceleration %s, nested paging %s)', (acceleration, nestedPaging) => {
  it('takes a self-IPI, 20 LAPIC timer ticks and the PIT through I/O APIC pin 2, no spurious interrupt', () => {
    const { out, result } = run(acceleration, true, nestedPaging);
    // 20 ms of LAPIC ticks; the 100 Hz PIT ticks twice in them (its first edge 10 ms after it was programmed).
    expect(out).toBe('apic L=20 P=02 I=1 S=0');
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  });

  it('takes the level-triggered ACPI SCI through I/O APIC pin 9: remote IRR until the EOI, sent again while the line stays asserted', () => {
    const { out, result } = run(acceleration, true, nestedPaging, LEVEL_KERNEL);
    // Two PM timer overflows, each taken twice (the first EOI leaves the line asserted); remote IRR set in all 4, clear at the end.
    expect(out).toBe('sci N=4 R=4 r=0 S=0');
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  });
});

it('without the APICs the processor does not advertise one', () => {
  expect(run('none', false).out).toBe('no APIC in CPUID');
});
