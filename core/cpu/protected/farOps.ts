/**
 * Opcodes of the far returns: RET far (CB), RET far imm16 (CA), IRET (CF).
 * The mechanisms live in far.ts (far JMP/CALL are decoded in ops/control.ts).
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IW, IMM_NONE, op } from '../opcodeTable.ts';
import { farReturn, interruptReturn } from './far.ts';
import { svmIret } from '../svm/guestOps.ts';

const retf: Exec = (cpu, i) => farReturn(cpu, i.o32, 0);
const retfImm: Exec = (cpu, i) => farReturn(cpu, i.o32, i.imm);
const iret: Exec = (cpu, i) => {
  if (cpu.svm.guest) svmIret(cpu); // SVM's IRET intercept
  interruptReturn(cpu, i.o32);
};
defineOp(0xcb, op('retf', false, IMM_NONE, () => retf, { endsBlock: true }));
defineOp(0xca, op('retf Iw', false, IMM_IW, () => retfImm, { endsBlock: true }));
defineOp(0xcf, op('iret', false, IMM_NONE, () => iret, { endsBlock: true }));
