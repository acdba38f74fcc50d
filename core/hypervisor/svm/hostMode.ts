/**
 * Puts the AMD part into SVM host mode with the TypeScript hypervisor as the
 * host, through the architectural means host-mode software uses: its own
 * GDT and identity page directory in hypervisor-owned frames of machine
 * memory, protected mode with paging (nested paging needs the host's paging
 * on: the nested tables are in its format), EFLAGS.IF set, EFER.SVME, and
 * VM_HSAVE_PA pointing at a host save area.
 *
 * EFLAGS.IF = 1 matters: the VMCB sets V_INTR_MASKING, under which the
 * host's IF at VMRUN (not the guest's) decides whether the domain's
 * interrupt controller reaches the processor while the guest runs, and the
 * INTR intercept makes it an exit. GIF, cleared by every #VMEXIT, keeps it
 * from being delivered to the host itself, which never runs x86 code (an
 * exit ends `cpu.run` and is handled in TypeScript).
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { CS, DS, EAX, ECX, EDX, ES, FS, GS, IF, SS, CR0_ET, CR0_NE, CR0_PE, CR0_PG, CR4_PSE } from '../../cpu/regs.ts';
import { setSegmentCache } from '../../cpu/segments.ts';
import { enableSvm } from '../../cpu/svm/rootOps.ts';
import { MSR_VM_HSAVE_PA } from '../../cpu/svm/vmcb.ts';
import { wrmsr, writeControlRegister } from '../../cpu/system.ts';
import { FRAME_SIZE } from '../memory/frameAllocator.ts';
import type { MachineMemory } from '../memory/machineMemory.ts';

const HOST_CS = 0x08;
const HOST_DS = 0x10;
/** Segment attributes as the descriptor cache holds them (type|S|DPL|P, then AVL/L/DB/G in bits 12-15). */
const CODE32_ATTR = 0x9b | 0xc000;
const DATA32_ATTR = 0x93 | 0xc000;

/** The host's environment in machine memory. */
export interface SvmHostEnvironment {
  /** VM_HSAVE_PA: the host save area (the processor keeps the host state in its own format, svm/README). */
  hsavePa: number;
  /** Frames owned by the host environment. */
  frames: number[];
}

/** Builds the host environment in fresh frames of `machine` and enables SVM on `cpu` (an AMD part). */
export function enterSvmHost(cpu: Cpu, machine: MachineMemory): SvmHostEnvironment {
  if (cpu.model.extension !== 'svm') throw new Error(`SVM host mode needs the AMD part; this processor is ${cpu.model.vendor} with ${cpu.model.extension.toUpperCase()}`);
  const frames = machine.allocator.allocate(5);
  machine.clearFrames(frames);
  const [gdtF, pdF, codeF, stackF, hsaveF] = frames;
  const at = (f: number) => f * FRAME_SIZE;
  const v = machine.view;

  // GDT: null, flat 32-bit code, flat 32-bit data.
  const gdt = at(gdtF);
  v.setUint32(gdt + 8, 0x0000ffff, true);
  v.setUint32(gdt + 12, 0x00cf9b00, true);
  v.setUint32(gdt + 16, 0x0000ffff, true);
  v.setUint32(gdt + 20, 0x00cf9300, true);
  // Page directory: 1024 4 MiB identity pages (CR4.PSE), supervisor read/write.
  const pd = at(pdF);
  for (let i = 0; i < 1024; i++) v.setUint32(pd + i * 4, ((i << 22) | 0x83) >>> 0, true);
  // Where the host "continues" after a #VMEXIT: HLT; JMP back to it (never run: exits return to TypeScript).
  machine.u8.set([0xf4, 0xeb, 0xfd], at(codeF));

  cpu.gdtBase = gdt;
  cpu.gdtLimit = 3 * 8 - 1;
  cpu.idtBase = 0;
  cpu.idtLimit = 0;
  writeControlRegister(cpu, 0, CR0_PE | CR0_NE | CR0_ET);
  setSegmentCache(cpu, CS, HOST_CS, 0, 0xffffffff, CODE32_ATTR);
  for (const seg of [SS, DS, ES, FS, GS]) setSegmentCache(cpu, seg, HOST_DS, 0, 0xffffffff, DATA32_ATTR);
  cpu.setCpl(0);
  writeControlRegister(cpu, 3, pd);
  writeControlRegister(cpu, 4, CR4_PSE);
  writeControlRegister(cpu, 0, CR0_PE | CR0_NE | CR0_ET | CR0_PG);
  cpu.eip = at(codeF);
  cpu.regs[4] = at(stackF) + FRAME_SIZE;
  cpu.setFlags(cpu.getFlags() | IF); // STI (see the header)

  enableSvm(cpu);
  const r = cpu.regs;
  r[ECX] = MSR_VM_HSAVE_PA;
  r[EAX] = at(hsaveF);
  r[EDX] = 0;
  wrmsr(cpu);
  return { hsavePa: at(hsaveF), frames };
}
