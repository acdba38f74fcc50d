/**
 * The MSRs SVM adds to the AMD part (APM Vol. 2 §15.30): EFER with SVME
 * (the only EFER bit a 32-bit part without SYSCALL or NX has), VM_CR and
 * VM_HSAVE_PA. system.ts calls these for MSRs it does not know itself.
 */
import type { Cpu } from '../cpu.ts';
import { EAX, ECX, EDX } from '../regs.ts';
import {
  EFER_SVME, MSR_EFER, MSR_VM_CR, MSR_VM_HSAVE_PA, VM_CR_DIS_A20M, VM_CR_DPD, VM_CR_LOCK, VM_CR_R_INIT, VM_CR_SVMDIS,
} from './vmcb.ts';

const VM_CR_BITS = VM_CR_DPD | VM_CR_R_INIT | VM_CR_DIS_A20M | VM_CR_LOCK | VM_CR_SVMDIS;

/** RDMSR of an SVM MSR into EDX:EAX; false if ECX names none. */
export function rdmsrSvm(cpu: Cpu): boolean {
  const svm = cpu.svm;
  let lo: number, hi = 0;
  switch (cpu.regs[ECX] >>> 0) {
    case MSR_EFER: lo = svm.efer; break;
    case MSR_VM_CR: lo = svm.vmCr; break;
    case MSR_VM_HSAVE_PA: lo = svm.hsavePa; hi = svm.hsavePaHigh; break;
    default: return false;
  }
  cpu.regs[EAX] = lo;
  cpu.regs[EDX] = hi;
  return true;
}

/** WRMSR of an SVM MSR; false if ECX names none. Reserved bits and forbidden values #GP. */
export function wrmsrSvm(cpu: Cpu): boolean {
  const svm = cpu.svm;
  const lo = cpu.regs[EAX], hi = cpu.regs[EDX];
  switch (cpu.regs[ECX] >>> 0) {
    case MSR_EFER:
      // VM_CR.SVMDIS makes SVME must-be-zero.
      if (hi !== 0 || (lo & ~EFER_SVME) !== 0) cpu.raiseGP(0);
      if ((lo & EFER_SVME) !== 0 && (svm.vmCr & VM_CR_SVMDIS) !== 0) cpu.raiseGP(0);
      svm.efer = lo;
      return true;
    case MSR_VM_CR: {
      if (hi !== 0 || (lo & ~VM_CR_BITS) !== 0) cpu.raiseGP(0);
      // Setting SVMDIS while EFER.SVME is 1 is #GP whatever LOCK says.
      if ((lo & VM_CR_SVMDIS) !== 0 && (svm.efer & EFER_SVME) !== 0) cpu.raiseGP(0);
      // With LOCK set, writes to LOCK and SVMDIS are ignored (no SVM_KEY: SVML is not advertised).
      const kept = (svm.vmCr & VM_CR_LOCK) !== 0 ? svm.vmCr & (VM_CR_LOCK | VM_CR_SVMDIS) : 0;
      svm.vmCr = (svm.vmCr & VM_CR_LOCK) !== 0 ? (lo & ~(VM_CR_LOCK | VM_CR_SVMDIS)) | kept : lo;
      return true;
    }
    case MSR_VM_HSAVE_PA:
      // 4 KiB aligned and within the 32-bit physical address space.
      if ((lo & 0xfff) !== 0 || hi !== 0) cpu.raiseGP(0);
      svm.hsavePa = lo;
      svm.hsavePaHigh = hi;
      return true;
    default:
      return false;
  }
}
