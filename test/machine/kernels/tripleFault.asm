; Multiboot v1 test kernel: loads an empty IDT and raises #BP. Delivery
; faults (#GP), delivering #GP faults again (#DF), delivering #DF faults:
; the processor shuts down (triple fault).
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

start:
    lidt [empty_idt]
    int3
    jmp start

empty_idt:
    dw 0                           ; limit 0: no gate is present
    dd 0
