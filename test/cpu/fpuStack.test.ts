/**
 * x87 register-stack manipulation: FLD ST(i), FST/FSTP ST(i), FXCH, FFREE,
 * FFREEP, FINCSTP/FDECSTP (TOP only, tags untouched), FNOP, and the tag word
 * each leaves behind.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { f64, fpuRom, hex } from './fpuTestUtil.ts';

const IE = 0x01, SF = 0x40, C3 = 0x4000, C0 = 0x100;
const top = (n: number) => n << 11;

function run(body: string, data = ''): number[] {
  const r = runAsm(fpuRom(body, data));
  expect(r.stop).toBe('halt');
  return r.values;
}

const DATA = `
two:   dq 2.0
three: dq 3.0
`;

describe('x87 constants', () => {
  it('the constants are 64-bit roundings by RC (nearest: the 8087 values; no PE)', () => {
    const body = (cw: string) => `
        SET_CW ${cw}
        fldl2t
        fldl2e
        fldpi
        fldlg2
        fldln2
        OUT_SW
${'        fstp tword [0x600]\n        OUT_M80 0x600\n'.repeat(5)}`;
    const values = run(body('0x037F') + body('0x0F7F') + body('0x0B7F'));
    const image = (se: number, sig: bigint) => [Number(sig & 0xffff_ffffn), Number(sig >> 32n), se];
    const consts = (l2t: bigint, l2e: bigint, pi: bigint, lg2: bigint, ln2: bigint) => [
      top(3), ...image(0x3ffe, ln2), ...image(0x3ffd, lg2), ...image(0x4000, pi), ...image(0x3fff, l2e), ...image(0x4000, l2t),
    ];
    expect(hex(values)).toEqual(hex([
      ...consts(0xd49a784bcd1b8afen, 0xb8aa3b295c17f0bcn, 0xc90fdaa22168c235n, 0x9a209a84fbcff799n, 0xb17217f7d1cf79acn),
      ...consts(0xd49a784bcd1b8afen, 0xb8aa3b295c17f0bbn, 0xc90fdaa22168c234n, 0x9a209a84fbcff798n, 0xb17217f7d1cf79abn),
      ...consts(0xd49a784bcd1b8affn, 0xb8aa3b295c17f0bcn, 0xc90fdaa22168c235n, 0x9a209a84fbcff799n, 0xb17217f7d1cf79acn),
    ]));
  });

  it('FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ: stored as m64, the binary64 roundings of their constants', () => {
    const values = run(`
        fld1
        ST0_AS_F64
        fldl2t
        ST0_AS_F64
        fldl2e
        ST0_AS_F64
        fldpi
        ST0_AS_F64
        fldlg2
        ST0_AS_F64
        fldln2
        ST0_AS_F64
        fldz
        ST0_AS_F64
`);
    expect(hex(values)).toEqual(hex([
      ...f64(1),
      ...f64(3.3219280948873623478703194294893901758648), // log2(10)
      ...f64(Math.LOG2E),
      ...f64(Math.PI),
      ...f64(0.30102999566398119521373889472449302676818988), // log10(2)
      ...f64(Math.LN2),
      ...f64(0),
    ]));
  });
});

describe('x87 stack manipulation', () => {
  it('FLD ST(i), FXCH and FST/FSTP ST(i) move values between registers', () => {
    const values = run(`
        fld1                         ; ST: 1
        fld qword [cs:two]           ; ST: 2 1
        fld qword [cs:three]         ; ST: 3 2 1
        fld st2                      ; ST: 1 3 2 1
        fxch st2                     ; ST: 2 3 1 1
        fst st3                      ; ST: 2 3 1 2
        fstp st1                     ; ST: 2 1 2
        ST0_AS_F64
        ST0_AS_F64
        ST0_AS_F64
        OUT_SW
`, DATA);
    expect(hex(values)).toEqual(hex([...f64(2), ...f64(1), ...f64(2), top(0)]));
  });

  it('FFREE empties a register without moving TOP; FFREEP also pops', () => {
    const values = run(`
        fld1
        fld1
        fld1                         ; R5 R6 R7 in use
        ffree st1                    ; R6 empty
        fnstenv [0x600]
        OUT_M16 0x604
        OUT_SW
        db 0xDF, 0xC0                ; ffreep st0: R5 empty, TOP = 6
        fnstenv [0x600]
        OUT_M16 0x604
        OUT_SW
        fxam                         ; ST(0) = R6: empty
        OUT_SW
`);
    expect(hex(values)).toEqual(hex([
      0x33ff, top(5), // R7 valid, R6 empty, R5 valid, R0-R4 empty
      0x3fff, top(6), // R5 empty as well
      top(6) | C3 | C0,
    ]));
  });

  it('FINCSTP/FDECSTP rotate TOP (wrapping) and leave tags alone; FNOP changes nothing', () => {
    const values = run(`
        fld qword [cs:two]           ; R7 = 2, TOP = 7
        fincstp                      ; TOP = 0 (R0 empty)
        OUT_SW
        fnop
        OUT_SW
        fdecstp                      ; TOP = 7 again, ST(0) = 2
        ST0_AS_F64
        fdecstp                      ; the pop emptied R7; TOP = 0 -> 7, empty ST(0): reading it underflows
        fst qword [0x600]
        OUT_SW
        OUT_M64 0x600                ; masked response: the indefinite is stored
`, DATA);
    expect(hex(values)).toEqual(hex([
      top(0), top(0),
      ...f64(2),
      top(7) | IE | SF, 0, 0xfff8_0000,
    ]));
  });
});
