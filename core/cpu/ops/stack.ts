/**
 * Stack instructions: PUSH/POP of registers, immediates, segment registers
 * and r/m, PUSHA/POPA. (PUSHF/POPF are IOPL-sensitive: see protected/flagsOps.ts.)
 * Every form writes memory before updating ESP, so a fault restarts cleanly.
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IBS, IMM_IV, IMM_NONE, op } from '../opcodeTable.ts';
import { CS, DS, ES, ESP, FS, GS, SS } from '../regs.ts';
import { loadSegment } from '../segments.ts';
import { pinned } from '../pinnedArrays.ts';

for (let r = 0; r < 8; r++) {
  const push16: Exec = (cpu) => cpu.push16(cpu.regs[r]);
  const push32: Exec = (cpu) => cpu.push32(cpu.regs[r]);
  const pop16: Exec = (cpu) => { const v = cpu.pop16(); cpu.set16(r, v); };
  const pop32: Exec = (cpu) => { const v = cpu.pop32(); cpu.regs[r] = v; };
  defineOp(0x50 + r, op('push r', false, IMM_NONE, (i) => (i.o32 ? push32 : push16)));
  defineOp(0x58 + r, op('pop r', false, IMM_NONE, (i) => (i.o32 ? pop32 : pop16)));
}

const pushImm16: Exec = (cpu, i) => cpu.push16(i.imm);
const pushImm32: Exec = (cpu, i) => cpu.push32(i.imm);
defineOp(0x68, op('push Iv', false, IMM_IV, (i) => (i.o32 ? pushImm32 : pushImm16)));
defineOp(0x6a, op('push Ibs', false, IMM_IBS, (i) => (i.o32 ? pushImm32 : pushImm16)));

/** PUSH Sreg: with a 32-bit operand size ESP moves by 4 but only the selector word is written (P6). */
function pushSeg(seg: number): (i: { o32: boolean }) => Exec {
  const p16: Exec = (cpu) => cpu.push16(cpu.segSel[seg]);
  const p32: Exec = (cpu) => {
    const sp = cpu.ss32 ? (cpu.regs[ESP] - 4) | 0 : (cpu.regs[ESP] - 4) & 0xffff;
    cpu.write16(SS, sp, cpu.segSel[seg]);
    cpu.adjustSp(-4);
  };
  return (i) => (i.o32 ? p32 : p16);
}

/**
 * POP Sreg. The stack size that moves (E)SP is the one the value was popped
 * with: the B bit of SS as it was before the load (SDM POP: "IF StackAddrSize
 * = 32 ... ESP := ESP + 4 ELSE SP := SP + 4"; Bochs POP32_Sw likewise). A
 * 32-bit POP SS on a 16-bit stack that loads a 32-bit stack segment changes
 * only SP, by 4; the new SS's B bit must not decide it.
 */
function popSeg(seg: number): (i: { o32: boolean; endsBlock: boolean }) => Exec {
  const pop: Exec = (cpu, i) => {
    const v = i.o32 ? cpu.peek32(0) & 0xffff : cpu.peek16(0);
    const r = cpu.regs;
    const size = i.o32 ? 4 : 2;
    const esp = cpu.ss32 ? (r[ESP] + size) | 0 : (r[ESP] & ~0xffff) | ((r[ESP] + size) & 0xffff);
    loadSegment(cpu, seg, v);
    r[ESP] = esp;
    if (seg === SS) cpu.loadedSs();
  };
  return (i) => {
    if (seg === SS) i.endsBlock = true;
    return pop;
  };
}

defineOp(0x06, op('push es', false, IMM_NONE, pushSeg(ES)));
defineOp(0x07, op('pop es', false, IMM_NONE, popSeg(ES)));
defineOp(0x0e, op('push cs', false, IMM_NONE, pushSeg(CS)));
defineOp(0x16, op('push ss', false, IMM_NONE, pushSeg(SS)));
defineOp(0x17, op('pop ss', false, IMM_NONE, popSeg(SS)));
defineOp(0x1e, op('push ds', false, IMM_NONE, pushSeg(DS)));
defineOp(0x1f, op('pop ds', false, IMM_NONE, popSeg(DS)));
defineOp(0x1a0, op('push fs', false, IMM_NONE, pushSeg(FS)));
defineOp(0x1a1, op('pop fs', false, IMM_NONE, popSeg(FS)));
defineOp(0x1a8, op('push gs', false, IMM_NONE, pushSeg(GS)));
defineOp(0x1a9, op('pop gs', false, IMM_NONE, popSeg(GS)));

// POP r/m: the address is computed with ESP already incremented (SDM POP).
const popEv: Exec = (cpu, i) => {
  const size = i.o32 ? 4 : 2;
  const v = i.o32 ? cpu.peek32(0) : cpu.peek16(0);
  if (i.mod === 3) {
    cpu.adjustSp(size);
    if (i.o32) cpu.regs[i.rm] = v;
    else cpu.set16(i.rm, v);
    return;
  }
  const oldEsp = cpu.regs[ESP];
  cpu.adjustSp(size);
  try {
    if (i.o32) cpu.write32(i.seg, cpu.ea(i), v);
    else cpu.write16(i.seg, cpu.ea(i), v);
  } catch (e) {
    cpu.regs[ESP] = oldEsp;
    throw e;
  }
};
const ud: Exec = (cpu) => cpu.raiseUD();
defineOp(0x8f, op('pop Ev', true, IMM_NONE, (i) => (i.reg !== 0 ? ud : popEv)));

const pusha16: Exec = (cpu) => {
  const r = cpu.regs;
  const sp = r[ESP];
  for (let k = 0; k < 8; k++) {
    const off = cpu.ss32 ? (sp - 2 * (k + 1)) | 0 : (sp - 2 * (k + 1)) & 0xffff;
    cpu.write16(SS, off, k === ESP ? sp : r[k]);
  }
  cpu.adjustSp(-16);
};
const pusha32: Exec = (cpu) => {
  const r = cpu.regs;
  const sp = r[ESP];
  for (let k = 0; k < 8; k++) {
    const off = cpu.ss32 ? (sp - 4 * (k + 1)) | 0 : (sp - 4 * (k + 1)) & 0xffff;
    cpu.write32(SS, off, k === ESP ? sp : r[k]);
  }
  cpu.adjustSp(-32);
};
/** POPA reads all eight slots before writing any register (a fault leaves them untouched). */
const popaScratch = pinned(Int32Array, 8);
const popa16: Exec = (cpu) => {
  const v = popaScratch;
  for (let k = 0; k < 8; k++) v[k] = cpu.peek16(2 * (7 - k));
  for (let k = 0; k < 8; k++) if (k !== ESP) cpu.set16(k, v[k]);
  cpu.adjustSp(16);
};
const popa32: Exec = (cpu) => {
  const v = popaScratch;
  for (let k = 0; k < 8; k++) v[k] = cpu.peek32(4 * (7 - k));
  for (let k = 0; k < 8; k++) if (k !== ESP) cpu.regs[k] = v[k];
  cpu.adjustSp(32);
};
defineOp(0x60, op('pusha', false, IMM_NONE, (i) => (i.o32 ? pusha32 : pusha16)));
defineOp(0x61, op('popa', false, IMM_NONE, (i) => (i.o32 ? popa32 : popa16)));
