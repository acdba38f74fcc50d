/**
 * Puts the AMD part into SVM host mode with the TypeScript hypervisor as the
 * host, through the architectural means host-mode software uses: the host's
 * paged protected mode (../hostAddressSpace.ts, shared with VT-x's root
 * mode; nested paging needs the host's paging on, its tables being in the
 * host's format), EFLAGS.IF set, EFER.SVME, and VM_HSAVE_PA pointing at a
 * host save area.
 *
 * EFLAGS.IF = 1 matters: the VMCB sets V_INTR_MASKING, under which the
 * host's IF at VMRUN (not the guest's) decides whether the domain's
 * interrupt controller reaches the processor while the guest runs, and the
 * INTR intercept makes it an exit. GIF, cleared by every #VMEXIT, keeps it
 * from being delivered to the host itself, which never runs x86 code (an
 * exit ends `cpu.run` and is handled in TypeScript).
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { EAX, ECX, EDX, IF } from '../../cpu/regs.ts';
import { enableSvm } from '../../cpu/svm/rootOps.ts';
import { MSR_VM_HSAVE_PA } from '../../cpu/svm/vmcb.ts';
import { wrmsr } from '../../cpu/system.ts';
import { enterHostProtectedMode } from '../hostAddressSpace.ts';
import { FRAME_SIZE } from '../memory/frameAllocator.ts';
import type { MachineMemory } from '../memory/machineMemory.ts';

/** The host's environment in machine memory. */
export interface SvmHostEnvironment {
  /** VM_HSAVE_PA: the host save area (the processor keeps the host state in its own format, cpu/svm/README). */
  hsavePa: number;
  /** Frames owned by the host environment. */
  frames: number[];
}

/** Builds the host environment in fresh frames of `machine` and enables SVM on `cpu` (an AMD part). */
export function enterSvmHost(cpu: Cpu, machine: MachineMemory): SvmHostEnvironment {
  if (cpu.model.extension !== 'svm') throw new Error(`SVM host mode needs the AMD part; this processor is ${cpu.model.vendor} with ${cpu.model.extension.toUpperCase()}`);
  const host = enterHostProtectedMode(cpu, machine, 0);
  const [hsaveF] = machine.allocator.allocate(1);
  machine.clearFrames([hsaveF]);
  cpu.setFlags(cpu.getFlags() | IF); // STI (see the header)

  enableSvm(cpu);
  const r = cpu.regs;
  r[ECX] = MSR_VM_HSAVE_PA;
  r[EAX] = hsaveF * FRAME_SIZE;
  r[EDX] = 0;
  wrmsr(cpu);
  return { hsavePa: hsaveF * FRAME_SIZE, frames: [...host.frames, hsaveF] };
}
