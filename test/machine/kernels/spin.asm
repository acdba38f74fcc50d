; Multiboot v1 test kernel: spins forever with interrupts disabled (for timeouts).
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

start:
    cli
    jmp start
