/**
 * The TypeScript-host path (core/cpu/svm/rootOps.ts): TypeScript plays the
 * code in SVM host mode, as the hypervisor will. It prepares the host
 * through architectural means only (a GDT and an identity page directory
 * in memory, CR writes, WRMSR of EFER.SVME and VM_HSAVE_PA), writes a VMCB
 * in memory and drives a real-mode guest under nested paging with VMRUN;
 * each #VMEXIT ends `cpu.run` with STOP_VMEXIT and the host reads the exit
 * from the VMCB (readExit).
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../../core/cpu/clock.ts';
import { Cpu, STOP_VMEXIT } from '../../../core/cpu/cpu.ts';
import { wrmsr, writeControlRegister } from '../../../core/cpu/system.ts';
import { AMD_SVM_MODEL, INTEL_VMX_MODEL, type ProcessorModel } from '../../../core/cpu/processorModel.ts';
import * as root from '../../../core/cpu/svm/rootOps.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';
import { EAX, ECX, EDX, ESP } from '../../../core/cpu/regs.ts';

const GDT = 0x500, PAGE_DIR = 0x2000, HSAVE = 0x3000, VMCB = 0x4000, NPT_PD = 0x10000, NPT_PT = 0x11000, IOPM = 0x20000;
const GUEST_CS_BASE = 0x1000;

function machine(model: ProcessorModel = AMD_SVM_MODEL): { cpu: Cpu; bus: MemoryBus } {
  const bus = new MemoryBus(new PhysicalMemory(4 << 20));
  return { cpu: new Cpu(bus, new GuestClock('deterministic'), model), bus };
}

/** Host mode: flat 32-bit protected mode at CPL 0, paging with one 4 MiB identity page, EFER.SVME, VM_HSAVE_PA. */
function enterHost(cpu: Cpu, bus: MemoryBus): void {
  bus.write32(GDT + 8, 0x0000ffff); bus.write32(GDT + 12, 0x00cf9b00);
  bus.write32(GDT + 16, 0x0000ffff); bus.write32(GDT + 20, 0x00cf9300);
  cpu.loadEntryState({ eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x9000, eip: 0x1234, eflags: 2, gdtBase: GDT, gdtLimit: 23, cs: 8, ds: 0x10, es: 0x10, ss: 0x10, fs: 0x10, gs: 0x10 });
  bus.write32(PAGE_DIR, 0x87);
  writeControlRegister(cpu, 3, PAGE_DIR);
  writeControlRegister(cpu, 4, 0x10);
  writeControlRegister(cpu, 0, cpu.cr0 | 0x80000000);
  root.enableSvm(cpu);
  cpu.regs[ECX] = B.MSR_VM_HSAVE_PA; cpu.regs[EAX] = HSAVE; cpu.regs[EDX] = 0;
  wrmsr(cpu);
}

/** A real-mode guest at CS = 0100h (base 1000h), IP 0, under nested paging of the first 2 MiB except page 5000h. */
function setUpGuest(bus: MemoryBus, code: number[]): void {
  code.forEach((b, i) => bus.write8(GUEST_CS_BASE + i, b));
  for (let i = 0; i < 4096; i += 4) { bus.write32(VMCB + i, 0); bus.write32(NPT_PD + i, 0); }
  bus.write32(NPT_PD, NPT_PT | 7);
  for (let p = 0; p < 1024; p++) bus.write32(NPT_PT + p * 4, p < 512 && p !== 5 ? (p << 12) | 7 : 0);
  for (let i = 0; i < B.IOPM_SIZE; i += 4) bus.write32(IOPM + i, 0);
  bus.write8(IOPM + (0x80 >>> 3), 1 << (0x80 & 7));
  const w = (off: number, v: number): void => bus.write32(VMCB + off, v);
  w(B.VMCB_INTERCEPT_MISC1, B.INTERCEPT_CPUID | B.INTERCEPT_HLT | B.INTERCEPT_IOIO_PROT | B.INTERCEPT_INTR);
  w(B.VMCB_INTERCEPT_MISC2, B.INTERCEPT_VMRUN | B.INTERCEPT_VMMCALL);
  w(B.VMCB_IOPM_BASE_PA, IOPM);
  w(B.VMCB_MSRPM_BASE_PA, 0x30000);
  w(B.VMCB_GUEST_ASID, 1);
  w(B.VMCB_VINTR, B.V_INTR_MASKING);
  w(B.VMCB_NP_ENABLE, 1);
  w(B.VMCB_N_CR3, NPT_PD);
  w(B.VMCB_CS, 0x100 | (0x9b << 16)); w(B.VMCB_CS + 4, 0xffff); w(B.VMCB_CS + 8, GUEST_CS_BASE);
  for (const seg of [B.VMCB_ES, B.VMCB_SS, B.VMCB_DS]) { w(seg, 0x93 << 16); w(seg + 4, 0xffff); w(seg + 8, 0); }
  w(B.VMCB_IDTR + 4, 0x3ff);
  w(B.VMCB_EFER, B.EFER_SVME);
  w(B.VMCB_CR0, 0x10);
  w(B.VMCB_DR6, 0xffff0ff0 | 0); w(B.VMCB_DR7, 0x400);
  w(B.VMCB_RFLAGS, 2);
  w(B.VMCB_RSP, 0x8000);
  w(B.VMCB_RIP, 0);
}

/** Enters the guest and runs it to its next #VMEXIT. */
function runToExit(cpu: Cpu): root.SvmExit {
  expect(root.vmrun(cpu, VMCB)).toBe(true);
  expect(cpu.run(10_000)).toBe(STOP_VMEXIT);
  expect(cpu.svm.guest).toBe(false);
  return root.readExit(cpu, VMCB);
}

describe('SVM: a TypeScript host drives a guest through rootOps', () => {
  it('IOIO, CPUID, #NPF, an intercepted INTR (left pending), an injected interrupt and HLT, exit by exit', () => {
    const { cpu, bus } = machine();
    enterHost(cpu, bus);
    setUpGuest(bus, [
      0xe6, 0x80,       // out 0x80, al
      0x0f, 0xa2,       // cpuid
      0xa3, 0x00, 0x50, // mov [0x5000], ax
      0x90,             // nop
      0xf4,             // hlt
    ]);
    const hostEip = cpu.eip;
    const next = () => bus.write32(VMCB + B.VMCB_RIP, root.readExit(cpu, VMCB).nextRip);

    let e = runToExit(cpu);
    expect(e).toEqual({ code: B.VMEXIT_IOIO, info1: B.IOIO_SZ8 | B.IOIO_A16 | (0x80 << 16), info1High: 0, info2: 2, intInfo: 0, intErrorCode: 0, nextRip: 2 });
    // Host state is back: protected mode, CPL 0, the host's EIP, paging and GIF = 0.
    expect([cpu.eip, cpu.cpl, cpu.cr3, cpu.svm.gif, cpu.svm.efer]).toEqual([hostEip, 0, PAGE_DIR, false, B.EFER_SVME]);
    next();

    e = runToExit(cpu);
    expect([e.code, e.info1, e.info2, e.nextRip]).toEqual([B.VMEXIT_CPUID, 0, 0, 4]);
    next();

    e = runToExit(cpu);
    expect([e.code, e.info1, e.info1High, e.info2, e.nextRip]).toEqual([B.VMEXIT_NPF, 6, B.NPF_FINAL_TRANSLATION, 0x5000, 0]);
    expect(bus.read32(VMCB + B.VMCB_RIP)).toBe(4); // the MOV is retried once the host maps the page
    bus.write32(NPT_PT + 5 * 4, 0x5000 | 7);

    // An interrupt is pending before the MOV is retried: INTR intercept at once, not acknowledged.
    let pending = 0x30, acknowledged = 0;
    cpu.interruptController = { hasInterrupt: () => pending >= 0, acknowledge: () => { acknowledged++; const v = pending; pending = -1; return v; } };
    cpu.setFlags(cpu.getFlags() | (1 << 9)); // the host's IF, which V_INTR_MASKING makes the physical mask
    e = runToExit(cpu);
    expect([e.code, acknowledged, bus.read32(VMCB + B.VMCB_RIP), e.nextRip]).toEqual([B.VMEXIT_INTR, 0, 4, 0]);

    // The host acknowledges it and injects it into the guest (real mode: IVT entry 30h -> 0100h:0008, the HLT).
    const vector = cpu.interruptController.acknowledge();
    cpu.interruptController = null;
    bus.write32(vector * 4, (0x100 << 16) | 8);
    bus.write32(VMCB + B.VMCB_EVENTINJ, B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | vector);
    e = runToExit(cpu);
    expect([e.code, e.nextRip, bus.read32(VMCB + B.VMCB_RIP)]).toEqual([B.VMEXIT_HLT, 9, 8]);
    expect(bus.read32(VMCB + B.VMCB_EVENTINJ) & B.EVENT_VALID).toBe(0);
    const sp = bus.read32(VMCB + B.VMCB_RSP);
    expect([sp, bus.read16(sp), bus.read16(sp + 2)]).toEqual([0x8000 - 6, 4, 0x100]); // IP, CS of the MOV not yet run
    expect(cpu.regs[ESP]).toBe(0x9000);
  });

  it('a VMCB that fails the consistency checks: vmrun returns false with VMEXIT_INVALID, the host unchanged', () => {
    const { cpu, bus } = machine();
    enterHost(cpu, bus);
    setUpGuest(bus, [0xf4]);
    bus.write32(VMCB + B.VMCB_GUEST_ASID, 0);
    const eip = cpu.eip;
    expect(root.vmrun(cpu, VMCB)).toBe(false);
    expect(root.readExit(cpu, VMCB).code).toBe(-1);
    expect([cpu.svm.guest, cpu.eip, cpu.cr0 & 1]).toEqual([false, eip, 1]);
  });

  it('instruction faults are reported as SvmInstructionFault; the Intel part has no EFER', () => {
    const { cpu, bus } = machine();
    enterHost(cpu, bus);
    expect(() => root.vmrun(cpu, VMCB + 8)).toThrow(root.SvmInstructionFault);
    try { root.vmload(cpu, 0x4001); } catch (e) { expect((e as root.SvmInstructionFault).vector).toBe(13); }
    const intel = machine(INTEL_VMX_MODEL);
    expect(() => root.enableSvm(intel.cpu)).toThrow(/WRMSR EFER raised exception 13/);
    expect(() => root.stgi(intel.cpu)).toThrow(/STGI raised exception 6/);
  });
});
