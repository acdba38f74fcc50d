/**
 * Double-extended precision (issue 14): the three defects of the binary64
 * FPU as NASM ROMs, with the exact 80-bit images an x87 gives (1/3 stored
 * with FSTP m80, 2^1000 * 2^1000, FUCOMIP of +inf against LDBL_MAX), and
 * the extended range's edges: overflow by RC and unmasked (bias-adjusted),
 * denormal results, precision control on the same quotient.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { fpuRom, hex } from './fpuTestUtil.ts';

const IE = 0x01, OE = 0x08, UE = 0x10, PE = 0x20, ES = 0x80, C1 = 0x200, B = 0x8000;
const ZF = 0x40, PF = 0x04, CF = 0x01;
const top = (n: number) => n << 11;

function run(body: string): number[] {
  const r = runAsm(fpuRom(body, DATA));
  expect(r.stop).toBe('halt');
  return r.values;
}

const DATA = `
three:     dd 3
p1000:     dq 0x8000000000000000
           dw 0x3FFF + 1000
ldbl_max:  dq 0xFFFFFFFFFFFFFFFF
           dw 0x7FFE
below_max: dq 0xFFFFFFFFFFFFFFFE
           dw 0x7FFE
inf:       dq 0x8000000000000000
           dw 0x7FFF
ldbl_min:  dq 0x8000000000000000
           dw 0x0001
min_odd:   dq 0x8000000000000001
           dw 0x0001
`;

/** Reports EFLAGS' ZF, PF and CF. */
const EFLAGS_ZPC = `
        pushfd
        pop eax
        and eax, 0x45
        out 0xF0, eax`;

describe('x87 double-extended precision', () => {
  it('FSTP m80 of 1/3 gives 3FFD AAAAAAAAAAAAAAAB (rounded up: C1 = 1)', () => {
    const values = run(`
        fld1
        fidiv dword [cs:three]
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([top(7) | PE | C1, 0xaaaa_aaab, 0xaaaa_aaaa, 0x3ffd]));
  });

  it('precision control rounds the same quotient to 24, 53 and 64 bits (the exponent range stays 15 bits)', () => {
    const values = run(`
        SET_CW 0x007F
        fld1
        fidiv dword [cs:three]
        fstp tword [0x600]
        OUT_M80 0x600
        SET_CW 0x027F
        fld1
        fidiv dword [cs:three]
        fstp tword [0x600]
        OUT_M80 0x600
        fld tword [cs:p1000]
        fmul st0, st0                ; 2^2000 at PC = 53: beyond binary64, not beyond the register
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([
      0, 0xaaaa_ab00, 0x3ffd, // 24 bits: ...AAAAAB
      0xaaaa_a800, 0xaaaa_aaaa, 0x3ffd, // 53 bits: the binary64 value of 1/3
      top(7) | PE, // exact (PE is the quotients' sticky flag)
      0, 0x8000_0000, 0x3fff + 2000,
    ]));
  });

  it('2^1000 * 2^1000 is 2^2000 with no exception', () => {
    const values = run(`
        fld tword [cs:p1000]
        fld tword [cs:p1000]
        fmulp st1, st0
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([top(7), 0, 0x8000_0000, 0x3fff + 2000]));
  });

  it('FUCOMIP/FCOMIP: +inf is above LDBL_MAX, LDBL_MAX equals itself and is above its neighbour', () => {
    const values = run(`
        fld tword [cs:ldbl_max]
        fld tword [cs:inf]
        fucomip st0, st1             ; +inf vs LDBL_MAX: greater (ZF = PF = CF = 0)
${EFLAGS_ZPC}
        fld tword [cs:ldbl_max]
        fcomip st0, st1              ; equal: ZF
${EFLAGS_ZPC}
        fld tword [cs:below_max]
        fucomip st0, st1             ; below: CF
${EFLAGS_ZPC}
        fld tword [cs:inf]
        fucomp st1                   ; FUCOM: C3 = C2 = C0 = 0
        OUT_SW
`);
    expect(hex(values)).toEqual(hex([0, ZF, CF, top(7)]));
  });

  it('overflow: LDBL_MAX * 2 is +inf (OE, PE, C1), LDBL_MAX when chopping, bias-adjusted when OE is unmasked', () => {
    const values = run(`
        fld tword [cs:ldbl_max]
        fadd st0, st0
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
        fnclex
        SET_CW 0x0F7F
        fld tword [cs:ldbl_max]
        fadd st0, st0
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
        fninit
        SET_CW 0x0377                ; OE unmasked
        fld tword [cs:ldbl_max]
        fadd st0, st0                ; 2^16384 - 2^16321 exactly, delivered * 2^-24576
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([
      top(7) | OE | PE | C1, 0, 0x8000_0000, 0x7fff,
      top(7) | OE | PE, 0xffff_ffff, 0xffff_ffff, 0x7ffe,
      top(7) | B | ES | OE, 0xffff_ffff, 0xffff_ffff, 0x7ffe + 1 - 24576,
    ]));
  });

  it('underflow: exact denormals signal nothing; inexact ones UE and PE; unmasked UE is bias-adjusted', () => {
    const values = run(`
        fld tword [cs:ldbl_min]
        fidiv dword [cs:three]       ; LDBL_MIN / 3: a denormal, inexact
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
        fnclex
        fld tword [cs:min_odd]
        fld1
        fadd st0, st0
        fdivp st1, st0               ; (LDBL_MIN + 1 ulp) / 2: denormal, a tie to even
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
        fninit
        SET_CW 0x036F                ; UE unmasked
        fld tword [cs:ldbl_min]
        fidiv dword [cs:three]
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([
      top(7) | UE | PE | C1, 0xaaaa_aaab, 0x2aaa_aaaa, 0, // 0.0101...01011, rounded up
      top(7) | UE | PE, 0, 0x4000_0000, 0,
      top(7) | B | ES | UE | PE | C1, 0xaaaa_aaab, 0xaaaa_aaaa, 0x3ffd - 16382 + 24576, // 1/3 * 2^-16382 * 2^24576
    ]));
  });

  it('an invalid operation still gives the real indefinite, FFFF C000000000000000', () => {
    const values = run(`
        fld tword [cs:inf]
        fld tword [cs:inf]
        fsubp st1, st0
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
`);
    expect(hex(values)).toEqual(hex([top(7) | IE, 0, 0xc000_0000, 0xffff]));
  });
});
