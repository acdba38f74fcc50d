/**
 * The MMIO half of a memory exit (vendor-neutral): a guest instruction
 * touched a guest-physical page with no RAM behind it (a device's registers,
 * e.g. a virtio function's BAR) or wrote to its ROM. The hardware says only
 * which address and whether it was a write; what moved where is in the
 * instruction itself, so the hypervisor decodes it (with the processor's own
 * decoder, core/cpu/decoder.ts) from the guest's code and performs its
 * memory access against the domain's device bus, as KVM's x86 emulator does.
 *
 * The forms are the ones drivers use on device registers: MOV between a
 * register or an immediate and memory (88, 89, 8A, 8B, C6, C7, A0-A3) and
 * MOVZX/MOVSX loads (0F B6/B7/BE/BF), which is what Linux's readb/readw/readl
 * and writeb/writew/writel compile to; and the string moves firmware uses on
 * device memory: MOVS, STOS and LODS (A4, A5, AA, AB, AC, AD), with or
 * without REP, e.g. a VGA BIOS scrolling its text screen with REP MOVSW from
 * the VGA's memory to itself and clearing the last row with REP STOSW. Those
 * walk ESI/EDI through the guest's segments and paging, so the vendor layer
 * supplies a StringAccessContext for them (domainPhysicalBus gives its
 * `physical` bus from the domain's memory and devices). Any other instruction on a device page
 * stops the VM with its bytes named (an emulation failure, as KVM reports
 * one), never a wrong result.
 */
import { REP_NONE, type Insn } from '../../cpu/insn.ts';
import { DS, ECX, EDI, ES, ESI } from '../../cpu/regs.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';

/** The device side of a memory access (MemoryBus satisfies it). */
export interface MmioBus {
  read8(pa: number): number;
  read16(pa: number): number;
  read32(pa: number): number;
  write8(pa: number, value: number): void;
  write16(pa: number, value: number): void;
  write32(pa: number, value: number): void;
}

/** The guest's general registers as the vendor layer keeps them (ESP lives in the VMCS / VMCB). */
export interface GuestGprs {
  get(index: number): number;
  set(index: number, value: number): void;
}

export type MmioOutcome = { ok: true } | { ok: false; reason: string };

/**
 * What a string instruction needs besides the registers: its operands are at
 * DS:ESI (or an override) and ES:EDI, linear addresses that may each be RAM,
 * ROM or a device, and the direction flag says which way they move.
 */
export interface StringAccessContext {
  /** The guest's EFLAGS (DF, bit 10). */
  eflags: number;
  /** The base of segment register `seg` (ES=0, CS=1, SS=2, DS=3, FS=4, GS=5). */
  segmentBase(seg: number): number;
  /** The guest-physical address of a linear address through the guest's paging; throws if the guest's tables do not map it. */
  linearToPhysical(linear: number, write: boolean): number;
  /** Every guest-physical address: RAM, ROM (writes dropped) and the domain's devices. */
  physical: MmioBus;
}

const EFLAGS_DF = 1 << 10;
const PAGE = 4096;

/**
 * A domain's whole guest-physical space as one bus, for StringAccessContext's
 * `physical`: RAM and ROM frames through the domain's p2m (writes to ROM are
 * dropped), every other address to `devices` (the domain's MMIO bus). An
 * access that straddles two pages of different kinds goes byte by byte.
 */
export function domainPhysicalBus(memory: DomainMemory, devices: MmioBus): MmioBus {
  const mapped = (pa: number) => memory.p2m.kind(Math.floor(pa / PAGE)) !== undefined;
  const read = (pa: number, size: Size): number => {
    const first = mapped(pa);
    if (first !== mapped(pa + size - 1)) {
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = value * 256 + read(pa + i, 1);
      return value;
    }
    if (!first) return size === 1 ? devices.read8(pa) : size === 2 ? devices.read16(pa) : devices.read32(pa);
    return size === 1 ? memory.readU8(pa) : size === 2 ? memory.readU16(pa) : memory.readU32(pa);
  };
  const write = (pa: number, size: Size, value: number): void => {
    const first = mapped(pa);
    if (first && mapped(pa + size - 1)) {
      for (let i = 0; i < size; i++) memory.writeU8(pa + i, (value >>> (8 * i)) & 0xff);
    } else if (!first && !mapped(pa + size - 1)) {
      if (size === 1) devices.write8(pa, value);
      else if (size === 2) devices.write16(pa, value);
      else devices.write32(pa, value);
    } else {
      for (let i = 0; i < size; i++) write(pa + i, 1, (value >>> (8 * i)) & 0xff);
    }
  };
  return {
    read8: (pa) => read(pa, 1), read16: (pa) => read(pa, 2), read32: (pa) => read(pa, 4),
    write8: (pa, v) => write(pa, 1, v), write16: (pa, v) => write(pa, 2, v), write32: (pa, v) => write(pa, 4, v),
  };
}

type Size = 1 | 2 | 4;

/**
 * Performs the memory access of `insn` at guest-physical `gpa` on `bus`
 * (`null`: the page is ROM, a write is dropped as the bare board's bus drops
 * it). The caller advances the guest's instruction pointer by `insn.len`.
 */
export function emulateMmioAccess(insn: Insn, gpa: number, gprs: GuestGprs, bus: MmioBus | null, strings?: StringAccessContext): MmioOutcome {
  // (A0-A3's offset operand decodes as mod 0.)
  if (insn.mod === 3) return { ok: false, reason: 'the instruction has no memory operand' };
  const vsize: Size = insn.o32 ? 4 : 2;
  switch (insn.opcode) {
    case 0x88: return store(bus, gpa, 1, readReg8(gprs, insn.reg));
    case 0x89: return store(bus, gpa, vsize, gprs.get(insn.reg));
    case 0xa2: return store(bus, gpa, 1, gprs.get(0));
    case 0xa3: return store(bus, gpa, vsize, gprs.get(0));
    case 0xc6: return insn.reg === 0 ? store(bus, gpa, 1, insn.imm) : unsupported(insn);
    case 0xc7: return insn.reg === 0 ? store(bus, gpa, vsize, insn.imm) : unsupported(insn);
    case 0x8a: return loadReg8(gprs, insn.reg, load(bus, gpa, 1));
    case 0x8b: return loadReg(gprs, insn.reg, vsize, load(bus, gpa, vsize));
    case 0xa0: return loadReg8(gprs, 0, load(bus, gpa, 1));
    case 0xa1: return loadReg(gprs, 0, vsize, load(bus, gpa, vsize));
    case 0x1b6: return loadReg(gprs, insn.reg, vsize, load(bus, gpa, 1));
    case 0x1b7: return loadReg(gprs, insn.reg, vsize, load(bus, gpa, 2));
    case 0x1be: return loadReg(gprs, insn.reg, vsize, (load(bus, gpa, 1) << 24) >> 24);
    case 0x1bf: return loadReg(gprs, insn.reg, vsize, (load(bus, gpa, 2) << 16) >> 16);
    case 0xa4: case 0xaa: case 0xac:
    case 0xa5: case 0xab: case 0xad:
      if (!strings) return { ok: false, reason: `string instruction ${insn.opcode.toString(16).toUpperCase()} on device memory needs the guest's segments and paging (no StringAccessContext)` };
      return emulateString(insn, gprs, strings);
    default: return unsupported(insn);
  }
}

/**
 * MOVS, STOS, LODS, each element through `physical` (so an operand in RAM and
 * one on a device mix freely, and an element that crosses into a device page
 * lands there), REP-counted in CX/ECX by the address size. The whole count
 * runs in this one exit (the caller then moves past the instruction). A
 * guest page fault stops the emulation with the iterations done so far
 * reflected in the registers, as the processor leaves them.
 */
function emulateString(insn: Insn, gprs: GuestGprs, ctx: StringAccessContext): MmioOutcome {
  const op = insn.opcode;
  const size: Size = op === 0xa4 || op === 0xaa || op === 0xac ? 1 : insn.o32 ? 4 : 2;
  const step = ctx.eflags & EFLAGS_DF ? -size : size;
  const mask = insn.a32 ? 0xffffffff : 0xffff;
  /** An index register's offset by the address size, and its update (a 16-bit address keeps the upper half). */
  const offset = (reg: number) => (gprs.get(reg) & mask) >>> 0;
  const advance = (reg: number) => {
    const value = gprs.get(reg);
    gprs.set(reg, insn.a32 ? (value + step) | 0 : (value & ~0xffff) | ((value + step) & 0xffff));
  };
  const repeated = insn.rep !== REP_NONE; // F2 and F3 both repeat MOVS, STOS and LODS
  const sourceBase = ctx.segmentBase(insn.segOverride ? insn.seg : DS);
  const destBase = ctx.segmentBase(ES);
  try {
    for (;;) {
      if (repeated && offset(ECX) === 0) return { ok: true };
      if (op === 0xa4 || op === 0xa5) {
        const from = ctx.linearToPhysical((sourceBase + offset(ESI)) >>> 0, false);
        const to = ctx.linearToPhysical((destBase + offset(EDI)) >>> 0, true);
        store(ctx.physical, to, size, load(ctx.physical, from, size));
        advance(ESI);
        advance(EDI);
      } else if (op === 0xaa || op === 0xab) {
        store(ctx.physical, ctx.linearToPhysical((destBase + offset(EDI)) >>> 0, true), size, gprs.get(0));
        advance(EDI);
      } else {
        const value = load(ctx.physical, ctx.linearToPhysical((sourceBase + offset(ESI)) >>> 0, false), size);
        if (size === 1) loadReg8(gprs, 0, value);
        else loadReg(gprs, 0, size, value);
        advance(ESI);
      }
      if (!repeated) return { ok: true };
      const count = gprs.get(ECX);
      gprs.set(ECX, insn.a32 ? (count - 1) | 0 : (count & ~0xffff) | ((count - 1) & 0xffff));
    }
  } catch (e) {
    return { ok: false, reason: `string instruction ${op.toString(16).toUpperCase()}: ${(e as Error).message}` };
  }
}

function unsupported(insn: Insn): MmioOutcome {
  const op = insn.opcode >= 0x100 ? `0F ${(insn.opcode & 0xff).toString(16).padStart(2, '0')}` : insn.opcode.toString(16).padStart(2, '0');
  const group = insn.opcode === 0xc6 || insn.opcode === 0xc7 ? ` /${insn.reg}` : '';
  return { ok: false, reason: `opcode ${op.toUpperCase()}${group} is not emulated on device memory` };
}

function store(bus: MmioBus | null, gpa: number, size: Size, value: number): MmioOutcome {
  if (bus === null) return { ok: true };
  if (size === 1) bus.write8(gpa, value & 0xff);
  else if (size === 2) bus.write16(gpa, value & 0xffff);
  else bus.write32(gpa, value >>> 0);
  return { ok: true };
}

/** A read of ROM never exits (EPT maps it readable), so a null bus on a load is not reached; all-ones stand in. */
function load(bus: MmioBus | null, gpa: number, size: Size): number {
  if (bus === null) return size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  if (size === 1) return bus.read8(gpa) & 0xff;
  if (size === 2) return bus.read16(gpa) & 0xffff;
  return bus.read32(gpa) >>> 0;
}

/** AL, CL, DL, BL are the low bytes of EAX..EBX; AH, CH, DH, BH (4-7) their second bytes. */
function readReg8(gprs: GuestGprs, reg: number): number {
  return reg < 4 ? gprs.get(reg) & 0xff : (gprs.get(reg - 4) >>> 8) & 0xff;
}

function loadReg8(gprs: GuestGprs, reg: number, value: number): MmioOutcome {
  if (reg < 4) gprs.set(reg, (gprs.get(reg) & ~0xff) | value);
  else gprs.set(reg - 4, (gprs.get(reg - 4) & ~0xff00) | (value << 8));
  return { ok: true };
}

/** A 16-bit load keeps the register's upper half; a 32-bit one replaces it. */
function loadReg(gprs: GuestGprs, reg: number, size: Size, value: number): MmioOutcome {
  gprs.set(reg, size === 4 ? value | 0 : (gprs.get(reg) & ~0xffff) | (value & 0xffff));
  return { ok: true };
}
