/**
 * x87 loads and stores of every memory format, with exact bit patterns:
 * 80-bit extended images (SDM Vol. 1 4.2.2: explicit integer bit, bias
 * 16383), single/double with RC and special values, 16/32/64-bit integers
 * with the integer indefinite, packed BCD.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { f32, f64, fpuRom, hex } from './fpuTestUtil.ts';

const IE = 0x01, DE = 0x02, OE = 0x08, UE = 0x10, PE = 0x20, SF = 0x40, C1 = 0x200;
/** The TOP field of the status word. */
const top = (n: number) => n << 11;

function run(body: string, data: string): number[] {
  const r = runAsm(fpuRom(body, data));
  expect(r.stop).toBe('halt');
  return r.values;
}

describe('x87 extended (m80fp) format', () => {
  it('stores binary64 values as exact 80-bit images', () => {
    const values = run(`
        fld qword [cs:one]
        fstp tword [0x600]
        OUT_M80 0x600
        fld qword [cs:minus_2_5]
        fstp tword [0x600]
        OUT_M80 0x600
        fldpi
        fstp tword [0x600]
        OUT_M80 0x600
        fld qword [cs:inf]
        fstp tword [0x600]
        OUT_M80 0x600
        fld qword [cs:neg_inf]
        fstp tword [0x600]
        OUT_M80 0x600
        fld qword [cs:qnan]
        fstp tword [0x600]
        OUT_M80 0x600
        fldz
        fchs
        fstp tword [0x600]
        OUT_M80 0x600
        OUT_SW
        fld qword [cs:denormal]      ; a binary64 denormal is an 80-bit normal; loading it signals DE
        OUT_SW
        fstp tword [0x600]
        OUT_M80 0x600
`, `
one:       dq 0x3FF0000000000000
minus_2_5: dq 0xC004000000000000
inf:       dq 0x7FF0000000000000
neg_inf:   dq 0xFFF0000000000000
qnan:      dq 0x7FF8000000000001
denormal:  dq 0x0000000000000001
`);
    expect(hex(values)).toEqual(hex([
      0, 0x8000_0000, 0x3fff, // 1.0
      0, 0xa000_0000, 0xc000, // -2.5 = -1.25 * 2^1
      0x2168_c235, 0xc90f_daa2, 0x4000, // FLDPI: pi rounded to 64 bits
      0, 0x8000_0000, 0x7fff, // +inf
      0, 0x8000_0000, 0xffff, // -inf
      0x800, 0xc000_0000, 0x7fff, // QNaN, payload 1 moved up 11 bits
      0, 0, 0x8000, // -0
      0, // no exceptions so far
      DE | top(7),
      0, 0x8000_0000, 16383 - 1074, // 2^-1074
    ]));
  });

  it('loads 80-bit images exactly: arithmetic keeps all 64 bits; m64 stores round, overflow and underflow', () => {
    const values = run(`
        fld tword [cs:ext_3]
        ST0_AS_F64
        fld tword [cs:ext_1_plus_2_63]   ; 1 + 2^-63: FSTP m80 gives it back bit for bit
        fstp tword [0x600]
        OUT_M80 0x600
        fld tword [cs:ext_1_plus_2_63]   ; ... and arithmetic sees all of it
        fldz
        faddp st1, st0
        fstp tword [0x600]
        OUT_M80 0x600
        fld tword [cs:ext_huge]          ; copies of out-of-range values are exact too
        fld st0
        fstp tword [0x600]
        OUT_M80 0x600
        fstp st0
        fld tword [cs:ext_1_plus_2_52]   ; 1 + 2^-52 is exact in binary64
        ST0_AS_F64
        fld tword [cs:ext_huge]          ; 2^16383 is beyond binary64: +inf (OE, PE, C1)
        ST0_AS_F64
        fld tword [cs:ext_tiny]          ; 2^-16382 is below binary64: +0 (UE, PE)
        ST0_AS_F64
        OUT_SW
        fld tword [cs:ext_snan]          ; FLD m80 of an SNaN signals nothing
        OUT_SW
        fstp qword [0x600]               ; storing it as m64 does: IE, and the QNaN is stored
        OUT_M64 0x600
        OUT_SW
`, `
ext_3:           dq 0xC000000000000000
                 dw 0x4000
ext_1_plus_2_63: dq 0x8000000000000001
                 dw 0x3FFF
ext_1_plus_2_52: dq 0x8000000000000800
                 dw 0x3FFF
ext_huge:        dq 0x8000000000000000
                 dw 0x7FFE
ext_tiny:        dq 0x8000000000000000
                 dw 0x0001
ext_snan:        dq 0xA000000000000000
                 dw 0x7FFF
`);
    expect(hex(values)).toEqual(hex([
      ...f64(3),
      1, 0x8000_0000, 0x3fff,
      1, 0x8000_0000, 0x3fff,
      0, 0x8000_0000, 0x7ffe,
      ...f64(1 + 2 ** -52),
      ...f64(Infinity),
      ...f64(0),
      OE | UE | PE,
      top(7) | OE | UE | PE,
      0, 0x7ffc_0000, // SNaN 0x7FF4... quieted
      IE | OE | UE | PE,
    ]));
  });
});

describe('x87 single and double formats', () => {
  it('rounds float32 stores by RC and sets C1 when rounding up', () => {
    const values = run(`
        fld qword [cs:third]
        fst dword [0x600]               ; nearest: up
        OUT_M32 0x600
        OUT_SW
        SET_CW 0x077F                   ; down
        fst dword [0x600]
        OUT_M32 0x600
        OUT_SW
        SET_CW 0x0B7F                   ; up
        fst dword [0x600]
        OUT_M32 0x600
        SET_CW 0x0F7F                   ; chop
        fst dword [0x600]
        OUT_M32 0x600
        fchs                            ; -1/3
        SET_CW 0x077F                   ; down: away from zero
        fst dword [0x600]
        OUT_M32 0x600
        SET_CW 0x0B7F                   ; up: toward zero
        fstp dword [0x600]
        OUT_M32 0x600
`, `
third: dq 0x3FD5555555555555
`);
    const nearest = f32(1 / 3); // 0x3EAAAAAB, above 1/3
    expect(hex(values)).toEqual(hex([
      nearest, top(7) | PE | C1,
      nearest - 1, top(7) | PE, // rounded down: C1 clear
      nearest,
      nearest - 1,
      (nearest - 1 + 0x8000_0000 + 1) >>> 0, // -0x3EAAAAAB
      (nearest - 1 + 0x8000_0000) >>> 0,
    ]));
  });

  it('handles overflow, SNaN and denormal operands of float32/float64', () => {
    const values = run(`
        fld qword [cs:big]
        fst dword [0x600]               ; overflow, masked: +inf
        OUT_M32 0x600
        OUT_SW
        fnclex
        SET_CW 0x0F7F                   ; chop: the largest finite value
        fstp dword [0x600]
        OUT_M32 0x600
        SET_CW 0x037F
        fnclex
        fld dword [cs:snan32]           ; SNaN: IE, loaded quiet
        OUT_SW
        fstp dword [0x600]
        OUT_M32 0x600
        fnclex
        fld dword [cs:denormal32]       ; DE on load
        OUT_SW
        fstp qword [0x600]              ; 2^-149 exactly
        OUT_M64 0x600
        fnclex
        fld qword [cs:snan64]
        OUT_SW
        fstp qword [0x600]
        OUT_M64 0x600
`, `
big:        dq 0x7E37E43C8800759C          ; 1e300
snan32:     dd 0x7F800001
denormal32: dd 0x00000001
snan64:     dq 0xFFF0000000000002
`);
    expect(hex(values)).toEqual(hex([
      0x7f80_0000, top(7) | OE | PE | C1,
      0x7f7f_ffff,
      top(7) | IE,
      0x7fc0_0001,
      top(7) | DE,
      ...f64(2 ** -149),
      top(7) | IE,
      2, 0xfff8_0000,
    ]));
  });
});

describe('x87 integer formats', () => {
  it('FILD/FIST(P) of 16/32/64-bit integers, with RC and the integer indefinite', () => {
    const values = run(`
        fild word [cs:minus5]
        fistp dword [0x600]
        OUT_M32 0x600
        fild qword [cs:min64]
        fistp qword [0x600]
        OUT_M64 0x600
        fild qword [cs:big64]
        fistp qword [0x600]
        OUT_M64 0x600
        OUT_SW
        fild qword [cs:max64]           ; 2^63 - 1: FILD/FISTP m64 copies are exact
        fistp qword [0x600]
        OUT_M64 0x600
        OUT_SW
        fild qword [cs:max64]           ; arithmetic keeps all 64 bits: (2^63 - 1) * 1 stores exactly
        fld1
        fmulp st1, st0
        fistp qword [0x600]
        OUT_M64 0x600
        OUT_SW
        fild qword [cs:max64]           ; 2^63 - 1 + 1 = 2^63 is out of range: IE, the indefinite
        fld1
        faddp st1, st0
        fistp qword [0x600]
        OUT_M64 0x600
        OUT_SW
        fnclex
        fld qword [cs:two_5]
        fist word [0x600]               ; nearest even: 2
        OUT_M16 0x600
        SET_CW 0x0B7F
        fist word [0x600]               ; up: 3
        OUT_M16 0x600
        SET_CW 0x077F
        fist word [0x600]               ; down: 2
        OUT_M16 0x600
        fchs
        fist word [0x600]               ; down: -3
        OUT_M16 0x600
        SET_CW 0x0F7F
        fistp word [0x600]              ; chop: -2
        OUT_M16 0x600
        SET_CW 0x037F
        fld qword [cs:three_5]
        fistp dword [0x600]             ; nearest even: 4
        OUT_M32 0x600
        fnclex
        fld qword [cs:forty_k]
        fistp word [0x600]              ; out of range: 0x8000 and IE
        OUT_M16 0x600
        OUT_SW
        fnclex
        fld qword [cs:ten_g]
        fistp dword [0x600]
        OUT_M32 0x600
        OUT_SW
`, `
minus5:  dw -5
min64:   dq 0x8000000000000000
big64:   dq 1234567890123
max64:   dq 0x7FFFFFFFFFFFFFFF
two_5:   dq 0x4004000000000000
three_5: dq 0x400C000000000000
forty_k: dq 0x40E3880000000000
ten_g:   dq 0x4202A05F20000000
`);
    expect(hex(values)).toEqual(hex([
      0xffff_fffb,
      0, 0x8000_0000,
      1234567890123 % 2 ** 32, Math.floor(1234567890123 / 2 ** 32),
      0,
      0xffff_ffff, 0x7fff_ffff, 0,
      0xffff_ffff, 0x7fff_ffff, 0,
      0, 0x8000_0000, IE,
      2, 3, 2, 0xfffd, 0xfffe,
      4,
      0x8000, IE,
      0x8000_0000, IE,
    ]));
  });

  it('FBLD/FBSTP packed BCD, and the BCD indefinite for out-of-range values', () => {
    const values = run(`
        fbld [cs:bcd_neg]
        fistp dword [0x600]
        OUT_M32 0x600
        fild qword [cs:int_big]
        fbstp [0x600]
        OUT_M80 0x600
        fld qword [cs:e18]
        fbstp [0x600]
        OUT_M80 0x600
        OUT_SW
        fbld [cs:bcd_18]                ; 18 digits survive FBLD/FBSTP exactly
        fbstp [0x600]
        OUT_M80 0x600
`, `
bcd_neg: db 0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0, 0x80
bcd_18:  db 0x21, 0x43, 0x65, 0x87, 0x09, 0x21, 0x43, 0x65, 0x87, 0x80
int_big: dq 1234567890123456
e18:     dq 0x43ABC16D674EC800        ; 1e18
`);
    expect(hex(values)).toEqual(hex([
      -123456789 >>> 0,
      0x9012_3456, 0x1234_5678, 0x0000, // digits 1234567890123456, two per byte
      0, 0xc000_0000, 0xffff,
      IE,
      0x8765_4321, 0x6543_2109, 0x8087,
    ]));
  });
});

describe('x87 stack faults', () => {
  it('signals overflow (C1=1) and underflow (C1=0) with IE+SF and the masked responses', () => {
    const values = run(`
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        fld1
        OUT_SW                          ; eight pushes: TOP = 0, no fault
        fld1                            ; ninth: overflow
        OUT_SW
        fstp qword [0x600]              ; the indefinite was pushed
        OUT_M64 0x600
        fninit
        fadd st0, st1                   ; empty registers: underflow
        OUT_SW
        fstp qword [0x600]
        OUT_M64 0x600
`, '');
    expect(hex(values)).toEqual(hex([
      top(0),
      top(7) | IE | SF | C1, // the masked response pushes the indefinite
      0, 0xfff8_0000,
      IE | SF,
      0, 0xfff8_0000,
    ]));
  });
});
