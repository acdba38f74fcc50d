/**
 * The host's own protected-mode environment, the same for both vendors
 * (vmx/rootMode.ts before VMXON, svm/hostMode.ts before EFER.SVME): a GDT
 * with flat 32-bit code and data and a TSS, an empty IDT, an identity page
 * directory of 4 MiB pages (CR4.PSE), a code page holding a HLT loop and a
 * stack page, all in fresh hypervisor-owned frames of machine memory, then
 * CR0 = PE|NE|ET|PG, the flat segments, TR and CPL 0 loaded by architectural
 * means (the state a host's boot code would leave).
 *
 * The host never runs x86 code (an exit ends `cpu.run` and is handled in
 * TypeScript), but the state the processor saves and reloads for it is real
 * and passes the entry checks: its RIP points at the HLT loop, its RSP at
 * the top of the stack page, and nested paging finds the host's paging on.
 */
import type { Cpu } from '../cpu/cpu.ts';
import { CS, DS, ES, FS, GS, SS, TR, CR0_ET, CR0_NE, CR0_PE, CR0_PG, CR4_PSE } from '../cpu/regs.ts';
import { setSegmentCache } from '../cpu/segments.ts';
import { writeControlRegister } from '../cpu/system.ts';
import { FRAME_SIZE } from './memory/frameAllocator.ts';
import type { MachineMemory } from './memory/machineMemory.ts';

/** Host GDT selectors. */
export const HOST_CS = 0x08;
export const HOST_DS = 0x10;
export const HOST_TR = 0x18;
/** Segment attributes as the descriptor cache holds them (type|S|DPL|P, then AVL/L/DB/G in bits 12-15). */
const CODE32_ATTR = 0x9b | 0xc000;
const DATA32_ATTR = 0x93 | 0xc000;
const TSS32_BUSY_ATTR = 0x8b;
const TSS_LIMIT = 0x67;

/** Where the host's structures are in machine memory. */
export interface HostAddressSpace {
  gdtBase: number;
  idtBase: number;
  tssBase: number;
  /** The identity page directory (CR3). */
  pageDirectory: number;
  /** A HLT loop (never reached: exits return to TypeScript). */
  rip: number;
  /** The top of the host stack page. */
  rsp: number;
  /** Frames owned by the host environment. */
  frames: number[];
}

/** Builds the host's structures in fresh frames of `machine` and puts `cpu` in the host's paged protected mode, CR4 = PSE | `cr4Extra`. */
export function enterHostProtectedMode(cpu: Cpu, machine: MachineMemory, cr4Extra: number): HostAddressSpace {
  const frames = machine.allocator.allocate(6);
  machine.clearFrames(frames);
  const [gdtF, idtF, tssF, pdF, codeF, stackF] = frames;
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
  // The host's RIP: HLT; JMP back to it.
  machine.u8.set([0xf4, 0xeb, 0xfd], at(codeF));

  // LGDT, then protected mode with the host's flat segments and TSS, then paging.
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
  writeControlRegister(cpu, 4, CR4_PSE | cr4Extra);
  writeControlRegister(cpu, 0, CR0_PE | CR0_NE | CR0_ET | CR0_PG);
  const rip = at(codeF);
  const rsp = at(stackF) + FRAME_SIZE;
  cpu.eip = rip;
  cpu.regs[4] = rsp;
  return { gdtBase: gdt, idtBase: at(idtF), tssBase: tss, pageDirectory: pd, rip, rsp, frames };
}
