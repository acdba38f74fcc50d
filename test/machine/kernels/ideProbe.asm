; Multiboot v1 test kernel for the board's IDE controller, written as a
; driver would: reads the vendor/device ID of PCI 00:01.1 and reports it,
; gives BAR4 (bus master) the address 0xC000 and enables I/O and bus
; mastering, runs IDENTIFY DEVICE on the primary master by PIO and reports
; its LBA28 capacity (words 60-61), reads sector 1 by READ DMA through a
; one-entry PRD table and reports its first 4 bytes and the bus-master
; status, then resets the channel (SRST), selects the primary slave and
; reports its signature (LBA mid and high). Everything goes to port 0x190 byte by byte; then it halts.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

BUF equ 0x200000
PRD equ 0x1f0000
BM  equ 0xc000

%macro report8 0          ; AL -> port 0x190
    mov dx, 0x190
    out dx, al
%endmacro

start:
    mov esp, 0x180000
    ; PCI 00:01.1 register 0: vendor and device ID.
    mov eax, 0x80000900
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    call report32
    ; BAR4 = BM, COMMAND = I/O space | bus master.
    mov eax, 0x80000920
    mov dx, 0xcf8
    out dx, eax
    mov eax, BM
    mov dx, 0xcfc
    out dx, eax
    mov eax, 0x80000904
    mov dx, 0xcf8
    out dx, eax
    mov ax, 0x0005
    mov dx, 0xcfc
    out dx, ax

    ; IDENTIFY DEVICE on the primary master.
    mov dx, 0x1f6
    mov al, 0xa0
    out dx, al
    mov dx, 0x1f7
    mov al, 0xec
    out dx, al
    call wait_drq
    mov edi, BUF
    mov ecx, 256
    mov dx, 0x1f0
    rep insw
    mov eax, [BUF + 120]      ; words 60-61
    call report32

    ; READ DMA, LBA 1, one sector, into BUF.
    mov dword [PRD], BUF
    mov dword [PRD + 4], 0x80000200
    mov dx, BM + 4
    mov eax, PRD
    out dx, eax
    mov dx, BM
    mov al, 0x08              ; direction: write to memory
    out dx, al
    mov dx, 0x1f2
    mov al, 1
    out dx, al
    mov dx, 0x1f3
    mov al, 1
    out dx, al
    mov dx, 0x1f4
    xor al, al
    out dx, al
    mov dx, 0x1f5
    out dx, al
    mov dx, 0x1f6
    mov al, 0xe0
    out dx, al
    mov dx, 0x1f7
    mov al, 0xc8
    out dx, al
    mov dx, BM
    mov al, 0x09              ; start
    out dx, al
.wait_dma:
    mov dx, BM + 2
    in al, dx
    test al, 0x04
    jz .wait_dma
    mov bl, al
    mov eax, [BUF]
    call report32
    mov al, bl
    report8
    mov dx, 0x1f7
    in al, dx
    report8

    ; The primary slave's signature, after a soft reset (the READ DMA's
    ; register writes went to both devices' task files).
    mov dx, 0x3f6
    mov al, 0x04
    out dx, al
    xor al, al
    out dx, al
    mov dx, 0x1f6
    mov al, 0xb0
    out dx, al
    mov dx, 0x1f4
    in al, dx
    report8
    mov dx, 0x1f5
    in al, dx
    report8
    cli
.halt:
    hlt
    jmp .halt

wait_drq:
    mov dx, 0x1f7
.poll:
    in al, dx
    test al, 0x80
    jnz .poll
    test al, 0x08
    jz .poll
    ret

report32:                     ; EAX -> port 0x190, low byte first
    mov ecx, 4
.next:
    report8
    shr eax, 8
    loop .next
    ret
