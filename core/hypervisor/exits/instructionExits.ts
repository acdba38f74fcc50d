/**
 * The exits whose meaning is the same on VT-x and AMD-V (KVM's x86.c
 * kvm_emulate_halt, kvm_emulate_cpuid, kvm_emulate_rdmsr/wrmsr): the vendor
 * edge has only decoded which instruction exited; what it does to the
 * guest is decided here, once.
 */
import { cpuid } from '../../cpu/system.ts';
import { EAX, ECX, EDX, EXC_GP, EXC_UD } from '../../cpu/regs.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import { guestCpuid } from './cpuid.ts';
import { RESUME, type ExitAction, type ExitContext } from './exitContext.ts';
import { readGuestMsr, writeGuestMsr } from './msrs.ts';

const EFLAGS_IF = 1 << 9;

/**
 * HLT: the vCPU moves past it and blocks until an interrupt is pending (the
 * loop returns 'halted'). With IF = 0 and no NMI source on this board
 * nothing can wake it, and the VM stops as the bare machine does.
 */
export function handleHlt(v: ExitContext): ExitAction {
  v.skipInstruction();
  if ((v.guestEflags() & EFLAGS_IF) === 0) return { kind: 'halt', cs: v.guestCs(), eip: v.guestEip() };
  v.halted = true;
  return RESUME;
}

/** CPUID: the processor's answer, filtered for a guest (exits/cpuid.ts). */
export function handleCpuid(v: ExitContext): ExitAction {
  const cpu = v.cpu;
  guestCpuid(cpu.regs, () => cpuid(cpu), v.shadow !== null);
  v.skipInstruction();
  return RESUME;
}

/** RDMSR of the vendor-neutral MSR set (exits/msrs.ts); #GP for any other. */
export function handleRdmsr(v: ExitContext): ExitAction {
  const r = v.cpu.regs;
  const value = readGuestMsr(r[ECX], v.msrs);
  if (value === null) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  r[EAX] = value[0];
  r[EDX] = value[1];
  v.skipInstruction();
  return RESUME;
}

/** WRMSR of the vendor-neutral MSR set; #GP for any other or a value the MSR refuses. */
export function handleWrmsr(v: ExitContext): ExitAction {
  const r = v.cpu.regs;
  if (!writeGuestMsr(r[ECX], r[EAX], r[EDX], v.msrs)) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  v.skipInstruction();
  return RESUME;
}

/**
 * VMCALL/VMMCALL and the virtualization extension's own instructions: the
 * extension is hidden from the guest (no nested virtualization yet), so to
 * it they are undefined opcodes.
 */
export function handleHiddenExtensionInstruction(v: ExitContext): ExitAction {
  v.injectException(EXC_UD, null);
  return RESUME;
}

/** The guest shut the processor down (a triple fault): the VM stops with where it was. */
export function guestShutdown(v: ExitContext, detail: string): VcpuStop {
  return { kind: 'shutdown', cs: v.guestCs(), eip: v.guestEip(), detail };
}
