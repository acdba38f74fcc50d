/**
 * PAE paging and NX (core/cpu/paePaging.ts, paeControl.ts, the TLB in
 * cpu.ts), observed from guest code as the SDM Vol. 3A 4.4, 4.6 and 4.7
 * describe them: the walk through the PDPTE registers, 64-bit PDEs/PTEs,
 * 2 MiB pages, accessed/dirty bits, #PF error codes with RSVD (bit 3) and
 * I/D (bit 4), the XD bit under IA32_EFER.NXE, the PDPTE load rules with
 * their #GP(0), global pages and INVLPG, and the CPUID/EFER interface.
 *
 * PAE_ON builds: PDPT at 0x20020 (32-byte aligned, not page aligned: CR3
 * bits 11:5 count), PDPTE0 -> PD0; PD0[0] -> PT0 (identity 4 KiB pages of
 * the first 2 MiB, user/writable), PD0[1] = identity 2 MiB page at 0x200000.
 * FLAT0 / FLAT3 are flat 32-bit code segments (DPL 0 / 3) to run code from RAM.
 *
 * Oracle: Bochs 2.7 as a Core Duo T2400 (BOCHS_CPU=core_duo_t2400_yonah
 * test/cpu/tools/crossCheck.ts <dump> bochs32) reports the same values
 * except the saved EIPs of ROM code (its rom.inc moves the code), the value
 * the RAM code reports itself, and what depends on MAXPHYADDR: Bochs's part
 * has 40 physical address bits, so a PDPTE with bit 32 set is valid there
 * (and the AMD-only case, which Bochs runs as the Intel part).
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';
import { AMD_SVM_MODEL } from '../../core/cpu/processorModel.ts';

const PAE_ON = `
PDPT  equ 0x20020
PD0   equ 0x21000
PT0   equ 0x22000
FLAT0 equ SEL_FREE
FLAT3 equ SEL_FREE + 8 + 3
        SET_DESC FLAT0, 0, 0xFFFFF, 0x9A, 0xC
        SET_DESC FLAT3, 0, 0xFFFFF, 0xFA, 0xC
        xor eax, eax
        mov edi, 0x20000
.clr:   mov [edi], eax
        add edi, 4
        cmp edi, 0x23000
        jb .clr
        mov dword [PDPT], PD0 | 1
        mov dword [PD0], PT0 | 7
        mov dword [PD0 + 8], 0x200000 | 0x87
        xor ecx, ecx
.fill:  mov eax, ecx
        shl eax, 12
        or eax, 7
        mov [PT0 + ecx * 8], eax
        inc ecx
        cmp ecx, 512
        jb .fill
        mov eax, cr4
        or eax, 1 << 5
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
`;
const PTE = (page: number): string => `[PT0 + 0x${page.toString(16)} * 8]`;
const PTE_HI = (page: number): string => `[PT0 + 0x${page.toString(16)} * 8 + 4]`;
const PDE = (i: number): string => `[PD0 + ${i} * 8]`;
const PDE_HI = (i: number): string => `[PD0 + ${i} * 8 + 4]`;
const REPORT_CR2 = `mov eax, cr2
        out 0xF0, eax`;
const NXE_ON = `mov ecx, 0xC0000080
        rdmsr
        or eax, 1 << 11
        wrmsr`;
/** mov eax, 0x1234 ; out 0xF0, eax ; retf -- stored at a linear address, run with a far call through FLAT0. */
const STORE_CODE = (lin: number): string => `mov dword [0x${lin.toString(16)}], 0x1234B8
        mov dword [0x${(lin + 4).toString(16)}], 0xCBF0E700`;

/** One fault record: vector, error code, CR2 (the saved EIP and CS are checked where they matter). */
const rec = (v: number[], k: number): string[] => hex([v[k], v[k + 1], v[k + 4]]);

describe('PAE paging', () => {
  it('walks PDPTE -> PDE -> PTE and 2 MiB pages, sets A/D bits, uses CR3 bits 11:5 and every PDPTE slot', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        mov eax, cr3
        out 0xF0, eax
        mov dword [0x101000], 0xBBBB
        mov dword ${PTE(0x100)}, 0x101000 | 7        ; 0x100000 -> 0x101000
        and dword ${PDE(0)}, ~0x60
        invlpg [0x100000]
        mov eax, [0x100000]
        out 0xF0, eax                                 ; 0xBBBB
        mov eax, ${PTE(0x100)}
        out 0xF0, eax                                 ; A set, D clear
        mov eax, ${PDE(0)}
        and eax, 0x60
        out 0xF0, eax                                 ; the PDE's A
        mov dword [0x100004], 1
        mov eax, ${PTE(0x100)}
        out 0xF0, eax                                 ; A and D
        ; 2 MiB pages: PD0[2] maps 0x400000 -> physical 0x200000
        mov dword [0x200010], 0xC0FFEE
        mov dword ${PDE(2)}, 0x200000 | 0x83
        mov eax, [0x400010]
        out 0xF0, eax
        mov eax, ${PDE(2)}
        out 0xF0, eax                                 ; A
        mov dword [0x400014], 2
        mov eax, ${PDE(2)}
        out 0xF0, eax                                 ; A and D
        ; PDPTE3 (0xC0000000-0xFFFFFFFF) -> PD0 too, seen after CR3 is reloaded
        mov dword [PDPT + 24], PD0 | 1
        mov eax, cr3
        mov cr3, eax
        mov eax, [0xC0100000]
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x20020, 0xbbbb, 0x101027, 0x20, 0x101067, 0xc0ffee, 0x2000a3, 0x2000e3, 0xbbbb]));
  });

  it('page faults: not-present PDPTE, PDE and PTE (error code 0), write protection, user access', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        mov dword ${PTE(0x101)}, 0
        mov dword ${PTE(0x102)}, 0x102000 | 5        ; user, read-only
        mov dword ${PTE(0x103)}, 0x103000 | 3        ; supervisor, writable
        RESUME_AT c1
        mov eax, [0x40000000]                         ; PDPTE1 not present
c1:     ${REPORT_CR2}
        RESUME_AT c2
        mov eax, [0x600000]                           ; PD0[3] not present
c2:     ${REPORT_CR2}
        RESUME_AT c3
        mov dword [0x101008], 1                       ; PTE not present, write
c3:     ${REPORT_CR2}
        mov eax, cr0
        or eax, 1 << 16
        mov cr0, eax
        RESUME_AT c4
        mov dword [0x102000], 1                       ; CR0.WP: supervisor write to a read-only page
c4:     ${REPORT_CR2}
        RESUME_AT c5
        TO_RING3 u5, 0x0002
u5:     mov eax, [ss:0x103010]                        ; user read of a supervisor page
c5:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    expect(rec(v, 0)).toEqual(hex([14, 0, 0x40000000]));
    expect(rec(v, 5)).toEqual(hex([14, 0, 0x600000]));
    expect(rec(v, 10)).toEqual(hex([14, 2, 0x101008]));
    expect(rec(v, 15)).toEqual(hex([14, 3, 0x102000]));
    expect(rec(v, 20)).toEqual(hex([14, 5, 0x103010]));
    expect(v.length).toBe(25);
  });

  it('reserved bits: RSVD (bit 3) with P for bits above MAXPHYADDR, 2 MiB PDE bits 20:13, bit 63 without NXE; no A bit set', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        mov dword ${PTE_HI(0x102)}, 0x100             ; PTE bit 40
        mov dword ${PTE_HI(0x103)}, 0x80000000        ; PTE bit 63 (XD), NXE = 0
        mov dword ${PDE(4)}, 0x200000 | 0x2083        ; 2 MiB PDE with bit 13
        mov dword ${PDE(5)}, PT0 | 7
        mov dword ${PDE_HI(5)}, 0x10                  ; PDE -> table with bit 36
        and dword ${PTE(0x102)}, ~0x60
        RESUME_AT c1
        mov eax, [0x102000]
c1:     ${REPORT_CR2}
        RESUME_AT c2
        mov dword [0x102004], 1
c2:     ${REPORT_CR2}
        RESUME_AT c3
        mov eax, [0x103000]
c3:     ${REPORT_CR2}
        RESUME_AT c4
        mov eax, [0x800000]
c4:     ${REPORT_CR2}
        RESUME_AT c5
        mov eax, [0xA00000]
c5:     ${REPORT_CR2}
        RESUME_AT c6
        TO_RING3 u6, 0x0002
u6:     mov eax, [ss:0x102008]                        ; user: P|U|RSVD
c6:     ${REPORT_CR2}
        mov eax, ${PTE(0x102)}
        out 0xF0, eax                                 ; A still clear
        ${NXE_ON}
        mov dword [0x103000], 0x5A5A                  ; (supervisor write: the PTE is writable)
        mov eax, [0x103000]                           ; with NXE, bit 63 is XD: reads are fine
        out 0xF0, eax
        PM_DONE
`);
    const v = run.values;
    expect(rec(v, 0)).toEqual(hex([14, 9, 0x102000]));
    expect(rec(v, 5)).toEqual(hex([14, 0xb, 0x102004]));
    expect(rec(v, 10)).toEqual(hex([14, 9, 0x103000]));
    expect(rec(v, 15)).toEqual(hex([14, 9, 0x800000]));
    expect(rec(v, 20)).toEqual(hex([14, 9, 0xa00000]));
    expect(rec(v, 25)).toEqual(hex([14, 0xd, 0x102008]));
    expect(hex(v.slice(30))).toEqual(hex([0x102007, 0x5a5a]));
  });

  it('NX: fetches from an XD page (PTE or 2 MiB PDE) fault with I/D, reads do not; supervisor may run user pages', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        ${NXE_ON}
        ${STORE_CODE(0x104000)}
        ${STORE_CODE(0x300000)}
        call FLAT0:0x104000                           ; executable user page at CPL 0: runs
        mov dword ${PTE_HI(0x104)}, 0x80000000
        invlpg [0x104000]
        mov eax, [0x104000]                           ; a read fills the TLB...
        out 0xF0, eax
        RESUME_AT c1
        call FLAT0:0x104000                           ; ...the fetch still faults: P|I/D
c1:     ${REPORT_CR2}
        RESUME_AT c2
        push dword SEL_DATA3
        push dword PM_STACK3
        push dword 2
        push dword FLAT3
        push dword 0x104000
        iretd                                         ; user fetch: P|U|I/D
c2:     ${REPORT_CR2}
        mov dword ${PDE_HI(1)}, 0x80000000            ; the 2 MiB page at 0x200000 is XD
        invlpg [0x300000]
        RESUME_AT c3
        call FLAT0:0x300000
c3:     ${REPORT_CR2}
        mov dword ${PTE(0x105)}, 0
        RESUME_AT c4
        call FLAT0:0x105000                           ; not present: I/D only
c4:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0x1234, 0x1234b8]));
    expect(rec(v, 2)).toEqual(hex([14, 0x11, 0x104000]));
    expect(hex([v[4], v[5]])).toEqual(hex([0x104000, 0x48])); // the fault is on the call's target
    expect(rec(v, 7)).toEqual(hex([14, 0x15, 0x104000]));
    expect(rec(v, 12)).toEqual(hex([14, 0x11, 0x300000]));
    expect(rec(v, 17)).toEqual(hex([14, 0x10, 0x105000]));
    expect(v.length).toBe(22);
  });

  it('NX: an instruction that continues onto an XD page faults at that page; without NXE a fetch fault has no I/D', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        ${NXE_ON}
        mov byte [0x106FFE], 0xB8                     ; mov eax, imm32 straddling into page 0x107
        mov dword ${PTE_HI(0x107)}, 0x80000000
        RESUME_AT c1
        call FLAT0:0x106FFE
c1:     ${REPORT_CR2}
        mov ecx, 0xC0000080
        rdmsr
        and eax, ~(1 << 11)
        wrmsr                                         ; NXE off: bit 63 is reserved again
        mov dword ${PTE(0x105)}, 0
        RESUME_AT c2
        call FLAT0:0x105000
c2:     ${REPORT_CR2}
        RESUME_AT c3
        call FLAT0:0x107000
c3:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    expect(rec(v, 0)).toEqual(hex([14, 0x11, 0x107000]));
    expect(v[2]).toBe(0x106ffe); // EIP of the straddling instruction
    expect(rec(v, 5)).toEqual(hex([14, 0, 0x105000]));
    expect(rec(v, 10)).toEqual(hex([14, 9, 0x107000]));
    expect(v.length).toBe(15);
  });

  it('the PDPTEs are registers: loaded by MOV CR3 and CR4.PGE/PSE changes, not by INVLPG', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        mov dword [0x100000], 0xAAAA
        mov dword [PDPT + 8], PD0 | 1                 ; PDPTE1 in memory only
        RESUME_AT c1
        mov eax, [0x40100000]
c1:     ${REPORT_CR2}
        mov eax, cr3
        mov cr3, eax                                  ; loads it
        mov eax, [0x40100000]
        out 0xF0, eax
        mov dword [PDPT + 8], 0                       ; gone from memory...
        invlpg [0x40100000]
        mov eax, [0x40100000]                         ; ...but still in the register
        out 0xF0, eax
        mov eax, cr4
        xor eax, 1 << 7
        mov cr4, eax                                  ; a PGE change reloads
        RESUME_AT c2
        mov eax, [0x40100000]
c2:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    expect(rec(v, 0)).toEqual(hex([14, 0, 0x40100000]));
    expect(hex(v.slice(5, 7))).toEqual(hex([0xaaaa, 0xaaaa]));
    expect(rec(v, 7)).toEqual(hex([14, 0, 0x40100000]));
    expect(v.length).toBe(12);
  });

  it('invalid PDPTEs (reserved bits 2:1, 8:5, 63:32 with P) make MOV CR3/CR0/CR4 #GP(0) and change nothing', () => {
    const run = runPm(`
test_main:
${PAE_ON}
BAD1 equ 0x20040
BAD2 equ 0x20060
OKAY equ 0x20080
        mov dword [BAD1], PD0 | 1
        mov dword [BAD1 + 16], PD0 | 3                ; PDPTE2: bit 1 (R/W) is reserved
        mov dword [BAD2], PD0 | 1
        mov dword [BAD2 + 8], PD0 | 0x21              ; PDPTE1: bit 5 (A) is reserved
        mov dword [OKAY], PD0 | 1
        mov dword [OKAY + 8], 0xFFFFFFFE              ; not present: any other bits are fine
        mov dword [OKAY + 12], 0xFFFFFFFF
        RESUME_AT c1
        mov eax, BAD1
        mov cr3, eax
c1:     mov eax, cr3
        out 0xF0, eax
        RESUME_AT c2
        mov eax, BAD2
        mov cr3, eax
c2:     mov eax, cr3
        out 0xF0, eax
        mov dword [0x20000 + 0x100], PD0 | 1
        mov dword [0x20000 + 0x104], 1                ; PDPTE0: bit 32 (above MAXPHYADDR)
        RESUME_AT c3
        mov eax, 0x20100
        mov cr3, eax
c3:     mov eax, cr3
        out 0xF0, eax
        mov eax, OKAY
        mov cr3, eax
        mov eax, cr3
        out 0xF0, eax
        ; PGE change with an invalid table at CR3: #GP, CR4 unchanged
        mov dword [OKAY + 8], 0x3
        RESUME_AT c4
        mov eax, cr4
        or eax, 1 << 7
        mov cr4, eax
c4:     mov eax, cr4
        out 0xF0, eax
        ; paging off: MOV CR3 loads nothing; setting CR0.PG then checks
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        mov eax, BAD1
        mov cr3, eax
        RESUME_AT c5
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
c5:     mov eax, cr0
        shr eax, 31
        out 0xF0, eax
        PM_DONE
`);
    const v = run.values;
    const gp = hex([13, 0]);
    expect(hex(v.slice(0, 2))).toEqual(gp);
    expect(v[4]).toBe(0x20020);
    expect(hex(v.slice(5, 7))).toEqual(gp);
    expect(v[9]).toBe(0x20020);
    expect(hex(v.slice(10, 12))).toEqual(gp);
    expect(v[14]).toBe(0x20020);
    expect(v[15]).toBe(0x20080);
    expect(hex(v.slice(16, 18))).toEqual(gp);
    expect(v[20]).toBe(0x20);
    expect(hex(v.slice(21, 23))).toEqual(gp);
    expect(v[25]).toBe(0);
    expect(v.length).toBe(26);
  });

  it("a task switch loads the new CR3's PDPTEs; an invalid one is #GP(0) in the new task, after the commit point", () => {
    const run = runPm(`
test_main:
${PAE_ON}
TSS2 equ 0x10000
GOOD equ 0x20040
BAD  equ 0x20060
        SET_DESC 0x58, TSS2, 0x67, 0x89, 0
        mov dword [TSS_BASE + 0x1C], PDPT             ; task 1's CR3, loaded again by the IRET back
        mov dword [GOOD], PD0 | 1
        mov dword [GOOD + 8], PD0 | 1                 ; PDPTE1 present only here
        mov dword [BAD], PD0 | 1
        mov dword [BAD + 8], PD0 | 3                  ; bit 1 is reserved
        mov dword [0x100000], 0xAAAA
        mov dword [TSS2 + 0x1C], GOOD
        mov dword [TSS2 + 0x20], task2
        mov dword [TSS2 + 0x24], 0x0002
        mov dword [TSS2 + 0x38], 0x9000
        mov dword [TSS2 + 0x48], SEL_DATA0
        mov dword [TSS2 + 0x4C], SEL_CODE0
        mov dword [TSS2 + 0x50], SEL_DATA0
        mov dword [TSS2 + 0x54], SEL_DATA0
        mov dword [TSS2 + 0x58], 0
        mov dword [TSS2 + 0x5C], 0
        mov dword [TSS2 + 0x60], 0
        call 0x58:0
        mov eax, cr3
        out 0xF0, eax                                 ; back in task 1
        mov dword [TSS2 + 0x1C], BAD
        RESUME_AT c1
        jmp 0x58:0
c1:     str eax
        out 0xF0, eax                                 ; task 2 is current
        mov eax, cr3
        out 0xF0, eax
        PM_DONE
task2:  mov eax, [0x40100000]                         ; through PDPTE1 of GOOD
        out 0xF0, eax
        mov eax, cr3
        out 0xF0, eax
        iretd
t2next: jmp t2next
`);
    const v = run.values;
    expect(hex(v.slice(0, 3))).toEqual(hex([0xaaaa, 0x20040, 0x20020]));
    expect(hex([v[3], v[4], v[7], v[8]])).toEqual(hex([13, 0, 0x58, 0x20060]));
    expect(v.length).toBe(9);
  });

  it('global pages survive a CR3 reload; INVLPG anywhere in a 2 MiB page drops all of it', () => {
    const run = runPm(`
test_main:
${PAE_ON}
        mov eax, cr4
        or eax, 1 << 7
        mov cr4, eax
        mov dword [0x100000], 0xAAAA
        mov dword [0x101000], 0xBBBB
        mov dword ${PTE(0x108)}, 0x100000 | 0x103     ; global
        mov dword ${PTE(0x109)}, 0x100000 | 3         ; not global
        mov eax, [0x108000]
        mov eax, [0x109000]
        mov dword ${PTE(0x108)}, 0x101000 | 0x103
        mov dword ${PTE(0x109)}, 0x101000 | 3
        mov eax, cr3
        mov cr3, eax
        mov eax, [0x108000]
        out 0xF0, eax                                 ; still the old page
        mov eax, [0x109000]
        out 0xF0, eax                                 ; reloaded
        mov dword [0x301000], 0xCCCC
        mov dword ${PDE(2)}, 0x000000 | 0x83          ; 0x400000 -> physical 0
        mov eax, [0x501000]
        out 0xF0, eax                                 ; physical 0x101000
        mov dword ${PDE(2)}, 0x200000 | 0x83
        invlpg [0x5FF000]                             ; another 4 KiB piece of the same 2 MiB page
        mov eax, [0x501000]
        out 0xF0, eax                                 ; physical 0x301000
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0xaaaa, 0xbbbb, 0xbbbb, 0xcccc]));
  });

  it('CPUID advertises PAE and NX and the address sizes; IA32_EFER has NXE only', () => {
    const run = runPm(`
test_main:
        mov eax, 1
        cpuid
        and edx, 1 << 6
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
        mov eax, 0x80000000
        cpuid
        out 0xF0, eax
        mov eax, 0x80000001
        cpuid
        mov eax, edx
        out 0xF0, eax
        mov eax, 0x80000008
        cpuid
        out 0xF0, eax
        mov ecx, 0xC0000080
        rdmsr
        out 0xF0, eax
        mov eax, 1 << 11
        xor edx, edx
        wrmsr
        rdmsr
        out 0xF0, eax
        RESUME_AT c1
        mov ecx, 0xC0000080
        mov eax, 1                                    ; SCE: no such bit here
        xor edx, edx
        wrmsr
c1:     mov ecx, 0xC0000080
        rdmsr
        out 0xF0, eax
        PM_DONE
`);
    const v = run.values;
    expect(hex(v.slice(1, 7))).toEqual(hex([1 << 6, 0x80000008, 1 << 20, 0x2020, 0, 0x800]));
    expect(hex(v.slice(7, 9))).toEqual(hex([13, 0]));
    expect(v[11]).toBe(0x800);
    expect(v.length).toBe(12);
  });

  it('the AMD part has no PAE: CR4.PAE is #GP(0)', () => {
    const run = runPm(`
test_main:
        RESUME_AT c1
        mov eax, cr4
        or eax, 1 << 5
        mov cr4, eax
c1:     mov eax, cr4
        out 0xF0, eax
        PM_DONE
`, { cpuModel: AMD_SVM_MODEL });
    expect(hex(run.values)).toEqual(hex([13, 0, run.values[2], 8, 0]));
  });
});
