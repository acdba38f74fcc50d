; The detector guest (issue 10): a tiny Multiboot kernel that, from what it
; believes is ring 0, reads back what x86's sensitive but unprivileged
; instructions show, and prints one verdict per check on COM1, then a summary,
; then powers off through ACPI. See README.md beside this file for why it is a
; Multiboot kernel and what each mode must show.
;
; It loads its own GDT, IDT, LDT and task register (at addresses no loader or
; monitor would pick), so a value read back that differs from the one loaded is
; a structure of someone else's: a leak of the monitor underneath.
;
; Build: nasm -f bin -o detector.bin detector.asm
; Run:   popek run --kernel detector.bin --accel none|vtx|svm|trap [--nested-paging off]
bits 32
org 0x100000

COM1        equ 0x3F8
PM1A_CNT    equ 0x604
SLP_S5      equ (5 << 10) | (1 << 13)
EFLAGS_IF   equ 1 << 9
EFLAGS_IOPL equ 3 << 12

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_SMALL   equ 0x18               ; data segment with a distinctive byte-granular limit, for LSL
SEL_LDT     equ 0x20
SEL_TSS     equ 0x28
SMALL_LIMIT equ 0x54321

; Multiboot v1 header with the a.out kludge: the whole flat image is loaded at
; its org and entered at `start` in 32-bit protected mode, paging off.
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010000
mb_header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd mb_header, mb_header, 0, 0, start

; ---------------------------------------------------------------- set-up
start:
    cli
    mov esp, stack_top
    ; Mask both PICs: the POPF checks briefly set IF, and no interrupt may come.
    mov al, 0xFF
    out 0x21, al
    out 0xA1, al
    call fill_idt
    lgdt [gdt_desc]
    jmp SEL_CODE:.reloaded
.reloaded:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    lidt [idt_desc]
    mov ax, SEL_LDT
    lldt ax
    mov ax, SEL_TSS
    ltr ax
    ; CR0.MP on, so the MSW read back has a bit the boot hand-off did not set.
    mov eax, cr0
    or eax, 1 << 1
    mov cr0, eax

; ---------------------------------------------------------------- checks
check_sgdt:
    sgdt [seen_table]
    mov esi, name_sgdt
    mov edi, gdt_desc
    call compare_table

check_sidt:
    sidt [seen_table]
    mov esi, name_sidt
    mov edi, idt_desc
    call compare_table

check_sldt:
    xor eax, eax
    sldt ax
    mov esi, name_sldt
    mov ebx, SEL_LDT
    call compare_selector

check_str:
    xor eax, eax
    str ax
    mov esi, name_str
    mov ebx, SEL_TSS
    call compare_selector

check_smsw:
    xor eax, eax
    smsw ax
    mov ebx, cr0                   ; privileged: a monitor emulates it with the guest's own CR0
    and ebx, 0xFFFF
    mov esi, name_smsw
    cmp eax, ebx
    je .ok
    call leak_begin
    mov esi, txt_saw
    call puts
    call puthex
    mov esi, txt_cr0_reads
    call puts
    mov eax, ebx
    call puthex
    call leak_end
    jmp check_cs
.ok:
    call report_ok

check_cs:
    xor eax, eax
    mov ax, cs
    mov esi, name_cs
    mov ebx, SEL_CODE
    call compare_selector

check_ss:
    xor eax, eax
    mov ax, ss
    mov esi, name_ss
    mov ebx, SEL_DATA
    call compare_selector

check_push_cs:
    push cs
    pop eax
    and eax, 0xFFFF
    mov esi, name_push_cs
    mov ebx, SEL_CODE
    call compare_selector

check_pushf_if:                    ; PUSHF after CLI must show IF = 0
    cli
    pushfd
    pop eax
    mov esi, name_pushf
    test eax, EFLAGS_IF
    jz .ok
    call leak_begin
    mov esi, txt_if1_after_cli
    call puts
    call leak_end
    jmp check_popf_set_if
.ok:
    call report_ok

check_popf_set_if:                 ; POPF with IF = 1 must set IF
    pushfd
    or dword [esp], EFLAGS_IF
    popfd
    pushfd
    pop eax
    cli
    mov esi, name_popf_set
    test eax, EFLAGS_IF
    jnz .ok
    call leak_begin
    mov esi, txt_if0_after_popf
    call puts
    call leak_end
    jmp check_popf_clear_if
.ok:
    call report_ok

check_popf_clear_if:               ; after STI, POPF with IF = 0 must clear IF
    sti
    pushfd
    and dword [esp], ~EFLAGS_IF
    popfd
    pushfd
    pop eax
    cli
    mov esi, name_popf_clear
    test eax, EFLAGS_IF
    jz .ok
    call leak_begin
    mov esi, txt_if1_after_popf
    call puts
    call leak_end
    jmp check_popf_iopl
.ok:
    call report_ok

check_popf_iopl:                   ; POPF sets IOPL 3, then 0 again; PUSHF shows each
    pushfd
    or dword [esp], EFLAGS_IOPL
    popfd
    pushfd
    pop ebx
    pushfd
    and dword [esp], ~EFLAGS_IOPL
    popfd
    pushfd
    pop ecx
    and ebx, EFLAGS_IOPL
    and ecx, EFLAGS_IOPL
    mov esi, name_popf_iopl
    cmp ebx, EFLAGS_IOPL
    jne .leak
    test ecx, ecx
    jz .ok
.leak:
    call leak_begin
    mov esi, txt_iopl_saw
    call puts
    mov eax, ebx
    shr eax, 12
    call putdigit
    mov esi, txt_then
    call puts
    mov eax, ecx
    shr eax, 12
    call putdigit
    mov esi, txt_iopl_set
    call puts
    call leak_end
    jmp check_lar
.ok:
    call report_ok

check_lar:                         ; access rights of its own descriptors (bits 16-19 are undefined: masked)
    mov esi, name_lar
    mov ebx, lar_table
.next:
    mov ecx, [ebx]
    test ecx, ecx
    jz .ok
    xor eax, eax
    lar eax, ecx
    jnz .fault                     ; ZF = 0: the processor refused the selector
    and eax, 0x00F0FF00
    cmp eax, [ebx + 4]
    jne .wrong
    add ebx, 8
    jmp .next
.fault:
    call leak_begin
    mov esi, txt_selector
    call puts
    mov eax, ecx
    call puthex
    mov esi, txt_refused
    call puts
    call leak_end
    jmp check_lsl
.wrong:
    call leak_begin
    mov esi, txt_selector
    call puts
    push eax
    mov eax, ecx
    call puthex
    mov esi, txt_colon_saw
    call puts
    pop eax
    call puthex
    mov esi, txt_expected
    call puts
    mov eax, [ebx + 4]
    call puthex
    call leak_end
    jmp check_lsl
.ok:
    call report_ok

check_lsl:                         ; segment limits of its own descriptors
    mov esi, name_lsl
    mov ebx, lsl_table
.next:
    mov ecx, [ebx]
    test ecx, ecx
    jz .ok
    xor eax, eax
    lsl eax, ecx
    jnz .fault
    cmp eax, [ebx + 4]
    jne .wrong
    add ebx, 8
    jmp .next
.fault:
    call leak_begin
    mov esi, txt_selector
    call puts
    mov eax, ecx
    call puthex
    mov esi, txt_refused
    call puts
    call leak_end
    jmp check_cpuid
.wrong:
    call leak_begin
    mov esi, txt_selector
    call puts
    push eax
    mov eax, ecx
    call puthex
    mov esi, txt_colon_saw
    call puts
    pop eax
    call puthex
    mov esi, txt_expected
    call puts
    mov eax, [ebx + 4]
    call puthex
    call leak_end
    jmp check_cpuid
.ok:
    call report_ok

check_cpuid:                       ; information, not a leak: a hypervisor may say it is there
    mov eax, 1
    cpuid
    mov esi, name_cpuid
    call puts
    test ecx, 1 << 31
    jnz .virtualized
    mov esi, txt_bare
    call puts
    mov byte [cpuid_verdict], 'b'
    jmp summary
.virtualized:
    mov esi, txt_virtualized
    call puts
    mov eax, 0x40000000
    cpuid
    mov [signature], ebx
    mov [signature + 4], ecx
    mov [signature + 8], edx
    mov esi, signature
    call puts
    mov esi, txt_close_quote
    call puts
    mov byte [cpuid_verdict], 'v'

summary:
    mov esi, txt_summary
    call puts
    mov eax, [checks]
    call putdec
    mov esi, txt_checks
    call puts
    mov eax, [leaks]
    call putdec
    mov esi, txt_leaked
    call puts
    mov esi, txt_bare_word
    cmp byte [cpuid_verdict], 'v'
    jne .word
    mov esi, txt_virtualized_word
.word:
    call puts
poweroff:
    mov dx, PM1A_CNT
    mov ax, SLP_S5
    out dx, ax
    cli
    hlt
    jmp poweroff

; ---------------------------------------------------------------- verdicts
; compare_table: ESI = check name, EDI = the 6-byte pseudo-descriptor loaded;
; [seen_table] = the one read back.
compare_table:
    movzx eax, word [seen_table]
    cmp ax, [edi]
    jne .leak
    mov eax, [seen_table + 2]
    cmp eax, [edi + 2]
    jne .leak
    jmp report_ok
.leak:
    call leak_begin
    mov esi, txt_saw_base
    call puts
    mov eax, [seen_table + 2]
    call puthex
    mov esi, txt_limit
    call puts
    movzx eax, word [seen_table]
    call puthex
    mov esi, txt_loaded_base
    call puts
    mov eax, [edi + 2]
    call puthex
    mov esi, txt_limit
    call puts
    movzx eax, word [edi]
    call puthex
    jmp leak_end

; compare_selector: ESI = check name, EAX = selector seen, EBX = selector loaded.
compare_selector:
    cmp eax, ebx
    je report_ok
    call leak_begin
    mov esi, txt_saw_selector
    call puts
    call puthex
    mov esi, txt_loaded
    call puts
    mov eax, ebx
    call puthex
    jmp leak_end

; report_ok: ESI = check name; prints "name: ok".
report_ok:
    inc dword [checks]
    call puts
    mov esi, txt_ok
    jmp puts

; leak_begin: ESI = check name; prints "name: LEAK (" (the caller prints the detail, then calls leak_end).
leak_begin:
    inc dword [checks]
    inc dword [leaks]
    push eax
    call puts
    mov esi, txt_leak
    call puts
    pop eax
    ret

leak_end:
    mov esi, txt_close
    jmp puts

; ---------------------------------------------------------------- output
; puts: ESI = NUL-terminated string (keeps EAX, EBX, ECX)
puts:
    push eax
.next:
    lodsb
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop eax
    ret

; putc: AL = byte; waits for the transmitter (LSR bit 5)
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; puthex: EAX as 0x and 8 hex digits (keeps every register)
puthex:
    pushad
    push eax
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
    pop eax
    mov ecx, 8
.next:
    rol eax, 4
    push eax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .digit
    add al, 'a' - '9' - 1
.digit:
    call putc
    pop eax
    loop .next
    popad
    ret

; putdigit: EAX = 0..9
putdigit:
    push eax
    add al, '0'
    call putc
    pop eax
    ret

; putdec: EAX as decimal (keeps every register)
putdec:
    pushad
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.emit:
    pop eax
    add al, '0'
    call putc
    loop .emit
    popad
    ret

; ---------------------------------------------------------------- interrupts
; Every vector reports itself and stops: no exception or interrupt is expected.
fill_idt:
    mov edi, idt
    mov ebx, unexpected_stubs
    xor ecx, ecx
.next:
    mov eax, ebx
    mov [edi], ax
    mov word [edi + 2], SEL_CODE
    mov word [edi + 4], 0x8E00     ; present, DPL 0, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    add edi, 8
    add ebx, STUB_SIZE
    inc ecx
    cmp ecx, 256
    jne .next
    ret

unexpected_stubs:
%assign vector 0
%rep 256
    push dword vector              ; 5 bytes
    jmp near unexpected            ; 5 bytes
%assign vector vector + 1
%endrep
STUB_SIZE equ 10

unexpected:
    mov esi, txt_unexpected
    call puts
    pop eax
    call putdec
    mov esi, txt_newline
    call puts
    jmp poweroff

; ---------------------------------------------------------------- data
name_sgdt:       db "sgdt", 0
name_sidt:       db "sidt", 0
name_sldt:       db "sldt", 0
name_str:        db "str", 0
name_smsw:       db "smsw", 0
name_cs:         db "mov-cs", 0
name_ss:         db "mov-ss", 0
name_push_cs:    db "push-cs", 0
name_pushf:      db "pushf-after-cli", 0
name_popf_set:   db "popf-sets-if", 0
name_popf_clear: db "popf-clears-if", 0
name_popf_iopl:  db "popf-iopl", 0
name_lar:        db "lar", 0
name_lsl:        db "lsl", 0
name_cpuid:      db "cpuid: ", 0

txt_ok:              db ": ok", 10, 0
txt_leak:            db ": LEAK (", 0
txt_close:           db ")", 10, 0
txt_saw:             db "saw ", 0
txt_saw_base:        db "saw base ", 0
txt_loaded_base:     db ", loaded base ", 0
txt_limit:           db " limit ", 0
txt_saw_selector:    db "saw selector ", 0
txt_loaded:          db ", loaded ", 0
txt_cr0_reads:       db ", CR0 reads ", 0
txt_if1_after_cli:   db "IF=1 after CLI", 0
txt_if0_after_popf:  db "IF=0 after POPF of IF=1", 0
txt_if1_after_popf:  db "IF=1 after POPF of IF=0", 0
txt_iopl_saw:        db "saw IOPL ", 0
txt_then:            db " then ", 0
txt_iopl_set:        db " after POPF of IOPL 3 then 0", 0
txt_selector:        db "selector ", 0
txt_refused:         db " refused", 0
txt_colon_saw:       db ": saw ", 0
txt_expected:        db ", expected ", 0
txt_bare:            db "bare (hypervisor bit clear)", 10, 0
txt_virtualized:     db 'virtualized (hypervisor bit set, leaf 0x40000000 "', 0
txt_close_quote:     db '")', 10, 0
txt_summary:         db "summary: ", 0
txt_checks:          db " checks, ", 0
txt_leaked:          db " leaked, cpuid ", 0
txt_bare_word:       db "bare", 10, 0
txt_virtualized_word: db "virtualized", 10, 0
txt_unexpected:      db "detector: unexpected exception or interrupt, vector ", 0
txt_newline:         db 10, 0

; LAR expectations (selector, access rights masked by 0x00F0FF00); the TSS is busy after LTR.
lar_table:
    dd SEL_CODE,  0x00C09B00
    dd SEL_DATA,  0x00C09300
    dd SEL_SMALL, 0x00409300
    dd SEL_LDT,   0x00008200
    dd SEL_TSS,   0x00008B00
    dd 0
; LSL expectations (selector, limit in bytes)
lsl_table:
    dd SEL_CODE,  0xFFFFFFFF
    dd SEL_SMALL, SMALL_LIMIT
    dd SEL_LDT,   ldt_end - ldt - 1
    dd SEL_TSS,   tss_end - tss - 1
    dd 0

checks:        dd 0
leaks:         dd 0
cpuid_verdict: db 0
signature:     times 13 db 0
align 4
seen_table:    times 8 db 0

; The GDT in a page of its own, as Linux's gdt_page: the software monitor
; write-protects the guest's GDT pages, and the variables above are written.
align 4096
gdt:
    dq 0
    db 0xFF, 0xFF, 0, 0, 0, 0x9B, 0xCF, 0                      ; 0x08 flat code, accessed
    db 0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0                      ; 0x10 flat data, accessed
    db SMALL_LIMIT & 0xFF, (SMALL_LIMIT >> 8) & 0xFF, 0, 0, 0, 0x93, 0x40 | (SMALL_LIMIT >> 16), 0 ; 0x18
.ldt:                                                          ; 0x20 LDT (base filled below at assembly)
    dw ldt_end - ldt - 1
    dw (ldt - $$ + 0x100000) & 0xFFFF
    db ((ldt - $$ + 0x100000) >> 16) & 0xFF, 0x82, 0, ((ldt - $$ + 0x100000) >> 24) & 0xFF
.tss:                                                          ; 0x28 32-bit TSS, available
    dw tss_end - tss - 1
    dw (tss - $$ + 0x100000) & 0xFFFF
    db ((tss - $$ + 0x100000) >> 16) & 0xFF, 0x89, 0, ((tss - $$ + 0x100000) >> 24) & 0xFF
gdt_end:

gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd idt

align 8
ldt:
    db 0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0                      ; one flat data segment
    db 0xFF, 0xFF, 0, 0, 0, 0x93, 0xCF, 0
ldt_end:

align 16
tss:
    dd 0                                                       ; back link
    dd stack_top, SEL_DATA                                     ; ESP0, SS0
    times 0x68 - ($ - tss) db 0
tss_end:

align 8
idt:
    times 256 * 8 db 0

align 4096                                                     ; the stack off the GDT's page too
    times 4096 db 0
stack_top:
