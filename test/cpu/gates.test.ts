/**
 * Call gates and interrupt gates across privilege levels: the stack switch
 * through the TSS, parameter copying, the frames the inner ring sees, the
 * return to ring 3, and the gate checks' error codes (IDT entries carry
 * vector*8+2, +1 for events external to the program).
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

describe('call gates', () => {
  it('32-bit call gate from ring 3 to ring 0 switches stacks and copies parameters', () => {
    const run = runPm(`
test_main:
        SET_GATE GDT_BASE, 9, SEL_CODE0, inner, 0xEC, 2   ; 0x48: 32-bit call gate, DPL3, 2 dwords
        TO_RING3 ring3, 0x0002
ring3:  push dword 0x2222
        push dword 0x1111
        REPORT back
        call 0x4B:0                                   ; offset is ignored for gates
back:   mov eax, esp
        out 0xF0, eax                                 ; ring 3 ESP after RET 8
        mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        mov ax, ss
        movzx eax, ax
        out 0xF0, eax
        RESUME_AT 0
        hlt                                           ; ring 3: #GP(0) ends the test
inner:  mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        mov ax, ss
        movzx eax, ax
        out 0xF0, eax
        mov eax, esp
        out 0xF0, eax
        mov ecx, 6
        mov esi, esp
.dump:  mov eax, [ss:esi]                                ; DS was nulled by the IRET to ring 3
        out 0xF0, eax
        add esi, 4
        loop .dump
        retf 8
`);
    const v = run.values;
    expect(hex(v.slice(1, 4))).toEqual(hex([0x08, 0x10, 0x8000 - 24]));
    // Inner frame: EIP, CS, param0, param1, old ESP, old SS.
    expect(hex(v.slice(4, 10))).toEqual(hex([v[0], 0x23, 0x1111, 0x2222, 0x6000 - 8, 0x2b]));
    expect(hex(v.slice(10, 13))).toEqual(hex([0x6000, 0x23, 0x2b]));
    expect(hex(v.slice(13, 15))).toEqual(hex([13, 0]));
  });

  it('16-bit call gate copies words and uses only the low offset word', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x50, CODE_BASE, 0xFFFF, 0x9A, 0     ; 16-bit code DPL0
        SET_GATE GDT_BASE, 9, 0x50, inner16 + 0xABCD0000, 0xE4, 1  ; 0x48: 16-bit call gate, 1 word
        TO_RING3 ring3, 0x0002
ring3:  push word 0x5A5A
        call 0x4B:0
        out 0xF0, eax                                 ; EAX from the 16-bit handler
        mov eax, esp
        out 0xF0, eax
        PM_DONE
        bits 16
inner16:
        mov bp, sp
        movzx eax, word [bp + 4]                      ; the copied parameter (above IP, CS)
        mov ebx, eax
        mov ax, [bp + 6]                              ; old SP
        shl eax, 16
        mov ax, [bp + 8]                              ; old SS
        xchg eax, ebx
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax
        mov eax, esp
        out 0xF0, eax
        mov eax, 0x12345678
        o16 retf 2
        bits 32
`);
    const v = run.values;
    expect(hex(v.slice(0, 3))).toEqual(hex([0x5a5a, ((0x6000 - 2) << 16) | 0x2b, 0x8000 - 10]));
    // PM_DONE at ring 3: CLI faults, so the last report is the default handler's.
    expect(hex(v.slice(3, 5))).toEqual(hex([0x12345678, 0x6000]));
  });

  it('call gate checks: gate DPL, not-present gate, target DPL above CPL', () => {
    const run = runPm(`
test_main:
        SET_GATE GDT_BASE, 9, SEL_CODE0, 0, 0x8C, 0      ; 0x48: gate DPL0
        SET_GATE GDT_BASE, 10, SEL_CODE0, 0, 0x6C, 0     ; 0x50: gate DPL3, not present
        SET_GATE GDT_BASE, 11, SEL_CODE3, 0, 0xEC, 0     ; 0x58: target DPL3 from CPL0 via CALL -> #GP(target)? no: DPL3 > CPL0
        RESUME_AT c1
        TO_RING3 r1, 0x0002
r1:     call 0x4B:0                                   ; CPL3 > gate DPL0 -> #GP(0x48)
c1:     RESUME_AT c2
        TO_RING3 r2, 0x0002
r2:     call 0x53:0                                   ; not present -> #NP(0x50)
c2:     RESUME_AT 0
        call 0x58:0                                   ; CPL0 calling DPL3 code -> #GP(0x20)
`);
    const v = run.values;
    expect(hex([v[0], v[1], v[3]])).toEqual(hex([13, 0x48, 0x23]));
    expect(hex([v[4], v[5], v[7]])).toEqual(hex([11, 0x50, 0x23]));
    expect(hex([v[8], v[9], v[11]])).toEqual(hex([13, 0x20, 0x08]));
  });
});

describe('interrupt gates', () => {
  it('INT from ring 3 through a DPL3 interrupt gate: ring 0 stack frame and IF cleared, IRET back', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0x40, SEL_CODE0, handler, 0xEE          ; 32-bit interrupt gate DPL3
        TO_RING3 ring3, 0x3202                           ; IF=1, IOPL=3
ring3:  REPORT back
        int 0x40
back:   pushfd
        pop eax
        out 0xF0, eax
        mov eax, esp
        out 0xF0, eax
        mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        cli
        hlt
handler:
        mov eax, esp
        out 0xF0, eax
        mov ecx, 5
        mov esi, esp
.dump:  mov eax, [ss:esi]                                ; DS was nulled by the IRET to ring 3
        out 0xF0, eax
        add esi, 4
        loop .dump
        pushfd
        pop eax
        and eax, 0x7300                                  ; NT, IOPL, IF, TF
        out 0xF0, eax
        iretd
`);
    const v = run.values;
    expect(run.stop).toBe('halt');
    expect(hex(v.slice(1, 7))).toEqual(hex([0x8000 - 20, v[0], 0x23, 0x3202, 0x6000, 0x2b]));
    expect(hex(v.slice(7, 11))).toEqual(hex([0x3000, 0x3202, 0x6000, 0x23]));
    // HLT at ring 3: #GP(0).
    expect(hex([v[11], v[12], v[14]])).toEqual(hex([13, 0, 0x23]));
  });

  it('a trap gate keeps IF; a same-ring interrupt pushes no SS:ESP', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0x41, SEL_CODE0, handler, 0x8F          ; 32-bit trap gate DPL0
        sti
        mov ebx, esp
        int 0x41
        PM_DONE
handler:
        mov eax, ebx
        sub eax, esp
        out 0xF0, eax                                    ; 12 bytes: EFLAGS, CS, EIP
        pushfd
        pop eax
        and eax, 0x300                                   ; IF, TF
        out 0xF0, eax
        iretd
`);
    expect(hex(run.values)).toEqual(hex([12, 0x200]));
  });

  it('gate errors: DPL < CPL for INT n, not present, IDT limit, bad gate type', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0x41, SEL_CODE0, 0, 0x8E                ; DPL0
        IDT_GATE 0x42, SEL_CODE0, 0, 0x6E                ; DPL3, not present
        IDT_GATE 0x43, SEL_CODE0, 0, 0xEC                ; a call gate in the IDT
        RESUME_AT c1
        TO_RING3 r1, 0x0002
r1:     int 0x41                                         ; #GP(0x41*8+2)
c1:     RESUME_AT c2
        TO_RING3 r2, 0x0002
r2:     int 0x42                                         ; #NP(0x42*8+2)
c2:     RESUME_AT c3
        int 0x43                                         ; #GP(0x43*8+2)
c3:     RESUME_AT c4
        sub esp, 6
        sidt [esp]
        mov word [esp], 0x44 * 8 - 1
        lidt [esp]
        int 0x44                                         ; beyond the limit: #GP(0x44*8+2)
c4:     RESUME_AT 0
        mov word [IDT_BASE + 6 * 8 + 5], 0x0E            ; #UD gate not present
        ud2                                              ; #UD -> #NP(6*8+2+1): EXT set
`);
    const v = run.values;
    expect(hex([v[0], v[1], v[3]])).toEqual(hex([13, 0x41 * 8 + 2, 0x23]));
    expect(hex([v[4], v[5], v[7]])).toEqual(hex([11, 0x42 * 8 + 2, 0x23]));
    expect(hex([v[8], v[9]])).toEqual(hex([13, 0x43 * 8 + 2]));
    expect(hex([v[12], v[13]])).toEqual(hex([13, 0x44 * 8 + 2]));
    expect(hex([v[16], v[17]])).toEqual(hex([11, 6 * 8 + 3]));
  });
});

describe('gates, more forms', () => {
  it('JMP through a call gate keeps the privilege level and pushes nothing', () => {
    const run = runPm(`
test_main:
        SET_GATE GDT_BASE, 9, SEL_CODE0, target, 0x8C, 0
        mov ebx, esp
        jmp 0x48:0
target: mov eax, ebx
        sub eax, esp
        out 0xF0, eax
        mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        RESUME_AT 0
        SET_GATE GDT_BASE, 10, SEL_CODE3, target, 0xEC, 0
        jmp 0x50:0                                    ; JMP to DPL3 code through a gate from CPL0 -> #GP(0x20)
`);
    expect(hex(run.values.slice(0, 4))).toEqual(hex([0, 0x08, 13, 0x20]));
  });

  it('a 16-bit interrupt gate pushes a 16-bit frame and uses the low offset word', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x50, CODE_BASE, 0xFFFF, 0x9A, 0     ; 16-bit code DPL0
        SET_GATE IDT_BASE, 0x40, 0x50, h16, 0x86, 0   ; 16-bit interrupt gate
        mov ebx, esp
        sti
        int 0x40
        PM_DONE
        bits 16
h16:    mov eax, ebx
        sub eax, esp
        out 0xF0, eax                                 ; 6 bytes: FLAGS, CS, IP
        mov bp, sp
        movzx eax, word [bp + 2]
        out 0xF0, eax                                 ; CS
        movzx eax, word [bp + 4]
        and eax, 0x200
        out 0xF0, eax                                 ; IF was set in the image
        pushf
        pop ax
        and eax, 0x200
        out 0xF0, eax                                 ; IF clear in the handler
        iret
        bits 32
`);
    expect(hex(run.values)).toEqual(hex([6, 0x08, 0x200, 0]));
  });
});
