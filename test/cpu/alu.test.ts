/**
 * The eight ALU operations (ADD OR ADC SBB AND SUB XOR CMP), INC/DEC and
 * NEG/NOT on edge values of every size, with carry in clear and set. The
 * expected flags are computed from the SDM's definitions in plain integer
 * arithmetic: CF = unsigned carry/borrow, OF = signed result out of range,
 * AF = carry/borrow out of bit 3, SF/ZF/PF from the result; logic operations
 * clear CF/OF and (P6 behaviour for the undefined AF) AF.
 */
import { describe, expect, it } from 'vitest';
import { AF, ARITH, CF, dwords, hex, OF, runProgram, szp } from './caseRom.ts';

const OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
const EDGES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
const SIZES = [
  { bits: 8, d: 'bl', s: 'dl' },
  { bits: 16, d: 'bx', s: 'dx' },
  { bits: 32, d: 'ebx', s: 'edx' },
];

function signed(bits: number, v: number): number {
  const u = v % 2 ** bits;
  return u >= 2 ** (bits - 1) ? u - 2 ** bits : u;
}
function unsigned(bits: number, v: number): number {
  return (v >>> 0) % 2 ** bits;
}

/** Arithmetic result and flags by definition (no bit tricks). */
export function refAlu(op: string, bits: number, a0: number, b0: number, flagsIn: number): { res: number; flags: number } {
  const a = unsigned(bits, a0), b = unsigned(bits, b0);
  const cin = op === 'adc' || op === 'sbb' ? flagsIn & 1 : 0;
  const lo = 2 ** bits;
  let res: number, cf = false, af = false, of = false;
  switch (op) {
    case 'add': case 'adc': {
      const sum = a + b + cin;
      res = sum % lo;
      cf = sum >= lo;
      af = (a % 16) + (b % 16) + cin >= 16;
      const s = signed(bits, a) + signed(bits, b) + cin;
      of = s >= lo / 2 || s < -lo / 2;
      break;
    }
    case 'sub': case 'sbb': case 'cmp': {
      const diff = a - b - cin;
      res = (diff + lo) % lo;
      cf = diff < 0;
      af = (a % 16) - (b % 16) - cin < 0;
      const s = signed(bits, a) - signed(bits, b) - cin;
      of = s >= lo / 2 || s < -lo / 2;
      break;
    }
    case 'or': res = unsigned(bits, a | b); break;
    case 'and': res = unsigned(bits, a & b); break;
    default: res = unsigned(bits, a ^ b); break;
  }
  return { res: op === 'cmp' ? a : res, flags: szp(bits, res) | (cf ? CF : 0) | (af ? AF : 0) | (of ? OF : 0) };
}

function merge(bits: number, full: number, res: number): number {
  if (bits === 32) return res >>> 0;
  const m = (1 << bits) - 1;
  return ((full & ~m) | (res & m)) >>> 0;
}

function compare(values: number[], expected: { what: string; res: number; flags: number }[]): void {
  expect(values.length).toBe(expected.length * 2);
  const bad: string[] = [];
  expected.forEach((e, k) => {
    const flags = values[2 * k] & ARITH, res = values[2 * k + 1];
    if (flags !== e.flags || res !== e.res >>> 0) bad.push(`${e.what}: got ${hex(res)} flags ${hex(flags)}, want ${hex(e.res)} flags ${hex(e.flags)}`);
  });
  expect(bad.slice(0, 20)).toEqual([]);
}

const REPORT_FLAGS_EBX = `
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax`;

describe('ALU operations', () => {
  it('ADD OR ADC SBB AND SUB XOR CMP: every size, all edge-value pairs, carry in 0 and 1', () => {
    const rows: number[][] = [];
    for (const f of [0x002, 0x002 | ARITH]) for (const a of EDGES) for (const b of EDGES) rows.push([f, a, b]);
    let body = '';
    const expected: { what: string; res: number; flags: number }[] = [];
    for (const op of OPS) {
      for (const size of SIZES) {
        body += `
        mov si, rows
l_${op}_${size.bits}:
        mov eax, [cs:si]
        push eax
        popfd
        mov ebx, [cs:si+4]
        mov edx, [cs:si+8]
        ${op} ${size.d}, ${size.s}${REPORT_FLAGS_EBX}
        add si, 12
        cmp si, rows_end
        jb l_${op}_${size.bits}`;
        for (const [f, a, b] of rows) {
          const r = refAlu(op, size.bits, a, b, f);
          expected.push({ what: `${op} ${size.d}=${hex(a)},${hex(b)} (flags ${hex(f)})`, res: merge(size.bits, a, r.res), flags: r.flags });
        }
      }
    }
    body += `\n        jmp finish\nrows:\n${dwords(rows.flat())}\nrows_end:\n`;
    compare(runProgram(body).values, expected);
  });

  it('immediate and memory forms agree with the register form', () => {
    const run = runProgram(`
        mov dword [0x1000], 0x7fffffff
        add dword [0x1000], byte 1
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, [0x1000]
        out 0xF0, eax
        mov byte [0x1004], 0x80
        stc
        sbb byte [0x1004], 0
        pushfd
        pop eax
        out 0xF0, eax
        movzx eax, byte [0x1004]
        out 0xF0, eax
        mov ax, 0x00ff
        add al, 1
        pushfd
        pop ebx
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax`);
    const v = run.values.map((x, k) => (k % 2 === 0 && k < 4 ? x & ARITH : x));
    expect(v.map(hex)).toEqual([
      hex(refAlu('add', 32, 0x7fffffff, 1, 2).flags), hex(0x80000000),
      hex(refAlu('sbb', 8, 0x80, 0, 3).flags), hex(0x7f),
      hex(0x0000), hex((run.values[5] & ~ARITH) | refAlu('add', 8, 0xff, 1, 2).flags),
    ]);
  });

  it('TEST Eb,Ib via F6 /0 and its alias /1; TEST Ev,Iv via F7 /1 reads a full immediate', () => {
    const run = runProgram(`
        mov ebx, 0x000000f0
        db 0xf6, 0xc3, 0x0f
        pushfd
        pop eax
        out 0xF0, eax
        db 0xf6, 0xcb, 0x80
        pushfd
        pop eax
        out 0xF0, eax
        db 0x66, 0xf7, 0xcb, 0x00, 0x00, 0x00, 0x80
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, 0x1234
        out 0xF0, eax`);
    // 0xf0 & 0x0f = 0: ZF, PF; 0xf0 & 0x80 = 0x80: SF; 0xf0 & 0x80000000 = 0: ZF, PF; then the next instruction decodes normally
    expect(run.values.map((v, k) => (k < 3 ? v & ARITH : v)).map(hex)).toEqual([0x44, 0x80, 0x44, 0x1234].map(hex));
  });

  it('INC/DEC keep CF; NEG sets CF unless the operand is 0; NOT changes no flags', () => {
    let body = '';
    const expected: { what: string; res: number; flags: number }[] = [];
    for (const size of SIZES) {
      for (const v of EDGES) {
        for (const f of [0x002, 0x002 | ARITH]) {
          for (const op of ['inc', 'dec', 'neg', 'not']) {
            body += `
        push dword 0x${f.toString(16)}
        popfd
        mov ebx, 0x${v.toString(16)}
        ${op} ${size.d}${REPORT_FLAGS_EBX}`;
            let r: { res: number; flags: number };
            if (op === 'inc' || op === 'dec') {
              const x = refAlu(op === 'inc' ? 'add' : 'sub', size.bits, v, 1, 2);
              r = { res: x.res, flags: (x.flags & ~CF) | (f & CF) };
            } else if (op === 'neg') {
              r = refAlu('sub', size.bits, 0, v, 2);
            } else {
              r = { res: unsigned(size.bits, ~v), flags: f & ARITH };
            }
            expected.push({ what: `${op} ${size.d}=${hex(v)} (flags ${hex(f)})`, res: merge(size.bits, v, r.res), flags: r.flags });
          }
        }
      }
    }
    compare(runProgram(body).values, expected);
  });
});
