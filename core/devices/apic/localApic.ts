/**
 * The local APIC of the board's one processor, in xAPIC mode: its registers
 * in the 4 KiB page at IA32_APIC_BASE (0xFEE00000), the MSR itself, the
 * timer (apicTimer.ts), the LVT, task and processor priority, IRR/ISR/TMR,
 * EOI (broadcast to the I/O APIC for level-triggered vectors), the error
 * status register, and the ICR for IPIs to itself (other processors come
 * with SMP).
 *
 * It is the processor's interrupt controller (hasInterrupt/acknowledge, the
 * INTA cycle): its own fixed interrupts first, by priority class against the
 * PPR, then the 8259's through LINT0 in ExtINT mode (virtual wire mode) or
 * an ExtINT message from the I/O APIC, as QEMU's PC answers the INTA. The
 * processor never sees more of it than that interface and its INTR output.
 *
 * At reset LINT0 is ExtINT and unmasked, as the BIOS leaves it on a PC (and
 * QEMU's model does for the boot processor), so a guest that never touches
 * the APIC (a kernel built without APIC support) keeps the 8259 path. A
 * guest that clears IA32_APIC_BASE.EN turns the APIC off: the 8259's INTR
 * then goes to the processor directly, as it does on a processor without
 * one.
 */
import type { GuestClock } from '../../cpu/clock.ts';
import type { AccessSize, MemoryBus } from '../../memory/bus.ts';
import type { TimedDevice } from '../device.ts';
import {
  APIC_BASE_BSP, APIC_BASE_ENABLE, DELIVERY, ESR, ICR_LOGICAL, ICR_SHORTHAND, LAPIC_BASE, LAPIC_MMIO_SIZE, LAPIC_REG, LAPIC_VERSION,
  LVT, LVT_COUNT, LVT_DELIVERY_STATUS, LVT_MASKED, LVT_TIMER_PERIODIC, MSR_APIC_BASE, SVR_ENABLE,
} from './apicRegisters.ts';
import { ApicTimer, type ApicTimerState } from './apicTimer.ts';
import { clearVector, emptyVectorBits, hasVector, highestVector, setVector, type VectorBits } from './vectorRegister.ts';

/** The 8259 pair as LINT0 sees it: its INTR output, and its INTA cycle. */
export interface LegacyPicOutput {
  hasInterrupt(): boolean;
  acknowledge(): number;
}

export interface LocalApicWiring {
  clock: GuestClock;
  pic: LegacyPicOutput;
  /** The INTR output to the processor (level). */
  onIntr(level: boolean): void;
  /** An NMI for the processor (LINT1 or an IPI in NMI delivery mode). */
  onNmi(): void;
  /** EOI of a level-triggered vector: broadcast to the I/O APIC so it clears remote IRR. */
  onLevelEoi(vector: number): void;
  /** The timer's next expiry moved: the board should call advance() again soon. */
  onReschedule(): void;
  /** The processor took fixed `vector` from the IRR (its INTA cycle), e.g. for the PIT's waiting ticks. */
  onTaken?(vector: number): void;
}

/** An interrupt message from the I/O APIC (or another APIC) on the APIC bus. */
export interface ApicMessage {
  vector: number;
  deliveryMode: number;
  logical: boolean;
  destination: number;
  level: boolean;
}

/** Which LVT entry bits a write may set (vector, delivery mode, polarity, trigger, mask, timer mode). */
const LVT_WRITABLE = [
  0x000700ff | LVT_MASKED | LVT_TIMER_PERIODIC | (LVT_TIMER_PERIODIC << 1), // timer: vector, mask, mode (delivery mode is fixed)
  0x000107ff, // thermal: vector, delivery mode, mask
  0x000107ff, // performance counters
  0x0001a7ff, // LINT0: vector, delivery mode, polarity, trigger, mask
  0x0001a7ff, // LINT1
  0x000100ff, // error: vector, mask
];

export interface LocalApicState {
  apicBase: number;
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  irr: VectorBits;
  isr: VectorBits;
  tmr: VectorBits;
  lvt: number[];
  /** ESR as last latched by a write, and errors since then. */
  esr: number;
  esrPending: number;
  icrLow: number;
  icrHigh: number;
  /** The I/O APIC sent an ExtINT message: the next INTA goes to the 8259. */
  extIntRequest: boolean;
  timer: ApicTimerState;
}

export class LocalApic implements TimedDevice {
  readonly name = 'lapic';
  s!: LocalApicState;
  private readonly timer = new ApicTimer();
  private readonly w: LocalApicWiring;
  private intr = false;

  constructor(bus: MemoryBus, wiring: LocalApicWiring) {
    this.w = wiring;
    this.powerOn();
    bus.addMmio(LAPIC_BASE, LAPIC_MMIO_SIZE, {
      read: (offset, size) => this.mmioRead(offset, size),
      write: (offset, size, value) => this.mmioWrite(offset, size, value),
    }, 'lapic');
  }

  reset(): void {
    this.powerOn();
    this.update();
  }

  private powerOn(): void {
    this.timer.s = { initial: 0, divideConfig: 0, startNs: 0, running: false, periodic: false };
    this.s = {
      apicBase: LAPIC_BASE | APIC_BASE_ENABLE | APIC_BASE_BSP,
      id: 0,
      tpr: 0,
      ldr: 0,
      dfr: 0xffff_ffff,
      svr: 0xff,
      irr: emptyVectorBits(),
      isr: emptyVectorBits(),
      tmr: emptyVectorBits(),
      lvt: new Array<number>(LVT_COUNT).fill(LVT_MASKED),
      esr: 0,
      esrPending: 0,
      icrLow: 0,
      icrHigh: 0,
      extIntRequest: false,
      timer: this.timer.s,
    };
    // Virtual wire mode, as the BIOS leaves the boot processor's LINT0.
    this.s.lvt[LVT.LINT0] = DELIVERY.EXTINT << 8;
  }

  /** IA32_APIC_BASE enabled: the APIC sits between the 8259 and the processor. */
  get enabled(): boolean {
    return (this.s.apicBase & APIC_BASE_ENABLE) !== 0;
  }

  /** SVR bit 8. */
  get softwareEnabled(): boolean {
    return (this.s.svr & SVR_ENABLE) !== 0;
  }

  /** `vector` waits in the IRR (accepted, not yet taken by the processor). */
  holdsVector(vector: number): boolean {
    return hasVector(this.s.irr, vector);
  }

  // ---- the processor's view: INTA and the APIC base MSR -------------------

  hasInterrupt(): boolean {
    if (!this.enabled) return this.w.pic.hasInterrupt();
    return this.deliverableVector() >= 0 || (this.extIntOpen() && this.w.pic.hasInterrupt());
  }

  /** The INTA cycle: the highest deliverable fixed vector, else the 8259's, else the spurious vector. */
  acknowledge(): number {
    if (!this.enabled) return this.w.pic.acknowledge();
    let vector = this.deliverableVector();
    if (vector >= 0) {
      clearVector(this.s.irr, vector);
      setVector(this.s.isr, vector);
      this.w.onTaken?.(vector);
    } else if (this.extIntOpen()) {
      // The INTA cycle goes to the 8259, which answers its IR7 vector itself if its request went away.
      this.s.extIntRequest = false;
      vector = this.w.pic.acknowledge();
    } else {
      vector = this.s.svr & 0xff; // the request went away (TPR raised, masked) before INTA
    }
    this.update();
    return vector;
  }

  /** RDMSR of the board's MSRs: [low, high], or null for one it does not have. */
  readMsr(msr: number): [number, number] | null {
    return msr === MSR_APIC_BASE ? [this.s.apicBase | 0, 0] : null;
  }

  /**
   * WRMSR: IA32_APIC_BASE's enable bit. The registers stay at 0xFEE00000 (a
   * guest that moves them gets #GP: relocation is not modelled, and no guest
   * tested does it); the BSP flag is read-only. Clearing EN puts the APIC in
   * its power-on state with the 8259 wired straight through; setting it again
   * starts from there (SDM 10.4.3).
   */
  writeMsr(msr: number, low: number, high: number): boolean {
    if (msr !== MSR_APIC_BASE) return false;
    if (high !== 0 || (low & 0xffff_f000) >>> 0 !== LAPIC_BASE || (low & 0x6ff) !== 0) return false;
    const enable = (low & APIC_BASE_ENABLE) !== 0;
    if (!enable && this.enabled) {
      this.powerOn();
      this.s.lvt[LVT.LINT0] = LVT_MASKED;
      this.s.apicBase = LAPIC_BASE | APIC_BASE_BSP;
    } else if (enable && !this.enabled) {
      this.s.apicBase = LAPIC_BASE | APIC_BASE_BSP | APIC_BASE_ENABLE;
    }
    this.update();
    return true;
  }

  /** The 8259's INTR output changed (what LINT0 sees). */
  picChanged(): void {
    this.update();
  }

  // ---- the APIC bus ---------------------------------------------------------

  /**
   * A message from the I/O APIC: accepted if this APIC is a destination.
   * Returns whether it was accepted.
   */
  receive(m: ApicMessage): boolean {
    if (!this.enabled || !this.isDestination(m.logical, m.destination)) return false;
    this.deliverLocally(m.deliveryMode, m.vector, m.level);
    return true;
  }

  // ---- time -----------------------------------------------------------------

  advance(nowNs: number): number {
    if (this.timer.expire(nowNs)) {
      const lvt = this.s.lvt[LVT.TIMER];
      if ((lvt & LVT_MASKED) === 0) this.accept(lvt & 0xff, false);
      this.update();
    }
    return this.timer.nextExpiry();
  }

  // ---- registers --------------------------------------------------------------

  private mmioRead(offset: number, size: AccessSize): number {
    const value = this.readRegister(offset & 0xff0);
    const shift = (offset & 3) * 8;
    return size === 4 ? value >>> 0 : (value >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  /** Registers are 32 bits wide; a narrower write is taken as a write of the whole register (QEMU does the same). */
  private mmioWrite(offset: number, _size: AccessSize, value: number): void {
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  readRegister(reg: number): number {
    const s = this.s;
    switch (reg) {
      case LAPIC_REG.ID: return s.id << 24;
      case LAPIC_REG.VERSION: return LAPIC_VERSION;
      case LAPIC_REG.TPR: return s.tpr;
      case LAPIC_REG.APR: return 0;
      case LAPIC_REG.PPR: return this.ppr();
      case LAPIC_REG.LDR: return s.ldr;
      case LAPIC_REG.DFR: return s.dfr;
      case LAPIC_REG.SVR: return s.svr;
      case LAPIC_REG.ESR: return s.esr;
      case LAPIC_REG.ICR_LOW: return s.icrLow & ~LVT_DELIVERY_STATUS; // sent at once: always idle
      case LAPIC_REG.ICR_HIGH: return s.icrHigh;
      case LAPIC_REG.TIMER_INITIAL: return s.timer.initial;
      case LAPIC_REG.TIMER_CURRENT: return this.timer.current(this.w.clock.nowNs());
      case LAPIC_REG.TIMER_DIVIDE: return s.timer.divideConfig;
      default:
        if (reg >= LAPIC_REG.ISR && reg < LAPIC_REG.ISR + 0x80) return s.isr[(reg - LAPIC_REG.ISR) >> 4];
        if (reg >= LAPIC_REG.TMR && reg < LAPIC_REG.TMR + 0x80) return s.tmr[(reg - LAPIC_REG.TMR) >> 4];
        if (reg >= LAPIC_REG.IRR && reg < LAPIC_REG.IRR + 0x80) return s.irr[(reg - LAPIC_REG.IRR) >> 4];
        if (reg >= LAPIC_REG.LVT_TIMER && reg <= LAPIC_REG.LVT_ERROR) return s.lvt[(reg - LAPIC_REG.LVT_TIMER) >> 4];
        return 0;
    }
  }

  writeRegister(reg: number, value: number): void {
    const s = this.s;
    const now = this.w.clock.nowNs();
    switch (reg) {
      case LAPIC_REG.ID: s.id = (value >>> 24) & 0xff; break;
      case LAPIC_REG.TPR: s.tpr = value & 0xff; break;
      case LAPIC_REG.EOI: this.eoi(); break;
      case LAPIC_REG.LDR: s.ldr = value & 0xff00_0000; break;
      case LAPIC_REG.DFR: s.dfr = (value | 0x0fff_ffff) >>> 0; break;
      case LAPIC_REG.SVR: this.writeSvr(value); break;
      case LAPIC_REG.ESR:
        // A write latches the errors since the last one (SDM 10.5.3).
        s.esr = s.esrPending;
        s.esrPending = 0;
        break;
      case LAPIC_REG.ICR_HIGH: s.icrHigh = value & 0xff00_0000; break;
      case LAPIC_REG.ICR_LOW:
        s.icrLow = value & 0x000c_cfff;
        this.sendIpi();
        break;
      case LAPIC_REG.TIMER_INITIAL:
        this.timer.load(value, now);
        this.w.onReschedule();
        break;
      case LAPIC_REG.TIMER_DIVIDE:
        this.timer.setDivide(value, now);
        this.w.onReschedule();
        break;
      default:
        if (reg >= LAPIC_REG.LVT_TIMER && reg <= LAPIC_REG.LVT_ERROR) {
          this.writeLvt((reg - LAPIC_REG.LVT_TIMER) >> 4, value);
          break;
        }
        // Read-only registers (version, PPR, ISR, TMR, IRR, current count) ignore writes.
        if (reg === LAPIC_REG.VERSION || reg === LAPIC_REG.PPR || reg === LAPIC_REG.TIMER_CURRENT || reg === LAPIC_REG.APR || reg === LAPIC_REG.RRD) break;
        if (reg >= LAPIC_REG.ISR && reg < LAPIC_REG.IRR + 0x80) break;
        this.error(ESR.ILLEGAL_REGISTER);
        break;
    }
    this.update();
  }

  private writeSvr(value: number): void {
    const wasEnabled = this.softwareEnabled;
    this.s.svr = value & 0x3ff;
    // Software disable masks every LVT entry (SDM 10.4.7.2).
    if (wasEnabled && !this.softwareEnabled) for (let i = 0; i < LVT_COUNT; i++) this.s.lvt[i] |= LVT_MASKED;
  }

  private writeLvt(index: number, value: number): void {
    let entry = value & LVT_WRITABLE[index];
    if (!this.softwareEnabled) entry |= LVT_MASKED; // cannot be unmasked while software-disabled
    // LINT0/LINT1 in edge mode never hold remote IRR; the fixed-mode level path of LINT0 is not wired (only ExtINT and NMI are).
    this.s.lvt[index] = entry;
    if (index === LVT.TIMER) {
      this.timer.setPeriodic((entry & (3 << 17)) === LVT_TIMER_PERIODIC);
      this.w.onReschedule();
    }
  }

  // ---- interrupt logic --------------------------------------------------------

  /** Processor priority: TPR, or the in-service class if higher (SDM 10.8.3.1). */
  ppr(): number {
    const isrv = highestVector(this.s.isr);
    const tpr = this.s.tpr;
    return (tpr >>> 4) >= (isrv >>> 4) || isrv < 0 ? tpr : isrv & 0xf0;
  }

  /** The highest IRR vector whose class beats the PPR, or -1. */
  private deliverableVector(): number {
    if (!this.softwareEnabled) return -1;
    const irrv = highestVector(this.s.irr);
    if (irrv < 0 || (irrv >>> 4) <= (this.ppr() >>> 4)) return -1;
    return irrv;
  }

  /** The 8259's INTR reaches the processor: LINT0 unmasked in ExtINT mode, or an ExtINT message from the I/O APIC. */
  private extIntOpen(): boolean {
    const lint0 = this.s.lvt[LVT.LINT0];
    return this.s.extIntRequest || ((lint0 & LVT_MASKED) === 0 && ((lint0 >>> 8) & 7) === DELIVERY.EXTINT);
  }

  /** A fixed interrupt into IRR (TMR says whether its EOI is broadcast). Vectors 0-15 are illegal. */
  private accept(vector: number, level: boolean): void {
    if (vector < 16) {
      this.error(ESR.RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setVector(this.s.irr, vector);
    if (level) setVector(this.s.tmr, vector);
    else clearVector(this.s.tmr, vector);
  }

  private deliverLocally(mode: number, vector: number, level: boolean): void {
    switch (mode) {
      case DELIVERY.FIXED:
      case DELIVERY.LOWEST:
        this.accept(vector & 0xff, level);
        break;
      case DELIVERY.NMI:
        this.w.onNmi();
        break;
      case DELIVERY.EXTINT:
        this.s.extIntRequest = true;
        break;
      default:
        // SMI, INIT, STARTUP: no SMM, and INIT/SIPI are for other processors (SMP later).
        break;
    }
    this.update();
  }

  private eoi(): void {
    const vector = highestVector(this.s.isr);
    if (vector < 0) return;
    clearVector(this.s.isr, vector);
    if (hasVector(this.s.tmr, vector)) {
      clearVector(this.s.tmr, vector);
      this.w.onLevelEoi(vector);
    }
  }

  /**
   * The ICR was written: an IPI. With one processor the destinations are this
   * APIC or nobody: shorthand self and all-including-self, or a destination
   * field that names it (physical ID, broadcast 0xFF, or a logical match).
   * Fixed and NMI are delivered to it; INIT and STARTUP to itself are not
   * valid (SDM table 10-3), and all-excluding-self reaches no one.
   */
  private sendIpi(): void {
    const icr = this.s.icrLow;
    const vector = icr & 0xff;
    const mode = (icr >>> 8) & 7;
    const shorthand = (icr >>> 18) & 3;
    if ((mode === DELIVERY.FIXED || mode === DELIVERY.LOWEST) && vector < 16) {
      this.error(ESR.SEND_ILLEGAL_VECTOR);
      return;
    }
    let self: boolean;
    switch (shorthand) {
      case ICR_SHORTHAND.SELF:
      case ICR_SHORTHAND.ALL_INCLUDING_SELF: self = true; break;
      case ICR_SHORTHAND.ALL_EXCLUDING_SELF: self = false; break;
      default: self = this.isDestination((icr & ICR_LOGICAL) !== 0, this.s.icrHigh >>> 24);
    }
    if (!self || mode === DELIVERY.INIT || mode === DELIVERY.STARTUP) return;
    this.deliverLocally(mode, vector, false);
  }

  /** Physical: the APIC ID or broadcast 0xFF; logical: the flat model's bit mask or the cluster model's cluster and mask. */
  private isDestination(logical: boolean, dest: number): boolean {
    if (!logical) return dest === 0xff || dest === this.s.id;
    const ldr = this.s.ldr >>> 24;
    if ((this.s.dfr >>> 28) === 0xf) return (dest & ldr) !== 0;
    return (dest >>> 4 === 0xf || dest >>> 4 === ldr >>> 4) && (dest & ldr & 0xf) !== 0;
  }

  private error(bits: number): void {
    this.s.esrPending |= bits;
    const lvt = this.s.lvt[LVT.ERROR];
    if ((lvt & LVT_MASKED) === 0 && (lvt & 0xff) >= 16) this.accept(lvt & 0xff, false);
  }

  /** Drives the INTR output. */
  private update(): void {
    const intr = this.hasInterrupt();
    if (intr !== this.intr) {
      this.intr = intr;
      this.w.onIntr(intr);
    }
  }

  saveState(): LocalApicState {
    const s = this.s;
    return { ...s, irr: [...s.irr], isr: [...s.isr], tmr: [...s.tmr], lvt: [...s.lvt], timer: { ...this.timer.s } };
  }

  loadState(state: unknown): void {
    const st = state as LocalApicState;
    this.s = { ...st, irr: [...st.irr], isr: [...st.isr], tmr: [...st.tmr], lvt: [...st.lvt], timer: { ...st.timer } };
    this.timer.s = this.s.timer;
    this.update();
  }
}

