/**
 * Decimal arithmetic: DAA 27, DAS 2F, AAA 37, AAS 3F, AAM D4 ib, AAD D5 ib.
 *
 * The SDM leaves some flags undefined; these follow P6-family hardware (the
 * behaviour Bochs validated): every one of them sets SF/ZF/PF from AL and
 * clears OF; AF/CF are the documented adjust flags for DAA/DAS/AAA/AAS and
 * cleared for AAM/AAD. AAA/AAS adjust AX as a whole (AX +/- 0x106), which
 * is what 286+ processors do. AAM with a zero immediate raises #DE.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec } from '../insn.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag, PARITY, writeArithFlags } from '../flags.ts';
import { AF, ARITH_FLAGS, CF, EAX, EXC_DE, SF, ZF } from '../regs.ts';

/** Writes all six arithmetic flags: SF/ZF/PF from `al`, OF = 0, plus the given CF/AF. */
function setAdjustFlags(cpu: Cpu, al: number, cfAf: number): void {
  al &= 0xff;
  const f = (al & 0x80 ? SF : 0) | (al === 0 ? ZF : 0) | PARITY[al] | cfAf;
  writeArithFlags(cpu, f, ARITH_FLAGS);
}

const daa: Exec = (cpu) => {
  const al0 = cpu.regs[EAX] & 0xff;
  const cf0 = getFlag(cpu, CF) !== 0;
  let al = al0, cf = false, af = false;
  if ((al0 & 0x0f) > 9 || getFlag(cpu, AF) !== 0) {
    cf = al0 > 0xf9 || cf0;
    al = (al + 0x06) & 0xff;
    af = true;
  }
  if (al0 > 0x99 || cf0) {
    al = (al + 0x60) & 0xff;
    cf = true;
  }
  cpu.set8(EAX, al);
  setAdjustFlags(cpu, al, (cf ? CF : 0) | (af ? AF : 0));
};

const das: Exec = (cpu) => {
  const al0 = cpu.regs[EAX] & 0xff;
  const cf0 = getFlag(cpu, CF) !== 0;
  let al = al0, cf = false, af = false;
  if ((al0 & 0x0f) > 9 || getFlag(cpu, AF) !== 0) {
    cf = al0 < 0x06 || cf0;
    al = (al - 0x06) & 0xff;
    af = true;
  }
  if (al0 > 0x99 || cf0) {
    al = (al - 0x60) & 0xff;
    cf = true;
  }
  cpu.set8(EAX, al);
  setAdjustFlags(cpu, al, (cf ? CF : 0) | (af ? AF : 0));
};

function asciiAdjust(add: boolean): Exec {
  return (cpu) => {
    let ax = cpu.regs[EAX] & 0xffff;
    let adjust = false;
    if ((ax & 0x0f) > 9 || getFlag(cpu, AF) !== 0) {
      ax = add ? ax + 0x106 : ax - 0x106;
      adjust = true;
    }
    ax = ax & 0xff0f;
    cpu.set16(EAX, ax);
    setAdjustFlags(cpu, ax & 0xff, adjust ? CF | AF : 0);
  };
}

const aam: Exec = (cpu, i) => {
  const base = i.imm & 0xff;
  if (base === 0) cpu.fault(EXC_DE, 0, false);
  const al = cpu.regs[EAX] & 0xff;
  const q = Math.floor(al / base);
  const r = al - q * base;
  cpu.set16(EAX, (q << 8) | r);
  setAdjustFlags(cpu, r, 0);
};

const aad: Exec = (cpu, i) => {
  const ax = cpu.regs[EAX];
  const al = (((ax >> 8) & 0xff) * (i.imm & 0xff) + (ax & 0xff)) & 0xff;
  cpu.set16(EAX, al);
  setAdjustFlags(cpu, al, 0);
};

defineOp(0x27, op('daa', false, IMM_NONE, () => daa));
defineOp(0x2f, op('das', false, IMM_NONE, () => das));
const aaa = asciiAdjust(true), aas = asciiAdjust(false);
defineOp(0x37, op('aaa', false, IMM_NONE, () => aaa));
defineOp(0x3f, op('aas', false, IMM_NONE, () => aas));
defineOp(0xd4, op('aam Ib', false, IMM_IB, () => aam));
defineOp(0xd5, op('aad Ib', false, IMM_IB, () => aad));
