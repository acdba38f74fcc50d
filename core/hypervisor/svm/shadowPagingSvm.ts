/**
 * SVM without nested paging: the VMCB settings and exit handlers that put
 * the hypervisor's shadow page tables (../shadow/) under an SVM guest, as
 * ../vmx/shadowPagingVmx.ts does for VT-x. The SVM edge only: what the
 * exits mean for memory is decided by ShadowPaging.
 *
 * - Intercepts: reads and writes of CR0, CR3 and CR4 (SVM has no read
 *   shadows: the guest reads its own values through the read intercepts;
 *   the CR0 read intercept takes SMSW too, the write intercept LMSW and
 *   CLTS), INVLPG, and #PF in the exception vector.
 * - The processor runs with the guest's CR0 plus PG and WP, the guest's CR4
 *   without PSE (ShadowPaging.processorCr0/4), and CR3 = the shadow
 *   directory. The guest's CR2 is the VMCB's (a reflected #PF sets it).
 * - This processor has no decode assists (CPUID 8000_000Ah), so a CR or
 *   INVLPG intercept does not say which register or address: the
 *   instruction is fetched at CS:RIP through the guest's paging and decoded
 *   with the processor's own decoder, as for MMIO (memoryExit.ts).
 * - TLB: the processor's TLB keeps the guest's entries across VMRUN only for
 *   the same ASID and CR3 with TLB_CONTROL 0 (cpu/svm/README); the
 *   invalidations the shadows ask for are done before VMRUN, single pages
 *   with INVLPGA, more with TLB_CONTROL = flush.
 * - Boot: the boot protocols' 32-bit entry (protected mode, paging off)
 *   runs on the identity shadow of guest-physical space. Real mode (a
 *   firmware guest at the reset vector, or a guest clearing CR0.PE) would
 *   run paged, which this processor refuses at VMRUN: refused with a clear
 *   error, as VT-x without unrestricted guest refuses it.
 * - What the intercepts mean (a hidden or reflected fault, a control-register
 *   write) is decided by ../shadow/shadowExits.ts, shared with VT-x.
 */
import type { Insn } from '../../cpu/insn.ts';
import { EXC_GP, EXC_PF } from '../../cpu/regs.ts';
import { invlpga, vmsave } from '../../cpu/svm/rootOps.ts';
import * as B from '../../cpu/svm/vmcb.ts';
import { RESUME, type ExitAction } from '../exits/exitContext.ts';
import { GuestPageFault, guestLinearToPhysical, type GuestPagingState } from '../exits/guestPaging.ts';
import { GuestMemoryFault, type DomainMemory } from '../memory/domainMemory.ts';
import { ShadowFaultHandler, shadowControlWrite } from '../shadow/shadowExits.ts';
import { ShadowPaging } from '../shadow/shadowPaging.ts';
import { emulateDeviceAccess, fetchInstruction } from './memoryExit.ts';
import type { SvmVcpu } from './vcpu.ts';

const CR0_PE = 1 << 0;
const CR0_MP = 1 << 1;
const CR0_EM = 1 << 2;
const CR0_TS = 1 << 3;
/** CR0, CR3 and CR4, as bits of the CR read and write intercept vectors. */
const CR_BITS = (1 << 0) | (1 << 3) | (1 << 4);
/** Single-page invalidations done with INVLPGA before VMRUN; more than this flush the TLB. */
const MAX_INVLPGA = 16;

export class SvmShadowPaging {
  readonly shadow: ShadowPaging;
  /** The guest's own CR0 and CR4 (what its reads return). */
  private cr0 = 0;
  private cr4 = 0;
  private readonly faults: ShadowFaultHandler;

  constructor(memory: DomainMemory) {
    this.shadow = new ShadowPaging(memory);
    this.faults = new ShadowFaultHandler(this.shadow);
  }

  /** The intercepts shadow paging adds to the VMCB's (after writeControls; nested paging stays off). */
  configure(v: SvmVcpu): void {
    v.vmcb.write(B.VMCB_INTERCEPT_CR, CR_BITS | (CR_BITS << 16));
    v.vmcb.write(B.VMCB_INTERCEPT_EXCEPTIONS, 1 << EXC_PF);
    v.vmcb.write(B.VMCB_INTERCEPT_MISC1, v.vmcb.read(B.VMCB_INTERCEPT_MISC1) | B.INTERCEPT_INVLPG);
  }

  /** After the boot entry's guest state is written (protected mode, paging off): the guest's control registers become the shadows' state. */
  start(v: SvmVcpu): void {
    this.shadow.reset();
    this.faults.reset();
    this.shadow.loadCr3(v.vmcb.read(B.VMCB_CR3));
    this.cr0 = v.vmcb.read(B.VMCB_CR0) >>> 0;
    this.cr4 = v.vmcb.read(B.VMCB_CR4) >>> 0;
    this.shadow.setControl(this.cr0, this.cr4);
    this.placeControls(v);
    v.counters.shadowPaging(this.shadow.counters);
  }

  /**
   * Before VMRUN: the processor's CR3 is the current shadow directory (a fill
   * that found machine memory full starts every shadow over, in new frames),
   * and the TLB invalidations the shadows asked for are done. True: flush the
   * whole TLB (TLB_CONTROL).
   */
  beforeEntry(v: SvmVcpu): boolean {
    v.vmcb.write64(B.VMCB_CR3, this.shadow.machineCr3);
    const f = this.shadow.takeTlbFlush();
    if (f.all || f.nonGlobal || f.addresses.length > MAX_INVLPGA) return true;
    for (const linear of f.addresses) invlpga(v.cpu, linear, v.vmcb.read(B.VMCB_GUEST_ASID));
    return false;
  }

  /** MOV from CR0/CR3/CR4 and SMSW (EXITCODE CRn_READ). */
  crRead(v: SvmVcpu, cr: 0 | 3 | 4): ExitAction {
    const insn = fetchInstruction(v);
    if (typeof insn === 'string') return v.report(insn);
    const r = v.cpu.regs;
    const value = cr === 0 ? this.cr0 : cr === 3 ? this.shadow.guestCr3 : this.cr4;
    if (insn.opcode === 0x120 && insn.reg === cr) {
      r[insn.rm] = value;
    } else if (insn.opcode === 0x101 && insn.reg === 4 && cr === 0 && insn.mod === 3) {
      // SMSW r16 / r32 (the upper half of CR0 with a 32-bit operand).
      r[insn.rm] = insn.o32 ? value : (r[insn.rm] & ~0xffff) | (value & 0xffff);
    } else {
      return v.report(`CR${cr} read intercept on an instruction the hypervisor does not emulate (opcode 0x${insn.opcode.toString(16)}${insn.mod !== 3 ? ', memory operand' : ''})`);
    }
    v.advanceRip(insn.len);
    return RESUME;
  }

  /** MOV to CR0/CR3/CR4, LMSW and CLTS (EXITCODE CRn_WRITE). */
  crWrite(v: SvmVcpu, cr: 0 | 3 | 4): ExitAction {
    const insn = fetchInstruction(v);
    if (typeof insn === 'string') return v.report(insn);
    const r = v.cpu.regs;
    let value: number;
    if (insn.opcode === 0x122 && insn.reg === cr) {
      value = r[insn.rm] >>> 0;
    } else if (cr === 0 && insn.opcode === 0x106) {
      value = this.cr0 & ~CR0_TS; // CLTS
    } else if (cr === 0 && insn.opcode === 0x101 && insn.reg === 6) {
      // LMSW: PE, MP, EM, TS from the operand; PE can be set, not cleared.
      const source = insn.mod === 3 ? r[insn.rm] : this.readWord(v, insn);
      if (typeof source === 'string') return v.report(source);
      value = ((this.cr0 & ~(CR0_MP | CR0_EM | CR0_TS)) | (source & (CR0_PE | CR0_MP | CR0_EM | CR0_TS))) >>> 0;
    } else {
      return v.report(`CR${cr} write intercept on an instruction the hypervisor does not emulate (opcode 0x${insn.opcode.toString(16)})`);
    }
    const action = this.writeControlRegister(v, cr, value);
    if (action === RESUME && !v.hasPendingException()) v.advanceRip(insn.len);
    v.counters.shadowPaging(this.shadow.counters);
    return action;
  }

  private writeControlRegister(v: SvmVcpu, cr: 0 | 3 | 4, value: number): ExitAction {
    const w = shadowControlWrite(this.shadow, cr, value, this.cr0, this.cr4);
    switch (w.kind) {
      case 'gp':
        v.injectException(EXC_GP, 0);
        return RESUME;
      case 'stop':
        return v.report(w.message);
      case 'cr3':
        v.vmcb.write64(B.VMCB_CR3, w.machineCr3);
        return RESUME;
      case 'controls':
        this.cr0 = w.cr0;
        this.cr4 = w.cr4;
        this.placeControls(v);
        return RESUME;
    }
  }

  /** INVLPG (its address decoded from the instruction: EXITINFO1 holds it only with decode assists). */
  invlpg(v: SvmVcpu): ExitAction {
    const insn = fetchInstruction(v);
    if (typeof insn === 'string') return v.report(insn);
    if (insn.opcode !== 0x101 || insn.reg !== 7 || insn.mod === 3) return v.report(`INVLPG intercept on opcode 0x${insn.opcode.toString(16)}`);
    this.shadow.invlpg(this.linearOf(v, insn));
    v.counters.shadowPaging(this.shadow.counters);
    v.advanceRip(insn.len);
    return RESUME;
  }

  /** #PF intercept: EXITINFO1 the error code, EXITINFO2 the linear address (the guest's CR2 unchanged). */
  pageFault(v: SvmVcpu): ExitAction {
    return this.faults.pageFault(v, v.exit.info2, v.exit.info1, (gpa) => emulateDeviceAccess(v, gpa));
  }

  /** The guest's CR0/CR4 (already the shadows' state): the processor's from them, CR3 the current shadow directory. */
  private placeControls(v: SvmVcpu): void {
    v.vmcb.write64(B.VMCB_CR0, ShadowPaging.processorCr0(this.cr0));
    v.vmcb.write64(B.VMCB_CR4, ShadowPaging.processorCr4(this.cr4));
    v.vmcb.write64(B.VMCB_CR3, this.shadow.machineCr3);
  }

  /** The guest's own paging (not the processor's, which runs on the shadows), for walks of its tables. */
  guestPaging(cpl: number): GuestPagingState {
    return { cr0: this.cr0, cr3: this.shadow.guestCr3, cr4: this.cr4, cpl };
  }

  /** The linear address of a decoded memory operand: segment base from the VMCB (FS/GS through VMSAVE) plus the offset. */
  private linearOf(v: SvmVcpu, insn: Insn): number {
    const r = v.cpu.regs;
    let offset = insn.disp;
    if (insn.base >= 0) offset += r[insn.base];
    if (insn.index >= 0) offset += r[insn.index] << insn.scale;
    offset = insn.a32 ? offset >>> 0 : offset & 0xffff;
    if (insn.seg >= 4) vmsave(v.cpu, v.vmcb.pa); // FS, GS
    const base = v.vmcb.read(B.VMCB_ES + 16 * insn.seg + 8);
    return (base + offset) >>> 0;
  }

  /** LMSW's memory operand (a word) through the guest's paging. */
  private readWord(v: SvmVcpu, insn: Insn): number | string {
    const linear = this.linearOf(v, insn);
    const mem = v.domain.memory;
    try {
      const paging = v.pagingState();
      return mem.readU8(guestLinearToPhysical(mem, paging, linear, false)) | (mem.readU8(guestLinearToPhysical(mem, paging, (linear + 1) >>> 0, false)) << 8);
    } catch (e) {
      if (e instanceof GuestPageFault || e instanceof GuestMemoryFault) return `LMSW's operand at 0x${linear.toString(16)} cannot be read: ${e.message}`;
      throw e;
    }
  }
}
