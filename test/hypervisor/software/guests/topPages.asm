; A small guest for the software monitor's handling of the guest's own pages
; in the lower part of the top 4 MiB slot (below the monitor, where Linux
; keeps its cpu_entry_area): the monitor fills them into the slot's table
; from the guest's page table, and must drop them where a processor's TLB
; drops them. From its kernel (CPL 1 on the processor), with paging on:
; reads and writes 0xFFC05000 (frame A), remaps it to frame B with INVLPG and
; reads, remaps it to frame C with a CR3 reload and reads, then clears the
; entry with INVLPG and reads: the #PF handler records CR2 and the error code
; and halts with interrupts off.
bits 32
org 0x100000

R_A      equ 0x90000      ; the first read (frame A's marker)
R_B      equ 0x90004      ; after the remap to B and INVLPG
R_C      equ 0x90008      ; after the remap to C and a CR3 reload
R_CR2    equ 0x9000c      ; the #PF handler's CR2
R_ERR    equ 0x90010      ; ... and error code
R_PTE_R  equ 0x90014      ; the guest's PTE after the first read
R_PTE_W  equ 0x90018      ; ... and after the first write
KSTACK   equ 0x80000
TOP      equ 0xffc05000   ; in the guest's part of the top slot
FRAME_A  equ 0x300000
FRAME_B  equ 0x301000
FRAME_C  equ 0x302000
PD       equ 0x50000
PT       equ 0x51000
PT_TOP   equ 0x52000
PTE_TOP  equ PT_TOP + 5 * 4

start:
  lgdt [gdtr]
  jmp 0x08:kernel
kernel:
  mov ax, 0x10
  mov ds, ax
  mov es, ax
  mov ss, ax
  mov esp, KSTACK
  mov eax, pf
  mov [idt + 14 * 8], ax
  mov word [idt + 14 * 8 + 2], 0x08
  mov word [idt + 14 * 8 + 4], 0x8e00   ; interrupt gate, DPL 0
  shr eax, 16
  mov [idt + 14 * 8 + 6], ax
  lidt [idtr]
  mov dword [FRAME_A], 0xaaaaaaaa
  mov dword [FRAME_B], 0xbbbbbbbb
  mov dword [FRAME_C], 0xcccccccc
  mov edi, PT              ; the first 4 MiB identity-mapped
  mov eax, 3
  mov ecx, 1024
.fill:
  mov [edi], eax
  add edi, 4
  add eax, 0x1000
  loop .fill
  mov dword [PTE_TOP], FRAME_A + 3   ; present, writable, A and D clear
  mov dword [PD], PT + 3
  mov dword [PD + 1023 * 4], PT_TOP + 3
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80010000       ; PG, WP
  mov cr0, eax
  mov eax, [TOP]           ; filled read-only (D clear)
  mov [R_A], eax
  mov eax, [PTE_TOP]
  mov [R_PTE_R], eax
  mov dword [TOP], 0x12345678   ; the first write: D set, writable
  mov eax, [PTE_TOP]
  mov [R_PTE_W], eax
  mov dword [PTE_TOP], FRAME_B + 3
  invlpg [TOP]
  mov eax, [TOP]
  mov [R_B], eax
  mov dword [PTE_TOP], FRAME_C + 3
  mov eax, cr3
  mov cr3, eax             ; not global: a CR3 load drops it
  mov eax, [TOP]
  mov [R_C], eax
  mov dword [PTE_TOP], 0
  invlpg [TOP]
  mov eax, [TOP]           ; not present: the guest's #PF
  hlt

pf:
  pop dword [R_ERR]
  mov eax, cr2
  mov [R_CR2], eax
  cli
  hlt

align 8
gdt:
  dq 0
  dq 0x00cf9a000000ffff    ; 0x08 kernel code
  dq 0x00cf92000000ffff    ; 0x10 kernel data
gdt_end:
gdtr:
  dw gdt_end - gdt - 1
  dd gdt
idtr:
  dw 256 * 8 - 1
  dd idt
align 8
idt:
  times 256 dq 0
