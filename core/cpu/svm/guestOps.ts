/**
 * SVM guest mode: the SensitiveOps the CPU runs a guest with. Each
 * operation decides from the intercept vectors VMRUN cached whether it is
 * intercepted (#VMEXIT with the APM's EXITCODE and EXITINFO, §15.7-15.14)
 * or behaves as on the bare processor (with the TSC offset). Also what the
 * run loop asks between instructions (physical INTR, virtual interrupts,
 * §15.21) and exception/event delivery (exception intercepts, EXITINTINFO).
 * Nothing here is on the per-instruction path of a processor not in guest mode.
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import type { AccessSize } from '../../memory/bus.ts';
import { bareMetal, type SensitiveOps } from '../seam.ts';
import { deliverInterrupt, INT_EXCEPTION, INT_EXTERNAL, INT_ICEBP, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interrupts.ts';
import { readControlRegister, writeControlRegister, readDebugRegister, writeDebugRegister, MSR_TSC } from '../system.ts';
import { decodeBlock } from '../decoder.ts';
import { CR0_MP, CR0_TS, CS, ECX, EXC_DF, EXC_PF, IF } from '../regs.ts';
import { VM_EXIT_VECTOR } from '../vmx/vmx.ts';
import * as B from './vmcb.ts';
import { completeSvmExit, raiseSvmExit, takeSvmExit } from './vmexit.ts';

const intercepted = (vector: number, bits: number): boolean => ((bits >>> vector) & 1) !== 0;

function ioIntercepted(cpu: Cpu, port: number, size: number): boolean {
  const svm = cpu.svm;
  if ((svm.misc1 & B.INTERCEPT_IOIO_PROT) === 0) return false;
  // The IOPM has bits past port FFFFh, so an access that wraps reads them (APM 15.10.1).
  for (let p = port; p < port + size; p++) {
    if ((cpu.bus.read8(svm.iopm + (p >>> 3)) & (1 << (p & 7))) !== 0) return true;
  }
  return false;
}

function ioInfo(port: number, size: number, input: boolean): number {
  return (input ? B.IOIO_TYPE_IN : 0) | (B.IOIO_SZ8 << (size >>> 1)) | (port << 16);
}

function msrIntercepted(cpu: Cpu, msr: number, write: boolean): boolean {
  const svm = cpu.svm;
  if ((svm.misc1 & B.INTERCEPT_MSR_PROT) === 0) return false;
  let offset: number;
  if (msr <= 0x1fff) offset = 0;
  else if (msr >= 0xc000_0000 && msr <= 0xc000_1fff) offset = 0x800;
  else if (msr >= 0xc001_0000 && msr <= 0xc001_1fff) offset = 0x1000;
  else return true; // MSRs outside the three vectors are always intercepted
  const bit = (msr & 0x1fff) * 2 + (write ? 1 : 0);
  return (cpu.bus.read8(svm.msrpm + offset + (bit >>> 3)) & (1 << (bit & 7))) !== 0;
}

function guestTsc(cpu: Cpu): number {
  return cpu.clock.tsc() + cpu.tscOffset + cpu.svm.tscOffset;
}

function writeTsc(cpu: Cpu, t: number): void {
  cpu.regs[0] = t % 0x1_0000_0000 | 0;
  cpu.regs[2] = Math.floor(t / 0x1_0000_0000) | 0;
}

const DESCRIPTOR_WRITE = {
  gdt: [B.INTERCEPT_GDTR_WRITE, B.VMEXIT_GDTR_WRITE],
  idt: [B.INTERCEPT_IDTR_WRITE, B.VMEXIT_IDTR_WRITE],
  ldt: [B.INTERCEPT_LDTR_WRITE, B.VMEXIT_LDTR_WRITE],
  tr: [B.INTERCEPT_TR_WRITE, B.VMEXIT_TR_WRITE],
} as const;

const DESCRIPTOR_READ = {
  gdt: [B.INTERCEPT_GDTR_READ, B.VMEXIT_GDTR_READ],
  idt: [B.INTERCEPT_IDTR_READ, B.VMEXIT_IDTR_READ],
  ldt: [B.INTERCEPT_LDTR_READ, B.VMEXIT_LDTR_READ],
  tr: [B.INTERCEPT_TR_READ, B.VMEXIT_TR_READ],
} as const;

/**
 * LGDT, LIDT, LLDT, LTR in guest mode, after their CPL check and before
 * their operand is read (APM 15.11: the write intercepts come first).
 */
export function svmDescriptorTableWrite(cpu: Cpu, which: keyof typeof DESCRIPTOR_WRITE): void {
  const [bit, code] = DESCRIPTOR_WRITE[which];
  if ((cpu.svm.misc1 & bit) !== 0) raiseSvmExit(cpu, code);
}

/** SGDT, SIDT, SLDT, STR in guest mode (SLDT/STR after their real-mode #UD), before the store. */
export function svmDescriptorTableRead(cpu: Cpu, which: keyof typeof DESCRIPTOR_READ): void {
  const [bit, code] = DESCRIPTOR_READ[which];
  if ((cpu.svm.misc1 & bit) !== 0) raiseSvmExit(cpu, code);
}

/** INVD and WBINVD in guest mode, after their CPL check. */
export function svmCacheInvalidation(cpu: Cpu, writeBack: boolean): void {
  const svm = cpu.svm;
  if (writeBack ? (svm.misc2 & B.INTERCEPT_WBINVD) !== 0 : (svm.misc1 & B.INTERCEPT_INVD) !== 0) {
    raiseSvmExit(cpu, writeBack ? B.VMEXIT_WBINVD : B.VMEXIT_INVD);
  }
}

/** IRET in guest mode: intercepted before any of its checks (KVM uses it to see NMI blocking end). */
export function svmIret(cpu: Cpu): void {
  if ((cpu.svm.misc1 & B.INTERCEPT_IRET) !== 0) raiseSvmExit(cpu, B.VMEXIT_IRET);
}

/** RDPMC in guest mode, after its CR4.PCE/CPL check. */
export function svmRdpmc(cpu: Cpu): void {
  if ((cpu.svm.misc1 & B.INTERCEPT_RDPMC) !== 0) raiseSvmExit(cpu, B.VMEXIT_RDPMC);
}

export const svmGuestOps: SensitiveOps = {
  portIn(cpu, port, size) {
    if (ioIntercepted(cpu, port, size)) ioExit(cpu, ioInfo(port, size, true));
    return bareMetal.portIn(cpu, port, size);
  },
  portOut(cpu, port, size: AccessSize, value) {
    if (ioIntercepted(cpu, port, size)) ioExit(cpu, ioInfo(port, size, false));
    bareMetal.portOut(cpu, port, size, value);
  },
  cpuid(cpu) {
    if ((cpu.svm.misc1 & B.INTERCEPT_CPUID) !== 0) raiseSvmExit(cpu, B.VMEXIT_CPUID);
    bareMetal.cpuid(cpu);
  },
  rdmsr(cpu) {
    const msr = cpu.regs[ECX] >>> 0;
    if (msrIntercepted(cpu, msr, false)) raiseSvmExit(cpu, B.VMEXIT_MSR, 0);
    if (msr === MSR_TSC) writeTsc(cpu, guestTsc(cpu));
    else bareMetal.rdmsr(cpu);
  },
  wrmsr(cpu) {
    const msr = cpu.regs[ECX] >>> 0;
    if (msrIntercepted(cpu, msr, true)) raiseSvmExit(cpu, B.VMEXIT_MSR, 1);
    if (msr === MSR_TSC) {
      // The guest writes the TSC it sees: the processor's TSC becomes value - TSC_OFFSET.
      const value = (cpu.regs[2] >>> 0) * 0x1_0000_0000 + (cpu.regs[0] >>> 0) - cpu.svm.tscOffset;
      cpu.tscOffset = value - cpu.clock.tsc();
    } else bareMetal.wrmsr(cpu);
  },
  rdtsc(cpu) {
    if ((cpu.svm.misc1 & B.INTERCEPT_RDTSC) !== 0) raiseSvmExit(cpu, B.VMEXIT_RDTSC);
    writeTsc(cpu, guestTsc(cpu));
  },
  hlt(cpu) {
    if ((cpu.svm.misc1 & B.INTERCEPT_HLT) !== 0) raiseSvmExit(cpu, B.VMEXIT_HLT);
    bareMetal.hlt(cpu);
  },
  readCr(cpu, cr) {
    if (cr <= 4 && cr !== 1 && intercepted(cr, cpu.svm.crRead)) raiseSvmExit(cpu, B.VMEXIT_CR0_READ + cr);
    return readControlRegister(cpu, cr);
  },
  writeCr(cpu, cr, value) {
    // MOV to CR0, LMSW and CLTS all arrive here as CR0 writes.
    const svm = cpu.svm;
    if (cr <= 4 && cr !== 1 && intercepted(cr, svm.crWrite)) raiseSvmExit(cpu, B.VMEXIT_CR0_WRITE + cr);
    if (cr === 0 && (svm.misc1 & B.INTERCEPT_CR0_SEL_WRITE) !== 0 && ((value ^ cpu.cr0) & ~(CR0_TS | CR0_MP)) !== 0) {
      raiseSvmExit(cpu, B.VMEXIT_CR0_SEL_WRITE);
    }
    writeControlRegister(cpu, cr, value);
  },
  readDr(cpu, dr) {
    if (intercepted(dr, cpu.svm.drRead)) raiseSvmExit(cpu, B.VMEXIT_DR0_READ + dr);
    return readDebugRegister(cpu, dr);
  },
  writeDr(cpu, dr, value) {
    if (intercepted(dr, cpu.svm.drWrite)) raiseSvmExit(cpu, B.VMEXIT_DR0_WRITE + dr);
    writeDebugRegister(cpu, dr, value);
  },
  invlpg(cpu, lin) {
    // EXITINFO1 would hold the address only with decode assists (not advertised).
    if ((cpu.svm.misc1 & B.INTERCEPT_INVLPG) !== 0) raiseSvmExit(cpu, B.VMEXIT_INVLPG);
    cpu.invalidatePage(lin);
  },
  // The intercepts of LGDT/LIDT/LLDT/LTR come before their operand is read (svmDescriptorTableWrite).
  loadDescriptorTable: (_cpu, _which, apply) => apply(),
  interrupt(cpu, vector, kind, errorCode, hasErrorCode) {
    const svm = cpu.svm;
    if (vector === VM_EXIT_VECTOR) {
      finishUnwoundExit(cpu);
      return;
    }
    let length = kind === INT_SOFTWARE ? 2 : kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP ? 1 : 0;
    if (svm.injecting) {
      svm.injecting = false; // injected events are not subject to intercepts; RIP is already the return address
      length = 0;
    } else if (kind === INT_NMI) {
      if ((svm.misc1 & B.INTERCEPT_NMI) !== 0) {
        // The NMI stays pending for the host (held by GIF = 0 until STGI).
        cpu.nmiPending = true;
        cpu.nmiBlocked = false;
        takeSvmExit(cpu, B.VMEXIT_NMI);
        return;
      }
    } else if (kind === INT_SOFTWARE && (svm.misc1 & B.INTERCEPT_INTN) !== 0) {
      softwareEventExit(cpu, B.VMEXIT_SWINT, 2); // INT n: intercepted before it delivers anything
      return;
    } else if (kind === INT_ICEBP && (svm.misc2 & B.INTERCEPT_ICEBP) !== 0) {
      softwareEventExit(cpu, B.VMEXIT_ICEBP, 1);
      return;
    } else if (kind !== INT_EXTERNAL && kind !== INT_SOFTWARE && vector < 32 && intercepted(vector, svm.exceptions)) {
      exceptionExit(cpu, vector, kind, errorCode, hasErrorCode);
      return;
    }
    // Delivered through the guest IDT: remembered as EXITINTINFO should the delivery be intercepted.
    const type = kind === INT_EXTERNAL ? B.EVENT_TYPE_INTR : kind === INT_NMI ? B.EVENT_TYPE_NMI
      : kind === INT_SOFTWARE ? B.EVENT_TYPE_SOFT_INT : B.EVENT_TYPE_EXCEPTION;
    svm.intInfo = vector | (type << 8) | (hasErrorCode ? B.EVENT_EV : 0) | B.EVENT_VALID;
    svm.intErrorCode = hasErrorCode ? errorCode : 0;
    svm.intEip = cpu.eip;
    svm.intLength = length;
    try {
      deliverInterrupt(cpu, vector, kind, errorCode, hasErrorCode);
    } catch (e) {
      // An exception while delivering: its intercept is checked before any double-fault conversion.
      if (e !== CPU_FAULT || CPU_FAULT.vector >= 32 || !intercepted(CPU_FAULT.vector, svm.exceptions)) throw e;
      cpu.eip = svm.intEip;
      exceptionExit(cpu, CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
      return;
    }
    svm.intInfo = 0;
    svm.intErrorCode = 0;
  },
};

/** IOIO intercept: EXITINFO1 is completed from the decoded instruction once it is unwound; EXITINFO2 is the next EIP. */
function ioExit(cpu: Cpu, info1: number): never {
  const next = cpu.eip;
  cpu.svm.exitNeedsDecode = false;
  try {
    return raiseSvmExit(cpu, B.VMEXIT_IOIO, info1, next);
  } finally {
    cpu.svm.exitNeedsDecode = true;
  }
}

/**
 * INT n / ICEBP intercepted as instructions: RIP names the instruction
 * (CD ib: 2 bytes, F1: 1), nRIP the next; EXITINFO1 would hold INT n's
 * vector only with decode assists (not advertised).
 */
function softwareEventExit(cpu: Cpu, code: number, length: number): void {
  const svm = cpu.svm;
  svm.exitCode = code;
  svm.exitInfo1 = 0;
  svm.exitInfo1High = 0;
  svm.exitInfo2 = 0;
  svm.exitIsInstruction = true;
  svm.exitNeedsDecode = false;
  svm.exitNextEip = cpu.eip;
  svm.intInfo = 0;
  cpu.eip = cpu.cs32 ? (cpu.eip - length) | 0 : (cpu.eip - length) & 0xffff;
  completeSvmExit(cpu);
}

/** An intercepted exception: EXITINFO1 the error code, EXITINFO2 the #PF address (CR2 is left unchanged). */
function exceptionExit(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  const svm = cpu.svm;
  let info2 = 0;
  if (vector === EXC_PF) {
    info2 = cpu.cr2;
    cpu.cr2 = cpu.cr2BeforeFault;
  }
  // A #DF that is intercepted is not an exit during event delivery.
  if (vector === EXC_DF) svm.intInfo = 0;
  svm.exitCode = B.VMEXIT_EXCP_BASE + vector;
  svm.exitInfo1 = hasErrorCode ? errorCode : 0;
  svm.exitInfo1High = 0;
  svm.exitInfo2 = info2;
  svm.exitIsInstruction = false;
  svm.exitNeedsDecode = false;
  if ((svm.intInfo & B.EVENT_VALID) !== 0 && svm.intLength > 0) {
    // The exception arose delivering INT n / INT3 / INTO: RIP names that instruction.
    cpu.eip = cpu.cs32 ? (cpu.eip - svm.intLength) | 0 : (cpu.eip - svm.intLength) & 0xffff;
  } else if (kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP) {
    // INT3, INTO, INT1 are intercepted like faults: RIP names the instruction, nRIP the next one.
    svm.exitIsInstruction = true;
    svm.exitNextEip = cpu.eip;
    cpu.eip = cpu.cs32 ? (cpu.eip - 1) | 0 : (cpu.eip - 1) & 0xffff;
  }
  completeSvmExit(cpu);
}

/** Completes an exit whose instruction (or event delivery) was unwound by VM_EXIT_VECTOR. */
function finishUnwoundExit(cpu: Cpu): void {
  const svm = cpu.svm;
  if ((svm.intInfo & B.EVENT_VALID) !== 0) {
    // Intercepted during event delivery (#NPF on the IDT or stack): RIP is where the event was raised.
    cpu.eip = svm.intEip;
    if (svm.intLength > 0) cpu.eip = cpu.cs32 ? (cpu.eip - svm.intLength) | 0 : (cpu.eip - svm.intLength) & 0xffff;
  } else if (svm.exitNeedsDecode) {
    const ins = decodeBlock(cpu, (cpu.segBase[CS] + cpu.eip) | 0, cpu.eip).insns[0];
    let info = svm.exitInfo1 | (ins.a32 ? B.IOIO_A32 : B.IOIO_A16);
    if (ins.opcode >= 0x6c && ins.opcode <= 0x6f) {
      info |= B.IOIO_STR;
      if (ins.rep !== 0) info |= B.IOIO_REP;
    }
    svm.exitInfo1 = info;
    svm.exitNeedsDecode = false;
  }
  completeSvmExit(cpu);
}

/**
 * Which interrupts the run loop must look for in guest mode: with
 * V_INTR_MASKING the host's IF (not the guest's) gates physical interrupts,
 * so the loop asks whatever the guest's IF; a pending V_IRQ needs asking
 * even without an INTR line.
 */
export function refreshGuestInterruptPolling(cpu: Cpu): void {
  const svm = cpu.svm;
  cpu.intrMask = !svm.gif ? 0 : svm.vIntrMasking ? -1 : IF;
  cpu.pollIntr = svm.vIrq || svm.savedPollIntr;
}

/**
 * Between instructions in guest mode (GIF = 1, no interrupt shadow): a
 * physical INTR (intercepted, or delivered to the guest), else a virtual
 * interrupt (V_IRQ, APM 15.21.4). True when something happened.
 */
export function svmPollInterrupt(cpu: Cpu): boolean {
  const svm = cpu.svm;
  const guestIf = (cpu.flags & IF) !== 0;
  const ic = cpu.interruptController;
  const physicalOpen = svm.vIntrMasking ? svm.hostIf : guestIf;
  // The INTR pin as the board drives it (cpu.intrLine), or the controller itself on a board that leaves polling
  // on: a pending V_IRQ forces polling, which must not bypass a pin the host holds low (as vmx/nonRoot.ts).
  if (physicalOpen && (cpu.intrLine || svm.savedPollIntr) && ic !== null && ic.hasInterrupt()) {
    if ((svm.misc1 & B.INTERCEPT_INTR) !== 0) {
      takeSvmExit(cpu, B.VMEXIT_INTR); // not acknowledged: it stays pending at the controller
      return true;
    }
    cpu.halted = false;
    cpu.deliver(ic.acknowledge() & 0xff, INT_EXTERNAL, 0, false);
    return true;
  }
  if (svm.vIrq && guestIf && (svm.vIgnTpr || svm.vIntrPrio > (svm.vTpr & 0xf))) {
    if ((svm.misc1 & B.INTERCEPT_VINTR) !== 0) {
      takeSvmExit(cpu, B.VMEXIT_VINTR); // V_IRQ stays set for the host to see
      return true;
    }
    svm.vIrq = false;
    refreshGuestInterruptPolling(cpu);
    cpu.halted = false;
    cpu.deliver(svm.vIntrVector, INT_EXTERNAL, 0, false);
    return true;
  }
  return false;
}

/** A shutdown (triple fault) in guest mode: #VMEXIT(SHUTDOWN) when intercepted. True when it exited. */
export function svmShutdownExits(cpu: Cpu): boolean {
  const svm = cpu.svm;
  if ((svm.misc1 & B.INTERCEPT_SHUTDOWN) === 0) return false;
  svm.intInfo = 0;
  takeSvmExit(cpu, B.VMEXIT_SHUTDOWN);
  return true;
}
