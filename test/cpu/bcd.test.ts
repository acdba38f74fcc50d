/**
 * DAA, DAS, AAA, AAS, AAM, AAD for every AL value with AF/CF in all
 * combinations, against the SDM pseudo-code. Flags the SDM leaves undefined
 * follow the P6 family (as Bochs documents it from hardware): SF/ZF/PF from
 * AL and OF = 0 for all six; AF = CF = 0 after AAM/AAD.
 */
import { describe, expect, it } from 'vitest';
import { AF, ARITH, CF, dwords, hex, runProgram, szp } from './caseRom.ts';

interface Out { ax: number; flags: number }

function refAdjust(op: string, ax: number, flagsIn: number, imm = 10): Out | 'DE' {
  let al = ax & 0xff, ah = (ax >> 8) & 0xff;
  const oldCf = flagsIn & CF ? 1 : 0, afIn = flagsIn & AF ? 1 : 0;
  let cf = 0, af = 0;
  switch (op) {
    case 'daa': {
      const oldAl = al;
      if ((al & 0x0f) > 9 || afIn) {
        const sum = al + 6;
        al = sum & 0xff;
        cf = oldCf | (sum > 0xff ? 1 : 0);
        af = 1;
      }
      if (oldAl > 0x99 || oldCf) {
        al = (al + 0x60) & 0xff;
        cf = 1;
      } else {
        cf = 0;
      }
      break;
    }
    case 'das': {
      const oldAl = al;
      if ((al & 0x0f) > 9 || afIn) {
        const diff = al - 6;
        al = diff & 0xff;
        cf = oldCf | (diff < 0 ? 1 : 0);
        af = 1;
      }
      if (oldAl > 0x99 || oldCf) {
        al = (al - 0x60) & 0xff;
        cf = 1;
      }
      break;
    }
    case 'aaa':
    case 'aas': {
      let x = (ah << 8) | al;
      if ((al & 0x0f) > 9 || afIn) {
        x = op === 'aaa' ? x + 0x106 : x - 6 - 0x100;
        af = cf = 1;
      }
      x &= 0xffff;
      al = x & 0x0f;
      ah = x >> 8;
      break;
    }
    case 'aam':
      if (imm === 0) return 'DE';
      ah = Math.floor(al / imm);
      al = al % imm;
      break;
    default: // aad
      al = (al + ah * imm) & 0xff;
      ah = 0;
  }
  return { ax: (ah << 8) | al, flags: szp(8, al) | (cf ? CF : 0) | (af ? AF : 0) };
}

describe('decimal adjust', () => {
  it('DAA / DAS / AAA / AAS: every AL, AF and CF in, AH carried', () => {
    const rows: number[] = [];
    for (const f of [0x2, 0x2 | AF, 0x2 | CF, 0x2 | AF | CF]) for (let al = 0; al < 256; al++) rows.push(f | 0x8c4, 0x12340000 | (((al * 7) & 0xff) << 8) | al);
    let body = '';
    const want: number[] = [];
    for (const op of ['daa', 'das', 'aaa', 'aas']) {
      body += `
        mov si, rows
l_${op}:
        mov eax, [cs:si]
        push eax
        popfd
        mov eax, [cs:si+4]
        ${op}
        pushfd
        out 0xF0, eax
        pop eax
        out 0xF0, eax
        add si, 8
        cmp si, rows_end
        jb l_${op}`;
      for (let k = 0; k < rows.length; k += 2) {
        const r = refAdjust(op, rows[k + 1] & 0xffff, rows[k]) as Out;
        want.push((0x12340000 | r.ax) >>> 0, r.flags);
      }
    }
    body += `\n        jmp finish\nrows:\n${dwords(rows)}\nrows_end:\n`;
    const got = runProgram(body).values.map((v, k) => (k % 2 ? v & ARITH : v));
    const bad: string[] = [];
    for (let k = 0; k < want.length; k++) if (got[k] !== want[k]) bad.push(`#${k} (${['daa', 'das', 'aaa', 'aas'][Math.floor(k / 2048)]} row ${(k % 2048) >> 1}): got ${hex(got[k])} want ${hex(want[k])}`);
    expect(bad.slice(0, 20)).toEqual([]);
    expect(got.length).toBe(want.length);
  });

  it('AAM / AAD with bases 10, 16, 7, 1, 255 over AX values', () => {
    const axes = [0x0000, 0x0009, 0x0063, 0x00ff, 0x0180, 0x0909, 0xff01, 0x1234, 0x0a0a, 0x7f80];
    let body = '';
    const want: number[] = [];
    for (const op of ['aam', 'aad']) {
      for (const base of [10, 16, 7, 1, 255]) {
        for (const ax of axes) {
          body += `
        push dword 0x8d7
        popfd
        mov eax, 0xabcd${ax.toString(16).padStart(4, '0')}
        ${op} ${base}
        pushfd
        out 0xF0, eax
        pop eax
        out 0xF0, eax`;
          const r = refAdjust(op, ax, 0x8d7, base) as Out;
          want.push((0xabcd0000 | r.ax) >>> 0, r.flags);
        }
      }
    }
    const got = runProgram(body).values.map((v, k) => (k % 2 ? v & ARITH : v));
    expect(got.map(hex)).toEqual(want.map(hex));
  });

  it('AAM 0 raises #DE at the AAM with AX unchanged', () => {
    const run = runProgram(`
        mov word [0], de_handler
        mov word [2], 0xF000
        mov eax, fault
        out 0xF0, eax
        mov ax, 0x1234
fault:  aam 0
        mov eax, 0x600d
        out 0xF0, eax
        jmp finish
de_handler:
        out 0xF0, eax
        mov bp, sp
        movzx eax, word [bp]
        out 0xF0, eax
        add word [bp], 2
        iret`);
    const [label, ...rest] = run.values;
    expect(rest.map(hex)).toEqual([hex(0x1234 | (label & 0xffff0000)), hex(label), hex(0x600d)]);
  });
});
