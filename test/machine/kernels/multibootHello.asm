; Multiboot v1 test kernel (a.out kludge, flat binary loaded at 1 MiB).
; Checks the loader's hand-off, prints a line on COM1, writes a POST-style
; byte to port 0x190 (so the board's port log can be checked), then powers
; off through ACPI PM1a_CNT (SLP_TYP=5, SLP_EN). If power-off does not take,
; it halts with interrupts disabled.
bits 32
org 0x100000

%include "multiboot.inc"
PM1A_CNT   equ 0x604
SLP_S5     equ (5 << 10) | (1 << 13)
MULTIBOOT_HEADER 0x00010002, start

start:
    mov esp, stack_top
    cmp eax, 0x2BADB002
    jne bad_magic
    test dword [ebx], 1            ; info.flags: mem_lower/mem_upper valid
    jz bad_magic
    mov al, 0x42
    mov dx, 0x190
    out dx, al
    mov esi, hello
    call com1_puts
    mov eax, [ebx + 8]             ; mem_upper in KiB
    call com1_hex32
    mov esi, newline
    call com1_puts
    mov al, 0x43
    mov dx, 0x190
    out dx, al
poweroff:
    mov dx, PM1A_CNT
    mov ax, SLP_S5
    out dx, ax
    cli
    hlt
    jmp poweroff

bad_magic:
    mov esi, badmsg
    call com1_puts
    cli
    hlt

%include "serial.inc"

hello:   db "Hello from Multiboot, mem_upper=0x", 0
newline: db 10, 0
badmsg:  db "bad multiboot hand-off", 10, 0

align 16
    times 4096 db 0                ; stack
stack_top:
