/**
 * The MSRs and control-register rules VMX adds to the bare processor
 * (system.ts calls these for MSRs it does not know itself): the read-only
 * capability MSRs, IA32_FEATURE_CONTROL (lockable, reset by RESET), and the
 * CR0/CR4 values allowed in VMX operation (SDM Vol. 3C §23.8).
 */
import type { Cpu } from '../cpu.ts';
import { EAX, ECX, EDX } from '../regs.ts';
import {
  FEATURE_CONTROL_LOCKED, FEATURE_CONTROL_WRITABLE, MSR_IA32_FEATURE_CONTROL, readCapabilityMsr,
} from './capabilities.ts';
import { cr0Allowed, cr4Allowed } from './operations.ts';
import { SECONDARY_EXEC_UNRESTRICTED_GUEST } from './vmcsFields.ts';

const value = { lo: 0, hi: 0 };

/** RDMSR of a VMX MSR into EDX:EAX; false if ECX names none. */
export function rdmsrVmx(cpu: Cpu): boolean {
  const msr = cpu.regs[ECX] >>> 0;
  if (msr === MSR_IA32_FEATURE_CONTROL) {
    cpu.regs[EAX] = cpu.vmx.featureControl;
    cpu.regs[EDX] = 0;
    return true;
  }
  if (!readCapabilityMsr(msr, value)) return false;
  cpu.regs[EAX] = value.lo;
  cpu.regs[EDX] = value.hi;
  return true;
}

/** WRMSR of a VMX MSR; false if ECX names none. Capability MSRs are read-only (#GP), as is a locked IA32_FEATURE_CONTROL. */
export function wrmsrVmx(cpu: Cpu): boolean {
  const msr = cpu.regs[ECX] >>> 0;
  if (msr === MSR_IA32_FEATURE_CONTROL) {
    const v = cpu.regs[EAX];
    if ((cpu.vmx.featureControl & FEATURE_CONTROL_LOCKED) !== 0 || cpu.regs[EDX] !== 0 || (v & ~FEATURE_CONTROL_WRITABLE) !== 0) cpu.raiseGP(0);
    cpu.vmx.featureControl = v;
    return true;
  }
  return false;
}

/**
 * CR0/CR4 values in VMX operation must respect the FIXED0/FIXED1 MSRs
 * (#GP otherwise); an unrestricted guest may clear CR0.PE and CR0.PG.
 */
export function vmxCrValueAllowed(cpu: Cpu, cr: number, value: number): boolean {
  const vmx = cpu.vmx;
  if (cr === 4) return cr4Allowed(value);
  const unrestricted = vmx.nonRoot && (vmx.proc2 & SECONDARY_EXEC_UNRESTRICTED_GUEST) !== 0;
  return cr0Allowed(value | 0x10, unrestricted);
}
