/**
 * x87 compares: C3/C2/C0 of FCOM/FUCOM/FICOM/FTST for >, <, = and unordered
 * (IE on any NaN for FCOM, only on an SNaN for FUCOM), FCOMI/FUCOMI(P)
 * results in ZF/PF/CF with OF/SF/AF cleared, FXAM classes, FCMOVcc.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { f64, fpuRom, hex } from './fpuTestUtil.ts';

const IE = 0x01, SF = 0x40, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;
const CF = 0x1, PF = 0x4, ZF = 0x40;
const top = (n: number) => n << 11;

function run(body: string, data = ''): number[] {
  const r = runAsm(fpuRom(body, data));
  expect(r.stop).toBe('halt');
  return r.values;
}

const DATA = `
one:   dq 1.0
two:   dq 2.0
qnan:  dq 0x7FF8000000000000
snan:  dq 0x7FF0000000000001
m_two: dw 2
`;

describe('x87 FCOM/FUCOM/FICOM/FTST', () => {
  it('sets C3 C2 C0 for >, <, = and unordered', () => {
    const values = run(`
        fld qword [cs:one]
        fcom qword [cs:two]          ; 1 < 2
        OUT_SW
        fcom qword [cs:one]          ; =
        OUT_SW
        fld qword [cs:two]
        fcom st1                     ; 2 > 1
        OUT_SW
        fcomp st1                    ; pops
        OUT_SW
        ficom word [cs:m_two]        ; 1 < 2
        OUT_SW
        ftst                         ; 1 > 0
        OUT_SW
        fcom qword [cs:qnan]         ; unordered, QNaN: IE for FCOM
        OUT_SW
        fnclex
        fld qword [cs:qnan]
        fucom st1                    ; unordered, QNaN: no IE for FUCOM
        OUT_SW
        fld qword [cs:snan]
        fucomp st1                   ; SNaN: IE
        OUT_SW
        fnclex
        fucompp                      ; QNaN vs 1, pops both
        OUT_SW
        fld qword [cs:one]
        fld qword [cs:one]
        fcompp
        OUT_SW
`, DATA);
    expect(hex(values)).toEqual(hex([
      top(7) | C0,
      top(7) | C3,
      top(6),
      top(7),
      top(7) | C0,
      top(7),
      top(7) | C3 | C2 | C0 | IE,
      top(6) | C3 | C2 | C0,
      top(6) | C3 | C2 | C0 | IE,
      top(0) | C3 | C2 | C0,
      top(0) | C3,
    ]));
  });

  it('an empty operand is a stack underflow: IE, SF, unordered, C1 = 0', () => {
    const values = run(`
        fld1
        fcom st3
        OUT_SW
`);
    expect(hex(values)).toEqual(hex([top(7) | IE | SF | C3 | C2 | C0]));
  });
});

describe('x87 FCOMI family', () => {
  /** Sets every arithmetic flag, compares, and reports EFLAGS' six arithmetic bits (OF/SF/AF must read 0) and the status word. */
  function fcomi(op: string): string {
    return `
        push dword 0x8D7
        popfd
        ${op}
        pushfd
        pop eax
        and eax, 0x8D5
        out 0xF0, eax
        OUT_SW`;
  }
  it('sets ZF/PF/CF and clears OF/SF/AF', () => {
    const values = run(`
        fld qword [cs:two]
        fld qword [cs:one]
        ${fcomi('fcomi st0, st1')}      ; 1 < 2: CF
        fxch
        ${fcomi('fcomi st0, st1')}      ; 2 > 1: none
        fld st0
        ${fcomi('fucomi st0, st1')}     ; equal: ZF
        ${fcomi('fucomip st0, st1')}    ; equal, pops
        fld qword [cs:qnan]
        ${fcomi('fucomi st0, st1')}     ; unordered: ZF PF CF, no IE
        ${fcomi('fcomip st0, st1')}     ; unordered, IE, pops
`, DATA);
    expect(hex(values)).toEqual(hex([
      CF, top(6),
      0, top(6),
      ZF, top(5),
      ZF, top(6),
      ZF | PF | CF, top(5),
      ZF | PF | CF, top(6) | IE,
    ]));
  });
});

describe('x87 FXAM and FCMOVcc', () => {
  it('FXAM classifies ST(0) with its sign in C1', () => {
    const values = run(`
        fxam                         ; empty
        OUT_SW
        fld qword [cs:two]
        fxam                         ; normal
        OUT_SW
        fchs
        fxam                         ; negative normal
        OUT_SW
        fldz
        fxam                         ; zero
        OUT_SW
        fld qword [cs:qnan]
        fxam                         ; NaN
        OUT_SW
        fld qword [cs:inf]
        fchs
        fxam                         ; -infinity
        OUT_SW
        fld tword [cs:ext_huge]
        fxam                         ; 2^16383: normal (its binary64 value would be +inf)
        OUT_SW
        fld tword [cs:ext_denormal]
        fxam                         ; an 80-bit denormal
        OUT_SW
`, DATA + `
inf:          dq 0x7FF0000000000000
ext_huge:     dq 0x8000000000000000
              dw 0x7FFE
ext_denormal: dq 0x0000000000000001
              dw 0x0000
`);
    expect(hex(values)).toEqual(hex([
      top(0) | C3 | C0,
      top(7) | C2,
      top(7) | C2 | C1,
      top(6) | C3,
      top(5) | C0,
      top(4) | C2 | C0 | C1,
      top(3) | C2,
      top(2) | C3 | C2,
    ]));
  });

  it('FCMOVcc copies ST(i) to ST(0) when the EFLAGS condition holds', () => {
    const values = run(`
        fld qword [cs:two]
        fld qword [cs:one]
        stc
        fcmovnb st0, st1             ; CF=1: not taken
        fcmovb st0, st1              ; taken: ST(0) = 2
        ST0_AS_F64
        fld qword [cs:one]
        xor eax, eax                 ; ZF=1, PF=1
        fcmovne st0, st1
        ST0_AS_F64
        fld qword [cs:one]
        xor eax, eax
        fcmovu st0, st1              ; PF=1: taken
        ST0_AS_F64
`, DATA);
    expect(hex(values)).toEqual(hex([...f64(2), ...f64(1), ...f64(2)]));
  });
});
