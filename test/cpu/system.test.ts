/**
 * System instructions: CPUID detection through EFLAGS.ID, AC writable,
 * SMSW (full CR0 into a 32-bit register), LMSW (cannot clear PE), CLTS,
 * MOV CR/DR rules (#UD for CR1/5-7 and DR4/5 with CR4.DE), DR7.GD, RDPMC,
 * LAR/LSL on code, data and system descriptors, ARPL, LLDT and
 * LDT-relative loads, LTR setting the busy bit, and #UD for the
 * protected-mode-only instructions in V86 mode.
 */
import { describe, expect, it } from 'vitest';
import { bareMetal } from '../../core/cpu/seam.ts';
import { hex, runPm } from './pmodeRun.ts';

describe('system instructions', () => {
  it('EFLAGS.ID and EFLAGS.AC are writable (CPUID is detectable)', () => {
    const run = runPm(`
test_main:
        pushfd
        pop eax
        mov ebx, eax
        xor eax, (1 << 21) | (1 << 18)
        push eax
        popfd
        pushfd
        pop eax
        xor eax, ebx
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([(1 << 21) | (1 << 18)]));
  });

  it('SMSW, LMSW, CLTS', () => {
    const run = runPm(`
test_main:
        smsw eax
        out 0xF0, eax                                 ; all of CR0
        mov eax, cr0
        or eax, 8
        mov cr0, eax                                  ; TS
        smsw ax
        movzx eax, ax
        out 0xF0, eax
        xor ax, ax
        lmsw ax                                       ; clears MP/EM/TS, PE stays
        mov eax, cr0
        out 0xF0, eax
        mov ax, 0x000E
        lmsw ax
        clts
        mov eax, cr0
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x6000_0011, 0x0019, 0x6000_0011, 0x6000_0017]));
  });

  it('MOV CRn/DRn: reserved registers, DR4/DR5 aliases, CR4.DE, DR7.GD', () => {
    const run = runPm(`
test_main:
        mov eax, 0x12345678
        mov dr0, eax
        mov eax, dr0
        out 0xF0, eax
        mov eax, dr4                                  ; alias of DR6 while CR4.DE = 0
        out 0xF0, eax
        RESUME_AT c1
        mov eax, cr4
        or eax, 1 << 3
        mov cr4, eax
        mov eax, dr5                                  ; #UD with CR4.DE
c1:     RESUME_AT c2
        db 0x0F, 0x20, 0xC8                           ; mov eax, cr1 -> #UD
c2:     RESUME_AT c3
        mov eax, 0x2400                               ; DR7.GD
        mov dr7, eax
        mov eax, dr0                                  ; #DB (fault), DR6.BD set, GD cleared
c3:     mov eax, dr6
        and eax, 1 << 13
        out 0xF0, eax
        mov eax, dr7
        out 0xF0, eax
        PM_DONE
`);
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0x12345678, 0xffff0ff0]));
    expect(hex([v[2], v[6], v[10]])).toEqual(hex([6, 6, 1]));
    expect(hex(v.slice(14))).toEqual(hex([1 << 13, 0x400]));
  });

  it('SGDT with a 16-bit operand size stores a 24-bit base and a zero sixth byte', () => {
    const run = runPm(`
test_main:
        mov word [PM_SCRATCH], 0x07FF
        mov dword [PM_SCRATCH + 2], 0xAB001000
        lidt [PM_SCRATCH]                             ; an IDT base with a high byte (never used)
        mov dword [PM_SCRATCH + 8], 0xFFFFFFFF
        mov dword [PM_SCRATCH + 12], 0xFFFFFFFF
        o16 sidt [PM_SCRATCH + 8]
        sidt [PM_SCRATCH + 16]
        mov eax, [PM_SCRATCH + 10]
        out 0xF0, eax
        mov eax, [PM_SCRATCH + 18]
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x00001000, 0xab001000]));
  });

  it('MOV CR1 at CPL 3 is #UD (decode) rather than #GP', () => {
    const run = runPm(`
test_main:
        RESUME_AT 0
        TO_RING3 u1, 0x0002
u1:     db 0x0F, 0x22, 0xC8                           ; mov cr1, eax
`);
    expect(hex([run.values[0], run.values[3]])).toEqual(hex([6, 0x23]));
  });

  it('RDPMC: counters 0 and 1 read 0; CR4.PCE gates CPL 3; other counters #GP(0)', () => {
    const run = runPm(`
test_main:
        mov eax, -1
        mov edx, -1
        xor ecx, ecx
        rdpmc
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
        RESUME_AT c1
        mov ecx, 2
        rdpmc
c1:     RESUME_AT c2
        TO_RING3 u2, 0x0002
u2:     xor ecx, ecx
        rdpmc                                         ; CR4.PCE = 0 at CPL 3
c2:     mov eax, cr4
        or eax, 1 << 8
        mov cr4, eax
        RESUME_AT c3
        TO_RING3 u3, 0x0002
u3:     xor ecx, ecx
        rdpmc
        REPORT 0x600D
        cli                                           ; ends through #GP
c3:     PM_DONE
`);
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0, 0]));
    expect(hex([v[2], v[3], v[6], v[7], v[9]])).toEqual(hex([13, 0, 13, 0, 0x23]));
    expect(v[10]).toBe(0x600d);
  });

  it('LAR and LSL over code, data and system descriptors; ARPL', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x48, 0, 0x0F, 0x8E, 0               ; an interrupt gate type: LAR/LSL refuse it
        SET_DESC 0x50, 0x20000, 0x0FF, 0x82, 0        ; LDT
        SET_DESC 0x58, 0, 0x1, 0x92, 0x8              ; data, 4 KiB granular: limit 0x1FFF
%macro LARLSL 1
        mov ebx, 0xDEAD
        mov ecx, 0xDEAD
        mov ax, %1
        lar ebx, ax
        setz dl
        lsl ecx, ax
        setz dh
        movzx edx, dx
        mov eax, ebx
        out 0xF0, eax
        mov eax, ecx
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
%endmacro
        LARLSL SEL_CODE0
        LARLSL SEL_TSS
        LARLSL 0x48
        LARLSL 0x50
        LARLSL 0x58
        LARLSL 0
        LARLSL 0x7F8 + 0x10                           ; beyond the GDT limit
        mov ax, 0x10
        mov bx, 0x23
        arpl ax, bx
        setz cl
        movzx eax, ax
        out 0xF0, eax
        movzx eax, cl
        out 0xF0, eax
        mov ax, 0x13
        arpl ax, bx                                   ; already RPL 3: ZF = 0
        setz cl
        movzx eax, cl
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([
      0x0040_9b00, 0xffff, 0x0101, // CS (accessed)
      0x0000_8b00, 0x2068, 0x0101, // busy TSS
      0xdead, 0xdead, 0, // interrupt-gate type: neither
      0x0000_8200, 0xff, 0x0101, // LDT
      0x0080_9200, 0x1fff, 0x0101, // data, G=1
      0xdead, 0xdead, 0, // null
      0xdead, 0xdead, 0, // beyond the limit
      0x13, 1, 0,
    ]));
  });

  it('LLDT makes LDT selectors usable; LTR marks the TSS busy and rejects a busy one', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x50, 0x20000, 0x0F, 0x82, 0         ; LDT at 0x20000 with 2 entries
        mov dword [0x20008], 0x0000FFFF               ; LDT entry 1: data, base 0x120000
        mov dword [0x2000C], 0x00CF9212
        mov ax, 0x50
        lldt ax
        sldt eax
        out 0xF0, eax
        mov ax, 0x0C                                  ; index 1, TI = 1
        mov es, ax
        mov dword [0x120004], 0x77
        mov eax, [es:4]
        out 0xF0, eax
        RESUME_AT c1
        mov ax, 0x14                                  ; index 2: beyond the LDT limit
        mov es, ax
c1:     SET_DESC 0x58, 0x10000, 0x67, 0x89, 0
        mov ax, 0x58
        ltr ax
        movzx eax, byte [GDT_BASE + 0x58 + 5]
        out 0xF0, eax
        RESUME_AT 0
        mov ax, 0x30
        ltr ax                                        ; busy -> #GP(0x30)
`);
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0x50, 0x77]));
    expect(hex(v.slice(2, 4))).toEqual(hex([13, 0x14]));
    expect(v[6]).toBe(0x8b);
    expect(hex(v.slice(7, 9))).toEqual(hex([13, 0x30]));
  });

  it('SLDT, STR, LAR, VERR, ARPL are #UD in V86 mode', () => {
    const ops = ['sldt ax', 'str ax', 'lar ax, ax', 'verr ax', 'arpl ax, ax'];
    const body = ops.map((o, k) => `
        RESUME_AT c${k}
        push dword 0
        push dword 0
        push dword 0
        push dword 0
        push dword 0x0500
        push dword 0x0100
        push dword 0x20002
        push dword 0xF000
        push dword u${k}
        iretd
        bits 16
u${k}:  ${o}
        bits 32
c${k}:`).join('');
    const run = runPm(`test_main:${body}\n        PM_DONE\n`);
    const v = run.values;
    expect(v.length).toBe(4 * ops.length);
    for (let k = 0; k < ops.length; k++) expect(hex([v[4 * k], v[4 * k + 3]])).toEqual(hex([6, 0xf000]));
  });

  it('LGDT/LIDT/LLDT/LTR and SMSW/CLTS reach the sensitive-operation seam (a hypervisor can shadow CR0)', () => {
    const log: string[] = [];
    const run = runPm(`
test_main:
        sub esp, 8
        sgdt [esp]
        lgdt [esp]
        sidt [esp]
        lidt [esp]
        SET_DESC 0x50, 0x20000, 0x0F, 0x82, 0
        SET_DESC 0x58, 0x10000, 0x67, 0x89, 0
        mov ax, 0x50
        lldt ax
        mov ax, 0x58
        ltr ax
        smsw eax
        out 0xF0, eax                                 ; the shadow value
        clts
        PM_DONE
`, {
      setup(_bus, cpu) {
        cpu.seam = {
          ...bareMetal,
          loadDescriptorTable(c, which, apply) { log.push(which); apply(); },
          readCr(c, cr) { log.push('readCr' + cr); return cr === 0 ? 0x11 : bareMetal.readCr(c, cr); },
          writeCr(c, cr, v) { log.push('writeCr' + cr + '=' + (v >>> 0).toString(16)); bareMetal.writeCr(c, cr, v); },
        };
      },
    });
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0x11]));
    // pmode.inc's boot (LGDT, LIDT, MOV CR0 read/write, LTR) comes first; then the body;
    // CLTS reads CR0 (the shadow) and writes it back without TS.
    expect(log).toEqual([
      'gdt', 'idt', 'readCr0', 'writeCr0=11', 'tr',
      'gdt', 'idt', 'ldt', 'tr', 'readCr0', 'readCr0', 'writeCr0=11',
    ]);
  });
});
