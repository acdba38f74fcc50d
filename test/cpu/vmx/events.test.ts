/**
 * Events and VMX (SDM Vol. 3C §25.2, §26.6, §27.2.2-27.2.4): the exception
 * bitmap and the #PF error-code mask/match, exit interruption information,
 * event injection on VM entry, IDT-vectoring information when delivery
 * itself exits, triple fault, external interrupts (acknowledge on exit),
 * interrupt window, NMI exiting and the VMX-preemption timer.
 *
 * Oracle: Bochs 2.7 (corei7_sandy_bridge_2600k, bochsCheck.ts) reports the
 * same values for the IDT-vectoring and triple-fault ROMs, and for the
 * exception-bitmap and virtual-NMI ROMs up to the EIP the guest's handler
 * reports (its rom.inc moves the code; that handler's HLT ends Bochs). The interrupt, NMI and timer ROMs need the
 * harness's interrupt controller and NMI line, which Bochs has not.
 */
import { describe, expect, it } from 'vitest';
import { runVmx, hex } from './vmxRun.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';

const VALID = 0x8000_0000;
const HW = 3 << 8, SW_EXC = 6 << 8, NMI = 2 << 8, CODE = 1 << 11;

/** Host code that reports each exit's reason, qualification, interruption info and error code, IDT-vectoring info and error code. */
const EVENT_EXIT_REPORT = `
%macro REPORT_EVENT_EXIT 0
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
        REPORT_FIELD VM_EXIT_INTR_INFO
        REPORT_FIELD VM_EXIT_INTR_ERROR_CODE
        REPORT_FIELD IDT_VECTORING_INFO_FIELD
        REPORT_FIELD IDT_VECTORING_ERROR_CODE
%endmacro
`;

describe('VMX events', () => {
  it('exception bitmap: #UD, INT3 (fault-like, with its length), #PF with mask/match; CR2 untouched by a #PF exit', () => {
    const r = runVmx(`${EVENT_EXIT_REPORT}
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW EXCEPTION_BITMAP, (1 << 6) | (1 << 3) | (1 << 14)
        VMW PAGE_FAULT_ERROR_CODE_MASK, 0
        VMW PAGE_FAULT_ERROR_CODE_MATCH, 0
        VMW GUEST_RIP, g_ud
        VMLAUNCH_TO .ud
        PM_DONE
.ud:    REPORT_EVENT_EXIT
        VMW GUEST_RIP, g_int3
        VMRESUME_TO .int3
.int3:  REPORT_EVENT_EXIT
        REPORT_FIELD VM_EXIT_INSTRUCTION_LEN
        VMR GUEST_RIP
        sub eax, g_int3
        out 0xF0, eax           ; RIP names the INT3 itself
        VMW GUEST_RIP, g_pf
        VMRESUME_TO .pf
.pf:    REPORT_EVENT_EXIT
        ; (error code & 1) != 1: with bit 14 set, a not-present #PF no longer exits and reaches the guest's IDT
        VMW PAGE_FAULT_ERROR_CODE_MASK, 1
        VMW PAGE_FAULT_ERROR_CODE_MATCH, 1
        VMW GUEST_RIP, g_pf2
        VMRESUME_TO .end
.end:   REPORT_FIELD VM_EXIT_REASON
        PM_DONE
g_ud:   ud2
g_int3: int3
g_pf:   mov eax, 0x1111
        mov cr2, eax
        mov eax, [0x800000]     ; beyond the 4 MiB identity map: not present, read, CPL 0 (error code 0)
g_pf2:  mov eax, cr2
        out 0xF0, eax           ; still the guest's value
        mov eax, [0x800000]     ; delivered through the guest IDT: pmode.inc's handler reports, then HLT exits
`);
    expect(hex(r.values.slice(0, 21))).toEqual(hex([
      F.EXIT_REASON_EXCEPTION_NMI, 0, VALID | HW | 6, 0, 0, 0,
      F.EXIT_REASON_EXCEPTION_NMI, 0, VALID | SW_EXC | 3, 0, 0, 0, 1, 0,
      F.EXIT_REASON_EXCEPTION_NMI, 0x800000, VALID | HW | CODE | 14, 0, 0, 0,
      0x1111,
    ]));
    // The guest's own #PF handler: vector, error code, EIP, CS; then its HLT exits.
    expect(hex([r.values[21], r.values[22], r.values[24], r.values[25]])).toEqual(hex([14, 0, 0x08, F.EXIT_REASON_HLT]));
  });

  it('injection on entry: a hardware exception with error code, a software exception pushing RIP + length', () => {
    const r = runVmx(`
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW GUEST_RIP, guest
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (INTR_TYPE_HARD_EXCEPTION << 8) | INTR_INFO_DELIVER_CODE | 13
        VMW VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1234
        VMLAUNCH_TO .first
        PM_DONE
.first: REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VM_ENTRY_INTR_INFO_FIELD   ; the valid bit is cleared by the exit
        VMW GUEST_RIP, guest
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (INTR_TYPE_SOFT_EXCEPTION << 8) | 3
        VMW VM_ENTRY_INSTRUCTION_LEN, 1
        VMRESUME_TO .second
.second:
        REPORT_FIELD VM_EXIT_REASON
        PM_DONE
guest:  GUEST_HLT
`);
    const guest = r.values[2]; // EIP pushed for #GP: the guest RIP itself
    expect(hex(r.values)).toEqual(hex([
      13, 0x1234, guest, 0x08, // #GP reported by the guest's handler (vector, error code, EIP, CS)
      F.EXIT_REASON_HLT, 0x0000_0b0d, // then HLT exits; the exit cleared the valid bit of the injected event
      3, 0xffffffff, guest + 1, 0x08, // INT3 injected with length 1: the handler sees RIP + 1
      F.EXIT_REASON_HLT,
    ]));
  });

  it('IDT-vectoring: an injected external interrupt whose IDT entry is no gate exits on #GP(vector*8+2+EXT) with the interrupt as vectoring info', () => {
    const r = runVmx(`
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW EXCEPTION_BITMAP, 1 << 13
        VMW GUEST_RIP, guest
        VMW GUEST_RFLAGS, 0x202
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (INTR_TYPE_EXT_INTR << 8) | 0x40
        VMLAUNCH_TO .exit
        PM_DONE
.exit:  REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VM_EXIT_INTR_INFO
        REPORT_FIELD VM_EXIT_INTR_ERROR_CODE
        REPORT_FIELD IDT_VECTORING_INFO_FIELD
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax
        PM_DONE
guest:  GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      F.EXIT_REASON_EXCEPTION_NMI, VALID | HW | CODE | 13, 0x40 * 8 + 2 + 1, VALID | 0x40, 0,
    ]));
  });

  it('a triple fault in the guest is a VM exit, not a shutdown', () => {
    const r = runVmx(`
vmx_main:
        VMW GUEST_IDTR_LIMIT, 0
        VMW GUEST_RIP, guest
        VMLAUNCH_TO .exit
        PM_DONE
.exit:  REPORT_FIELD VM_EXIT_REASON
        PM_DONE
guest:  ud2
`);
    expect(r.stop).toBe('halt');
    expect(hex(r.values)).toEqual(hex([F.EXIT_REASON_TRIPLE_FAULT]));
  });

  it('external interrupts exit whatever the guest IF, acknowledged on exit or left pending; interrupt window; injection of the interrupt', () => {
    let pending = 2;
    let acks = 0;
    const r = runVmx(`
vmx_main:
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_EXT_INTR_MASK
        SET_CONTROLS VM_EXIT_CONTROLS, 0x48f, VM_EXIT_ACK_INTR_ON_EXIT
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW GUEST_RIP, guest
        VMLAUNCH_TO .first
        PM_DONE
.first: REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VM_EXIT_INTR_INFO
        ; without acknowledge-on-exit the interrupt stays with the controller
        SET_CONTROLS VM_EXIT_CONTROLS, 0x48f, 0
        VMRESUME_TO .second
.second:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VM_EXIT_INTR_INFO
        ; interrupt-window exiting instead: the guest runs CLI, NOP, STI, NOP and exits after the NOP that STI shadows
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, 0
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_VIRTUAL_INTR_PENDING
        VMRESUME_TO .window
.window:
        REPORT_FIELD VM_EXIT_REASON
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax
        ; inject the interrupt (vector 16, whose pmode.inc stub expects no error code)
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (INTR_TYPE_EXT_INTR << 8) | 16
        VMRESUME_TO .end
.end:   REPORT_FIELD VM_EXIT_REASON
        PM_DONE
guest:  cli
        nop
        sti
        nop
        nop
        GUEST_HLT
`, {
      setup(_bus, cpu) {
        cpu.interruptController = {
          hasInterrupt: () => pending > 0,
          acknowledge: () => { acks++; pending--; return 0x31; },
        };
      },
    });
    expect(acks).toBe(1);
    expect(pending).toBe(1);
    expect(hex(r.values.slice(0, 6))).toEqual(hex([
      F.EXIT_REASON_EXTERNAL_INTERRUPT, VALID | 0x31,
      F.EXIT_REASON_EXTERNAL_INTERRUPT, 0,
      F.EXIT_REASON_INTERRUPT_WINDOW, 4, // CLI, NOP, STI, NOP: RIP after the shadowed NOP
    ]));
    // The injected interrupt reaches the guest's handler for vector 16 (vector, no error code, EIP, CS), then HLT exits.
    expect(hex([r.values[6], r.values[7], r.values[8], r.values[9], r.values[10]])).toEqual(hex([16, 0xffffffff, r.values[8], 0x08, F.EXIT_REASON_HLT]));
  });

  it('NMI exiting, and the VMX-preemption timer (zero exits before the first instruction; saved on exit)', () => {
    const r = runVmx(`
vmx_main:
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_NMI_EXITING
        VMW GUEST_RIP, guest
        VMLAUNCH_TO .nmi
        PM_DONE
.nmi:   REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VM_EXIT_INTR_INFO
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_VMX_PREEMPTION_TIMER
        SET_CONTROLS VM_EXIT_CONTROLS, 0x48f, VM_EXIT_SAVE_VMX_PREEMPTION_TIMER
        VMW VMX_PREEMPTION_TIMER_VALUE, 0
        VMRESUME_TO .zero
.zero:  REPORT_FIELD VM_EXIT_REASON
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax
        VMW VMX_PREEMPTION_TIMER_VALUE, 50
        VMRESUME_TO .later
.later: REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD VMX_PREEMPTION_TIMER_VALUE
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax
        PM_DONE
guest:  jmp guest
`, {
      setup(_bus, cpu) {
        cpu.nmiBlocked = true; // the host runs with NMIs blocked; the guest's interruptibility state unblocks them
        cpu.nmiPending = true;
      },
    });
    expect(hex(r.values)).toEqual(hex([
      F.EXIT_REASON_EXCEPTION_NMI, VALID | NMI | 2,
      F.EXIT_REASON_PREEMPTION_TIMER, 0,
      F.EXIT_REASON_PREEMPTION_TIMER, 0, 0,
    ]));
  });

  it('virtual NMIs: NMI-window exiting once IRET ends the virtual-NMI blocking; an injected NMI blocks again', () => {
    const r = runVmx(`
vmx_main:
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, PIN_BASED_NMI_EXITING | PIN_BASED_VIRTUAL_NMIS
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_VIRTUAL_NMI_PENDING
        VMW GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI
        VMW GUEST_RIP, guest
        VMLAUNCH_TO .window
        PM_DONE
.window:
        REPORT_FIELD VM_EXIT_REASON
        VMR GUEST_RIP
        sub eax, guest
        out 0xF0, eax           ; right after the IRET
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | 2
        VMRESUME_TO .halted
.halted:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD GUEST_INTERRUPTIBILITY_INFO
        PM_DONE
guest:  pushfd
        push dword SEL_CODE0
        push dword .back
        iretd
.back:  nop
        GUEST_HLT
`);
    // NMI-window exit at RIP = .back (guest + 8: PUSHFD 1, PUSH imm8 2, PUSH imm32 5... the ROM computes it);
    // the injected NMI runs the guest's vector-2 handler (reports 2, no error code, EIP, CS) whose HLT exits
    // with virtual-NMI blocking still set (no IRET).
    expect(hex([r.values[0]])).toEqual(hex([F.EXIT_REASON_NMI_WINDOW]));
    expect(r.values[1]).toBe(1 + 2 + 5 + 1); // PUSHFD, PUSH imm8, PUSH imm32, IRETD
    expect(hex([r.values[2], r.values[3], r.values[5], r.values[6], r.values[7]])).toEqual(hex([
      2, 0xffffffff, 0x08, F.EXIT_REASON_HLT, F.GUEST_INTR_STATE_NMI,
    ]));
  });
});
