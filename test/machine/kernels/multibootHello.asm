; Multiboot v1 test kernel (a.out kludge, flat binary loaded at 1 MiB).
; Checks the loader's hand-off, prints a line on COM1, writes a POST-style
; byte to port 0x190 (so the board's port log can be checked), then powers
; off through ACPI PM1a_CNT (SLP_TYP=5, SLP_EN). If power-off does not take,
; it halts with interrupts disabled.
bits 32
org 0x100000

%include "multiboot.inc"
COM1       equ 0x3F8
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
    call puts
    mov eax, [ebx + 8]             ; mem_upper in KiB
    call puthex
    mov esi, newline
    call puts
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
    call puts
    cli
    hlt

; puts: ESI = NUL-terminated string
puts:
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

; putc: AL = byte; waits for THR empty (LSR bit 5)
putc:
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    ret

; puthex: EAX as 8 hex digits
puthex:
    mov ecx, 8
.next:
    rol eax, 4
    push eax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .digit
    add al, 'a' - '9' - 1
.digit:
    call putc
    pop eax
    loop .next
    ret

hello:   db "Hello from Multiboot, mem_upper=0x", 0
newline: db 10, 0
badmsg:  db "bad multiboot hand-off", 10, 0

align 16
    times 4096 db 0                ; stack
stack_top:
