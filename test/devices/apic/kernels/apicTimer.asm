; Multiboot v1 test kernel for a board with the APICs: checks CPUID.1:EDX.APIC
; and IA32_APIC_BASE, masks the 8259, software-enables the local APIC, takes a
; self-IPI (vector 0x41), runs the LAPIC timer periodic (vector 0x40, divide
; by 16, 1 ms at the 1 GHz APIC bus clock) and the PIT's IRQ 0 through I/O
; APIC pin 2 (vector 0x50), all acknowledged by EOI, in HLT with interrupts
; enabled. After 20 LAPIC ticks it prints the counts on COM1 and powers off.
bits 32
org 0x100000

%include "multiboot.inc"
%include "idt.inc"
LAPIC      equ 0xFEE00000
IOAPIC     equ 0xFEC00000
MULTIBOOT_HEADER 0x00010000, start

start:
    mov esp, stack_top
    mov eax, 1
    cpuid
    mov esi, no_apic
    test edx, 1 << 9
    jz fail
    mov ecx, 0x1B
    rdmsr
    and eax, 0xFFFFF800
    mov esi, bad_base
    cmp eax, LAPIC | 0x800
    jne fail
    IDT_GATE 0x40, timer_isr
    IDT_GATE 0x41, ipi_isr
    IDT_GATE 0x50, pit_isr
    IDT_GATE 0xFF, spurious_isr
    lidt [idt_descriptor]
    mov al, 0xFF                   ; the 8259 masked: everything comes through the APICs
    out 0x21, al
    out 0xA1, al
    mov dword [LAPIC + 0xF0], 0x1FF        ; SVR: software enable, spurious vector 0xFF
    mov dword [LAPIC + 0x350], 0x10700     ; LINT0: ExtINT, masked
    mov dword [LAPIC + 0x300], 0x40041     ; ICR: fixed, self, vector 0x41
    mov dword [IOAPIC], 0x15               ; IOREGSEL: redirection entry 2, high half
    mov dword [IOAPIC + 0x10], 0           ; destination APIC 0
    mov dword [IOAPIC], 0x14               ; its low half
    mov dword [IOAPIC + 0x10], 0x50        ; fixed, physical, edge, unmasked, vector 0x50
    mov al, 0x34                   ; PIT channel 0, mode 2, ~100 Hz
    out 0x43, al
    mov al, 11932 & 0xFF
    out 0x40, al
    mov al, 11932 >> 8
    out 0x40, al
    mov dword [LAPIC + 0x3E0], 3           ; divide by 16
    mov dword [LAPIC + 0x320], 0x20040     ; LVT timer: periodic, vector 0x40
    mov dword [LAPIC + 0x380], 62500       ; 1 ms
    sti
wait_ticks:
    hlt
    cmp dword [lapic_ticks], 20
    jb wait_ticks
    cli
    mov dword [LAPIC + 0x320], 0x10040     ; timer masked
    ; "apic L P I S": LAPIC ticks, PIT ticks (one digit each, capped), IPIs, spurious
    mov eax, [lapic_ticks]
    call digit2
    mov [msg_l], ax
    mov eax, [pit_ticks]
    call digit2
    mov [msg_p], ax
    mov eax, [ipis]
    add al, '0'
    mov [msg_i], al
    mov eax, [spurious]
    add al, '0'
    mov [msg_s], al
    mov esi, message
fail:
    PRINT_THEN_POWEROFF

; EAX (0-99) as two ASCII digits in AL (tens), AH (ones)
digit2:
    xor edx, edx
    mov ecx, 10
    div ecx
    add al, '0'
    add dl, '0'
    mov ah, dl
    ret

timer_isr:
    inc dword [lapic_ticks]
    mov dword [LAPIC + 0xB0], 0
    iret
ipi_isr:
    inc dword [ipis]
    mov dword [LAPIC + 0xB0], 0
    iret
pit_isr:
    inc dword [pit_ticks]
    mov dword [LAPIC + 0xB0], 0
    iret
spurious_isr:
    inc dword [spurious]
    iret

no_apic: db "no APIC in CPUID", 0
bad_base: db "IA32_APIC_BASE is not 0xFEE00000, enabled", 0
message: db "apic L="
msg_l: db "00 P="
msg_p: db "00 I="
msg_i: db "0 S="
msg_s: db "0", 0
align 4
lapic_ticks: dd 0
pit_ticks: dd 0
ipis: dd 0
spurious: dd 0
idt_descriptor:
    dw 0x100 * 8 - 1
    dd idt
align 8
idt:
    times 0x100 * 8 db 0
    times 1024 db 0
stack_top:
