/**
 * Paging (the lead's walk in paging.ts and the TLB in cpu.ts), observed from
 * guest code: #PF error codes (P, W, U, RSVD) and CR2, accessed/dirty bits,
 * CR0.WP, U/S at CPL 3, 4 MiB pages (CR4.PSE), the TLB's architectural
 * staleness (a PTE change without INVLPG is not seen; INVLPG drops it),
 * global pages across CR3 reloads vs a CR4.PGE toggle, self-modifying code.
 *
 * Identity map of the first 4 MiB through one page table, user/writable,
 * set up by PAGING_ON; tests then edit single PTEs.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

const PAGING_ON = `
PD equ 0x20000
PT equ 0x21000
        xor eax, eax
        mov edi, PD
.clr:   mov [edi], eax
        add edi, 4
        cmp edi, PD + 0x1000
        jb .clr
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
        or eax, 0x80000000
        mov cr0, eax
`;
const PTE = (page: number): string => `[PT + 0x${page.toString(16)} * 4]`;

/** Reports CR2 and continues (used as a resume target). */
const REPORT_CR2 = `mov eax, cr2
        out 0xF0, eax`;

describe('paging', () => {
  it('page-fault error codes and CR2: not present, write protect with CR0.WP, user access', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword ${PTE(0x300)}, 0                    ; not present
        mov dword ${PTE(0x301)}, 0x301000 | 5         ; user, read-only
        mov dword ${PTE(0x302)}, 0x302000 | 3         ; supervisor, writable
        RESUME_AT c1
        mov eax, [0x300010]                           ; -> #PF(0)
c1:     ${REPORT_CR2}
        RESUME_AT c2
        mov dword [0x300020], 1                       ; -> #PF(W)
c2:     ${REPORT_CR2}
        mov dword [0x301000], 0x5A                    ; WP = 0: supervisor writes ignore R/W
        mov eax, [0x301000]
        out 0xF0, eax
        mov eax, cr0
        or eax, 1 << 16
        mov cr0, eax
        RESUME_AT c3
        mov dword [0x301004], 1                       ; WP = 1 -> #PF(P|W)
c3:     ${REPORT_CR2}
        RESUME_AT c4
        TO_RING3 u4, 0x0002
u4:     mov eax, [ss:0x302008]                         ; user read of a supervisor page -> #PF(P|U)
c4:     ${REPORT_CR2}
        RESUME_AT c5
        TO_RING3 u5, 0x0002
u5:     mov eax, [ss:0x301000]                        ; user read of a user read-only page: fine
        out 0xF0, eax
        mov dword [ss:0x30100C], 1                    ; user write -> #PF(P|W|U)
c5:     ${REPORT_CR2}
        RESUME_AT c6
        TO_RING3 u6, 0x0002
u6:     mov dword [ss:0x300FFE], 1                    ; straddles into a not-present page
c6:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    const rec = (k: number) => v.slice(k, k + 5);
    expect(hex([rec(0)[0], rec(0)[1], rec(0)[4]])).toEqual(hex([14, 0, 0x300010]));
    expect(hex([rec(5)[0], rec(5)[1], rec(5)[4]])).toEqual(hex([14, 2, 0x300020]));
    expect(v[10]).toBe(0x5a);
    expect(hex([rec(11)[0], rec(11)[1], rec(11)[4]])).toEqual(hex([14, 3, 0x301004]));
    expect(hex([rec(16)[0], rec(16)[1], rec(16)[3], rec(16)[4]])).toEqual(hex([14, 5, 0x23, 0x302008]));
    expect(v[21]).toBe(0x5a);
    expect(hex([rec(22)[0], rec(22)[1], rec(22)[4]])).toEqual(hex([14, 7, 0x30100c]));
    // The first byte's page (0x300000) is the not-present one.
    expect(hex([rec(27)[0], rec(27)[1], rec(27)[4]])).toEqual(hex([14, 6, 0x300ffe]));
    expect(v.length).toBe(32);
  });

  it('accessed and dirty bits: a read sets A only, a write sets D', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        and dword [PD], ~0x60
        mov dword ${PTE(0x303)}, 0x303000 | 7
        mov eax, [0x303000]
        mov eax, ${PTE(0x303)}
        out 0xF0, eax
        mov eax, [PD]
        and eax, 0x60
        out 0xF0, eax
        mov dword [0x303004], 1
        mov eax, ${PTE(0x303)}
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x303027, 0x20, 0x303067]));
  });

  it('4 MiB pages with CR4.PSE, and #PF with RSVD for reserved PDE bits', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov eax, cr4
        or eax, 1 << 4
        mov cr4, eax
        mov dword [PD + 2 * 4], 0x00000087            ; 0x800000 -> physical 0 (4 MiB)
        mov dword [PD + 3 * 4], 0x00002087            ; reserved bit 13 set
        mov dword [0x123454], 0xFEEDF00D
        mov eax, [0x800000 + 0x123454]
        out 0xF0, eax
        mov eax, [PD + 2 * 4]
        out 0xF0, eax                                 ; A set (no D: read only)
        RESUME_AT c1
        mov eax, [0xC00010]
c1:     ${REPORT_CR2}
        PM_DONE
`);
    const v = run.values;
    expect(hex(v.slice(0, 2))).toEqual(hex([0xfeedf00d, 0xa7]));
    expect(hex([v[2], v[3], v[6]])).toEqual(hex([14, 9, 0xc00010]));
  });

  it('the TLB keeps a stale translation until INVLPG', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword [0x100000], 0xAAAA
        mov dword [0x101000], 0xBBBB
        mov dword ${PTE(0x304)}, 0x100000 | 3
        mov eax, [0x304000]
        out 0xF0, eax
        mov dword ${PTE(0x304)}, 0x101000 | 3
        mov eax, [0x304000]
        out 0xF0, eax                                 ; still the old page
        invlpg [0x304000]
        mov eax, [0x304000]
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0xaaaa, 0xaaaa, 0xbbbb]));
  });

  it('INVLPG of any address in a 4 MiB page drops the whole large translation', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov eax, cr4
        or eax, 1 << 4
        mov cr4, eax
        mov dword [PD + 1 * 4], 0x00400083            ; identity-map the second 4 MiB (large)
        mov dword [0x001000], 0xAAAA
        mov dword [0x401000], 0xCCCC
        mov dword [PD + 2 * 4], 0x00000083            ; 0x800000 -> physical 0
        mov eax, [0x800000]
        mov eax, [0x801000]
        out 0xF0, eax
        mov dword [PD + 2 * 4], 0x00400083            ; now -> physical 0x400000
        invlpg [0x800000]                             ; a different 4 KiB piece of the same large page
        mov eax, [0x801000]
        out 0xF0, eax
        PM_DONE
`, { memoryMiB: 8 });
    expect(hex(run.values)).toEqual(hex([0xaaaa, 0xcccc]));
  });

  it('global pages survive a CR3 reload but not a CR4.PGE toggle', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword [0x100000], 0xAAAA
        mov dword [0x101000], 0xBBBB
        mov eax, cr4
        or eax, 1 << 7
        mov cr4, eax
        mov dword ${PTE(0x305)}, 0x100000 | 0x103     ; global
        mov dword ${PTE(0x306)}, 0x100000 | 3         ; not global
        mov eax, [0x305000]
        mov eax, [0x306000]
        mov dword ${PTE(0x305)}, 0x101000 | 0x103
        mov dword ${PTE(0x306)}, 0x101000 | 3
        mov eax, cr3
        mov cr3, eax
        mov eax, [0x305000]
        out 0xF0, eax                                 ; global: old
        mov eax, [0x306000]
        out 0xF0, eax                                 ; not global: new
        mov eax, cr4
        and eax, ~(1 << 7)
        mov cr4, eax
        mov eax, [0x305000]
        out 0xF0, eax                                 ; flushed
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0xaaaa, 0xbbbb, 0xbbbb]));
  });

  it('block links follow code pages: INVLPG of a data page keeps them (and the stale code), INVLPG of the code page ends them', () => {
    // Linear 0x307000 runs "mov eax, 0x1111; retf" from physical 0x100000 (called through a flat code
    // segment), then is remapped to 0x101000 ("mov eax, 0x2222; retf"). Port 0xF8 records the processor's link stamp (Cpu.linkStamp): it must
    // stay across INVLPG of a page no block came from, and change when the code page's translation goes.
    for (const jit of [false, true]) {
      const stamps: number[] = [];
      const run = runPm(`
test_main:
${PAGING_ON}
        SET_DESC 0x48, 0, 0xFFFFF, 0x9A, 0xC          ; flat code
        mov dword [0x100000], 0x001111B8
        mov word [0x100004], 0xCB00
        mov dword [0x101000], 0x002222B8
        mov word [0x101004], 0xCB00
        mov dword ${PTE(0x307)}, 0x100000 | 3
        mov ecx, 3
.warm:  call 0x48:0x307000
        dec ecx
        jnz .warm
        out 0xF0, eax
        out 0xF8, eax
        mov dword ${PTE(0x307)}, 0x101000 | 3
        invlpg [0x304000]
        out 0xF8, eax
        call 0x48:0x307000
        out 0xF0, eax                                 ; the stale translation still runs the old code
        invlpg [0x307000]
        out 0xF8, eax
        call 0x48:0x307000
        out 0xF0, eax                                 ; the new code
        PM_DONE
`, {
        setup: (bus, cpu) => {
          if (jit) cpu.jit.configure({ enabled: true, hotThreshold: 1 });
          bus.addPorts(0xf8, 4, { portRead: () => 0, portWrite: () => { stamps.push(cpu.linkStamp); } }, 'link stamp', [4]);
        },
      });
      expect(hex(run.values)).toEqual(hex([0x1111, 0x1111, 0x2222]));
      expect(stamps[1]).toBe(stamps[0]);
      expect(stamps[2]).not.toBe(stamps[1]);
    }
  });

  it('self-modifying code: a rewritten immediate is used on the next execution', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        SET_DESC 0x48, 0, 0xFFFFF, 0x9A, 0xC          ; flat code
        mov dword [0x40000], 0x111111B8               ; mov eax, 0x11111111
        mov word [0x40004], 0xCB11                    ; retf
        call 0x48:0x40000
        out 0xF0, eax
        mov dword [0x40001], 0x22222222
        call 0x48:0x40000
        out 0xF0, eax
        PM_DONE
`);
    expect(hex(run.values)).toEqual(hex([0x11111111, 0x22222222]));
  });

  it('a page fault while pushing a page fault frame is a double fault (taken here through a task gate)', () => {
    const run = runPm(`
test_main:
${PAGING_ON}
        mov dword ${PTE(0x301)}, 0
        SET_DESC 0x50, 0x10000, 0x67, 0x89, 0         ; the #DF task's TSS
        mov dword [0x10000 + 0x20], df_task           ; EIP
        mov dword [0x10000 + 0x24], 2                 ; EFLAGS
        mov dword [0x10000 + 0x38], 0x9000            ; ESP
        mov dword [0x10000 + 0x48], SEL_DATA0         ; ES
        mov dword [0x10000 + 0x4C], SEL_CODE0         ; CS
        mov dword [0x10000 + 0x50], SEL_DATA0         ; SS
        mov dword [0x10000 + 0x54], SEL_DATA0         ; DS
        mov eax, cr3
        mov [0x10000 + 0x1C], eax
        IDT_GATE 8, 0x50, 0, 0x85                     ; #DF -> task gate
        mov esp, 0x302000                             ; the stack below is not present
        mov eax, [0x301000]                           ; #PF; pushing its frame -> #PF -> #DF
        PM_DONE
df_task:
        mov eax, [esp]
        out 0xF0, eax                                 ; #DF error code (0)
        mov eax, esp
        out 0xF0, eax
        mov eax, cr2
        out 0xF0, eax                                 ; the failed push
        movzx eax, word [0x10000]
        out 0xF0, eax                                 ; back link to the faulting task
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0, 0x9000 - 4, 0x301ffc, 0x30]));
  });

  it('an exception while delivering #DF shuts the processor down (triple fault)', () => {
    const run = runPm(`
test_main:
        push dword 0
        push word 0
        lidt [esp]                                    ; IDT limit 0: every delivery faults
        ud2
`);
    expect(run.stop).toBe('shutdown');
    expect(run.shutdownDetail).toMatch(/triple fault/);
  });
});
