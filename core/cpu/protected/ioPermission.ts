/**
 * I/O privilege: in protected mode with CPL > IOPL, and always in V86 mode,
 * every byte of the access must be permitted by the TSS I/O permission
 * bitmap (SDM Vol. 1 §19.5). Otherwise #GP(0).
 */
import type { Cpu } from '../cpu.ts';
import { IOPL_MASK, IOPL_SHIFT, SEG_P, TR } from '../regs.ts';

export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  if (!cpu.protectedMode) return;
  const iopl = (cpu.flags & IOPL_MASK) >>> IOPL_SHIFT;
  if (!cpu.v86Mode && cpu.cpl <= iopl) return;
  // Only a present 32-bit TSS (type 9/11) has a bitmap.
  const type = cpu.segAttr[TR] & 0xf;
  if ((cpu.segAttr[TR] & SEG_P) === 0 || (type !== 9 && type !== 11)) cpu.raiseGP(0);
  const limit = cpu.segLimit[TR];
  if (limit < 0x67) cpu.raiseGP(0);
  const base = cpu.segBase[TR];
  const mapBase = cpu.readSys16((base + 0x66) | 0);
  const byteOff = mapBase + (port >>> 3);
  // Two bytes are read because the access may span a byte boundary of the map.
  if (byteOff + 1 > limit) cpu.raiseGP(0);
  const bits = cpu.readSys16((base + byteOff) | 0);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.raiseGP(0);
}
