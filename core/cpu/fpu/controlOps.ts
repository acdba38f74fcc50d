/**
 * Control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW (m16 and AX),
 * FNSTENV/FLDENV, FNSAVE/FRSTOR, FNOP, the 8087/287 leftovers FENI/FDISI/
 * FSETPM (no-ops on a P6), and WAIT/FWAIT (9B).
 *
 * The "N" forms do not check for pending exceptions; FLDCW, FLDENV, FRSTOR,
 * FNOP and WAIT do. Control instructions leave FIP/FDP/FOP unchanged.
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { defineMem, defineReg } from './formsTable.ts';
import { nonWaitingGate, noteInstruction, waitGate, waitingGate } from './gate.ts';
import { loadEnvironment, restoreState, saveState, storeEnvironment } from './environment.ts';

defineReg(0xdb, 0xe3, (cpu) => { nonWaitingGate(cpu); cpu.fpu.init(); });
defineReg(0xdb, 0xe2, (cpu) => { nonWaitingGate(cpu); cpu.fpu.clearExceptions(); });
const legacyNop: Exec = (cpu) => nonWaitingGate(cpu);
defineReg(0xdb, 0xe0, legacyNop); // FENI
defineReg(0xdb, 0xe1, legacyNop); // FDISI
defineReg(0xdb, 0xe4, legacyNop); // FSETPM

defineReg(0xd9, 0xd0, (cpu, i) => { // FNOP
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
});

defineMem(0xd9, 5, (cpu, i) => { // FLDCW
  if (!waitingGate(cpu, i)) return;
  const cw = cpu.read16(i.seg, cpu.ea(i));
  cpu.fpu.control = (cw & ~0xe0c0) | 0x0040;
  cpu.fpu.updateSummary();
});
defineMem(0xd9, 7, (cpu, i) => { // FNSTCW
  nonWaitingGate(cpu);
  cpu.write16(i.seg, cpu.ea(i), cpu.fpu.control);
});
defineMem(0xdd, 7, (cpu, i) => { // FNSTSW m16
  nonWaitingGate(cpu);
  cpu.write16(i.seg, cpu.ea(i), cpu.fpu.statusWord());
});
defineReg(0xdf, 0xe0, (cpu) => { // FNSTSW AX
  nonWaitingGate(cpu);
  cpu.set16(0, cpu.fpu.statusWord());
});

defineMem(0xd9, 4, (cpu, i) => { // FLDENV
  if (!waitingGate(cpu, i)) return;
  loadEnvironment(cpu, i);
});
defineMem(0xd9, 6, (cpu, i) => { // FNSTENV
  nonWaitingGate(cpu);
  storeEnvironment(cpu, i);
});
defineMem(0xdd, 4, (cpu, i) => { // FRSTOR
  if (!waitingGate(cpu, i)) return;
  restoreState(cpu, i);
});
defineMem(0xdd, 6, (cpu, i) => { // FNSAVE
  nonWaitingGate(cpu);
  saveState(cpu, i);
});

const fwait: Exec = (cpu, i) => { waitGate(cpu, i); };
defineOp(0x9b, op('fwait', false, IMM_NONE, () => fwait));
