; A small guest for the two views of the monitor's shadow GDT (guestViews.ts):
; user code runs on the user view, where its DPL-3 segments keep their 4 GiB
; limits, and the guest kernel on the kernel view, where every segment ends
; below the monitor's base (0xFFD00000). The guest maps nothing in its own
; top 4 MiB, so every probe of 0xFFD00000 below must be the guest's own #PF
; (CR2 0xFFD00000, not present), never a read of the monitor's memory.
; User mode: a TLS read at %gs:-4, a read of %fs:0xFFD00000 (paging stops it:
; the monitor's pages are supervisor-only), the TLS read again, INT 0x80.
; The INT 0x80 handler (CPL 1) is a malicious kernel: it reads 0xFFD00000
; through the FS the user loaded (kept across the entry), through ES after
; loading the user's DPL-3 data selector itself, and through SS, which its
; TSS.SS0 names as that same DPL-3 selector; then it moves the TLS entry's
; base (one byte written into its write-protected GDT) and halts.
; The #PF handler counts, records CR2 and the error code, and resumes at
; [resume] (each probe sets it).
bits 32
org 0x100000
%include "ring3.inc"

R_TLS1   equ 0x90000      ; %gs:-4 before the user's probe
R_TLS2   equ 0x90004      ; ... and after it
R_NPF    equ 0x90008      ; #PFs taken
R_CR2    equ 0x90010      ; CR2 of each #PF (4 slots)
R_ERR    equ 0x90020      ; error code of each #PF (4 slots)
R_LEAK   equ 0x90030      ; what each probe read, if it read anything (4 slots; the loader fills 0xdeadbeef)
KSTACK   equ 0x80000
TSSSTACK equ 0x70000      ; TSS.ESP0, with SS0 = 0x23 (the user's data selector)
USTACK   equ 0x60000
PD       equ 0x50000
PT       equ 0x51000
PT_TOP   equ 0x52000      ; the top slot's table: empty
TLS      equ 0x70810
TLS_NEW  equ 0x80810      ; the TLS base the kernel writes last (its bits 16-23 only)
PROBE    equ 0xffd00000   ; the monitor's base

start:
  tss_setup TSSSTACK, 0x23
  mov dword [TLS - 4], 0x7157da7a
  mov eax, h80
  mov ebx, 0x80
  mov ecx, 0xef00          ; trap gate, DPL 3
  call set_gate
  mov eax, hpf
  mov ebx, 14
  mov ecx, 0x8e00          ; interrupt gate, DPL 0
  call set_gate
  mov edi, R_LEAK
  mov eax, 0xdeadbeef
  mov ecx, 4
  rep stosd
  enter_kernel
  identity_map_low_4m
  mov dword [PD], PT + 7
  mov dword [PD + 1023 * 4], PT_TOP + 7
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
  mov fs, ax
  mov ax, 0x33
  mov gs, ax
  mov eax, [gs:0xfffffffc]
  mov [R_TLS1], eax
  mov dword [resume], .after
  mov eax, [fs:PROBE]
  mov [R_LEAK], eax
.after:
  mov eax, [gs:0xfffffffc]
  mov [R_TLS2], eax
  int 0x80

h80:                       ; CPL 1, DS/ES/FS/GS as the user left them
  mov dword [resume], .es
  mov eax, [fs:PROBE]      ; the user's FS, kept across the entry
  mov [R_LEAK + 4], eax
.es:
  mov ax, 0x23             ; the user's DPL-3 flat data selector, loaded by the kernel
  mov es, ax
  mov dword [resume], .ss
  mov eax, [es:PROBE]
  mov [R_LEAK + 8], eax
.ss:
  mov dword [resume], .done
  mov eax, [ss:PROBE]      ; SS from TSS.SS0: the same DPL-3 selector
  mov [R_LEAK + 12], eax
.done:
  mov byte [gdt + 0x30 + 4], (TLS_NEW >> 16) & 0xff ; the TLS entry's base moved (as set_thread_area): a trapped GDT write
  cli
  hlt

hpf:
  push eax
  push ebx
  mov ebx, [R_NPF]
  mov eax, cr2
  mov [R_CR2 + ebx * 4], eax
  mov eax, [esp + 8]
  mov [R_ERR + ebx * 4], eax
  inc dword [R_NPF]
  mov eax, [resume]
  mov [esp + 12], eax
  pop ebx
  pop eax
  add esp, 4
  iret


resume: dd 0

ring3_tables TLS
