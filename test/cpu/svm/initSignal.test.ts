/**
 * The INIT signal and SVM (APM Vol. 2 15.13 and 15.17, the INIT intercept and
 * GIF): in guest mode with the INIT intercept, INIT causes #VMEXIT INIT
 * (0x63) at the instruction boundary where it is recognized, and stays
 * pending; the #VMEXIT cleared GIF, which holds it until the host's STGI,
 * where it is taken as the processor's INIT: the processor restarts at the
 * reset vector, RAM unchanged, so the ROM's second pass finds its marker.
 *
 * The INIT comes from a soft reset through the PIIX3 reset control register
 * (port 0xCF9, bit 1 clear), as on the PC board (core/machine/chipset.ts).
 */
import { describe, expect, it } from 'vitest';
import { softResetPort } from '../harness.ts';
import { runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';


describe('INIT and SVM', () => {
  it('exits with #VMEXIT INIT under the intercept, is held while GIF = 0, and is the processor INIT at STGI', () => {
    const r = runSvm(`
svm_main:
        cmp dword [PM_SCRATCH], 0x1d1d1d1d
        je .warm
        mov dword [PM_SCRATCH], 0x1d1d1d1d
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_INIT
        VMCB_W VMCB_RIP, g_init
        SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        mov eax, [VMCB + VMCB_RIP]
        sub eax, g_init
        out 0xF0, eax           ; the boundary after the OUT (MOV DX 4 bytes, MOV AL 2, OUT 1)
        mov eax, 0x600d         ; GIF = 0 after the #VMEXIT: the INIT is held
        out 0xF0, eax
        stgi
        mov eax, 0xbad
        out 0xF0, eax
        PM_DONE
.warm:  mov eax, 0x3a3a
        out 0xF0, eax
        PM_DONE
g_init: mov dx, 0xcf9
        mov al, 4
        out dx, al
        GUEST_HLT
`, { setup: softResetPort });
    expect(r.values.map((v) => v.toString(16))).toEqual([B.VMEXIT_INIT, 7, 0x600d, 0x3a3a].map((v) => v.toString(16)));
  });
});
