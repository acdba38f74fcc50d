; Multiboot v1 test kernel: programs the PIC (IRQ0 -> vector 0x20) and PIT
; channel 0 (mode 2, divisor 11932: ~100 Hz), then sleeps in HLT with
; interrupts enabled, counting timer interrupts. After 10 ticks it prints
; "ticks" on COM1 and powers off. On the deterministic clock the machine must
; skip the halted time instead of executing it.
bits 32
org 0x100000

%include "multiboot.inc"
%include "idt.inc"
DIVISOR    equ 11932
MULTIBOOT_HEADER 0x00010000, start

start:
    mov esp, stack_top
    IDT_GATE 0x20, timer_isr
    lidt [idt_descriptor]
    ; PIC: ICW1 edge + ICW4, ICW2 vector bases 0x20/0x28, ICW3 cascade, ICW4 8086 mode
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x02
    out 0xA1, al
    mov al, 0x01
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE                   ; only IRQ0 unmasked
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    ; PIT channel 0, lobyte/hibyte, mode 2
    mov al, 0x34
    out 0x43, al
    mov al, DIVISOR & 0xFF
    out 0x40, al
    mov al, DIVISOR >> 8
    out 0x40, al
    sti
wait_ticks:
    hlt
    cmp dword [ticks], 10
    jb wait_ticks
    cli
    mov esi, message
    PRINT_THEN_POWEROFF

timer_isr:
    inc dword [ticks]
    push eax
    mov al, 0x20                   ; non-specific EOI
    out 0x20, al
    pop eax
    iret

message: db "ticks", 0
align 4
ticks: dd 0
idt_descriptor:
    dw 0x21 * 8 - 1
    dd idt
align 8
idt:
    times 0x21 * 8 db 0
    times 1024 db 0
stack_top:
