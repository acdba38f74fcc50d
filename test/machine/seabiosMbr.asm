; A boot sector for the SeaBIOS guest test (test/machine/seabios.test.ts).
; SeaBIOS loads it at 0000:7C00 from the first disk and jumps to it. It prints
; one line through the BIOS (INT 10h teletype, which SeaBIOS's serial console
; mirrors to COM1), waits a few BIOS timer ticks with interrupts on (INT 1Ah)
; so the firmware's console buffer drains, then writes a second line straight
; to the UART at 0x3F8, and halts with interrupts off: the machine stops.
bits 16
org 0x7c00

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    sti

    mov si, bios_line
.bios:
    lodsb
    test al, al
    jz .wait
    mov ah, 0x0e
    mov bx, 0x0007
    int 0x10
    jmp .bios

.wait:                      ; 4 ticks of the 18.2 Hz BIOS clock
    xor ah, ah
    int 0x1a
    mov bx, dx
    add bx, 4
.tick:
    hlt
    xor ah, ah
    int 0x1a
    cmp dx, bx
    jb .tick

    mov si, port_line
.port:
    lodsb
    test al, al
    jz .done
    mov cl, al
    mov dx, 0x3fd           ; line status: wait for an empty transmit holding register
.thre:
    in al, dx
    test al, 0x20
    jz .thre
    mov al, cl
    mov dx, 0x3f8
    out dx, al
    jmp .port

.done:
    cli
    hlt
    jmp .done

bios_line: db 'POPEK-MBR: loaded by the firmware, printing through INT 10h', 13, 10, 0
port_line: db 'POPEK-MBR: writing to the UART at 0x3F8', 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xaa55
