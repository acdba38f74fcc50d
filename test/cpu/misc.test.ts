/**
 * ENTER (nesting levels, 16/32-bit operand size), LEAVE, BOUND (#BR, #UD for
 * a register operand), XLAT (with a segment override), SALC, the far-pointer
 * loads LES/LDS/LSS/LFS/LGS, UD2 and the multi-byte NOP 0F 1F. Expected
 * values are worked out by hand from the SDM's operation sections.
 */
import { describe, expect, it } from 'vitest';
import { hex, runProgram } from './caseRom.ts';

const MACROS = `
%macro RD 1
        push eax
        mov eax, %1
        out 0xF0, eax
        pop eax
%endmacro
%macro RW 1
        push eax
        movzx eax, %1
        out 0xF0, eax
        pop eax
%endmacro
; #BR (5) and #UD (6) handlers: report a marker, the saved IP, then resume at [0x500].
        mov word [5 * 4], br_handler
        mov word [5 * 4 + 2], 0xF000
        mov word [6 * 4], ud_handler
        mov word [6 * 4 + 2], 0xF000
        jmp handlers_done
br_handler:
        RD 0xfa017005
        jmp resume
ud_handler:
        RD 0xfa017006
resume:
        push bp
        mov bp, sp
        RW word [bp + 2]
        push ax
        mov ax, [0x500]
        mov [bp + 2], ax
        pop ax
        pop bp
        iret
handlers_done:
`;
const BR = 0xfa017005, UD = 0xfa017006;
const hexes = (v: number[]) => v.map(hex);

describe('ENTER / LEAVE', () => {
  it('16-bit ENTER with nesting levels 0, 1 and 3, then LEAVE', () => {
    const run = runProgram(`${MACROS}
        mov sp, 0x7000
        mov bp, 0x1234
        enter 8, 0
        mov dx, sp
        RW dx
        RW bp
        RW word [0x6ffe]
        enter 4, 1
        mov dx, sp
        RW dx
        RW bp
        RW word [0x6ff4]
        RW word [0x6ff2]
        mov word [0x6ff0], 0xaaaa
        enter 0, 3
        mov dx, sp
        RW dx
        RW bp
        RW word [0x6fec]
        RW word [0x6fea]
        RW word [0x6fe8]
        RW word [0x6fe6]
        leave
        mov dx, sp
        RW dx
        RW bp
        mov sp, 0x7000`);
    expect(hexes(run.values)).toEqual(hexes([
      // enter 8,0: push BP at 6FFE; BP = 6FFE; SP = 6FFE - 8
      0x6ff6, 0x6ffe, 0x1234,
      // enter 4,1: push BP (6FFE) at 6FF4; frame 6FF4 pushed at 6FF2; SP = 6FF2 - 4
      0x6fee, 0x6ff4, 0x6ffe, 0x6ff4,
      // enter 0,3: push BP (6FF4) at 6FEC; copy [6FF2] = 6FF4 and [6FF0] = AAAA; push frame 6FEC
      0x6fe6, 0x6fec, 0x6ff4, 0x6ff4, 0xaaaa, 0x6fec,
      // leave: SP = BP = 6FEC, pop BP = 6FF4
      0x6fee, 0x6ff4,
    ]));
  });

  it('32-bit operand size ENTER / LEAVE push and pop dwords', () => {
    const run = runProgram(`${MACROS}
        mov esp, 0x6000
        mov ebp, 0x12345678
        o32 enter 0x10, 1
        mov edx, esp
        RD edx
        RD ebp
        RD [0x5ffc]
        RD [0x5ff8]
        o32 leave
        mov edx, esp
        RD edx
        RD ebp
        mov sp, 0x7000`);
    // push EBP at 5FFC; frame = 5FFC pushed at 5FF8; ESP = 5FF8 - 0x10
    expect(hexes(run.values)).toEqual(hexes([0x5fe8, 0x5ffc, 0x12345678, 0x5ffc, 0x6000, 0x12345678]));
  });
});

describe('BOUND, XLAT, SALC, UD2, NOP Ev (0F 19-1F; the last two NOPs name memory beyond the segment limit and must not touch it)', () => {
  it('BOUND passes inside the signed bounds, raises #BR outside, #UD with a register operand', () => {
    const run = runProgram(`${MACROS}
        mov word [0x1000], -5
        mov word [0x1002], 10
        mov dword [0x1004], 0x80000000
        mov dword [0x1008], 0x7fffffff
        RD b1
        RD b2
        RD b4
        mov ax, 10
        bound ax, [0x1000]
        mov ax, -5
        bound ax, [0x1000]
        mov word [0x500], after1
        mov ax, 11
b1:     bound ax, [0x1000]
after1:
        mov word [0x500], after2
        mov ax, -6
b2:     bound ax, [0x1000]
after2:
        mov eax, 0x80000000
        bound eax, [0x1004]
        mov word [0x500], after4
b4:     db 0x62, 0xc0
after4:
        RD 0x600d`);
    const [b1, b2, b4, ...rest] = run.values;
    expect(hexes(rest)).toEqual(hexes([BR, b1, BR, b2, UD, b4, 0x600d]));
  });

  it('XLAT reads DS:[BX + AL] (or the override segment); SALC copies CF to AL; UD2 and 0F 1F', () => {
    const run = runProgram(`${MACROS}
        mov bx, 0x1100
        mov cx, 256
        xor al, al
fill:   mov ah, al
        xor ah, 0x5a
        mov [bx], ah
        inc bx
        inc al
        loop fill
        mov ax, 0x10
        mov fs, ax
        mov byte [0x1279], 0x77
        mov ebx, 0xffff1100
        mov eax, 0x12345623
        xlatb
        RD eax
        db 0x64
        xlatb
        RD eax
        stc
        salc
        RD eax
        clc
        salc
        RD eax
        mov word [0x500], after_ud2
u2:     ud2
after_ud2:
        RD u2
        db 0x0f, 0x1f, 0x00
        db 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00                   ; nop [si + 0]
        db 0x67, 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 ; nop [eax + eax + 0]
        db 0x0f, 0x19, 0x06, 0xff, 0xff                         ; nop [0xffff]: would straddle the limit
        db 0x67, 0x0f, 0x1e, 0x80, 0x00, 0x00, 0x01, 0x00       ; nop [eax + 0x10000]: beyond the limit
        RD 0x600d`);
    const v = run.values;
    expect(hexes(v)).toEqual(hexes([
      0x12345600 | (0x23 ^ 0x5a), // DS:[1100 + 23]; EBX's upper half is ignored with 16-bit addressing
      0x12345677, // AL = 0x79 now; FS base 0x100: FS:[1100 + 79] = linear 0x1279
      0x123456ff, 0x12345600,
      UD, v[5], v[5], 0x600d, // #UD at UD2: saved IP = label u2
    ]));
  });
});

describe('far pointer loads', () => {
  it('LES / LDS / LFS / LGS / LSS load offset and selector; a register operand is #UD', () => {
    const run = runProgram(`${MACROS}
        mov word [0x1200], 0x5678
        mov word [0x1202], 0x1234
        mov dword [0x1210], 0x89abcdef
        mov word [0x1214], 0x4321
        mov word [0x1220], 0x6800
        mov word [0x1222], 0x0000
        les di, [0x1200]
        mov cx, es
        RW cx
        RW di
        lfs eax, [0x1210]
        mov cx, fs
        RW cx
        RD eax
        lgs si, [0x1200]
        mov cx, gs
        RW cx
        RW si
        mov ax, 0
        mov es, ax
        lss sp, [0x1220]
        mov dx, sp
        RW dx
        lds bx, [0x1200]
        mov ax, ds
        mov cx, 0
        mov ds, cx
        RW ax
        RW bx
        mov word [0x500], after_les
l1:     db 0xc4, 0xc0
after_les:
        RD l1
        mov sp, 0x7000`);
    const [, , , , , , , , , , , ...rest] = run.values;
    expect(hexes(run.values.slice(0, 10))).toEqual(hexes([0x1234, 0x5678, 0x4321, 0x89abcdef, 0x1234, 0x5678, 0x6800, 0x1234, 0x5678, UD]));
    expect(rest.length).toBe(1);
    expect(run.values[10]).toBe(rest[0]);
  });
});
