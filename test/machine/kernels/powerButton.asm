; Multiboot v1 test kernel: enables the ACPI power button event (PM1_EN bit 8),
; polls PM1_STS until PWRBTN_STS is set, acknowledges it (write 1 to clear),
; prints "button" on COM1 and powers off.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

start:
    mov dx, 0x602
    mov ax, 0x0100
    out dx, ax
    mov dx, 0x600
poll:
    in ax, dx
    test ax, 0x0100
    jz poll
    mov ax, 0x0100
    out dx, ax
    mov esi, message
    PRINT_THEN_POWEROFF

message: db "button", 0
