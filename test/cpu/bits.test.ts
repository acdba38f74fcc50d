/**
 * Bit instructions: BT/BTS/BTR/BTC (register and imm8 offsets, the signed
 * register offset into memory beyond the operand), BSF/BSR, SETcc, CMOVcc,
 * BSWAP, XADD, CMPXCHG, CMPXCHG8B, and LOCK validity. Expected values are
 * worked out by hand from the SDM (comments show how).
 */
import { describe, expect, it } from 'vitest';
import { ARITH, CF, hex, OF, PF, runProgram, SF, ZF, AF } from './caseRom.ts';

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
%macro RFLAGS 0
        pushfd
        push eax
        mov eax, [esp + 4]
        and eax, 0x8d5
        out 0xF0, eax
        pop eax
        popfd
%endmacro
; #UD / #GP handlers report a marker and the vector, then resume at [0x500].
        mov word [6 * 4], ud_handler
        mov word [6 * 4 + 2], 0xF000
        mov word [13 * 4], gp_handler
        mov word [13 * 4 + 2], 0xF000
        jmp handlers_done
ud_handler:
        RD 0xfa017006
        jmp resume
gp_handler:
        RD 0xfa01700d
resume:
        push bp
        mov bp, sp
        push ax
        mov ax, [0x500]
        mov [bp + 2], ax
        pop ax
        pop bp
        iret
handlers_done:
`;
const UD = 0xfa017006, GP = 0xfa01700d;
const hexes = (v: number[]) => v.map(hex);

describe('bit test and modify', () => {
  it('register operands: the offset is masked to the operand size; only CF changes', () => {
    const run = runProgram(`${MACROS}
        push dword 0x8d4
        popfd
        mov eax, 0x00020000
        mov ecx, 49
        bt eax, ecx
        RFLAGS
        mov ecx, 17
        bts ax, cx
        RFLAGS
        RD eax
        btr eax, 17
        RFLAGS
        RD eax
        btc eax, 63
        RFLAGS
        RD eax`);
    expect(hexes(run.values)).toEqual(hexes([
      0x8d5, // bit 49 & 31 = 17 is set: CF=1, the rest as loaded
      0x8d4, 0x00020002, // bts ax,cx: bit 17 & 15 = 1 was clear
      0x8d5, 0x00000002, // btr eax,17: was set
      0x8d4, 0x80000002, // btc eax,63 -> bit 31, was clear
    ]));
  });

  it('memory operands: register offsets are signed and reach beyond the operand; imm8 offsets are masked', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x0ffc], 0x80000000
        mov dword [0x1000], 0x00000008
        mov dword [0x1004], 0x00000008
        mov dword [0x100c], 0
        mov bx, 0x1000
        push dword 0x002
        popfd
        mov eax, 35
        bt [bx], eax
        RFLAGS
        mov eax, -1
        bt [bx], eax
        RFLAGS
        mov ax, -17
        bt word [bx], ax
        RFLAGS
        mov eax, 100
        bts [bx], eax
        RFLAGS
        RD [0x100c]
        bt dword [bx], 35
        RFLAGS
        btc dword [bx], 35
        RD [0x1000]
        btr word [bx - 4], 31
        RD [0x0ffc]`);
    expect(hexes(run.values)).toEqual(hexes([
      CF, // 35: dword at 1000 + (35>>5)*4 = 1004, bit 3 (set)
      CF, // -1: dword at 1000 + (-1>>5)*4 = 0ffc, bit 31 (set)
      0, // 16-bit -17: word at 1000 + (-17>>4)*2 = 0ffc, bit -17 & 15 = 15: word [0ffc] = 0x0000
      0, 0x10, // 100: dword at 100c, bit 4 (was clear, now set)
      CF, // imm 35 & 31 = 3 in the dword at 1000 itself (set)
      0, // btc cleared bit 3 of [1000]
      0x80000000, // btr word [0ffc], 31 & 15 = 15: bit 15 of word [0ffc] is already 0
    ]));
  });
});

describe('bit scan, SETcc, CMOVcc, BSWAP', () => {
  it('BSF / BSR: index of the lowest / highest set bit; zero source sets ZF and keeps the destination', () => {
    const run = runProgram(`${MACROS}
        mov edx, 0x11111111
        xor eax, eax
        bsf edx, eax
        RFLAGS
        RD edx
        mov eax, 0x00f00000
        bsf edx, eax
        RFLAGS
        RD edx
        bsr edx, eax
        RD edx
        mov eax, 0x80000001
        bsr ecx, eax
        RD ecx
        bsf ecx, eax
        RFLAGS
        RD ecx
        mov ax, 0x8000
        bsr dx, ax
        RD edx`);
    expect(hexes(run.values)).toEqual(hexes([
      ZF | PF, 0x11111111, // XOR left ZF|PF; BSF of 0 sets ZF, keeps EDX and the other flags
      PF, 20, // 0x00f00000: lowest set bit 20; ZF=0; 20 = 0b10100 has 2 bits: PF
      23, // highest set bit of 0x00f00000
      31, // BSR 0x80000001
      PF, 0, // BSF 0x80000001 = 0: ZF=0 (the source is not 0), PF of 0
      0x0000000f, // BSR DX, 0x8000 = 15; the upper half of EDX (23 >> 16 = 0) is kept
    ]));
  });

  it('SETcc sets 0/1 for all 16 conditions; CMOVcc moves only when true but always reads', () => {
    const states = [0x002, 0x002 | ARITH, 0x002 | SF, 0x002 | OF | ZF, 0x002 | CF | PF];
    // Each SETcc stores its byte at 0x1000 + cc (SETcc [disp16] = 0F 9x 06 disp16); reported 4 at a time.
    let body = MACROS;
    for (const f of states) {
      body += `
        push dword 0x${f.toString(16)}
        popfd`;
      for (let cc = 0; cc < 16; cc++) body += `
        db 0x0f, 0x${(0x90 + cc).toString(16)}, 0x06
        dw 0x${(0x1000 + cc).toString(16)}`;
      body += `
        RD [0x1000]
        RD [0x1004]
        RD [0x1008]
        RD [0x100c]`;
    }
    body += `
        push dword 0x002
        popfd
        mov eax, 0xaaaaaaaa
        mov dword [0x2000], 0x12345678
        cmovz eax, [0x2000]
        RD eax
        cmovnz eax, [0x2000]
        RD eax
        mov ebx, 0xbbbbbbbb
        cmovnz bx, ax
        RD ebx
        cmovz bx, cx
        RD ebx
        mov word [0x500], after_cmov
        mov esi, 0x10000
        cmovz eax, [esi]
after_cmov:
        RD eax`;
    const run = runProgram(body);
    const cond = (f: number, cc: number): boolean => {
      const c = !!(f & CF), z = !!(f & ZF), s = !!(f & SF), o = !!(f & OF), p = !!(f & PF);
      const r = [o, c, z, c || z, s, p, s !== o, z || s !== o][cc >> 1];
      return cc & 1 ? !r : r;
    };
    const want: number[] = [];
    for (const f of states) {
      for (let k = 0; k < 16; k += 4) {
        let v = 0;
        for (let j = 0; j < 4; j++) v |= (cond(f, k + j) ? 1 : 0) << (8 * j);
        want.push(v);
      }
    }
    want.push(0xaaaaaaaa, 0x12345678, 0xbbbb5678, 0xbbbb5678, GP, 0x12345678);
    expect(hexes(run.values)).toEqual(hexes(want));
  });

  it('BSWAP reverses the bytes of a 32-bit register; with a 16-bit operand size it clears the low word', () => {
    const run = runProgram(`${MACROS}
        mov ebx, 0x11223344
        bswap ebx
        RD ebx
        mov edi, 0x11223344
        db 0x0f, 0xcf
        RD edi`);
    expect(hexes(run.values)).toEqual(hexes([0x44332211, 0x11220000]));
  });
});

describe('XADD, CMPXCHG, CMPXCHG8B, LOCK', () => {
  it('XADD exchanges and adds with ADD flags; with one register for both the sum wins', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x1000], 0x7fffffff
        mov ecx, 1
        xadd [0x1000], ecx
        RFLAGS
        RD ecx
        RD [0x1000]
        mov al, 0xff
        mov bl, 0x01
        xadd al, bl
        RFLAGS
        RW ax
        RW bx
        mov edx, 5
        xadd edx, edx
        RD edx`);
    expect(hexes(run.values)).toEqual(hexes([
      OF | SF | AF | PF, 0x7fffffff, 0x80000000, // 0x7fffffff + 1: signed overflow, carry from bit 3, low byte 0
      ZF | CF | AF | PF, 0x0000, 0x00ff, // 0xff + 1 = 0x100: AL = 0, BL = old AL
      10, // XADD EDX, EDX: EDX = 5 + 5 (the sum is written last)
    ]));
  });

  it('CMPXCHG: equal stores the source and sets ZF, else loads the accumulator; memory always written', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x1000], 100
        mov eax, 100
        mov ecx, 200
        cmpxchg [0x1000], ecx
        RFLAGS
        RD eax
        RD [0x1000]
        mov eax, 7
        cmpxchg [0x1000], ecx
        RFLAGS
        RD eax
        RD [0x1000]
        mov ax, 0x1234
        mov bx, 0x1234
        mov dx, 0x5678
        cmpxchg bx, dx
        RD ebx
        mov al, 0x10
        mov dl, 0x20
        mov byte [0x1010], 0x30
        cmpxchg [0x1010], dl
        RFLAGS
        RW al`);
    expect(hexes(run.values)).toEqual(hexes([
      ZF | PF, 100, 200, // 100 - 100 = 0
      CF | SF | AF | PF, 200, 200, // 7 - 200 = 0xffffff3f: borrow, SF, AF (7 < 8), 0x3f has 6 bits: PF
      0x5678,
      CF | SF, 0x30, // 0x10 - 0x30 = 0xe0: borrow, SF, no AF (0 - 0), 0xe0 has 3 bits: no PF
    ]));
  });

  it('CMPXCHG8B compares EDX:EAX with m64; register form and LOCK on a register are #UD', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x1000], 0x11111111
        mov dword [0x1004], 0x22222222
        mov eax, 0x11111111
        mov edx, 0x22222222
        mov ebx, 0x33333333
        mov ecx, 0x44444444
        push dword 0x002
        popfd
        cmpxchg8b [0x1000]
        RFLAGS
        RD [0x1000]
        RD [0x1004]
        cmpxchg8b [0x1000]
        RFLAGS
        RD eax
        RD edx
        mov word [0x500], after1
        db 0x0f, 0xc7, 0xc8
after1:
        mov word [0x500], after2
        db 0xf0, 0x01, 0xc0
after2:
        mov word [0x500], after3
        lock bt dword [0x1000], 1
after3:
        lock bts dword [0x1000], 0
        RD [0x1000]
        lock neg dword [0x1000]
        RD [0x1000]
        mov word [0x500], after4
        db 0xf0, 0xf7, 0x06
        dw 0x1000
        dw 0x0000, 0x0000
after4:
        RD 0x600d`);
    expect(hexes(run.values)).toEqual(hexes([
      ZF, 0x33333333, 0x44444444,
      0, 0x33333333, 0x44444444,
      UD, // CMPXCHG8B with a register operand
      UD, // LOCK ADD EAX, EAX
      UD, // LOCK BT
      0x33333333, // LOCK BTS: bit 0 already set
      0xcccccccd, // LOCK NEG
      UD, // LOCK TEST m32, imm32
      0x600d,
    ]));
  });
});
