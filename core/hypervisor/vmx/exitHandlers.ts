/**
 * The VT-x exit handlers: one table indexed by basic exit reason (as KVM's
 * vmx.c), each handler decoding the VMX exit information and calling the
 * vendor-neutral emulation in ../exits/, then saying RESUME or giving the
 * stop report. A reason without a handler stops the VM with its SDM name:
 * the controls are chosen so that only the reasons below can occur.
 */
import { CR4_PAE, ESP, EXC_GP } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { cr0WriteFaults, cr4WriteFaults } from '../exits/controlRegisters.ts';
import { RESUME, type ExitAction } from '../exits/exitContext.ts';
import { guestShutdown, handleCpuid, handleHiddenExtensionInstruction, handleHlt, handleRdmsr, handleWrmsr } from '../exits/instructionExits.ts';
import { handleIoExit } from '../exits/ioExit.ts';
import type { PortSize } from '../exits/portIo.ts';
import { CR0_OWNED, CR4_OWNED } from './vmcsSetup.ts';
import { reloadGuestPdptes } from './guestPdptes.ts';
import { isEferAccess, readGuestEfer, writeGuestEfer } from './guestEfer.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { VmxVcpu } from './vcpu.ts';

export { RESUME, type ExitAction };
export type ExitHandler = (vcpu: VmxVcpu) => ExitAction;

export { exitReasonName } from './exitReasonNames.ts';

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

function tripleFault(v: VmxVcpu): ExitAction {
  return guestShutdown(v, 'triple fault in the guest (VM exit: TRIPLE_FAULT)');
}

// ---- instructions -------------------------------------------------------------

/** RDMSR/WRMSR: IA32_EFER is VT-x's (guestEfer.ts), the rest the vendor-neutral set. */
function rdmsrExit(v: VmxVcpu): ExitAction {
  if (!isEferAccess(v)) return handleRdmsr(v);
  readGuestEfer(v);
  v.skipInstruction();
  return RESUME;
}

function wrmsrExit(v: VmxVcpu): ExitAction {
  if (!isEferAccess(v)) return handleWrmsr(v);
  if (!writeGuestEfer(v)) {
    v.injectException(EXC_GP, 0);
    return RESUME;
  }
  v.skipInstruction();
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
    if (cr0WriteFaults(value) || !reloadGuestPdptes(v, value | CR0_OWNED, v.read(F.GUEST_CR4))) {
      v.injectException(EXC_GP, 0);
      return RESUME;
    }
    v.write(F.CR0_READ_SHADOW, value & CR0_OWNED);
    v.write(F.GUEST_CR0, value | CR0_OWNED);
  } else {
    // CR4.PAE exists on this Intel part (EPT maps PAE guests; see guestPdptes.ts).
    if (cr4WriteFaults(value, CR4_PAE) || !reloadGuestPdptes(v, v.read(F.GUEST_CR0), value | CR4_OWNED)) {
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
  return handleIoExit(v, { size: ((q & 7) + 1) as PortSize, input: (q & 8) !== 0, string: (q & 16) !== 0, rep: (q & 32) !== 0, port: q >>> 16 });
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
EXIT_HANDLERS[F.EXIT_REASON_CPUID] = handleCpuid;
EXIT_HANDLERS[F.EXIT_REASON_HLT] = handleHlt;
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
  EXIT_HANDLERS[r] = handleHiddenExtensionInstruction;
}
