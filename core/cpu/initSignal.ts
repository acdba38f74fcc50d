/**
 * The INIT signal: a processor-only reset that a chipset raises (a soft
 * reset through port 0xCF9) or an INIT IPI delivers. Where it is recognized
 * decides what it does:
 *
 * - VMX root operation: blocked, held until VMXOFF (SDM Vol. 3C 24.8).
 * - VMX non-root operation: a VM exit with basic reason 3 (INIT signal),
 *   qualification 0, and no other effect (SDM Vol. 3C 25.2); the signal is
 *   consumed by the exit.
 * - SVM: held while GIF = 0; in guest mode with the INIT intercept, a
 *   #VMEXIT INIT (0x63) that leaves it pending (the exit clears GIF, so the
 *   host decides when it is taken); with VM_CR.R_INIT set, redirected to a
 *   #SX exception (vector 30, error code 1) instead of the reset (APM Vol. 2
 *   15.27 and 15.29).
 * - Otherwise: the processor's INIT (processorInit): the RESET state
 *   except what INIT leaves alone.
 */
import type { Cpu } from './cpu.ts';
import { INT_EXCEPTION } from './interrupts.ts';
import * as B from './svm/vmcb.ts';
import { takeSvmExit } from './svm/vmexit.ts';
import { takeVmExit } from './vmx/exit.ts';
import * as F from './vmx/vmcsFields.ts';

const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
/** #SX, AMD's security exception: error code 1 says an INIT was redirected. */
const EXC_SX = 30;

/**
 * Acts on a pending INIT at an instruction boundary. Returns true when it
 * was taken (an exit, an exception, or the processor's INIT), false when
 * it stays blocked.
 */
export function recognizeInit(cpu: Cpu): boolean {
  const vmx = cpu.vmx;
  if (vmx.inVmxOperation) {
    if (!vmx.nonRoot) return false;
    cpu.initPending = false;
    takeVmExit(cpu, F.EXIT_REASON_INIT_SIGNAL, 0);
    return true;
  }
  const svm = cpu.svm;
  if (!svm.gif) return false;
  if (svm.guest && (svm.misc1 & B.INTERCEPT_INIT) !== 0) {
    takeSvmExit(cpu, B.VMEXIT_INIT); // the INIT stays pending; the #VMEXIT cleared GIF
    return true;
  }
  cpu.initPending = false;
  if ((svm.vmCr & B.VM_CR_R_INIT) !== 0 && !svm.guest) {
    cpu.halted = false;
    cpu.deliver(EXC_SX, INT_EXCEPTION, 1, true);
    return true;
  }
  processorInit(cpu);
  return true;
}

/**
 * The processor's state after INIT (SDM Vol. 3A Table 10-1, INIT column;
 * APM Vol. 2 Table 14-1): as after RESET, except that the x87, MMX and SSE
 * state, the TSC, CR0.CD/NW and the model-specific registers keep their
 * values (IA32_FEATURE_CONTROL and its lock, VM_CR, VM_HSAVE_PA). EFER is
 * cleared, as KVM's INIT does on both vendors.
 */
export function processorInit(cpu: Cpu): void {
  const cache = cpu.cr0 & (CR0_CD | CR0_NW);
  const fpu = cpu.fpu.saveState();
  const sse = cpu.sse.saveState();
  const tscOffset = cpu.tscOffset;
  const featureControl = cpu.vmx.featureControl;
  const { vmCr, hsavePa, hsavePaHigh } = cpu.svm;
  cpu.reset();
  cpu.cr0 = (cpu.cr0 & ~(CR0_CD | CR0_NW)) | cache;
  cpu.fpu.loadState(fpu);
  cpu.sse.loadState(sse);
  cpu.tscOffset = tscOffset;
  cpu.vmx.featureControl = featureControl;
  cpu.svm.vmCr = vmCr;
  cpu.svm.hsavePa = hsavePa;
  cpu.svm.hsavePaHigh = hsavePaHigh;
}
