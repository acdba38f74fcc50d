/**
 * Registers the SSE/SSE2 and MMX instructions with the two-byte opcode map. An 0F
 * opcode of this family selects its form by the last F3H/F2H prefix
 * (`Insn.rep`), else by 66H (`Insn.p66`), else none (SDM Vol. 2 2.1.2,
 * "mandatory prefixes"); a form this processor does not have is #UD.
 * The unprefixed integer rows (0F 60-7F, D1-FF) are MMX and the forms SSE
 * and SSE2 add on MMX registers (mmx.ts).
 * LOCK is #UD on all of them (no entry is lockable).
 */
import type { Exec, Insn } from '../insn.ts';
import { REP_E, REP_NE } from '../insn.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import {
  addFn, comis, divFn, floatBinary, floatCompare, maxFn, minFn, mulFn, rcpFn, rsqrtFn, sqrtFn, subFn, type BinaryFn,
} from './arith.ts';
import {
  cvtdq2pd, cvtdq2ps, cvtpd2dq, cvtpd2ps, cvtps2dq, cvtps2pd, cvts2si, cvtScalar, cvtsi2s,
} from './convert.ts';
import {
  INTEGER_BODIES, integerOp, SHIFT_ARITH, SHIFT_LEFT, SHIFT_RIGHT, shiftByImm, shiftBytes, shiftByXmm,
} from './integer.ts';
import {
  load128, loadHalf, loadLow, logic, LOGIC_AND, LOGIC_ANDN, LOGIC_OR, LOGIC_XOR, maskmovdqu, movdFromXmm, movdToXmm, moveHalfReg,
  movmsk, movnti, pextrw, pinsrw, pmovmskb, pshufd, pshufw, shufpd, shufps, store128, storeHalf, storeLow, unpackDwords,
} from './moves.ts';
import { addFast, divFast, type FastFn, maxFast, minFast, mulFast, sqrtFast, subFast } from './fastPath.ts';
import {
  cvtp2pi, cvtpi2p, emms, maskmovq, mmxIntegerOp, mmxShiftByImm, mmxShiftByReg, movdFromMm, movdq2q, movdToMm, movq2dq, movqFromMm,
  movqToMm, pextrwMm, pinsrwMm, pmovmskbMm, pshufwMm,
} from './mmx.ts';
import { clflush, fence, fxrstor, fxsave, hintNop, ldmxcsr, stmxcsr } from './stateOps.ts';
import { F32, F64 } from './softFloat.ts';

/** A form: picks the handler once ModRM is known (undefined: #UD). */
type Form = (i: Insn) => Exec | undefined;

interface Forms {
  none?: Form;
  p66?: Form;
  f3?: Form;
  f2?: Form;
}

const ud: Exec = (cpu) => cpu.raiseUD();

const any = (fn: Exec): Form => () => fn;
const regOnly = (fn: Exec): Form => (i) => (i.mod === 3 ? fn : undefined);
const memOnly = (fn: Exec): Form => (i) => (i.mod === 3 ? undefined : fn);
const split = (reg: Exec, mem: Exec): Form => (i) => (i.mod === 3 ? reg : mem);

function sse(opcode: number, name: string, forms: Forms, imm = IMM_NONE): void {
  defineOp(0x100 | opcode, {
    name,
    modrm: true,
    imm,
    select(i) {
      const form = i.rep === REP_E ? forms.f3 : i.rep === REP_NE ? forms.f2 : i.p66 ? forms.p66 : forms.none;
      return form?.(i) ?? ud;
    },
  });
}

/** The four arithmetic forms: PS, PD (66), SS (F3), SD (F2). */
function arithmetic(opcode: number, name: string, fn: BinaryFn, fast: FastFn, anyMxcsr = false): void {
  sse(opcode, name, {
    none: any((cpu, i) => floatBinary(cpu, i, F32, false, fn, fast, anyMxcsr)),
    p66: any((cpu, i) => floatBinary(cpu, i, F64, false, fn, fast, anyMxcsr)),
    f3: any((cpu, i) => floatBinary(cpu, i, F32, true, fn, fast, anyMxcsr)),
    f2: any((cpu, i) => floatBinary(cpu, i, F64, true, fn, fast, anyMxcsr)),
  });
}

// ---- moves ----
sse(0x10, 'movups/movupd/movss/movsd (load)', {
  none: any((cpu, i) => load128(cpu, i, false)),
  p66: any((cpu, i) => load128(cpu, i, false)),
  f3: any((cpu, i) => loadLow(cpu, i, 1)),
  f2: any((cpu, i) => loadLow(cpu, i, 2)),
});
sse(0x11, 'movups/movupd/movss/movsd (store)', {
  none: any((cpu, i) => store128(cpu, i, false)),
  p66: any((cpu, i) => store128(cpu, i, false)),
  f3: any((cpu, i) => storeLow(cpu, i, 1)),
  f2: any((cpu, i) => storeLow(cpu, i, 2)),
});
sse(0x12, 'movhlps/movlps/movlpd', {
  none: split((cpu, i) => moveHalfReg(cpu, i, 1, 0), (cpu, i) => loadHalf(cpu, i, 0)),
  p66: memOnly((cpu, i) => loadHalf(cpu, i, 0)),
});
sse(0x13, 'movlps/movlpd (store)', {
  none: memOnly((cpu, i) => storeHalf(cpu, i, 0)),
  p66: memOnly((cpu, i) => storeHalf(cpu, i, 0)),
});
sse(0x14, 'unpcklps/unpcklpd', {
  none: any((cpu, i) => unpackDwords(cpu, i, 1, false)),
  p66: any((cpu, i) => unpackDwords(cpu, i, 2, false)),
});
sse(0x15, 'unpckhps/unpckhpd', {
  none: any((cpu, i) => unpackDwords(cpu, i, 1, true)),
  p66: any((cpu, i) => unpackDwords(cpu, i, 2, true)),
});
sse(0x16, 'movlhps/movhps/movhpd', {
  none: split((cpu, i) => moveHalfReg(cpu, i, 0, 1), (cpu, i) => loadHalf(cpu, i, 1)),
  p66: memOnly((cpu, i) => loadHalf(cpu, i, 1)),
});
sse(0x17, 'movhps/movhpd (store)', {
  none: memOnly((cpu, i) => storeHalf(cpu, i, 1)),
  p66: memOnly((cpu, i) => storeHalf(cpu, i, 1)),
});
sse(0x28, 'movaps/movapd (load)', {
  none: any((cpu, i) => load128(cpu, i, true)),
  p66: any((cpu, i) => load128(cpu, i, true)),
});
sse(0x29, 'movaps/movapd (store)', {
  none: any((cpu, i) => store128(cpu, i, true)),
  p66: any((cpu, i) => store128(cpu, i, true)),
});
sse(0x2b, 'movntps/movntpd', {
  none: memOnly((cpu, i) => store128(cpu, i, true)),
  p66: memOnly((cpu, i) => store128(cpu, i, true)),
});
sse(0x50, 'movmskps/movmskpd', {
  none: regOnly((cpu, i) => movmsk(cpu, i, false)),
  p66: regOnly((cpu, i) => movmsk(cpu, i, true)),
});
sse(0x6e, 'movd xmm|mm, r/m32', { none: any(movdToMm), p66: any(movdToXmm) });
sse(0x6f, 'movq mm/movdqa/movdqu (load)', {
  none: any(movqToMm),
  p66: any((cpu, i) => load128(cpu, i, true)),
  f3: any((cpu, i) => load128(cpu, i, false)),
});
sse(0x7e, 'movd r/m32, mm|xmm / movq xmm, xmm/m64', {
  none: any(movdFromMm),
  p66: any(movdFromXmm),
  f3: any((cpu, i) => loadLow(cpu, i, 2, true)),
});
sse(0x7f, 'movq mm/movdqa/movdqu (store)', {
  none: any(movqFromMm),
  p66: any((cpu, i) => store128(cpu, i, true)),
  f3: any((cpu, i) => store128(cpu, i, false)),
});
sse(0xc3, 'movnti', { none: memOnly(movnti) });
sse(0xd6, 'movq xmm/m64, xmm / movq2dq / movdq2q', {
  p66: any((cpu, i) => storeLow(cpu, i, 2, true)),
  f3: regOnly(movq2dq),
  f2: regOnly(movdq2q),
});
sse(0xd7, 'pmovmskb', { none: regOnly(pmovmskbMm), p66: regOnly(pmovmskb) });
sse(0xe7, 'movntq/movntdq', { none: memOnly(movqFromMm), p66: memOnly((cpu, i) => store128(cpu, i, true)) });
sse(0xf7, 'maskmovq/maskmovdqu', { none: regOnly(maskmovq), p66: regOnly(maskmovdqu) });

// ---- logic, shuffles ----
for (const [opcode, name, kind] of [[0x54, 'and', LOGIC_AND], [0x55, 'andn', LOGIC_ANDN], [0x56, 'or', LOGIC_OR], [0x57, 'xor', LOGIC_XOR]] as const) {
  const fn: Exec = (cpu, i) => logic(cpu, i, kind);
  sse(opcode, `${name}ps/${name}pd`, { none: any(fn), p66: any(fn) });
}
sse(0xc6, 'shufps/shufpd', { none: any(shufps), p66: any(shufpd) }, IMM_IB);
sse(0x70, 'pshufw/pshufd/pshufhw/pshuflw', {
  none: any(pshufwMm),
  p66: any(pshufd),
  f3: any((cpu, i) => pshufw(cpu, i, true)),
  f2: any((cpu, i) => pshufw(cpu, i, false)),
}, IMM_IB);
sse(0xc4, 'pinsrw', { none: any(pinsrwMm), p66: any(pinsrw) }, IMM_IB);
sse(0xc5, 'pextrw', { none: regOnly(pextrwMm), p66: regOnly(pextrw) }, IMM_IB);

// ---- floating-point arithmetic, compares ----
arithmetic(0x58, 'add', addFn, addFast);
arithmetic(0x59, 'mul', mulFn, mulFast);
arithmetic(0x5c, 'sub', subFn, subFast);
arithmetic(0x5d, 'min', minFn, minFast, true);
arithmetic(0x5e, 'div', divFn, divFast);
arithmetic(0x5f, 'max', maxFn, maxFast, true);
arithmetic(0x51, 'sqrt', sqrtFn, sqrtFast);
sse(0x52, 'rsqrtps/rsqrtss', {
  none: any((cpu, i) => floatBinary(cpu, i, F32, false, rsqrtFn)),
  f3: any((cpu, i) => floatBinary(cpu, i, F32, true, rsqrtFn)),
});
sse(0x53, 'rcpps/rcpss', {
  none: any((cpu, i) => floatBinary(cpu, i, F32, false, rcpFn)),
  f3: any((cpu, i) => floatBinary(cpu, i, F32, true, rcpFn)),
});
sse(0xc2, 'cmpps/cmppd/cmpss/cmpsd', {
  none: any((cpu, i) => floatCompare(cpu, i, F32, false)),
  p66: any((cpu, i) => floatCompare(cpu, i, F64, false)),
  f3: any((cpu, i) => floatCompare(cpu, i, F32, true)),
  f2: any((cpu, i) => floatCompare(cpu, i, F64, true)),
}, IMM_IB);
sse(0x2e, 'ucomiss/ucomisd', {
  none: any((cpu, i) => comis(cpu, i, F32, false)),
  p66: any((cpu, i) => comis(cpu, i, F64, false)),
});
sse(0x2f, 'comiss/comisd', {
  none: any((cpu, i) => comis(cpu, i, F32, true)),
  p66: any((cpu, i) => comis(cpu, i, F64, true)),
});

// ---- conversions ----
sse(0x2a, 'cvtpi2ps/cvtpi2pd/cvtsi2ss/cvtsi2sd', {
  none: any((cpu, i) => cvtpi2p(cpu, i, false)),
  p66: any((cpu, i) => cvtpi2p(cpu, i, true)),
  f3: any((cpu, i) => cvtsi2s(cpu, i, F32)),
  f2: any((cpu, i) => cvtsi2s(cpu, i, F64)),
});
sse(0x2c, 'cvttps2pi/cvttpd2pi/cvttss2si/cvttsd2si', {
  none: any((cpu, i) => cvtp2pi(cpu, i, false, true)),
  p66: any((cpu, i) => cvtp2pi(cpu, i, true, true)),
  f3: any((cpu, i) => cvts2si(cpu, i, F32, true)),
  f2: any((cpu, i) => cvts2si(cpu, i, F64, true)),
});
sse(0x2d, 'cvtps2pi/cvtpd2pi/cvtss2si/cvtsd2si', {
  none: any((cpu, i) => cvtp2pi(cpu, i, false, false)),
  p66: any((cpu, i) => cvtp2pi(cpu, i, true, false)),
  f3: any((cpu, i) => cvts2si(cpu, i, F32, false)),
  f2: any((cpu, i) => cvts2si(cpu, i, F64, false)),
});
sse(0x5a, 'cvtps2pd/cvtpd2ps/cvtss2sd/cvtsd2ss', {
  none: any(cvtps2pd),
  p66: any(cvtpd2ps),
  f3: any((cpu, i) => cvtScalar(cpu, i, F32, F64)),
  f2: any((cpu, i) => cvtScalar(cpu, i, F64, F32)),
});
sse(0x5b, 'cvtdq2ps/cvtps2dq/cvttps2dq', {
  none: any(cvtdq2ps),
  p66: any((cpu, i) => cvtps2dq(cpu, i, false)),
  f3: any((cpu, i) => cvtps2dq(cpu, i, true)),
});
sse(0xe6, 'cvttpd2dq/cvtdq2pd/cvtpd2dq', {
  p66: any((cpu, i) => cvtpd2dq(cpu, i, true)),
  f3: any(cvtdq2pd),
  f2: any((cpu, i) => cvtpd2dq(cpu, i, false)),
});

// ---- SSE2 integer ----
for (const [opcode, body] of Object.entries(INTEGER_BODIES)) {
  const code = Number(opcode);
  const mmx = code === 0x6c || code === 0x6d ? undefined : any((cpu, i) => mmxIntegerOp(cpu, i, code)); // PUNPCKL/HQDQ: XMM only
  sse(code, `integer 0f ${code.toString(16)}`, { none: mmx, p66: any((cpu, i) => integerOp(cpu, i, body)) });
}
for (const [opcode, bits, kind] of [
  [0xd1, 16, SHIFT_RIGHT], [0xd2, 32, SHIFT_RIGHT], [0xd3, 64, SHIFT_RIGHT], [0xe1, 16, SHIFT_ARITH], [0xe2, 32, SHIFT_ARITH],
  [0xf1, 16, SHIFT_LEFT], [0xf2, 32, SHIFT_LEFT], [0xf3, 64, SHIFT_LEFT],
] as const) {
  sse(opcode, `shift 0f ${opcode.toString(16)}`, {
    none: any((cpu, i) => mmxShiftByReg(cpu, i, bits, kind)),
    p66: any((cpu, i) => shiftByXmm(cpu, i, bits, kind)),
  });
}
/** The shift groups 12, 13, 14 (0F 71, 72, 73 /reg ib, register operand only). */
function shiftGroup(opcode: number, bits: number): void {
  sse(opcode, `shift group 0f ${opcode.toString(16)}`, {
    none: (i) => {
      if (i.mod !== 3) return undefined;
      if (i.reg === 2) return (cpu, j) => mmxShiftByImm(cpu, j, bits, SHIFT_RIGHT);
      if (i.reg === 4 && bits !== 64) return (cpu, j) => mmxShiftByImm(cpu, j, bits, SHIFT_ARITH);
      if (i.reg === 6) return (cpu, j) => mmxShiftByImm(cpu, j, bits, SHIFT_LEFT);
      return undefined;
    },
    p66: (i) => {
      if (i.mod !== 3) return undefined;
      switch (i.reg) {
        case 2: return (cpu, j) => shiftByImm(cpu, j, bits, SHIFT_RIGHT);
        case 3: return bits === 64 ? (cpu, j) => shiftBytes(cpu, j, false) : undefined; // PSRLDQ
        case 4: return bits === 64 ? undefined : (cpu, j) => shiftByImm(cpu, j, bits, SHIFT_ARITH);
        case 6: return (cpu, j) => shiftByImm(cpu, j, bits, SHIFT_LEFT);
        case 7: return bits === 64 ? (cpu, j) => shiftBytes(cpu, j, true) : undefined; // PSLLDQ
        default: return undefined;
      }
    },
  }, IMM_IB);
}
shiftGroup(0x71, 16);
shiftGroup(0x72, 32);
shiftGroup(0x73, 64);

// ---- state management, ordering, cache control, hints ----
sse(0xae, 'group 15: fxsave/fxrstor/ldmxcsr/stmxcsr/lfence/mfence/sfence/clflush', {
  none: (i) => {
    if (i.mod !== 3) return [fxsave, fxrstor, ldmxcsr, stmxcsr, undefined, undefined, undefined, clflush][i.reg];
    return i.reg >= 5 ? fence : undefined; // LFENCE, MFENCE, SFENCE
  },
});
// PREFETCHT0/T1/T2/NTA (0F 18 /0-/3; /4-/7 are hint NOPs too), any prefix. 0F 19-1F are the P6 hint NOPs (ops/misc.ts).
{
  const nop = any(hintNop);
  sse(0x18, 'prefetch/hint nop', { none: nop, p66: nop, f3: nop, f2: nop });
}

// EMMS (0F 77, no ModRM); with a 66/F2/F3 prefix it is not defined.
defineOp(0x177, op('emms', false, IMM_NONE, (i) => (i.rep !== 0 || i.p66 ? ud : emms)));
