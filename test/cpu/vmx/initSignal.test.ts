/**
 * The INIT signal and VMX (SDM Vol. 3C 24.8, 25.2; Vol. 3A Table 10-1): in
 * VMX non-root operation INIT causes a VM exit with basic reason 3 and
 * qualification 0, with the guest's RIP after the instruction that raised it;
 * in VMX root operation it is blocked and held, and taken at the boundary
 * after VMXOFF as the processor's INIT: the processor restarts at the reset
 * vector with its MSRs unchanged, so the ROM's second pass finds
 * IA32_FEATURE_CONTROL still locked and its WRMSR faults (#GP).
 *
 * The INIT comes from a soft reset through the PIIX3 reset control register
 * (port 0xCF9, bit 1 clear), as on the PC board (core/machine/chipset.ts).
 */
import { describe, expect, it } from 'vitest';
import { softResetPort } from '../harness.ts';
import { hex, runVmx } from './vmxRun.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';


describe('INIT and VMX', () => {
  it('exits with reason 3 in non-root operation, is held in root operation, and is the processor INIT after VMXOFF', () => {
    const r = runVmx(`
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        VMW GUEST_RIP, g_init
        VMLAUNCH_TO .exit
        PM_DONE
.exit:  REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
        VMR GUEST_RIP
        sub eax, g_init
        out 0xF0, eax           ; RIP after the OUT (MOV DX 4 bytes, MOV AL 2, OUT 1)
        mov dx, 0xcf9
        mov al, 4
        out dx, al              ; INIT in root operation: blocked
        mov eax, 0x600d
        out 0xF0, eax
        vmxoff                  ; the held INIT is taken at the next boundary
        mov eax, 0xbad
        out 0xF0, eax
        PM_DONE
g_init: mov dx, 0xcf9
        mov al, 4
        out dx, al
        GUEST_HLT
`, { setup: softResetPort });
    const [reason, qualification, rip, marker, vector, errorCode, , cs] = r.values;
    expect(hex([reason, qualification, rip, marker])).toEqual(hex([F.EXIT_REASON_INIT_SIGNAL, 0, 7, 0x600d]));
    // The second pass after INIT: the WRMSR of the still-locked IA32_FEATURE_CONTROL faults.
    expect([vector, errorCode, cs]).toEqual([13, 0, 0x48]);
    expect(r.values).toHaveLength(8);
  });
});
