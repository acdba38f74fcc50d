; A boot sector for the boot-media guest test (test/machine/bootMedia.test.ts),
; built twice: as a hard disk's MBR and as a CD's El Torito no-emulation boot
; image (LINE and SECTORS differ). The firmware loads it at 0000:7C00 (a
; no-emulation image: SECTORS virtual 512-byte sectors, so the line lives in
; the last of them and prints only if the firmware loaded them all). It prints
; its line through the BIOS (INT 10h teletype, which SeaBIOS's serial console
; mirrors to COM1), then gives the boot back with INT 18h: SeaBIOS tries the
; next device of the boot order, so one boot shows the order of both media.
bits 16
org 0x7c00

%ifndef SECTORS
%define SECTORS 1
%endif

start:
    jmp 0:.flat             ; some BIOSes enter a no-emulation image at 07C0:0000
.flat:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    sti
    mov si, line
.print:
    lodsb
    test al, al
    jz .next
    mov ah, 0x0e
    mov bx, 0x0007
    int 0x10
    jmp .print
.next:
    int 0x18                ; boot failure recovery: the firmware boots the next device
.stop:
    cli
    hlt
    jmp .stop

%if SECTORS > 1
times (SECTORS - 1) * 512 - ($ - $$) db 0
%endif
line: db LINE, 13, 10, 0

%if SECTORS == 1
times 510 - ($ - $$) db 0
dw 0xaa55
%else
times SECTORS * 512 - ($ - $$) db 0
%endif
