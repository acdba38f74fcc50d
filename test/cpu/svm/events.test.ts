/**
 * SVM exception intercepts, EXITINTINFO, event injection and the shutdown
 * intercept (AMD64 APM Vol. 2 §15.12, §15.7.2, §15.20):
 * - an intercepted exception exits with EXITCODE 40h + vector, EXITINFO1 =
 *   its error code, EXITINFO2 = the #PF address (the guest's CR2 is left
 *   as it was); RIP names the faulting instruction (INT3: nRIP the next);
 * - an intercept while an event is being delivered reports that event in
 *   EXITINTINFO (vector, type, EV, V; error code in the high dword), and
 *   RIP names the INT n that raised it;
 * - EVENTINJ delivers an exception (with error code), NMI, INTR or INT n
 *   through the guest IDT before the first guest instruction, not subject
 *   to the exception intercepts; #VMEXIT clears its valid bit;
 * - a triple fault in the guest is #VMEXIT(SHUTDOWN) when intercepted, and
 *   shuts the processor down when it is not.
 */
import { describe, expect, it } from 'vitest';
import { exitRecords, hex, runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

/** Runs the guest until HLT; after each exit continues at nRIP, or at the guest's EBP when nRIP is 0. */
const EXC_LOOP = `
exc_loop:
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINFO2
        REPORT_VMCB VMCB_RIP
        REPORT_VMCB VMCB_NRIP
        cmp dword [VMCB + VMCB_EXITCODE], VMEXIT_HLT
        je .done
        mov eax, [VMCB + VMCB_NRIP]
        test eax, eax
        jnz .go
        mov eax, ebp                    ; the guest's EBP: where it continues after a fault
.go:    mov [VMCB + VMCB_RIP], eax
        jmp exc_loop
.done:  REPORT_VMCB VMCB_CR2
        PM_DONE
`;

describe('SVM: exceptions, EXITINTINFO, event injection, shutdown', () => {
  it('intercepted exceptions: EXITCODE 40h + vector, error code in EXITINFO1, #PF address in EXITINFO2, CR2 unchanged', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_EXCEPTIONS, (1 << 3) | (1 << 6) | (1 << 13) | (1 << 14)
        VMCB_W VMCB_CR2, 0x1234
        VMCB_W VMCB_RIP, guest
        jmp exc_loop
${EXC_LOOP}
guest:
        mov ebp, g1
        ud2                             ; #UD
g1:     mov ebp, g2
        mov eax, [0x500000]             ; #PF: not present, read
g2:     mov ebp, g3
        mov dword [0x500004], 1         ; #PF: not present, write
g3:     mov ebp, g4
        mov ax, 0x1234
        mov ds, ax                      ; #GP(1234h): beyond the GDT limit
g4:     int3                            ; #BP: RIP the INT3, nRIP the next
        xor ecx, ecx
        div ecx                         ; #DE: not intercepted, delivered to the guest's handler (which halts)
`);
    const exits = exitRecords(r.values.slice(0, 25));
    expect(exits.map((e) => [e.code, e.info1, e.info2])).toEqual([
      [B.VMEXIT_EXCP_BASE + 6, 0, 0],
      [B.VMEXIT_EXCP_BASE + 14, 0, 0x500000],
      [B.VMEXIT_EXCP_BASE + 14, 2, 0x500004],
      [B.VMEXIT_EXCP_BASE + 13, 0x1234, 0],
      [B.VMEXIT_EXCP_BASE + 3, 0, 0],
    ]);
    expect(exits.slice(0, 4).map((e) => e.nrip)).toEqual([0, 0, 0, 0]);
    expect(exits[4].nrip).toBe(exits[4].rip + 1);
    // #DE reached the guest's handler (vector, no error code, EIP of the DIV, CS), whose HLT exits.
    expect(hex(r.values.slice(25, 29))).toEqual(hex([0, 0xffff_ffff, exits[4].nrip + 2, 8]));
    expect(r.values[29]).toBe(B.VMEXIT_HLT);
    expect(r.values[r.values.length - 1]).toBe(0x1234); // the guest's CR2 was never written
  });

  it('EXITINTINFO: an intercept during INT n names the INT n; during an injected event, the event', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_EXCEPTIONS, 1 << 11        ; #NP
        IDT_GATE 0x41, SEL_CODE0, guest, 0x0E           ; interrupt gates with P = 0
        IDT_GATE 0x42, SEL_CODE0, guest, 0x0E
        IDT_GATE 0x1F, SEL_CODE0, guest, 0x0E
        VMCB_W VMCB_RIP, guest
        SVM_RUN                                         ; INT 41h: its gate is not present
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINTINFO
        REPORT_VMCB VMCB_EXITINTINFO + 4
        mov eax, [VMCB + VMCB_RIP]
        sub eax, guest
        out 0xF0, eax                                   ; RIP - guest: the INT instruction's offset
        ; Injected INTR 42h, not present either: #NP with EXT set, EXITINTINFO = the injected event.
        VMCB_W VMCB_EVENTINJ, EVENT_VALID | (EVENT_TYPE_INTR << 8) | 0x42
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINTINFO
        REPORT_VMCB VMCB_EXITINTINFO + 4
        mov eax, [VMCB + VMCB_RIP]
        sub eax, guest
        out 0xF0, eax
        REPORT_VMCB VMCB_EVENTINJ                       ; valid bit cleared by #VMEXIT
        ; An injected exception with an error code (vector 1Fh, its gate not present): the code travels in EXITINTINFO.
        VMCB_W VMCB_EVENTINJ, EVENT_VALID | EVENT_EV | (EVENT_TYPE_EXCEPTION << 8) | 0x1F
        VMCB_W VMCB_EVENTINJ + 4, 0xBEEF
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINTINFO
        REPORT_VMCB VMCB_EXITINTINFO + 4
        PM_DONE
guest:
        nop
        int 0x41
        GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      B.VMEXIT_EXCP_BASE + 11, 0x41 * 8 + 2, B.EVENT_VALID | (B.EVENT_TYPE_SOFT_INT << 8) | 0x41, 0, 1,
      B.VMEXIT_EXCP_BASE + 11, 0x42 * 8 + 3, B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | 0x42, 0, 0,
      (B.EVENT_TYPE_INTR << 8) | 0x42,
      B.VMEXIT_EXCP_BASE + 11, 0x1f * 8 + 3, B.EVENT_VALID | B.EVENT_EV | (B.EVENT_TYPE_EXCEPTION << 8) | 0x1f, 0xbeef,
    ]));
  });

  it('EVENTINJ: exception with error code, NMI, INTR and INT n reach the guest IDT, even with the exception intercepted', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_EXCEPTIONS, 1 << 13        ; #GP intercepted: an injected #GP is not
        IDT_GATE 0x30, SEL_CODE0, handler30, 0x8E
        IDT_GATE 0x31, SEL_CODE0, handler31, 0x8E
%macro INJECT 2
        VMCB_W VMCB_EVENTINJ, %1
        VMCB_W VMCB_EVENTINJ + 4, %2
        VMCB_W VMCB_RIP, guest
        VMCB_W VMCB_RSP, GUEST_STACK_TOP
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
%endmacro
        INJECT EVENT_VALID | EVENT_EV | (EVENT_TYPE_EXCEPTION << 8) | 13, 0x5678
        INJECT EVENT_VALID | (EVENT_TYPE_NMI << 8) | 0x99, 0        ; NMI: the vector is 2 whatever is given
        INJECT EVENT_VALID | (EVENT_TYPE_INTR << 8) | 0x31, 0
        INJECT EVENT_VALID | (EVENT_TYPE_SOFT_INT << 8) | 0x30, 0
        PM_DONE
handler30:
        mov eax, 0x30
        out 0xF0, eax
        mov eax, [esp]                  ; the return address: RIP as given
        out 0xF0, eax
        GUEST_HLT
handler31:
        mov eax, 0x31
        out 0xF0, eax
        mov eax, [esp]
        out 0xF0, eax
        GUEST_HLT
guest:
        GUEST_HLT
`);
    const guest = r.values[2]; // the guest's RIP, as pushed by the first injection
    expect(hex(r.values)).toEqual(hex([
      13, 0x5678, guest, 8, B.VMEXIT_HLT,              // pmode.inc's default handler: vector, error code, EIP, CS
      2, 0xffff_ffff, guest, 8, B.VMEXIT_HLT,
      0x31, guest, B.VMEXIT_HLT,
      0x30, guest, B.VMEXIT_HLT,
    ]));
  });

  it('a guest triple fault is #VMEXIT(SHUTDOWN) when intercepted, a processor shutdown when not', () => {
    const body = (intercept: string) => `
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT ${intercept}
        VMCB_W VMCB_IDTR + 4, 0                         ; the guest's IDT is empty: any exception triple-faults
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINTINFO
        PM_DONE
guest:
        ud2
`;
    const intercepted = runSvm(body('| INTERCEPT_SHUTDOWN'));
    expect(hex(intercepted.values)).toEqual(hex([B.VMEXIT_SHUTDOWN, 0]));
    expect(intercepted.stop).toBe('halt');
    const bare = runSvm(body(''));
    expect(bare.values).toEqual([]);
    expect(bare.stop).toBe('shutdown');
  });
});
