/**
 * The physical IA-32 processor: its state (register file, control and
 * debug registers, the TLB's and the block cache's arrays), reset and
 * hand-off states, exception delivery and shutdown, registers and stack,
 * save and restore.
 *
 * Its mechanisms are modules of their own, the way QEMU separates
 * cpu-exec, cputlb and the translator; their methods are installed on
 * Cpu.prototype (installMethods below), so every caller, the compiled code
 * included, still calls them as methods of the one Cpu class:
 * - execLoop.ts: the run loop over decoded or compiled blocks, attention
 *   between blocks (interrupts, NMI, INIT, HLT, single step), fault unwinding;
 * - blockCache.ts: decoded blocks cached by the physical location of their
 *   first byte, invalidated when their page is written (the bus reports
 *   writes to pages marked in `bus.codePages`; the TLB never grants a
 *   direct-write entry for such a page);
 * - tlb.ts: a direct-mapped TLB covering all 2^20 linear pages, the page
 *   walk on a miss, flushes, and the block links' translation epochs;
 * - memoryAccess.ts: linear, implicit-supervisor and segmented reads and
 *   writes, one typed-array load and a bit test on the fast path;
 * - faults.ts: the one preallocated object (`CPU_FAULT`) faults unwind
 *   with, restarting the instruction, so handlers must check everything
 *   before writing state.
 * Arithmetic flags are lazy (flags.ts).
 *
 * Sensitive operations go through `this.seam` (seam.ts), the one place a
 * virtualization extension or hypervisor intercepts them.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from './clock.ts';
import { LZ_MASK, LZ_SIZE, readFlags } from './flags.ts';
// The block cache first: it loads the decoder and with it every instruction handler (ops/index.ts) before
// execLoop.ts loads interrupts.ts, the order cpu.ts has always loaded the import cycle interrupts.ts ->
// protected/ -> vmx/nonRoot.ts -> decoder.ts -> ops/ -> vmx/entry.ts -> interrupts.ts in (interruptKinds.ts
// took the one load-time read of an import out of that cycle: vmx/entry.ts's TYPE_TO_KIND).
import { blockCache } from './blockCache.ts';
import { execLoop } from './execLoop.ts';
import type { Insn } from './insn.ts';
import type { Block } from './decoder.ts';
import { WalkResult, type PageTableMemory } from './paging.ts';
import {
  AC, CR0_ET, CR0_PE, CR0_PG, CS, DS, EFLAGS_IMPLEMENTED, ES, ESP, EXC_DF, EXC_GP, EXC_PF,
  EXC_UD, FLAG_RESERVED1, FS, GS, IF, LDTR, SEG_DB, SS, TF, TR, VM, RF, CR4_DE,
} from './regs.ts';
import { bareMetal, type SensitiveOps } from './seam.ts';
import { setSegmentCache, refreshFlatBits, refreshSegmentRanges } from './segments.ts';
import { INT_EXCEPTION } from './interrupts.ts';
import { Fpu } from './fpu/fpu.ts';
import { SseState } from './sse/state.ts';
import { Jit } from './jit/jit.ts';
import type { EntryState } from '../machine/boot/entryState.ts';
import { Vmx, VM_EXIT_VECTOR } from './vmx/vmx.ts';
import { vmxTripleFault } from './vmx/nonRoot.ts';
import { Svm } from './svm/svm.ts';
import { svmShutdownExits } from './svm/guestOps.ts';
import { INTEL_VMX_MODEL, type ProcessorModel } from './processorModel.ts';
import { CPU_FAULT, causesDoubleFault, excName } from './faults.ts';
import { FETCH_SUPERVISOR, FETCH_USER, TLB_LIST_MAX, TLB_SUPERVISOR, tlbMethods } from './tlb.ts';
import { memoryAccess } from './memoryAccess.ts';
import { pinned } from './pinnedArrays.ts';
import { processorState } from '../memory/processorMemory.ts';

// The fault object's home is faults.ts; the machine and the hypervisor import it from here too.
export { CPU_FAULT } from './faults.ts';

// The run loop's stop codes; the machine and the hypervisor import them from here.
export { STOP_BUDGET, STOP_HALT, STOP_SHUTDOWN, STOP_REQUEST, STOP_VMEXIT } from './execLoop.ts';

/** The INTR/INTA side of the interrupt controller (an 8259A pair, later a virtual APIC). */
export interface InterruptController {
  hasInterrupt(): boolean;
  acknowledge(): number;
}

/** MSRs that belong to the board's devices rather than the core (IA32_APIC_BASE of the local APIC). */
export interface BoardMsrs {
  /** [low, high], or null if the board has no such MSR. */
  readMsr(msr: number): [number, number] | null;
  /** False for #GP (no such MSR, or a value it refuses). */
  writeMsr(msr: number, low: number, high: number): boolean;
}

/** The methods cpu.ts's companion modules put on Cpu.prototype (see installMethods below). */
type MemoryAccess = typeof memoryAccess;
type TlbMethods = typeof tlbMethods;
type ExecLoop = typeof execLoop;
type BlockCache = typeof blockCache;
// Declaration merging: the methods installed from these modules are Cpu's, for the type checker too.
export interface Cpu extends ExecLoop, BlockCache, TlbMethods, MemoryAccess {}

export class Cpu implements PageTableMemory {
  readonly bus: MemoryBus;
  readonly clock: GuestClock;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;

  /** Buffer offset of this processor's state area in the memory it runs in, -1 if it has none (processorMemory.ts). */
  readonly stateArea: number;
  /** What WebAssembly-compiled code hands back when it returns (jit/wasm/wasmRegion.ts JIT_*); in the state area. */
  readonly jitState: Int32Array;

  // ---- architectural state (plain data, see saveState) ----
  readonly regs: Int32Array;
  eip = 0;
  /** EFLAGS; the arithmetic bits named in lazy[LZ_MASK] are stale (flags.ts). */
  flags = FLAG_RESERVED1;
  /** The lazy arithmetic flags' operation, size, operands, result and mask, at flags.ts's LZ_* slots. */
  readonly lazy: Int32Array;
  /** Segment registers ES..GS, LDTR, TR: selector and descriptor cache. */
  readonly segSel: Uint16Array;
  readonly segBase: Int32Array;
  readonly segLimit: Uint32Array;
  readonly segAttr: Uint16Array;
  /** Derived from the caches: valid offset ranges for reads and writes (lo > hi = unusable). */
  readonly segRLo: Uint32Array;
  readonly segRHi: Uint32Array;
  readonly segWLo: Uint32Array;
  readonly segWHi: Uint32Array;
  /** CS default size is 32 bit; SS B bit (32-bit stack pointer). */
  cs32 = false;
  ss32 = false;
  /** Which segments are flat (segments.ts FLAT_*), for the block compiler; kept by refreshSegment. */
  flatMask = 0;
  cpl = 0;
  cr0 = CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** IA32_EFER of the Intel part: NXE (bit 11) only (the AMD part keeps its EFER in svm.efer). */
  efer = 0;
  /** The four PAE PDPTE registers (low, high dword pairs), loaded as paePaging.ts describes. */
  readonly pdptes = pinned(Int32Array, 8);
  readonly dr = pinned(Int32Array, 8);
  gdtBase = 0;
  gdtLimit = 0xffff;
  idtBase = 0;
  idtLimit = 0x3ff;
  /**
   * Rare conditions the run loop must look at between blocks (halted, interrupt
   * shadow, pending NMI, stop request, shutdown). One flag keeps the per-block
   * check to a single load; the accessors below keep it up to date.
   */
  attention = false;
  private haltedFlag = false;
  private shadowFlag = false;
  private nmiFlag = false;
  private initFlag = false;
  private stopFlag = false;
  private vmExitStopFlag = false;
  /** HLT: waiting for an interrupt. */
  get halted(): boolean { return this.haltedFlag; }
  set halted(v: boolean) { this.haltedFlag = v; this.updateAttention(); }
  /** STI / MOV SS: interrupts are not recognized before the next instruction completes. */
  get interruptShadow(): boolean { return this.shadowFlag; }
  set interruptShadow(v: boolean) { this.shadowFlag = v; this.updateAttention(); }
  /**
   * MOV SS / POP SS loaded SS in the last instruction. Their shadow is wider
   * than STI's (SDM Vol. 3A 6.8.3): besides interrupts it holds the debug
   * traps (single step, data breakpoints) of the SS load until the boundary
   * after the next instruction, where they are delivered together with that
   * instruction's own (stepOne). STI's shadow holds only interrupts.
   */
  ssShadow = false;
  /** DR6 bits (B0-B3, BS) of an SS load's debug traps, held over its shadow. */
  heldDebug = 0;
  /** Called by MOV SS and POP SS after a successful load. */
  loadedSs(): void {
    this.ssShadow = true;
    this.interruptShadow = true;
  }
  get nmiPending(): boolean { return this.nmiFlag; }
  set nmiPending(v: boolean) { this.nmiFlag = v; this.updateAttention(); }
  /** The INIT signal is latched (initSignal.ts): set by the board's soft reset or an INIT IPI, held while blocked. */
  get initPending(): boolean { return this.initFlag; }
  set initPending(v: boolean) { this.initFlag = v; this.updateAttention(); }
  /** Set by devices (reset, power-off) to make `run` return soon. */
  get stopRequested(): boolean { return this.stopFlag; }
  set stopRequested(v: boolean) { this.stopFlag = v; this.updateAttention(); }
  /** A VM exit for a TypeScript VMX host completed: `run` returns STOP_VMEXIT. */
  get vmExitStopRequested(): boolean { return this.vmExitStopFlag; }
  set vmExitStopRequested(v: boolean) { this.vmExitStopFlag = v; this.updateAttention(); }
  /** Armed debug-register breakpoints (refreshBreakpoints), and the data/I-O hits of the current instruction. */
  debugActive = false;
  dataBreakpoints = false;
  pendingDebug = 0;
  /** Alignment checking is on (CPL 3, CR0.AM, EFLAGS.AC). */
  alignmentCheck = false;
  /**
   * The INTR line of the interrupt controller, pushed by it on every change
   * (cheaper than asking it between every two blocks). A board whose
   * controller cannot push leaves `pollIntr` true and the CPU asks instead.
   */
  intrLine = false;
  pollIntr = true;
  /** NMIs are blocked from NMI delivery until the next IRET. */
  nmiBlocked = false;
  /** MSRs this CPU implements beyond the TSC (sysenter etc. are not advertised). */
  tscOffset = 0;
  readonly fpu = new Fpu();
  /** XMM registers and MXCSR (sse/). */
  readonly sse: SseState;
  /** The VMX extension's state (vmx/vmx.ts). */
  readonly vmx = new Vmx();
  /** The SVM extension's state (svm/svm.ts; usable on the AMD model only). */
  readonly svm = new Svm();
  /** The processor part: vendor, signature, virtualization extension (processorModel.ts). */
  readonly model: ProcessorModel;
  /**
   * EFLAGS bits that let the run loop look for a pending INTR: IF, or every
   * bit in VMX non-root operation with external-interrupt exiting (the
   * interrupt then exits whatever the guest's IF).
   */
  intrMask = IF;

  // ---- wiring ----
  seam: SensitiveOps = bareMetal;
  /** Memory the page walk reads tables from: physical memory, or EPT in VMX non-root operation. */
  pageTables: PageTableMemory = this;
  /** Set while an instruction fetch translates (EPT execute permission). */
  fetching = false;
  /** CR2 before the last #PF set it (a #PF that causes a VM exit leaves CR2 unchanged). */
  cr2BeforeFault = 0;
  interruptController: InterruptController | null = null;
  /** The board's MSRs (the local APIC's base), asked for an MSR the core does not have. */
  boardMsrs: BoardMsrs | null = null;
  /** CPUID.1:EDX bits the board adds: APIC (bit 9) when it has a local APIC. */
  boardCpuidEdx = 0;
  /** Called once on a triple fault with a description; the CPU stays shut down until reset. */
  onShutdown: (detail: string) => void = () => {};

  // ---- run-time caches (not state) ----
  /** Direct-mapped TLB over all linear pages: buffer offset | TLB_SUPERVISOR | TLB_USER. */
  readonly tlbRead: Int32Array;
  readonly tlbWrite: Int32Array;
  /** The pages filled since the last flush, non-global and global: a flush clears only these (tlb.ts). */
  readonly tlbPages = new Int32Array(TLB_LIST_MAX);
  tlbCount = 0;
  readonly tlbGlobalPages = new Int32Array(TLB_LIST_MAX);
  tlbGlobalCount = 0;
  /**
   * 4 MiB linear regions that have TLB entries from a large (PSE) page. The
   * TLB caches 4 KiB pieces, so INVLPG of one address in such a region must
   * drop all the pieces (SDM: INVLPG invalidates the whole large-page entry).
   */
  readonly tlbLargeRegions = new Uint8Array(1024);
  /** TLB_USER at CPL 3, else TLB_SUPERVISOR. */
  tlbBit = TLB_SUPERVISOR;
  a20Mask = -1;
  readonly walk = new WalkResult();
  readonly blocks = new Map<number, Block>();
  readonly pageBlocks = new Map<number, Block[]>();
  /**
   * Translation epochs, one per privilege class (supervisor, user): an epoch
   * ends whenever the mapping from CS:EIP to the bytes behind it may have
   * changed for a block fetched in that class during it: a CS load that
   * changes its base, limit or default size ends both; a TLB flush or INVLPG
   * ends a class's epoch only when it drops (or a refill changes) the
   * translation of a linear page that class fetched blocks from during the
   * epoch (`fetchMarks`). So INVLPG of a data page, or a CR3 load that keeps
   * the kernel's global code pages, leaves the kernel's links trusted (a
   * fork's copy-on-write faults and context switches would otherwise send
   * every block back through the block cache and out of compiled regions).
   */
  supEpoch = 0;
  userEpoch = 0;
  /**
   * Linear pages blocks were fetched from during the current epochs (bit
   * FETCH_SUPERVISOR, FETCH_USER), and the marked pages as a list (to clear).
   */
  readonly fetchMarks = new Uint8Array(1 << 20);
  readonly fetchMarked: number[] = [];
  /**
   * What links between blocks are stamped with and trusted under: the epoch
   * of the privilege class (user or supervisor) they were made at, and the
   * class, since a code page's fetch permission depends on it. A user
   * program interrupted by the kernel finds its links still valid when it
   * resumes, as long as nothing it fetched from was remapped in between.
   */
  linkStamp = 0;
  private linkCsBase = 0;
  private linkCsLimit = 0xffff;
  private linkCs32 = false;
  /** Set by handlers that must end the current block after themselves. */
  exitBlock = false;
  /**
   * The block compiler (cpu/jit): `jitHot` is the heat at which a block is
   * compiled (-1: compiler off); a compiled block that faults leaves in
   * `jitK` how many of its instructions retired before the faulting one.
   */
  readonly jit: Jit;
  jitHot = -1;
  jitK = 0;
  /**
   * A compiled region stepping between its members: the member running (the
   * last one stepped into, as its index in Block.jitMembers) and the
   * instructions the run loop's budget still allows (members stepped through
   * subtract theirs). The region keeps both in locals and stores them here
   * where it returns and before every call out of its code (jit/translate.ts
   * regionTail), with the instructions it has stepped through added to the clock.
   */
  jitMember = 0;
  jitLeft = 0;
  /**
   * Set by compiled code that returns before an instruction of the member
   * it ends in (its fast path could not do it: a TLB miss, a device, a page
   * crossing): the run loop interprets the rest of that block from there, as
   * if it had run it all interpreted (no look at interrupts in between).
   */
  jitResume = false;
  private shutdownText: string | null = null;
  /** Set once the processor has shut down (triple fault). */
  get shutdownDetail(): string | null { return this.shutdownText; }
  set shutdownDetail(v: string | null) { this.shutdownText = v; this.updateAttention(); }
  /** Statistics. */
  interruptsDelivered = 0;
  exceptionsRaised = 0;

  constructor(bus: MemoryBus, clock: GuestClock, model: ProcessorModel = INTEL_VMX_MODEL) {
    this.model = model;
    this.bus = bus;
    this.clock = clock;
    // The state compiled code reads and writes at every instruction, in this processor's area of the memory it
    // runs in (core/memory/processorMemory.ts), or in arrays of its own when that memory has none free.
    const memory = bus.memory;
    const state = processorState(memory.areas === null ? null : memory.buffer, memory.areas?.claim(memory.areaHolder) ?? -1);
    this.stateArea = state.area;
    this.tlbRead = state.tlbRead;
    this.tlbWrite = state.tlbWrite;
    this.regs = state.regs;
    this.lazy = state.lazy;
    this.segSel = state.segSel;
    this.segBase = state.segBase;
    this.segLimit = state.segLimit;
    this.segAttr = state.segAttr;
    this.segRLo = state.segRLo;
    this.segRHi = state.segRHi;
    this.segWLo = state.segWLo;
    this.segWHi = state.segWHi;
    this.jitState = state.jit;
    this.sse = new SseState(state.xmm);
    this.lazy[LZ_SIZE] = 32;
    this.u8 = bus.memory.u8;
    this.i32 = bus.memory.i32;
    this.jit = new Jit(this);
    bus.onCodeWrite = (pfn) => this.invalidateCodePage(pfn);
    bus.onA20Change = (enabled) => {
      this.a20Mask = enabled ? -1 : ~(1 << 20);
      this.flushTlb(true);
    };
    this.reset();
  }

  // =====================================================================
  // Reset and boot
  // =====================================================================

  /** Power-on / RESET state (SDM Vol. 3 "Processor State After Reset"). */
  reset(): void {
    this.regs.fill(0);
    this.regs[2] = this.model.signature; // EDX after reset holds the processor signature
    this.eip = 0xfff0;
    this.flags = FLAG_RESERVED1;
    this.lazy[LZ_MASK] = 0;
    this.cr0 = CR0_ET | (1 << 29) | (1 << 30); // CD, NW, ET
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.efer = 0;
    this.pdptes.fill(0);
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.refreshBreakpoints();
    this.gdtBase = 0;
    this.gdtLimit = 0xffff;
    this.idtBase = 0;
    this.idtLimit = 0x3ff;
    for (const s of [ES, SS, DS, FS, GS]) setSegmentCache(this, s, 0, 0, 0xffff, 0x93);
    setSegmentCache(this, CS, 0xf000, 0xffff_0000 | 0, 0xffff, 0x93); // SDM: CS access rights 93H after reset
    setSegmentCache(this, LDTR, 0, 0, 0xffff, 0x82);
    setSegmentCache(this, TR, 0, 0, 0xffff, 0x8b);
    this.setCpl(0);
    this.halted = false;
    this.interruptShadow = false;
    this.nmiPending = false;
    this.initPending = false;
    this.nmiBlocked = false;
    this.tscOffset = 0 - this.clock.tsc(); // TSC reads 0 at reset (never -0, which plain data cannot carry)
    this.shutdownDetail = null;
    this.stopRequested = false;
    this.fpu.reset();
    this.sse.reset();
    this.vmx.reset();
    this.svm.reset();
    this.seam = bareMetal;
    this.pageTables = this;
    this.intrMask = IF;
    this.vmExitStopRequested = false;
    this.a20Mask = this.bus.a20Enabled ? -1 : ~(1 << 20);
    this.flushTlb(true);
    this.flushCodeCache();
  }

  /**
   * Enters a boot loader's hand-off state: registers as given, protected mode
   * (paging off), and segment registers loaded from the GDT the loader wrote.
   */
  loadEntryState(e: EntryState): void {
    const r = this.regs;
    r[0] = e.eax; r[1] = e.ecx; r[2] = e.edx; r[3] = e.ebx;
    r[4] = e.esp; r[5] = e.ebp; r[6] = e.esi; r[7] = e.edi;
    this.gdtBase = e.gdtBase;
    this.gdtLimit = e.gdtLimit;
    this.cr0 |= CR0_PE;
    this.cr0 &= ~(CR0_PG | (1 << 29) | (1 << 30));
    this.setFlags(e.eflags);
    const sels: [number, number][] = [[CS, e.cs], [SS, e.ss], [DS, e.ds], [ES, e.es], [FS, e.fs], [GS, e.gs]];
    for (const [seg, sel] of sels) {
      const lo = this.readSys32((this.gdtBase + (sel & ~7)) | 0);
      const hi = this.readSys32((this.gdtBase + (sel & ~7) + 4) | 0);
      const base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000);
      let limit = (lo & 0xffff) | (hi & 0x000f_0000);
      if (hi & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
      setSegmentCache(this, seg, sel, base, limit, ((hi >>> 8) & 0xff) | ((hi >>> 8) & 0xf000));
    }
    this.setCpl(e.cs & 3);
    this.eip = e.eip >>> 0;
    this.halted = false;
    this.flushTlb(true);
  }

  // =====================================================================
  // Attention, exception delivery, stops (the run loop is in execLoop.ts)
  // =====================================================================

  private updateAttention(): void {
    this.attention = this.haltedFlag || this.shadowFlag || this.nmiFlag || this.initFlag || this.stopFlag || this.shutdownText !== null || this.debugActive
      || this.vmExitStopFlag;
  }

  /**
   * Delivers an interrupt or exception through the seam, turning a fault during
   * delivery into a double fault, and a fault during #DF into shutdown.
   */
  deliver(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
    if (kind === INT_EXCEPTION) {
      if (vector !== VM_EXIT_VECTOR) this.exceptionsRaised++; // an instruction's VM exit is no exception
    }
    else this.interruptsDelivered++;
    try {
      this.seam.interrupt(this, vector, kind, errorCode, hasErrorCode);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      const second = CPU_FAULT.vector;
      if (second === VM_EXIT_VECTOR) {
        // A VM exit during event delivery (EPT violation, an exception the bitmap intercepts): complete it.
        this.seam.interrupt(this, second, INT_EXCEPTION, 0, false);
        return;
      }
      if (kind === INT_EXCEPTION && vector === EXC_DF) {
        this.shutdown(`triple fault: ${excName(second)} while delivering #DF`);
        return;
      }
      if (kind === INT_EXCEPTION && causesDoubleFault(vector, second)) {
        this.deliverDoubleFault(vector, second);
        return;
      }
      // Benign combinations: the second exception is handled serially.
      this.deliver(second, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
    }
  }

  private deliverDoubleFault(first: number, second: number): void {
    this.exceptionsRaised++;
    try {
      this.seam.interrupt(this, EXC_DF, INT_EXCEPTION, 0, true);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.shutdown(`triple fault: ${excName(CPU_FAULT.vector)} while delivering #DF (after ${excName(first)} then ${excName(second)})`);
    }
  }

  /** Processor shutdown (triple fault). */
  shutdown(detail: string): void {
    if (this.shutdownDetail !== null) return;
    if (this.vmx.nonRoot) {
      vmxTripleFault(this); // a triple fault in VMX non-root operation is a VM exit
      return;
    }
    if (this.svm.guest && svmShutdownExits(this)) return; // #VMEXIT(SHUTDOWN) when intercepted
    this.shutdownDetail = detail;
    this.halted = true;
    this.exitBlock = true;
    this.onShutdown(detail);
  }

  /** Makes `run` return STOP_VMEXIT once the current instruction is done (vmx/exit.ts). */
  requestVmExitStop(): void {
    this.vmExitStopRequested = true;
    this.exitBlock = true;
  }

  requestStop(): void {
    this.stopRequested = true;
    this.exitBlock = true;
  }

  // =====================================================================
  // Privilege level and debug registers (the TLB is in tlb.ts)
  // =====================================================================

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.linkStamp = cpl === 3 ? this.userEpoch * 2 + 1 : this.supEpoch * 2;
    this.refreshAccessMode();
  }

  /**
   * Recomputes which debug-register breakpoints are armed (after DR7 or CR4
   * changes). Armed breakpoints make the CPU run one instruction at a time
   * (instruction breakpoints are checked before, data and I/O hits reported
   * after each instruction) and send data accesses down the slow path.
   */
  refreshBreakpoints(): void {
    const dr7 = this.dr[7];
    let active = false;
    let data = false;
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (2 * n)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + 4 * n)) & 3;
      if (rw === 2 && (this.cr4 & CR4_DE) === 0) continue; // I/O breakpoints need CR4.DE
      active = true;
      if (rw === 1 || rw === 3) data = true;
    }
    this.debugActive = active;
    this.dataBreakpoints = data;
    this.refreshAccessMode();
    this.updateAttention();
  }

  /** Data breakpoints: records in `pendingDebug` every armed one that [lin, lin+size) touches. */
  matchDataBreakpoints(lin: number, size: number, write: boolean): void {
    const dr7 = this.dr[7];
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (2 * n)) & 3) === 0) continue;
      const rw = (dr7 >>> (16 + 4 * n)) & 3;
      if (rw !== 3 && !(rw === 1 && write)) continue;
      if (overlapsBreakpoint(lin >>> 0, size, this.dr[n] >>> 0, (dr7 >>> (18 + 4 * n)) & 3)) this.pendingDebug |= 1 << n;
    }
  }

  /** I/O breakpoints (CR4.DE): called after every port access. */
  matchIoBreakpoints(port: number, size: number): void {
    if (!this.debugActive || (this.cr4 & CR4_DE) === 0) return;
    const dr7 = this.dr[7];
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (2 * n)) & 3) === 0 || ((dr7 >>> (16 + 4 * n)) & 3) !== 2) continue;
      if (overlapsBreakpoint(port, size, this.dr[n] & 0xffff, (dr7 >>> (18 + 4 * n)) & 3)) this.pendingDebug |= 1 << n;
    }
  }

  /** Instruction breakpoints armed at linear address `lin` (DR6 B0-B3 bits), unless EFLAGS.RF suppresses them. */
  instructionBreakpoints(lin: number): number {
    if ((this.flags & RF) !== 0) return 0;
    const dr7 = this.dr[7];
    let hits = 0;
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (2 * n)) & 3) !== 0 && ((dr7 >>> (16 + 4 * n)) & 3) === 0 && this.dr[n] === lin) hits |= 1 << n;
    }
    return hits;
  }

  // =====================================================================
  // Operand addressing (the memory accessors are in memoryAccess.ts)
  // =====================================================================

  /** Effective address (offset) of the instruction's memory operand. */
  ea(i: Insn): number {
    let a = i.disp;
    if (i.base >= 0) a += this.regs[i.base];
    if (i.index >= 0) a += this.regs[i.index] << i.scale;
    return i.a32 ? a | 0 : a & 0xffff;
  }

  // =====================================================================
  // Registers
  // =====================================================================

  get8(r: number): number {
    return r < 4 ? this.regs[r] & 0xff : (this.regs[r - 4] >> 8) & 0xff;
  }
  set8(r: number, v: number): void {
    if (r < 4) this.regs[r] = (this.regs[r] & ~0xff) | (v & 0xff);
    else this.regs[r - 4] = (this.regs[r - 4] & ~0xff00) | ((v & 0xff) << 8);
  }
  get16(r: number): number {
    return this.regs[r] & 0xffff;
  }
  set16(r: number, v: number): void {
    this.regs[r] = (this.regs[r] & ~0xffff) | (v & 0xffff);
  }

  // ModRM r/m operand access (register when mod = 3).
  readRm8(i: Insn): number { return i.mod === 3 ? this.get8(i.rm) : this.read8(i.seg, this.ea(i)); }
  readRm16(i: Insn): number { return i.mod === 3 ? this.regs[i.rm] & 0xffff : this.read16(i.seg, this.ea(i)); }
  readRm32(i: Insn): number { return i.mod === 3 ? this.regs[i.rm] : this.read32(i.seg, this.ea(i)); }
  writeRm8(i: Insn, v: number): void { if (i.mod === 3) this.set8(i.rm, v); else this.write8(i.seg, this.ea(i), v); }
  writeRm16(i: Insn, v: number): void { if (i.mod === 3) this.set16(i.rm, v); else this.write16(i.seg, this.ea(i), v); }
  writeRm32(i: Insn, v: number): void { if (i.mod === 3) this.regs[i.rm] = v; else this.write32(i.seg, this.ea(i), v); }

  /** Full EFLAGS with lazy flags materialized. */
  getFlags(): number {
    return readFlags(this);
  }

  /** Replaces EFLAGS wholesale (no privilege filtering; callers apply POPF/IRET rules). */
  setFlags(v: number): void {
    const old = this.flags;
    this.lazy[LZ_MASK] = 0;
    this.flags = (v & EFLAGS_IMPLEMENTED) | FLAG_RESERVED1;
    if (((old ^ this.flags) & (IF | TF | VM)) !== 0) this.exitBlock = true;
    if (((old ^ this.flags) & AC) !== 0) this.refreshAccessMode();
  }

  // ---- stack ----
  push16(v: number): void {
    const r = this.regs;
    if (this.ss32) {
      const sp = (r[ESP] - 2) | 0;
      this.write16(SS, sp, v);
      r[ESP] = sp;
    } else {
      const sp = (r[ESP] - 2) & 0xffff;
      this.write16(SS, sp, v);
      r[ESP] = (r[ESP] & ~0xffff) | sp;
    }
  }
  push32(v: number): void {
    const r = this.regs;
    if (this.ss32) {
      const sp = (r[ESP] - 4) | 0;
      this.write32(SS, sp, v);
      r[ESP] = sp;
    } else {
      const sp = (r[ESP] - 4) & 0xffff;
      this.write32(SS, sp, v);
      r[ESP] = (r[ESP] & ~0xffff) | sp;
    }
  }
  pop16(): number {
    const r = this.regs;
    if (this.ss32) {
      const v = this.read16(SS, r[ESP]);
      r[ESP] = (r[ESP] + 2) | 0;
      return v;
    }
    const v = this.read16(SS, r[ESP] & 0xffff);
    r[ESP] = (r[ESP] & ~0xffff) | ((r[ESP] + 2) & 0xffff);
    return v;
  }
  pop32(): number {
    const r = this.regs;
    if (this.ss32) {
      const v = this.read32(SS, r[ESP]);
      r[ESP] = (r[ESP] + 4) | 0;
      return v;
    }
    const v = this.read32(SS, r[ESP] & 0xffff);
    r[ESP] = (r[ESP] & ~0xffff) | ((r[ESP] + 4) & 0xffff);
    return v;
  }
  /** Reads the stack at ESP + offset without popping (for instructions that must check before committing). */
  peek16(offset: number): number {
    const sp = this.ss32 ? (this.regs[ESP] + offset) | 0 : (this.regs[ESP] + offset) & 0xffff;
    return this.read16(SS, sp);
  }
  peek32(offset: number): number {
    const sp = this.ss32 ? (this.regs[ESP] + offset) | 0 : (this.regs[ESP] + offset) & 0xffff;
    return this.read32(SS, sp);
  }
  /** ESP or SP by the stack size. */
  adjustSp(delta: number): void {
    const r = this.regs;
    if (this.ss32) r[ESP] = (r[ESP] + delta) | 0;
    else r[ESP] = (r[ESP] & ~0xffff) | ((r[ESP] + delta) & 0xffff);
  }

  // =====================================================================
  // Modes and faults
  // =====================================================================

  get protectedMode(): boolean {
    return (this.cr0 & CR0_PE) !== 0;
  }
  get v86Mode(): boolean {
    return (this.flags & VM) !== 0;
  }
  fault(vector: number, errorCode: number, hasErrorCode: boolean): never {
    CPU_FAULT.vector = vector;
    CPU_FAULT.errorCode = errorCode;
    CPU_FAULT.hasErrorCode = hasErrorCode;
    throw CPU_FAULT;
  }
  raiseUD(): never {
    return this.fault(EXC_UD, 0, false);
  }
  raiseGP(code: number): never {
    return this.fault(EXC_GP, code, true);
  }
  raisePF(lin: number, code: number): never {
    this.cr2BeforeFault = this.cr2;
    this.cr2 = lin | 0;
    return this.fault(EXC_PF, code, true);
  }

  /** Recomputes derived segment data after a cache write (used by segments.ts). */
  refreshSegment(seg: number): void {
    refreshSegmentRanges(this, seg);
    if (seg === CS) {
      this.cs32 = (this.segAttr[CS] & SEG_DB) !== 0;
      if (this.segBase[CS] !== this.linkCsBase || this.segLimit[CS] !== this.linkCsLimit || this.cs32 !== this.linkCs32) {
        this.linkCsBase = this.segBase[CS];
        this.linkCsLimit = this.segLimit[CS];
        this.linkCs32 = this.cs32;
        this.endEpochs(FETCH_SUPERVISOR | FETCH_USER);
      }
    }
    else if (seg === SS) this.ss32 = (this.segAttr[SS] & SEG_DB) !== 0;
    refreshFlatBits(this, seg);
  }

  // =====================================================================
  // Save / restore
  // =====================================================================

  saveState(): CpuState {
    return {
      regs: Array.from(this.regs),
      eip: this.eip,
      eflags: this.getFlags(),
      segSel: Array.from(this.segSel),
      segBase: Array.from(this.segBase),
      segLimit: Array.from(this.segLimit),
      segAttr: Array.from(this.segAttr),
      cpl: this.cpl,
      cr0: this.cr0, cr2: this.cr2, cr3: this.cr3, cr4: this.cr4,
      efer: this.efer,
      pdptes: Array.from(this.pdptes),
      dr: Array.from(this.dr),
      gdtBase: this.gdtBase, gdtLimit: this.gdtLimit, idtBase: this.idtBase, idtLimit: this.idtLimit,
      halted: this.halted,
      interruptShadow: this.interruptShadow,
      ssShadow: this.ssShadow,
      heldDebug: this.heldDebug,
      nmiPending: this.nmiPending,
      nmiBlocked: this.nmiBlocked,
      tscOffset: this.tscOffset,
      fpu: this.fpu.saveState(),
      sse: this.sse.saveState(),
    };
  }

  loadState(s: CpuState): void {
    this.regs.set(s.regs);
    this.eip = s.eip;
    this.setFlags(s.eflags);
    for (let seg = 0; seg < 8; seg++) setSegmentCache(this, seg, s.segSel[seg], s.segBase[seg], s.segLimit[seg], s.segAttr[seg]);
    this.setCpl(s.cpl);
    this.cr0 = s.cr0; this.cr2 = s.cr2; this.cr3 = s.cr3; this.cr4 = s.cr4;
    this.efer = s.efer ?? 0;
    this.pdptes.set(s.pdptes ?? [0, 0, 0, 0, 0, 0, 0, 0]);
    this.refreshAccessMode();
    this.dr.set(s.dr);
    this.refreshBreakpoints();
    this.gdtBase = s.gdtBase; this.gdtLimit = s.gdtLimit; this.idtBase = s.idtBase; this.idtLimit = s.idtLimit;
    this.halted = s.halted;
    this.interruptShadow = s.interruptShadow;
    this.ssShadow = s.ssShadow ?? false;
    this.heldDebug = s.heldDebug ?? 0;
    this.nmiPending = s.nmiPending;
    this.nmiBlocked = s.nmiBlocked;
    this.tscOffset = s.tscOffset;
    this.fpu.loadState(s.fpu);
    this.sse.loadState(s.sse);
    this.shutdownDetail = null;
    this.flushTlb(true);
    this.flushCodeCache();
  }
}

/**
 * Puts a companion module's methods on Cpu.prototype, non-enumerable as
 * class methods are: the Cpu's state stays in the class, its accessors and
 * mechanisms live in modules of their own, and every caller still calls
 * them as methods of the one Cpu class (monomorphic, inlinable).
 */
function installMethods(methods: object): void {
  for (const [name, fn] of Object.entries(methods)) {
    if (Object.hasOwn(Cpu.prototype, name)) throw new Error(`Cpu.${name} is defined twice`);
    Object.defineProperty(Cpu.prototype, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}
installMethods(memoryAccess);
installMethods(tlbMethods);
installMethods(execLoop);
installMethods(blockCache);

export interface CpuState {
  regs: number[];
  eip: number;
  eflags: number;
  segSel: number[];
  segBase: number[];
  segLimit: number[];
  segAttr: number[];
  cpl: number;
  cr0: number; cr2: number; cr3: number; cr4: number;
  /** IA32_EFER and the PAE PDPTE registers; absent in states saved before PAE existed. */
  efer?: number;
  pdptes?: number[];
  dr: number[];
  gdtBase: number; gdtLimit: number; idtBase: number; idtLimit: number;
  halted: boolean;
  interruptShadow: boolean;
  /** The shadow is an SS load's (debug traps held too); absent in states saved before it existed. */
  ssShadow?: boolean;
  /** DR6 bits held over an SS load's shadow. */
  heldDebug?: number;
  nmiPending: boolean;
  nmiBlocked: boolean;
  tscOffset: number;
  fpu: unknown;
  /** XMM registers and MXCSR; absent in states saved before SSE existed (RESET values then). */
  sse?: unknown;
}

/** Bytes a breakpoint covers by its LEN field: 1, 2, 8 (undefined on IA-32), 4. */
const BREAKPOINT_LENGTH = [1, 2, 8, 4];

/** Whether [addr, addr+size) touches the breakpoint at `bp` (aligned down to its length). */
function overlapsBreakpoint(addr: number, size: number, bp: number, lenField: number): boolean {
  const len = BREAKPOINT_LENGTH[lenField];
  const start = bp - (bp % len);
  return addr <= start + len - 1 && addr + size - 1 >= start;
}
