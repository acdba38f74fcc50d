import { describe, expect, it } from 'vitest';
import { VirtualInterrupts, type InterruptSource } from '../../../core/hypervisor/exits/virtualInterrupts.ts';

/** A controller with a queue of vectors; INTR is high while the queue is not empty. */
class Queue implements InterruptSource {
  vectors: number[] = [];
  hasInterrupt(): boolean {
    return this.vectors.length > 0;
  }
  acknowledge(): number {
    return this.vectors.shift()!;
  }
}

describe('virtual interrupts', () => {
  it('drives the INTR pin while nothing is held, and keeps it low while a vector waits for injection', () => {
    const q = new Queue();
    const pin: boolean[] = [];
    const vi = new VirtualInterrupts(q, (l) => pin.push(l));
    q.vectors.push(0x20, 0x24);
    vi.setRequest(true);
    expect(pin).toEqual([true]);
    vi.hold(q.acknowledge()); // what an external-interrupt exit with acknowledge-on-exit does
    expect(pin).toEqual([true, false]);
    vi.setRequest(true); // the controller still has 0x24
    expect(pin).toEqual([true, false, false]);
    expect(vi.pending).toBe(true);
    expect(vi.take()).toBe(0x20);
    expect(pin.at(-1)).toBe(true); // 0x24 may now exit again
    expect(vi.take()).toBe(0x24); // taken by the hypervisor itself (e.g. the vCPU was halted)
    expect(vi.pending).toBe(false);
    expect(vi.take()).toBe(-1);
  });

  it("acknowledges and holds the controller's vector itself after SVM's INTR intercept, which leaves it pending", () => {
    const q = new Queue();
    const pin: boolean[] = [];
    const vi = new VirtualInterrupts(q, (l) => pin.push(l));
    expect(vi.acknowledgeAndHold()).toBe(false); // nothing requested: nothing taken
    q.vectors.push(0x21, 0x20);
    vi.setRequest(true);
    expect(vi.acknowledgeAndHold()).toBe(true);
    expect([vi.heldVector, q.vectors, pin.at(-1)]).toEqual([0x21, [0x20], false]);
    expect(vi.acknowledgeAndHold()).toBe(false); // one held at a time: 0x20 waits in the controller
    expect(vi.take()).toBe(0x21);
    expect(pin.at(-1)).toBe(true);
  });

  it('forgets a held vector on power-on', () => {
    const q = new Queue();
    const vi = new VirtualInterrupts(q, () => {});
    vi.hold(0x30);
    vi.reset();
    expect(vi.pending).toBe(false);
    expect(vi.heldVector).toBe(-1);
  });
});
