import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { FpuErrorPort } from '../../core/devices/fpuErrorPort.ts';

function setup() {
  const bus = new MemoryBus(new PhysicalMemory(1 << 20));
  const irq: boolean[] = [];
  let cleared = 0;
  const port = new FpuErrorPort(bus, (l) => irq.push(l), () => { cleared++; });
  return { bus, port, irq, cleared: () => cleared };
}

describe('FPU error port (FERR# -> IRQ 13, port 0xF0)', () => {
  it('raises IRQ 13 while FERR# is asserted', () => {
    const { port, irq } = setup();
    port.ferr(true);
    expect(irq).toEqual([true]);
    port.ferr(false);
    expect(irq).toEqual([true, false]);
  });

  it('lowers IRQ 13 and asserts IGNNE# on a write to 0xF0 while FERR# is pending', () => {
    const { bus, port, irq, cleared } = setup();
    port.ferr(true);
    bus.portWrite(0xf0, 1, 0);
    expect(irq).toEqual([true, false]);
    expect(cleared()).toBe(1);
  });

  it('ignores writes to 0xF0 without a pending error, and writes to 0xF1', () => {
    const { bus, port, irq, cleared } = setup();
    bus.portWrite(0xf0, 1, 0);
    port.ferr(true);
    bus.portWrite(0xf1, 1, 0);
    expect(irq).toEqual([true]);
    expect(cleared()).toBe(0);
    expect(bus.portRead(0xf0, 1)).toBe(0xff);
  });
});
