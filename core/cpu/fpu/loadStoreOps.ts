/**
 * Data transfer: FLD/FST/FSTP (m32fp, m64fp, m80fp, ST(i)), FILD/FIST/FISTP
 * (m16int, m32int, m64int), FBLD/FBSTP, the constants (FLD1, FLDZ, FLDPI,
 * FLDL2E, FLDL2T, FLDLG2, FLDLN2), FXCH, FFREE/FFREEP, FINCSTP/FDECSTP.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineMem, defineReg, defineRegRow } from './formsTable.ts';
import { noteInstruction, noteMemory, waitingGate } from './gate.ts';
import { offsetBy } from './operands.ts';
import { settleStore } from './results.ts';
import { acc, clearAcc, roundToRegister } from './numeric.ts';
import {
  bcd, f64Out, fromInt64, fromInteger, loadBcd, loadF32, loadF64, quietOnLoad, storeBcd, storeF32, storeF64, toInteger,
} from './formats.ts';
import { SW_C1, SW_IE } from './fpu.ts';
import type { X80 } from './ext80.ts';
import { indefinite } from './ext80.ts';

// ---- loads (push) ----

/**
 * Pushes `v` after a load: stack overflow when ST(7) is in use (masked: the
 * real indefinite is pushed). acc carries the conversion's exceptions: an
 * unmasked IE (SNaN) loads nothing; a denormal is loaded even when DE is
 * unmasked (as the host x87 does), the exception then pending.
 */
function pushLoaded(cpu: Cpu, v: X80): boolean {
  const f = cpu.fpu;
  if (!f.isEmpty(7)) {
    if (!f.stackFault(true)) f.push(indefinite());
    return false;
  }
  f.clearC1();
  if ((acc.flags & SW_IE & ~f.control) !== 0) {
    f.signal(acc.flags);
    return false;
  }
  f.push(v);
  if (acc.flags !== 0) f.signal(acc.flags);
  return true;
}

type MemLoader = (cpu: Cpu, i: Insn, ea: number) => X80;

function memLoad(read: MemLoader): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    const ea = cpu.ea(i);
    clearAcc(cpu.fpu.control);
    const v = read(cpu, i, ea);
    noteMemory(cpu, i, ea);
    pushLoaded(cpu, v);
  };
}

// FLD m32fp / m64fp: exact widening (SNaN → IE, loaded quiet; denormal → DE).
defineMem(0xd9, 0, memLoad((cpu, i, ea) => quietOnLoad(loadF32(cpu.read32(i.seg, ea) >>> 0))));
defineMem(0xdd, 0, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  return quietOnLoad(loadF64(cpu.read32(i.seg, offsetBy(i, ea, 4)) >>> 0, lo >>> 0));
}));
// FLD m80fp: the image as it is, whatever its encoding (no exceptions).
defineMem(0xdb, 5, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  const hi = cpu.read32(i.seg, offsetBy(i, ea, 4));
  const se = cpu.read16(i.seg, offsetBy(i, ea, 8));
  return { se: se & 0xffff, hi: hi >>> 0, lo: lo >>> 0 };
}));
// FILD: exact.
defineMem(0xdf, 0, memLoad((cpu, i, ea) => fromInteger(BigInt((cpu.read16(i.seg, ea) << 16) >> 16))));
defineMem(0xdb, 0, memLoad((cpu, i, ea) => fromInteger(BigInt(cpu.read32(i.seg, ea) | 0))));
defineMem(0xdf, 5, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  const hi = cpu.read32(i.seg, offsetBy(i, ea, 4));
  return fromInt64(hi, lo);
}));
// FBLD: exact.
defineMem(0xdf, 4, memLoad((cpu, i, ea) => {
  for (let k = 0; k < 10; k++) bcd[k] = cpu.read8(i.seg, offsetBy(i, ea, k));
  return loadBcd();
}));

// FLD ST(i): overflow first, then underflow of the source.
defineRegRow(0xd9, 0xc0, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  const f = cpu.fpu;
  if (!f.isEmpty(7)) {
    if (!f.stackFault(true)) f.push(indefinite());
    return;
  }
  if (f.isEmpty(i.rm)) {
    if (!f.stackFault(false)) f.push(indefinite());
    return;
  }
  f.push(f.get(i.rm));
  f.clearC1();
});

/**
 * Constants (SDM Vol. 1 8.3.9): rounded to 64 bits by RC; with round to
 * nearest they are the 8087's (the nearest 64-bit values), else the
 * directed roundings of the true value. Each is given as a 70-bit
 * truncation with a sticky 1 in its last bit (significand, exponent), which
 * rounds as the irrational value does. No exception (not even PE) is
 * signalled.
 */
const CONSTANTS: [number, bigint, number][] = [
  [0xe8, 1n, 0],
  [0xe9, 0x35269e12f346e2bf93n, -68], // log2(10)
  [0xea, 0x2e2a8eca5705fc2eefn, -69], // log2(e)
  [0xeb, 0x3243f6a8885a308d31n, -68], // pi
  [0xec, 0x268826a13ef3fde623n, -71], // log10(2)
  [0xed, 0x2c5c85fdf473de6af3n, -70], // ln(2)
  [0xee, 0n, 0],
];
for (const [modrm, sig, exp] of CONSTANTS) {
  defineReg(0xd9, modrm, (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    clearAcc(cpu.fpu.control);
    const v = roundToRegister(false, sig, exp, 64);
    acc.flags = 0;
    acc.roundedUp = false;
    pushLoaded(cpu, v);
  });
}

// ---- stores ----

type MemStorer = (cpu: Cpu, i: Insn, ea: number, x: X80, empty: boolean) => boolean;

/**
 * A store: `write` converts ST(0) (or, with `empty`, stores the masked
 * underflow response), checks the destination and writes; it returns false
 * when an unmasked exception suppressed the store.
 */
function memStore(write: MemStorer, pop: boolean): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    const ea = cpu.ea(i);
    const f = cpu.fpu;
    clearAcc(f.control);
    if (f.isEmpty(0)) {
      // Stack underflow: unmasked → nothing stored, no pop; masked → the indefinite is stored.
      if ((f.control & SW_IE) === 0) {
        f.stackFault(false);
        return;
      }
      write(cpu, i, ea, indefinite(), true);
      f.stackFault(false);
    } else if (!write(cpu, i, ea, f.get(0), false)) {
      noteMemory(cpu, i, ea);
      return;
    }
    noteMemory(cpu, i, ea);
    if (pop) f.pop();
  };
}

const storeM32: MemStorer = (cpu, i, ea, x, empty) => {
  const bits = empty ? 0xffc0_0000 : storeF32(x);
  const lin = cpu.rmwAddress(i.seg, ea, 4);
  if (!empty && !settleStore(cpu.fpu)) return false;
  cpu.writeLin32(lin, bits | 0);
  return true;
};
const storeM64: MemStorer = (cpu, i, ea, x, empty) => {
  if (empty) { f64Out.hi = 0xfff8_0000; f64Out.lo = 0; } else storeF64(x);
  const lo = f64Out.lo, hi = f64Out.hi;
  const lin = cpu.rmwAddress(i.seg, ea, 8);
  if (!empty && !settleStore(cpu.fpu)) return false;
  cpu.writeLin32(lin, lo | 0);
  cpu.writeLin32((lin + 4) | 0, hi | 0);
  return true;
};
// FSTP m80fp: the register image as it is (no exceptions).
const storeM80: MemStorer = (cpu, i, ea, x) => {
  const lin = cpu.rmwAddress(i.seg, ea, 10);
  cpu.fpu.clearC1();
  cpu.writeLin32(lin, x.lo | 0);
  cpu.writeLin32((lin + 4) | 0, x.hi | 0);
  cpu.writeLin16((lin + 8) | 0, x.se);
  return true;
};
function storeInt(bytes: number): MemStorer {
  const max = (1n << BigInt(bytes * 8 - 1)) - 1n, min = -max - 1n;
  return (cpu, i, ea, x, empty) => {
    const v = empty ? null : toInteger(x, min, max);
    const lin = cpu.rmwAddress(i.seg, ea, bytes);
    if (!empty && !settleStore(cpu.fpu)) return false;
    // null: the integer indefinite (the most negative value).
    const u = BigInt.asUintN(64, v ?? min);
    const lo = Number(u & 0xffff_ffffn) | 0, hi = Number(u >> 32n) | 0;
    if (bytes === 2) cpu.writeLin16(lin, lo & 0xffff);
    else if (bytes === 4) cpu.writeLin32(lin, lo);
    else {
      cpu.writeLin32(lin, lo);
      cpu.writeLin32((lin + 4) | 0, hi);
    }
    return true;
  };
}
const storeBcdOp: MemStorer = (cpu, i, ea, x, empty) => {
  if (empty) {
    bcd.fill(0);
    bcd[9] = 0xff; bcd[8] = 0xff; bcd[7] = 0xc0;
  } else storeBcd(x);
  const lin = cpu.rmwAddress(i.seg, ea, 10);
  if (!empty && !settleStore(cpu.fpu)) return false;
  for (let k = 0; k < 10; k++) cpu.writeLin8((lin + k) | 0, bcd[k]);
  return true;
};

defineMem(0xd9, 2, memStore(storeM32, false));
defineMem(0xd9, 3, memStore(storeM32, true));
defineMem(0xdd, 2, memStore(storeM64, false));
defineMem(0xdd, 3, memStore(storeM64, true));
defineMem(0xdb, 7, memStore(storeM80, true));
defineMem(0xdf, 2, memStore(storeInt(2), false));
defineMem(0xdf, 3, memStore(storeInt(2), true));
defineMem(0xdb, 2, memStore(storeInt(4), false));
defineMem(0xdb, 3, memStore(storeInt(4), true));
defineMem(0xdf, 7, memStore(storeInt(8), true));
defineMem(0xdf, 6, memStore(storeBcdOp, true));

/** FST/FSTP ST(i) (and the undocumented FSTP aliases D9 D8+i, DF D0+i, DF D8+i). */
function storeReg(pop: boolean): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    if (f.isEmpty(0)) {
      if (f.stackFault(false)) return;
      f.setIndefinite(i.rm);
    } else {
      f.copy(i.rm, 0);
      f.clearC1();
    }
    if (pop) f.pop();
  };
}
defineRegRow(0xdd, 0xd0, storeReg(false));
defineRegRow(0xdd, 0xd8, storeReg(true));
defineRegRow(0xd9, 0xd8, storeReg(true));
defineRegRow(0xdf, 0xd0, storeReg(true));
defineRegRow(0xdf, 0xd8, storeReg(true));

// FXCH (and the aliases DD C8+i, DF C8+i): empty operands become the indefinite when IE is masked.
const fxch: Exec = (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  const f = cpu.fpu;
  const e0 = f.isEmpty(0), ei = f.isEmpty(i.rm);
  if (e0 || ei) {
    if (f.stackFault(false)) return;
    if (e0) f.setIndefinite(0);
    if (ei) f.setIndefinite(i.rm);
  } else {
    f.clearC1();
  }
  f.swap(0, i.rm);
};
defineRegRow(0xd9, 0xc8, fxch);
defineRegRow(0xdd, 0xc8, fxch);
defineRegRow(0xdf, 0xc8, fxch);

// FFREE ST(i) / FFREEP ST(i) (undocumented, P6 has it): tag empty, no flags.
defineRegRow(0xdd, 0xc0, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  cpu.fpu.empty |= 1 << cpu.fpu.phys(i.rm);
});
defineRegRow(0xdf, 0xc0, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  cpu.fpu.empty |= 1 << cpu.fpu.phys(i.rm);
  cpu.fpu.pop();
});

// FINCSTP / FDECSTP: TOP only (tags and contents unchanged), C1 cleared.
defineReg(0xd9, 0xf7, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  cpu.fpu.top = (cpu.fpu.top + 1) & 7;
  cpu.fpu.status &= ~SW_C1;
});
defineReg(0xd9, 0xf6, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  cpu.fpu.top = (cpu.fpu.top - 1) & 7;
  cpu.fpu.status &= ~SW_C1;
});

