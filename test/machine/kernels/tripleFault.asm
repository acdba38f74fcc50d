; Multiboot v1 test kernel: loads an empty IDT and raises #BP. Delivery
; faults (#GP), delivering #GP faults again (#DF), delivering #DF faults:
; the processor shuts down (triple fault).
bits 32
org 0x100000

MB_MAGIC   equ 0x1BADB002
MB_FLAGS   equ 0x00010000

header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd header
    dd header
    dd 0
    dd 0
    dd start

start:
    lidt [empty_idt]
    int3
    jmp start

empty_idt:
    dw 0                           ; limit 0: no gate is present
    dd 0
