/**
 * Protected-mode far transfers at CPL 0: JMP/CALL/RET far to code segments
 * with the SDM's checks and error codes, RET far to an outer ring (SS:ESP
 * popped, inaccessible data segments nulled). Faults are reported by
 * pmode.inc's default handler as [vector, error code, EIP, CS]; the test
 * reports the faulting instruction's label just before, so the saved EIP is
 * compared against the assembler's own address.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

describe('protected mode', () => {
  it('enters 32-bit protected mode through pmode.inc', () => {
    const run = runPm(`
test_main:
        mov eax, cr0
        out 0xF0, eax
        mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        str ax
        movzx eax, ax
        out 0xF0, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0x6000_0011, 0x08, 0x30]));
  });

  it('far JMP faults with the architected error codes', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x48, CODE_BASE, 0xFFFF, 0x1A, 4      ; code DPL0, not present
        SET_DESC 0x50, CODE_BASE, 0xFFFF, 0x9E, 4      ; conforming code DPL0
        RESUME_AT c2
        REPORT f1
f1:     jmp dword 0x0000:0                             ; null selector -> #GP(0)
c2:     RESUME_AT c3
        REPORT f2
f2:     jmp dword 0x0800:0                             ; beyond GDT limit -> #GP(0x800)
c3:     RESUME_AT c4
        REPORT f3
f3:     jmp dword SEL_DATA0:0                          ; data segment -> #GP(0x10)
c4:     RESUME_AT c5
        REPORT f4
f4:     jmp dword SEL_CODE3:0                          ; non-conforming DPL3 from CPL0 -> #GP(0x20)
c5:     RESUME_AT c6
        REPORT f5
f5:     jmp dword 0x48:0                               ; not present -> #NP(0x48)
c6:     RESUME_AT c7
        REPORT f6
f6:     jmp dword SEL_CODE0:0x10000                    ; offset beyond limit -> #GP(0)
c7:     RESUME_AT 0
        jmp dword 0x52:c8                              ; conforming, RPL 2 ignored: CS.RPL = CPL
c8:     mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    const faults = [
      [13, 0], [13, 0x800], [13, 0x10], [13, 0x20], [11, 0x48], [13, 0],
    ];
    for (let k = 0; k < faults.length; k++) {
      const [label, vec, err, eip, cs] = v.slice(k * 5, k * 5 + 5);
      expect(hex([vec, err, eip, cs])).toEqual(hex([faults[k][0], faults[k][1], label, 0x08]));
    }
    expect(v[30]).toBe(0x50);
    expect(v.length).toBe(31);
  });

  it('far CALL pushes CS:EIP and RET far imm16 releases parameters', () => {
    const run = runPm(`
test_main:
        REPORT after
        push dword 0xAAAA
        push dword 0xBBBB
        mov ebx, esp
        call SEL_CODE0:callee
after:  mov eax, ebx
        sub eax, esp                                   ; 8: both parameters released
        out 0xF0, eax
        PM_DONE
callee: mov eax, [esp]
        out 0xF0, eax                                  ; return EIP
        mov eax, [esp + 4]
        out 0xF0, eax                                  ; return CS (zero-extended)
        mov eax, ebx
        sub eax, esp
        out 0xF0, eax                                  ; 8 bytes pushed
        retf 8
`);
    expect(run.stop).toBe('halt');
    expect(run.values.length).toBe(5);
    expect(run.values[1]).toBe(run.values[0]);
    expect(hex(run.values.slice(2))).toEqual(hex([0x08, 8, -8 >>> 0]));
  });

  it('RET far to ring 3 pops SS:ESP and nulls data segments ring 3 may not use', () => {
    const run = runPm(`
test_main:
        mov ax, SEL_DATA3
        mov fs, ax                                     ; DPL3: survives
        push dword SEL_DATA3
        push dword PM_STACK3 - 16
        push dword SEL_CODE3
        push dword ring3
        retf
ring3:  mov ax, cs
        movzx eax, ax
        out 0xF0, eax
        mov ax, ss
        movzx eax, ax
        out 0xF0, eax
        mov eax, esp
        out 0xF0, eax
        mov ax, ds
        movzx eax, ax
        out 0xF0, eax
        mov ax, es
        movzx eax, ax
        out 0xF0, eax
        mov ax, fs
        movzx eax, ax
        out 0xF0, eax
        RESUME_AT 0
        mov eax, [0x100]                               ; DS is null now -> #GP(0)
`);
    expect(hex(run.values.slice(0, 6))).toEqual(hex([0x23, 0x2b, 0x6000 - 16, 0, 0, 0x2b]));
    expect(hex(run.values.slice(6, 8))).toEqual(hex([13, 0]));
    expect(run.values[9]).toBe(0x23);
  });

  it('RET far and IRET checks: RPL below CPL, SS privilege mismatch, CS not present', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x48, CODE_BASE, 0xFFFF, 0x3A, 4      ; code DPL1, not present
        RESUME_AT c1
        push dword 0x23
        push dword c1
        mov word [esp + 4], SEL_CODE0                 ; RPL 0 at CPL 0 is fine...
        TO_RING3 u1, 0x0002
u1:     push dword SEL_CODE0                          ; ...but at CPL 3, RPL 0 < CPL -> #GP(8)
        push dword u1
        retf
c1:     RESUME_AT c2
        push dword SEL_DATA0                          ; outer SS with DPL 0 for RPL 3 -> #GP(0x10)
        push dword PM_STACK3
        push dword SEL_CODE3
        push dword c2
        retf
c2:     RESUME_AT c3
        push dword 0x0002
        push dword 0x49                               ; not present -> #NP(0x48)
        push dword c3
        iretd
c3:     RESUME_AT c4
        push dword 2
        push dword SEL_DATA0                          ; IRET to CPL 0 code with a data selector -> #GP(0x10)
        push dword c4
        iretd
c4:     PM_DONE
`);
    const codes = run.values.filter((_, k) => k % 4 < 2);
    expect(hex(codes)).toEqual(hex([13, 0x08, 13, 0x10, 11, 0x48, 13, 0x10]));
  });

  it('POPF at CPL 0 changes IOPL; a 16-bit POPF leaves the high EFLAGS half alone', () => {
    const run = runPm(`
test_main:
        push dword 0x00243002                         ; ID, AC, IOPL 3
        popfd
        pushfd
        pop eax
        out 0xF0, eax
        push word 0x0202                              ; IOPL 0, IF 1
        popfw
        pushfd
        pop eax
        out 0xF0, eax
        cli
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x00243002, 0x00240202]));
  });
});
