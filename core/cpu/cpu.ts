/**
 * The physical IA-32 processor: register file, the execution loop over
 * decoded blocks, the TLB-backed memory accessors, and exception plumbing.
 *
 * Performance design (see ARCHITECTURE.md "hot path allocates nothing"):
 * - Code is decoded once into blocks of `Insn` (decoder.ts), cached by the
 *   physical location of their first byte, and invalidated when their page is
 *   written (the bus reports writes to pages marked in `bus.codePages`; the TLB
 *   never grants a direct-write entry for such a page).
 * - Linear memory goes through a direct-mapped TLB covering all 2^20 linear
 *   pages: one typed-array load and a bit test on the fast path.
 * - Arithmetic flags are lazy (flags.ts).
 * - Faults unwind with one preallocated object (`CPU_FAULT`) and restart the
 *   instruction, so handlers must check everything before writing state.
 *
 * Sensitive operations go through `this.seam` (seam.ts), the one place a
 * virtualization extension or hypervisor intercepts them.
 */
import type { MemoryBus } from '../memory/bus.ts';
import { PAGE_IO, PAGE_ROM } from '../memory/bus.ts';
import type { GuestClock } from './clock.ts';
import { LAZY_SUB, readFlags, setLazy, setResultFlags, testCondition } from './flags.ts';
import { aluCompute, dec32, inc32 } from './ops/alu.ts';
import { branchNear } from './ops/control.ts';
import type {
  FAST_ALU_R_RM, FAST_ALU_RM_IMM, FAST_ALU_RM_R, FAST_CMP_M32_IMM, FAST_CMP_M8_IMM, FAST_CMP_R_M32, FAST_DEC_R,
  FAST_GROUP_POP, FAST_GROUP_PUSH, FAST_GROUP_READ32, FAST_GROUP_READ8, FAST_GROUP_STORE, FAST_INC_R, FAST_JCC, FAST_LEA,
  FAST_LOAD32, FAST_LOAD8, FAST_MOV_R_IMM, FAST_MOV_R_RM, FAST_MOV_RM_R, FAST_MOVZX8, FAST_POP_R, FAST_PUSH_IMM, FAST_PUSH_R,
  FAST_STORE32, FAST_TEST_RR, FAST_TEST_RR8,
} from './fastForms.ts';
import { Insn } from './insn.ts';
import { decodeBlock, Block } from './decoder.ts';
import { pagingWalk, WalkResult, type PageTableMemory } from './paging.ts';
import { EFER_NXE, paeWalk } from './paePaging.ts';
import {
  AC, CR0_AM, CR0_ET, CR0_PE, CR0_PG, CS, DS, EFLAGS_IMPLEMENTED, ES, ESP, EXC_AC, EXC_DB, EXC_DF, EXC_GP, EXC_NMI, EXC_PF,
  EXC_SS, EXC_UD, FLAG_RESERVED1, FS, GS, IF, LDTR, SEG_DB, SS, TF, TR, VM, RF, CR4_DE, CR4_PAE, CR4_PGE,
} from './regs.ts';
import { bareMetal, type SensitiveOps } from './seam.ts';
import { setSegmentCache, refreshSegmentRanges } from './segments.ts';
import { INT_EXCEPTION, INT_EXTERNAL, INT_NMI } from './interrupts.ts';
import { Fpu } from './fpu/fpu.ts';
import { SseState } from './sse/state.ts';
import { Jit, JIT_CHAIN_DEPTH } from './jit/jit.ts';
import type { EntryState } from '../machine/boot/entryState.ts';
import { Vmx, VM_EXIT_VECTOR } from './vmx/vmx.ts';
import { vmxPollExit, vmxTripleFault } from './vmx/nonRoot.ts';
import { recognizeInit } from './initSignal.ts';
import { Svm } from './svm/svm.ts';
import { svmPollInterrupt, svmShutdownExits } from './svm/guestOps.ts';
import { INTEL_VMX_MODEL, type ProcessorModel } from './processorModel.ts';

/** Why `run` returned. */
export const STOP_BUDGET = 0; // instruction budget used up
export const STOP_HALT = 1; // HLT with nothing to wake the CPU now
export const STOP_SHUTDOWN = 2; // triple fault: the processor shut down
export const STOP_REQUEST = 3; // a device asked the CPU to stop (reset, power-off)
export const STOP_VMEXIT = 4; // a VM exit completed for a TypeScript VMX host (vmx/rootOps.ts)
/** Cpu.attend: nothing to do, run the next block. */
const ATTEND_RUN = -1;

/** The one object thrown to unwind a faulting instruction. */
export class CpuFault {
  vector = 0;
  errorCode = 0;
  hasErrorCode = false;
}
export const CPU_FAULT = new CpuFault();

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

/** TLB entry bits (the rest of an entry is the page's offset in the memory buffer). */
export const TLB_SUPERVISOR = 1;
export const TLB_USER = 2;
/**
 * A TLB bit no entry carries: while alignment checking (CR0.AM, EFLAGS.AC,
 * CPL 3) or a data breakpoint is active it is the current `tlbBit`, so every
 * data access misses the fast paths and the slow path checks alignment (#AC)
 * and breakpoints. Instruction fetch keeps using the plain privilege bit.
 */
export const TLB_SLOW_PATH = 8;
/**
 * A read-entry bit: the page may be read but not executed (XD under PAE with
 * EFER.NXE). Data accesses ignore it; instruction fetch (fetchBlock, the
 * decoder's page crossing) takes the miss path for such a page and faults.
 */
export const TLB_NOEXEC = 4;
const TLB_LIST_MAX = 8192;
/** Cpu.fetchMarks: a linear page blocks were fetched from at CPL 0-2, at CPL 3 (the two link classes). */
const FETCH_SUPERVISOR = 1;
const FETCH_USER = 2;
/** Instructions per decoded block at most. */
export const BLOCK_MAX = 48;

export class Cpu implements PageTableMemory {
  readonly bus: MemoryBus;
  readonly clock: GuestClock;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;

  // ---- architectural state (plain data, see saveState) ----
  readonly regs = new Int32Array(8);
  eip = 0;
  /** EFLAGS; the arithmetic bits named in lazyMask are stale (flags.ts). */
  flags = FLAG_RESERVED1;
  lazyMask = 0;
  lazyOp = 0;
  lazySize = 32;
  lazyA = 0;
  lazyB = 0;
  lazyRes = 0;
  /** Segment registers ES..GS, LDTR, TR: selector and descriptor cache. */
  readonly segSel = new Uint16Array(8);
  readonly segBase = new Int32Array(8);
  readonly segLimit = new Uint32Array(8);
  readonly segAttr = new Uint16Array(8);
  /** Derived from the caches: valid offset ranges for reads and writes (lo > hi = unusable). */
  readonly segRLo = new Uint32Array(6);
  readonly segRHi = new Uint32Array(6);
  readonly segWLo = new Uint32Array(6);
  readonly segWHi = new Uint32Array(6);
  /** CS default size is 32 bit; SS B bit (32-bit stack pointer). */
  cs32 = false;
  ss32 = false;
  cpl = 0;
  cr0 = CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** IA32_EFER of the Intel part: NXE (bit 11) only (the AMD part keeps its EFER in svm.efer). */
  efer = 0;
  /** The four PAE PDPTE registers (low, high dword pairs), loaded as paePaging.ts describes. */
  readonly pdptes = new Int32Array(8);
  readonly dr = new Int32Array(8);
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
  readonly sse = new SseState();
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
  readonly tlbRead = new Int32Array(1 << 20);
  readonly tlbWrite = new Int32Array(1 << 20);
  private readonly tlbPages = new Int32Array(TLB_LIST_MAX);
  private tlbCount = 0;
  private readonly tlbGlobalPages = new Int32Array(TLB_LIST_MAX);
  private tlbGlobalCount = 0;
  /**
   * 4 MiB linear regions that have TLB entries from a large (PSE) page. The
   * TLB caches 4 KiB pieces, so INVLPG of one address in such a region must
   * drop all the pieces (SDM: INVLPG invalidates the whole large-page entry).
   */
  private readonly tlbLargeRegions = new Uint8Array(1024);
  /** TLB_USER at CPL 3, else TLB_SUPERVISOR. */
  tlbBit = TLB_SUPERVISOR;
  a20Mask = -1;
  private readonly walk = new WalkResult();
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
  private supEpoch = 0;
  private userEpoch = 0;
  /**
   * Linear pages blocks were fetched from during the current epochs (bit
   * FETCH_SUPERVISOR, FETCH_USER), and the marked pages as a list (to clear).
   */
  private readonly fetchMarks = new Uint8Array(1 << 20);
  private readonly fetchMarked: number[] = [];
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
   * Chaining between compiled blocks: the block running (the last one chained
   * into), the instructions the run loop's budget still allows (chained
   * blocks subtract theirs), and how many more nested chained calls the
   * JS stack may take before control returns to the run loop.
   */
  jitBlock!: Block;
  jitLeft = 0;
  jitDepth = 0;
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
    this.lazyMask = 0;
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
  // Execution
  // =====================================================================

  /**
   * Runs up to `budget` instructions (a block may overshoot by less than
   * BLOCK_MAX). Returns a STOP_* code.
   */
  run(budget: number): number {
    let done = 0;
    const clock = this.clock;
    const regs = this.regs;
    let prev: Block | null = null;
    while (done < budget) {
      if (this.attention || (this.flags & (TF | RF)) !== 0) {
        prev = null;
        const r = this.attend();
        if (r >= 0) {
          done += r;
          continue;
        }
        if (r !== ATTEND_RUN) return -2 - r; // a STOP_* code
      }
      if ((this.flags & this.intrMask) !== 0 && (this.intrLine || this.pollIntr) && this.pollInterrupt()) {
        prev = null;
        continue;
      }
      let block: Block;
      try {
        if (prev !== null && prev.linkStamp === this.linkStamp) {
          const eip = this.eip;
          let s = prev.succ0;
          if (s !== null && s.eip === eip && s.valid) block = s;
          else {
            s = prev.succ1;
            if (s !== null && s.eip === eip && s.valid) block = s;
            else {
              block = this.fetchBlock();
              prev.succ1 = prev.succ0;
              prev.succ0 = block;
            }
          }
        } else {
          block = this.fetchBlock();
          if (prev !== null) {
            prev.linkStamp = this.linkStamp;
            prev.succ0 = block;
            prev.succ1 = null;
          }
        }
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        prev = null;
        this.raiseFromFault();
        continue;
      }
      const insns = block.insns;
      const n = insns.length;
      let k = 0;
      this.exitBlock = false;
      if (block.jit === null && ++block.heat === this.jitHot) this.jit.compile(block);
      const compiled = block.jit;
      try {
        if (compiled !== null) {
          // Compiled code may chain into further compiled blocks (jit/translate.ts): it takes the
          // budget left and counts the blocks it chained through itself; `block` becomes the last one run.
          this.jitBlock = block;
          this.jitLeft = budget - done;
          this.jitDepth = JIT_CHAIN_DEPTH;
          k = compiled(this);
          done = budget - this.jitLeft;
          block = this.jitBlock;
        } else for (; k < n; ) {
          const ins = insns[k];
          this.eip = ins.nextEip;
          const f = ins.fast;
          if (f === 0) ins.fn(this, ins);
          else if (f < (16 satisfies typeof FAST_GROUP_READ32)) {
            switch (f) {
              case 1 satisfies typeof FAST_MOV_RM_R: regs[ins.rm] = regs[ins.reg]; break;
              case 2 satisfies typeof FAST_MOV_R_RM: regs[ins.reg] = regs[ins.rm]; break;
              case 3 satisfies typeof FAST_MOV_R_IMM: regs[ins.opcode & 7] = ins.imm; break;
              case 4 satisfies typeof FAST_LEA: regs[ins.reg] = this.ea(ins); break;
              case 5 satisfies typeof FAST_INC_R: regs[ins.opcode & 7] = inc32(this, regs[ins.opcode & 7]); break;
              case 6 satisfies typeof FAST_DEC_R: regs[ins.opcode & 7] = dec32(this, regs[ins.opcode & 7]); break;
              case 7 satisfies typeof FAST_ALU_RM_R:
              case 8 satisfies typeof FAST_ALU_R_RM:
              case 9 satisfies typeof FAST_ALU_RM_IMM: {
                // One aluCompute call site for the three forms: op, destination, operands.
                let alu = (ins.opcode >> 3) & 7, dst = ins.rm, b = regs[ins.reg];
                if (f === (8 satisfies typeof FAST_ALU_R_RM)) {
                  dst = ins.reg;
                  b = regs[ins.rm];
                } else if (f === (9 satisfies typeof FAST_ALU_RM_IMM)) {
                  alu = ins.reg;
                  b = ins.imm;
                }
                const r = aluCompute(this, alu, 32, regs[dst], b);
                if (alu !== 7) regs[dst] = r; // not CMP
                break;
              }
              case 10 satisfies typeof FAST_TEST_RR: setResultFlags(this, 32, regs[ins.rm] & regs[ins.reg], 0); break;
              case 11 satisfies typeof FAST_TEST_RR8: setResultFlags(this, 8, this.get8(ins.rm) & this.get8(ins.reg), 0); break;
              case 12 satisfies typeof FAST_JCC:
                if (testCondition(this, ins.opcode & 15)) branchNear(this, ins.imm);
                break;
              default: // FAST_JMP
                branchNear(this, ins.imm);
            }
          } else if (f < (26 satisfies typeof FAST_GROUP_PUSH)) {
            // Forms with a memory operand: one effective-address computation for all of them.
            const off = this.ea(ins);
            if (f < (20 satisfies typeof FAST_GROUP_READ8)) {
              const m = this.read32(ins.seg, off);
              switch (f) {
                case 16 satisfies typeof FAST_LOAD32: regs[ins.reg] = m; break;
                case 17 satisfies typeof FAST_CMP_M32_IMM: setLazy(this, LAZY_SUB, 32, m, ins.imm, m - ins.imm); break;
                case 18 satisfies typeof FAST_CMP_R_M32: setLazy(this, LAZY_SUB, 32, regs[ins.reg], m, regs[ins.reg] - m); break;
                default: setLazy(this, LAZY_SUB, 32, m, regs[ins.reg], m - regs[ins.reg]); // FAST_CMP_M32_R
              }
            } else if (f < (24 satisfies typeof FAST_GROUP_STORE)) {
              const m = this.read8(ins.seg, off);
              switch (f) {
                case 20 satisfies typeof FAST_LOAD8: this.set8(ins.reg, m); break;
                case 21 satisfies typeof FAST_MOVZX8: regs[ins.reg] = m; break;
                case 22 satisfies typeof FAST_CMP_M8_IMM: setLazy(this, LAZY_SUB, 8, m, ins.imm & 0xff, m - (ins.imm & 0xff)); break;
                default: setLazy(this, LAZY_SUB, 8, this.get8(ins.reg), m, this.get8(ins.reg) - m); // FAST_CMP_R8_M8
              }
            } else if (f === (24 satisfies typeof FAST_STORE32)) this.write32(ins.seg, off, regs[ins.reg]);
            else this.write8(ins.seg, off, this.get8(ins.reg)); // FAST_STORE8
          } else if (f < (29 satisfies typeof FAST_GROUP_POP)) {
            let v: number;
            if (f === (26 satisfies typeof FAST_PUSH_R)) v = regs[ins.opcode & 7];
            else if (f === (27 satisfies typeof FAST_PUSH_IMM)) v = ins.imm;
            else { // FAST_CALL
              if (ins.imm >>> 0 > this.segLimit[1]) this.raiseGP(0);
              v = ins.nextEip;
              this.eip = ins.imm;
            }
            this.push32(v);
          } else {
            // Pops read before ESP moves, so a fault leaves ESP as it was.
            const v = this.peek32(0);
            if (f === (29 satisfies typeof FAST_POP_R)) {
              this.adjustSp(4);
              regs[ins.opcode & 7] = v;
            } else { // FAST_RET
              if (v >>> 0 > this.segLimit[1]) this.raiseGP(0);
              this.adjustSp(4 + ins.imm);
              this.eip = v;
            }
          }
          k++;
          if (this.exitBlock) break;
        }
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        if (compiled !== null) {
          k = this.jitK;
          done = budget - this.jitLeft;
          block = this.jitBlock;
        }
        this.eip = block.insns[k].eip;
        clock.retired += k;
        done += k;
        prev = null;
        this.raiseFromFault();
        continue;
      }
      clock.retired += k;
      done += k;
      prev = this.exitBlock ? null : block;
    }
    return STOP_BUDGET;
  }

  /**
   * The run loop's slow path, taken when something needs attention between
   * instructions (stop request, shutdown, interrupt shadow, NMI, HLT, single
   * step, breakpoints). Kept out of `run` so that V8 spends its inlining
   * budget for `run` on the instruction fast paths. Returns instructions
   * retired (the loop continues), ATTEND_RUN (run the next block), or
   * -2 - code to stop with a STOP_* code.
   */
  private attend(): number {
    if (this.vmExitStopRequested) {
      this.vmExitStopRequested = false;
      return -2 - STOP_VMEXIT;
    }
    if (this.stopRequested) {
      this.stopRequested = false;
      return -2 - STOP_REQUEST;
    }
    if (this.shutdownDetail !== null) return -2 - STOP_SHUTDOWN;
    // Interrupt window: between instructions, not after STI/MOV SS.
    if (this.interruptShadow) {
      this.interruptShadow = false;
      return this.stepOne();
    }
    // INIT before NMI (SDM Vol. 3A Table 6-2: external hardware interventions, then traps, then NMI).
    if (this.initPending && recognizeInit(this)) return 0;
    if (this.nmiPending && !this.nmiBlocked && this.svm.gif) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.deliver(EXC_NMI, INT_NMI, 0, false);
      return 0;
    }
    if (this.halted) {
      if ((this.flags & this.intrMask) === 0 || !this.pollInterrupt()) return -2 - STOP_HALT;
      return 0;
    }
    // RF: the next instruction runs alone, so that RF is cleared as it starts (stepOne).
    if ((this.flags & (TF | RF)) !== 0 || this.debugActive) {
      if ((this.flags & IF) !== 0 && (this.intrLine || this.pollIntr) && this.pollInterrupt()) return 0;
      return this.stepOne();
    }
    return ATTEND_RUN;
  }

  private updateAttention(): void {
    this.attention = this.haltedFlag || this.shadowFlag || this.nmiFlag || this.initFlag || this.stopFlag || this.shutdownText !== null || this.debugActive
      || this.vmExitStopFlag;
  }

  /** Takes a pending maskable interrupt (IF is set by the caller's check). Returns true if one was delivered. */
  private pollInterrupt(): boolean {
    // VMX non-root: interrupt-window and external-interrupt exits come before delivery to the guest.
    if (this.vmx.nonRoot) {
      if (vmxPollExit(this)) return true;
      if ((this.flags & IF) === 0) return false; // polled only for the exits above
    }
    // SVM guest mode: physical INTR (intercepted or not, under V_INTR_MASKING) and virtual interrupts.
    if (this.svm.guest) return svmPollInterrupt(this);
    const ic = this.interruptController;
    if (ic === null || !ic.hasInterrupt()) return false;
    this.halted = false;
    this.deliver(ic.acknowledge() & 0xff, INT_EXTERNAL, 0, false);
    return true;
  }

  /**
   * Executes exactly one instruction (interrupt shadow, single-step, RF,
   * breakpoints). Returns instructions retired (0 or 1).
   *
   * Debug traps of an instruction that loaded SS (MOV SS, POP SS) are held
   * and delivered after the next instruction, merged with its own, as one
   * #DB (SDM Vol. 3A 6.8.3). If that next instruction is INT n or INT3,
   * the #DB comes after the transfer, at the handler's first instruction;
   * if it is ICEBP, its own #DB takes the pending ones with it (one #DB, no
   * BS). Both as on real Intel processors (kvm-unit-tests x86/debug.c,
   * "MOV SS + watchpoint + INT3 / int $1 / ICEBP", "Single-Step + ICEBP #DB
   * w/ MOVSS blocking"). If it faults, the held traps are dropped with it
   * (Bochs does the same: event delivery discards pending debug traps). No
   * instruction breakpoint is matched on the instruction in the shadow
   * (Bochs: code breakpoints are matched only on boundaries where debug
   * exceptions are not inhibited).
   */
  private stepOne(): number {
    const trap = (this.flags & TF) !== 0;
    const held = this.heldDebug;
    const inSsShadow = this.ssShadow;
    this.heldDebug = 0;
    this.ssShadow = false;
    if (this.debugActive && !inSsShadow) {
      const hits = this.instructionBreakpoints((this.segBase[CS] + this.eip) | 0);
      if (hits !== 0) {
        // Instruction breakpoint: a fault, before the instruction executes.
        this.dr[6] = (this.dr[6] & ~0xf) | hits;
        this.deliver(EXC_DB, INT_EXCEPTION, 0, false);
        return 0;
      }
    }
    let ins: Insn;
    try {
      ins = this.fetchBlock().insns[0];
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.raiseFromFault();
      return 0;
    }
    // SDM 17.3.1.1: RF is cleared at the start of the instruction, after the
    // code breakpoint and fetch checks (so an IRET or task switch that loads
    // RF = 1 keeps it for the instruction it returns to).
    this.flags &= ~RF;
    this.exitBlock = false;
    this.pendingDebug = 0;
    try {
      this.eip = ins.nextEip;
      ins.fn(this, ins);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      this.eip = ins.eip;
      this.raiseFromFault();
      return 0;
    }
    this.clock.retired += 1;
    // Single step and data/I-O breakpoints: a trap, reported after the instruction (B0-B3, BS).
    // ICEBP delivered a #DB itself, which stands for every pending debug trap.
    const hits = ins.opcode === ICEBP_OPCODE ? 0 : this.pendingDebug | (trap ? DR6_BS : 0) | held;
    if (this.ssShadow) {
      if (!inSsShadow) {
        this.heldDebug = hits;
        return 1;
      }
      // An SS load inside an SS load's shadow does not extend it (SDM: only the
      // first of consecutive SS loads is guaranteed to inhibit; Bochs inhibit_interrupts).
      this.ssShadow = false;
      this.interruptShadow = false;
    }
    if (hits !== 0 && this.shutdownDetail === null) {
      this.dr[6] = (this.dr[6] & ~0xf) | hits;
      this.deliver(EXC_DB, INT_EXCEPTION, 0, false);
    }
    return 1;
  }

  private raiseFromFault(): void {
    this.deliver(CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
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
  // Decoded-block cache
  // =====================================================================

  /** The block starting at CS:EIP, decoding it if needed. May throw a fetch fault. */
  private fetchBlock(): Block {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if (this.eip >>> 0 > this.segLimit[CS]) this.raiseGP(0);
    let e = this.tlbRead[lin >>> 12];
    // Instruction fetches are not alignment-checked: they use the plain user bit.
    const bit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
    if ((e & (bit | TLB_NOEXEC)) !== bit) {
      this.translateFetch(lin);
      e = this.tlbRead[lin >>> 12];
      if ((e & bit) === 0) throw new Error(`executing from an MMIO region at linear 0x${(lin >>> 0).toString(16)} is not supported`);
    }
    // Links made to this block during the current epoch rely on this page's translation.
    const mark = this.cpl === 3 ? FETCH_USER : FETCH_SUPERVISOR;
    const page = lin >>> 12;
    if ((this.fetchMarks[page] & mark) === 0) {
      if (this.fetchMarks[page] === 0) this.fetchMarked.push(page);
      this.fetchMarks[page] |= mark;
    }
    const key = (e & ~0xfff) | (lin & 0xfff);
    const b = this.blocks.get(key);
    if (b !== undefined && b.eip === this.eip && b.csBase === this.segBase[CS] && b.cs32 === this.cs32) return b;
    return this.decodeAt(key, lin);
  }

  /** The decoder's check when an instruction continues on the next page: that page must be executable too. */
  checkFetch(lin: number): void {
    const bit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
    if ((this.tlbRead[lin >>> 12] & (bit | TLB_NOEXEC)) !== bit) this.translateFetch(lin);
  }

  /** A TLB miss on instruction fetch (EPT checks execute permission for it). */
  private translateFetch(lin: number): void {
    const outer = this.fetching; // the decoder's page-crossing check runs inside decodeAt's fetch
    this.fetching = true;
    try {
      this.translateSlow(lin, false, this.cpl === 3);
    } finally {
      this.fetching = outer;
    }
  }

  private decodeAt(key: number, lin: number): Block {
    let block: Block;
    this.fetching = true;
    try {
      block = decodeBlock(this, lin, this.eip);
    } finally {
      this.fetching = false;
    }
    block.key = key;
    this.blocks.set(key, block);
    const first = key >>> 12;
    this.registerCodePage(first, block);
    // Only the first instruction may straddle into a second page.
    const lastLin = (lin + block.insns[0].len - 1) | 0;
    if ((lastLin >>> 12) !== (lin >>> 12)) {
      const e2 = this.tlbRead[lastLin >>> 12];
      this.registerCodePage(e2 >>> 12, block);
    }
    return block;
  }

  private registerCodePage(bufferPage: number, block: Block): void {
    // Only RAM pages can change under the code; ROM pages need no watch.
    if (bufferPage << 12 >= this.bus.memory.ramSize) return;
    let list = this.pageBlocks.get(bufferPage);
    if (list === undefined) {
      list = [];
      this.pageBlocks.set(bufferPage, list);
    }
    list.push(block);
    if (this.bus.codePages[bufferPage] === 0) {
      this.bus.codePages[bufferPage] = 1;
      // Direct-write TLB entries may point at this page: drop them so writes take the watched path.
      this.flushTlbWrites();
    }
  }

  /** A write hit a page holding decoded code: forget every block decoded from it. */
  invalidateCodePage(pfn: number): void {
    const list = this.pageBlocks.get(pfn);
    if (list !== undefined) {
      for (const b of list) {
        b.valid = false;
        if (this.blocks.get(b.key) === b) this.blocks.delete(b.key);
      }
      this.pageBlocks.delete(pfn);
    }
    this.bus.codePages[pfn] = 0;
    this.exitBlock = true;
  }

  flushCodeCache(): void {
    this.jit.flush();
    this.blocks.clear();
    for (const pfn of this.pageBlocks.keys()) this.bus.codePages[pfn] = 0;
    this.pageBlocks.clear();
  }

  // =====================================================================
  // TLB and address translation
  // =====================================================================

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.linkStamp = cpl === 3 ? this.userEpoch * 2 + 1 : this.supEpoch * 2;
    this.refreshAccessMode();
  }

  /** Recomputes `tlbBit` from CPL, CR0.AM and EFLAGS.AC (call after changing any of them). */
  refreshAccessMode(): void {
    this.alignmentCheck = this.cpl === 3 && (this.cr0 & CR0_AM) !== 0 && (this.flags & AC) !== 0;
    if (this.alignmentCheck || this.dataBreakpoints) this.tlbBit = TLB_SLOW_PATH;
    else this.tlbBit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
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
  private matchDataBreakpoints(lin: number, size: number, write: boolean): void {
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
  private instructionBreakpoints(lin: number): number {
    if ((this.flags & RF) !== 0) return 0;
    const dr7 = this.dr[7];
    let hits = 0;
    for (let n = 0; n < 4; n++) {
      if (((dr7 >>> (2 * n)) & 3) !== 0 && ((dr7 >>> (16 + 4 * n)) & 3) === 0 && this.dr[n] === lin) hits |= 1 << n;
    }
    return hits;
  }

  /** Ends the epochs of the classes in `classes` (FETCH_SUPERVISOR | FETCH_USER), forgetting their fetch marks. */
  private endEpochs(classes: number): void {
    if (classes === 0) return;
    if ((classes & FETCH_SUPERVISOR) !== 0) this.supEpoch++;
    if ((classes & FETCH_USER) !== 0) this.userEpoch++;
    this.linkStamp = this.cpl === 3 ? this.userEpoch * 2 + 1 : this.supEpoch * 2;
    const marks = this.fetchMarks, list = this.fetchMarked;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const m = marks[p] & ~classes;
      marks[p] = m;
      if (m !== 0) list[kept++] = p;
    }
    list.length = kept;
  }

  /** Drops cached translations; global ones too when `all` (CR4/CR0 changes, A20). */
  flushTlb(all: boolean): void {
    const r = this.tlbRead, w = this.tlbWrite;
    if (all || this.tlbCount >= TLB_LIST_MAX || this.tlbGlobalCount >= TLB_LIST_MAX) {
      this.endEpochs(FETCH_SUPERVISOR | FETCH_USER);
      if (this.tlbCount >= TLB_LIST_MAX || this.tlbGlobalCount >= TLB_LIST_MAX) {
        r.fill(0);
        w.fill(0);
      } else {
        for (let i = 0; i < this.tlbGlobalCount; i++) {
          const p = this.tlbGlobalPages[i];
          r[p] = 0;
          w[p] = 0;
        }
        for (let i = 0; i < this.tlbCount; i++) {
          const p = this.tlbPages[i];
          r[p] = 0;
          w[p] = 0;
        }
      }
      this.tlbGlobalCount = 0;
      this.tlbCount = 0;
      return;
    }
    // Only the non-global translations go: the epochs of the classes that fetched code through one of them end.
    const marks = this.fetchMarks;
    let ended = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const p = this.tlbPages[i];
      ended |= marks[p];
      r[p] = 0;
      w[p] = 0;
    }
    this.tlbCount = 0;
    this.endEpochs(ended);
  }

  /** INVLPG: drops one page's translation, global or not. */
  invalidatePage(lin: number): void {
    const region = lin >>> 22;
    if (this.tlbLargeRegions[region] !== 0) {
      this.tlbLargeRegions[region] = 0;
      const first = region << 10;
      let ended = 0;
      for (let p = first; p < first + 1024; p++) ended |= this.fetchMarks[p];
      this.endEpochs(ended);
      this.tlbRead.fill(0, first, first + 1024);
      this.tlbWrite.fill(0, first, first + 1024);
      return;
    }
    this.endEpochs(this.fetchMarks[lin >>> 12]);
    this.tlbRead[lin >>> 12] = 0;
    this.tlbWrite[lin >>> 12] = 0;
  }

  private flushTlbWrites(): void {
    const w = this.tlbWrite;
    for (let i = 0; i < this.tlbCount; i++) w[this.tlbPages[i]] = 0;
    for (let i = 0; i < this.tlbGlobalCount; i++) w[this.tlbGlobalPages[i]] = 0;
  }

  /**
   * Translates a linear address (walking the page tables when paging is on),
   * raising #PF on a violation, and fills the TLB where the page is RAM/ROM.
   * Returns the physical address.
   */
  translateSlow(lin: number, write: boolean, user: boolean): number {
    let phys: number;
    let userRead = true, userWrite = true, superWrite = true, dirty = true, global = false, executable = true;
    // The second translation stage: EPT in VMX non-root operation, nested paging in SVM guest mode.
    const ept = this.vmx.ept ?? this.svm.npt;
    if (ept !== null) ept.setLinear(lin);
    if ((this.cr0 & CR0_PG) !== 0) {
      const w = (this.cr4 & CR4_PAE) === 0
        ? pagingWalk(this.pageTables, this.cr0, this.cr3, this.cr4, lin, write, user, this.walk)
        : paeWalk(this.pageTables, this.pdptes, this.cr0, (this.cr4 & CR4_PGE) !== 0, (this.efer & EFER_NXE) !== 0, lin, write, user, this.fetching, this.walk);
      if (w.faultCode >= 0) this.raisePF(lin, w.faultCode);
      phys = w.phys;
      userRead = w.userRead;
      userWrite = w.userWrite;
      superWrite = w.supervisorWrite;
      dirty = w.dirty;
      global = w.global;
      executable = w.executable;
      if (w.large) this.tlbLargeRegions[lin >>> 22] = 1;
    } else {
      phys = lin >>> 0;
    }
    phys = (phys & this.a20Mask) >>> 0;
    let eptRead = true, eptWrite = true;
    if (ept !== null) {
      // VMX non-root with EPT: the guest-physical address goes through the EPT tables.
      phys = ept.translateFinal(phys, lin, write, this.fetching);
      eptRead = ept.executable; // a readable page that is not executable must not serve fetches from the TLB
      eptWrite = ept.writable;
    }
    const page = lin >>> 12;
    const entry = this.bus.pageMap[phys >>> 12];
    if ((entry & PAGE_IO) === 0) {
      const base = entry & ~0xfff;
      const readBits = eptRead ? TLB_SUPERVISOR | (userRead ? TLB_USER : 0) | (executable ? 0 : TLB_NOEXEC) : 0;
      let writeBits = 0;
      if ((entry & PAGE_ROM) === 0 && dirty && eptWrite && this.bus.codePages[phys >>> 12] === 0) {
        writeBits = (superWrite ? TLB_SUPERVISOR : 0) | (userWrite ? TLB_USER : 0);
      }
      if (this.tlbRead[page] === 0 && this.tlbWrite[page] === 0) {
        if (global) {
          if (this.tlbGlobalCount < TLB_LIST_MAX) this.tlbGlobalPages[this.tlbGlobalCount] = page;
          this.tlbGlobalCount++;
        } else {
          if (this.tlbCount < TLB_LIST_MAX) this.tlbPages[this.tlbCount] = page;
          this.tlbCount++;
        }
        if (this.tlbCount > TLB_LIST_MAX || this.tlbGlobalCount > TLB_LIST_MAX) {
          this.flushTlb(true);
          if (global) { this.tlbGlobalPages[0] = page; this.tlbGlobalCount = 1; }
          else { this.tlbPages[0] = page; this.tlbCount = 1; }
        }
      }
      // A refill that changes the translation of a page code was fetched from (its page tables changed under a live entry).
      if (this.fetchMarks[page] !== 0 && this.tlbRead[page] !== (base | readBits)) this.endEpochs(this.fetchMarks[page]);
      this.tlbRead[page] = base | readBits;
      this.tlbWrite[page] = writeBits === 0 ? 0 : base | writeBits;
    }
    return phys;
  }

  // PageTableMemory: the walker's view of physical memory.
  readPhys32(pa: number): number {
    return this.bus.read32(pa & this.a20Mask);
  }
  writePhys32(pa: number, value: number): void {
    this.bus.write32(pa & this.a20Mask, value);
  }

  // =====================================================================
  // Linear memory (fast paths inline, slow paths below)
  // =====================================================================

  readLin8(lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0) return this.u8[(e & ~0xfff) | (lin & 0xfff)];
    return this.readSlow(lin, 1, this.cpl === 3);
  }

  readLin16(lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffe) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return this.u8[p] | (this.u8[p + 1] << 8);
    }
    return this.readSlow(lin, 2, this.cpl === 3);
  }

  readLin32(lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) return this.i32[p >> 2];
      const m = this.u8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readSlow(lin, 4, this.cpl === 3);
  }

  writeLin8(lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0) {
      this.u8[(e & ~0xfff) | (lin & 0xfff)] = v;
      return;
    }
    this.writeSlow(lin, 1, v, this.cpl === 3);
  }

  writeLin16(lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffe) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.u8[p] = v;
      this.u8[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(lin, 2, v, this.cpl === 3);
  }

  writeLin32(lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0xffc) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) {
        this.i32[p >> 2] = v;
        return;
      }
      const m = this.u8;
      m[p] = v;
      m[p + 1] = v >> 8;
      m[p + 2] = v >> 16;
      m[p + 3] = v >> 24;
      return;
    }
    this.writeSlow(lin, 4, v, this.cpl === 3);
  }

  /** Checks that [lin, lin+size) may be written now (translating it, so #PF comes before any write). */
  probeWrite(lin: number, size: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & this.tlbBit) !== 0 && (lin & 0xfff) <= 0x1000 - size) return;
    const user = this.cpl === 3;
    this.translateSlow(lin, true, user);
    const last = (lin + size - 1) | 0;
    if ((last >>> 12) !== (lin >>> 12)) this.translateSlow(last, true, user);
  }

  // Implicit supervisor accesses (descriptor tables, TSS, IDT): privilege-free, supervisor-mode paging
  // rules at any CPL. A TLB entry that allows supervisor access serves them (without it every interrupt,
  // system call and segment load walked the page tables, two-dimensionally under EPT or nested paging).
  readSys16(lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffe && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      return this.u8[p] | (this.u8[p + 1] << 8);
    }
    return this.readSlow(lin, 2, false);
  }

  readSys32(lin: number): number {
    const e = this.tlbRead[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffc && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      const m = this.u8;
      return m[p] | (m[p + 1] << 8) | (m[p + 2] << 16) | (m[p + 3] << 24);
    }
    return this.readSlow(lin, 4, false);
  }

  // Implicit supervisor writes (an interrupt's frame on the inner stack, descriptor busy/accessed bits,
  // the TSS) likewise: a TLB entry allowing supervisor writes (RAM, dirty, no decoded code) serves them;
  // without it every interrupt or system call from user mode walked the page tables once per pushed word.
  writeSys16(lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffe && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      this.u8[p] = v;
      this.u8[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(lin, 2, v, false);
  }

  writeSys32(lin: number, v: number): void {
    const e = this.tlbWrite[lin >>> 12];
    if ((e & TLB_SUPERVISOR) !== 0 && (lin & 0xfff) <= 0xffc && !this.dataBreakpoints) {
      const p = (e & ~0xfff) | (lin & 0xfff);
      if ((p & 3) === 0) this.i32[p >> 2] = v;
      else {
        const m = this.u8;
        m[p] = v;
        m[p + 1] = v >> 8;
        m[p + 2] = v >> 16;
        m[p + 3] = v >> 24;
      }
      return;
    }
    this.writeSlow(lin, 4, v, false);
  }

  private readSlow(lin: number, size: number, user: boolean): number {
    lin |= 0;
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) this.fault(EXC_AC, 0, true);
    if (this.dataBreakpoints) this.matchDataBreakpoints(lin, size, false);
    if (((lin & 0xfff) + size) <= 0x1000) {
      const pa = this.translateSlow(lin, false, user);
      return size === 1 ? this.bus.read8(pa) : size === 2 ? this.bus.read16(pa) : this.bus.read32(pa) | 0;
    }
    // Crosses a page: translate both halves before touching either.
    const pa1 = this.translateSlow(lin, false, user);
    const pa2 = this.translateSlow((lin + size - 1) & ~0xfff, false, user);
    let v = 0;
    for (let i = 0; i < size; i++) {
      const l = (lin + i) | 0;
      const pa = (l >>> 12) === (lin >>> 12) ? pa1 + i : pa2 + (l & 0xfff);
      v |= this.bus.read8(pa >>> 0) << (8 * i);
    }
    return v;
  }

  private writeSlow(lin: number, size: number, v: number, user: boolean): void {
    lin |= 0;
    if (user && this.alignmentCheck && (lin & (size - 1)) !== 0) this.fault(EXC_AC, 0, true);
    if (this.dataBreakpoints) this.matchDataBreakpoints(lin, size, true);
    if (((lin & 0xfff) + size) <= 0x1000) {
      const pa = this.translateSlow(lin, true, user);
      if (size === 1) this.bus.write8(pa, v & 0xff);
      else if (size === 2) this.bus.write16(pa, v & 0xffff);
      else this.bus.write32(pa, v);
      return;
    }
    const pa1 = this.translateSlow(lin, true, user);
    const pa2 = this.translateSlow((lin + size - 1) & ~0xfff, true, user);
    for (let i = 0; i < size; i++) {
      const l = (lin + i) | 0;
      const pa = (l >>> 12) === (lin >>> 12) ? pa1 + i : pa2 + (l & 0xfff);
      this.bus.write8(pa >>> 0, (v >>> (8 * i)) & 0xff);
    }
  }

  // =====================================================================
  // Segmented memory
  // =====================================================================

  /** Raises the fault for a failed segment check: #SS(0) for the stack segment, #GP(0) otherwise. */
  segFault(seg: number): never {
    return this.fault(seg === SS ? EXC_SS : EXC_GP, 0, true);
  }

  read8(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o > this.segRHi[seg]) this.segFault(seg);
    return this.readLin8((this.segBase[seg] + o) | 0);
  }
  read16(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 1 > this.segRHi[seg]) this.segFault(seg);
    return this.readLin16((this.segBase[seg] + o) | 0);
  }
  read32(seg: number, off: number): number {
    const o = off >>> 0;
    if (o < this.segRLo[seg] || o + 3 > this.segRHi[seg]) this.segFault(seg);
    return this.readLin32((this.segBase[seg] + o) | 0);
  }
  write8(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o > this.segWHi[seg]) this.segFault(seg);
    this.writeLin8((this.segBase[seg] + o) | 0, v);
  }
  write16(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 1 > this.segWHi[seg]) this.segFault(seg);
    this.writeLin16((this.segBase[seg] + o) | 0, v);
  }
  write32(seg: number, off: number, v: number): void {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + 3 > this.segWHi[seg]) this.segFault(seg);
    this.writeLin32((this.segBase[seg] + o) | 0, v);
  }

  /**
   * For read-modify-write operands: checks the segment for writing and the
   * page for writing, and returns the linear address to use with readLin/writeLin.
   */
  rmwAddress(seg: number, off: number, size: number): number {
    const o = off >>> 0;
    if (o < this.segWLo[seg] || o + size - 1 > this.segWHi[seg]) this.segFault(seg);
    const lin = (this.segBase[seg] + o) | 0;
    this.probeWrite(lin, size);
    return lin;
  }

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
    this.lazyMask = 0;
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

const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);

/** SDM Table 6-5: which exception pairs become a double fault. */
export function causesDoubleFault(first: number, second: number): boolean {
  if (CONTRIBUTORY.has(first)) return CONTRIBUTORY.has(second);
  if (first === EXC_PF) return second === EXC_PF || CONTRIBUTORY.has(second);
  return false;
}

const EXC_NAMES = ['#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'CSO', '#TS', '#NP', '#SS', '#GP', '#PF', '15', '#MF', '#AC', '#MC', '#XM'];
export function excName(v: number): string {
  return EXC_NAMES[v] ?? `vector ${v}`;
}

/** DR6.BS: the #DB was a single-step trap. */
const DR6_BS = 1 << 14;
/** INT1 / ICEBP (F1): delivers a #DB of its own. */
const ICEBP_OPCODE = 0xf1;

/** Bytes a breakpoint covers by its LEN field: 1, 2, 8 (undefined on IA-32), 4. */
const BREAKPOINT_LENGTH = [1, 2, 8, 4];

/** Whether [addr, addr+size) touches the breakpoint at `bp` (aligned down to its length). */
function overlapsBreakpoint(addr: number, size: number, bp: number, lenField: number): boolean {
  const len = BREAKPOINT_LENGTH[lenField];
  const start = bp - (bp % len);
  return addr <= start + len - 1 && addr + size - 1 >= start;
}
