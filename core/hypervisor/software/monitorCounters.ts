/**
 * What the software monitor counts, as plain numbers: traps by the
 * instruction emulated, events reflected into the guest by vector, external
 * interrupts held while the guest's virtual IF was 0. 'gdt write' is a
 * guest write to its write-protected GDT (a #PF, not a #GP). Shadow-paging
 * counters are ShadowPaging's own (shadow/shadowCounters.ts).
 */
export const TRAP_KINDS = [
  'cli', 'sti', 'hlt', 'iret', 'in/out', 'ins/outs', 'mov ss', 'lgdt/lidt', 'lldt/ltr', 'mov cr', 'mov dr', 'clts/lmsw',
  'invlpg', 'rdmsr/wrmsr', 'cpuid', 'rdtsc', 'wbinvd/invd', 'top 4 MiB', 'gdt write',
] as const;
export type TrapKind = (typeof TRAP_KINDS)[number];

export interface MonitorCounters {
  /** Privileged instructions emulated after their #GP at CPL 1 (CPUID and RDTSC reach the monitor without one, through the seam). */
  traps: Record<TrapKind, number>;
  /** Events reflected into the guest through its IDT, by vector. */
  reflected: number[];
  /** Shadow page faults the monitor fixed without the guest seeing them. */
  hiddenPageFaults: number;
  /** External interrupts acknowledged while virtual IF was 0, held for later. */
  heldInterrupts: number;
  /** Shadow GDT updates that found a changed guest descriptor (a trapped GDT write, LGDT, a CR3 load, a selector fault). */
  gdtResyncs: number;
  /** Guest GDT frames no longer write-protected (until the next LGDT) because the guest kept writing beside the table there. */
  gdtPagesUnwatched: number;
  /**
   * Guest GDT descriptors found changed and rewritten in both views of the shadow GDT (kernel and user, guestViews.ts):
   * by the write watch (after a guest write to a watched GDT frame, the entries of that page), and by whole-table
   * resyncs (start, LGDT, CR3 loads, selector faults; also what changed on a frame no longer watched).
   */
  gdtEntriesByWatch: number;
  gdtEntriesByResync: number;
  /**
   * Switches between the views of the shadow GDT/LDT (guestViews.ts), three disjoint counts: to the user view when the
   * monitor leaves an event at CPL 3; to the user view on a #GP(0)/#SS(0) of user code still on the kernel view (under
   * 'trap', after a native IRET to user mode: lazy); to the kernel view (an event from CPL 3 reflected into the guest).
   */
  viewSwitchesToUser: number;
  lazyViewSwitchesToUser: number;
  viewSwitchesToKernel: number;
  /** Guest instructions run by the monitor's emulator (realModeEmulator.ts: real mode, 16-bit and unrepresentable states). */
  emulatedInstructions: number;
  /** Hand-overs of the guest to the emulator (it cleared CR0.PE under ring compression). */
  emulatorEntries: number;
  /** Hand-overs from the emulator to ring-compressed execution (32-bit protected mode the shadow GDT can represent). */
  emulatorExits: number;
}

export function newMonitorCounters(): MonitorCounters {
  const traps = {} as Record<TrapKind, number>;
  for (const k of TRAP_KINDS) traps[k] = 0;
  return { traps, reflected: new Array<number>(256).fill(0), hiddenPageFaults: 0, heldInterrupts: 0, gdtResyncs: 0, gdtPagesUnwatched: 0, gdtEntriesByWatch: 0, gdtEntriesByResync: 0,
    viewSwitchesToUser: 0, lazyViewSwitchesToUser: 0, viewSwitchesToKernel: 0, emulatedInstructions: 0, emulatorEntries: 0, emulatorExits: 0 };
}

export function totalTraps(c: MonitorCounters): number {
  let n = 0;
  for (const k of TRAP_KINDS) n += c.traps[k];
  return n;
}

export function totalReflected(c: MonitorCounters): number {
  return c.reflected.reduce((a, b) => a + b, 0);
}
