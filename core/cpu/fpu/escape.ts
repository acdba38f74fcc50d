/**
 * Registers the x87 escape opcodes D8-DF with the opcode map. Each form's
 * handler comes from the tables the instruction modules fill (formsTable.ts);
 * forms nobody defined are #UD (after the #NM check, as on hardware, the
 * reserved x87 encodings being x87 instructions too).
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { memForms, regForms } from './formsTable.ts';
import { nonWaitingGate } from './gate.ts';
import './arithOps.ts';
import './compareOps.ts';
import './loadStoreOps.ts';
import './transcendentalOps.ts';
import './controlOps.ts';

const reserved: Exec = (cpu) => {
  nonWaitingGate(cpu);
  cpu.raiseUD();
};

for (let opcode = 0xd8; opcode <= 0xdf; opcode++) {
  const row = opcode - 0xd8;
  defineOp(opcode, op(`esc ${opcode.toString(16)}`, true, IMM_NONE, (i) => {
    if (i.mod === 3) return regForms[row * 64 + (i.reg << 3) + i.rm] ?? reserved;
    return memForms[row * 8 + i.reg] ?? reserved;
  }));
}
