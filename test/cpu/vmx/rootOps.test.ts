/**
 * The TypeScript-host path (core/cpu/vmx/rootOps.ts): TypeScript plays the
 * code in VMX root operation. It prepares the root environment through
 * architectural means only (a GDT and an identity page directory in memory,
 * CR writes through system.ts, WRMSR of IA32_FEATURE_CONTROL), then drives a
 * guest with VMXON/VMPTRLD/VMWRITE/VMLAUNCH/VMRESUME; each VM exit ends
 * `cpu.run` with STOP_VMEXIT, the exit information read with VMREAD.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../../core/cpu/clock.ts';
import { Cpu, STOP_HALT, STOP_VMEXIT } from '../../../core/cpu/cpu.ts';
import { wrmsr, writeControlRegister } from '../../../core/cpu/system.ts';
import { readCapabilityMsr, VMCS_REVISION_ID } from '../../../core/cpu/vmx/capabilities.ts';
import * as root from '../../../core/cpu/vmx/rootOps.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';
import { EAX, ECX, EDX, EBX } from '../../../core/cpu/regs.ts';

const GDT = 0x500, PAGE_DIR = 0x2000, VMXON = 0x3000, VMCS = 0x4000, EPT = 0x10000, GUEST_CODE = 0x1000;

function machine(): { cpu: Cpu; bus: MemoryBus; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(4 << 20);
  const bus = new MemoryBus(mem);
  const cpu = new Cpu(bus, new GuestClock('deterministic'));
  return { cpu, bus, mem };
}

/** Root environment: flat GDT (code 0x08, data 0x10, TSS 0x18), 32-bit protected mode, paging with one 4 MiB identity page. */
function enterRoot(cpu: Cpu, bus: MemoryBus, opts: { vmxe?: boolean; featureControl?: number } = {}): void {
  const desc = (i: number, lo: number, hi: number): void => { bus.write32(GDT + i * 8, lo); bus.write32(GDT + i * 8 + 4, hi); };
  desc(1, 0x0000ffff, 0x00cf9b00);
  desc(2, 0x0000ffff, 0x00cf9300);
  desc(3, 0x70000067, 0x00008b00); // TSS at 0x7000, busy
  cpu.loadEntryState({ eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0, esp: 0x9000, eip: 0, eflags: 2, gdtBase: GDT, gdtLimit: 31, cs: 8, ds: 0x10, es: 0x10, ss: 0x10, fs: 0x10, gs: 0x10 });
  bus.write32(PAGE_DIR, 0x87);
  writeControlRegister(cpu, 3, PAGE_DIR);
  writeControlRegister(cpu, 4, 0x10 | (opts.vmxe === false ? 0 : 0x2000));
  writeControlRegister(cpu, 0, cpu.cr0 | 0x80000020);
  cpu.regs[ECX] = 0x3a;
  cpu.regs[EAX] = opts.featureControl ?? 5;
  cpu.regs[EDX] = 0;
  wrmsr(cpu);
}

function trueControls(msr: number, extra: number): number {
  const v = { lo: 0, hi: 0 };
  readCapabilityMsr(msr, v);
  return v.lo | extra;
}

/** A real-mode guest (unrestricted guest under an identity EPT of the first 2 MiB) at GUEST_CODE. */
function setUpGuest(cpu: Cpu, bus: MemoryBus, code: number[], secondary: number): void {
  code.forEach((b, i) => bus.write8(GUEST_CODE + i, b));
  for (let i = 0; i < 4 * 4096; i += 4) bus.write32(EPT + i, 0);
  bus.write32(EPT, (EPT + 0x1000) | 7);
  bus.write32(EPT + 0x1000, (EPT + 0x2000) | 7);
  bus.write32(EPT + 0x2000, (EPT + 0x3000) | 7);
  for (let p = 0; p < 512; p++) bus.write32(EPT + 0x3000 + p * 8, (p << 12) | (6 << 3) | 7);
  bus.write32(EPT + 0x3000 + 5 * 8, 0); // guest-physical 0x5000: not mapped (an MMIO page for the hypervisor)
  bus.write32(VMXON, VMCS_REVISION_ID);
  bus.write32(VMCS, VMCS_REVISION_ID);
  const ok = { ok: true };
  expect(root.vmxon(cpu, VMXON)).toEqual(ok);
  expect(root.vmclear(cpu, VMCS)).toEqual(ok);
  expect(root.vmptrld(cpu, VMCS)).toEqual(ok);
  const w = (f: number, v: number): void => { expect(root.vmwrite(cpu, f, v)).toEqual(ok); };
  w(F.PIN_BASED_VM_EXEC_CONTROL, trueControls(0x48d, F.PIN_BASED_EXT_INTR_MASK));
  w(F.CPU_BASED_VM_EXEC_CONTROL, trueControls(0x48e, F.CPU_BASED_HLT_EXITING | F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
  w(F.SECONDARY_VM_EXEC_CONTROL, secondary);
  w(F.VM_EXIT_CONTROLS, trueControls(0x48f, F.VM_EXIT_ACK_INTR_ON_EXIT));
  w(F.VM_ENTRY_CONTROLS, trueControls(0x490, 0));
  w(F.EPT_POINTER, EPT | (3 << 3) | 6);
  w(F.VIRTUAL_PROCESSOR_ID, 1);
  w(F.HOST_CR0, cpu.cr0); w(F.HOST_CR3, cpu.cr3); w(F.HOST_CR4, cpu.cr4);
  w(F.HOST_CS_SELECTOR, 8); w(F.HOST_SS_SELECTOR, 0x10); w(F.HOST_DS_SELECTOR, 0x10); w(F.HOST_ES_SELECTOR, 0x10);
  w(F.HOST_FS_SELECTOR, 0x10); w(F.HOST_GS_SELECTOR, 0x10); w(F.HOST_TR_SELECTOR, 0x18);
  w(F.HOST_TR_BASE, 0x7000); w(F.HOST_GDTR_BASE, GDT); w(F.HOST_IDTR_BASE, 0);
  w(F.HOST_RSP, 0x9000); w(F.HOST_RIP, 0);
  w(F.GUEST_CR0, 0x30); w(F.GUEST_CR3, 0); w(F.GUEST_CR4, 0x2000); w(F.GUEST_DR7, 0x400);
  w(F.GUEST_CS_SELECTOR, GUEST_CODE >> 4); w(F.GUEST_CS_BASE, GUEST_CODE); w(F.GUEST_CS_LIMIT, 0xffff); w(F.GUEST_CS_AR_BYTES, 0x9b);
  for (const s of [0, 2, 3, 4, 5]) {
    w(F.GUEST_ES_SELECTOR + 2 * s, 0); w(F.GUEST_ES_BASE + 2 * s, 0); w(F.GUEST_ES_LIMIT + 2 * s, 0xffff); w(F.GUEST_ES_AR_BYTES + 2 * s, 0x93);
  }
  w(F.GUEST_LDTR_AR_BYTES, F.AR_UNUSABLE);
  w(F.GUEST_TR_LIMIT, 0xffff); w(F.GUEST_TR_AR_BYTES, 0x8b);
  w(F.GUEST_GDTR_LIMIT, 0xffff); w(F.GUEST_IDTR_BASE, 0); w(F.GUEST_IDTR_LIMIT, 0x3ff);
  w(F.GUEST_RSP, 0x8000); w(F.GUEST_RIP, 0); w(F.GUEST_RFLAGS, 2);
  w(F.VMCS_LINK_POINTER, -1); w(F.VMCS_LINK_POINTER_HIGH, -1);
}

/** Moves GUEST_RIP past the exiting instruction. */
function skip(cpu: Cpu): void {
  root.vmwrite(cpu, F.GUEST_RIP, root.vmread(cpu, F.GUEST_RIP) + root.vmread(cpu, F.VM_EXIT_INSTRUCTION_LEN));
}

describe('rootOps: VMX driven by a TypeScript host', () => {
  it('runs a real-mode guest exit by exit: I/O, CPUID, EPT violation, external interrupt with injection, HLT', () => {
    const { cpu, bus } = machine();
    enterRoot(cpu, bus);
    setUpGuest(cpu, bus, [
      0xb0, 0x42, // mov al, 0x42
      0xe6, 0x80, // out 0x80, al
      0x0f, 0xa2, // cpuid
      0xa2, 0x00, 0x50, // mov [0x5000], al
      0xfb, // sti
      0x90, // nop
      0xf4, // hlt
    ], F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_UNRESTRICTED_GUEST | F.SECONDARY_EXEC_ENABLE_VPID);
    // Interrupt vector 0x20 of the guest's IVT: a handler at 0x600:0 that does OUT 0x81, AL; IRET.
    bus.write32(0x20 * 4, 0x0600_0000);
    [0xe6, 0x81, 0xcf].forEach((b, i) => bus.write8(0x6000 + i, b));
    let irq = false;
    cpu.interruptController = { hasInterrupt: () => irq, acknowledge: () => { irq = false; return 0x20; } };

    expect(root.vmlaunch(cpu)).toEqual({ ok: true });
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_IO_INSTRUCTION);
    expect(root.vmread(cpu, F.EXIT_QUALIFICATION)).toBe((0x80 << 16) | (1 << 6));
    expect(cpu.regs[EAX] & 0xff).toBe(0x42); // guest registers other than ESP stay in cpu.regs
    // VPID: the guest's translations survive the exit (the code page is still in the TLB).
    expect(cpu.tlbRead[GUEST_CODE >>> 12]).not.toBe(0);
    skip(cpu);
    expect(root.vmresume(cpu)).toEqual({ ok: true });
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_CPUID);
    cpu.regs[EBX] = 0x1234;
    skip(cpu);
    root.vmresume(cpu);
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_EPT_VIOLATION);
    expect(root.vmread(cpu, F.GUEST_PHYSICAL_ADDRESS)).toBe(0x5000);
    expect(root.vmread(cpu, F.EXIT_QUALIFICATION)).toBe(0x2 | 0x80 | 0x100); // write, linear valid, final translation
    root.vmwrite(cpu, F.GUEST_RIP, root.vmread(cpu, F.GUEST_RIP) + 3); // the hypervisor emulated the MMIO store
    irq = true;
    root.vmresume(cpu);
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_EXTERNAL_INTERRUPT);
    expect(root.vmread(cpu, F.VM_EXIT_INTR_INFO) >>> 0).toBe((F.INTR_INFO_VALID | 0x20) >>> 0); // acknowledged on exit
    expect(irq).toBe(false);
    // Inject it when the guest can take it: after STI and the shadowed NOP, i.e. at HLT. Run to the HLT exit first.
    root.vmresume(cpu);
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_HLT);
    expect(root.vmread(cpu, F.GUEST_RFLAGS) & 0x200).toBe(0x200);
    root.vmwrite(cpu, F.VM_ENTRY_INTR_INFO_FIELD, F.INTR_INFO_VALID | 0x20);
    root.vmresume(cpu);
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(root.vmread(cpu, F.VM_EXIT_REASON)).toBe(F.EXIT_REASON_IO_INSTRUCTION);
    expect(root.vmread(cpu, F.EXIT_QUALIFICATION)).toBe((0x81 << 16) | (1 << 6));
    expect(root.vmread(cpu, F.GUEST_CS_SELECTOR)).toBe(0x600); // in the handler
    expect(root.vmxoff(cpu)).toEqual({ ok: true });
  });

  it('without VPID every exit flushes the TLB; a HLT without HLT exiting halts the guest (STOP_HALT)', () => {
    const { cpu, bus } = machine();
    enterRoot(cpu, bus);
    setUpGuest(cpu, bus, [0xe6, 0x80, 0xf4], F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_UNRESTRICTED_GUEST);
    root.vmwrite(cpu, F.CPU_BASED_VM_EXEC_CONTROL, trueControls(0x48e, F.CPU_BASED_UNCOND_IO_EXITING | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS));
    root.vmlaunch(cpu);
    expect(cpu.run(1000)).toBe(STOP_VMEXIT);
    expect(cpu.tlbRead[GUEST_CODE >>> 12]).toBe(0);
    skip(cpu);
    root.vmresume(cpu);
    expect(cpu.run(1000)).toBe(STOP_HALT);
    expect(cpu.vmx.nonRoot).toBe(true);
  });

  it('reports the instruction results and faults exactly: VMfailInvalid, VMfailValid, #UD, #GP', () => {
    const { cpu, bus } = machine();
    enterRoot(cpu, bus, { vmxe: false });
    bus.write32(VMXON, VMCS_REVISION_ID);
    expect(() => root.vmxon(cpu, VMXON)).toThrowError(expect.objectContaining({ vector: 6 }) as unknown as Error);
    const second = machine();
    enterRoot(second.cpu, second.bus, { featureControl: 1 }); // locked, but VMXON outside SMX not enabled
    second.bus.write32(VMXON, VMCS_REVISION_ID);
    expect(() => root.vmxon(second.cpu, VMXON)).toThrowError(expect.objectContaining({ vector: 13, errorCode: 0 }) as unknown as Error);
    const third = machine();
    enterRoot(third.cpu, third.bus);
    third.bus.write32(VMXON, 0x77);
    expect(root.vmxon(third.cpu, VMXON)).toEqual({ ok: false, kind: 'failInvalid' });
    third.bus.write32(VMXON, VMCS_REVISION_ID);
    expect(root.vmxon(third.cpu, VMXON)).toEqual({ ok: true });
    expect(root.vmlaunch(third.cpu)).toEqual({ ok: false, kind: 'failInvalid' }); // no current VMCS
    third.bus.write32(VMCS, VMCS_REVISION_ID);
    root.vmptrld(third.cpu, VMCS);
    expect(root.vmptrst(third.cpu)).toBe(VMCS);
    expect(root.vmwrite(third.cpu, F.VM_EXIT_REASON, 1)).toEqual({ ok: false, kind: 'failValid', error: F.VMERR_VMWRITE_READ_ONLY_COMPONENT });
    expect(root.vmresume(third.cpu)).toEqual({ ok: false, kind: 'failValid', error: F.VMERR_VMRESUME_NONLAUNCHED_VMCS });
    expect(root.vmlaunch(third.cpu)).toEqual({ ok: false, kind: 'failValid', error: F.VMERR_ENTRY_INVALID_CONTROL_FIELD });
    expect(root.invvpid(third.cpu, F.INVVPID_ALL_CONTEXT, 0, 0)).toEqual({ ok: true });
    expect(root.invept(third.cpu, F.INVEPT_SINGLE_CONTEXT, 0x1000 | (3 << 3) | 5)).toEqual({ ok: false, kind: 'failValid', error: F.VMERR_INVALID_INVEPT_INVVPID_OPERAND });
  });
});
