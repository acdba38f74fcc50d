/**
 * The software monitor's and the binary translator's counters as rows of the
 * Hypervisor panel: a label, the count, and one plain-language line on what
 * it means (the panel is there to show how virtualization without hardware
 * assist works). Pure, so the panel and its tests agree on every row.
 */
import type { HypervisorStats, SoftwareMonitorStats, TranslatorStats } from '../../../core/host/api.ts';
import { formatBytes } from './format.ts';

export interface CounterRow {
  key: string;
  label: string;
  /** The figure as shown (a count, or bytes of a size). */
  value: string;
  meaning: string;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** What each trap kind (core/hypervisor/software/monitorCounters.ts TRAP_KINDS) is, for someone watching the guest run. */
export const TRAP_MEANINGS: Record<string, string> = {
  cli: 'The guest kernel turned interrupts off. CLI faults at ring 1, so the monitor clears the guest\'s virtual interrupt flag instead.',
  sti: 'The guest kernel turned interrupts on: the monitor sets the virtual flag and delivers any interrupt it held meanwhile.',
  hlt: 'The guest waited for an interrupt: the monitor idles the virtual CPU until one comes.',
  iret: 'A return to the guest kernel: its frame names ring 0, which the processor refuses at ring 1, so the monitor performs it.',
  'in/out': 'Port I/O to a device: the monitor hands it to the emulated chipset.',
  'ins/outs': 'String port I/O (INS/OUTS, with REP): handed to the emulated chipset.',
  'mov ss': 'A stack-segment load naming ring 0: the monitor loads the ring-1 equivalent.',
  'lgdt/lidt': 'The guest loaded its descriptor tables: the monitor keeps them as the guest\'s and builds its own shadow copies.',
  'lldt/ltr': 'The guest loaded its LDT or task register: mapped onto the monitor\'s shadow tables.',
  'mov cr': 'A control-register access (paging on, a CR3 switch to another process): the monitor updates the virtual CPU and its shadow page tables.',
  'mov dr': 'A debug-register access: kept in the virtual CPU.',
  'clts/lmsw': 'A change of CR0\'s low bits (task-switched flag, machine status word): kept in the virtual CPU.',
  invlpg: 'The guest flushed one TLB entry: the monitor drops the matching shadow page-table entry.',
  'rdmsr/wrmsr': 'A model-specific register access, answered from the virtual CPU.',
  cpuid: 'Processor identification, filtered by the monitor (hypervisor bit set). A real IA-32 processor would not trap it at ring 1; Popek\'s emulated one hands it over.',
  rdtsc: 'A time-stamp counter read, answered by the monitor (through the emulated processor, not a fault).',
  'wbinvd/invd': 'A cache flush, privileged: emulated (nothing to flush).',
  'top 4 MiB': 'The guest touched the top 4 MiB of its address space, where the monitor lives: the monitor ran that instruction for it.',
  'gdt write': 'The guest wrote a descriptor in its GDT, whose pages the monitor write-protects: the monitor performed the write and updated its shadow copy (ring 0 made ring 1).',
};

const EXCEPTION_NAMES: Record<number, string> = {
  0: '#DE divide error', 1: '#DB debug', 2: 'NMI', 3: '#BP breakpoint', 4: '#OF overflow', 5: '#BR bound', 6: '#UD invalid opcode',
  7: '#NM device not available', 8: '#DF double fault', 10: '#TS invalid TSS', 11: '#NP segment not present', 12: '#SS stack fault',
  13: '#GP general protection', 14: '#PF page fault', 16: '#MF x87 error', 17: '#AC alignment', 19: '#XM SIMD error',
};

function vectorLabel(vector: number): string {
  const hex = `0x${vector.toString(16).padStart(2, '0')}`;
  return vector < 32 ? `${EXCEPTION_NAMES[vector] ?? 'exception'} (${vector})` : `vector ${hex}`;
}

function vectorMeaning(vector: number): string {
  if (vector === 14) return 'A page fault that was the guest\'s own (not a shadow fill): delivered to its handler with its CR2 and error code.';
  if (vector < 32) return 'An exception the guest kernel handles itself: delivered through the guest\'s IDT with the frame it expects.';
  if (vector === 0x80) return 'INT 0x80, a Linux system call from user code (or an interrupt on that vector): delivered through the guest\'s IDT.';
  return 'A device interrupt or a software interrupt (INT n): delivered through the guest\'s IDT.';
}

/** Traps by instruction, busiest first (only those that happened). */
export function trapRows(m: SoftwareMonitorStats): CounterRow[] {
  return Object.entries(m.trapsByInstruction)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([kind, n]) => ({ key: kind, label: kind, value: count(n), meaning: TRAP_MEANINGS[kind] ?? '' }));
}

/** Events reflected into the guest, by vector number. */
export function reflectionRows(m: SoftwareMonitorStats): CounterRow[] {
  return Object.entries(m.reflectedByVector)
    .map(([v, n]) => [Number(v), n] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([v, n]) => ({ key: String(v), label: vectorLabel(v), value: count(n), meaning: vectorMeaning(v) }));
}

/** Held interrupts, shadow page faults hidden and reflected, shadow GDT resyncs and entries rewritten, view switches, the emulator's hand-overs. */
export function monitorSummaryRows(h: HypervisorStats): CounterRow[] {
  const m = h.monitor!;
  const rows: CounterRow[] = [
    { key: 'held', label: 'Held interrupts', value: count(m.heldInterrupts), meaning: 'Device interrupts that came while the guest had interrupts off (its virtual IF was 0; the real one never is): held, then delivered when it turned them on.' },
  ];
  if (h.shadowPaging) {
    rows.push(
      { key: 'shadow-hidden', label: 'Page faults hidden', value: count(h.shadowPaging.hiddenFaults), meaning: 'Faults on the monitor\'s shadow page tables, fixed by filling in the shadow entry: the guest never sees them.' },
      { key: 'shadow-reflected', label: 'Page faults reflected', value: count(h.shadowPaging.reflectedFaults), meaning: 'Faults the guest\'s own page tables cause: handed to the guest kernel, as on a real PC.' },
    );
  }
  rows.push({ key: 'gdt', label: 'Shadow GDT resyncs', value: count(m.gdtResyncs), meaning: 'The guest changed a descriptor in its GDT: the monitor\'s shadow copy (with ring 0 turned into ring 1) was rebuilt.' });
  if (m.gdtPagesUnwatched > 0) {
    rows.push({ key: 'gdt-unwatched', label: 'GDT pages unwatched', value: count(m.gdtPagesUnwatched), meaning: 'Pages of the guest\'s GDT the monitor stopped write-protecting until the next LGDT: other data on the page was written 16 times. Their descriptors are then copied at LGDT, CR3 loads and selector faults only.' });
  }
  if (m.gdtEntriesByWatch + m.gdtEntriesByResync > 0) {
    rows.push(
      { key: 'gdt-watch', label: 'GDT entries rewritten by the write watch', value: count(m.gdtEntriesByWatch), meaning: 'Descriptors the guest changed by writing its write-protected GDT: each rewritten in both of the monitor\'s shadow GDTs (the kernel\'s, every segment cut below the monitor; the user\'s, user segments as the guest wrote them).' },
      { key: 'gdt-resync', label: 'GDT entries rewritten by full copies', value: count(m.gdtEntriesByResync), meaning: 'Descriptors found changed when the monitor copied the whole GDT again (LGDT, a CR3 load, a segment load that faulted): each rewritten in both shadow GDTs.' },
    );
  }
  if (m.viewSwitchesToUser + m.lazyViewSwitchesToUser + m.viewSwitchesToKernel > 0) {
    rows.push(
      { key: 'to-user-view', label: 'Switches to the user view', value: count(m.viewSwitchesToUser), meaning: 'The monitor returned to user code: it put the processor on the user view of its shadow GDT, where user segments keep the guest\'s limits (TLS reads just below a segment\'s base run without a trap).' },
      { key: 'to-user-view-lazy', label: 'Lazy switches to the user view', value: count(m.lazyViewSwitchesToUser), meaning: 'Under trap-and-emulate the guest\'s IRET to user code runs without the monitor, still on the kernel view: the user\'s first access past a cut limit faulted, and the monitor switched views and ran it again.' },
      { key: 'to-kernel-view', label: 'Switches to the kernel view', value: count(m.viewSwitchesToKernel), meaning: 'An interrupt, exception or system call from user code: the monitor put the processor back on the kernel view (every segment cut below the monitor) before the guest kernel ran.' },
    );
  }
  if (m.emulatedInstructions > 0) {
    rows.push(
      { key: 'emulated', label: 'Emulated instructions', value: count(m.emulatedInstructions), meaning: 'Real-mode and 16-bit code (firmware, boot sectors) and code ring compression cannot run (the top of memory, device memory): run by the monitor\'s interpreter on the guest\'s own state.' },
      { key: 'to-emulator', label: 'Hand-overs to the emulator', value: count(m.emulatorEntries), meaning: 'The guest left 32-bit protected mode, ran 16-bit code, or touched what ring compression cannot run: its state moved to the interpreter.' },
      { key: 'from-emulator', label: 'Hand-overs back', value: count(m.emulatorExits), meaning: 'The guest was in 32-bit protected mode with segments the shadow GDT can represent: it went back to running deprivileged on the processor.' },
    );
  }
  return rows;
}

/** The translator's totals and its cache's fill. */
export function translatorRows(t: TranslatorStats): CounterRow[] {
  return [
    { key: 'blocks', label: 'Blocks translated', value: count(t.blocksBuilt), meaning: 'Blocks of guest-kernel code (up to one jump) rewritten into the translation cache before they ran.' },
    { key: 'instructions', label: 'Guest instructions translated', value: count(t.guestInstructionsTranslated), meaning: 'Innocuous ones are copied as they are; sensitive ones become callouts.' },
    { key: 'entered', label: 'Blocks entered by the monitor', value: count(t.blocksEntered), meaning: 'Times the monitor looked up a translation and jumped into it (after a callout, an interrupt or an unchained jump).' },
    { key: 'chains', label: 'Chained jumps', value: count(t.chainsMade), meaning: 'Jumps patched to go straight from one translated block to the next: loops then run without the monitor.' },
    { key: 'invalidated', label: 'Blocks invalidated', value: count(t.blocksInvalidated), meaning: 'Translations dropped because the guest wrote to the code they came from.' },
    { key: 'code-writes', label: 'Writes to translated code', value: count(t.codeWrites), meaning: 'Guest writes to a page that held translated code (each drops that page\'s translations).' },
    { key: 'tc-used', label: 'Translation cache used', value: `${formatBytes(t.tcUsed)} of ${formatBytes(t.tcSize)}`, meaning: 'Translated code in the cache now; when it is full its oldest eighth is emptied and reused.' },
    { key: 'sections', label: 'Cache sections reused', value: count(t.sectionsReused), meaning: 'Times the full cache emptied its oldest section (one eighth) for new translations; jumps chained into it were unlinked.' },
    { key: 'evicted', label: 'Blocks evicted', value: count(t.blocksEvicted), meaning: 'Translations dropped with a reused section: translated again if the guest runs them again.' },
    { key: 'flushes', label: 'Cache flushes', value: count(t.cacheFlushes), meaning: 'Times the monitor dropped every translation (its first kernel entry, each return from its emulator).' },
  ];
}

const CALLOUT_MEANINGS: Record<string, string> = {
  pushf: 'PUSHF at ring 1 would show the real IF and IOPL: it pushes the guest\'s virtual flags instead.',
  popf: 'POPF at ring 1 would silently keep the real IF and IOPL: it sets the guest\'s virtual flags instead.',
  cli: 'CLI as a callout (cheaper than letting it fault).',
  sti: 'STI as a callout (cheaper than letting it fault).',
  sgdt: 'SGDT would show the monitor\'s GDT: it stores the guest\'s.',
  sidt: 'SIDT would show the monitor\'s IDT: it stores the guest\'s.',
  sldt: 'SLDT would show the monitor\'s LDT selector: it stores the guest\'s.',
  str: 'STR would show the monitor\'s task register: it stores the guest\'s.',
  smsw: 'SMSW would show the real CR0: it stores the guest\'s.',
  lar: 'LAR would see the shadow descriptor (DPL 1): it reads the guest\'s.',
  lsl: 'LSL would see the shadow\'s truncated limit: it reads the guest\'s.',
  verr: 'VERR would check against the shadow descriptor: it checks the guest\'s.',
  verw: 'VERW would check against the shadow descriptor: it checks the guest\'s.',
  movFromCs: 'MOV from CS would show ring 1: it gives the guest\'s selector with RPL 0.',
  movFromSs: 'MOV from SS would show ring 1: it gives the guest\'s selector with RPL 0.',
  pushCs: 'PUSH CS would push ring 1: it pushes the guest\'s selector with RPL 0.',
  pushSs: 'PUSH SS would push ring 1: it pushes the guest\'s selector with RPL 0.',
  ret: 'RET: the return address is a guest address, so the monitor finds its translation.',
  indirectJmp: 'An indirect JMP: the target is known only at run time, so the monitor finds its translation.',
  indirectCall: 'An indirect CALL: the target is known only at run time, so the monitor finds its translation.',
  near16: 'A 16-bit near CALL: run on the guest\'s state, then the monitor finds its target\'s translation.',
  farJmp: 'A far JMP (loads CS): performed by the monitor on its shadow descriptors.',
  farCall: 'A far CALL (loads CS): performed by the monitor on its shadow descriptors.',
  farRet: 'A far RET (loads CS): performed by the monitor on its shadow descriptors.',
  iret: 'IRET: performed by the monitor (it changes privilege and the interrupt flag).',
  intN: 'INT n from the kernel: delivered by the monitor through the guest\'s IDT.',
  int3: 'INT3: delivered by the monitor through the guest\'s IDT.',
  into: 'INTO: delivered by the monitor through the guest\'s IDT when OF is set.',
  int1: 'INT1: delivered by the monitor through the guest\'s IDT.',
  exit: 'An exit stub: the jump\'s target was not translated yet. It is translated, and the jump is patched (chained).',
  redispatch: 'The guest wrote the code under a running translation (self-modifying code): it resumes in a fresh translation.',
};

/** Callouts by kind, busiest first. */
export function calloutRows(t: TranslatorStats): CounterRow[] {
  return Object.entries(t.calloutsByKind)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([kind, n]) => ({ key: kind, label: kind, value: count(n), meaning: CALLOUT_MEANINGS[kind] ?? '' }));
}

const total = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

/** The live chart's series: the monitor's entries by what caused them (traps, reflections, and under 'bt' callouts and blocks translated). */
export function monitorEventCounts(h: HypervisorStats): Record<string, number> {
  const out: Record<string, number> = {};
  if (h.monitor) {
    out.traps = total(h.monitor.trapsByInstruction);
    out.reflected = total(h.monitor.reflectedByVector);
  }
  if (h.translator) {
    out.callouts = total(h.translator.calloutsByKind);
    out['blocks translated'] = h.translator.blocksBuilt;
  }
  return out;
}
