/**
 * Far control transfers: JMP/CALL far (direct, indirect, through call gates
 * and task gates/TSS), RET far, across privilege levels with stack switching.
 * (Real/V86-mode paths here; the protected-mode engineer completes the rest.)
 */
import type { Cpu } from '../cpu.ts';
import { CS } from '../regs.ts';
import { loadSegmentReal } from '../segments.ts';

export function farJump(cpu: Cpu, sel: number, off: number, o32: boolean): void {
  if (cpu.protectedMode && !cpu.v86Mode) throw new Error('protected-mode far JMP not implemented yet');
  const target = o32 ? off | 0 : off & 0xffff;
  if (target >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  loadSegmentReal(cpu, CS, sel);
  cpu.eip = target;
}

export function farCall(cpu: Cpu, sel: number, off: number, o32: boolean): void {
  if (cpu.protectedMode && !cpu.v86Mode) throw new Error('protected-mode far CALL not implemented yet');
  const target = o32 ? off | 0 : off & 0xffff;
  if (o32) {
    cpu.push32(cpu.segSel[CS]);
    cpu.push32(cpu.eip);
  } else {
    cpu.push16(cpu.segSel[CS]);
    cpu.push16(cpu.eip);
  }
  loadSegmentReal(cpu, CS, sel);
  cpu.eip = target;
}
