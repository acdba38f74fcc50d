/**
 * Fills a vCPU's VMCB (AMD64 APM Vol. 2 Appendix B): the intercepts the
 * hypervisor runs every guest with, the I/O and MSR permission maps, nested
 * paging, the ASID, and the guest state for the two ways a guest starts:
 * the 32-bit entry of the Linux/Multiboot boot protocols, or the
 * processor's reset state (real mode at F000:FFF0) for firmware. SVM has no
 * "unrestricted guest" control: real mode runs under nested paging as it is.
 *
 * The VMCB is a page of machine memory the hypervisor writes directly (as
 * host software writes its VMCB); the processor reads it at VMRUN.
 */
import * as B from '../../cpu/svm/vmcb.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';

const CR0_PE = 1 << 0;
const CR0_ET = 1 << 4;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;

/** The ASID of the (one) vCPU: any non-zero value below CPUID 8000_000Ah:EBX; 0 is the host's. */
export const GUEST_ASID = 1;

/**
 * Intercepts: INTR (the domain's controller raises the processor's INTR
 * pin; with V_INTR_MASKING that is an exit whatever the guest's IF), VINTR
 * (the interrupt window: V_IRQ is set only while an interrupt waits),
 * shutdown (a triple fault stops the VM with a report), CPUID (filtered),
 * HLT (the vCPU blocks), IOIO through the permission map, MSR through the
 * permission map (every MSR), and every SVM instruction, which is undefined
 * to a guest that does not see SVM (VMRUN's intercept is required anyway).
 * CR and exception intercepts stay off: with nested paging the guest's
 * CR0/CR3/CR4 and its page faults are its own.
 */
export const MISC1_INTERCEPTS =
  B.INTERCEPT_INTR | B.INTERCEPT_VINTR | B.INTERCEPT_SHUTDOWN | B.INTERCEPT_CPUID | B.INTERCEPT_HLT | B.INTERCEPT_INVLPGA |
  B.INTERCEPT_IOIO_PROT | B.INTERCEPT_MSR_PROT;
export const MISC2_INTERCEPTS =
  B.INTERCEPT_VMRUN | B.INTERCEPT_VMMCALL | B.INTERCEPT_VMLOAD | B.INTERCEPT_VMSAVE | B.INTERCEPT_STGI | B.INTERCEPT_CLGI | B.INTERCEPT_SKINIT;

/** A VMCB in machine memory, read and written by offset. */
export class Vmcb {
  constructor(
    private readonly view: DataView,
    readonly pa: number,
  ) {}

  read(off: number): number {
    return this.view.getUint32(this.pa + off, true);
  }

  write(off: number, value: number): void {
    this.view.setUint32(this.pa + off, value >>> 0, true);
  }

  /** A 64-bit field from a 32-bit value (high dword `hi`, 0 unless given). */
  write64(off: number, lo: number, hi = 0): void {
    this.write(off, lo);
    this.write(off + 4, hi);
  }

  /** A segment: selector and attributes (VMCB format), limit, base. */
  writeSegment(off: number, s: GuestSegment): void {
    this.write(off, (s.selector & 0xffff) | (s.attr << 16));
    this.write(off + 4, s.limit);
    this.write64(off + 8, s.base);
  }

  clear(): void {
    for (let i = 0; i < 4096; i += 4) this.write(i, 0);
  }
}

/** One guest segment as the VMCB holds it (attributes: type/S/DPL/P in 7:0, AVL/L/D/G in 11:8). */
export interface GuestSegment {
  selector: number;
  base: number;
  limit: number;
  attr: number;
}

/**
 * Fills the 12 KiB I/O permission map so that every port exits except
 * `passThrough` (the same choice as VT-x's I/O bitmaps, vmx/vmcsSetup.ts:
 * only port 0x80, when nobody logs it). The bits past port FFFFh stay set
 * (an access that wraps exits).
 */
export function fillIoPermissionMap(view: DataView, iopm: number, passThrough: readonly number[]): void {
  for (let i = 0; i < B.IOPM_SIZE; i += 4) view.setUint32(iopm + i, 0xffffffff, true);
  for (const port of passThrough) {
    const at = iopm + (port >>> 3);
    view.setUint8(at, view.getUint8(at) & ~(1 << (port & 7)));
  }
}

/** Every MSR read and write exits (exits/msrs.ts answers them), as on VT-x without MSR bitmaps. */
export function fillMsrPermissionMap(view: DataView, msrpm: number): void {
  for (let i = 0; i < B.MSRPM_SIZE; i += 4) view.setUint32(msrpm + i, 0xffffffff, true);
}

/** The control area: intercepts, permission maps, ASID, virtual interrupt masking, nested paging. */
export function writeControls(vmcb: Vmcb, iopm: number, msrpm: number, nCr3: number | null): void {
  vmcb.write(B.VMCB_INTERCEPT_CR, 0);
  vmcb.write(B.VMCB_INTERCEPT_DR, 0);
  vmcb.write(B.VMCB_INTERCEPT_EXCEPTIONS, 0);
  vmcb.write(B.VMCB_INTERCEPT_MISC1, MISC1_INTERCEPTS);
  vmcb.write(B.VMCB_INTERCEPT_MISC2, MISC2_INTERCEPTS);
  vmcb.write64(B.VMCB_IOPM_BASE_PA, iopm);
  vmcb.write64(B.VMCB_MSRPM_BASE_PA, msrpm);
  vmcb.write64(B.VMCB_TSC_OFFSET, 0);
  vmcb.write(B.VMCB_GUEST_ASID, GUEST_ASID);
  vmcb.write(B.VMCB_TLB_CONTROL, B.TLB_CONTROL_FLUSH_ALL);
  // V_INTR_MASKING: the guest's IF masks only virtual interrupts; physical INTR is the host's (an exit).
  vmcb.write(B.VMCB_VINTR, B.V_INTR_MASKING | B.V_IGN_TPR);
  vmcb.write(B.VMCB_VINTR_VECTOR, 0);
  vmcb.write64(B.VMCB_NP_ENABLE, nCr3 === null ? 0 : 1);
  vmcb.write64(B.VMCB_N_CR3, nCr3 ?? 0);
  vmcb.write64(B.VMCB_EVENTINJ, 0);
}

/** A descriptor from the guest's GDT as a VMCB segment (accessed bit set, as the load that uses it would set it). */
function fromDescriptor(selector: number, lo: number, hi: number): GuestSegment {
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & (1 << 23)) limit = ((limit << 12) | 0xfff) >>> 0;
  const attr = (((hi >>> 8) & 0xff) | ((hi >>> 12) & 0xf00)) | 1;
  return { selector, base, limit, attr };
}

const NULL_SEGMENT: GuestSegment = { selector: 0, base: 0, limit: 0, attr: 0 };
/** TR at reset: a busy 32-bit TSS at 0 with limit FFFFh; LDTR: an LDT at 0 with limit FFFFh (APM Vol. 2 Table 14-1). */
const TR_RESET: GuestSegment = { selector: 0, base: 0, limit: 0xffff, attr: 0x8b };
const LDTR_RESET: GuestSegment = { selector: 0, base: 0, limit: 0xffff, attr: 0x82 };

/** Guest state common to both starts: EFER.SVME (VMRUN requires it; the guest reads EFER without it), debug registers, no shadow. */
function writeCommonGuestState(vmcb: Vmcb): void {
  vmcb.write64(B.VMCB_EFER, B.EFER_SVME);
  vmcb.write64(B.VMCB_CR2, 0);
  vmcb.write64(B.VMCB_CR3, 0);
  vmcb.write64(B.VMCB_CR4, 0);
  vmcb.write64(B.VMCB_DR6, 0xffff0ff0);
  vmcb.write64(B.VMCB_DR7, 0x400);
  vmcb.write64(B.VMCB_INTERRUPT_SHADOW, 0);
  vmcb.write(B.VMCB_CPL & ~3, 0); // CPL 0 (the byte at 0x4CB and its neighbours, reserved)
  vmcb.write64(B.VMCB_EVENTINJ, 0);
  // STAR..SYSENTER_EIP: none of these MSRs exist on this part; VMLOAD carries zeros.
  for (let off = B.VMCB_STAR; off < B.VMCB_STAR + 64; off += 4) vmcb.write(off, 0);
}

/**
 * Guest state for the boot protocols' 32-bit entry: protected mode, paging
 * off, the flat segments described by the GDT the boot loader wrote into
 * guest memory (`descriptor` reads it through the p2m). FS, GS, TR and LDTR
 * are VMLOAD's part of the state (the caller performs it), and the
 * general-purpose registers other than RAX and RSP the caller's too (VMRUN
 * takes only those two from the VMCB).
 */
export function writeEntryGuestState(vmcb: Vmcb, e: EntryState, descriptor: (selector: number) => { lo: number; hi: number }): void {
  const seg = (sel: number): GuestSegment => {
    if ((sel & ~3) === 0) return { ...NULL_SEGMENT, selector: sel };
    const d = descriptor(sel);
    return fromDescriptor(sel, d.lo, d.hi);
  };
  writeCommonGuestState(vmcb);
  vmcb.writeSegment(B.VMCB_ES, seg(e.es));
  vmcb.writeSegment(B.VMCB_CS, seg(e.cs));
  vmcb.writeSegment(B.VMCB_SS, seg(e.ss));
  vmcb.writeSegment(B.VMCB_DS, seg(e.ds));
  vmcb.writeSegment(B.VMCB_FS, seg(e.fs));
  vmcb.writeSegment(B.VMCB_GS, seg(e.gs));
  vmcb.writeSegment(B.VMCB_TR, TR_RESET);
  vmcb.writeSegment(B.VMCB_LDTR, NULL_SEGMENT);
  vmcb.write(B.VMCB_GDTR + 4, e.gdtLimit);
  vmcb.write64(B.VMCB_GDTR + 8, e.gdtBase);
  vmcb.write(B.VMCB_IDTR + 4, 0);
  vmcb.write64(B.VMCB_IDTR + 8, 0);
  vmcb.write64(B.VMCB_CR0, CR0_PE | CR0_ET);
  vmcb.write64(B.VMCB_RFLAGS, e.eflags | 2);
  vmcb.write64(B.VMCB_RIP, e.eip);
  vmcb.write64(B.VMCB_RSP, e.esp);
  vmcb.write64(B.VMCB_RAX, e.eax);
}

/**
 * Guest state at processor reset (APM Vol. 2 Table 14-1): real mode, CS
 * F000 with base FFFF0000, EIP FFF0, CR0 = 60000010h (CD, NW, ET).
 */
export function writeResetGuestState(vmcb: Vmcb): void {
  const data: GuestSegment = { selector: 0, base: 0, limit: 0xffff, attr: 0x93 };
  writeCommonGuestState(vmcb);
  for (const off of [B.VMCB_ES, B.VMCB_SS, B.VMCB_DS, B.VMCB_FS, B.VMCB_GS]) vmcb.writeSegment(off, data);
  vmcb.writeSegment(B.VMCB_CS, { selector: 0xf000, base: 0xffff0000, limit: 0xffff, attr: 0x9b });
  vmcb.writeSegment(B.VMCB_TR, TR_RESET);
  vmcb.writeSegment(B.VMCB_LDTR, LDTR_RESET);
  vmcb.write(B.VMCB_GDTR + 4, 0xffff);
  vmcb.write64(B.VMCB_GDTR + 8, 0);
  vmcb.write(B.VMCB_IDTR + 4, 0x3ff);
  vmcb.write64(B.VMCB_IDTR + 8, 0);
  vmcb.write64(B.VMCB_CR0, CR0_CD | CR0_NW | CR0_ET);
  vmcb.write64(B.VMCB_RFLAGS, 2);
  vmcb.write64(B.VMCB_RIP, 0xfff0);
  vmcb.write64(B.VMCB_RSP, 0);
  vmcb.write64(B.VMCB_RAX, 0);
}
