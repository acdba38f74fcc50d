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
import { settle, settleStore } from './results.ts';
import { clearAcc, INDEFINITE } from './numeric.ts';
import {
  bcd, bcdInt64, exactInt64, extOut, f64Out, fromExtended, i64Out, int64ToExtended, isSupportedExtended, joinInt64,
  loadBcd, loadF32, loadF64, registerExtended, splitInt64, storeBcd, storeBcdInt64, storeF32, storeF64, toExtended,
  toInteger,
} from './formats.ts';
import { SW_C1, SW_IE } from './fpu.ts';

// ---- loads (push) ----

/**
 * Pushes `v` after a load: stack overflow when ST(7) is in use (masked: the
 * real indefinite is pushed). acc carries the conversion's exceptions.
 */
function pushLoaded(cpu: Cpu, v: number): boolean {
  const f = cpu.fpu;
  if (!f.isEmpty(7)) {
    if (!f.stackFault(true)) f.push(INDEFINITE);
    return false;
  }
  if (!settle(f)) return false;
  f.push(v);
  f.clearC1();
  return true;
}

/** Output of the loaders that also know the exact 80-bit image. */
const exactIn = { valid: false, se: 0, hi: 0, lo: 0 };

type MemLoader = (cpu: Cpu, i: Insn, ea: number) => number;

function memLoad(read: MemLoader): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    const ea = cpu.ea(i);
    clearAcc();
    exactIn.valid = false;
    const v = read(cpu, i, ea);
    noteMemory(cpu, i, ea);
    if (pushLoaded(cpu, v) && exactIn.valid) cpu.fpu.setExact(0, exactIn.se, exactIn.hi, exactIn.lo);
  };
}

function keepExact(se: number, hi: number, lo: number): void {
  exactIn.valid = true;
  exactIn.se = se;
  exactIn.hi = hi >>> 0;
  exactIn.lo = lo >>> 0;
}

defineMem(0xd9, 0, memLoad((cpu, i, ea) => loadF32(cpu.read32(i.seg, ea) >>> 0)));
defineMem(0xdd, 0, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  return loadF64(cpu.read32(i.seg, offsetBy(i, ea, 4)) >>> 0, lo >>> 0);
}));
defineMem(0xdb, 5, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  const hi = cpu.read32(i.seg, offsetBy(i, ea, 4));
  const se = cpu.read16(i.seg, offsetBy(i, ea, 8));
  if (isSupportedExtended(se, hi)) keepExact(se, hi, lo);
  return fromExtended(se, hi, lo);
}));
defineMem(0xdf, 0, memLoad((cpu, i, ea) => (cpu.read16(i.seg, ea) << 16) >> 16));
defineMem(0xdb, 0, memLoad((cpu, i, ea) => cpu.read32(i.seg, ea) | 0));
defineMem(0xdf, 5, memLoad((cpu, i, ea) => {
  const lo = cpu.read32(i.seg, ea);
  const hi = cpu.read32(i.seg, offsetBy(i, ea, 4));
  int64ToExtended(hi, lo);
  keepExact(extOut.se, extOut.hi, extOut.lo);
  return joinInt64(hi, lo);
}));
defineMem(0xdf, 4, memLoad((cpu, i, ea) => {
  for (let k = 0; k < 10; k++) bcd[k] = cpu.read8(i.seg, offsetBy(i, ea, k));
  const v = loadBcd();
  if (bcdInt64()) {
    int64ToExtended(i64Out.hi, i64Out.lo);
    keepExact(extOut.se, extOut.hi, extOut.lo);
  }
  return v;
}));

// FLD ST(i): overflow first, then underflow of the source.
defineRegRow(0xd9, 0xc0, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  const f = cpu.fpu;
  if (!f.isEmpty(7)) {
    if (!f.stackFault(true)) f.push(INDEFINITE);
    return;
  }
  if (f.isEmpty(i.rm)) {
    if (!f.stackFault(false)) f.push(INDEFINITE);
    return;
  }
  f.push(0);
  f.copy(0, i.rm + 1);
  f.clearC1();
});

// Constants: the binary64 roundings of the x87's constants.
const CONSTANTS: [number, number][] = [
  [0xe8, 1],
  [0xe9, 3.321928094887362347870319429489390175864831393], // log2(10)
  [0xea, 1.442695040888963407359924681001892137426645954], // log2(e)
  [0xeb, 3.141592653589793238462643383279502884197169399], // pi
  [0xec, 0.301029995663981195213738894724493026768189881], // log10(2)
  [0xed, 0.693147180559945309417232121458176568075500134], // ln(2)
  [0xee, 0],
];
for (const [modrm, value] of CONSTANTS) {
  defineReg(0xd9, modrm, (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    clearAcc();
    pushLoaded(cpu, value);
  });
}

// ---- stores ----

type MemStorer = (cpu: Cpu, i: Insn, ea: number, x: number, empty: boolean) => boolean;

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
    clearAcc();
    if (f.isEmpty(0)) {
      // Stack underflow: unmasked → nothing stored, no pop; masked → the indefinite is stored.
      if ((f.control & SW_IE) === 0) {
        f.stackFault(false);
        return;
      }
      write(cpu, i, ea, INDEFINITE, true);
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
  const bits = empty ? 0xffc0_0000 : storeF32(x, cpu.fpu.rc);
  const lin = cpu.rmwAddress(i.seg, ea, 4);
  if (!empty && !settleStore(cpu.fpu)) return false;
  cpu.writeLin32(lin, bits | 0);
  return true;
};
const storeM64: MemStorer = (cpu, i, ea, x) => {
  storeF64(x);
  const lo = f64Out.lo, hi = f64Out.hi;
  const lin = cpu.rmwAddress(i.seg, ea, 8);
  if (!settleStore(cpu.fpu)) return false;
  cpu.writeLin32(lin, lo | 0);
  cpu.writeLin32((lin + 4) | 0, hi | 0);
  return true;
};
const storeM80: MemStorer = (cpu, i, ea, x, empty) => {
  if (empty) toExtended(x);
  else registerExtended(cpu.fpu, 0);
  const lin = cpu.rmwAddress(i.seg, ea, 10);
  cpu.fpu.clearC1();
  cpu.writeLin32(lin, extOut.lo | 0);
  cpu.writeLin32((lin + 4) | 0, extOut.hi | 0);
  cpu.writeLin16((lin + 8) | 0, extOut.se);
  return true;
};
function storeInt(bytes: number): MemStorer {
  const limit = 2 ** (bytes * 8 - 1);
  return (cpu, i, ea, x, empty) => {
    // A 64-bit store of a register holding an exact 80-bit integer stores it exactly.
    const exact = bytes === 8 && !empty && exactRegisterInt64(cpu);
    const r = empty ? NaN : exact ? 0 : toInteger(x, cpu.fpu.rc, -limit, limit);
    const lin = cpu.rmwAddress(i.seg, ea, bytes);
    if (!empty && !settleStore(cpu.fpu)) return false;
    // r is NaN for the integer indefinite (the most negative value).
    if (bytes === 2) cpu.writeLin16(lin, r !== r ? 0x8000 : r & 0xffff);
    else if (bytes === 4) cpu.writeLin32(lin, r !== r ? 0x8000_0000 | 0 : r | 0);
    else {
      if (exact) exactRegisterInt64(cpu);
      else if (r !== r) { i64Out.lo = 0; i64Out.hi = 0x8000_0000 | 0; } else splitInt64(r);
      cpu.writeLin32(lin, i64Out.lo | 0);
      cpu.writeLin32((lin + 4) | 0, i64Out.hi | 0);
    }
    return true;
  };
}
const storeBcdOp: MemStorer = (cpu, i, ea, x, empty) => {
  if (empty) storeBcd(NaN, 0);
  else if (!(exactRegisterInt64(cpu) && storeBcdInt64())) storeBcd(x, cpu.fpu.rc);
  const lin = cpu.rmwAddress(i.seg, ea, 10);
  if (!empty && !settleStore(cpu.fpu)) return false;
  for (let k = 0; k < 10; k++) cpu.writeLin8((lin + k) | 0, bcd[k]);
  return true;
};

/** ST(0)'s exact shadow as an integer into i64Out, when it has one and it is an integer. */
function exactRegisterInt64(cpu: Cpu): boolean {
  const f = cpu.fpu;
  if (!f.hasExact(0)) return false;
  registerExtended(f, 0);
  return exactInt64(extOut.se, extOut.hi, extOut.lo);
}

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

