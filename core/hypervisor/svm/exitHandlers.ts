/**
 * The AMD-V exit handlers: one table indexed by EXITCODE (as KVM's svm.c),
 * each decoding the SVM exit information (EXITINFO1/2, nRIP) and calling the
 * vendor-neutral emulation in ../exits/ that VT-x's handlers call too, then
 * saying RESUME or giving the stop report. An EXITCODE without a handler
 * stops the VM with its APM name: the intercepts (vmcbSetup.ts) are chosen
 * so that only the codes below can occur.
 */
import { EAX, ECX, EDX, EXC_GP, EXC_PF } from '../../cpu/regs.ts';
import * as B from '../../cpu/svm/vmcb.ts';
import { RESUME, type ExitAction } from '../exits/exitContext.ts';
import { guestLinearToPhysical } from '../exits/guestPaging.ts';
import { guestShutdown, handleCpuid, handleHiddenExtensionInstruction, handleHlt, handleRdmsr, handleWrmsr } from '../exits/instructionExits.ts';
import { handleIoExit } from '../exits/ioExit.ts';
import type { PortSize } from '../exits/portIo.ts';
import { exitCodeName } from './exitCodeNames.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { SvmShadowPaging } from './shadowPagingSvm.ts';
import type { SvmVcpu } from './vcpu.ts';

export { RESUME, type ExitAction };
export type ExitHandler = (vcpu: SvmVcpu) => ExitAction;

// ---- interrupts ----------------------------------------------------------------

/**
 * The domain's controller raised INTR while the guest ran. The intercept
 * leaves the interrupt at the controller: the hypervisor acknowledges it and
 * holds the vector (the pin goes low), and the entry that follows injects it
 * or opens the interrupt window.
 */
function intr(v: SvmVcpu): ExitAction {
  v.domain.interrupts.acknowledgeAndHold();
  return RESUME;
}

/** The guest can take interrupts again (V_IRQ reached it): the entry that follows injects the held one and drops V_IRQ. */
function vintr(): ExitAction {
  return RESUME;
}

function shutdown(v: SvmVcpu): ExitAction {
  return guestShutdown(v, 'triple fault in the guest (#VMEXIT: SHUTDOWN)');
}

// ---- instructions ----------------------------------------------------------------

/**
 * RDMSR/WRMSR (EXITINFO1: 0 read, 1 write). EFER exists on the AMD part;
 * the guest's EFER is the VMCB's without SVME, which VMRUN requires and the
 * guest does not see (SVM is hidden), and it has no other bit this part
 * implements. Everything else is the vendor-neutral MSR set (exits/msrs.ts).
 */
function msrExit(v: SvmVcpu): ExitAction {
  const r = v.cpu.regs;
  const write = v.exit.info1 === 1;
  if (r[ECX] >>> 0 !== B.MSR_EFER) return write ? handleWrmsr(v) : handleRdmsr(v);
  if (write && (r[EAX] !== 0 || r[EDX] !== 0)) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  if (!write) r[EAX] = r[EDX] = 0;
  v.skipInstruction();
  return RESUME;
}

// ---- I/O -------------------------------------------------------------------------

/** APM 15.10.2: IN (bit 0), string (2), REP (3), size SZ8/16/32 (4-6), address size A16/A32 (7-8), port (31:16); EXITINFO2 = next RIP. */
function ioio(v: SvmVcpu): ExitAction {
  const q = v.exit.info1;
  const size = (q & B.IOIO_SZ8 ? 1 : q & (B.IOIO_SZ8 << 1) ? 2 : 4) as PortSize;
  return handleIoExit(v, { size, input: (q & B.IOIO_TYPE_IN) !== 0, string: (q & B.IOIO_STR) !== 0, rep: (q & B.IOIO_REP) !== 0, port: q >>> 16 }, (q & B.IOIO_A32) !== 0);
}

// ---- memory ------------------------------------------------------------------------

/**
 * A nested page fault (EXITINFO1: the page-fault error code, bit 32 final
 * translation, bit 33 during the guest's own page walk; EXITINFO2: the
 * guest-physical address): an access to a page with no RAM behind it (a
 * device's registers, a hole) or a write to ROM, emulated on the domain's
 * devices (memoryExit.ts). A guest page-table walk that reaches such a page
 * stops the VM with the address; so does an instruction fetch from one.
 */
function npf(v: SvmVcpu): ExitAction {
  v.counters.eptViolation();
  const gpa = v.exit.info2;
  if ((v.exit.info1High & B.NPF_PAGE_TABLE_WALK) !== 0) return v.report(`guest page-table walk at guest-physical 0x${gpa.toString(16)}, which has no RAM`);
  if (fetchesFrom(v, gpa)) return v.report(`guest instruction fetch at guest-physical 0x${gpa.toString(16)}, which has no RAM`);
  return emulateDeviceAccess(v, gpa);
}

/**
 * Whether the #NPF is the fetch of the instruction at CS:RIP (EXITINFO1's
 * I/D bit exists only with NX, which this part lacks): its page is the
 * faulting one.
 */
function fetchesFrom(v: SvmVcpu, gpa: number): boolean {
  const linear = (v.vmcb.read(B.VMCB_CS + 8) + v.vmcb.read(B.VMCB_RIP)) >>> 0;
  try {
    return Math.floor(guestLinearToPhysical(v.domain.memory, v.pagingState(), linear, false) / 4096) === Math.floor(gpa / 4096);
  } catch {
    return false; // the guest's tables for CS:RIP are not readable: the emulator reports it
  }
}

/** Without nested paging: a handler of the shadow-paging edge (shadowPagingSvm.ts); the intercept is set only then. */
function shadowPaging(handle: (s: SvmShadowPaging, v: SvmVcpu) => ExitAction): ExitHandler {
  return (v) => (v.shadowPaging ? handle(v.shadowPaging, v) : v.report(`#VMEXIT ${exitCodeName(v.exit.code)} without shadow paging`));
}

export const EXIT_HANDLERS = new Map<number, ExitHandler>([
  [B.VMEXIT_INTR, intr],
  [B.VMEXIT_VINTR, vintr],
  [B.VMEXIT_HLT, handleHlt],
  [B.VMEXIT_SHUTDOWN, shutdown],
  [B.VMEXIT_CPUID, handleCpuid],
  [B.VMEXIT_MSR, msrExit],
  [B.VMEXIT_IOIO, ioio],
  [B.VMEXIT_NPF, npf],
  ...([0, 3, 4] as const).flatMap((cr) => [
    [B.VMEXIT_CR0_READ + cr, shadowPaging((s, v) => s.crRead(v, cr))],
    [B.VMEXIT_CR0_WRITE + cr, shadowPaging((s, v) => s.crWrite(v, cr))],
  ] as [number, ExitHandler][]),
  [B.VMEXIT_INVLPG, shadowPaging((s, v) => s.invlpg(v))],
  [B.VMEXIT_EXCP_BASE + EXC_PF, shadowPaging((s, v) => s.pageFault(v))],
  ...[B.VMEXIT_VMRUN, B.VMEXIT_VMMCALL, B.VMEXIT_VMLOAD, B.VMEXIT_VMSAVE, B.VMEXIT_STGI, B.VMEXIT_CLGI, B.VMEXIT_SKINIT, B.VMEXIT_INVLPGA].map(
    (code) => [code, handleHiddenExtensionInstruction] as [number, ExitHandler],
  ),
]);
