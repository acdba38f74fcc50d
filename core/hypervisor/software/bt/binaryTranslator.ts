/**
 * The binary translator of the software monitor: guest-kernel code (virtual
 * CPL 0) never runs as the guest wrote it; it runs from the translation
 * cache (TC), on the same processor at CPL 1. What the monitor does with it:
 *
 * - `enter(cpu)` whenever it resumes the guest at virtual CPL 0 at a guest
 *   EIP (after reflecting an exception into the guest's handler, after
 *   emulating a trapped instruction, at the first kernel instruction):
 *   EIP becomes the translation's TC address.
 * - `handleInterrupt(...)` first thing in its seam's `interrupt`: callouts
 *   (`INT calloutVector` in the TC) and poisoned TC code (INT3, see
 *   invalidation) are the translator's; it returns false for everything else.
 * - `guestEipAt(lin)` for any event taken while EIP is in the TC (a fault
 *   of a translated instruction, an interrupt between two): the guest EIP
 *   it stands for, which is what the guest's frame must show.
 * - `invalidateGuestFrame(frame)` when the guest writes a frame that holds
 *   translated code (the translator also watches such frames itself through
 *   the memory bus's code-page watch, which catches every write: the
 *   processor's, a device's DMA).
 */
import { CPU_FAULT, type Cpu } from '../../../cpu/cpu.ts';
import { INT_EXCEPTION, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../../../cpu/interrupts.ts';
import { CS, EXC_BP } from '../../../cpu/regs.ts';
import type { Insn } from '../../../cpu/insn.ts';
import { setSegmentCache } from '../../../cpu/segments.ts';
import type { VirtualCpu } from '../virtualCpu.ts';
import { INLINE_KINDS, MONITOR_KINDS, type CalloutKind } from './calloutKinds.ts';
import { emulateInline } from './callouts.ts';
import { newTranslatorCounters, type TranslatorCounters } from './counters.ts';
import { BLOCK_TC_MAX, translateBlock, type GuestCode } from './translateBlock.ts';
import { guestEipAt, type CalloutSite, type TranslatedBlock } from './translatedBlock.ts';
import { TC_SECTIONS, TranslationCache, tcPhysical, type TcRegion } from './translationCache.ts';

/** What the translator needs from the monitor besides the vCPU record. */
export interface TranslatorHooks {
  /**
   * A far JMP/CALL/RET, IRET, INT n, INT3, INTO or INT1 of the guest kernel,
   * at guest EIP `guestEip`: the monitor performs it against the virtual
   * state (shadow descriptors, the guest's IDT, ring compression). On entry
   * EIP holds the guest EIP of the next instruction (what an INT pushes);
   * on return the processor is at the destination: a guest EIP, or already
   * a TC address when the monitor entered the kernel through `enter`. A
   * fault it raises is the instruction's.
   */
  controlTransfer(cpu: Cpu, insn: Insn, kind: CalloutKind, guestEip: number): void;
  /** Sets virtual IF (CLI, STI, POPF): the monitor delivers a held interrupt when it becomes 1 (EIP is in the TC then). */
  setInterruptFlag(cpu: Cpu, on: boolean): void;
  /** The guest's next instruction (EIP: a guest EIP) is code the processor cannot run for it: the monitor's emulator takes the guest before it. */
  toEmulator?(cpu: Cpu): void;
}

export interface TranslatorOptions {
  /** The vector of the callouts' INT (reserved by Intel, so no guest kernel's own INT n is confused with it; callouts are recognized by TC address anyway). */
  calloutVector?: number;
  /** Patch exit stubs into direct jumps once their target is translated (default on). */
  chaining?: boolean;
  /** The last linear address guest code may occupy (the monitor's area above it: a target there is the guest's #GP, as segment truncation makes it). */
  guestLinearTop?: number;
  /** How guest code is read (default: the processor's linear reads; the monitor's go through its shadow fills). */
  code?: GuestCode;
  /**
   * A fault (thrown by `code`) while finding the translation of a target the
   * guest has already jumped to (its RET or indirect jump is done, EIP is the
   * guest target): true when the hook delivered it to the guest (the monitor
   * reflects its guest page fault). Without it, a processor fault is
   * delivered through the seam at the guest target.
   */
  deliverFetchFault?(cpu: Cpu, error: unknown): boolean;
}

export const DEFAULT_CALLOUT_VECTOR = 0x1f;
const POISON = 0xcc; // INT3: what an invalidated block's TC bytes become

export class BinaryTranslator {
  readonly cpu: Cpu;
  readonly vcpu: VirtualCpu;
  readonly hooks: TranslatorHooks;
  readonly cache: TranslationCache;
  readonly counters: TranslatorCounters = newTranslatorCounters();
  readonly calloutVector: number;
  chaining: boolean;
  private nextId = 1;
  private readonly code: GuestCode;
  private readonly deliverFetchFault: ((cpu: Cpu, error: unknown) => boolean) | null;
  private readonly guestLinearTop: number;

  constructor(cpu: Cpu, vcpu: VirtualCpu, region: TcRegion, hooks: TranslatorHooks, options: TranslatorOptions = {}) {
    this.cpu = cpu;
    this.vcpu = vcpu;
    this.hooks = hooks;
    // A section must hold the largest block, or a full one could never make room.
    if (region.size / TC_SECTIONS < BLOCK_TC_MAX) throw new Error(`a translation cache of ${region.size} bytes is too small: each of its ${TC_SECTIONS} sections must hold ${BLOCK_TC_MAX} bytes`);
    this.cache = new TranslationCache(region);
    this.calloutVector = options.calloutVector ?? DEFAULT_CALLOUT_VECTOR;
    this.chaining = options.chaining ?? true;
    this.deliverFetchFault = options.deliverFetchFault ?? null;
    this.guestLinearTop = options.guestLinearTop ?? 0xffff_ffff;
    this.code = options.code ?? {
      read8: (lin) => this.asFetch(() => cpu.readLin8(lin)),
      physical: (lin) => this.asFetch(() => cpu.translateSlow(lin, false, false)),
    };
    // Every write to a watched frame reaches the processor's hook first (it drops its own decoded blocks), then ours.
    const processorHook = cpu.bus.onCodeWrite;
    cpu.bus.onCodeWrite = (pfn) => {
      processorHook(pfn);
      if (this.cache.hasFrame(pfn)) {
        this.counters.codeWrites++;
        this.invalidateGuestFrame(pfn);
      }
    };
  }

  /** Is `lin` inside the TC? */
  isTcAddress(lin: number): boolean {
    return ((lin - this.cache.region.linear) >>> 0) < this.cache.region.size;
  }

  /** The guest EIP for TC linear address `lin` (an instruction start of a translation since the last flush), else null. */
  guestEipAt(lin: number): number | null {
    const b = this.cache.blockAt(lin);
    return b === null ? null : guestEipAt(b, lin);
  }

  /** The guest EIP the processor stands for now: EIP itself outside the TC. */
  currentGuestEip(): number {
    const cpu = this.cpu;
    const lin = (cpu.segBase[CS] + cpu.eip) | 0;
    if (!this.isTcAddress(lin)) return cpu.eip;
    const g = this.guestEipAt(lin);
    if (g === null) throw new Error(`EIP ${(cpu.eip >>> 0).toString(16)} is inside the translation cache but not at a translated instruction`);
    return g;
  }

  /** Resumes guest-kernel execution: EIP (a guest EIP) becomes its translation's TC address. May raise the fetch's page fault at that guest EIP. */
  enter(cpu: Cpu = this.cpu): void {
    this.dispatch(cpu, cpu.eip, null);
  }

  /**
   * The monitor's seam calls this first for every interrupt/exception. True:
   * it was a callout (or poisoned TC code) and has been handled; EIP is where
   * the guest goes on (in the TC at virtual CPL 0).
   */
  handleInterrupt(cpu: Cpu, vector: number, kind: number): boolean {
    if (kind === INT_SOFTWARE && vector === this.calloutVector) {
      const site = this.cache.siteAt((cpu.segBase[CS] + cpu.eip - 2) | 0);
      if (site === null || !site.block.valid) return false;
      this.callout(cpu, site);
      return true;
    }
    if (kind === INT_SOFTWARE_EXCEPTION && vector === EXC_BP) {
      // An INT3 byte in the TC is poison left by invalidation (guest INT3s are callouts): go on from the guest EIP it stood for.
      const lin = (cpu.segBase[CS] + cpu.eip - 1) | 0;
      if (!this.isTcAddress(lin)) return false;
      const b = this.cache.blockAt(lin);
      const g = b === null ? null : guestEipAt(b, lin);
      if (g === null || b!.valid) throw new Error(`INT3 at TC address ${(lin >>> 0).toString(16)} that no invalidated translation explains`);
      this.count('redispatch');
      cpu.eip = g;
      this.enterAfterTransfer(cpu, null);
      return true;
    }
    return false;
  }

  private callout(cpu: Cpu, site: CalloutSite): void {
    const kind = site.kind;
    this.count(kind);
    if (kind === 'exit') {
      cpu.eip = site.target;
      this.enterAfterTransfer(cpu, site);
      return;
    }
    const insn = site.insn!;
    if (INLINE_KINDS.has(kind)) {
      // EIP stays after the INT: the block goes on with the next translated instruction.
      emulateInline(cpu, this.vcpu, kind, insn, (on) => this.hooks.setInterruptFlag(cpu, on));
      return;
    }
    cpu.eip = site.nextGuestEip;
    if (MONITOR_KINDS.has(kind)) this.hooks.controlTransfer(cpu, insn, kind, site.guestEip);
    // RET, indirect JMP/CALL, 16-bit near CALL: the processor's own handler on the guest's state, then the target's translation.
    else insn.fn(cpu, insn);
    this.enterAfterTransfer(cpu, null);
  }

  /**
   * The guest's transfer is done (EIP: the guest target; for an exit stub or
   * poison, the guest EIP it stands for); from here a fault finding the
   * target's translation is a fault AT the target, not of the instruction
   * (which must not run again), so it is delivered here; after it the guest
   * may be back at virtual CPL 0 outside the TC (a shadow fill the monitor
   * hid), and its translation is entered then.
   */
  private enterAfterTransfer(cpu: Cpu, from: CalloutSite | null): void {
    for (let tries = 0; tries < 4; tries++) {
      // Ring compression: the processor at CPL 1 is the guest kernel (virtual CPL 0); anything else runs untranslated
      // (16-bit kernel code until its first event, when the monitor hands it to its emulator: realModeEmulator.ts).
      if (cpu.cpl !== 1 || !cpu.cs32 || this.isTcAddress((cpu.segBase[CS] + cpu.eip) | 0)) return;
      // Guest code above the guest's linear top (the monitor's part of the space): the monitor's emulator runs it.
      if (((cpu.segBase[CS] + cpu.eip) >>> 0) > this.guestLinearTop && this.hooks.toEmulator !== undefined) {
        this.hooks.toEmulator(cpu);
        return;
      }
      try {
        this.dispatch(cpu, cpu.eip, tries === 0 ? from : null);
        return;
      } catch (e) {
        if (this.deliverFetchFault !== null && this.deliverFetchFault(cpu, e)) continue;
        if (e !== CPU_FAULT) throw e;
        cpu.deliver(CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
      }
    }
    throw new Error(`no translation could be entered at guest EIP ${(cpu.eip >>> 0).toString(16)}`);
  }

  /** Points EIP at the translation of guest EIP `guestEip` (translating it first if needed), chaining `from` to it. */
  private dispatch(cpu: Cpu, guestEip: number, from: CalloutSite | null): void {
    cpu.eip = guestEip; // a fault fetching the target is reported there
    const csBase = cpu.segBase[CS];
    if (((csBase + guestEip) >>> 0) > this.guestLinearTop) cpu.raiseGP(0);
    const key = this.code.physical((csBase + guestEip) | 0);
    let block = this.cache.lookup(key, guestEip, csBase);
    if (block !== null && !this.stillWatched(block)) block = null;
    if (block === null) block = this.translate(cpu, csBase, guestEip);
    if (from !== null && this.chaining && from.patchAt !== -1 && from.block.valid) {
      this.patchRel32(from.patchAt, block.tcStart);
      // Chains from blocks gone since (invalidated, evicted) are dead weight: dropped as the list grows.
      if (block.incoming.length >= 32) block.incoming = block.incoming.filter((s) => s.block.valid);
      block.incoming.push(from);
      this.counters.chainsMade++;
    }
    this.counters.blocksEntered++;
    cpu.eip = (block.tcStart - csBase) | 0;
    if ((cpu.eip >>> 0) + block.tcLength - 1 > cpu.segLimit[CS]) this.openCodeSegment(cpu);
  }

  /**
   * The TC lies above what the guest's (shadow) code segment reaches when the
   * monitor truncates segments to keep the guest out of its area: the
   * processor's cached CS limit is opened to 4 GiB while translated code runs.
   * Only the hidden part changes (the selector, base and rights stay the
   * guest's; LSL is emulated against the guest's own GDT), and it lasts until
   * CS is next loaded (a far transfer or an event, both the monitor's).
   * Guest targets above the guest's top are refused in `dispatch`.
   */
  private openCodeSegment(cpu: Cpu): void {
    setSegmentCache(cpu, CS, cpu.segSel[CS], cpu.segBase[CS], 0xffff_ffff, cpu.segAttr[CS]);
  }

  /** The frames under a block still carry the bus's watch (the processor clears it when it flushes its own code cache). */
  private stillWatched(block: TranslatedBlock): boolean {
    for (const f of block.frames) {
      if (this.cpu.bus.codePages[f] === 0) {
        this.invalidateGuestFrame(f);
        return false;
      }
    }
    return true;
  }

  private translate(cpu: Cpu, csBase: number, guestEip: number): TranslatedBlock {
    if (!cpu.cs32) throw new Error('the translator handles 32-bit guest-kernel code only (16-bit code is the monitor\'s)');
    let tcStart = this.cache.reserve(BLOCK_TC_MAX);
    if (tcStart === null) {
      this.nextSection();
      tcStart = this.cache.reserve(BLOCK_TC_MAX)!;
    }
    const { block, bytes } = translateBlock(this.code, csBase, guestEip, tcStart, this.calloutVector, this.nextId++);
    this.writeTc(tcStart, bytes);
    this.cache.add(block);
    this.counters.blocksBuilt++;
    this.counters.guestInstructionsTranslated += block.guest.length;
    for (const f of block.frames) this.watch(f);
    return block;
  }

  /** Guest writes to `frame` must reach us: the bus reports writes to code pages (the processor's TLB must stop writing it directly). */
  private watch(frame: number): void {
    const bus = this.cpu.bus;
    if (bus.codePages[frame] !== 0) return;
    bus.codePages[frame] = 1;
    this.cpu.flushTlb(true);
  }

  /** Drops every translation made from guest frame `frame` (physical frame number, as the memory bus numbers them). */
  invalidateGuestFrame(frame: number): void {
    const dropped = this.cache.dropFrame(frame);
    for (const b of dropped) {
      this.counters.blocksInvalidated++;
      // Jumps chained into it go back to their exit stubs.
      for (const s of b.incoming) if (s.block.valid) this.patchRel32(s.patchAt, s.at);
      b.incoming.length = 0;
      // Its bytes become INT3: if the processor is inside it (self-modifying code: the write came from the block
      // itself), it stops after the writing instruction and the INT3 sends it to the new translation.
      this.writeTc(b.tcStart, new Uint8Array(b.tcLength).fill(POISON));
    }
  }

  /**
   * The current TC section is full: the next one (the oldest translations,
   * once the cache has gone round) is emptied for new blocks. Jumps chained
   * into its blocks from other sections go back to their exit stubs, and its
   * bytes become INT3 (nothing may run there until new blocks are written).
   * Nothing else holds a TC address: the guest's stack and frames only ever
   * hold guest EIPs, and this runs while the processor's EIP is a guest EIP
   * (a dispatch: a jump from an evicted block is not chained, it is invalid).
   */
  private nextSection(): void {
    const evicted = this.cache.nextSection();
    if (evicted.length === 0) return;
    this.counters.sectionsReused++;
    for (const b of evicted) {
      this.counters.blocksEvicted++;
      for (const s of b.incoming) if (s.block.valid) this.patchRel32(s.patchAt, s.at);
      b.incoming.length = 0;
      this.writeTc(b.tcStart, new Uint8Array(b.tcLength).fill(POISON));
    }
  }

  /** Empties the TC (when the monitor asks: e.g. the guest kernel's code mappings changed, or its emulator ran). */
  flush(): void {
    this.cache.flush();
    this.counters.cacheFlushes++;
  }

  private count(kind: CalloutKind): void {
    const c = this.counters.callouts;
    c[kind] = (c[kind] ?? 0) + 1;
  }

  private patchRel32(fieldLin: number, targetLin: number): void {
    const rel = (targetLin - (fieldLin + 4)) | 0;
    this.writeTc(fieldLin, Uint8Array.of(rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff));
  }

  /** Writes TC bytes straight into machine memory, and makes the processor forget what it decoded from them. */
  private writeTc(lin: number, bytes: Uint8Array): void {
    const region = this.cache.region;
    const bus = this.cpu.bus;
    const start = (lin - region.linear) >>> 0;
    let lastFrame = -1;
    const touched: number[] = [];
    for (let k = 0; k < bytes.length; k++) {
      const pa = tcPhysical(region, start + k);
      this.cpu.u8[(bus.pageMap[pa >>> 12] & ~0xfff) + (pa & 0xfff)] = bytes[k];
      if (pa >>> 12 !== lastFrame) touched.push(lastFrame = pa >>> 12);
    }
    for (const f of touched) if (bus.codePages[f] !== 0) this.cpu.invalidateCodePage(f);
  }

  private asFetch<T>(f: () => T): T {
    const cpu = this.cpu;
    const outer = cpu.fetching;
    cpu.fetching = true;
    try {
      return f();
    } finally {
      cpu.fetching = outer;
    }
  }
}
