/**
 * Fills a vCPU's VMCS: the execution, exit and entry controls the hypervisor
 * wants (checked against the processor's VMX capability MSRs, as a real
 * hypervisor must), the host state (the root-mode environment from
 * rootMode.ts), and the guest state for the two ways a guest starts: the
 * 32-bit entry of the Linux/Multiboot boot protocols, or the processor's
 * reset state (real mode at F000:FFF0) for firmware, run as an unrestricted
 * guest under EPT.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { vmwrite } from '../../cpu/vmx/rootOps.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';
import { HOST_CS, HOST_DS, HOST_TR, readMsr, type HostEnvironment } from './rootMode.ts';
import { vmxFailure } from './vmxFailure.ts';

const MSR_IA32_VMX_PROCBASED_CTLS2 = 0x48b;
const MSR_IA32_VMX_TRUE_PINBASED_CTLS = 0x48d;
const MSR_IA32_VMX_TRUE_PROCBASED_CTLS = 0x48e;
const MSR_IA32_VMX_TRUE_EXIT_CTLS = 0x48f;
const MSR_IA32_VMX_TRUE_ENTRY_CTLS = 0x490;

const CR0_PE = 1 << 0;
const CR0_ET = 1 << 4;
const CR0_NE = 1 << 5;
const CR4_VMXE = 1 << 13;
/** CR0 bits the hypervisor owns: NE must stay 1 in VMX operation; the guest sees its own value in the read shadow. */
export const CR0_OWNED = CR0_NE;
/** CR4 bits the hypervisor owns: VMXE must stay 1; the guest sees 0 (VMX is hidden from it). */
export const CR4_OWNED = CR4_VMXE;

/** The VPID of the (one) vCPU: any non-zero value; 0 is the host's. */
export const GUEST_VPID = 1;

/** The controls the hypervisor runs every guest with. */
export interface VmxControls {
  pin: number;
  proc: number;
  proc2: number;
  exit: number;
  entry: number;
}

function write(cpu: Cpu, field: number, value: number): void {
  const r = vmwrite(cpu, field, value);
  if (!r.ok) throw new Error(`VMWRITE 0x${field.toString(16)} failed: ${vmxFailure(r)}`);
}

/** Writes a 64-bit field as 32-bit software does: the full encoding, then its _HIGH half. */
function write64(cpu: Cpu, field: number, lo: number, hi: number): void {
  write(cpu, field, lo);
  write(cpu, field + 1, hi);
}

/**
 * A control value with the bits we want, the must-be-1 bits the capability
 * MSR demands (low half) and nothing it does not allow (high half); throws
 * when a wanted control is not implemented.
 */
function adjust(cpu: Cpu, msr: number, wanted: number, what: string): number {
  const { lo: allowed0, hi: allowed1 } = readMsr(cpu, msr);
  const value = (wanted | allowed0) & allowed1;
  const missing = wanted & ~allowed1;
  if (missing !== 0) throw new Error(`the processor does not implement the ${what} controls 0x${(missing >>> 0).toString(16)}`);
  return value | 0;
}

/**
 * The controls: external-interrupt exiting with acknowledge-on-exit (the
 * domain's interrupt controller drives the processor's INTR pin), HLT exiting,
 * I/O bitmaps (every port exits to the device models except the ones the
 * board passes through, see ioBitmaps), EPT with
 * unrestricted guest, VPID (the guest's TLB entries survive exits and
 * entries, tagged with its VPID, so an exit does not cost a TLB refill), and
 * CR3 accesses left to the guest (EPT makes them harmless). RDMSR/WRMSR and
 * CPUID exit unconditionally.
 */
export function chooseControls(cpu: Cpu): VmxControls {
  return {
    pin: adjust(cpu, MSR_IA32_VMX_TRUE_PINBASED_CTLS, F.PIN_BASED_EXT_INTR_MASK, 'pin-based'),
    proc: adjust(
      cpu,
      MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
      F.CPU_BASED_HLT_EXITING | F.CPU_BASED_USE_IO_BITMAPS | F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
      'processor-based',
    ),
    proc2: adjust(
      cpu,
      MSR_IA32_VMX_PROCBASED_CTLS2,
      F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_UNRESTRICTED_GUEST | F.SECONDARY_EXEC_ENABLE_VPID,
      'secondary',
    ),
    exit: adjust(cpu, MSR_IA32_VMX_TRUE_EXIT_CTLS, F.VM_EXIT_ACK_INTR_ON_EXIT, 'VM-exit'),
    entry: adjust(cpu, MSR_IA32_VMX_TRUE_ENTRY_CTLS, 0, 'VM-entry'),
  };
}

/** The interrupt-window control, which the vCPU loop turns on and off. */
export function procWithInterruptWindow(controls: VmxControls, on: boolean): number {
  return on ? controls.proc | F.CPU_BASED_VIRTUAL_INTR_PENDING : controls.proc & ~F.CPU_BASED_VIRTUAL_INTR_PENDING;
}

/**
 * Fills the two 4 KiB I/O bitmaps (A: ports 0-0x7FFF, B: 0x8000-0xFFFF) so
 * that every port exits except `passThrough`. A passed-through port is
 * performed by the processor on its own bus, where machine memory has no
 * device: reads give all ones, writes vanish. The board passes through only
 * port 0x80 (POST codes, and Linux's I/O delay: a quarter of all exits while
 * Linux boots), and only when nobody logs it, as KVM also lets port 0x80 through.
 */
export function fillIoBitmaps(view: DataView, bitmapA: number, bitmapB: number, passThrough: readonly number[]): void {
  for (let i = 0; i < 4096; i += 4) {
    view.setUint32(bitmapA + i, 0xffffffff, true);
    view.setUint32(bitmapB + i, 0xffffffff, true);
  }
  for (const port of passThrough) {
    const base = port < 0x8000 ? bitmapA : bitmapB;
    const bit = port & 0x7fff;
    const at = base + (bit >>> 3);
    view.setUint8(at, view.getUint8(at) & ~(1 << (bit & 7)));
  }
}

/** Controls, host state and the fixed parts of guest state. */
export function writeControlsAndHostState(cpu: Cpu, c: VmxControls, host: HostEnvironment, eptp: number, ioBitmapA: number, ioBitmapB: number): void {
  write(cpu, F.PIN_BASED_VM_EXEC_CONTROL, c.pin);
  write(cpu, F.CPU_BASED_VM_EXEC_CONTROL, c.proc);
  write(cpu, F.SECONDARY_VM_EXEC_CONTROL, c.proc2);
  write(cpu, F.VM_EXIT_CONTROLS, c.exit);
  write(cpu, F.VM_ENTRY_CONTROLS, c.entry);
  write(cpu, F.VIRTUAL_PROCESSOR_ID, GUEST_VPID);
  write(cpu, F.EXCEPTION_BITMAP, 0);
  write(cpu, F.PAGE_FAULT_ERROR_CODE_MASK, 0);
  write(cpu, F.PAGE_FAULT_ERROR_CODE_MATCH, 0);
  write(cpu, F.CR3_TARGET_COUNT, 0);
  write(cpu, F.VM_EXIT_MSR_STORE_COUNT, 0);
  write(cpu, F.VM_EXIT_MSR_LOAD_COUNT, 0);
  write(cpu, F.VM_ENTRY_MSR_LOAD_COUNT, 0);
  write(cpu, F.VM_ENTRY_INTR_INFO_FIELD, 0);
  write(cpu, F.CR0_GUEST_HOST_MASK, CR0_OWNED);
  write(cpu, F.CR4_GUEST_HOST_MASK, CR4_OWNED);
  write(cpu, F.CR4_READ_SHADOW, 0);
  write64(cpu, F.EPT_POINTER, eptp, 0);
  write64(cpu, F.IO_BITMAP_A, ioBitmapA, 0);
  write64(cpu, F.IO_BITMAP_B, ioBitmapB, 0);
  write64(cpu, F.VMCS_LINK_POINTER, -1, -1);
  write64(cpu, F.TSC_OFFSET, 0, 0);

  write(cpu, F.HOST_CR0, host.cr0);
  write(cpu, F.HOST_CR3, host.cr3);
  write(cpu, F.HOST_CR4, host.cr4);
  write(cpu, F.HOST_CS_SELECTOR, HOST_CS);
  for (const f of [F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_ES_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR]) write(cpu, f, HOST_DS);
  write(cpu, F.HOST_TR_SELECTOR, HOST_TR);
  write(cpu, F.HOST_FS_BASE, 0);
  write(cpu, F.HOST_GS_BASE, 0);
  write(cpu, F.HOST_TR_BASE, host.tssBase);
  write(cpu, F.HOST_GDTR_BASE, host.gdtBase);
  write(cpu, F.HOST_IDTR_BASE, host.idtBase);
  write(cpu, F.HOST_IA32_SYSENTER_CS, 0);
  write(cpu, F.HOST_IA32_SYSENTER_ESP, 0);
  write(cpu, F.HOST_IA32_SYSENTER_EIP, 0);
  write(cpu, F.HOST_RSP, host.rsp);
  write(cpu, F.HOST_RIP, host.rip);
}

/** One guest segment as the VMCS holds it. */
interface GuestSegment {
  selector: number;
  base: number;
  limit: number;
  /** Access rights in the VMCS format (type, S, DPL, P, AVL, L, D/B, G; bit 16 = unusable). */
  ar: number;
}

const SEGMENT_FIELDS = [
  // [selector, base, limit, access rights] for ES, CS, SS, DS, FS, GS, LDTR, TR
  [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
  [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
  [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
  [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
  [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
  [F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR_BYTES],
  [F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES],
] as const;

const LDTR_UNUSABLE: GuestSegment = { selector: 0, base: 0, limit: 0, ar: F.AR_UNUSABLE };
/** The reset TR: a busy 32-bit TSS at 0 with limit 0xFFFF (what unrestricted guests start with, as on hardware). */
const TR_RESET: GuestSegment = { selector: 0, base: 0, limit: 0xffff, ar: 0x8b };

/** Guest state common to both starts: no pending events, active, no debug state. */
function writeCommonGuestState(cpu: Cpu, segments: GuestSegment[]): void {
  segments.forEach((s, i) => {
    const [sel, base, limit, ar] = SEGMENT_FIELDS[i];
    write(cpu, sel, s.selector);
    write(cpu, base, s.base);
    write(cpu, limit, s.limit);
    write(cpu, ar, s.ar);
  });
  write(cpu, F.GUEST_DR7, 0x400);
  write(cpu, F.GUEST_INTERRUPTIBILITY_INFO, 0);
  write(cpu, F.GUEST_ACTIVITY_STATE, F.GUEST_ACTIVITY_ACTIVE);
  write(cpu, F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
  write(cpu, F.GUEST_SYSENTER_CS, 0);
  write(cpu, F.GUEST_SYSENTER_ESP, 0);
  write(cpu, F.GUEST_SYSENTER_EIP, 0);
  write64(cpu, F.GUEST_IA32_DEBUGCTL, 0, 0);
  write(cpu, F.GUEST_CR3, 0);
  write(cpu, F.GUEST_CR4, CR4_VMXE);
  write(cpu, F.CR4_READ_SHADOW, 0);
}

/** A descriptor from the guest's GDT as a VMCS segment (accessed bit set, as the load that uses it would set it). */
function fromDescriptor(selector: number, lo: number, hi: number): GuestSegment {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
  const ar = ((hi >>> 8) & 0xf0ff) | 1;
  return { selector, base, limit, ar };
}

/**
 * Guest state for the boot protocols' 32-bit entry: protected mode, paging
 * off, the flat segments described by the GDT the boot loader wrote into
 * guest memory (`descriptor` reads it through the p2m), registers from the
 * entry state. The general-purpose registers other than ESP go into the
 * processor's registers, which VM entry leaves as they are.
 */
export function writeEntryGuestState(cpu: Cpu, e: EntryState, descriptor: (selector: number) => { lo: number; hi: number }): void {
  const seg = (sel: number): GuestSegment => {
    // A null selector leaves the segment unusable (a load of it would).
    if ((sel & ~3) === 0) return { selector: sel, base: 0, limit: 0, ar: F.AR_UNUSABLE };
    const d = descriptor(sel);
    return fromDescriptor(sel, d.lo, d.hi);
  };
  writeCommonGuestState(cpu, [seg(e.es), seg(e.cs), seg(e.ss), seg(e.ds), seg(e.fs), seg(e.gs), LDTR_UNUSABLE, TR_RESET]);
  write(cpu, F.GUEST_CR0, CR0_PE | CR0_ET | CR0_NE);
  write(cpu, F.CR0_READ_SHADOW, CR0_PE | CR0_ET);
  write(cpu, F.GUEST_GDTR_BASE, e.gdtBase);
  write(cpu, F.GUEST_GDTR_LIMIT, e.gdtLimit);
  write(cpu, F.GUEST_IDTR_BASE, 0);
  write(cpu, F.GUEST_IDTR_LIMIT, 0);
  write(cpu, F.GUEST_RSP, e.esp);
  write(cpu, F.GUEST_RIP, e.eip);
  write(cpu, F.GUEST_RFLAGS, e.eflags | 2);
  const r = cpu.regs;
  r[0] = e.eax; r[1] = e.ecx; r[2] = e.edx; r[3] = e.ebx;
  r[4] = e.esp; r[5] = e.ebp; r[6] = e.esi; r[7] = e.edi;
}

/**
 * Guest state at processor reset (SDM Vol. 3A Table 9-1): real mode, CS
 * F000 with base FFFF0000, EIP FFF0, EDX the processor signature. Runs as
 * an unrestricted guest (CR0.PE = PG = 0 under EPT).
 */
export function writeResetGuestState(cpu: Cpu, signature: number): void {
  const data: GuestSegment = { selector: 0, base: 0, limit: 0xffff, ar: 0x93 };
  const code: GuestSegment = { selector: 0xf000, base: 0xffff0000, limit: 0xffff, ar: 0x9b };
  writeCommonGuestState(cpu, [data, code, data, data, data, data, LDTR_UNUSABLE, TR_RESET]);
  write(cpu, F.GUEST_CR0, CR0_ET | CR0_NE);
  write(cpu, F.CR0_READ_SHADOW, CR0_ET); // the guest reads NE as 0 until it sets it
  write(cpu, F.GUEST_GDTR_BASE, 0);
  write(cpu, F.GUEST_GDTR_LIMIT, 0xffff);
  write(cpu, F.GUEST_IDTR_BASE, 0);
  write(cpu, F.GUEST_IDTR_LIMIT, 0x3ff);
  write(cpu, F.GUEST_RSP, 0);
  write(cpu, F.GUEST_RIP, 0xfff0);
  write(cpu, F.GUEST_RFLAGS, 2);
  cpu.regs.fill(0);
  cpu.regs[2] = signature;
}
