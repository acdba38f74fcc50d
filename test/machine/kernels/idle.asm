; Multiboot v1 test kernel: waits in HLT with interrupts enabled forever.
; No device is programmed to interrupt, so nothing ever wakes it.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

start:
    sti
idle:
    hlt
    jmp idle
