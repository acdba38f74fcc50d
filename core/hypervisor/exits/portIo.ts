/**
 * Port I/O of a guest, emulated against the domain's device models: the
 * vendor-neutral half of the I/O exit (VT-x's exit qualification and SVM's
 * IOIO EXITINFO1 both decode to a PortIoRequest).
 *
 * IN/OUT move AL/AX/EAX. INS/OUTS move memory at ES:(E)DI / seg:(E)SI
 * through the guest's paging and the p2m, (E)SI/(E)DI stepping by the size
 * (backwards under EFLAGS.DF); with REP, (E)CX counts down. A long REP is
 * done in bounded portions: the instruction is re-executed for the rest
 * (its registers already say where it stopped), so one exit never holds the
 * hypervisor for long.
 */
import { EAX, ECX, EDI, ESI } from '../../cpu/regs.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';
import { guestLinearToPhysical, type GuestPagingState } from './guestPaging.ts';

export type PortSize = 1 | 2 | 4;

/** What the device side of a port access needs (MemoryBus satisfies it). */
export interface PortBus {
  portRead(port: number, size: PortSize): number;
  portWrite(port: number, size: PortSize, value: number): void;
}

export interface PortIoRequest {
  port: number;
  size: PortSize;
  /** IN / INS. */
  input: boolean;
  string: boolean;
  rep: boolean;
}

/** Where a string instruction's operands are: from the instruction's prefixes and the guest's segments. */
export interface StringIoOperands {
  /** Base of the source segment of OUTS (DS unless overridden). */
  sourceBase: number;
  /** ES base (INS always writes ES:(E)DI). */
  esBase: number;
  /** 32-bit addressing ((E)SI, (E)DI, (E)CX); else 16-bit. */
  addr32: boolean;
  /** EFLAGS.DF. */
  down: boolean;
  paging: GuestPagingState;
}

/** Elements of a REP string I/O done per exit before the instruction is re-executed for the rest. */
export const STRING_IO_PORTION = 4096;

const MASKS = { 1: 0xff, 2: 0xffff, 4: 0xffffffff } as const;

/** IN or OUT of AL/AX/EAX. */
export function emulatePortIo(bus: PortBus, regs: Int32Array, req: PortIoRequest): void {
  const mask = MASKS[req.size];
  if (req.input) {
    const value = bus.portRead(req.port, req.size) & mask;
    regs[EAX] = req.size === 4 ? value | 0 : (regs[EAX] & ~mask) | value;
  } else {
    bus.portWrite(req.port, req.size, (regs[EAX] & mask) >>> 0);
  }
}

/**
 * INS or OUTS, with or without REP. Returns true when the instruction is
 * complete (the caller moves past it), false when a REP portion ended with
 * elements left (the caller resumes at the same instruction).
 * Guest page faults and unbacked memory propagate as exceptions
 * (GuestPageFault, GuestMemoryFault) with the registers describing the
 * elements already done, as the processor leaves them.
 */
export function emulateStringPortIo(bus: PortBus, mem: DomainMemory, regs: Int32Array, req: PortIoRequest, ops: StringIoOperands): boolean {
  const size = req.size;
  const step = ops.down ? -size : size;
  const wrap = ops.addr32 ? 0xffffffff : 0xffff;
  const reg = (r: number) => (regs[r] >>> 0) & wrap;
  const setReg = (r: number, v: number) => {
    regs[r] = ops.addr32 ? v | 0 : (regs[r] & ~0xffff) | (v & 0xffff);
  };
  let count = req.rep ? reg(ECX) : 1;
  let done = 0;
  while (count > 0 && done < STRING_IO_PORTION) {
    if (req.input) {
      const linear = (ops.esBase + reg(EDI)) >>> 0;
      const value = bus.portRead(req.port, size);
      writeGuest(mem, ops.paging, linear, value, size);
      setReg(EDI, reg(EDI) + step);
    } else {
      const linear = (ops.sourceBase + reg(ESI)) >>> 0;
      const value = readGuest(mem, ops.paging, linear, size);
      bus.portWrite(req.port, size, value);
      setReg(ESI, reg(ESI) + step);
    }
    count--;
    done++;
    if (req.rep) setReg(ECX, count);
  }
  return count === 0;
}

function readGuest(mem: DomainMemory, paging: GuestPagingState, linear: number, size: PortSize): number {
  let value = 0;
  for (let i = 0; i < size; i++) value |= mem.readU8(guestLinearToPhysical(mem, paging, linear + i, false)) << (8 * i);
  return value >>> 0;
}

function writeGuest(mem: DomainMemory, paging: GuestPagingState, linear: number, value: number, size: PortSize): void {
  // Translate every byte first, so a fault on the second page leaves memory untouched.
  const addrs: number[] = [];
  for (let i = 0; i < size; i++) addrs.push(guestLinearToPhysical(mem, paging, linear + i, true));
  addrs.forEach((gpa, i) => mem.writeU8(gpa, value >>> (8 * i)));
}
