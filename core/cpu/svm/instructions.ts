/**
 * The SVM instructions (APM Vol. 3), group 7 with mod = 3 and reg = 3:
 *   0F 01 D8 VMRUN, D9 VMMCALL, DA VMLOAD, DB VMSAVE, DC STGI, DD CLGI,
 *   DE SKINIT, DF INVLPGA.
 * Order of checks (as the APM's exception lists and Bochs): #UD without
 * EFER.SVME, #GP(0) at CPL > 0, then the intercept in guest mode, then the
 * operand (rAX: a 4 KiB aligned physical address, else #GP(0)). On the
 * Intel part EFER does not exist, SVME is never set, and all of them #UD.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { EAX, ECX, FS, GS, IF, LDTR, TR } from '../regs.ts';
import * as B from './vmcb.ts';
import { raiseSvmExit, readSegment, rd32, wr32, writeSegment } from './vmexit.ts';
import { vmrun } from './vmrun.ts';
import { refreshGuestInterruptPolling } from './guestOps.ts';

function checks(cpu: Cpu, interceptBit: number, exitCode: number): void {
  const svm = cpu.svm;
  if ((svm.efer & B.EFER_SVME) === 0) cpu.raiseUD();
  if (cpu.cpl !== 0) cpu.raiseGP(0);
  if (svm.guest && (svm.misc2 & interceptBit) !== 0) raiseSvmExit(cpu, exitCode);
}

/** rAX as a VMCB address: the instruction's address size, 4 KiB aligned (#GP(0) otherwise). */
function vmcbOperand(cpu: Cpu, i: Insn): number {
  const pa = i.a32 ? cpu.regs[EAX] >>> 0 : cpu.regs[EAX] & 0xffff;
  if ((pa & 0xfff) !== 0) cpu.raiseGP(0);
  return pa;
}

/** VMLOAD: FS, GS, TR, LDTR with their hidden state, and the syscall/sysenter MSR images. */
export function vmloadFrom(cpu: Cpu, pa: number): void {
  readSegment(cpu, pa, B.VMCB_FS, FS);
  readSegment(cpu, pa, B.VMCB_GS, GS);
  readSegment(cpu, pa, B.VMCB_TR, TR);
  readSegment(cpu, pa, B.VMCB_LDTR, LDTR);
  for (let k = 0; k < 16; k++) cpu.svm.hiddenMsrs[k] = rd32(cpu, pa, B.VMCB_STAR + 4 * k);
}

/** VMSAVE: the same state into the VMCB at `pa`. */
export function vmsaveTo(cpu: Cpu, pa: number): void {
  writeSegment(cpu, pa, B.VMCB_FS, FS);
  writeSegment(cpu, pa, B.VMCB_GS, GS);
  writeSegment(cpu, pa, B.VMCB_TR, TR);
  writeSegment(cpu, pa, B.VMCB_LDTR, LDTR);
  for (let k = 0; k < 16; k++) wr32(cpu, pa, B.VMCB_STAR + 4 * k, cpu.svm.hiddenMsrs[k]);
}

/** GIF: while 0, INTR and NMI are held (the run loop does not look for INTR; NMIs wait in attend). */
export function setGif(cpu: Cpu, gif: boolean): void {
  const svm = cpu.svm;
  svm.gif = gif;
  if (svm.guest) refreshGuestInterruptPolling(cpu);
  else cpu.intrMask = gif ? IF : 0;
  cpu.exitBlock = true;
}

const vmrunOp: Exec = (cpu, i) => {
  checks(cpu, B.INTERCEPT_VMRUN, B.VMEXIT_VMRUN);
  const pa = vmcbOperand(cpu, i);
  cpu.svm.embedderHost = false; // x86 code in host mode: #VMEXIT continues after this instruction
  vmrun(cpu, pa);
};
const vmmcall: Exec = (cpu) => {
  const svm = cpu.svm;
  if ((svm.efer & B.EFER_SVME) !== 0 && svm.guest && (svm.misc2 & B.INTERCEPT_VMMCALL) !== 0) raiseSvmExit(cpu, B.VMEXIT_VMMCALL);
  cpu.raiseUD();
};
const vmload: Exec = (cpu, i) => {
  checks(cpu, B.INTERCEPT_VMLOAD, B.VMEXIT_VMLOAD);
  vmloadFrom(cpu, vmcbOperand(cpu, i));
};
const vmsave: Exec = (cpu, i) => {
  checks(cpu, B.INTERCEPT_VMSAVE, B.VMEXIT_VMSAVE);
  vmsaveTo(cpu, vmcbOperand(cpu, i));
};
const stgi: Exec = (cpu) => {
  checks(cpu, B.INTERCEPT_STGI, B.VMEXIT_STGI);
  setGif(cpu, true);
};
const clgi: Exec = (cpu) => {
  checks(cpu, B.INTERCEPT_CLGI, B.VMEXIT_CLGI);
  setGif(cpu, false);
};
/** SKINIT is not advertised (CPUID 8000_0001h ECX.SKINIT = 0): #UD. */
const skinit: Exec = (cpu) => cpu.raiseUD();
const invlpga: Exec = (cpu, i) => {
  const svm = cpu.svm;
  if ((svm.efer & B.EFER_SVME) === 0) cpu.raiseUD();
  if (cpu.cpl !== 0) cpu.raiseGP(0);
  // EXITINFO1 would hold the address only with decode assists (not advertised).
  if (svm.guest && (svm.misc1 & B.INTERCEPT_INVLPGA) !== 0) raiseSvmExit(cpu, B.VMEXIT_INVLPGA);
  const lin = i.a32 ? cpu.regs[EAX] : cpu.regs[EAX] & 0xffff;
  void cpu.regs[ECX]; // the ASID: one untagged TLB holds only the current context's entries, so the page is dropped whatever it is
  cpu.invalidatePage(lin);
};

const SVM_OPS = [vmrunOp, vmmcall, vmload, vmsave, stgi, clgi, skinit, invlpga];

/** Group 7 with mod = 3 and reg = 3 (0F 01 D8-DF). */
export function svmGroup7(i: Insn): Exec {
  i.endsBlock = true;
  return SVM_OPS[i.rm];
}
