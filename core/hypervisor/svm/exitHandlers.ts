/**
 * The AMD-V exit handlers: one table indexed by EXITCODE (as KVM's svm.c),
 * each decoding the SVM exit information (EXITINFO1/2, nRIP) and calling the
 * vendor-neutral emulation in ../exits/ that VT-x's handlers call too, then
 * saying RESUME or giving the stop report. An EXITCODE without a handler
 * stops the VM with its APM name: the intercepts (vmcbSetup.ts) are chosen
 * so that only the codes below can occur.
 */
import { cpuid } from '../../cpu/system.ts';
import { EAX, EDX, EXC_GP, EXC_UD, EXC_PF } from '../../cpu/regs.ts';
import { vmsave } from '../../cpu/svm/rootOps.ts';
import * as B from '../../cpu/svm/vmcb.ts';
import { guestCpuid } from '../exits/cpuid.ts';
import { GuestPageFault, guestLinearToPhysical } from '../exits/guestPaging.ts';
import { readGuestMsr, writeGuestMsr } from '../exits/msrs.ts';
import { emulatePortIo, emulateStringPortIo, type PortIoRequest, type PortSize, type StringIoOperands } from '../exits/portIo.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import { exitCodeName } from './exitCodeNames.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { SvmShadowPaging } from './shadowPagingSvm.ts';
import type { SvmVcpu } from './vcpu.ts';

export const RESUME = 0;
export type ExitAction = typeof RESUME | VcpuStop;
export type ExitHandler = (vcpu: SvmVcpu) => ExitAction;

const RFLAGS_IF = 1 << 9;
const RFLAGS_DF = 1 << 10;
const CS_ATTR_D = 1 << 10; // VMCB attribute bits: D/B in bit 10

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

function hlt(v: SvmVcpu): ExitAction {
  v.skipInstruction();
  if ((v.vmcb.read(B.VMCB_RFLAGS) & RFLAGS_IF) === 0) {
    // Interrupts off and no NMI source on this board: nothing can wake it, as on the bare machine.
    return { kind: 'halt', cs: v.vmcb.read(B.VMCB_CS) & 0xffff, eip: v.vmcb.read(B.VMCB_RIP) };
  }
  v.halted = true;
  return RESUME;
}

function shutdown(v: SvmVcpu): ExitAction {
  return { kind: 'shutdown', cs: v.vmcb.read(B.VMCB_CS) & 0xffff, eip: v.vmcb.read(B.VMCB_RIP), detail: 'triple fault in the guest (#VMEXIT: SHUTDOWN)' };
}

// ---- instructions ----------------------------------------------------------------

function cpuidExit(v: SvmVcpu): ExitAction {
  const cpu = v.cpu;
  guestCpuid(cpu.regs, () => cpuid(cpu), v.shadowPaging !== null);
  v.skipInstruction();
  return RESUME;
}

/**
 * RDMSR/WRMSR (EXITINFO1: 0 read, 1 write). EFER exists on the AMD part;
 * the guest's EFER is the VMCB's without SVME, which VMRUN requires and the
 * guest does not see (SVM is hidden), and it has no other bit this part
 * implements. Everything else is the vendor-neutral MSR set (exits/msrs.ts).
 */
function msrExit(v: SvmVcpu): ExitAction {
  const r = v.cpu.regs;
  const msr = r[1] >>> 0;
  const write = v.exit.info1 === 1;
  if (msr === B.MSR_EFER) {
    if (write && (r[EAX] !== 0 || r[EDX] !== 0)) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    if (!write) r[EAX] = r[EDX] = 0;
    v.skipInstruction();
    return RESUME;
  }
  if (write) {
    if (!writeGuestMsr(msr, r[EAX], r[EDX], v.msrs)) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
  } else {
    const value = readGuestMsr(msr, v.msrs);
    if (value === null) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    r[EAX] = value[0];
    r[EDX] = value[1];
  }
  v.skipInstruction();
  return RESUME;
}

/** VMRUN, VMMCALL and the other SVM instructions: SVM is hidden from the guest, so they are undefined opcodes to it. */
function svmInstruction(v: SvmVcpu): ExitAction {
  v.injectException(EXC_UD, null);
  return RESUME;
}

// ---- I/O -------------------------------------------------------------------------

/** APM 15.10.2: IN (bit 0), string (2), REP (3), size SZ8/16/32 (4-6), address size A16/A32 (7-8), port (31:16); EXITINFO2 = next RIP. */
function ioio(v: SvmVcpu): ExitAction {
  const q = v.exit.info1;
  const req: PortIoRequest = {
    size: (q & B.IOIO_SZ8 ? 1 : q & (B.IOIO_SZ8 << 1) ? 2 : 4) as PortSize,
    input: (q & B.IOIO_TYPE_IN) !== 0,
    string: (q & B.IOIO_STR) !== 0,
    rep: (q & B.IOIO_REP) !== 0,
    port: q >>> 16,
  };
  v.counters.ioExit(req.port);
  if (!req.string) {
    emulatePortIo(v.domain.ports, v.cpu.regs, req);
    v.skipInstruction();
    return RESUME;
  }
  // INS writes guest memory behind the shadows' write protection: any page table may change (resynced at the next flush).
  if (req.input) v.shadowPaging?.shadow.guestMemoryWrittenAnywhere();
  try {
    if (emulateStringPortIo(v.domain.ports, v.domain.memory, v.cpu.regs, req, stringOperands(v, (q & B.IOIO_A32) !== 0))) v.skipInstruction();
  } catch (e) {
    if (e instanceof GuestPageFault) {
      v.vmcb.write64(B.VMCB_CR2, e.linear); // the guest's CR2 is the VMCB's under SVM
      v.injectException(EXC_PF, e.errorCode);
    } else if (e instanceof GuestMemoryFault) {
      return v.report(`string I/O on port 0x${req.port.toString(16)} touched ${e.message}`);
    } else {
      throw e;
    }
  }
  return RESUME;
}

/**
 * Segment of an OUTS (from its prefixes, read at CS:RIP through the guest's
 * paging: EXITINFO1 names the segment only with decode assists, which this
 * processor does not have) and the other operands. FS and GS are VMSAVE's
 * part of the state: written to the VMCB to be read.
 */
function stringOperands(v: SvmVcpu, addr32: boolean): StringIoOperands {
  const vmcb = v.vmcb;
  const paging = v.pagingState();
  const base = (seg: number) => vmcb.read(seg + 8);
  const csBase = base(B.VMCB_CS);
  const rip = vmcb.read(B.VMCB_RIP);
  const length = (v.exit.info2 - rip) >>> 0;
  const overrides: Record<number, number> = { 0x26: B.VMCB_ES, 0x2e: B.VMCB_CS, 0x36: B.VMCB_SS, 0x3e: B.VMCB_DS, 0x64: B.VMCB_FS, 0x65: B.VMCB_GS };
  let source = B.VMCB_DS;
  for (let i = 0; i < length - 1 && i < 15; i++) {
    const b = v.domain.memory.readU8(guestLinearToPhysical(v.domain.memory, paging, (csBase + rip + i) >>> 0, false));
    if (b in overrides) source = overrides[b];
  }
  if (source === B.VMCB_FS || source === B.VMCB_GS) vmsave(v.cpu, vmcb.pa);
  return { sourceBase: base(source), esBase: base(B.VMCB_ES), addr32, down: (vmcb.read(B.VMCB_RFLAGS) & RFLAGS_DF) !== 0, paging };
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
  [B.VMEXIT_HLT, hlt],
  [B.VMEXIT_SHUTDOWN, shutdown],
  [B.VMEXIT_CPUID, cpuidExit],
  [B.VMEXIT_MSR, msrExit],
  [B.VMEXIT_IOIO, ioio],
  [B.VMEXIT_NPF, npf],
  ...[0, 3, 4].flatMap((cr) => [
    [B.VMEXIT_CR0_READ + cr, shadowPaging((s, v) => s.crRead(v, cr))],
    [B.VMEXIT_CR0_WRITE + cr, shadowPaging((s, v) => s.crWrite(v, cr))],
  ] as [number, ExitHandler][]),
  [B.VMEXIT_INVLPG, shadowPaging((s, v) => s.invlpg(v))],
  [B.VMEXIT_EXCP_BASE + EXC_PF, shadowPaging((s, v) => s.pageFault(v))],
  ...[B.VMEXIT_VMRUN, B.VMEXIT_VMMCALL, B.VMEXIT_VMLOAD, B.VMEXIT_VMSAVE, B.VMEXIT_STGI, B.VMEXIT_CLGI, B.VMEXIT_SKINIT, B.VMEXIT_INVLPGA].map(
    (code) => [code, svmInstruction] as [number, ExitHandler],
  ),
]);
