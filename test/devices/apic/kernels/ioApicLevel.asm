; Multiboot v1 test kernel for a board with the APICs: a level-triggered
; interrupt through the I/O APIC, from a real device. The ACPI SCI (ISA IRQ 9,
; I/O APIC pin 9, programmed level-triggered, vector 0x59) is asserted while
; the PM timer's overflow status (PM1_STS.TMR_STS, set each time bit 23 of
; the 3.58 MHz timer changes, every ~2.3 s) is enabled and set. The handler
; reads the pin's remote IRR (set while the vector is in service), and:
;  - on odd entries sends the EOI with the status still set: the line is still
;    asserted, so the EOI broadcast clears remote IRR and the I/O APIC sends
;    the vector again at once (the next, even, entry);
;  - on even entries clears TMR_STS first, then sends the EOI: the line is
;    low, nothing is sent until the timer's next overflow.
; After 4 entries (two overflows) it prints "sci N=4 R=4 r=0 S=0": entries,
; entries that saw remote IRR set, remote IRR at the end, spurious
; interrupts; then powers off.
bits 32
org 0x100000

%include "multiboot.inc"
%include "idt.inc"
LAPIC      equ 0xFEE00000
IOAPIC     equ 0xFEC00000
PM1_STS    equ 0x600
PM1_EN     equ 0x602
REMOTE_IRR equ 1 << 14
MULTIBOOT_HEADER 0x00010000, start

start:
    mov esp, stack_top
    IDT_GATE 0x59, sci_isr
    IDT_GATE 0xFF, spurious_isr
    lidt [idt_descriptor]
    mov al, 0xFF                   ; the 8259 masked: everything comes through the APICs
    out 0x21, al
    out 0xA1, al
    mov dword [LAPIC + 0xF0], 0x1FF        ; SVR: software enable, spurious vector 0xFF
    mov dword [LAPIC + 0x350], 0x10700     ; LINT0: ExtINT, masked
    mov dword [IOAPIC], 0x23               ; IOREGSEL: redirection entry 9, high half
    mov dword [IOAPIC + 0x10], 0           ; destination APIC 0
    mov dword [IOAPIC], 0x22               ; its low half
    mov dword [IOAPIC + 0x10], 0x8059      ; fixed, physical, level, active high, unmasked, vector 0x59
    mov dx, PM1_STS                ; clear a stale timer status, then enable it
    mov ax, 1
    out dx, ax
    mov dx, PM1_EN
    out dx, ax
    sti
wait_sci:
    hlt
    cmp dword [entries], 4
    jb wait_sci
    cli
    mov dx, PM1_EN                 ; the timer status no longer raises the SCI
    xor ax, ax
    out dx, ax
    mov dword [IOAPIC], 0x22
    mov eax, [IOAPIC + 0x10]
    and eax, REMOTE_IRR
    shr eax, 14
    add al, '0'
    mov [msg_r], al
    mov eax, [entries]
    add al, '0'
    mov [msg_n], al
    mov eax, [remote_seen]
    add al, '0'
    mov [msg_rr], al
    mov eax, [spurious]
    add al, '0'
    mov [msg_s], al
    mov esi, message
    PRINT_THEN_POWEROFF

sci_isr:
    push eax
    push edx
    inc dword [entries]
    mov dword [IOAPIC], 0x22
    mov eax, [IOAPIC + 0x10]       ; a MOV load, as Linux's readl (the MMIO emulator decodes MOV forms)
    test eax, REMOTE_IRR
    jz .no_remote
    inc dword [remote_seen]
.no_remote:
    test dword [entries], 1
    jnz .eoi                       ; odd entry: EOI with the line still asserted
    mov dx, PM1_STS                ; even entry: the device lowers the line first
    mov ax, 1
    out dx, ax
.eoi:
    mov dword [LAPIC + 0xB0], 0
    pop edx
    pop eax
    iret
spurious_isr:
    inc dword [spurious]
    iret

message: db "sci N="
msg_n: db "0 R="
msg_rr: db "0 r="
msg_r: db "0 S="
msg_s: db "0", 0
align 4
entries: dd 0
remote_seen: dd 0
spurious: dd 0
idt_descriptor:
    dw 0x100 * 8 - 1
    dd idt
align 8
idt:
    times 0x100 * 8 db 0
    times 1024 db 0
stack_top:
