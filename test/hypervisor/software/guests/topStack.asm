; A small guest that does what Linux 6.1 (i386) does with its entry stack and
; its users' TLS, for the software monitor: TSS.ESP0 points into the guest's
; own top 4 MiB (Linux's cpu_entry_area), which the monitor takes for itself
; and keeps the guest out of with truncated segment limits. From user mode:
; a TLS read at %gs:-4 (wraps below 4 GiB: past the truncated GS limit),
; INT 0x80, whose handler pushes and pops on that top stack, rewrites the
; GDT's TLS entry (each write traps: the monitor write-protects the GDT's page
; and updates its shadow descriptor) and reloads GS natively,
; pops DS and IRETs to user mode from the top stack; the user reads %gs:-4
; again (the new base), then INT 0x81 halts with interrupts off.
bits 32
org 0x100000
%include "ring3.inc"

R_TLS1   equ 0x90000      ; what %gs:-4 read before the INT (TLS_A's marker)
R_TLS2   equ 0x90004      ; ... and after (TLS_B's marker)
R_KESP   equ 0x90008      ; ESP in the INT 0x80 handler after its three pushes
R_POPPED equ 0x9000c      ; EBX as the handler popped it back
R_DS     equ 0x90010      ; the user's DS after the return
KSTACK   equ 0x80000
ENTRY_TOP equ 0xffc04000  ; TSS.ESP0: the end of the entry stack page, in the top 4 MiB
ENTRY_PHYS equ 0x200000   ; the entry stack page's frame
USTACK   equ 0x60000
PD       equ 0x50000
PT       equ 0x51000
PT_TOP   equ 0x52000
TLS_A    equ 0x70010
TLS_B    equ 0x70110

start:
  tss_setup ENTRY_TOP, 0x10
  mov dword [TLS_A - 4], 0x11111111
  mov dword [TLS_B - 4], 0x22222222
  mov eax, h80
  mov ebx, 0x80
  mov ecx, 0xef00          ; trap gate, DPL 3
  call set_gate
  mov eax, h81
  mov ebx, 0x81
  mov ecx, 0xee00
  call set_gate
  enter_kernel
  identity_map_low_4m
  mov dword [PT_TOP + 3 * 4], ENTRY_PHYS + 3   ; 0xffc03000: the entry stack, supervisor only
  mov dword [PD], PT + 7
  mov dword [PD + 1023 * 4], PT_TOP + 3
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  iret_to_user USTACK, user

user:
  mov ax, 0x23
  mov ds, ax
  mov es, ax
  mov ax, 0x33
  mov gs, ax
  mov eax, [gs:0xfffffffc]
  mov [R_TLS1], eax
  mov ebx, 0x5a5a5a5a
  int 0x80
  mov eax, [gs:0xfffffffc]
  mov [R_TLS2], eax
  mov [R_POPPED], ebx
  mov [R_DS], ds
  int 0x81


h80:                       ; on the entry stack, in the top 4 MiB
  push ds
  push eax
  push ebx
  mov ax, 0x10
  mov ds, ax
  mov [R_KESP], esp
  mov ebx, 0
  mov word [gdt + 0x30 + 2], TLS_B & 0xffff       ; the TLS entry's new base (as set_thread_area / a task switch)
  mov byte [gdt + 0x30 + 4], (TLS_B >> 16) & 0xff
  mov ax, 0x33
  mov gs, ax
  pop ebx
  pop eax
  pop ds
  iret

h81:
  cli
  hlt

ring3_tables TLS_A
