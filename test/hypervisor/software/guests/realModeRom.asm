; A 64 KiB firmware image for the software monitor's emulator test
; (test/hypervisor/software/realMode.test.ts). It starts at the reset vector
; in real mode and, twice: prints a line on COM1 in real mode (and one from
; an INT 40h handler it put in the IVT), enters 32-bit protected mode (LGDT,
; MOV CR0, far JMP), prints from ring 0 after sensitive instructions (MOV
; from CR0, CLI/STI, LIDT; a read of the ROM's alias below 4 GiB and a call
; into it, where the monitor lives), then goes back to real mode: the first time
; through a 16-bit protected-mode code segment, the second time by clearing
; CR0.PE in the 32-bit code itself (it prints from there, in real mode with
; 32-bit segment caches, then sets PE again and takes the 16-bit way). A far
; JMP to F000h ends both. It ends with CLI; HLT, which stops the machine.
;
; The image is mapped at 4 GiB and its copy at F0000h (the BIOS shadow), so
; segment F000h offsets are image offsets and linear addresses are F0000h + offset.
bits 16
org 0

ROM_BASE equ 0xf0000
; COM1 (0x3F8) and the 32-bit output routines com1_puts, com1_putc, com1_hex32: serial.inc (test/machine/kernels)
ROUNDS equ 0x500            ; a byte in low RAM: round trips done

start:
    cli
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    mov ds, ax
    mov byte [ROUNDS], 0
    mov word [0x40 * 4], int40      ; INT 40h in the IVT: F000:int40
    mov word [0x40 * 4 + 2], 0xf000
again:
    mov ax, cs
    mov ds, ax
    mov si, msg_real
    call print16
    int 0x40
    xor ax, ax
    mov ds, ax
    mov al, [ROUNDS]
    add al, '1'
    call putc16
    mov al, 10
    call putc16

    o32 lgdt [cs:gdt_desc]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x08:(ROM_BASE + pm32)

int40:
    push si
    push ds
    mov si, cs
    mov ds, si
    mov si, msg_int
    call print16
    pop ds
    pop si
    iret

; AL to COM1 once its transmit holding register is empty.
putc16:
    push dx
    push ax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop ax
    mov dx, COM1
    out dx, al
    pop dx
    ret

; DS:SI, zero-terminated.
print16:
    lodsb
    test al, al
    jz .done
    call putc16
    jmp print16
.done:
    ret

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7000
    mov esi, ROM_BASE + msg_pm
    call com1_puts
    mov eax, cr0                    ; sensitive: shows the guest's CR0
    and eax, 0x80000011
    call com1_hex32
    cli
    sti
    cli
    lidt [ROM_BASE + idt_desc]      ; an empty IDT (interrupts stay off)
    mov esi, ROM_BASE + msg_alias
    call com1_puts
    mov eax, [0xfffffff0]           ; the reset vector's bytes, read through the ROM's alias below 4 GiB
    call com1_hex32
    mov al, ' '
    call com1_putc
    mov eax, 0xffff0000 + high_code ; a call into the ROM's alias below 4 GiB (as SeaBIOS calls its PAM routine)
    call eax
    call com1_hex32
    mov esi, ROM_BASE + msg_cr0_end
    call com1_puts
    cmp byte [ROUNDS], 0
    jne .direct
    jmp 0x18:pm16                   ; round 1: through 16-bit protected mode (code segment based at F0000h)
.direct:                            ; round 2: 32-bit code clears PE itself (real mode with a 32-bit CS cache)
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    mov esi, ROM_BASE + msg_big     ; this 32-bit code in real mode, flat DS (unreal), 32-bit stack
    call com1_puts
    mov eax, cr0                    ; the CS cache stays 32-bit in real mode: back through protected mode
    or al, 1
    mov cr0, eax
    jmp 0x18:pm16

high_code:                          ; runs at 0xFFFF0000 + high_code
    mov eax, 0x600dc0de
    ret

%include "serial.inc"

bits 16
pm16:
    mov ax, 0x20
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp 0xf000:real_again

real_again:
    o32 lidt [cs:ivt_desc]          ; the real-mode IVT again (protected mode's LIDT left an empty table)
    xor ax, ax
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov sp, 0x7000
    inc byte [ROUNDS]
    cmp byte [ROUNDS], 2
    jb again
    mov ax, cs
    mov ds, ax
    mov si, msg_done
    call print16
    cli
    hlt

msg_real: db 'real mode: hello from F000:', 0
msg_int: db '[int 40h via the IVT] round ', 0
msg_pm: db 'protected mode, ring 0: cr0 & 0x80000011 = ', 0
msg_alias: db ', at the top: ', 0
msg_cr0_end: db 10, 0
msg_big: db 'real mode with a 32-bit code segment and flat data segments', 10, 0
msg_done: db 'back in real mode twice; halting', 10, 0

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff           ; 08h: 32-bit code, flat
    dq 0x00cf92000000ffff           ; 10h: 32-bit data, flat
    dw 0xffff, 0x0000               ; 18h: 16-bit code, base F0000h, limit FFFFh
    db 0x0f, 0x9a, 0x00, 0x00
    dw 0xffff, 0x0000               ; 20h: 16-bit data, base 0, limit FFFFh
    db 0x00, 0x92, 0x00, 0x00
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd ROM_BASE + gdt
idt_desc:
    dw 0
    dd 0
ivt_desc:
    dw 0x3ff
    dd 0

    times 0xfff0 - ($ - $$) db 0xff
reset_vector:
    jmp 0xf000:start
    times 0x10000 - ($ - $$) db 0xff
