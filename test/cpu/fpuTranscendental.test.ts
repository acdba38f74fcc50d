/**
 * x87 transcendental instructions on well-conditioned operands, against the
 * host's Math functions within 1 ulp (a real x87's results can differ from
 * the correctly rounded value by about as much), plus the exact cases, the
 * out-of-range rule (C2 = 1 for |x| >= 2^63) and the invalid/zero-divide
 * responses.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { f64, fpuRom, hex, toF64 } from './fpuTestUtil.ts';

const IE = 0x01, ZE = 0x04, C2 = 0x400;
const top = (n: number) => n << 11;

function run(body: string, data = ''): number[] {
  const r = runAsm(fpuRom(body, data));
  expect(r.stop).toBe('halt');
  return r.values;
}

/** Pairs of reported dwords as binary64 values. */
function doubles(values: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k + 1 < values.length; k += 2) out.push(toF64(values[k], values[k + 1]));
  return out;
}

function ulp(x: number): number {
  const e = Math.floor(Math.log2(Math.abs(x)));
  return 2 ** (e - 52);
}

function expectWithinUlp(got: number, want: number): void {
  expect(Math.abs(got - want)).toBeLessThanOrEqual(ulp(want));
}

const DATA = `
half:    dq 0.5
one:     dq 1.0
two:     dq 2.0
three:   dq 3.0
eight:   dq 8.0
quarter: dq 0.25
`;

describe('x87 transcendentals', () => {
  it('FSIN, FCOS, FSINCOS, FPTAN, FPATAN within 1 ulp', () => {
    const got = doubles(run(`
        fld qword [cs:half]
        fsin
        ST0_AS_F64
        fld qword [cs:half]
        fcos
        ST0_AS_F64
        fld qword [cs:one]
        fsincos                      ; ST(0) = cos, ST(1) = sin
        ST0_AS_F64
        ST0_AS_F64
        fld qword [cs:half]
        fptan                        ; ST(0) = 1.0, ST(1) = tan
        ST0_AS_F64
        ST0_AS_F64
        fld qword [cs:one]
        fld qword [cs:two]
        fpatan                       ; atan(ST(1) / ST(0)) = atan2(1, 2)
        ST0_AS_F64
`, DATA));
    expectWithinUlp(got[0], Math.sin(0.5));
    expectWithinUlp(got[1], Math.cos(0.5));
    expectWithinUlp(got[2], Math.cos(1));
    expectWithinUlp(got[3], Math.sin(1));
    expect(got[4]).toBe(1);
    expectWithinUlp(got[5], Math.tan(0.5));
    expectWithinUlp(got[6], Math.atan2(1, 2));
  });

  it('F2XM1, FYL2X, FYL2XP1 within 1 ulp, exact where the result is', () => {
    const got = doubles(run(`
        fld qword [cs:half]
        f2xm1
        ST0_AS_F64
        fld qword [cs:three]
        fld qword [cs:eight]
        fyl2x                        ; 3 * log2(8) = 9 exactly
        ST0_AS_F64
        fld qword [cs:one]
        fld qword [cs:quarter]
        fyl2xp1                      ; log2(1.25)
        ST0_AS_F64
`, DATA));
    expectWithinUlp(got[0], 0.41421356237309504880168872420969807); // sqrt(2) - 1
    expect(got[1]).toBe(9);
    expectWithinUlp(got[2], Math.log2(1.25));
  });

  it('leaves an operand of 2^63 or more unchanged and sets C2', () => {
    const values = run(`
        fld qword [cs:big]
        fsin
        OUT_SW
        ST0_AS_F64
        fld qword [cs:half]
        fcos
        OUT_SW                       ; C2 cleared again
        fstp st0
`, DATA + `
big: dq 0x43E0000000000000           ; 2^63
`);
    expect(hex(values.slice(0, 3))).toEqual(hex([top(7) | C2, ...f64(2 ** 63)]));
    expect(values[3] & C2).toBe(0);
  });

  it('FPTAN on an empty stack: IE + SF, and (masked) the indefinite in ST(0) and pushed', () => {
    const values = run(`
        fptan
        OUT_SW
        ST0_AS_F64
        ST0_AS_F64
`);
    expect(hex(values)).toEqual(hex([top(7) | IE | 0x40, 0, 0xfff8_0000, 0, 0xfff8_0000]));
  });

  it('FYL2X of 0 is a zero divide; of a negative number an invalid operation', () => {
    const values = run(`
        fld qword [cs:one]
        fldz
        fyl2x
        OUT_SW
        ST0_AS_F64
        fnclex
        fld qword [cs:one]
        fld qword [cs:one]
        fchs
        fyl2x
        OUT_SW
        ST0_AS_F64
`, DATA);
    expect(hex(values)).toEqual(hex([
      top(7) | ZE, ...f64(-Infinity),
      top(7) | IE, 0, 0xfff8_0000,
    ]));
  });
});
