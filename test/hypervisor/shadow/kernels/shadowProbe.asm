; Multiboot test kernel for shadow paging (and the bare PC it is compared with):
; turns on paging with a 4 MiB identity page (PSE) and one 4 KiB page table,
; takes two page faults of its own (not present, then a write to a read-only
; page with CR0.WP) and fixes them in its #PF handler without INVLPG (the
; processor drops the faulting translation itself), reads back the A/D bits
; of its tables, invalidates, reloads CR3 and reads its CR0/CR3/CR4. Every
; result is a byte written to port 0x190, which the test logs.
bits 32
org 0x100000

%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010002, start

LOG equ 0x190
PD  equ 0x200000
PT  equ 0x201000

start:
    mov esp, 0x180000
    mov dx, LOG
    ; IDT entry 14: 32-bit interrupt gate to pf_handler in the loader's code segment
    mov eax, pf_handler
    mov [idt + 14 * 8], ax
    mov [idt + 14 * 8 + 2], cs
    mov word [idt + 14 * 8 + 4], 0x8e00
    shr eax, 16
    mov [idt + 14 * 8 + 6], ax
    lidt [idtr]
    ; PD[0]: 4 MiB identity page (supervisor); PD[1] -> PT; PT[0] -> 0x300000; PT[1] not present
    mov dword [PD], 0x83
    mov dword [PD + 4], PT | 7
    mov dword [PT], 0x300000 | 3
    mov dword [PT + 4], 0
    mov eax, cr0
    shr eax, 24
    out dx, al                      ; 0x00: paging is off
    mov eax, cr4
    or eax, 0x10                    ; PSE
    mov cr4, eax
    mov eax, cr4
    out dx, al                      ; 0x10
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000              ; PG | WP
    mov cr0, eax
    mov dword [0x400000], 0x11
    mov al, [0x400000]
    out dx, al                      ; 0x11
    mov al, [0x401000]              ; #PF: not present (0x00, page 0x01), made present read-only
    out dx, al                      ; 0x00
    mov byte [0x401000], 0x22       ; #PF: write to read-only with WP (0x03, page 0x01), made writable
    mov al, [0x401000]
    out dx, al                      ; 0x22
    mov eax, [PT]
    out dx, al                      ; 0x63: A and D
    mov eax, [PT + 4]
    out dx, al                      ; 0x63
    mov eax, [PD + 4]
    out dx, al                      ; 0x27: A
    mov eax, [PD]
    out dx, al                      ; 0xe3: the 4 MiB page, accessed and written
    invlpg [0x400000]
    mov eax, cr3
    mov cr3, eax
    mov al, [0x400000]
    out dx, al                      ; 0x11
    mov eax, cr3
    shr eax, 16
    out dx, al                      ; 0x20
    mov eax, cr0
    shr eax, 24
    out dx, al                      ; 0x80
    cli
    hlt

pf_handler:
    push eax
    push edx
    mov dx, LOG
    mov eax, [esp + 8]              ; error code
    out dx, al
    mov eax, cr2
    shr eax, 12
    out dx, al                      ; the faulting page (low byte)
    test byte [esp + 8], 1
    jnz .protection
    mov dword [PT + 4], 0x301000 | 1
    jmp .done
.protection:
    or dword [PT + 4], 2
.done:
    pop edx
    pop eax
    add esp, 4
    iret

align 8
idt:
    times 32 * 8 db 0
idtr:
    dw 32 * 8 - 1
    dd idt
