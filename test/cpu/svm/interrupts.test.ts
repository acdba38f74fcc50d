/**
 * Interrupts around SVM (AMD64 APM Vol. 2 §15.17, §15.21): GIF (cleared by
 * #VMEXIT and CLGI, set by STGI and VMRUN) holds INTR and NMI; the INTR
 * intercept exits without acknowledging the interrupt, and under
 * V_INTR_MASKING the host's IF (not the guest's) decides; without the
 * intercept the guest takes it through its IDT; the NMI intercept; virtual
 * interrupts (V_IRQ with V_INTR_PRIO against V_TPR, V_IGN_TPR,
 * V_INTR_VECTOR) exit with VINTR when intercepted and are delivered through
 * the guest IDT otherwise, V_IRQ written back at #VMEXIT.
 *
 * The test board's interrupt line: a write to port F8h makes that vector
 * pending (acknowledged once), a write to port F9h raises NMI.
 */
import { describe, expect, it } from 'vitest';
import { hex, runSvm } from './svmRun.ts';
import type { RomRunOptions } from '../harness.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

function board(): RomRunOptions {
  return {
    setup(bus, cpu) {
      let pending = -1;
      cpu.interruptController = {
        hasInterrupt: () => pending >= 0,
        acknowledge: () => { const v = pending; pending = -1; return v; },
      };
      bus.addPorts(0xf8, 2, {
        portRead: () => 0,
        portWrite: (port: number, _s: unknown, v: number) => {
          if (port === 0xf8) pending = v & 0xff;
          else cpu.nmiPending = true;
        },
      }, 'test interrupt line', [1]);
    },
  };
}

/** Handlers for vectors 50h-52h (host or guest: they report the vector and, for the guest, halt). */
const HANDLERS = `
%macro MARK 1
        mov eax, %1
        out 0xF0, eax
%endmacro
host_handler50:
        push eax
        MARK 0x50
        pop eax
        iretd
guest_handler51:
        MARK 0x51
        GUEST_HLT
guest_handler52:
        MARK 0x52
        GUEST_HLT
install_handlers:
        IDT_GATE 0x50, SEL_FLAT32, CODE_BASE + host_handler50, 0x8E
        IDT_GATE 0x51, SEL_CODE0, guest_handler51, 0x8E
        IDT_GATE 0x52, SEL_CODE0, guest_handler52, 0x8E
        ret
`;

describe('SVM: GIF, INTR, NMI and virtual interrupts', () => {
  it('INTR intercept under V_INTR_MASKING exits whatever the guest IF; GIF = 0 holds it in the host until STGI', () => {
    const r = runSvm(`${HANDLERS}
svm_main:
        call install_handlers
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_INTR
        VMCB_W VMCB_VINTR, V_INTR_MASKING
        VMCB_W VMCB_RIP, guest
        sti
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, [VMCB + VMCB_RIP]
        sub eax, guest
        out 0xF0, eax                   ; where the guest stopped
        MARK 0x11                       ; IF = 1 but GIF = 0: the interrupt waits
        stgi
        nop                             ; taken here
        MARK 0x22
        ; CLGI holds it too.
        clgi
        mov al, 0x50
        out 0xF8, al
        nop
        MARK 0x33
        stgi
        nop
        MARK 0x44
        PM_DONE
guest:
        cli
        mov al, 0x50
        out 0xF8, al                    ; the interrupt becomes pending
        nop
        GUEST_HLT
`, board());
    expect(hex(r.values)).toEqual(hex([B.VMEXIT_INTR, 5, 0x11, 0x50, 0x22, 0x33, 0x50, 0x44]));
  });

  it('without the INTR intercept the guest takes the interrupt through its IDT when its IF allows', () => {
    const r = runSvm(`${HANDLERS}
svm_main:
        call install_handlers
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        PM_DONE
guest:
        cli
        mov al, 0x51
        out 0xF8, al
        MARK 0x10                       ; IF = 0: not yet
        sti
        nop
        MARK 0x20                       ; not reached: the handler halts
        GUEST_HLT
`, board());
    expect(hex(r.values)).toEqual(hex([0x10, 0x51, B.VMEXIT_HLT]));
  });

  it('NMI: intercepted and held by GIF = 0 until STGI; delivered to the guest when not intercepted', () => {
    const intercepted = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_NMI
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, 0x11
        out 0xF0, eax
        mov dword [PM_RESUME], after_nmi
        stgi
        nop                             ; the NMI reaches the host's vector 2 here
after_nmi:
        mov eax, 0x22
        out 0xF0, eax
        PM_DONE
guest:
        out 0xF9, al
        nop
        GUEST_HLT
`, board());
    const v = intercepted.values;
    expect(hex([v[0], v[1], v[2], v[3], v[6]])).toEqual(hex([B.VMEXIT_NMI, 0x11, 2, 0xffff_ffff, 0x22]));
    const delivered = runSvm(`
svm_main:
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        PM_DONE
guest:
        out 0xF9, al
        nop
        GUEST_HLT
`, board());
    // pmode.inc's vector-2 stub in the guest reports (2, -1, EIP, CS) and halts: the HLT intercept.
    expect(hex([delivered.values[0], delivered.values[1], delivered.values[4]])).toEqual(hex([2, 0xffff_ffff, B.VMEXIT_HLT]));
  });

  it('V_IRQ: VINTR exit when the guest opens IF (V_IRQ stays set); then delivered at V_INTR_VECTOR and cleared', () => {
    const r = runSvm(`${HANDLERS}
svm_main:
        call install_handlers
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_VINTR
        VMCB_W VMCB_VINTR, V_IRQ | (4 << V_INTR_PRIO_SHIFT) | V_INTR_MASKING
        VMCB_W VMCB_VINTR_VECTOR, 0x52
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, [VMCB + VMCB_RIP]
        sub eax, guest
        out 0xF0, eax
        REPORT_VMCB VMCB_VINTR
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT
        SVM_RUN                         ; continues: the virtual interrupt is delivered
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_VINTR
        PM_DONE
guest:
        cli
        nop
        sti
        nop                             ; the interrupt window opens after this one (STI shadow)
        nop
        GUEST_HLT
`, board());
    expect(hex(r.values)).toEqual(hex([
      B.VMEXIT_VINTR, 4, B.V_IRQ | (4 << B.V_INTR_PRIO_SHIFT) | B.V_INTR_MASKING,
      0x52, B.VMEXIT_HLT, (4 << B.V_INTR_PRIO_SHIFT) | B.V_INTR_MASKING,
    ]));
  });

  it('V_INTR_PRIO not above V_TPR holds the virtual interrupt; V_IGN_TPR lets it in', () => {
    const r = runSvm(`${HANDLERS}
svm_main:
        call install_handlers
        VMCB_W VMCB_VINTR, V_IRQ | (2 << V_INTR_PRIO_SHIFT) | 3
        VMCB_W VMCB_VINTR_VECTOR, 0x52
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_VINTR
        VMCB_W VMCB_VINTR, V_IRQ | (2 << V_INTR_PRIO_SHIFT) | 3 | V_IGN_TPR
        VMCB_W VMCB_RIP, guest
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        PM_DONE
guest:
        sti
        nop
        nop
        GUEST_HLT
`, board());
    expect(hex(r.values)).toEqual(hex([
      B.VMEXIT_HLT, B.V_IRQ | (2 << B.V_INTR_PRIO_SHIFT) | 3,
      0x52, B.VMEXIT_HLT,
    ]));
  });
});
