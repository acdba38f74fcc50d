/**
 * Puts the processor into VMX root operation with the TypeScript hypervisor
 * as the host, through the architectural means root-mode software uses:
 * its own GDT, TSS and identity page tables in hypervisor-owned frames of
 * machine memory (../hostAddressSpace.ts, shared with SVM's host mode),
 * CR0/CR4 set to the values VMX requires (protected mode, paging, NE,
 * CR4.VMXE), IA32_FEATURE_CONTROL locked with VMXON enabled, then VMXON with
 * a region carrying the revision id IA32_VMX_BASIC reports.
 *
 * The host never runs x86 code (a VM exit ends `cpu.run` and the exit is
 * handled in TypeScript), but the host state loaded on every exit is real and
 * passes the VM-entry host-state checks: HOST_RIP points at a HLT loop in a
 * host code page, HOST_RSP at the top of a host stack page.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { EAX, ECX, EDX } from '../../cpu/regs.ts';
import { rdmsr, wrmsr } from '../../cpu/system.ts';
import { vmxon } from '../../cpu/vmx/rootOps.ts';
import { enterHostProtectedMode } from '../hostAddressSpace.ts';
import { FRAME_SIZE } from '../memory/frameAllocator.ts';
import type { MachineMemory } from '../memory/machineMemory.ts';
import { vmxFailure } from './vmxFailure.ts';

export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_VMX_BASIC = 0x480;
const FEATURE_CONTROL_LOCK = 1 << 0;
const FEATURE_CONTROL_VMXON_OUTSIDE_SMX = 1 << 2;
const CR4_VMXE = 1 << 13;

/** Host GDT selectors (the host's protected-mode environment is both vendors': ../hostAddressSpace.ts). */
export { HOST_CS, HOST_DS, HOST_TR } from '../hostAddressSpace.ts';

/** The host's root-mode environment: where its structures are in machine memory. */
export interface HostEnvironment {
  gdtBase: number;
  idtBase: number;
  tssBase: number;
  cr0: number;
  cr3: number;
  cr4: number;
  /** HOST_RIP: a HLT loop (never reached: exits return to TypeScript). */
  rip: number;
  /** HOST_RSP: the top of the host stack page. */
  rsp: number;
  /** The VMCS revision identifier the processor expects. */
  revisionId: number;
  /** Frames owned by the host environment. */
  frames: number[];
}

/** Reads an MSR the architectural way (RDMSR on the processor), leaving the caller's registers as they were. */
export function readMsr(cpu: Cpu, msr: number): { lo: number; hi: number } {
  const r = cpu.regs;
  const saved = [r[EAX], r[ECX], r[EDX]];
  r[ECX] = msr;
  rdmsr(cpu);
  const out = { lo: r[EAX] >>> 0, hi: r[EDX] >>> 0 };
  [r[EAX], r[ECX], r[EDX]] = saved;
  return out;
}

function writeMsr(cpu: Cpu, msr: number, lo: number, hi: number): void {
  const r = cpu.regs;
  const saved = [r[EAX], r[ECX], r[EDX]];
  r[ECX] = msr;
  r[EAX] = lo;
  r[EDX] = hi;
  wrmsr(cpu);
  [r[EAX], r[ECX], r[EDX]] = saved;
}

/** Builds the host environment in fresh frames of `machine` and executes VMXON on `cpu`. */
export function enterVmxRoot(cpu: Cpu, machine: MachineMemory): HostEnvironment {
  const host = enterHostProtectedMode(cpu, machine, CR4_VMXE);
  const [vmxonF] = machine.allocator.allocate(1);
  machine.clearFrames([vmxonF]);
  const vmxonRegion = vmxonF * FRAME_SIZE;

  const fc = readMsr(cpu, MSR_IA32_FEATURE_CONTROL).lo;
  if ((fc & FEATURE_CONTROL_LOCK) === 0) writeMsr(cpu, MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX, 0);
  const revisionId = readMsr(cpu, MSR_IA32_VMX_BASIC).lo & 0x7fffffff;
  machine.view.setUint32(vmxonRegion, revisionId, true);
  const r = vmxon(cpu, vmxonRegion);
  if (!r.ok) throw new Error(`VMXON failed: ${vmxFailure(r)}`);

  return {
    gdtBase: host.gdtBase,
    idtBase: host.idtBase,
    tssBase: host.tssBase,
    cr0: cpu.cr0,
    cr3: cpu.cr3,
    cr4: cpu.cr4,
    rip: host.rip,
    rsp: host.rsp,
    revisionId,
    frames: [...host.frames, vmxonF],
  };
}
