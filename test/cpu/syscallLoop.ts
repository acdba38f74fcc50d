/**
 * A ring-3 loop of system calls through INT 0x80, for asm/pmode.inc: the
 * entry follows Linux 6.1's entry_INT80_32 step by step (CLD; the GS slot,
 * FS, ES, DS pushed around MOV FS from EAX; the general registers; MOV DS/ES
 * with the user data selector it already holds; the 17-dword frame moved to
 * a second stack by REP MOVSD, as SWITCH_TO_KERNEL_STACK does; the pops; POP
 * DS/ES/FS; IRETD back to CPL 3). FS is null in ring 3 and the kernel's data
 * selector in ring 0, so every call loads FS twice; DS and ES are reloaded
 * with what they hold. The "system call" adds EBX to EAX's saved image.
 * After `calls` calls, ring 3 reports through INT 0x81: the count (EBP's
 * decrements), the results' sum (EDI), DS, ES, FS, and ring 3's SS and ESP.
 */
export const COPY_STACK = 0x9000;

export function syscallLoop(calls: number): string {
  return `
test_main:
        IDT_GATE 0x80, SEL_CODE0, entry80, 0xEE      ; 32-bit interrupt gate, DPL 3
        IDT_GATE 0x81, SEL_CODE0, report, 0xEE
        TO_RING3 user, 0x0002
user:   mov ax, SEL_DATA3
        mov ds, ax
        mov es, ax
        xor eax, eax
        mov fs, ax
        mov ebp, ${calls}
        xor edi, edi
        xor esi, esi
.loop:  mov eax, 20
        mov ebx, esi
        int 0x80
        add edi, eax
        inc esi
        dec ebp
        jnz .loop
        int 0x81

entry80:
        cld
        push dword 0
        push fs
        push eax
        mov eax, SEL_DATA0
        mov fs, eax
        pop eax
        push es
        push ds
        push eax
        push ebp
        push edi
        push esi
        push edx
        push ecx
        push ebx
        mov edx, SEL_DATA3
        mov ds, edx
        mov es, edx
        mov esi, esp
        mov edi, ${COPY_STACK} - 17 * 4
        mov ecx, 17
        rep movsd
        mov esp, ${COPY_STACK} - 17 * 4
        mov eax, [esp]
        add [esp + 24], eax
        pop ebx
        pop ecx
        pop edx
        pop esi
        pop edi
        pop ebp
        pop eax
        pop ds
        pop es
        pop fs
        add esp, 4
        iretd

report: mov eax, ${calls}                            ; the calls made: EBP counted down
        sub eax, ebp
        out 0xF0, eax
        mov eax, edi
        out 0xF0, eax
        mov eax, ds
        out 0xF0, eax
        mov eax, es
        out 0xF0, eax
        mov eax, fs
        out 0xF0, eax
        mov eax, [esp + 16]                           ; ring 3's SS and ESP from the frame
        out 0xF0, eax
        mov eax, [esp + 12]
        out 0xF0, eax
        PM_DONE
`;
}
