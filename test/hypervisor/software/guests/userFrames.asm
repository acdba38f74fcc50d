; A small protected-mode guest for the software monitor's reflection test:
; its own GDT, IDT and TSS, paging on, then user mode (CPL 3): INT 0x80 (a
; DPL 3 trap gate: the stack switch through the guest's TSS.ESP0), a user
; read of a not-present page (#PF reflected with the guest's error code and
; CR2), then INT 0x81, whose handler halts with interrupts off. The handlers
; record what they were given at fixed addresses (R_*).
bits 32
org 0x100000
%include "ring3.inc"

R_EAX    equ 0x90000
R_EIP    equ 0x90004
R_CS     equ 0x90008
R_FLAGS  equ 0x9000c
R_ESP    equ 0x90010
R_SS     equ 0x90014
R_KESP   equ 0x90018
R_ERR    equ 0x9001c
R_CR2    equ 0x90020
R_PFEIP  equ 0x90024
KSTACK   equ 0x80000      ; the kernel stack of the entry (below it)
TSSSTACK equ 0x70000      ; TSS.ESP0
USTACK   equ 0x60000
PD       equ 0x50000
PT       equ 0x51000
HOLE     equ 0x3ff000     ; left not present

start:
  ; The TSS descriptor's base and the IDT gates are made at run time (nasm cannot mask label values).
  tss_setup TSSSTACK, 0x10
  mov eax, h80
  mov ebx, 0x80
  mov ecx, 0xef00          ; trap gate, DPL 3
  call set_gate
  mov eax, h81
  mov ebx, 0x81
  mov ecx, 0xee00          ; interrupt gate, DPL 3
  call set_gate
  mov eax, hpf
  mov ebx, 14
  mov ecx, 0x8e00          ; interrupt gate, DPL 0
  call set_gate
  enter_kernel
  ; identity-map the first 4 MiB, user accessible, but for HOLE
  identity_map_low_4m
  mov dword [PT + (HOLE >> 12) * 4], 0
  mov dword [PD], PT + 7
  mov eax, PD
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax
  iret_to_user USTACK, user

user:
  mov ax, 0x23             ; the IRET to CPL 3 left DS/ES null (their DPL was below the new CPL)
  mov ds, ax
  mov es, ax
  mov eax, 42
  int 0x80
after_int:
pf_at:
  mov ebx, [HOLE]
after_pf:
  int 0x81


h80:
  mov [ss:R_EAX], eax
  mov ax, 0x10
  mov ds, ax
  mov eax, [esp]
  mov [R_EIP], eax
  mov eax, [esp + 4]
  mov [R_CS], eax
  mov eax, [esp + 8]
  mov [R_FLAGS], eax
  mov eax, [esp + 12]
  mov [R_ESP], eax
  mov eax, [esp + 16]
  mov [R_SS], eax
  mov [R_KESP], esp
  mov ax, 0x23
  mov ds, ax
  iret

hpf:
  mov ax, 0x10
  mov ds, ax
  pop eax
  mov [R_ERR], eax
  mov eax, cr2
  mov [R_CR2], eax
  mov eax, [esp]
  mov [R_PFEIP], eax
  mov dword [esp], after_pf
  mov ax, 0x23
  mov ds, ax
  iret

h81:
  cli
  hlt

ring3_tables

; what the test compares with
dd after_int, pf_at
