/**
 * Puts the processor into VMX root operation with the TypeScript hypervisor
 * as the host, through the architectural means root-mode software uses:
 * its own GDT, TSS and identity page tables in hypervisor-owned frames of
 * machine memory, CR0/CR4 set to the values VMX requires (protected mode,
 * paging, NE, CR4.VMXE), IA32_FEATURE_CONTROL locked with VMXON enabled,
 * then VMXON with a region carrying the revision id IA32_VMX_BASIC reports.
 *
 * The host never runs x86 code (a VM exit ends `cpu.run` and the exit is
 * handled in TypeScript), but the host state loaded on every exit is real and
 * passes the VM-entry host-state checks: HOST_RIP points at a HLT loop in a
 * host code page, HOST_RSP at the top of a host stack page.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { CS, DS, EAX, ECX, EDX, ES, FS, GS, SS, TR, CR0_ET, CR0_NE, CR0_PE, CR0_PG, CR4_PSE } from '../../cpu/regs.ts';
import { setSegmentCache } from '../../cpu/segments.ts';
import { rdmsr, wrmsr, writeControlRegister } from '../../cpu/system.ts';
import { vmxon } from '../../cpu/vmx/rootOps.ts';
import { FRAME_SIZE } from '../memory/frameAllocator.ts';
import type { MachineMemory } from '../memory/machineMemory.ts';
import { vmxFailure } from './vmxFailure.ts';

export const MSR_IA32_FEATURE_CONTROL = 0x3a;
export const MSR_IA32_VMX_BASIC = 0x480;
const FEATURE_CONTROL_LOCK = 1 << 0;
const FEATURE_CONTROL_VMXON_OUTSIDE_SMX = 1 << 2;
const CR4_VMXE = 1 << 13;

/** Host GDT selectors. */
export const HOST_CS = 0x08;
export const HOST_DS = 0x10;
export const HOST_TR = 0x18;
/** Segment attributes as the descriptor cache holds them (type|S|DPL|P, then AVL/L/DB/G in bits 12-15). */
const CODE32_ATTR = 0x9b | 0xc000;
const DATA32_ATTR = 0x93 | 0xc000;
const TSS32_BUSY_ATTR = 0x8b;
const TSS_LIMIT = 0x67;

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
  const frames = machine.allocator.allocate(7);
  machine.clearFrames(frames);
  const [gdtF, idtF, tssF, pdF, codeF, stackF, vmxonF] = frames;
  const at = (f: number) => f * FRAME_SIZE;
  const v = machine.view;

  // GDT: null, flat 32-bit code, flat 32-bit data, the host TSS.
  const gdt = at(gdtF);
  v.setUint32(gdt + 8, 0x0000ffff, true);
  v.setUint32(gdt + 12, 0x00cf9b00, true);
  v.setUint32(gdt + 16, 0x0000ffff, true);
  v.setUint32(gdt + 20, 0x00cf9300, true);
  const tss = at(tssF);
  v.setUint32(gdt + 24, ((tss & 0xffff) << 16) | TSS_LIMIT, true);
  v.setUint32(gdt + 28, (tss & 0xff000000) | 0x00008b00 | ((tss >>> 16) & 0xff), true);
  // Page directory: 1024 4 MiB identity pages (CR4.PSE), supervisor read/write.
  const pd = at(pdF);
  for (let i = 0; i < 1024; i++) v.setUint32(pd + i * 4, ((i << 22) | 0x83) >>> 0, true);
  // HOST_RIP target: HLT; JMP back to it.
  machine.u8.set([0xf4, 0xeb, 0xfd], at(codeF));

  // LGDT, then protected mode with the host's flat segments and TSS.
  cpu.gdtBase = gdt;
  cpu.gdtLimit = 4 * 8 - 1;
  cpu.idtBase = at(idtF);
  cpu.idtLimit = 0;
  writeControlRegister(cpu, 0, CR0_PE | CR0_NE | CR0_ET);
  setSegmentCache(cpu, CS, HOST_CS, 0, 0xffffffff, CODE32_ATTR);
  for (const seg of [SS, DS, ES, FS, GS]) setSegmentCache(cpu, seg, HOST_DS, 0, 0xffffffff, DATA32_ATTR);
  setSegmentCache(cpu, TR, HOST_TR, tss, TSS_LIMIT, TSS32_BUSY_ATTR);
  cpu.setCpl(0);
  writeControlRegister(cpu, 3, pd);
  writeControlRegister(cpu, 4, CR4_PSE | CR4_VMXE);
  writeControlRegister(cpu, 0, CR0_PE | CR0_NE | CR0_ET | CR0_PG);

  const fc = readMsr(cpu, MSR_IA32_FEATURE_CONTROL).lo;
  if ((fc & FEATURE_CONTROL_LOCK) === 0) writeMsr(cpu, MSR_IA32_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE_SMX, 0);
  const revisionId = readMsr(cpu, MSR_IA32_VMX_BASIC).lo & 0x7fffffff;
  v.setUint32(at(vmxonF), revisionId, true);
  const r = vmxon(cpu, at(vmxonF));
  if (!r.ok) throw new Error(`VMXON failed: ${vmxFailure(r)}`);

  return {
    gdtBase: gdt,
    idtBase: at(idtF),
    tssBase: tss,
    cr0: cpu.cr0,
    cr3: cpu.cr3,
    cr4: cpu.cr4,
    rip: at(codeF),
    rsp: at(stackF) + FRAME_SIZE,
    revisionId,
    frames,
  };
}
