/**
 * Virtual-8086 mode: entered with IRETD (VM=1 in the image at CPL 0); real
 * mode style segments; IOPL-sensitive CLI/STI/PUSHF/POPF/INT n/IRET fault
 * with #GP(0) at IOPL < 3 and the fault leaves V86 with the V86 frame (GS FS
 * DS ES SS ESP EFLAGS CS EIP, error code) on the ring-0 stack and the data
 * segment registers zeroed; at IOPL 3 they work but IOPL/VM stay unchanged;
 * INT n at IOPL 3 goes through the IDT to ring 0.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

/** Enters V86 at F000:label with the given EFLAGS (VM added), SS:SP = 0x0500:0x0100, DS=0x0100, ES=0x0200, FS=0x0300, GS=0x0400. */
const ENTER_V86 = (label: string, flags: number): string => `
        push dword 0x0400                             ; GS
        push dword 0x0300                             ; FS
        push dword 0x0100                             ; DS
        push dword 0x0200                             ; ES
        push dword 0x0500                             ; SS
        push dword 0x0100                             ; ESP
        push dword ${0x20000 | flags}
        push dword 0xF000                             ; CS
        push dword ${label}
        iretd`;

/** A #GP handler that reports the whole V86 frame and the zeroed data segments, then resumes at [PM_RESUME]. */
const GP_DUMP = `
gp_dump:
        mov ecx, 10                                   ; error, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS
        mov esi, esp
.d:     mov eax, [ss:esi]
        out 0xF0, eax
        add esi, 4
        loop .d
        mov ax, ds
        movzx eax, ax
        out 0xF0, eax
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov esp, PM_STACK0
        mov eax, [PM_RESUME]
        test eax, eax
        jz .stop
        jmp eax
.stop:  cli
        hlt`;

describe('virtual-8086 mode', () => {
  it('runs real-mode style code and reports through the I/O bitmap', () => {
    const run = runPm(`
test_main:
        mov dword [0x1000 + 0x10], 0xCAFEBABE         ; DS=0x100 -> linear 0x1000 + offset
        ${ENTER_V86('v86code', 0x0002)}
        bits 16
v86code:
        mov eax, [0x10]
        out 0xF0, eax
        mov ax, ss
        shl eax, 16
        mov ax, sp
        out 0xF0, eax
        mov ax, 0x0101
        mov ds, ax                                    ; any value: base = selector << 4
        mov eax, [0x00]
        out 0xF0, eax
        hlt                                           ; #GP(0): leaves V86
        bits 32
`);
    const v = run.values;
    expect(hex(v.slice(0, 3))).toEqual(hex([0xcafebabe, 0x0500_0100, 0xcafebabe]));
    expect(hex([v[3], v[4], v[6]])).toEqual(hex([13, 0, 0xf000]));
  });

  it('IOPL-sensitive instructions at IOPL 0 fault out of V86 with the full frame', () => {
    const run = runPm(`
test_main:
        IDT_GATE 13, SEL_CODE0, gp_dump, 0x8E
        RESUME_AT c1
        ${ENTER_V86('v1', 0x0202)}
        bits 16
v1:     REPORT f1
f1:     cli
        bits 32
c1:     RESUME_AT c2
        ${ENTER_V86('v2', 0x0002)}
        bits 16
v2:     int 0x21
        bits 32
c2:     RESUME_AT c3
        ${ENTER_V86('v3', 0x0002)}
        bits 16
v3:     pushf
        bits 32
c3:     RESUME_AT c4
        ${ENTER_V86('v4', 0x0002)}
        bits 16
v4:     popf
        bits 32
c4:     RESUME_AT 0
        ${ENTER_V86('v5', 0x0002)}
        bits 16
v5:     iret
        bits 32
${GP_DUMP}
`);
    const v = run.values;
    // First fault: full frame. The EFLAGS image has VM and, as for every fault, RF (SDM 17.3.1.1).
    expect(hex(v.slice(0, 12))).toEqual(hex([
      v[0], 0, v[0], 0xf000, 0x0003_0202, 0x0100, 0x0500, 0x0200, 0x0100, 0x0300, 0x0400, 0,
    ]));
    // The others: #GP(0) from V86 at the instruction itself (EIP = label offset).
    for (let k = 1; k < 5; k++) {
      const f = v.slice(1 + 11 * k, 12 + 11 * k);
      expect(hex([f[0], f[2], f[3], f[10]])).toEqual(hex([0, 0xf000, 0x0003_0002, 0]));
    }
    expect(v.length).toBe(1 + 11 * 5);
  });

  it('at IOPL 3: CLI/STI/PUSHF/POPF work, IOPL stays, INT n enters ring 0 with the V86 frame, IRET returns', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0x21, SEL_CODE0, int21, 0xEE
        ${ENTER_V86('v1', 0x3002)}
        bits 16
v1:     sti
        pushfd
        pop eax
        out 0xF0, eax                                 ; VM is not in the image
        push dword 0x00000202                         ; try IOPL 0, IF 1
        popfd
        pushfd
        pop eax
        out 0xF0, eax                                 ; IOPL still 3
        cli
        mov ax, 0x1234
        REPORT after
        int 0x21
after:  out 0xF0, eax                                 ; EAX set by the handler
        pushf
        pop ax
        movzx eax, ax
        out 0xF0, eax
        mov ax, ds
        movzx eax, ax
        out 0xF0, eax                                 ; DS restored by IRETD
        hlt
        bits 32
int21:  mov eax, esp
        out 0xF0, eax
        mov ax, ds
        movzx eax, ax
        out 0xF0, eax                                 ; zeroed on entry
        mov eax, [ss:esp]
        out 0xF0, eax                                 ; EIP
        mov eax, [ss:esp + 4]
        out 0xF0, eax                                 ; CS
        mov eax, [ss:esp + 8]
        out 0xF0, eax                                 ; EFLAGS with VM
        mov eax, [ss:esp + 24]
        out 0xF0, eax                                 ; DS
        mov eax, 0x5678
        iretd
`);
    const v = run.values;
    expect(hex(v.slice(0, 3))).toEqual(hex([0x3202, 0x3202, v[2]]));
    expect(hex(v.slice(3, 9))).toEqual(hex([0x8000 - 36, 0, v[2], 0xf000, 0x0002_3002, 0x0100]));
    expect(hex(v.slice(9, 12))).toEqual(hex([0x5678, 0x3002, 0x0100]));
    expect(hex([v[12], v[13], v[15]])).toEqual(hex([13, 0, 0xf000]));
  });

  it('IRET inside V86 at IOPL 3 keeps IOPL; IRETD to V86 with IP above 0xFFFF is #GP(0) at CPL 0', () => {
    const run = runPm(`
test_main:
        RESUME_AT c1
        ${ENTER_V86('v1', 0x3002)}
        bits 16
v1:     push word 0x0202                              ; FLAGS image: IOPL 0, IF 1
        push cs
        push word v2
        iret
v2:     pushf
        pop ax
        movzx eax, ax
        out 0xF0, eax                                 ; IOPL still 3, IF 1
        hlt
        bits 32
c1:     RESUME_AT 0
        REPORT f2
f2:     ${ENTER_V86('0x10000', 0x0002)}
`);
    const v = run.values;
    expect(v[0]).toBe(0x3202);
    expect(hex([v[1], v[2], v[4]])).toEqual(hex([13, 0, 0xf000]));
    // The failed IRETD: #GP(0) with CS = 8 (still in protected mode at CPL 0).
    expect(hex([v[6], v[7], v[9]])).toEqual(hex([13, 0, 0x08]));
  });
});
