/**
 * String instructions under paging (protected mode via asm/pmode.inc): the
 * bulk REP paths must behave exactly like the element loop where pages
 * matter: a #PF on a read-only page in the middle of REP STOSD leaves
 * ECX/EDI at the faulting element; two linear pages aliasing one physical
 * page make a "non-overlapping" linear copy overlap physically (it must
 * replicate like the element loop); REP STOSB over decoded code invalidates
 * it (self-modifying code through a string store). INS/OUTS check I/O
 * permission before any access, and INS checks its destination before it
 * reads the port (a faulting INS consumes no device data).
 */
import { describe, expect, it } from 'vitest';
import type { MemoryBus } from '../../core/memory/bus.ts';
import { hex, runPm } from './pmodeRun.ts';

/** Identity-maps the first 4 MiB (user, writable) through one page table, sets CR0.WP, turns paging on. */
const PAGING_ON = `
PD equ 0x20000
PT equ 0x21000
        xor eax, eax
        mov edi, PD
        mov ecx, 1024
        rep stosd
        mov dword [PD], PT | 7
        xor ecx, ecx
.fill:  mov eax, ecx
        shl eax, 12
        or eax, 7
        mov [PT + ecx * 4], eax
        inc ecx
        cmp ecx, 1024
        jb .fill
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80010000
        mov cr0, eax
`;

describe('string instructions with paging', () => {
  it('REP STOSD faulting on a read-only page stops with ECX/EDI at the faulting element', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword [PT + 0x312 * 4], 0x312000 | 1      ; present, read-only (CR0.WP = 1)
        IDT_GATE 14, SEL_CODE0, pf_handler, 0x8E
        mov edi, 0x310800
        mov ecx, 0x1000
        mov eax, 0xc0ffee00
        cld
        rep stosd
after:  mov eax, [0x311ffc]
        out 0xF0, eax
        mov eax, [0x312000]
        out 0xF0, eax
        PM_DONE
pf_handler:                                           ; reports error code, ECX, EDI, CR2; resumes at 'after'
        pop eax
        out 0xF0, eax
        mov eax, ecx
        out 0xF0, eax
        mov eax, edi
        out 0xF0, eax
        mov eax, cr2
        out 0xF0, eax
        mov dword [esp], after
        iretd
`);
    // (0x312000 - 0x310800) / 4 = 0x600 elements were stored before the fault.
    expect(hex(run.values)).toEqual(hex([3, 0x1000 - 0x600, 0x312000, 0x312000, 0xc0ffee00, 0]));
  });

  it('a linear copy between two aliases of one physical page replicates like the element loop', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword [PT + 0x321 * 4], 0x320000 | 3      ; linear 0x321000 aliases physical 0x320000
        mov byte [0x320000], 0x5a
        mov byte [0x320001], 0x11
        mov esi, 0x320000
        mov edi, 0x321001
        mov ecx, 100
        cld
        rep movsb
        mov eax, [0x320000]
        out 0xF0, eax
        mov eax, [0x320060]
        out 0xF0, eax
        mov eax, [0x320064]
        out 0xF0, eax
        PM_DONE
`);
    // Byte k+1 <- byte k for k = 0..99 in the same physical page: bytes 0..100 all 0x5A.
    expect(hex(run.values)).toEqual(hex([0x5a5a5a5a, 0x5a5a5a5a, 0x5a]));
  });

  it('REP STOSB over code that already ran replaces it (decoded code is invalidated)', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        ; routine at linear 0x330000: mov eax, 1 / retf, called through a flat code segment
        SET_DESC SEL_FREE, 0, 0xFFFFF, 0x9A, 0xC
        mov dword [0x330000], 0x000001b8
        mov dword [0x330004], 0x0000cb00
        xor eax, eax
        call SEL_FREE:0x330000
        out 0xF0, eax
        ; overwrite its first 5 bytes with INC EAX (0x40)
        mov edi, 0x330000
        mov ecx, 5
        mov al, 0x40
        cld
        rep stosb
        xor eax, eax
        call SEL_FREE:0x330000
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([1, 5]));
  });

  it('INS/OUTS: a denied port is #GP(0) before any access; INS to a read-only page faults before reading the port', () => {
    const log: string[] = [];
    const setup = (bus: MemoryBus) => {
      bus.addPorts(0x300, 1, {
        portRead: () => { log.push('read'); return 0x42; },
        portWrite: (_p: number, _s: number, v: number) => { log.push(`write ${v.toString(16)}`); },
      }, 'test port', [1]);
    };
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword [PT + 0x340 * 4], 0x340000 | 1      ; read-only page
        mov dword [0x345000], 0x332211
        ; ring 3, IOPL 0, port 0x300 allowed by the bitmap: both bytes go out; then HLT -> #GP(0)
        RESUME_AT r1
        TO_RING3 u1, 0x0002
u1:     push ss                                  ; IRET to ring 3 nulled DS (DPL 0)
        pop ds
        mov dx, 0x300
        mov esi, 0x345000
        mov ecx, 2
        rep outsb
        hlt
r1:     mov byte [TSS_BASE + 0x68 + (0x300 >> 3)], 1   ; deny port 0x300
        RESUME_AT r2
        TO_RING3 u2, 0x0002
u2:     push ss
        pop ds
        mov dx, 0x300
        mov esi, 0x345000
        mov ecx, 2
        rep outsb
r2:     RESUME_AT r3
        mov dx, 0x300
        mov edi, 0x340010
        mov ecx, 3
        rep insb
r3:     PM_DONE
`, { setup });
    const v = run.values;
    // r1: both OUTS bytes went out, then HLT at CPL 3: #GP(0).
    // r2: OUTS at CPL 3 with the port denied: #GP(0) at the OUTS, nothing written.
    // r3: INS to a read-only page at CPL 0 with WP: #PF(P|W) before any port read.
    expect(hex([v[0], v[1], v[4], v[5], v[8], v[9]])).toEqual(hex([13, 0, 13, 0, 14, 3]));
    expect(v.length).toBe(12);
    expect(log).toEqual(["write 11", "write 22"]);
  });
});
