/**
 * x87 arithmetic: every operand form of FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR
 * (register forms spelled as bytes so the operand order is unambiguous),
 * special operands, rounding control with C1, FSQRT, FRNDINT, FSCALE,
 * FXTRACT, FPREM/FPREM1 quotient bits and partial remainders.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { f64, fpuRom, hex } from './fpuTestUtil.ts';

const IE = 0x01, ZE = 0x04, PE = 0x20, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;
const top = (n: number) => n << 11;

function run(body: string, data = ''): number[] {
  const r = runAsm(fpuRom(body, data));
  expect(r.stop).toBe('halt');
  return r.values;
}

/** Loads ST(1) = 4, ST(0) = 10, runs `op` and reports ST(0) and ST(1) (both popped). */
function pair(op: string): string {
  return `
        fld qword [cs:four]
        fld qword [cs:ten]
        ${op}
        ST0_AS_F64
        ST0_AS_F64
        ffree st7
        ffree st6
        fninit`;
}
/** Like `pair` for a popping form: reports the single remaining value. */
function pairPop(op: string): string {
  return `
        fld qword [cs:four]
        fld qword [cs:ten]
        ${op}
        ST0_AS_F64
        fninit`;
}
const DATA = `
four:  dq 4.0
ten:   dq 10.0
`;

describe('x87 arithmetic forms', () => {
  it('ST(0) op ST(i) (D8), ST(i) op ST(0) (DC) and the popping forms (DE)', () => {
    const values = run([
      pair('db 0xD8, 0xC1'), // fadd st0, st1
      pair('db 0xD8, 0xC9'), // fmul st0, st1
      pair('db 0xD8, 0xE1'), // fsub st0, st1: st0 = st0 - st1
      pair('db 0xD8, 0xE9'), // fsubr st0, st1: st0 = st1 - st0
      pair('db 0xD8, 0xF1'), // fdiv st0, st1
      pair('db 0xD8, 0xF9'), // fdivr st0, st1
      pair('db 0xDC, 0xC1'), // fadd st1, st0
      pair('db 0xDC, 0xE1'), // fsubr st1, st0: st1 = st0 - st1
      pair('db 0xDC, 0xE9'), // fsub st1, st0: st1 = st1 - st0
      pair('db 0xDC, 0xF1'), // fdivr st1, st0: st1 = st0 / st1
      pair('db 0xDC, 0xF9'), // fdiv st1, st0: st1 = st1 / st0
      pairPop('db 0xDE, 0xC1'), // faddp
      pairPop('db 0xDE, 0xC9'), // fmulp
      pairPop('db 0xDE, 0xE1'), // fsubrp: st1 = st0 - st1
      pairPop('db 0xDE, 0xE9'), // fsubp: st1 = st1 - st0
      pairPop('db 0xDE, 0xF1'), // fdivrp: st1 = st0 / st1
      pairPop('db 0xDE, 0xF9'), // fdivp: st1 = st1 / st0
    ].join('\n'), DATA);
    expect(hex(values)).toEqual(hex([
      ...f64(14), ...f64(4),
      ...f64(40), ...f64(4),
      ...f64(6), ...f64(4),
      ...f64(-6), ...f64(4),
      ...f64(2.5), ...f64(4),
      ...f64(0.4), ...f64(4),
      ...f64(10), ...f64(14),
      ...f64(10), ...f64(6),
      ...f64(10), ...f64(-6),
      ...f64(10), ...f64(2.5),
      ...f64(10), ...f64(0.4),
      ...f64(14), ...f64(40), ...f64(6), ...f64(-6), ...f64(2.5), ...f64(0.4),
    ]));
  });

  it('memory operands: m32fp, m64fp, m16int, m32int', () => {
    const values = run(`
        fld qword [cs:ten]
        fadd dword [cs:f_1_5]        ; 11.5
        fmul qword [cs:four]         ; 46
        fisub word [cs:i_6]          ; 40
        fidivr dword [cs:i_100]      ; 100 / 40 = 2.5
        fsubr qword [cs:ten]         ; 10 - 2.5 = 7.5
        fidiv word [cs:i_6]          ; 1.25
        fimul dword [cs:i_100]       ; 125
        fiadd word [cs:i_6]          ; 131
        fdiv dword [cs:f_1_5]        ; 87.333...
        fsub dword [cs:f_1_5]
        ST0_AS_F64
        OUT_SW
`, DATA + `
f_1_5: dd 1.5
i_6:   dw 6
i_100: dd 100
`);
    const expected = 131 / 1.5 - 1.5;
    expect(hex(values)).toEqual(hex([...f64(expected), PE]));
  });
});

describe('x87 special operands', () => {
  it('zero divide, invalid operations and NaN propagation (masked responses)', () => {
    const values = run(`
        fld1
        fldz
        fdivp st1, st0               ; 1/0: ZE, +inf
        OUT_SW
        ST0_AS_F64
        fnclex
        fldz
        fldz
        fdivp st1, st0               ; 0/0: IE, indefinite
        OUT_SW
        ST0_AS_F64
        fnclex
        fld qword [cs:inf]
        fld qword [cs:inf]
        fsubp st1, st0               ; inf - inf
        ST0_AS_F64
        fld1
        fchs
        fsqrt                        ; sqrt(-1)
        ST0_AS_F64
        fnclex
        fld qword [cs:qnan_small]
        fld qword [cs:qnan_big]
        faddp st1, st0               ; two QNaNs: the larger significand wins, no IE
        OUT_SW
        ST0_AS_F64
        fld qword [cs:snan]
        fld1
        fmulp st1, st0               ; SNaN: IE, quieted
        OUT_SW
        ST0_AS_F64
`, `
inf:        dq 0x7FF0000000000000
qnan_small: dq 0x7FF8000000000001
qnan_big:   dq 0xFFF8000000000100
snan:       dq 0x7FF0000000000005
`);
    expect(hex(values)).toEqual(hex([
      top(7) | ZE, ...f64(Infinity),
      top(7) | IE, 0, 0xfff8_0000,
      0, 0xfff8_0000,
      0, 0xfff8_0000,
      top(7), 0x100, 0xfff8_0000,
      top(7) | IE, 5, 0x7ff8_0000,
    ]));
  });

  it('an unmasked zero divide leaves the destination and the stack unchanged', () => {
    const values = run(`
        SET_CW 0x037B                ; ZE unmasked
        fld1
        fldz
        fdivp st1, st0
        fnstsw ax                    ; ES and B set, TOP still 6
        movzx eax, ax
        out 0xF0, eax
        fnclex
        ST0_AS_F64                   ; ST(0) is still 0
        ST0_AS_F64                   ; ST(1) is still 1
`);
    expect(hex(values)).toEqual(hex([0x8000 | top(6) | 0x80 | ZE, ...f64(0), ...f64(1)]));
  });
});

describe('x87 rounding', () => {
  it('honours RC for division and sets C1 when the result was rounded up', () => {
    const values = run(`
        fld1
        fdiv qword [cs:three]
        OUT_SW
        ST0_AS_F64
        SET_CW 0x0B7F                ; up
        fld1
        fdiv qword [cs:three]
        OUT_SW
        ST0_AS_F64
        SET_CW 0x077F                ; down
        fld1
        fchs
        fdiv qword [cs:three]
        ST0_AS_F64
        SET_CW 0x0F7F                ; chop
        fld qword [cs:five]
        fdiv qword [cs:three]        ; 5/3 nearest rounds up; chop does not
        ST0_AS_F64
        SET_CW 0x037F
        fld qword [cs:five]
        fdiv qword [cs:three]
        ST0_AS_F64
`, `
three: dq 3.0
five:  dq 5.0
`);
    const third = f64(1 / 3); // nearest, below 1/3
    const fiveThirds = f64(5 / 3); // nearest, above 5/3
    // 1/3 at the default 64-bit precision is 0.AAAA...AAB: rounded up, so C1 = 1 (a binary64 FPU rounded it down).
    expect(hex(values)).toEqual(hex([
      top(7) | PE | C1, ...third,
      top(7) | PE | C1, third[0] + 1, third[1],
      third[0] + 1, third[1] + 0x8000_0000,
      fiveThirds[0] - 1, fiveThirds[1],
      ...fiveThirds,
    ]));
  });

  it('precision control single (PC = 00) rounds arithmetic to 24 bits, by RC', () => {
    const values = run(`
        SET_CW 0x007F                ; PC = single, RC = nearest
        fld1
        fdiv qword [cs:three]
        OUT_SW
        ST0_AS_F64
        SET_CW 0x0C7F                ; PC = single, RC = chop
        fld1
        fdiv qword [cs:three]
        ST0_AS_F64
        SET_CW 0x007F
        fld qword [cs:two]
        fsqrt
        ST0_AS_F64
        fld qword [cs:three]
        fadd qword [cs:tiny]         ; 3 + 2^-40: inexact in 24 bits
        OUT_SW
        ST0_AS_F64
        SET_CW 0x027F                ; PC = double: the 53-bit result
        fld1
        fdiv qword [cs:three]
        ST0_AS_F64
`, `
three: dq 3.0
two:   dq 2.0
tiny:  dq 0x3D70000000000000
`);
    const third24 = Math.fround(1 / 3); // 0x3EAAAAAB: above 1/3
    expect(hex(values)).toEqual(hex([
      top(7) | PE | C1, ...f64(third24),
      ...f64(third24 - 2 ** -25), // one 24-bit ulp (2^-25 at 1/3) lower
      ...f64(Math.fround(Math.SQRT2)),
      top(7) | PE, ...f64(3),
      ...f64(1 / 3),
    ]));
  });

  it('FRNDINT honours RC; FSQRT is exact where it can be', () => {
    const values = run(`
        fld qword [cs:two_5]
        frndint
        ST0_AS_F64                   ; nearest even: 2
        SET_CW 0x0B7F
        fld qword [cs:two_5]
        frndint
        ST0_AS_F64                   ; up: 3
        SET_CW 0x077F
        fld qword [cs:two_5]
        fchs
        frndint
        ST0_AS_F64                   ; down: -3
        SET_CW 0x037F
        fnclex
        fld qword [cs:sixteen]
        fsqrt
        OUT_SW                       ; exact: no PE
        ST0_AS_F64
        fld qword [cs:two]
        fsqrt
        ST0_AS_F64
`, `
two_5:   dq 2.5
sixteen: dq 16.0
two:     dq 2.0
`);
    expect(hex(values)).toEqual(hex([
      ...f64(2), ...f64(3), ...f64(-3),
      top(7), ...f64(4),
      ...f64(Math.SQRT2),
    ]));
  });
});

describe('x87 scaling and remainders', () => {
  it('FSCALE truncates ST(1); FXTRACT splits exponent and significand', () => {
    const values = run(`
        fld qword [cs:four_7]
        fld qword [cs:three]
        fscale                       ; 3 * 2^4
        ST0_AS_F64
        fstp st0
        fld qword [cs:fortyeight]
        fxtract                      ; ST(0) = 1.5, ST(1) = 5
        ST0_AS_F64
        ST0_AS_F64
        fldz
        fxtract                      ; zero: ZE, exponent -inf, significand 0
        OUT_SW
        ST0_AS_F64
        ST0_AS_F64
`, `
four_7:     dq 4.7
three:      dq 3.0
fortyeight: dq 48.0
`);
    expect(hex(values)).toEqual(hex([
      ...f64(48),
      ...f64(1.5), ...f64(5),
      top(6) | ZE, ...f64(0), ...f64(-Infinity),
    ]));
  });

  it('FPREM and FPREM1 report the low quotient bits in C0 (Q2), C3 (Q1), C1 (Q0)', () => {
    const values = run(`
        fld qword [cs:five]
        fld qword [cs:eighteen]
        fprem                        ; 18 = 3*5 + 3: q = 3 -> C3, C1
        OUT_SW
        ST0_AS_F64
        fld qword [cs:eighteen]
        fprem1                       ; 18 = 4*5 - 2: q = 4 -> C0
        OUT_SW
        ST0_AS_F64
        fld qword [cs:minus_39]
        fprem                        ; -39 = -7*5 - 4: q = 7 -> C0, C3, C1
        OUT_SW
        ST0_AS_F64
        fstp st0
`, `
five:     dq 5.0
eighteen: dq 18.0
minus_39: dq -39.0
`);
    expect(hex(values)).toEqual(hex([
      top(6) | C3 | C1, ...f64(3),
      top(6) | C0, ...f64(-2),
      top(6) | C0 | C3 | C1, ...f64(-4),
    ]));
  });

  it('FPREM reduces a large exponent difference in partial steps (C2 = 1) until complete', () => {
    const values = run(`
        fld qword [cs:three]
        fld qword [cs:two_100]
        fprem
        fnstsw ax
        and ax, 0x0400
        movzx eax, ax
        out 0xF0, eax                ; the first step is partial
.again: fprem
        fnstsw ax
        test ah, 0x04
        jnz .again
        ST0_AS_F64                   ; 2^100 mod 3 = 1
`, `
three:   dq 3.0
two_100: dq 0x4630000000000000
`);
    expect(hex(values)).toEqual(hex([C2, ...f64(1)]));
  });
});
