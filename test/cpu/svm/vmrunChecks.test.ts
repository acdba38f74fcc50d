/**
 * VMRUN's consistency checks (AMD64 APM Vol. 2 §15.5.1): each illegal
 * state makes VMRUN #VMEXIT at once with EXITCODE VMEXIT_INVALID (-1, all
 * 64 bits set) and the host continues after VMRUN; the guest never runs
 * (it would exit with HLT). The last run, with the VMCB legal again,
 * reaches the guest's HLT.
 */
import { describe, expect, it } from 'vitest';
import { hex, runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

describe('SVM: VMRUN consistency checks', () => {
  it('every illegal VMCB state is VMEXIT_INVALID, and the legal one runs the guest', () => {
    const r = runSvm(`
; CHECK offset, bad, good: VMRUN with the bad dword, report EXITCODE (both dwords), put the good one back.
%macro CHECK 3
        VMCB_W %1, %2
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITCODE + 4
        VMCB_W %1, %3
%endmacro
; CHECK_BITS offset, and-mask, or-mask: the same with the dword modified in place.
%macro CHECK_BITS 3
        mov ebx, [VMCB + (%1)]
        mov ecx, ebx
        and ecx, %2
        or ecx, %3
        mov [VMCB + (%1)], ecx
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITCODE + 4
        mov [VMCB + (%1)], ebx
%endmacro
svm_main:
        VMCB_W VMCB_RIP, guest
        CHECK VMCB_INTERCEPT_MISC2, 0, INTERCEPT_VMRUN          ; VMRUN intercept clear
        CHECK VMCB_GUEST_ASID, 0, 1                             ; the host's ASID
        CHECK VMCB_EFER, 0, EFER_SVME                           ; guest EFER.SVME = 0
        CHECK VMCB_EFER, EFER_SVME | 1, EFER_SVME               ; EFER.SCE: reserved on this part
        CHECK VMCB_EFER, EFER_SVME | 0x100, EFER_SVME           ; EFER.LME: no long mode
        CHECK VMCB_EFER + 4, 1, 0                               ; EFER[63:32]
        CHECK_BITS VMCB_CR0, ~(1 << 30), 1 << 29                ; CR0.NW without CR0.CD
        CHECK VMCB_CR0 + 4, 1, 0                                ; CR0[63:32]
        CHECK VMCB_CR3 + 4, 1, 0                                ; CR3[63:32]
        CHECK_BITS VMCB_CR4, 0xFFFFFFFF, 1 << 5                 ; CR4.PAE: not implemented
        CHECK VMCB_CR4 + 4, 1, 0                                ; CR4[63:32]
        CHECK VMCB_DR6 + 4, 1, 0                                ; DR6[63:32]
        CHECK VMCB_DR7 + 4, 1, 0                                ; DR7[63:32]
        CHECK_BITS VMCB_CS, 0xFFFFFFFF, (1 << 9) << 16          ; CS.L with CS.D
        CHECK VMCB_IOPM_BASE_PA, 0xFFFFE000, IOPM               ; IOPM runs past 4 GiB
        CHECK VMCB_IOPM_BASE_PA + 4, 1, 0
        CHECK VMCB_MSRPM_BASE_PA, 0xFFFFF000, MSRPM             ; MSRPM runs past 4 GiB
        CHECK VMCB_EVENTINJ, EVENT_VALID | (1 << 8) | 0x20, 0   ; reserved event type 1
        CHECK VMCB_EVENTINJ, EVENT_VALID | (5 << 8) | 0x20, 0   ; reserved event type 5
        CHECK VMCB_EVENTINJ, EVENT_VALID | (EVENT_TYPE_EXCEPTION << 8) | 2, 0    ; NMI vector as an exception
        CHECK VMCB_EVENTINJ, EVENT_VALID | (EVENT_TYPE_EXCEPTION << 8) | 32, 0   ; exception vector > 31
        ; Nested paging with the host's paging off.
        VMCB_W VMCB_NP_ENABLE, 1
        VMCB_W VMCB_N_CR3, PAGE_DIR
        mov eax, cr0
        and eax, 0x7FFFFFFF
        mov cr0, eax
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITCODE + 4
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        VMCB_W VMCB_NP_ENABLE, 0
        ; The legal VMCB: the guest runs to its HLT.
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITCODE + 4
        PM_DONE
guest:
        GUEST_HLT
`);
    const invalid = [0xffff_ffff, 0xffff_ffff];
    expect(hex(r.values)).toEqual(hex([
      ...Array.from({ length: 21 }, () => invalid).flat(),
      ...invalid, // nested paging without host paging
      B.VMEXIT_HLT, 0,
    ]));
    expect(r.stop).toBe('halt');
  });
});
