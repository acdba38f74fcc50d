/**
 * The VT-x exit handlers: one table indexed by basic exit reason (as KVM's
 * vmx.c), each handler decoding the VMX exit information and calling the
 * vendor-neutral emulation in ../exits/, then saying RESUME or giving the
 * stop report. A reason without a handler stops the VM with its SDM name:
 * the controls are chosen so that only the reasons below can occur.
 */
import { cpuid, writeControlRegister } from '../../cpu/system.ts';
import { CR4_IMPLEMENTED, CR4_PAE, EAX, EDX, ESP, EXC_GP, EXC_PF, EXC_UD } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { guestCpuid } from '../exits/cpuid.ts';
import { readGuestMsr, writeGuestMsr } from '../exits/msrs.ts';
import { emulatePortIo, emulateStringPortIo, type PortIoRequest, type PortSize, type StringIoOperands } from '../exits/portIo.ts';
import { GuestPageFault, guestLinearToPhysical, type GuestPagingState } from '../exits/guestPaging.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import { CR0_OWNED, CR4_OWNED } from './vmcsSetup.ts';
import { reloadGuestPdptes } from './guestPdptes.ts';
import { isEferAccess, readGuestEfer, writeGuestEfer } from './guestEfer.ts';
import { vmxGuestPagingState } from './guestPagingState.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { VmxVcpu } from './vcpu.ts';
import type { VcpuStop } from '../vcpuRun.ts';

export const RESUME = 0;
export type ExitAction = typeof RESUME | VcpuStop;
export type ExitHandler = (vcpu: VmxVcpu) => ExitAction;

export { exitReasonName } from './exitReasonNames.ts';

const RFLAGS_IF = 1 << 9;
const RFLAGS_DF = 1 << 10;
const CR0_PE = 1 << 0;
const CR0_PG = 1 << 31;
const CR0_CD = 1 << 30;
const CR0_NW = 1 << 29;

// ---- interrupts --------------------------------------------------------------

/** The domain's controller raised INTR while the guest ran; the exit acknowledged it. */
function externalInterrupt(v: VmxVcpu): ExitAction {
  const info = v.read(F.VM_EXIT_INTR_INFO);
  if ((info & F.INTR_INFO_VALID) === 0) return v.report('external-interrupt exit without an acknowledged vector');
  v.domain.interrupts.hold(info & F.INTR_INFO_VECTOR_MASK);
  return RESUME;
}

/** The guest can take interrupts again: the entry that follows injects the held one. */
function interruptWindow(): ExitAction {
  return RESUME;
}

function hlt(v: VmxVcpu): ExitAction {
  v.skipInstruction();
  if ((v.read(F.GUEST_RFLAGS) & RFLAGS_IF) === 0) {
    // Interrupts off and no NMI source on this board: nothing can wake it, as on the bare machine.
    return { kind: 'halt', cs: v.read(F.GUEST_CS_SELECTOR), eip: v.read(F.GUEST_RIP) };
  }
  v.halted = true;
  return RESUME;
}

function tripleFault(v: VmxVcpu): ExitAction {
  return { kind: 'shutdown', cs: v.read(F.GUEST_CS_SELECTOR), eip: v.read(F.GUEST_RIP), detail: 'triple fault in the guest (VM exit: TRIPLE_FAULT)' };
}

// ---- instructions -------------------------------------------------------------

function cpuidExit(v: VmxVcpu): ExitAction {
  const cpu = v.cpu;
  guestCpuid(cpu.regs, () => cpuid(cpu), v.shadowPaging !== null);
  v.skipInstruction();
  return RESUME;
}

function rdmsrExit(v: VmxVcpu): ExitAction {
  const r = v.cpu.regs;
  if (isEferAccess(v)) {
    readGuestEfer(v);
    v.skipInstruction();
    return RESUME;
  }
  const value = readGuestMsr(r[1], v.msrs);
  if (value === null) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  r[EAX] = value[0];
  r[EDX] = value[1];
  v.skipInstruction();
  return RESUME;
}

function wrmsrExit(v: VmxVcpu): ExitAction {
  const r = v.cpu.regs;
  if (isEferAccess(v) ? !writeGuestEfer(v) : !writeGuestMsr(r[1], r[EAX], r[EDX], v.msrs)) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  v.skipInstruction();
  return RESUME;
}

/** VMCALL and the VMX instructions: VMX is hidden from the guest, so they are undefined opcodes to it. */
function vmxInstruction(v: VmxVcpu): ExitAction {
  v.injectException(EXC_UD, null);
  return RESUME;
}

/**
 * MOV to CR0/CR4 that touched a bit the hypervisor owns (CR0.NE, CR4.VMXE):
 * the guest's value goes to the read shadow, the processor gets it with the
 * owned bits as VMX operation needs them. Writes a processor without VMX
 * would refuse raise #GP, as they would there.
 */
function crAccess(v: VmxVcpu): ExitAction {
  if (v.shadowPaging) return v.shadowPaging.crAccess(v); // without EPT: CR0.PG/PE/WP, CR3, CR4.PSE/PGE too (shadowPagingVmx.ts)
  const q = v.read(F.EXIT_QUALIFICATION);
  const cr = q & 15;
  const type = (q >>> 4) & 3;
  const gpr = (q >>> 8) & 15;
  if (type !== 0 || (cr !== 0 && cr !== 4)) return v.report(`unexpected control-register exit (qualification 0x${q.toString(16)})`);
  const value = (gpr === ESP ? v.read(F.GUEST_RSP) : v.cpu.regs[gpr]) >>> 0;
  if (cr === 0) {
    if (((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) || ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0)) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    if (!reloadGuestPdptes(v, value | CR0_OWNED, v.read(F.GUEST_CR4))) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    v.write(F.CR0_READ_SHADOW, value & CR0_OWNED);
    v.write(F.GUEST_CR0, value | CR0_OWNED);
  } else {
    // CR4.PAE exists on this Intel part (EPT maps PAE guests; see guestPdptes.ts).
    if ((value & ~(CR4_IMPLEMENTED | CR4_PAE)) !== 0 || !reloadGuestPdptes(v, v.read(F.GUEST_CR0), value | CR4_OWNED)) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    v.write(F.CR4_READ_SHADOW, value & CR4_OWNED);
    v.write(F.GUEST_CR4, value | CR4_OWNED);
  }
  v.skipInstruction();
  return RESUME;
}

// ---- I/O ------------------------------------------------------------------------

/** SDM Table 28-5: size (bits 2:0), IN (bit 3), string (4), REP (5), port (31:16). */
function ioInstruction(v: VmxVcpu): ExitAction {
  const q = v.read(F.EXIT_QUALIFICATION);
  const req: PortIoRequest = {
    size: ((q & 7) + 1) as PortSize,
    input: (q & 8) !== 0,
    string: (q & 16) !== 0,
    rep: (q & 32) !== 0,
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
    if (emulateStringPortIo(v.domain.ports, v.domain.memory, v.cpu.regs, req, stringOperands(v))) v.skipInstruction();
  } catch (e) {
    if (e instanceof GuestPageFault) {
      writeControlRegister(v.cpu, 2, e.linear); // MOV CR2: the guest's CR2 is the processor's (VMX does not switch it)
      v.injectException(EXC_PF, e.errorCode);
    } else if (e instanceof GuestMemoryFault) {
      return v.report(`string I/O on port 0x${req.port.toString(16)} touched ${e.message}`);
    } else {
      throw e;
    }
  }
  return RESUME;
}

/** Segment and address size of an INS/OUTS, from its prefixes (read at CS:RIP through the guest's paging). */
function stringOperands(v: VmxVcpu): StringIoOperands {
  const paging = pagingState(v);
  const csBase = v.read(F.GUEST_CS_BASE);
  const rip = v.read(F.GUEST_RIP);
  const len = v.read(F.VM_EXIT_INSTRUCTION_LEN);
  let addr32 = (v.read(F.GUEST_CS_AR_BYTES) & (1 << 14)) !== 0;
  let sourceBase = v.read(F.GUEST_DS_BASE);
  const segBases = [F.GUEST_ES_BASE, F.GUEST_CS_BASE, F.GUEST_SS_BASE, F.GUEST_DS_BASE, F.GUEST_FS_BASE, F.GUEST_GS_BASE];
  const overrides: Record<number, number> = { 0x26: 0, 0x2e: 1, 0x36: 2, 0x3e: 3, 0x64: 4, 0x65: 5 };
  for (let i = 0; i < len - 1; i++) {
    const b = v.domain.memory.readU8(guestLinearToPhysical(v.domain.memory, paging, (csBase + rip + i) >>> 0, false));
    if (b === 0x67) addr32 = !addr32;
    else if (b in overrides) sourceBase = v.read(segBases[overrides[b]]);
  }
  return {
    sourceBase,
    esBase: v.read(F.GUEST_ES_BASE),
    addr32,
    down: (v.read(F.GUEST_RFLAGS) & RFLAGS_DF) !== 0,
    paging,
  };
}

function pagingState(v: VmxVcpu): GuestPagingState {
  return vmxGuestPagingState(v);
}

// ---- memory ---------------------------------------------------------------------

/**
 * An access to a guest-physical page with no RAM behind it (a device's
 * registers, a hole) or a write to ROM: the instruction is emulated on the
 * domain's devices (memoryExit.ts). An instruction fetch from there, or a
 * guest page-table walk that reaches it, stops the VM with the address.
 */
function eptViolation(v: VmxVcpu): ExitAction {
  v.counters.eptViolation();
  const gpa = v.read(F.GUEST_PHYSICAL_ADDRESS);
  const q = v.read(F.EXIT_QUALIFICATION);
  const walk = (q & F.EPT_VIOLATION_LINEAR_VALID) !== 0 && (q & F.EPT_VIOLATION_FINAL_TRANSLATION) === 0;
  if ((q & F.EPT_VIOLATION_FETCH) !== 0 || walk) {
    const what = walk ? 'page-table walk' : 'instruction fetch';
    return v.report(`guest ${what} at guest-physical 0x${gpa.toString(16)}, which has no RAM`);
  }
  return emulateDeviceAccess(v, gpa);
}

function eptMisconfig(v: VmxVcpu): ExitAction {
  return v.report(`EPT misconfiguration at guest-physical 0x${v.read(F.GUEST_PHYSICAL_ADDRESS).toString(16)} (a hypervisor bug)`);
}

export const EXIT_HANDLERS: (ExitHandler | undefined)[] = [];
EXIT_HANDLERS[F.EXIT_REASON_EXTERNAL_INTERRUPT] = externalInterrupt;
EXIT_HANDLERS[F.EXIT_REASON_TRIPLE_FAULT] = tripleFault;
EXIT_HANDLERS[F.EXIT_REASON_INTERRUPT_WINDOW] = interruptWindow;
EXIT_HANDLERS[F.EXIT_REASON_CPUID] = cpuidExit;
EXIT_HANDLERS[F.EXIT_REASON_HLT] = hlt;
EXIT_HANDLERS[F.EXIT_REASON_CR_ACCESS] = crAccess;
EXIT_HANDLERS[F.EXIT_REASON_IO_INSTRUCTION] = ioInstruction;
EXIT_HANDLERS[F.EXIT_REASON_MSR_READ] = rdmsrExit;
EXIT_HANDLERS[F.EXIT_REASON_MSR_WRITE] = wrmsrExit;
EXIT_HANDLERS[F.EXIT_REASON_EPT_VIOLATION] = eptViolation;
EXIT_HANDLERS[F.EXIT_REASON_EPT_MISCONFIG] = eptMisconfig;
// Only without EPT (nested paging off): #PF and INVLPG go to the shadow page tables.
EXIT_HANDLERS[F.EXIT_REASON_EXCEPTION_NMI] = (v) => (v.shadowPaging ? v.shadowPaging.exception(v) : v.report('exception exit without shadow paging'));
EXIT_HANDLERS[F.EXIT_REASON_INVLPG] = (v) => (v.shadowPaging ? v.shadowPaging.invlpg(v) : v.report('INVLPG exit without shadow paging'));
for (const r of [
  F.EXIT_REASON_VMCALL, F.EXIT_REASON_VMCLEAR, F.EXIT_REASON_VMLAUNCH, F.EXIT_REASON_VMPTRLD, F.EXIT_REASON_VMPTRST,
  F.EXIT_REASON_VMREAD, F.EXIT_REASON_VMRESUME, F.EXIT_REASON_VMWRITE, F.EXIT_REASON_VMXOFF, F.EXIT_REASON_VMXON,
  F.EXIT_REASON_INVEPT, F.EXIT_REASON_INVVPID,
]) {
  EXIT_HANDLERS[r] = vmxInstruction;
}
