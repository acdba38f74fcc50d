/**
 * Shifts and rotates (group 2 and SHLD/SHRD) against a reference model
 * written from the SDM's bit-at-a-time pseudo-code. Where the SDM says a flag
 * is undefined, the model states what the Intel parts with public measurements
 * do (test/cpu/tools/UNDEFINED_FLAGS.md):
 *   OF after any count = OF of the first one-bit step, by the SDM's count-1
 *   definition (ROL/RCL/SHL/SHLD: MSB xor CF; ROR/RCR/SHRD: XOR of the two
 *   top result bits; SHR: MSB of the operand; SAR: 0); AF = 0 after shifts;
 *   SHLD/SHRD with 16-bit operands and counts 17..31 shift op1:op2:op1.
 */
import { describe, expect, it } from 'vitest';
import { ARITH, CF, dwords, hex, OF, runProgram, szp } from './caseRom.ts';

const KINDS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'] as const;

interface Out { res: number; flags: number }

/**
 * The reference: the SDM's steps for the result and CF, and OF of the first one-bit step (a count of 0, or an RCL/RCR
 * count that is a multiple of 9/17 for 8/16-bit operands, changes nothing, OF included).
 */
function refShift(kind: number, bits: number, value: number, countIn: number, flagsIn: number): Out {
  const out = refSteps(kind, bits, value, countIn, flagsIn);
  const count = countIn & 31;
  const rotatesThroughCarry = KINDS[kind] === 'rcl' || KINDS[kind] === 'rcr';
  if (count <= 1 || (rotatesThroughCarry && bits < 32 && count % (bits + 1) === 0)) return out;
  return { res: out.res, flags: (out.flags & ~OF) | (refSteps(kind, bits, value, 1, flagsIn).flags & OF) };
}

/** SDM pseudo-code, one bit per step, BigInt arithmetic; OF by the count-1 formula on the final result. */
function refSteps(kind: number, bits: number, value: number, countIn: number, flagsIn: number): Out {
  const B = BigInt(bits);
  const mask = (1n << B) - 1n;
  let d = BigInt(value >>> 0) & mask;
  const count = countIn & 31;
  const flags = flagsIn & ARITH;
  const res = () => Number(d);
  if (count === 0) return { res: res(), flags };
  const msb = () => Number((d >> (B - 1n)) & 1n);
  const next = () => Number((d >> (B - 2n)) & 1n);
  const withCfOf = (cf: number, of: number) => (flags & ~(CF | OF)) | (cf ? CF : 0) | (of ? OF : 0);
  switch (KINDS[kind]) {
    case 'rol': {
      for (let t = count % bits; t > 0; t--) d = ((d << 1n) | (d >> (B - 1n))) & mask;
      const cf = Number(d & 1n);
      return { res: res(), flags: withCfOf(cf, msb() ^ cf) };
    }
    case 'ror': {
      for (let t = count % bits; t > 0; t--) d = (d >> 1n) | ((d & 1n) << (B - 1n));
      return { res: res(), flags: withCfOf(msb(), msb() ^ next()) };
    }
    case 'rcl': {
      const t0 = bits === 32 ? count : count % (bits + 1);
      if (t0 === 0) return { res: res(), flags };
      let cf = BigInt(flagsIn & 1);
      for (let t = t0; t > 0; t--) {
        const out = (d >> (B - 1n)) & 1n;
        d = ((d << 1n) | cf) & mask;
        cf = out;
      }
      return { res: res(), flags: withCfOf(Number(cf), msb() ^ Number(cf)) };
    }
    case 'rcr': {
      const t0 = bits === 32 ? count : count % (bits + 1);
      if (t0 === 0) return { res: res(), flags };
      let cf = BigInt(flagsIn & 1);
      for (let t = t0; t > 0; t--) {
        const out = d & 1n;
        d = (d >> 1n) | (cf << (B - 1n));
        cf = out;
      }
      return { res: res(), flags: withCfOf(Number(cf), msb() ^ next()) };
    }
    case 'shl':
    case 'sal': {
      let cf = 0n;
      for (let t = count; t > 0; t--) {
        cf = (d >> (B - 1n)) & 1n;
        d = (d << 1n) & mask;
      }
      const of = msb() ^ Number(cf);
      return { res: res(), flags: szp(bits, res()) | (cf ? CF : 0) | (of ? OF : 0) };
    }
    case 'shr': {
      let cf = 0n;
      for (let t = count; t > 0; t--) {
        cf = d & 1n;
        d >>= 1n;
      }
      const of = msb() ^ next();
      return { res: res(), flags: szp(bits, res()) | (cf ? CF : 0) | (of ? OF : 0) };
    }
    default: { // sar
      let cf = 0n;
      for (let t = count; t > 0; t--) {
        cf = d & 1n;
        d = (d >> 1n) | (d & (1n << (B - 1n)));
      }
      return { res: res(), flags: szp(bits, res()) | (cf ? CF : 0) };
    }
  }
}

/** SHLD/SHRD: OF of the first one-bit step (as refShift), the rest from doubleSteps. */
function refDouble(left: boolean, bits: number, dst: number, src: number, countIn: number, flagsIn: number): Out {
  const out = doubleSteps(left, bits, dst, src, countIn, flagsIn);
  if ((countIn & 31) <= 1) return out;
  return { res: out.res, flags: (out.flags & ~OF) | (doubleSteps(left, bits, dst, src, 1, flagsIn).flags & OF) };
}

/** SHLD/SHRD: SDM definition, with the Intel rule for 16-bit counts above 16. */
function doubleSteps(left: boolean, bits: number, dst: number, src: number, countIn: number, flagsIn: number): Out {
  const count = countIn & 31;
  const flags = flagsIn & ARITH;
  const mask = bits === 32 ? 0xffffffffn : 0xffffn;
  const B = BigInt(bits);
  const D = BigInt(dst >>> 0) & mask, S = BigInt(src >>> 0) & mask;
  if (count === 0) return { res: Number(D), flags };
  let r: bigint, cf: bigint;
  const c = BigInt(count);
  if (left) {
    // 16-bit counts > 16 continue through op1 again: the 48-bit string op1:op2:op1.
    const wide = bits === 16 ? (D << 32n) | (S << 16n) | D : (D << B) | S;
    const wbits = bits === 16 ? 48n : 2n * B;
    const shifted = wide << c;
    r = (shifted >> (wbits - B)) & mask;
    cf = (shifted >> wbits) & 1n;
  } else {
    const wide = bits === 16 ? (D << 32n) | (S << 16n) | D : (S << B) | D;
    r = (wide >> c) & mask;
    cf = (wide >> (c - 1n)) & 1n;
  }
  const res = Number(r);
  const msb = Number((r >> (B - 1n)) & 1n);
  const of = left ? msb ^ Number(cf) : msb ^ Number((r >> (B - 2n)) & 1n);
  return { res, flags: szp(bits, res) | (cf ? CF : 0) | (of ? OF : 0) };
}

const VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x8001a5c3, 0x40];
const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 18, 24, 31, 32, 33, 63];
const FLAGS_IN = [0x002, 0x002 | ARITH];
const ROWS: [number, number, number][] = [];
for (const f of FLAGS_IN) for (const v of VALUES) for (const c of COUNTS) ROWS.push([f, v, c]);

const SIZES = [
  { bits: 8, reg: 'bl', prefix: '' },
  { bits: 16, reg: 'bx', prefix: '' },
  { bits: 32, reg: 'ebx', prefix: 'db 0x66\n        ' },
];

/** The instruction text for kind/size/count-form (SAL as the /6 encoding). */
function insn(kind: number, size: (typeof SIZES)[number], form: 'cl' | 'one' | number): string {
  if (KINDS[kind] === 'sal') {
    // NASM encodes SAL as /4; the /6 alias needs raw bytes (ModRM F3 = /6, rm = BL/BX/EBX).
    const op = size.bits === 8 ? 0 : 1;
    if (form === 'cl') return `${size.prefix}db 0x${(0xd2 + op).toString(16)}, 0xf3`;
    if (form === 'one') return `${size.prefix}db 0x${(0xd0 + op).toString(16)}, 0xf3`;
    return `${size.prefix}db 0x${(0xc0 + op).toString(16)}, 0xf3, ${form}`;
  }
  const name = KINDS[kind];
  if (form === 'cl') return `${name} ${size.reg}, cl`;
  if (form === 'one') return `db ${size.bits === 32 ? '0x66, ' : ''}0x${(size.bits === 8 ? 0xd0 : 0xd1).toString(16)}, 0x${(0xc3 | (kind << 3)).toString(16)}`;
  return `${name} ${size.reg}, byte ${form}`;
}

/** Loops over the ROWS table (flags in, value, count) running one instruction per row. */
function tableLoop(label: string, instruction: string): string {
  return `
        mov si, rows
${label}:
        mov eax, [cs:si]
        push eax
        popfd
        mov ebx, [cs:si+4]
        mov ecx, [cs:si+8]
        mov edx, 0x5a5a5a5a
        ${instruction}
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax
        add si, 12
        cmp si, rows_end
        jb ${label}`;
}

function check(values: number[], expected: { what: string; res: number; flags: number }[]): void {
  expect(values.length).toBe(expected.length * 2);
  const bad: string[] = [];
  for (let k = 0; k < expected.length; k++) {
    const flags = values[2 * k] & ARITH, res = values[2 * k + 1];
    const e = expected[k];
    if (flags !== e.flags || res !== e.res >>> 0) bad.push(`${e.what}: got ${hex(res)} flags ${hex(flags)}, want ${hex(e.res)} flags ${hex(e.flags)}`);
  }
  expect(bad.slice(0, 20)).toEqual([]);
}

function merge(bits: number, full: number, res: number): number {
  if (bits === 32) return res >>> 0;
  const m = (1 << bits) - 1;
  return ((full & ~m) | (res & m)) >>> 0;
}

describe('shifts and rotates (group 2)', () => {
  it('by CL: every kind, size, count 0..63 and edge value, with CF/flags in clear and set', () => {
    let body = '';
    const expected: { what: string; res: number; flags: number }[] = [];
    for (let kind = 0; kind < 8; kind++) {
      for (const size of SIZES) {
        body += tableLoop(`l_${kind}_${size.bits}`, insn(kind, size, 'cl'));
        for (const [f, v, c] of ROWS) {
          const r = refShift(kind, size.bits, v, c, f);
          expected.push({ what: `${KINDS[kind]} ${size.reg}=${hex(v)}, cl=${c} (flags ${hex(f)})`, res: merge(size.bits, v, r.res), flags: r.flags });
        }
      }
    }
    body += `\n        jmp finish\nrows:\n${dwords(ROWS.flat())}\nrows_end:\n`;
    check(runProgram(body).values, expected);
  });

  it('by 1 (D0/D1) and by imm8 (C0/C1), including imm8 counts above 31', () => {
    let body = '';
    const expected: { what: string; res: number; flags: number }[] = [];
    const forms: ('one' | number)[] = ['one', 0, 1, 4, 8, 9, 16, 17, 31, 32, 0xff];
    const vals = [0x80000001, 0x7f, 0xc000ffff, 0x40];
    for (let kind = 0; kind < 8; kind++) {
      for (const size of SIZES) {
        for (const form of forms) {
          for (const [vi, v] of vals.entries()) {
            const f = vi & 1 ? 0x002 | ARITH : 0x002;
            body += `
        push dword 0x${f.toString(16)}
        popfd
        mov ebx, 0x${v.toString(16)}
        ${insn(kind, size, form)}
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax`;
            const r = refShift(kind, size.bits, v, form === 'one' ? 1 : form, f);
            expected.push({ what: `${KINDS[kind]} ${size.reg}=${hex(v)}, ${form}`, res: merge(size.bits, v, r.res), flags: r.flags });
          }
        }
      }
    }
    check(runProgram(body).values, expected);
  });

  it('memory operands: the result is written back, count 0 leaves memory and flags alone', () => {
    const run = runProgram(`
        mov dword [0x1000], 0x80000001
        mov word [0x1004], 0x8001
        mov byte [0x1006], 0x81
        push dword 0x8d7
        popfd
        mov cl, 0
        shl dword [0x1000], cl
        pushfd
        pop eax
        out 0xF0, eax
        rol dword [0x1000], 1
        rcr word [0x1004], 1
        sar byte [0x1006], 3
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, [0x1000]
        out 0xF0, eax
        movzx eax, word [0x1004]
        out 0xF0, eax
        movzx eax, byte [0x1006]
        out 0xF0, eax`);
    // rol 0x80000001,1 = 0x00000003 (CF=1); rcr 0x8001 with CF=1 -> 0xC000 (CF=1); sar 0x81,3 = 0xF0 (CF=0: bit 2 of 0x81).
    expect(run.values.map(hex)).toEqual([hex(0x8d7 | 0x2), hex(0x002 | szp(8, 0xf0)), hex(3), hex(0xc000), hex(0xf0)]);
  });
});

describe('SHLD / SHRD', () => {
  const counts = [0, 1, 4, 15, 16, 17, 20, 31, 32, 33];
  const pairs: [number, number][] = [[0x12345678, 0x9abcdef0], [0x80000000, 0x00000001], [0xffff0000, 0x0000ffff], [0x8001, 0x4003]];
  for (const left of [true, false]) {
    it(`${left ? 'SHLD' : 'SHRD'} by CL and by imm8, 16 and 32 bit (16-bit counts > 16 through op1:op2:op1)`, () => {
      let body = '';
      const expected: { what: string; res: number; flags: number }[] = [];
      const name = left ? 'shld' : 'shrd';
      for (const bits of [16, 32]) {
        const [d, s] = bits === 16 ? ['bx', 'dx'] : ['ebx', 'edx'];
        for (const [dst, src] of pairs) {
          for (const c of counts) {
            for (const byCl of [true, false]) {
              if (!byCl && c > 31) continue;
              body += `
        push dword 0x2
        popfd
        mov ebx, 0x${dst.toString(16)}
        mov edx, 0x${src.toString(16)}
        mov cl, ${c}
        ${name} ${d}, ${s}, ${byCl ? 'cl' : c}
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax`;
              const r = refDouble(left, bits, dst, src, c, 0x2);
              expected.push({ what: `${name} ${d}=${hex(dst)},${s}=${hex(src)},${c}`, res: merge(bits, dst, r.res), flags: r.flags });
            }
          }
        }
      }
      check(runProgram(body).values, expected);
    });
  }
});

