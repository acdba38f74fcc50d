; Multiboot v1 test kernel: writes its EBX (the info address) to port 0x190
; byte by byte (plain moves only), then halts with interrupts disabled. The machine must stop
; with reason 'halt' at the HLT.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

start:
    mov dx, 0x190
    mov [scratch], ebx
    mov al, [scratch]
    out dx, al
    mov al, [scratch + 1]
    out dx, al
    mov al, [scratch + 2]
    out dx, al
    mov al, [scratch + 3]
    out dx, al
    cli
halt_here:
    hlt
    jmp halt_here

align 4
scratch: dd 0
