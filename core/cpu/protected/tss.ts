/**
 * Task-state segment layouts (SDM Vol. 3 §7.2, Figures 7-2 and 7-11) and the
 * inner-ring stack lookup used by call gates and interrupt gates when the
 * privilege level changes.
 */
import type { Cpu } from '../cpu.ts';
import { EXC_SS, EXC_TS, TR } from '../regs.ts';
import { Descriptor, dplOf, isPresent, isWritableData, readDescriptor } from './descriptors.ts';

/** 32-bit TSS field offsets. */
export const TSS32 = {
  LINK: 0x00, ESP0: 0x04, SS0: 0x08, CR3: 0x1c, EIP: 0x20, EFLAGS: 0x24, EAX: 0x28,
  ES: 0x48, LDT: 0x60, TRAP: 0x64, IOMAP: 0x66, MIN_LIMIT: 0x67,
} as const;
/** 16-bit TSS field offsets. */
export const TSS16 = {
  LINK: 0x00, SP0: 0x02, SS0: 0x04, IP: 0x0e, FLAGS: 0x10, AX: 0x12, ES: 0x22, LDT: 0x2a, MIN_LIMIT: 0x2b,
} as const;

/** True when the current TR describes a 32-bit TSS (type 9/11). */
export function currentTss32(cpu: Cpu): boolean {
  return (cpu.segAttr[TR] & 0x8) !== 0;
}

/** The inner stack found by `loadInnerStack`. */
export const innerStack = { ss: 0, esp: 0, desc: new Descriptor() };

/**
 * Reads SS:ESP for ring `dpl` from the current TSS and checks the stack
 * segment (SDM CALL / INT pseudo-code): the TSS must hold the fields (#TS),
 * the selector must be non-null (#TS(EXT)), inside its table (#TS), RPL = DPL =
 * the new CPL, a writable data segment (#TS), and present (#SS).
 * `ext` is 1 for events external to the program (error codes' EXT bit).
 */
export function loadInnerStack(cpu: Cpu, dpl: number, ext: number): void {
  const base = cpu.segBase[TR];
  const limit = cpu.segLimit[TR];
  const trErr = (cpu.segSel[TR] & 0xfffc) | ext;
  let ss: number, esp: number;
  if (currentTss32(cpu)) {
    const off = TSS32.ESP0 + dpl * 8;
    if (off + 5 > limit) cpu.fault(EXC_TS, trErr, true);
    esp = cpu.readSys32((base + off) | 0);
    ss = cpu.readSys16((base + off + 4) | 0);
  } else {
    const off = TSS16.SP0 + dpl * 4;
    if (off + 3 > limit) cpu.fault(EXC_TS, trErr, true);
    esp = cpu.readSys16((base + off) | 0);
    ss = cpu.readSys16((base + off + 2) | 0);
  }
  if ((ss & 0xfffc) === 0) cpu.fault(EXC_TS, ext, true);
  const err = (ss & 0xfffc) | ext;
  const d = innerStack.desc;
  readDescriptor(cpu, ss, d, EXC_TS, err);
  if ((ss & 3) !== dpl || dplOf(d.hi) !== dpl || !isWritableData(d.hi)) cpu.fault(EXC_TS, err, true);
  if (!isPresent(d.hi)) cpu.fault(EXC_SS, err, true);
  innerStack.ss = ss;
  innerStack.esp = esp;
}
