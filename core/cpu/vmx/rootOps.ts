/**
 * The VMX instructions as root-mode software performs them, for a
 * TypeScript caller playing the part of the code in VMX root operation (the
 * hypervisor in core/hypervisor). Each is the same operation as the x86
 * instruction (operations.ts, entry.ts), with its architectural checks: the
 * caller establishes CR4.VMXE, IA32_FEATURE_CONTROL, CR0/CR4 fixed bits,
 * protected mode and CPL 0 through the ordinary architectural means.
 *
 * Where the instruction would raise an exception (#UD, #GP), the call
 * throws a VmxInstructionFault naming the vector. Memory operands of the
 * instruction (pointers, descriptors) are passed as values.
 *
 * VMXON through these functions marks the VMX state `embedderHost`: VM
 * exits then complete (guest state saved, host state loaded) and make
 * `cpu.run()` return STOP_VMEXIT.
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import * as ops from './operations.ts';
import { vmEntry } from './entry.ts';
import type { VmxResult } from './vmx.ts';

export type { VmxResult } from './vmx.ts';

/** An exception the instruction would have raised in the caller's (root-mode) context. */
export class VmxInstructionFault extends Error {
  constructor(readonly instruction: string, readonly vector: number, readonly errorCode: number) {
    super(`${instruction} raised exception ${vector}${vector === 13 ? `(${errorCode})` : ''}`);
  }
}

function perform(cpu: Cpu, name: string, f: () => VmxResult): VmxResult {
  try {
    return f();
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    throw new VmxInstructionFault(name, CPU_FAULT.vector, CPU_FAULT.errorCode);
  }
}

/** The caller is root-mode code: a guest must not be running when it calls. */
const notInGuest = (name: string) => (): never => {
  throw new Error(`${name} called while the processor is in VMX non-root operation`);
};

const pointer = (pa: number) => (): void => {
  ops.operand.lo = pa >>> 0;
  ops.operand.hi = Math.floor(pa / 0x1_0000_0000) | 0;
};

export function vmxon(cpu: Cpu, regionPa: number): VmxResult {
  const r = perform(cpu, 'VMXON', () => ops.vmxon(cpu, pointer(regionPa), notInGuest('vmxon')));
  if (r.ok) cpu.vmx.embedderHost = true;
  return r;
}

export function vmxoff(cpu: Cpu): VmxResult {
  return perform(cpu, 'VMXOFF', () => ops.vmxoff(cpu, notInGuest('vmxoff')));
}

export function vmclear(cpu: Cpu, pa: number): VmxResult {
  return perform(cpu, 'VMCLEAR', () => ops.vmclear(cpu, pointer(pa), notInGuest('vmclear')));
}

export function vmptrld(cpu: Cpu, pa: number): VmxResult {
  return perform(cpu, 'VMPTRLD', () => ops.vmptrld(cpu, pointer(pa), notInGuest('vmptrld')));
}

/** VMPTRST: the current-VMCS pointer (0xFFFFFFFF when none is current), or the failure. */
export function vmptrst(cpu: Cpu): number {
  let value = 0;
  perform(cpu, 'VMPTRST', () => ops.vmptrst(cpu, (lo) => { value = lo >>> 0; }, notInGuest('vmptrst')));
  return value;
}

/** VMREAD of a field: the 32-bit value; a 64-bit field's *_HIGH encoding gives its upper half. */
export function vmread(cpu: Cpu, field: number): number {
  let value = 0;
  const r = perform(cpu, 'VMREAD', () => ops.vmread(cpu, field, (v) => { value = v; }, notInGuest('vmread')));
  if (!r.ok) throw new Error(`VMREAD 0x${field.toString(16)} failed: ${r.kind === 'failValid' ? `VM-instruction error ${r.error}` : 'no current VMCS'}`);
  return value >>> 0;
}

/** VMREAD that reports failure as a VmxResult instead of throwing. */
export function tryVmread(cpu: Cpu, field: number): { result: VmxResult; value: number } {
  let value = 0;
  const result = perform(cpu, 'VMREAD', () => ops.vmread(cpu, field, (v) => { value = v >>> 0; }, notInGuest('vmread')));
  return { result, value };
}

export function vmwrite(cpu: Cpu, field: number, value: number): VmxResult {
  return perform(cpu, 'VMWRITE', () => ops.vmwrite(cpu, field, () => value | 0, notInGuest('vmwrite')));
}

export function vmlaunch(cpu: Cpu): VmxResult {
  return perform(cpu, 'VMLAUNCH', () => vmEntry(cpu, true, notInGuest('vmlaunch')));
}

export function vmresume(cpu: Cpu): VmxResult {
  return perform(cpu, 'VMRESUME', () => vmEntry(cpu, false, notInGuest('vmresume')));
}

export function invept(cpu: Cpu, type: number, eptp: number): VmxResult {
  return perform(cpu, 'INVEPT', () => ops.invept(cpu, type, () => {
    ops.descriptor[0] = eptp | 0;
    ops.descriptor[1] = Math.floor(eptp / 0x1_0000_0000) | 0;
    ops.descriptor[2] = 0;
    ops.descriptor[3] = 0;
  }, notInGuest('invept')));
}

export function invvpid(cpu: Cpu, type: number, vpid: number, linear: number): VmxResult {
  return perform(cpu, 'INVVPID', () => ops.invvpid(cpu, type, () => {
    ops.descriptor[0] = vpid | 0;
    ops.descriptor[1] = 0;
    ops.descriptor[2] = linear | 0;
    ops.descriptor[3] = 0;
  }, notInGuest('invvpid')));
}
