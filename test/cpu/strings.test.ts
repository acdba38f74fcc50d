/**
 * String instructions with every prefix: REP / REPE / REPNE, segment
 * overrides (source only; ES:DI is never overridden), 16- and 32-bit
 * addressing (SI/DI/CX vs ESI/EDI/ECX, 16-bit index wrap), DF = 1, REP with
 * a zero count, overlapping REP MOVS (which must replicate, as the element
 * loop does), large REP STOS/MOVS (the bulk path) checked element by
 * element, a fault in the middle of a REP (registers show the progress, the
 * instruction restarts), an interrupt taken in the middle of a long REP, and
 * INS/OUTS through a port device. Expected values are worked out by hand
 * from the SDM definitions (comments show the arithmetic).
 */
import { describe, expect, it } from 'vitest';
import type { AccessSize, MemoryBus } from '../../core/memory/bus.ts';
import type { Cpu } from '../../core/cpu/cpu.ts';
import { hex, runProgram, ZF, CF } from './caseRom.ts';

const MACROS = `
%macro RW 1
        push eax
        movzx eax, %1
        out 0xF0, eax
        pop eax
%endmacro
%macro RD 1
        push eax
        mov eax, %1
        out 0xF0, eax
        pop eax
%endmacro
%macro RFLAGS 0
        push eax
        pushfd
        pop eax
        and eax, 0x8d5
        out 0xF0, eax
        pop eax
%endmacro
`;

const hexes = (v: number[]) => v.map(hex);

describe('string instructions', () => {
  it('single MOVS/LODS/STOS/SCAS/CMPS of each size, forward and with DF=1', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x1000], 0x44332211
        mov dword [0x1004], 0x88776655
        mov si, 0x1000
        mov di, 0x2000
        movsb
        movsw
        movsd
        RW si
        RW di
        RD [0x2000]
        RD [0x2004]
        std
        lodsb
        RW al
        lodsw
        RW ax
        lodsd
        RD eax
        RW si
        mov di, 0x3002
        mov ax, 0xbeef
        stosw
        RW di
        RW word [0x3002]
        cld
        mov al, 0x11
        mov di, 0x2000
        scasb
        RFLAGS
        RW di
        mov si, 0x1000
        mov di, 0x2000
        cmpsd
        RFLAGS
        mov si, 0x1000
        mov di, 0x2004
        cmpsb
        RFLAGS`);
    expect(hexes(run.values)).toEqual(hexes([
      0x1007, 0x2007, // 1 + 2 + 4 bytes moved
      0x44332211, 0x00776655, // [2000..2006] = 11 22 33 44 55 66 77, [2007] untouched
      0x88, // LODSB at SI=1007 (DF=1), SI -> 1006
      0x8877, // LODSW at 1006, SI -> 1004
      0x88776655, 0x1000, // LODSD at 1004, SI -> 1000
      0x3000, 0xbeef, // STOSW at 3002 with DF=1
      ZF | 0x04, 0x2001, // SCASB 0x11 - 0x11 = 0: ZF, PF
      ZF | 0x04, // CMPSD equal
      CF | 0x80 | 0x10, // CMPSB 0x11 - 0x55 = 0xBC: borrow, SF, AF (1 < 5); 0xBC has 5 bits set: no PF
    ]));
  });

  it('REP MOVS with 16-bit and 32-bit addressing, segment overrides on the source only', () => {
    const run = runProgram(`${MACROS}
        mov cx, 300
        mov bx, 0x1000
        mov al, 1
fill:   mov [bx], al
        add al, 3
        inc bx
        loop fill
        ; 16-bit addressing: CX counts, the upper half of ECX is not touched.
        mov ax, 0x500
        mov es, ax
        mov ecx, 0xabcd0000 + 300
        mov esi, 0x77771000
        mov edi, 0x66660010
        rep movsb
        RD ecx
        RD esi
        RD edi
        RD [es:0x10]
        RD [es:0x10 + 296]
        ; 32-bit addressing: ECX/ESI/EDI in full.
        mov ax, 0x600
        mov es, ax
        mov esi, 0x1000
        mov edi, 0x0
        mov ecx, 75
        a32 rep movsd
        RD ecx
        RD esi
        RD edi
        RD [es:0]
        RD [es:296]
        ; FS override: the source is FS:SI, the destination still ES:DI.
        mov ax, 0x100
        mov fs, ax
        mov ax, 0x700
        mov es, ax
        xor si, si
        xor di, di
        mov cx, 8
        db 0x64
        rep movsb
        RD [es:0]
        RD [es:4]
        ; An ES override also only changes the source: ES:SI -> ES:DI.
        mov si, 0
        mov di, 0x40
        mov cx, 4
        db 0x26
        rep movsb
        RD [es:0x40]`);
    const b = (k: number) => (1 + 3 * k) & 0xff;
    const dw = (k: number) => (b(k) | (b(k + 1) << 8) | (b(k + 2) << 16) | (b(k + 3) << 24)) >>> 0;
    expect(hexes(run.values)).toEqual(hexes([
      0xabcd0000, 0x7777112c, 0x6666013c, dw(0), dw(296),
      0, 0x1000 + 300, 300, dw(0), dw(296),
      dw(0), dw(4),
      dw(0),
    ]));
  });

  it('DF=1 REP MOVSW copies downwards; 16-bit indexes wrap within 64 KiB', () => {
    const run = runProgram(`${MACROS}
        mov dword [0x1000], 0x44332211
        mov dword [0x1004], 0x88776655
        std
        mov si, 0x1006
        mov di, 0x2006
        mov cx, 4
        rep movsw
        cld
        RW si
        RW di
        RD [0x2000]
        RD [0x2004]
        mov esi, 0x1234ffff
        lodsb
        RD esi
        mov ax, 0x3000
        mov es, ax
        mov di, 0xfffe
        mov cx, 4
        mov al, 0x5a
        rep stosb
        RW di
        RW word [es:0xfffe]
        RW word [es:0]`);
    expect(hexes(run.values)).toEqual(hexes([0x0ffe, 0x1ffe, 0x44332211, 0x88776655, 0x12340000, 0x0002, 0x5a5a, 0x5a5a]));
  });

  it('REPE CMPS / REPNE SCAS stop on the condition; a zero count does nothing', () => {
    const run = runProgram(`${MACROS}
        mov ax, cs
        mov es, ax
        mov si, s1
        mov di, s2
        mov cx, 11
        cs repe cmpsb
        RFLAGS
        RW cx
        mov ax, si
        sub ax, s1
        RW ax
        mov ax, di
        sub ax, s2
        RW ax
        mov di, s1
        mov al, 'O'
        mov cx, 11
        repne scasb
        RFLAGS
        RW cx
        mov ax, di
        sub ax, s1
        RW ax
        ; the whole equal prefix: REPE runs out of count with ZF=1
        mov si, s1
        mov di, s2
        mov cx, 6
        cs repe cmpsb
        RFLAGS
        RW cx
        ; count 0: flags and indexes unchanged
        push dword 0x8d7
        popfd
        mov si, s1
        mov di, s2
        mov cx, 0
        cs repne cmpsb
        RFLAGS
        mov ax, si
        sub ax, s1
        RW ax
        jmp finish
s1:     db 'HELLO WORLD'
s2:     db 'HELLO THERE'`);
    expect(hexes(run.values)).toEqual(hexes([
      0x04, 4, 7, 7, // 'W'(57) - 'T'(54) = 3: PF only; stopped after 7 compares
      ZF | 0x04, 6, 5, // found 'O' at index 4
      ZF | 0x04, 0, // 6 equal bytes
      0x8d5, 0,
    ]));
  });

  it('overlapping forward REP MOVS replicates like the element loop', () => {
    const run = runProgram(`${MACROS}
        mov byte [0x7000], 0xab
        mov si, 0x7000
        mov di, 0x7001
        mov cx, 100
        rep movsb
        RD [0x7000]
        RD [0x7060]
        mov word [0x7200], 0x0201
        mov si, 0x7200
        mov di, 0x7202
        mov cx, 10
        rep movsb
        RD [0x7200]
        RD [0x7208]
        mov dword [0x7400], 0xdeadbeef
        mov si, 0x7400
        mov di, 0x7404
        mov cx, 300
        rep movsd
        RD [0x7400 + 4 * 299]
        RD [0x7400 + 4 * 300]
        RD [0x7400 + 4 * 301]`);
    // 0x7000..0x7064 = AB; 0x7200..0x720B = 01 02 repeated; 301 copies of DEADBEEF from 0x7400.
    expect(hexes(run.values)).toEqual(hexes([0xabababab, 0xabababab, 0x02010201, 0x02010201, 0xdeadbeef, 0xdeadbeef, 0]));
  });

  it('large REP STOSD / REP MOVSB across many pages equal the element-by-element result', () => {
    const run = runProgram(`${MACROS}
        mov ax, 0x2000
        mov es, ax
        xor edi, edi
        mov ecx, 0x4000
        mov eax, 0x12345678
        a32 rep stosd
        RD ecx
        RD edi
        mov dword [es:0xc000], 0
        xor edi, edi
        mov ecx, 0x4000
        a32 repe scasd
        RFLAGS
        RD ecx
        RD edi
        ; misaligned, page-crossing copy of 0x2345 bytes from 0x20003 to 0x30FFD
        mov ax, 0x2000
        mov ds, ax
        mov ax, 0x3000
        mov es, ax
        mov dword [0x0ffc], 0xa1b2c3d4
        mov esi, 0x3
        mov edi, 0xffd
        mov ecx, 0x2345
        a32 rep movsb
        RD ecx
        RD esi
        RD edi
        RD [es:0xffd]
        RD [es:0xffd + 0xff9]
        RD [es:0xffd + 0x2341]
        xor ax, ax
        mov ds, ax`);
    // stosd: 0x4000 dwords from 0x20000; [0x2C000] = 0 -> REPE SCASD stops after element 0x3000
    // movsb source bytes: 78 56 34 12 repeated from 0x20000, with d4 c3 b2 a1 at 0x20ffc
    const src = (off: number) => {
      if (off >= 0xffc && off < 0x1000) return [0xd4, 0xc3, 0xb2, 0xa1][off - 0xffc];
      if (off >= 0xc000 && off < 0xc004) return 0;
      return [0x78, 0x56, 0x34, 0x12][off & 3];
    };
    const at = (destOff: number) => {
      let v = 0;
      for (let k = 0; k < 4; k++) v |= src(3 + destOff - 0xffd + k) << (8 * k);
      return v >>> 0;
    };
    expect(hexes(run.values)).toEqual(hexes([
      0, 0x10000,
      0x04, 0x4000 - 0x3001, 0xc004, // stopped at element 0x3000: 0x12345678 - 0, ZF=0, PF (0x78 has 4 bits)
      0, 0x3 + 0x2345, 0xffd + 0x2345,
      at(0xffd), at(0xffd + 0xff9), at(0xffd + 0x2341),
    ]));
  });

  it('a fault in the middle of REP STOS leaves ECX/EDI at the faulting element and the REP restarts', () => {
    const run = runProgram(`${MACROS}
        mov word [13 * 4], gp_handler
        mov word [13 * 4 + 2], 0xF000
        mov eax, rep_insn
        out 0xF0, eax
        mov ax, 0x4000
        mov es, ax
        mov edi, 0xfff0
        mov ecx, 0x20
        mov al, 0xee
rep_insn:
        a32 rep stosb
        RD ecx
        RD edi
        RD [es:0xfff0]
        RD [es:0xfffc]
        jmp finish
gp_handler:
        RD ecx
        RD edi
        push bp
        mov bp, sp
        RW word [bp + 2]
        pop bp
        xor ecx, ecx
        iret`);
    const [label, ...rest] = run.values;
    expect(hexes(rest)).toEqual(hexes([0x10, 0x10000, label, 0, 0x10000, 0xeeeeeeee, 0xeeeeeeee]));
  });

  it('a long REP takes an interrupt between elements and then completes', () => {
    let armed = false;
    let polls = 0;
    const setup = (bus: MemoryBus, cpu: Cpu) => {
      bus.addPorts(0x310, 1, { portRead: () => 0, portWrite: () => { armed = true; } }, 'arm', [1]);
      cpu.interruptController = {
        // Fires on the second poll after arming: after the REP block has started.
        hasInterrupt: () => armed && ++polls >= 2,
        acknowledge: () => { armed = false; return 0x40; },
      };
    };
    const run = runProgram(`${MACROS}
        mov word [0x40 * 4], irq_handler
        mov word [0x40 * 4 + 2], 0xF000
        mov ax, 0x2000
        mov ds, ax
        xor esi, esi
        mov ecx, 50000
        mov dx, 0x310
        out dx, al
        sti
        a32 rep lodsb
        cli
        xor ax, ax
        mov ds, ax
        RD ecx
        RD esi
        jmp finish
irq_handler:
        RD ecx
        iret`, { setup });
    expect(run.values.length).toBe(3);
    const [atIrq, ecx, esi] = run.values;
    expect(atIrq).toBeGreaterThan(0);
    expect(atIrq).toBeLessThan(50000);
    expect([ecx, esi]).toEqual([0, 50000]);
  });

  it('REP INS / REP OUTS move data between ES:DI / DS:SI and a port', () => {
    let counter = 0x40;
    const written: string[] = [];
    const setup = (bus: MemoryBus) => {
      bus.addPorts(0x300, 4, {
        portRead: (_p: number, size: AccessSize) => (size === 1 ? counter++ : size === 2 ? 0x1100 | counter++ : 0x22221100 | counter++),
        portWrite: (p: number, size: AccessSize, v: number) => { written.push(`${p.toString(16)}/${size}:${v.toString(16)}`); },
      }, 'test port', [1, 2, 4]);
    };
    const run = runProgram(`${MACROS}
        mov dx, 0x300
        mov di, 0x5000
        mov cx, 5
        rep insb
        RW di
        RD [0x5000]
        RW word [0x5004]
        mov cx, 2
        rep insw
        RD [0x5005]
        insd
        RD [0x5009]
        RW di
        mov si, 0x5000
        mov cx, 3
        rep outsb
        outsw
        std
        mov si, 0x5009
        outsd
        cld
        RW si`, { setup });
    expect(hexes(run.values)).toEqual(hexes([0x5005, 0x43424140, 0x44, 0x11461145, 0x22221147, 0x500d, 0x5005]));
    expect(written).toEqual(['300/1:40', '300/1:41', '300/1:42', '300/2:4443', '300/4:22221147']);
  });
});
