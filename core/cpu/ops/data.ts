/**
 * Data movement: MOV (all forms, incl. segment registers and moffs), LEA,
 * XCHG, MOVZX/MOVSX, CBW/CWDE/CWD/CDQ, LAHF/SAHF and the simple flag
 * instructions CLC/STC/CMC/CLD/STD.
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IB, IMM_IV, IMM_MOFFS, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag, readFlags, writeArithFlags } from '../flags.ts';
import { AF, CF, CS, DF, PF, SF, SS, ZF } from '../regs.ts';
import { loadSegment } from '../segments.ts';

const movEbGb: Exec = (cpu, i) => cpu.writeRm8(i, cpu.get8(i.reg));
const movEwGw: Exec = (cpu, i) => cpu.writeRm16(i, cpu.regs[i.reg]);
const movRegReg32: Exec = (cpu, i) => { cpu.regs[i.rm] = cpu.regs[i.reg]; };
const movMemReg32: Exec = (cpu, i) => cpu.write32(i.seg, cpu.ea(i), cpu.regs[i.reg]);
const movGbEb: Exec = (cpu, i) => cpu.set8(i.reg, cpu.readRm8(i));
const movGwEw: Exec = (cpu, i) => cpu.set16(i.reg, cpu.readRm16(i));
const movRegMem32: Exec = (cpu, i) => { cpu.regs[i.reg] = cpu.read32(i.seg, cpu.ea(i)); };
const movRegRegRev32: Exec = (cpu, i) => { cpu.regs[i.reg] = cpu.regs[i.rm]; };

defineOp(0x88, op('mov Eb,Gb', true, IMM_NONE, () => movEbGb));
defineOp(0x89, op('mov Ev,Gv', true, IMM_NONE, (i) => (i.o32 ? (i.mod === 3 ? movRegReg32 : movMemReg32) : movEwGw)));
defineOp(0x8a, op('mov Gb,Eb', true, IMM_NONE, () => movGbEb));
defineOp(0x8b, op('mov Gv,Ev', true, IMM_NONE, (i) => (i.o32 ? (i.mod === 3 ? movRegRegRev32 : movRegMem32) : movGwEw)));

// MOV r/m, Sreg: memory stores 16 bits; a 32-bit register destination is zero-extended (P6 behaviour).
const movEwSw: Exec = (cpu, i) => {
  const sel = cpu.segSel[i.reg];
  if (i.mod === 3) {
    if (i.o32) cpu.regs[i.rm] = sel;
    else cpu.set16(i.rm, sel);
  } else {
    cpu.write16(i.seg, cpu.ea(i), sel);
  }
};
const ud: Exec = (cpu) => cpu.raiseUD();
defineOp(0x8c, op('mov Ew,Sw', true, IMM_NONE, (i) => (i.reg > 5 ? ud : movEwSw)));

const movSwEw: Exec = (cpu, i) => {
  loadSegment(cpu, i.reg, cpu.readRm16(i));
  if (i.reg === SS) cpu.loadedSs(); // interrupt and debug-trap shadow (SDM Vol. 3A 6.8.3)
};
defineOp(0x8e, op('mov Sw,Ew', true, IMM_NONE, (i) => {
  if (i.reg > 5 || i.reg === CS) return ud;
  if (i.reg === SS) i.endsBlock = true;
  return movSwEw;
}));

const lea16: Exec = (cpu, i) => cpu.set16(i.reg, cpu.ea(i));
const lea32: Exec = (cpu, i) => { cpu.regs[i.reg] = cpu.ea(i); };
defineOp(0x8d, op('lea Gv,M', true, IMM_NONE, (i) => (i.mod === 3 ? ud : i.o32 ? lea32 : lea16)));

// moffs forms
const movAlMoffs: Exec = (cpu, i) => cpu.set8(0, cpu.read8(i.seg, cpu.ea(i)));
const movAxMoffs: Exec = (cpu, i) => cpu.set16(0, cpu.read16(i.seg, cpu.ea(i)));
const movEaxMoffs: Exec = (cpu, i) => { cpu.regs[0] = cpu.read32(i.seg, cpu.ea(i)); };
const movMoffsAl: Exec = (cpu, i) => cpu.write8(i.seg, cpu.ea(i), cpu.regs[0]);
const movMoffsAx: Exec = (cpu, i) => cpu.write16(i.seg, cpu.ea(i), cpu.regs[0]);
const movMoffsEax: Exec = (cpu, i) => cpu.write32(i.seg, cpu.ea(i), cpu.regs[0]);
defineOp(0xa0, op('mov AL,Ob', false, IMM_MOFFS, () => movAlMoffs));
defineOp(0xa1, op('mov eAX,Ov', false, IMM_MOFFS, (i) => (i.o32 ? movEaxMoffs : movAxMoffs)));
defineOp(0xa2, op('mov Ob,AL', false, IMM_MOFFS, () => movMoffsAl));
defineOp(0xa3, op('mov Ov,eAX', false, IMM_MOFFS, (i) => (i.o32 ? movMoffsEax : movMoffsAx)));

for (let r = 0; r < 8; r++) {
  const m8: Exec = (cpu, i) => cpu.set8(r, i.imm);
  const m16: Exec = (cpu, i) => cpu.set16(r, i.imm);
  const m32: Exec = (cpu, i) => { cpu.regs[r] = i.imm; };
  defineOp(0xb0 + r, op('mov r8,Ib', false, IMM_IB, () => m8));
  defineOp(0xb8 + r, op('mov r,Iv', false, IMM_IV, (i) => (i.o32 ? m32 : m16)));
}

const movEbIb: Exec = (cpu, i) => cpu.writeRm8(i, i.imm);
const movEwIw: Exec = (cpu, i) => cpu.writeRm16(i, i.imm);
const movEdId: Exec = (cpu, i) => cpu.writeRm32(i, i.imm);
defineOp(0xc6, op('mov Eb,Ib', true, IMM_IB, (i) => (i.reg !== 0 ? ud : movEbIb)));
defineOp(0xc7, op('mov Ev,Iv', true, IMM_IV, (i) => (i.reg !== 0 ? ud : i.o32 ? movEdId : movEwIw)));

// XCHG: the memory forms are always locked on the bus (no visible effect here beyond atomicity).
const xchg8: Exec = (cpu, i) => {
  const r = cpu.get8(i.reg);
  if (i.mod === 3) {
    cpu.set8(i.reg, cpu.get8(i.rm));
    cpu.set8(i.rm, r);
  } else {
    const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 1);
    cpu.set8(i.reg, cpu.readLin8(lin));
    cpu.writeLin8(lin, r);
  }
};
const xchg16: Exec = (cpu, i) => {
  const r = cpu.regs[i.reg] & 0xffff;
  if (i.mod === 3) {
    cpu.set16(i.reg, cpu.regs[i.rm]);
    cpu.set16(i.rm, r);
  } else {
    const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2);
    cpu.set16(i.reg, cpu.readLin16(lin));
    cpu.writeLin16(lin, r);
  }
};
const xchg32: Exec = (cpu, i) => {
  const r = cpu.regs[i.reg];
  if (i.mod === 3) {
    cpu.regs[i.reg] = cpu.regs[i.rm];
    cpu.regs[i.rm] = r;
  } else {
    const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 4);
    cpu.regs[i.reg] = cpu.readLin32(lin);
    cpu.writeLin32(lin, r);
  }
};
defineOp(0x86, op('xchg Eb,Gb', true, IMM_NONE, () => xchg8, { lockable: true }));
defineOp(0x87, op('xchg Ev,Gv', true, IMM_NONE, (i) => (i.o32 ? xchg32 : xchg16), { lockable: true }));

const nop: Exec = () => {};
defineOp(0x90, op('nop', false, IMM_NONE, () => nop));
for (let r = 1; r < 8; r++) {
  const x16: Exec = (cpu) => {
    const t = cpu.regs[0] & 0xffff;
    cpu.set16(0, cpu.regs[r]);
    cpu.set16(r, t);
  };
  const x32: Exec = (cpu) => {
    const t = cpu.regs[0];
    cpu.regs[0] = cpu.regs[r];
    cpu.regs[r] = t;
  };
  defineOp(0x90 + r, op('xchg eAX,r', false, IMM_NONE, (i) => (i.o32 ? x32 : x16)));
}

// MOVZX / MOVSX
const movzxB16: Exec = (cpu, i) => cpu.set16(i.reg, cpu.readRm8(i));
const movzxB32: Exec = (cpu, i) => { cpu.regs[i.reg] = cpu.readRm8(i); };
const movzxW: Exec = (cpu, i) => { const v = cpu.readRm16(i); if (i.o32) cpu.regs[i.reg] = v; else cpu.set16(i.reg, v); };
const movsxB16: Exec = (cpu, i) => cpu.set16(i.reg, (cpu.readRm8(i) << 24) >> 24);
const movsxB32: Exec = (cpu, i) => { cpu.regs[i.reg] = (cpu.readRm8(i) << 24) >> 24; };
const movsxW: Exec = (cpu, i) => { const v = (cpu.readRm16(i) << 16) >> 16; if (i.o32) cpu.regs[i.reg] = v; else cpu.set16(i.reg, v); };
defineOp(0x1b6, op('movzx Gv,Eb', true, IMM_NONE, (i) => (i.o32 ? movzxB32 : movzxB16)));
defineOp(0x1b7, op('movzx Gv,Ew', true, IMM_NONE, () => movzxW));
defineOp(0x1be, op('movsx Gv,Eb', true, IMM_NONE, (i) => (i.o32 ? movsxB32 : movsxB16)));
defineOp(0x1bf, op('movsx Gv,Ew', true, IMM_NONE, () => movsxW));

// CBW/CWDE, CWD/CDQ
const cbw: Exec = (cpu) => cpu.set16(0, (cpu.regs[0] << 24) >> 24);
const cwde: Exec = (cpu) => { cpu.regs[0] = (cpu.regs[0] << 16) >> 16; };
const cwd: Exec = (cpu) => cpu.set16(2, (cpu.regs[0] << 16) >> 31);
const cdq: Exec = (cpu) => { cpu.regs[2] = cpu.regs[0] >> 31; };
defineOp(0x98, op('cbw/cwde', false, IMM_NONE, (i) => (i.o32 ? cwde : cbw)));
defineOp(0x99, op('cwd/cdq', false, IMM_NONE, (i) => (i.o32 ? cdq : cwd)));

// LAHF / SAHF: SF ZF AF PF CF <-> AH (bit 1 reads as 1)
const SAHF_MASK = SF | ZF | AF | PF | CF;
const sahf: Exec = (cpu) => writeArithFlags(cpu, (cpu.regs[0] >> 8) & 0xff, SAHF_MASK);
const lahf: Exec = (cpu) => cpu.set8(4, (readFlags(cpu) & SAHF_MASK) | 2);
defineOp(0x9e, op('sahf', false, IMM_NONE, () => sahf));
defineOp(0x9f, op('lahf', false, IMM_NONE, () => lahf));

const clc: Exec = (cpu) => writeArithFlags(cpu, 0, CF);
const stc: Exec = (cpu) => writeArithFlags(cpu, CF, CF);
const cmc: Exec = (cpu) => writeArithFlags(cpu, getFlag(cpu, CF) ^ CF, CF);
const cld: Exec = (cpu) => { cpu.flags &= ~DF; };
const std: Exec = (cpu) => { cpu.flags |= DF; };
defineOp(0xf8, op('clc', false, IMM_NONE, () => clc));
defineOp(0xf9, op('stc', false, IMM_NONE, () => stc));
defineOp(0xf5, op('cmc', false, IMM_NONE, () => cmc));
defineOp(0xfc, op('cld', false, IMM_NONE, () => cld));
defineOp(0xfd, op('std', false, IMM_NONE, () => std));


