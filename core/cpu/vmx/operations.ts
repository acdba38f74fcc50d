/**
 * The VMX instructions' semantics (SDM Vol. 3C ch. 31 pseudo-code), shared
 * by the decoded instructions (instructions.ts) and by a TypeScript caller
 * playing root-mode software (rootOps.ts). Exceptions are raised as CPU
 * faults; VMsucceed / VMfailInvalid / VMfailValid come back as a VmxResult.
 * Memory operands are read through a callback at the point the pseudo-code
 * reads them, so the fault order is the architectural one.
 */
import type { Cpu } from '../cpu.ts';
import { CR0_PE, CR0_PG, VM } from '../regs.ts';
import {
  CR0_FIXED0, CR0_FIXED1, CR4_FIXED0, CR4_FIXED1, CR4_VMXE, EPT_VPID_CAP_LO, FEATURE_CONTROL_LOCKED,
  FEATURE_CONTROL_VMXON_OUTSIDE_SMX, VMCS_REVISION_ID,
} from './capabilities.ts';
import { slotOf, writeLaunchState, LAUNCH_STATE_CLEAR } from './vmcs.ts';
import { NO_VMCS, VM_FAIL_INVALID, VM_SUCCEED, type VmxResult } from './vmx.ts';
import * as F from './vmcsFields.ts';

/** A 64-bit operand read from memory (or given by a TypeScript caller). */
export const operand = { lo: 0, hi: 0 };
/** A 128-bit INVEPT/INVVPID descriptor: four dwords, lowest first. */
export const descriptor = new Int32Array(4);

export function vmFail(cpu: Cpu, error: number): VmxResult {
  const vmx = cpu.vmx;
  if (vmx.currentVmcsPointer === NO_VMCS) return VM_FAIL_INVALID;
  vmx.vmcs.set(F.VM_INSTRUCTION_ERROR, error);
  return { ok: false, kind: 'failValid', error };
}

/** A VMX-region address is valid when 4 KiB aligned and below 4 GiB (IA32_VMX_BASIC bit 48). */
function validRegionAddress(lo: number, hi: number): boolean {
  return (lo & 0xfff) === 0 && hi === 0;
}

/** CR0/CR4 values allowed in VMX operation (the FIXED0/FIXED1 MSRs). */
export function cr0Allowed(cr0: number, exemptPePg: boolean): boolean {
  const fixed0 = exemptPePg ? CR0_FIXED0 & ~(CR0_PE | CR0_PG) : CR0_FIXED0;
  return (cr0 & fixed0) === fixed0 && (cr0 & ~CR0_FIXED1) === 0;
}
export function cr4Allowed(cr4: number): boolean {
  return (cr4 & CR4_FIXED0) === CR4_FIXED0 && (cr4 & ~CR4_FIXED1) === 0;
}

/** The #UD conditions every VMX instruction but VMXON and VMCALL shares. */
function requireVmxOperation(cpu: Cpu): void {
  if (!cpu.vmx.inVmxOperation || (cpu.cr0 & CR0_PE) === 0 || (cpu.flags & VM) !== 0) cpu.raiseUD();
}

/** What a VMX instruction does in non-root operation: a VM exit (instructions.ts supplies it). */
export type NonRootExit = () => never;

export function vmxon(cpu: Cpu, readPointer: () => void, exitNonRoot: NonRootExit): VmxResult {
  const vmx = cpu.vmx;
  if ((cpu.cr0 & CR0_PE) === 0 || (cpu.cr4 & CR4_VMXE) === 0 || (cpu.flags & VM) !== 0) cpu.raiseUD();
  if (!vmx.inVmxOperation) {
    const fc = vmx.featureControl;
    if (cpu.cpl > 0 || cpu.a20Mask !== -1 || !cr0Allowed(cpu.cr0, false) || !cr4Allowed(cpu.cr4)
      || (fc & FEATURE_CONTROL_LOCKED) === 0 || (fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX) === 0) cpu.raiseGP(0);
    readPointer();
    const { lo, hi } = operand;
    if (!validRegionAddress(lo, hi)) return VM_FAIL_INVALID;
    if ((cpu.bus.read32(lo) & 0x7fff_ffff) !== VMCS_REVISION_ID || (cpu.bus.read32(lo) & 0x8000_0000) !== 0) return VM_FAIL_INVALID;
    vmx.inVmxOperation = true;
    vmx.vmxonPointer = lo;
    vmx.currentVmcsPointer = NO_VMCS;
    return VM_SUCCEED;
  }
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  return vmFail(cpu, F.VMERR_VMXON_IN_VMX_ROOT);
}

export function vmxoff(cpu: Cpu, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  writeBackCurrent(cpu);
  vmx.leave();
  return VM_SUCCEED;
}

/** Writes the cached current VMCS back to its region (the data must survive in memory). */
export function writeBackCurrent(cpu: Cpu): void {
  const vmx = cpu.vmx;
  if (vmx.currentVmcsPointer !== NO_VMCS) vmx.vmcs.storeTo(cpu.bus, vmx.currentVmcsPointer);
}

export function vmclear(cpu: Cpu, readPointer: () => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  readPointer();
  const { lo, hi } = operand;
  if (!validRegionAddress(lo, hi)) return vmFail(cpu, F.VMERR_VMCLEAR_INVALID_ADDRESS);
  if (lo === vmx.vmxonPointer) return vmFail(cpu, F.VMERR_VMCLEAR_VMXON_POINTER);
  if (lo === vmx.currentVmcsPointer) {
    vmx.vmcs.launchState = LAUNCH_STATE_CLEAR;
    vmx.vmcs.storeTo(cpu.bus, lo);
    vmx.currentVmcsPointer = NO_VMCS;
  } else {
    writeLaunchState(cpu.bus, lo, LAUNCH_STATE_CLEAR);
  }
  return VM_SUCCEED;
}

export function vmptrld(cpu: Cpu, readPointer: () => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  readPointer();
  const { lo, hi } = operand;
  if (!validRegionAddress(lo, hi)) return vmFail(cpu, F.VMERR_VMPTRLD_INVALID_ADDRESS);
  if (lo === vmx.vmxonPointer) return vmFail(cpu, F.VMERR_VMPTRLD_VMXON_POINTER);
  // Bit 31 set would name a shadow VMCS, which this processor does not support.
  if ((cpu.bus.read32(lo) >>> 0) !== VMCS_REVISION_ID) return vmFail(cpu, F.VMERR_VMPTRLD_INCORRECT_REVISION_ID);
  if (vmx.currentVmcsPointer !== lo) {
    writeBackCurrent(cpu);
    vmx.vmcs.loadFrom(cpu.bus, lo);
    vmx.currentVmcsPointer = lo;
  }
  return VM_SUCCEED;
}

/** VMPTRST: the current-VMCS pointer (all ones when none); `store` writes the 64-bit value. */
export function vmptrst(cpu: Cpu, store: (lo: number, hi: number) => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  const p = vmx.currentVmcsPointer;
  store(p, p === NO_VMCS ? -1 : 0);
  return VM_SUCCEED;
}

/** VMREAD: `store` receives the 32-bit value (the destination is written only on success). */
export function vmread(cpu: Cpu, field: number, store: (value: number) => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  if (vmx.currentVmcsPointer === NO_VMCS) return VM_FAIL_INVALID;
  if (slotOf(field) < 0) return vmFail(cpu, F.VMERR_UNSUPPORTED_VMCS_COMPONENT);
  store(vmx.vmcs.read(field));
  return VM_SUCCEED;
}

export function vmwrite(cpu: Cpu, field: number, readValue: () => number, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  // The source operand is read before the checks on the current VMCS and the field.
  const value = readValue();
  if (vmx.currentVmcsPointer === NO_VMCS) return VM_FAIL_INVALID;
  if (slotOf(field) < 0) return vmFail(cpu, F.VMERR_UNSUPPORTED_VMCS_COMPONENT);
  if (F.fieldReadOnly(field)) return vmFail(cpu, F.VMERR_VMWRITE_READ_ONLY_COMPONENT);
  vmx.vmcs.write(field, value);
  return VM_SUCCEED;
}

/** The EPTP checks of VM entry (§26.2.1.1) and INVEPT single-context. */
export function eptPointerValid(lo: number, hi: number): boolean {
  const memoryType = lo & 7;
  if (memoryType !== 0 && memoryType !== 6) return false; // UC and WB are advertised
  if (((lo >>> 3) & 7) !== 3) return false; // page-walk length 4
  if ((lo & 0xfc0) !== 0) return false; // bit 6 (A/D flags) is not advertised; bits 11:7 reserved
  return hi === 0; // beyond the 32-bit physical-address width
}

export function invept(cpu: Cpu, type: number, readDescriptor: () => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  const supported = (type === F.INVEPT_SINGLE_CONTEXT && (EPT_VPID_CAP_LO & (1 << 25)) !== 0)
    || (type === F.INVEPT_ALL_CONTEXT && (EPT_VPID_CAP_LO & (1 << 26)) !== 0);
  if (!supported) return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
  readDescriptor();
  if (type === F.INVEPT_SINGLE_CONTEXT && !eptPointerValid(descriptor[0], descriptor[1])) {
    return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
  }
  // The TLB caches combined (guest-linear -> host-physical) translations only; dropping them all is exact for any EPTP.
  cpu.flushTlb(true);
  vmx.tlbVpid = -1;
  return VM_SUCCEED;
}

export function invvpid(cpu: Cpu, type: number, readDescriptor: () => void, exitNonRoot: NonRootExit): VmxResult {
  requireVmxOperation(cpu);
  const vmx = cpu.vmx;
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  if (type < 0 || type > 3) return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
  readDescriptor();
  const vpid = descriptor[0] & 0xffff;
  if ((descriptor[0] >>> 16) !== 0 || descriptor[1] !== 0) return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
  if (type !== F.INVVPID_ALL_CONTEXT && vpid === 0) return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
  if (type === F.INVVPID_INDIVIDUAL_ADDRESS) {
    const top = descriptor[3] >> 15; // bits 63:47 of the linear address must be all equal (canonical)
    if (top !== 0 && top !== -1) return vmFail(cpu, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND);
    cpu.invalidatePage(descriptor[2]);
  } else {
    // One VPID's entries at most are cached (vmx.ts, tlbVpid): every context type drops them all.
    cpu.flushTlb(true);
    vmx.tlbVpid = -1;
  }
  return VM_SUCCEED;
}
