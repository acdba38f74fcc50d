; Multiboot v1 test kernel: counts its boots in CMOS NVRAM byte 0x40 (which
; survives a reset, unlike RAM), prints the count on COM1, and then
;   count < 3: requests a hard reset through port 0xCF9 (SRST | RCPU), or
;              through port 0x92 bit 0 when built with -DRESET_VIA_PORT92, or
;              through the keyboard controller (command 0xFE) with -DRESET_VIA_KBC;
;   count = 3: powers off through ACPI PM1a_CNT (SLP_TYP = 5, SLP_EN).
bits 32
org 0x100000

%include "multiboot.inc"
CMOS_INDEX equ 0x70
CMOS_DATA  equ 0x71
COUNTER    equ 0x40
MULTIBOOT_HEADER 0x00010000, start

start:
    mov al, COUNTER
    out CMOS_INDEX, al
    in al, CMOS_DATA
    inc al
    mov bl, al
    mov al, COUNTER
    out CMOS_INDEX, al
    mov al, bl
    out CMOS_DATA, al
    add al, '0'
    mov dx, 0x3F8
    out dx, al
    cmp bl, 3
    je poweroff
%ifdef RESET_VIA_PORT92
    in al, 0x92
    or al, 1
    out 0x92, al
%elifdef RESET_VIA_KBC
    mov al, 0xFE
    out 0x64, al
%else
    mov al, 0x06
    mov dx, 0xCF9
    out dx, al
%endif
spin:
    jmp spin

poweroff:
    ACPI_POWEROFF
