/**
 * What the hypervisor did for one VM, counted in shared memory so the host
 * (another thread) reads the figures live without stopping the VM: exits by
 * basic exit reason, I/O exits by port, entries, injected interrupts, EPT
 * violations, and host time spent in the guest vs in the hypervisor.
 *
 * One Float64Array over a SharedArrayBuffer (exact counts up to 2^53; a
 * reader may see a count one behind, never a torn value on the platforms
 * Node runs on, since each element is written whole by one thread).
 */

import { SHADOW_COUNTER_KEYS, type ShadowCounters } from './shadow/shadowCounters.ts';

/** Basic exit reasons counted one by one (Intel's numbering stops below this). */
export const EXIT_REASON_SLOTS = 64;

const ENTRIES = EXIT_REASON_SLOTS;
const INJECTED = ENTRIES + 1;
const EPT_VIOLATIONS = ENTRIES + 2;
const GUEST_MS = ENTRIES + 3;
const HYPERVISOR_MS = ENTRIES + 4;
/** 1 when the domain runs on shadow page tables, then its counters (SHADOW_COUNTER_KEYS order). */
const SHADOW_ON = ENTRIES + 5;
const SHADOW_AT = ENTRIES + 6;
const PORTS_AT = 128;
const PORT_COUNT = 0x10000;
const SLOTS = PORTS_AT + PORT_COUNT;

/** A copy of the counters at one moment (plain data: crosses postMessage). */
export interface CounterSnapshot {
  /** Exits per basic exit reason (index = reason). */
  exitsByReason: number[];
  /** I/O-instruction exits by port, only the ports that had any. */
  ioExitsByPort: Record<number, number>;
  entries: number;
  injectedInterrupts: number;
  eptViolations: number;
  /** Host milliseconds with the processor in the guest (VMX non-root). */
  guestMs: number;
  /** Host milliseconds in the hypervisor's exit handlers and entry preparation. */
  hypervisorMs: number;
  /** Shadow paging's counters when the domain runs without nested paging, else absent. */
  shadowPaging?: ShadowCounters;
}

export class HypervisorCounters {
  readonly buffer: SharedArrayBuffer;
  private readonly f: Float64Array;

  /** New counters, or a view of another thread's (`buffer` from its `buffer`). */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(SLOTS * 8);
    if (this.buffer.byteLength < SLOTS * 8) throw new RangeError('counter buffer is too small');
    this.f = new Float64Array(this.buffer, 0, SLOTS);
  }

  exit(reason: number): void {
    if (reason >= 0 && reason < EXIT_REASON_SLOTS) this.f[reason]++;
  }

  ioExit(port: number): void {
    this.f[PORTS_AT + (port & 0xffff)]++;
  }

  entry(): void {
    this.f[ENTRIES]++;
  }

  injected(): void {
    this.f[INJECTED]++;
  }

  eptViolation(): void {
    this.f[EPT_VIOLATIONS]++;
  }

  addGuestMs(ms: number): void {
    this.f[GUEST_MS] += ms;
  }

  addHypervisorMs(ms: number): void {
    this.f[HYPERVISOR_MS] += ms;
  }

  /** Shadow paging's counters as they are now (copied whole: a dozen numbers after an exit that changed them). */
  shadowPaging(c: ShadowCounters): void {
    this.f[SHADOW_ON] = 1;
    for (let i = 0; i < SHADOW_COUNTER_KEYS.length; i++) this.f[SHADOW_AT + i] = c[SHADOW_COUNTER_KEYS[i]];
  }

  exitsFor(reason: number): number {
    return this.f[reason] ?? 0;
  }

  totalExits(): number {
    let n = 0;
    for (let i = 0; i < EXIT_REASON_SLOTS; i++) n += this.f[i];
    return n;
  }

  snapshot(): CounterSnapshot {
    const ioExitsByPort: Record<number, number> = {};
    for (let p = 0; p < PORT_COUNT; p++) {
      const n = this.f[PORTS_AT + p];
      if (n !== 0) ioExitsByPort[p] = n;
    }
    let shadowPaging: ShadowCounters | undefined;
    if (this.f[SHADOW_ON] === 1) {
      shadowPaging = {} as ShadowCounters;
      SHADOW_COUNTER_KEYS.forEach((k, i) => (shadowPaging![k] = this.f[SHADOW_AT + i]));
    }
    return {
      ...(shadowPaging ? { shadowPaging } : {}),
      exitsByReason: Array.from(this.f.subarray(0, EXIT_REASON_SLOTS)),
      ioExitsByPort,
      entries: this.f[ENTRIES],
      injectedInterrupts: this.f[INJECTED],
      eptViolations: this.f[EPT_VIOLATIONS],
      guestMs: this.f[GUEST_MS],
      hypervisorMs: this.f[HYPERVISOR_MS],
    };
  }

  reset(): void {
    this.f.fill(0);
  }
}
