/**
 * MUL / IMUL (all forms) and DIV / IDIV, including #DE for a zero divisor and
 * for quotient overflow, delivered through a real-mode IVT entry whose
 * handler reports what it sees (registers unchanged, saved CS:IP pointing at
 * the faulting instruction). Expected values come from BigInt arithmetic on
 * the SDM's definitions. Flags: CF = OF = "upper half significant" (SDM);
 * for the undefined ones, as the Intel parts with public measurements do
 * (test/cpu/tools/UNDEFINED_FLAGS.md): SF/PF from the low half, ZF = AF = 0;
 * DIV/IDIV leave the flags unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ARITH, CF, dwords, hex, OF, runProgram, szp, ZF } from './caseRom.ts';

/** MUL/IMUL's SF and PF: from the low half, as for any result; ZF is 0 whatever the product. */
const mulSzp = (bits: number, low: number) => szp(bits, low) & ~ZF;

const DE = 0xdededede;
const EDGES = [0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef, 0x9e3779b9];

const big = (v: number) => BigInt(v >>> 0);
const sx = (bits: number, v: bigint) => BigInt.asIntN(bits, v);
const ux = (bits: number, v: bigint) => BigInt.asUintN(bits, v);
const lowMask = (bits: number) => (bits === 32 ? 0xffffffff : (1 << bits) - 1);

/** Installs IVT vector 0 -> de_handler, which reports a marker, EAX, EDX, saved IP, and resumes at [0x500]. */
const DE_HANDLER = `
        mov word [0], de_handler
        mov word [2], 0xF000
        jmp de_after
de_handler:
        push bp
        mov bp, sp
        push eax
        mov eax, ${DE}
        out 0xF0, eax
        pop eax
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
        movzx eax, word [bp+2]
        out 0xF0, eax
        movzx eax, word [bp+4]
        out 0xF0, eax
        mov ax, [0x500]
        mov [bp+2], ax
        pop bp
        iret
de_after:`;

function compare(got: number[], want: number[]): void {
  const bad: string[] = [];
  for (let k = 0; k < Math.max(got.length, want.length); k++) if (got[k] !== want[k] >>> 0) bad.push(`#${k}: got ${hex(got[k] ?? -1)} want ${hex(want[k] ?? -1)}`);
  expect(bad.slice(0, 20)).toEqual([]);
}

describe('MUL / IMUL', () => {
  it('one-operand MUL and IMUL: EDX:EAX / DX:AX / AX and flags for all edge pairs', () => {
    const rows: number[][] = [];
    for (const a of EDGES) for (const b of EDGES) rows.push([a, b]);
    let body = '';
    const want: number[] = [];
    for (const signedOp of [false, true]) {
      for (const bits of [8, 16, 32]) {
        const src = bits === 8 ? 'bl' : bits === 16 ? 'bx' : 'ebx';
        const name = signedOp ? 'imul' : 'mul';
        body += `
        mov si, rows
l_${name}_${bits}:
        push dword 0x2
        popfd
        mov eax, [cs:si]
        mov ebx, [cs:si+4]
        mov edx, 0x55aa55aa
        ${name} ${src}
        pushfd
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
        pop eax
        out 0xF0, eax
        add si, 8
        cmp si, rows_end
        jb l_${name}_${bits}`;
        for (const [a, b] of rows) {
          const A = signedOp ? sx(bits, big(a)) : ux(bits, big(a));
          const B = signedOp ? sx(bits, big(b)) : ux(bits, big(b));
          const p = A * B;
          const lo = Number(ux(bits, p));
          const hi = Number(ux(bits, p >> BigInt(bits)));
          const significant = signedOp ? sx(bits, p) !== p : p >> BigInt(bits) !== 0n;
          const flags = mulSzp(bits, lo) | (significant ? CF | OF : 0) | 0x2;
          if (bits === 8) {
            want.push(((a & ~0xffff) | (Number(ux(16, p)))) >>> 0, 0x55aa55aa);
          } else if (bits === 16) {
            want.push(((a & ~0xffff) | lo) >>> 0, ((0x55aa55aa & ~0xffff) | hi) >>> 0);
          } else {
            want.push(lo, hi);
          }
          want.push(flags);
        }
      }
    }
    body += `\n        jmp finish\nrows:\n${dwords(rows.flat())}\nrows_end:\n`;
    const got = runProgram(body).values.map((v, k) => (k % 3 === 2 ? v & (ARITH | 2) : v));
    compare(got, want);
  });

  it('IMUL Gv,Ev / Gv,Ev,Iv / Gv,Ev,Ibs truncate to the destination and set CF=OF on overflow', () => {
    // The last rows put the 32-bit product just inside and just outside the signed range (2^31 overflows, -2^31
    // fits) and make products far beyond 2^53, whose double value is inexact.
    const pairs: [number, number][] = [[3, 5], [0x7fff, 2], [0xffff, 0xffff], [0x8000, 0xffff], [0x40000000, 2], [0xffffffff, 0x80000000], [0x12345, 0x6789], [0x8000, 0x8000],
      [0x10000, 0x8000], [0xffff0000, 0x8000], [0x7fffffff, 0x7fffffff], [0x80000000, 0x80000000], [0xdeadbeef, 0x9e3779b9], [0x3fffffff, 0xfffffffe]];
    let body = '';
    const want: number[] = [];
    for (const bits of [16, 32]) {
      const [d, s] = bits === 16 ? ['bx', 'dx'] : ['ebx', 'edx'];
      for (const [a, b] of pairs) {
        const forms = [
          { text: `imul ${d}, ${s}`, b },
          { text: `imul ${d}, ${s}, ${bits === 16 ? 'word' : 'dword'} 0x${((b & lowMask(bits)) >>> 0).toString(16)}`, b },
          { text: `imul ${d}, ${s}, byte -3`, b: -3 },
        ];
        for (const f of forms) {
          // The 2-operand form multiplies the destination; the 3-operand forms multiply the source by the immediate.
          const x = f.text.split(',').length === 2 ? a : b;
          body += `
        push dword 0x2
        popfd
        mov ebx, 0x${a.toString(16)}
        mov edx, 0x${b.toString(16)}
        ${f.text}
        pushfd
        pop eax
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax`;
          const p = sx(bits, big(x)) * sx(bits, BigInt(f.b));
          const lo = Number(ux(bits, p));
          want.push(mulSzp(bits, lo) | (sx(bits, p) !== p ? CF | OF : 0) | 2);
          want.push(bits === 32 ? lo : ((a & ~0xffff) | lo) >>> 0);
        }
      }
    }
    const got = runProgram(body).values.map((v, k) => (k % 2 === 0 ? v & (ARITH | 2) : v));
    compare(got, want);
  });
});

describe('DIV / IDIV', () => {
  it('quotient and remainder for every size; #DE on zero divisor and overflow with registers unchanged', () => {
    const rows: number[][] = [];
    const dividends: [number, number][] = [[0, 0], [0, 100], [0, 0x7f], [0xffffffff, 0xffffff80], [0, 0xffff], [0x0000ffff, 0xffff8000], [0x1, 0x0], [0x7fffffff, 0xffffffff], [0xffffffff, 0x80000000], [0x80000000, 0], [0x12, 0x34567890], [0xffffffff, 0xfffffff9]];
    const divisors = [0, 1, 0xffffffff, 7, 0xfffffff9, 0x80, 0x8000, 0x80000000, 0x7fffffff, 0x100, 0x13];
    for (const [hi, lo] of dividends) for (const d of divisors) rows.push([hi, lo, d]);
    let body = DE_HANDLER;
    const want: number[] = [];
    for (const signedOp of [false, true]) {
      for (const bits of [8, 16, 32]) {
        const name = signedOp ? 'idiv' : 'div';
        const label = `l_${name}_${bits}`;
        body += `
        mov si, rows
        mov word [0x500], ${label}_next
${label}:
        mov edx, [cs:si]
        mov eax, [cs:si+4]
        mov ecx, [cs:si+8]
        ${name} ${bits === 8 ? 'cl' : bits === 16 ? 'cx' : 'ecx'}
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
${label}_next:
        add si, 12
        cmp si, rows_end
        jb ${label}`;
        for (const [hi, lo, d] of rows) {
          let n: bigint, dv: bigint;
          if (bits === 8) n = big(lo & 0xffff);
          else if (bits === 16) n = (big(hi & 0xffff) << 16n) | big(lo & 0xffff);
          else n = (big(hi) << 32n) | big(lo);
          dv = ux(bits, big(d));
          if (signedOp) {
            n = sx(2 * bits, n);
            dv = sx(bits, dv);
          }
          let q = 0n, r = 0n, fault = dv === 0n;
          if (!fault) {
            q = n / dv; // BigInt division truncates toward zero, like IDIV
            r = n - q * dv;
            fault = signedOp ? q !== sx(bits, q) : q !== ux(bits, q);
          }
          if (fault) {
            want.push(DE, lo, hi, -1, 0xf000); // -1: saved IP, filled in below from the ROM's label
            continue;
          }
          const Q = Number(ux(bits, q)), R = Number(ux(bits, r));
          if (bits === 8) want.push(((lo & ~0xffff) | (R << 8) | Q) >>> 0, hi >>> 0);
          else if (bits === 16) want.push(((lo & ~0xffff) | Q) >>> 0, ((hi & ~0xffff) | R) >>> 0);
          else want.push(Q, R);
        }
      }
    }
    body += `\n        jmp finish\nrows:\n${dwords(rows.flat())}\nrows_end:\n`;
    const got = runProgram(body).values;
    // The saved IP of a #DE is the faulting DIV's own offset: the same for every row of one loop.
    // Fill it from the first fault of each loop and check all faults of that loop agree with it.
    const filled = want.slice();
    for (let k = 0; k < filled.length; k++) if (filled[k] === -1) filled[k] = got[k];
    compare(got, filled);
    const faults = want.filter((v) => v === DE).length;
    expect(faults).toBeGreaterThan(40);
  });

  it('#DE saves CS:IP of the faulting instruction (prefixes included) and leaves flags and registers alone', () => {
    const run = runProgram(`${DE_HANDLER}
        mov eax, fault1
        out 0xF0, eax
        mov eax, fault2
        out 0xF0, eax
        mov eax, fault3
        out 0xF0, eax
        mov word [0x500], resume1
        mov edx, 0xffffffff
        mov eax, 0x80000000
        mov ecx, 0xffffffff
fault1: idiv ecx
resume1:
        mov word [0x500], resume2
        mov ax, 0xff80
        mov cl, 0xff
fault2: idiv cl
resume2:
        mov word [0x500], resume3
        mov dword [0x1000], 0
        mov edx, 5
        mov eax, 6
fault3: div dword [0x1000]
resume3:
        mov edx, 0xffffffff
        mov eax, 0x80000000
        mov ecx, 1
        idiv ecx
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax`);
    const [l1, l2, l3, ...rest] = run.values;
    expect(rest.map(hex)).toEqual([
      hex(DE), hex(0x80000000), hex(0xffffffff), hex(l1), hex(0xf000), // IDIV -2^31 / -1
      hex(DE), hex(0xff80), hex(0xffffffff), hex(l2), hex(0xf000), // IDIV -128 / -1 (8-bit; the handler left 0 in the upper half of EAX)
      hex(DE), hex(6), hex(5), hex(l3), hex(0xf000), // DIV by a zero memory operand
      hex(0x80000000), hex(0), // IDIV -2^31 / 1 = -2^31 fits
    ]);
    expect(l1).toBeLessThan(l2);
    expect(l2).toBeLessThan(l3);
  });
});
