; CPU benchmark: CPU-bound protected-mode code with paging on.
; Loaded at 0x100000 and entered in flat 32-bit protected mode (paging off).
; Builds an identity map of the first 16 MiB with 4 KiB pages, enables
; paging, then runs a sieve of Eratosthenes and a bitwise CRC32 loop.
; Reports through port 0xF0: prime count, CRC32 value; then halts.
        bits 32
        org 0x100000

PD      equ 0x200000            ; page directory
PT      equ 0x201000            ; 4 page tables (16 MiB)
SIEVE   equ 0x300000
SIEVE_N equ 65536
DATA    equ 0x400000
DATA_N  equ 16384

start:
        ; page tables: identity map 16 MiB, present + writable
        mov edi, PT
        mov eax, 0x003
        mov ecx, 4096
.pt:    mov [edi], eax
        add eax, 0x1000
        add edi, 4
        dec ecx
        jnz .pt
        mov edi, PD
        mov eax, PT + 3
        mov ecx, 4
.pd:    mov [edi], eax
        add eax, 0x1000
        add edi, 4
        dec ecx
        jnz .pd
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax

        ; ---- sieve, repeated ----
        mov ebp, SIEVE_REPEAT
.again:
        mov edi, SIEVE
        mov ecx, SIEVE_N
        mov eax, 0x01010101
.fill:  mov [edi], eax
        add edi, 4
        sub ecx, 4
        jnz .fill
        mov ebx, 2
.outer: mov eax, ebx
        imul eax, ebx
        cmp eax, SIEVE_N
        jae .count
        cmp byte [SIEVE + ebx], 0
        je .next
.mark:  mov byte [SIEVE + eax], 0
        add eax, ebx
        cmp eax, SIEVE_N
        jb .mark
.next:  inc ebx
        jmp .outer
.count: xor eax, eax
        mov ecx, 2
.cnt:   movzx edx, byte [SIEVE + ecx]
        add eax, edx
        inc ecx
        cmp ecx, SIEVE_N
        jb .cnt
        dec ebp
        jnz .again
        out 0xF0, eax           ; number of primes below SIEVE_N

        ; ---- CRC32 (bitwise, reflected, poly 0xEDB88320) over DATA ----
        mov edi, DATA
        mov ecx, DATA_N
        mov eax, 0x12345678
.gen:   mov [edi], al           ; deterministic pseudo-random data
        imul eax, eax, 1103515245
        add eax, 12345
        inc edi
        dec ecx
        jnz .gen
        mov ebp, CRC_REPEAT
.crcagain:
        mov esi, DATA
        mov ecx, DATA_N
        mov eax, 0xFFFFFFFF
.byte:  movzx edx, byte [esi]
        xor eax, edx
        mov edx, 8
.bit:   shr eax, 1
        jnc .nox
        xor eax, 0xEDB88320
.nox:   dec edx
        jnz .bit
        inc esi
        dec ecx
        jnz .byte
        not eax
        dec ebp
        jnz .crcagain
        out 0xF0, eax
        cli
        hlt
