/**
 * Exception and interrupt delivery rules: traps save the next EIP (INT3,
 * INTO, INT1/ICEBP), INT1 has no DPL check, external interrupts ignore the
 * gate DPL and set EXT in error codes, contributory pairs make #DF, NMIs are
 * blocked from the NMI handler until IRET.
 */
import { describe, expect, it } from 'vitest';
import type { AccessSize } from '../../core/memory/bus.ts';
import { hex, runPm } from './pmodeRun.ts';

describe('exceptions and interrupts', () => {
  it('INT3, INTO and ICEBP are traps; ICEBP ignores the gate DPL', () => {
    const run = runPm(`
test_main:
        mov byte [IDT_BASE + 3 * 8 + 5], 0xEE         ; #BP and #OF gates usable from ring 3
        mov byte [IDT_BASE + 4 * 8 + 5], 0xEE
        RESUME_AT c1
        TO_RING3 u1, 0x0002
u1:     int3
a1:
c1:     REPORT a1
        RESUME_AT c2
        TO_RING3 u2, 0x0002
u2:     xor eax, eax                                  ; OF = 0: INTO does nothing
        into
        mov eax, 0x7FFFFFFF
        inc eax                                       ; OF = 1
        into
a2:
c2:     REPORT a2
        RESUME_AT c3
        TO_RING3 u3, 0x0002
u3:     int1                                          ; gate DPL 0, still delivered
a3:
c3:     REPORT a3
        PM_DONE
`);
    const v = run.values;
    expect(hex([v[0], v[1], v[2], v[3]])).toEqual(hex([3, 0xffffffff, v[4], 0x23]));
    expect(hex([v[5], v[6], v[7], v[8]])).toEqual(hex([4, 0xffffffff, v[9], 0x23]));
    expect(hex([v[10], v[11], v[12], v[13]])).toEqual(hex([1, 0xffffffff, v[14], 0x23]));
  });

  it('#GP whose gate is not present: #NP with EXT, a contributory pair -> #DF(0)', () => {
    const run = runPm(`
test_main:
        mov byte [IDT_BASE + 13 * 8 + 5], 0x0E        ; #GP gate not present
        RESUME_AT 0
        REPORT f1
f1:     mov ax, 0x7F8
        mov ds, ax                                    ; #GP(0x7F8) -> #NP(13*8+3) -> #DF
`);
    const v = run.values;
    // REPORT f1 gives the label; the #DF report: vector 8, error 0, EIP of the faulting MOV.
    expect(hex([v[1], v[2], v[4]])).toEqual(hex([8, 0, 0x08]));
    expect(v[3]).toBe(v[0] + 4);
  });

  it('external interrupts: no DPL check, EXT in error codes', () => {
    let pending = -1;
    const run = runPm(`
test_main:
        IDT_GATE 0x30, SEL_CODE0, irq, 0x8E           ; DPL 0: fine for hardware interrupts
        mov dword [IDT_BASE + 0x31 * 8 + 4], 0x00000E00   ; 0x31: not present
        RESUME_AT 0
        TO_RING3 u1, 0x0202
u1:     mov al, 0x30
        out 0xF8, al                                  ; raise IRQ vector 0x30
        nop
        nop
        REPORT 0x1
        mov al, 0x31
        out 0xF8, al
        nop
irq:    mov eax, [ss:esp + 4]
        out 0xF0, eax                                 ; interrupted CS
        iretd
`, {
      setup(bus, cpu) {
        bus.addPorts(0xf8, 1, {
          portRead: () => 0,
          portWrite: (_p: number, _s: AccessSize, val: number) => { pending = val & 0xff; },
        }, 'irq', [1]);
        cpu.interruptController = {
          hasInterrupt: () => pending >= 0,
          acknowledge: () => { const p = pending; pending = -1; return p; },
        };
      },
    });
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0x23, 1]));
    expect(hex([v[2], v[3], v[5]])).toEqual(hex([11, 0x31 * 8 + 3, 0x23]));
  });

  it('an NMI is blocked from the NMI handler until IRET', () => {
    const run = runPm(`
test_main:
        IDT_GATE 2, SEL_CODE0, nmi, 0x8E
        mov dword [PM_SCRATCH], 0
        out 0xF9, al                                  ; NMI
        nop
        mov eax, [PM_SCRATCH]
        out 0xF0, eax                                 ; 2: the nested one came after IRET
        PM_DONE
nmi:    inc dword [PM_SCRATCH]
        cmp dword [PM_SCRATCH], 1
        jne .out
        out 0xF9, al                                  ; a second NMI while in the handler
        nop
        nop
        mov eax, [PM_SCRATCH]
        out 0xF0, eax                                 ; still 1: blocked
.out:   iretd
`, {
      setup(bus, cpu) {
        bus.addPorts(0xf9, 1, {
          portRead: () => 0,
          portWrite: () => { cpu.nmiPending = true; },
        }, 'nmi', [1]);
      },
    });
    expect(hex(run.values)).toEqual(hex([1, 2]));
  });

  it('a ring-0 SS in the TSS that is not DPL 0 makes INT from ring 3 raise #TS(SS selector)', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x50, 0x10000, 0x67, 0x89, 0         ; a task for #TS (its own good stack)
        mov dword [0x10000 + 0x20], ts_task
        mov dword [0x10000 + 0x24], 2
        mov dword [0x10000 + 0x38], 0x9000
        mov dword [0x10000 + 0x48], SEL_DATA0
        mov dword [0x10000 + 0x4C], SEL_CODE0
        mov dword [0x10000 + 0x50], SEL_DATA0
        mov dword [0x10000 + 0x54], SEL_DATA0
        IDT_GATE 10, 0x50, 0, 0x85                    ; #TS -> task gate
        IDT_GATE 0x40, SEL_CODE0, 0, 0xEE
        mov word [TSS_BASE + 8], SEL_DATA3            ; SS0 with RPL/DPL 3
        RESUME_AT 0
        TO_RING3 u1, 0x0002
u1:     REPORT f1
f1:     int 0x40
ts_task:
        mov eax, [esp]
        out 0xF0, eax                                 ; error code: the SS selector
        mov eax, [TSS_BASE + 0x20]
        out 0xF0, eax                                 ; the interrupted task's EIP: the INT (a fault)
        movzx eax, word [TSS_BASE + 0x4C]
        out 0xF0, eax
        PM_DONE
`);
    const v = run.values;
    expect(run.stop).toBe('halt');
    expect(hex(v.slice(1))).toEqual(hex([0x28, v[0], 0x23]));
  });

  it('alignment check: #AC(0) for a misaligned CPL 3 data access with CR0.AM and EFLAGS.AC, never at CPL 0', () => {
    const run = runPm(`
test_main:
        mov eax, cr0
        or eax, 1 << 18                               ; CR0.AM
        mov cr0, eax
        RESUME_AT c1
        TO_RING3 u1, 0x40002                          ; EFLAGS.AC
u1:     REPORT f1
f1:     mov eax, [ss:0x5001]
c1:     RESUME_AT c2
        TO_RING3 u2, 0x40002
u2:     mov eax, [ss:0x5004]                          ; aligned accesses are fine
        mov ax, [ss:0x5002]
        mov al, [ss:0x5003]
        REPORT 0xA1
        push dword 0x2                                ; POPF clears AC: no more checks
        popfd
        mov eax, [ss:0x5001]
        REPORT 0xA2
        cli                                           ; #GP(0): back to CPL 0
c2:     push dword 0x40002
        popfd
        mov eax, [0x5001]                             ; CPL 0: not checked
        REPORT 0xA3
        PM_DONE
`);
    const v = run.values;
    expect(run.stop).toBe('halt');
    expect(hex(v.slice(1, 5))).toEqual(hex([17, 0, v[0], 0x23]));
    expect(hex(v.slice(5, 7))).toEqual(hex([0xa1, 0xa2]));
    expect(hex([v[7], v[8], v[10]])).toEqual(hex([13, 0, 0x23]));
    expect(hex(v.slice(11))).toEqual(hex([0xa3]));
  });
});
