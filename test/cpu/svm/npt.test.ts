/**
 * Nested paging (AMD64 APM Vol. 2 §15.25): nested tables at N_CR3 in the
 * host's format (32-bit paging here) translate guest-physical addresses,
 * the guest's own page-table accesses included. A violation is
 * #VMEXIT(NPF, 400h) with the page-fault error code in EXITINFO1 (U always
 * set: nested accesses are user accesses; bit 32: the final translation,
 * bit 33: a guest page-table access, which counts as a write) and the
 * guest-physical address in EXITINFO2; RIP names the faulting instruction.
 * The nested walk sets accessed and dirty bits in the nested tables.
 */
import { describe, expect, it } from 'vitest';
import { hex, runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

const GUEST_PT2 = 0x27000;

/** Guest tables: linear 0-4 MiB identity (GUEST_PT), linear 4 MiB+ onto guest-physical 2 MiB+ (GUEST_PT2). */
const GUEST_TABLES = `
        mov edi, GUEST_PAGE_DIR
        xor eax, eax
        mov ecx, 4096 / 4
        rep stosd
        mov dword [GUEST_PAGE_DIR], GUEST_PT | 7
        mov dword [GUEST_PAGE_DIR + 4], ${GUEST_PT2} | 7
        xor ebx, ebx
.gpt:   mov eax, ebx
        shl eax, 12
        or eax, 7
        mov [GUEST_PT + ebx * 4], eax
        add eax, 0x200000
        mov [${GUEST_PT2} + ebx * 4], eax
        inc ebx
        cmp ebx, 1024
        jb .gpt
        VMCB_W VMCB_CR3, GUEST_PAGE_DIR
`;

describe('SVM: nested paging', () => {
  it('#NPF: not present, write to a read-only page, a guest page-table page missing; A/D bits in the nested tables', () => {
    const r = runSvm(`
svm_main:
        NPT_IDENTITY
${GUEST_TABLES}
        mov dword [NPT_PT + 0x300 * 4], 0               ; guest-physical 300000h: not present
        mov dword [NPT_PT + 0x301 * 4], 0x301000 | 5    ; 301000h: present, user, read-only
        mov dword [NPT_PT + (${GUEST_PT2} >> 12) * 4], 0   ; the guest's second page table: not present
        VMCB_W VMCB_RIP, guest
.loop:  SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINFO1 + 4
        REPORT_VMCB VMCB_EXITINFO2
        REPORT_VMCB VMCB_NRIP
        cmp dword [VMCB + VMCB_EXITCODE], VMEXIT_HLT
        je .done
        ; Map what faulted (identity, writable) and let the guest retry the instruction.
        mov eax, [VMCB + VMCB_EXITINFO2]
        and eax, 0xFFFFF000
        mov ebx, eax
        shr ebx, 12
        or eax, 7
        mov [NPT_PT + ebx * 4], eax
        jmp .loop
.done:  mov eax, [NPT_PT + 0x300 * 4]                   ; read then: accessed
        out 0xF0, eax
        mov eax, [NPT_PT + 0x302 * 4]                   ; written: accessed and dirty
        out 0xF0, eax
        mov eax, [NPT_PT + 0x303 * 4]                   ; untouched
        out 0xF0, eax
        mov eax, [NPT_PT + (GUEST_PT >> 12) * 4]        ; the guest's page table: written by its walk (A/D)
        out 0xF0, eax
        mov eax, [GUEST_PT + 0x302 * 4]                 ; and the guest's own A/D bits, through the nested tables
        out 0xF0, eax
        PM_DONE
guest:
        mov eax, [0x300010]             ; not present: read
        mov dword [0x301234], 1         ; read-only: write
        mov dword [0x302000], 2
        mov eax, [0x401000]             ; linear 401000h: its guest page table (${GUEST_PT2.toString(16)}h) is not in the nested tables
        GUEST_HLT
`);
    const U = 4, W = 2, P = 1;
    const FINAL = B.NPF_FINAL_TRANSLATION, WALK = B.NPF_PAGE_TABLE_WALK;
    expect(hex(r.values)).toEqual(hex([
      B.VMEXIT_NPF, U, FINAL, 0x300010, 0,
      B.VMEXIT_NPF, P | W | U, FINAL, 0x301234, 0,
      B.VMEXIT_NPF, W | U, WALK, GUEST_PT2 + 4, 0, // the guest's PTE read counts as a write
      B.VMEXIT_HLT, 0, 0, 0, r.values[19],
      0x300027, 0x302067, 0x303007, 0x25067, 0x302067,
    ]));
  });

  it('4 MiB nested pages under the host\'s CR4.PSE; #NPF while delivering an injected interrupt reports it in EXITINTINFO', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_NP_ENABLE, 1
        VMCB_W VMCB_N_CR3, NPT_PD
        mov edi, NPT_PD
        xor eax, eax
        mov ecx, 4096 / 4
        rep stosd
        mov dword [NPT_PD], 0x87                        ; guest-physical 0-4 MiB: one 4 MiB page
        mov eax, [VMCB + VMCB_CR0]
        and eax, 0x7FFFFFFF
        mov [VMCB + VMCB_CR0], eax                      ; the guest's own paging off: linear = guest-physical
        VMCB_W VMCB_IDTR + 8, 0x400000                  ; its IDT beyond the nested mapping
        VMCB_W VMCB_EVENTINJ, EVENT_VALID | (EVENT_TYPE_INTR << 8) | 0x20
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINFO1 + 4
        REPORT_VMCB VMCB_EXITINFO2
        REPORT_VMCB VMCB_EXITINTINFO
        mov eax, [VMCB + VMCB_RIP]
        sub eax, guest
        out 0xF0, eax
        ; Without the event the guest runs through the 4 MiB nested page to its HLT.
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, [NPT_PD]
        out 0xF0, eax                                   ; accessed (the guest only read and fetched)
        PM_DONE
guest:
        mov eax, [0x5000]
        GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      B.VMEXIT_NPF, 4, B.NPF_FINAL_TRANSLATION, 0x400000 + 0x20 * 8, B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | 0x20, 0,
      B.VMEXIT_HLT, 0xa7,
    ]));
  });
});
