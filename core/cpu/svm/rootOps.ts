/**
 * The SVM instructions as host-mode software performs them, for a
 * TypeScript caller playing the part of the code in SVM host mode (the
 * hypervisor in core/hypervisor). Each is the same operation as the x86
 * instruction (instructions.ts, vmrun.ts) with its architectural checks:
 * the caller sets EFER.SVME (enableSvm) and runs at CPL 0.
 *
 * Where the instruction would raise an exception (#UD, #GP), the call
 * throws an SvmInstructionFault naming the vector. rAX operands are passed
 * as values.
 *
 * VMRUN through these functions marks the SVM state `embedderHost`: a
 * #VMEXIT then completes (guest state saved into the VMCB, host state
 * reloaded, GIF cleared) and makes `cpu.run()` return STOP_VMEXIT (the stop
 * code VMX uses too). The host reads EXITCODE/EXITINFO1/EXITINFO2/
 * EXITINTINFO/nRIP from the VMCB in memory (readExit).
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import { EFER_SVME, MSR_EFER, VMCB_EXITCODE, VMCB_EXITINFO1, VMCB_EXITINFO2, VMCB_EXITINTINFO, VMCB_NRIP } from './vmcb.ts';
import { rd32 } from './vmexit.ts';
import { vmrun as performVmrun } from './vmrun.ts';
import { setGif, vmloadFrom, vmsaveTo } from './instructions.ts';
import { wrmsrSvm } from './msrs.ts';
import { EAX, ECX, EDX } from '../regs.ts';

/** An exception the instruction would have raised in the caller's (host-mode) context. */
export class SvmInstructionFault extends Error {
  constructor(readonly instruction: string, readonly vector: number, readonly errorCode: number) {
    super(`${instruction} raised exception ${vector}${vector === 13 ? `(${errorCode})` : ''}`);
  }
}

function perform<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    throw new SvmInstructionFault(name, CPU_FAULT.vector, CPU_FAULT.errorCode);
  }
}

function hostChecks(cpu: Cpu, name: string, pa?: number): void {
  if (cpu.svm.guest) throw new Error(`${name} called while the processor is in SVM guest mode`);
  if ((cpu.svm.efer & EFER_SVME) === 0) cpu.raiseUD();
  if (cpu.cpl !== 0) cpu.raiseGP(0);
  if (pa !== undefined && ((pa & 0xfff) !== 0 || pa < 0 || pa > 0xffff_ffff)) cpu.raiseGP(0);
}

/** WRMSR EFER with SVME set (#GP under VM_CR.SVMDIS; #GP on the Intel part, which has no EFER). */
export function enableSvm(cpu: Cpu): void {
  perform('WRMSR EFER', () => {
    const r = cpu.regs;
    const saved = [r[EAX], r[ECX], r[EDX]];
    r[ECX] = MSR_EFER;
    r[EAX] = cpu.svm.efer | EFER_SVME;
    r[EDX] = 0;
    try {
      if (cpu.model.extension !== 'svm' || !wrmsrSvm(cpu)) cpu.raiseGP(0);
    } finally {
      r[EAX] = saved[0]; r[ECX] = saved[1]; r[EDX] = saved[2];
    }
  });
}

/**
 * VMRUN with the VMCB at `vmcbPa`. True: the guest is loaded (an EVENTINJ
 * event already delivered); call `cpu.run()` until it returns STOP_VMEXIT.
 * False: the consistency checks failed, EXITCODE is VMEXIT_INVALID and the
 * processor is still in host mode (with GIF = 0).
 */
export function vmrun(cpu: Cpu, vmcbPa: number): boolean {
  return perform('VMRUN', () => {
    hostChecks(cpu, 'vmrun', vmcbPa);
    cpu.svm.embedderHost = true;
    const entered = performVmrun(cpu, vmcbPa);
    // An exit while injecting (e.g. #NPF delivering the event) has completed already: run() will return STOP_VMEXIT.
    return entered;
  });
}

export function vmload(cpu: Cpu, vmcbPa: number): void {
  perform('VMLOAD', () => { hostChecks(cpu, 'vmload', vmcbPa); vmloadFrom(cpu, vmcbPa); });
}

export function vmsave(cpu: Cpu, vmcbPa: number): void {
  perform('VMSAVE', () => { hostChecks(cpu, 'vmsave', vmcbPa); vmsaveTo(cpu, vmcbPa); });
}

export function stgi(cpu: Cpu): void {
  perform('STGI', () => { hostChecks(cpu, 'stgi'); setGif(cpu, true); });
}

export function clgi(cpu: Cpu): void {
  perform('CLGI', () => { hostChecks(cpu, 'clgi'); setGif(cpu, false); });
}

/** INVLPGA: drops the translation of `linear` (for any ASID: the TLB is untagged). */
export function invlpga(cpu: Cpu, linear: number, _asid: number): void {
  perform('INVLPGA', () => { hostChecks(cpu, 'invlpga'); cpu.invalidatePage(linear | 0); });
}

export interface SvmExit {
  /** EXITCODE (VMEXIT_INVALID reads -1). */
  code: number;
  info1: number;
  info1High: number;
  info2: number;
  /** EXITINTINFO low dword (valid bit 31) and its error code. */
  intInfo: number;
  intErrorCode: number;
  nextRip: number;
}

/** The exit information of the VMCB at `vmcbPa`, as the host reads it after STOP_VMEXIT. */
export function readExit(cpu: Cpu, vmcbPa: number): SvmExit {
  const r = (off: number) => rd32(cpu, vmcbPa, off);
  const lo = r(VMCB_EXITCODE) >>> 0, hi = r(VMCB_EXITCODE + 4);
  return {
    code: hi === -1 && lo === 0xffff_ffff ? -1 : lo,
    info1: r(VMCB_EXITINFO1) >>> 0,
    info1High: r(VMCB_EXITINFO1 + 4) >>> 0,
    info2: r(VMCB_EXITINFO2) >>> 0,
    intInfo: r(VMCB_EXITINTINFO) >>> 0,
    intErrorCode: r(VMCB_EXITINTINFO + 4) >>> 0,
    nextRip: r(VMCB_NRIP) >>> 0,
  };
}
