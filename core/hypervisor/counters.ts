/**
 * What the hypervisor did for one VM, counted in shared memory so the host
 * (another thread) reads the figures live without stopping the VM: exits by
 * basic exit reason, I/O exits by port, entries, injected interrupts, EPT
 * violations, and host time spent in the guest vs in the hypervisor; under
 * the software modes the monitor's traps and reflections and the binary
 * translator's counters (copied in by the board after each run).
 *
 * One Float64Array over a SharedArrayBuffer (exact counts up to 2^53; a
 * reader may see a count one behind, never a torn value on the platforms
 * Node runs on, since each element is written whole by one thread).
 */

import { SHADOW_COUNTER_KEYS, type ShadowCounters } from './shadow/shadowCounters.ts';
import { newMonitorCounters, TRAP_KINDS, type MonitorCounters } from './software/monitorCounters.ts';
import { CALLOUT_KINDS } from './software/bt/calloutKinds.ts';
import type { TranslatorCounters } from './software/bt/counters.ts';

/** The virtualization extension whose exits are counted: it decides what an exit number means (exitNames.ts). */
export type ExitVendor = 'vmx' | 'svm';

/** VT-x basic exit reasons counted one by one (Intel's numbering stops below this). */
export const EXIT_REASON_SLOTS = 64;
/**
 * SVM EXITCODEs counted one by one: 0 to 8Fh in their own slots, #NPF
 * (400h, the only code beyond) in the slot after them.
 */
const SVM_CODES_BELOW = 0x90;
const SVM_NPF = 0x400;
const EXIT_SLOTS = SVM_CODES_BELOW + 1;

const ENTRIES = 160;
const INJECTED = ENTRIES + 1;
const EPT_VIOLATIONS = ENTRIES + 2;
const GUEST_MS = ENTRIES + 3;
const HYPERVISOR_MS = ENTRIES + 4;
/** 1 when the domain runs on shadow page tables, then its counters (SHADOW_COUNTER_KEYS order). */
const SHADOW_ON = ENTRIES + 5;
const SHADOW_AT = ENTRIES + 6;
/** 1 when the exits are SVM EXITCODEs, 0 for VT-x exit reasons. */
const VENDOR = ENTRIES + 40;
const PORTS_AT = 256;
const PORT_COUNT = 0x10000;
/** The software monitor ('trap', 'bt'): 1 when it runs the domain, traps by TRAP_KINDS, reflections by vector, then MONITOR_TOTALS. */
const MONITOR_ON = PORTS_AT + PORT_COUNT;
const TRAPS_AT = MONITOR_ON + 1;
const REFLECTED_AT = TRAPS_AT + TRAP_KINDS.length;
const MONITOR_TOTALS_AT = REFLECTED_AT + 256;
const MONITOR_TOTALS = [
  'hiddenPageFaults', 'heldInterrupts', 'gdtResyncs', 'gdtPagesUnwatched', 'gdtEntriesByWatch', 'gdtEntriesByResync', 'viewSwitchesToUser',
  'lazyViewSwitchesToUser', 'viewSwitchesToKernel', 'emulatedInstructions', 'emulatorEntries', 'emulatorExits',
] as const;
/** The binary translator ('bt'): 1 once it exists, TRANSLATOR_COUNTS, TC bytes used and size, then callouts by CALLOUT_KINDS. */
const TRANSLATOR_ON = MONITOR_TOTALS_AT + MONITOR_TOTALS.length;
const TRANSLATOR_AT = TRANSLATOR_ON + 1;
const TRANSLATOR_COUNTS = [
  'blocksBuilt', 'guestInstructionsTranslated', 'blocksEntered', 'blocksInvalidated', 'chainsMade', 'cacheFlushes', 'codeWrites',
  'sectionsReused', 'blocksEvicted',
] as const;
const TC_USED = TRANSLATOR_AT + TRANSLATOR_COUNTS.length;
const TC_SIZE = TC_USED + 1;
const CALLOUTS_AT = TC_SIZE + 1;
const SLOTS = CALLOUTS_AT + CALLOUT_KINDS.length;

/** The translator's counters with the translation cache's fill: bytes used now, and its size. */
export interface TranslatorSnapshot extends TranslatorCounters {
  tcUsed: number;
  tcSize: number;
}

/** A copy of the counters at one moment (plain data: crosses postMessage). */
export interface CounterSnapshot {
  /** Whose exit numbers `exitsByReason` is indexed by: VT-x basic exit reasons or SVM EXITCODEs. */
  vendor: ExitVendor;
  /** Exits per basic exit reason or EXITCODE (index = that number). */
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
  /** The software monitor's counters ('trap' and 'bt'), else absent. */
  monitor?: MonitorCounters;
  /** The binary translator's counters ('bt', once the guest kernel first ran translated), else absent. */
  translator?: TranslatorSnapshot;
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

  /** Counts SVM EXITCODEs from now on (set once by an SVM vCPU; the default is VT-x's exit reasons). */
  setVendor(vendor: ExitVendor): void {
    this.f[VENDOR] = vendor === 'svm' ? 1 : 0;
  }

  get vendor(): ExitVendor {
    return this.f[VENDOR] === 1 ? 'svm' : 'vmx';
  }

  /** One exit: a VT-x basic exit reason, or an SVM EXITCODE on an SVM vCPU's counters. */
  exit(reason: number): void {
    const slot = this.slotOf(reason);
    if (slot >= 0) this.f[slot]++;
  }

  private slotOf(reason: number): number {
    if (this.f[VENDOR] !== 1) return reason >= 0 && reason < EXIT_REASON_SLOTS ? reason : -1;
    if (reason >= 0 && reason < SVM_CODES_BELOW) return reason;
    return reason === SVM_NPF ? SVM_CODES_BELOW : -1;
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

  /** The software monitor's counters as they are now (copied whole after each run of the processor: about 280 numbers). */
  softwareMonitor(m: MonitorCounters): void {
    const f = this.f;
    f[MONITOR_ON] = 1;
    for (let i = 0; i < TRAP_KINDS.length; i++) f[TRAPS_AT + i] = m.traps[TRAP_KINDS[i]];
    for (let v = 0; v < 256; v++) f[REFLECTED_AT + v] = m.reflected[v];
    for (let i = 0; i < MONITOR_TOTALS.length; i++) f[MONITOR_TOTALS_AT + i] = m[MONITOR_TOTALS[i]];
  }

  /** The binary translator's counters and its translation cache's fill, as they are now. */
  translator(t: TranslatorCounters, tcUsed: number, tcSize: number): void {
    const f = this.f;
    f[TRANSLATOR_ON] = 1;
    for (let i = 0; i < TRANSLATOR_COUNTS.length; i++) f[TRANSLATOR_AT + i] = t[TRANSLATOR_COUNTS[i]];
    f[TC_USED] = tcUsed;
    f[TC_SIZE] = tcSize;
    for (let i = 0; i < CALLOUT_KINDS.length; i++) f[CALLOUTS_AT + i] = t.callouts[CALLOUT_KINDS[i]] ?? 0;
  }

  exitsFor(reason: number): number {
    const slot = this.slotOf(reason);
    return slot >= 0 ? this.f[slot] : 0;
  }

  totalExits(): number {
    let n = 0;
    for (let i = 0; i < EXIT_SLOTS; i++) n += this.f[i];
    return n;
  }

  /** Exits indexed by the vendor's own number (for SVM an array up to #NPF's 400h, zeros between). */
  private exitsByReason(): number[] {
    if (this.f[VENDOR] !== 1) return Array.from(this.f.subarray(0, EXIT_REASON_SLOTS));
    const out = Array.from(this.f.subarray(0, SVM_CODES_BELOW));
    out.length = SVM_NPF + 1;
    out.fill(0, SVM_CODES_BELOW);
    out[SVM_NPF] = this.f[SVM_CODES_BELOW];
    return out;
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
      ...(this.f[MONITOR_ON] === 1 ? { monitor: this.monitorSnapshot() } : {}),
      ...(this.f[TRANSLATOR_ON] === 1 ? { translator: this.translatorSnapshot() } : {}),
      vendor: this.vendor,
      exitsByReason: this.exitsByReason(),
      ioExitsByPort,
      entries: this.f[ENTRIES],
      injectedInterrupts: this.f[INJECTED],
      eptViolations: this.f[EPT_VIOLATIONS],
      guestMs: this.f[GUEST_MS],
      hypervisorMs: this.f[HYPERVISOR_MS],
    };
  }

  private monitorSnapshot(): MonitorCounters {
    const m = newMonitorCounters();
    TRAP_KINDS.forEach((k, i) => (m.traps[k] = this.f[TRAPS_AT + i]));
    for (let v = 0; v < 256; v++) m.reflected[v] = this.f[REFLECTED_AT + v];
    MONITOR_TOTALS.forEach((k, i) => (m[k] = this.f[MONITOR_TOTALS_AT + i]));
    return m;
  }

  /** Callout kinds that never happened are absent, as in the translator's own record. */
  private translatorSnapshot(): TranslatorSnapshot {
    const t = { callouts: {} } as TranslatorSnapshot;
    TRANSLATOR_COUNTS.forEach((k, i) => (t[k] = this.f[TRANSLATOR_AT + i]));
    t.tcUsed = this.f[TC_USED];
    t.tcSize = this.f[TC_SIZE];
    CALLOUT_KINDS.forEach((k, i) => {
      const n = this.f[CALLOUTS_AT + i];
      if (n !== 0) t.callouts[k] = n;
    });
    return t;
  }

  /** Zeroes the counts (the vendor stays). */
  reset(): void {
    const vendor = this.f[VENDOR];
    this.f.fill(0);
    this.f[VENDOR] = vendor;
  }
}
