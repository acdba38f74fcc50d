; Multiboot v1 test kernel: waits in HLT with interrupts enabled forever.
; No device is programmed to interrupt, so nothing ever wakes it.
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
    sti
idle:
    hlt
    jmp idle
