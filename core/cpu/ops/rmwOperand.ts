/**
 * Read-modify-write access to a ModRM r/m operand of 1, 2 or 4 bytes.
 * `rmwRead` checks the destination for writing (segment and page) before it
 * reads, so the handler can compute and then `rmwWrite` without a fault
 * between the two: the instruction stays precise. The memory operand's
 * linear address is kept in module scratch between the two calls (handlers
 * run one at a time), so nothing is allocated.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';

let rmwLin = 0;

/** Reads the r/m operand (masked to its size; 32-bit values as int32) after checking it is writable. */
export function rmwRead(cpu: Cpu, i: Insn, bytes: number): number {
  if (i.mod === 3) {
    if (bytes === 1) return cpu.get8(i.rm);
    return bytes === 2 ? cpu.regs[i.rm] & 0xffff : cpu.regs[i.rm];
  }
  rmwLin = cpu.rmwAddress(i.seg, cpu.ea(i), bytes);
  if (bytes === 1) return cpu.readLin8(rmwLin);
  return bytes === 2 ? cpu.readLin16(rmwLin) : cpu.readLin32(rmwLin);
}

/** Writes the r/m operand read by the last `rmwRead` of this instruction. */
export function rmwWrite(cpu: Cpu, i: Insn, bytes: number, v: number): void {
  if (i.mod === 3) {
    if (bytes === 1) cpu.set8(i.rm, v);
    else if (bytes === 2) cpu.set16(i.rm, v);
    else cpu.regs[i.rm] = v;
    return;
  }
  if (bytes === 1) cpu.writeLin8(rmwLin, v);
  else if (bytes === 2) cpu.writeLin16(rmwLin, v);
  else cpu.writeLin32(rmwLin, v);
}

/** Reads a general register of the given operand size (8-bit: ModRM byte-register numbering). */
export function readReg(cpu: Cpu, r: number, bytes: number): number {
  if (bytes === 1) return cpu.get8(r);
  return bytes === 2 ? cpu.regs[r] & 0xffff : cpu.regs[r];
}

export function writeReg(cpu: Cpu, r: number, bytes: number, v: number): void {
  if (bytes === 1) cpu.set8(r, v);
  else if (bytes === 2) cpu.set16(r, v);
  else cpu.regs[r] = v;
}
