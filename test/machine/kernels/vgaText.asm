; Multiboot v1 test kernel for the VGA text screen and the PS/2 keyboard, as a
; small OS drives them: it writes a title (white on blue) and a CP437 frame
; to the text buffer at 0xB8000, programs the cursor shape and position
; through the CRTC (index/data at 0x3D4/0x3D5), says "ready" on COM1, then
; echoes typed keys: IRQ 1 (PIC remapped to 0x20) stores each set-1 scancode
; the i8042 delivers, the main loop turns makes into letters, digits, space
; and Enter, writes them at the cursor (light green) and moves the cursor.
; It waits in HLT between keys.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start

TEXT       equ 0xB8000
COLUMNS    equ 80
CRTC_INDEX equ 0x3D4
CRTC_DATA  equ 0x3D5
ECHO_ATTR  equ 0x0A
ECHO_ROW   equ 3

start:
    mov esp, stack_top
    ; clear the screen: spaces, light grey on black
    mov edi, TEXT
    mov ecx, COLUMNS * 25
    mov ax, 0x0720
    rep stosw
    ; title on row 0, white on blue
    mov esi, title
    mov edi, TEXT
    mov ah, 0x1F
.title:
    lodsb
    test al, al
    jz .frame
    stosw
    jmp .title
.frame:
    ; row 1: a CP437 frame corner and line: 0xC9 0xCD 0xCD 0xBB in yellow on black
    mov edi, TEXT + COLUMNS * 2
    mov ax, 0x0EC9
    stosw
    mov ax, 0x0ECD
    stosw
    stosw
    mov ax, 0x0EBB
    stosw
    ; cursor: full block (scan lines 0-15), at the start of the echo row
    mov dx, CRTC_INDEX
    mov ax, 0x000A
    out dx, ax
    mov ax, 0x0F0B
    out dx, ax
    mov dword [cursor], ECHO_ROW * COLUMNS
    call set_cursor

    ; PIC: remap to 0x20/0x28, only IRQ 1 unmasked
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFD
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    ; IDT: vector 0x21 -> keyboard handler, in the code segment the loader gave us
    mov eax, keyboard_irq
    mov word [idt + 0x21 * 8], ax
    mov word [idt + 0x21 * 8 + 2], cs
    mov word [idt + 0x21 * 8 + 4], 0x8E00
    shr eax, 16
    mov word [idt + 0x21 * 8 + 6], ax
    lidt [idt_descriptor]

    mov esi, ready
    mov dx, 0x3F8
.ready:
    lodsb
    test al, al
    jz main_loop
    out dx, al
    jmp .ready

main_loop:
    cli
    mov eax, [head]
    cmp eax, [tail]
    jne .key
    sti
    hlt                             ; STI's shadow: the IRQ cannot slip in before the HLT
    jmp main_loop
.key:
    movzx ebx, byte [ring + eax]
    inc eax
    and eax, 255
    mov [head], eax
    sti
    test bl, 0x80                   ; a break code
    jnz main_loop
    cmp bl, keymap_end - keymap
    jae main_loop
    mov al, [keymap + ebx]
    test al, al
    jz main_loop
    cmp al, 10
    je .enter
    mov edi, [cursor]
    mov ah, ECHO_ATTR
    mov [TEXT + edi * 2], ax
    inc dword [cursor]
    call set_cursor
    jmp main_loop
.enter:
    mov eax, [cursor]
    xor edx, edx
    mov ecx, COLUMNS
    div ecx
    inc eax
    imul eax, COLUMNS
    mov [cursor], eax
    call set_cursor
    jmp main_loop

; CR0E/CR0F = [cursor]
set_cursor:
    mov ebx, [cursor]
    mov dx, CRTC_INDEX
    mov al, 0x0E
    mov ah, bh
    out dx, ax
    mov al, 0x0F
    mov ah, bl
    out dx, ax
    ret

keyboard_irq:
    push eax
    push ebx
    in al, 0x60
    mov ebx, [tail]
    mov [ring + ebx], al
    inc ebx
    and ebx, 255
    mov [tail], ebx
    mov al, 0x20
    out 0x20, al
    pop ebx
    pop eax
    iret

title:  db "Popek VGA text mode", 0
ready:  db "ready", 10, 0
; set 1 make code -> ASCII (0 = ignored)
keymap:
    db 0, 0, '1234567890', 0, 0, 0, 0
    db 'qwertyuiop', 0, 0, 10, 0
    db 'asdfghjkl', 0, 0, 0, 0, 0
    db 'zxcvbnm', 0, 0, 0, 0, 0, 0, ' '
keymap_end:

align 4
head:   dd 0
tail:   dd 0
cursor: dd 0
ring:   times 256 db 0                ; the i8042 hands over a burst of typing at once: room for all of it
idt_descriptor:
    dw 0x22 * 8 - 1
    dd idt
align 8
idt:    times 0x22 * 8 db 0
align 16
    times 4096 db 0
stack_top:
