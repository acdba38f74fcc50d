/**
 * VMX non-root operation: the SensitiveOps the CPU runs a guest with. Each
 * operation decides, from the VM-execution controls cached at VM entry,
 * whether it causes a VM exit (SDM Vol. 3C §25.1-25.3) or behaves as on the
 * bare processor, possibly modified (CR0/CR4 guest/host masks and read
 * shadows, TSC offsetting). Also the exits the run loop asks about between
 * instructions (interrupt window, external interrupts, preemption timer)
 * and exception/event delivery (exception bitmap, IDT-vectoring).
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import type { Insn } from '../insn.ts';
import type { AccessSize } from '../../memory/bus.ts';
import { bareMetal, type SensitiveOps } from '../seam.ts';
import { deliverInterrupt, INT_EXCEPTION, INT_ICEBP, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interrupts.ts';
import { readControlRegister, writeControlRegister, readDebugRegister, writeDebugRegister, MSR_TSC } from '../system.ts';
import { decodeBlock } from '../decoder.ts';
import { CR4_DE, CS, DS, ECX, EDI, ES, ESI, EXC_PF, IF } from '../regs.ts';
import * as F from './vmcsFields.ts';
import { VM_EXIT_VECTOR } from './vmx.ts';
import { completeVmExit, raiseVmExit, takeVmExit } from './exit.ts';
import { CR3_TARGET_MAX } from './capabilities.ts';

/** Which instruction decode an exit's qualification still needs. */
export const DECODE_NONE = 0, DECODE_IO = 1, DECODE_CR = 2, DECODE_DR = 3;

const KIND_TO_TYPE = [
  F.INTR_TYPE_EXT_INTR, // INT_EXTERNAL
  F.INTR_TYPE_NMI, // INT_NMI
  F.INTR_TYPE_HARD_EXCEPTION, // INT_EXCEPTION
  F.INTR_TYPE_SOFT_INTR, // INT_SOFTWARE
  F.INTR_TYPE_SOFT_EXCEPTION, // INT_SOFTWARE_EXCEPTION
  F.INTR_TYPE_PRIV_SW_EXCEPTION, // INT_ICEBP
];

function ioExits(cpu: Cpu, port: number, size: number): boolean {
  const vmx = cpu.vmx;
  if ((vmx.proc & F.CPU_BASED_USE_IO_BITMAPS) === 0) return (vmx.proc & F.CPU_BASED_UNCOND_IO_EXITING) !== 0;
  for (let p = port; p < port + size; p++) {
    if (p > 0xffff) return true; // wraps around the I/O space
    const bitmap = p < 0x8000 ? vmx.ioBitmapA : vmx.ioBitmapB;
    if ((cpu.bus.read8(bitmap + ((p & 0x7fff) >>> 3)) & (1 << (p & 7))) !== 0) return true;
  }
  return false;
}

function ioQualification(port: number, size: number, input: boolean): number {
  return (size - 1) | (input ? 1 << 3 : 0) | (port << 16);
}

function msrExits(cpu: Cpu, msr: number, write: boolean): boolean {
  const vmx = cpu.vmx;
  if ((vmx.proc & F.CPU_BASED_USE_MSR_BITMAPS) === 0) return true;
  let offset: number;
  if (msr <= 0x1fff) offset = 0;
  else if (msr >= 0xc000_0000 && msr <= 0xc000_1fff) offset = 1024;
  else return true;
  if (write) offset += 2048;
  const bit = msr & 0x1fff;
  return (cpu.bus.read8(vmx.msrBitmap + offset + (bit >>> 3)) & (1 << (bit & 7))) !== 0;
}

function guestTsc(cpu: Cpu): number {
  const vmx = cpu.vmx;
  const t = cpu.clock.tsc() + cpu.tscOffset;
  return (vmx.proc & F.CPU_BASED_USE_TSC_OFFSETTING) !== 0 ? t + vmx.tscOffset : t;
}

function crQualification(cr: number, type: number): number {
  return cr | (type << 4);
}

export const nonRootOps: SensitiveOps = {
  portIn(cpu, port, size) {
    if (ioExits(cpu, port, size)) raiseVmExit(cpu, F.EXIT_REASON_IO_INSTRUCTION, ioQualification(port, size, true), DECODE_IO);
    return bareMetal.portIn(cpu, port, size);
  },
  portOut(cpu, port, size: AccessSize, value) {
    if (ioExits(cpu, port, size)) raiseVmExit(cpu, F.EXIT_REASON_IO_INSTRUCTION, ioQualification(port, size, false), DECODE_IO);
    bareMetal.portOut(cpu, port, size, value);
  },
  cpuid(cpu) {
    raiseVmExit(cpu, F.EXIT_REASON_CPUID, 0);
  },
  rdmsr(cpu) {
    const msr = cpu.regs[ECX] >>> 0;
    if (msrExits(cpu, msr, false)) raiseVmExit(cpu, F.EXIT_REASON_MSR_READ, 0);
    if (msr === MSR_TSC) {
      const t = guestTsc(cpu);
      cpu.regs[0] = t % 0x1_0000_0000 | 0;
      cpu.regs[2] = Math.floor(t / 0x1_0000_0000) | 0;
      return;
    }
    bareMetal.rdmsr(cpu);
  },
  wrmsr(cpu) {
    const msr = cpu.regs[ECX] >>> 0;
    if (msrExits(cpu, msr, true)) raiseVmExit(cpu, F.EXIT_REASON_MSR_WRITE, 0);
    if (msr === MSR_TSC && (cpu.vmx.proc & F.CPU_BASED_USE_TSC_OFFSETTING) !== 0) {
      // The guest writes the TSC it sees: the processor's TSC becomes value - offset.
      const value = (cpu.regs[2] >>> 0) * 0x1_0000_0000 + (cpu.regs[0] >>> 0) - cpu.vmx.tscOffset;
      cpu.tscOffset = value - cpu.clock.tsc();
      return;
    }
    bareMetal.wrmsr(cpu);
  },
  rdtsc(cpu) {
    if ((cpu.vmx.proc & F.CPU_BASED_RDTSC_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_RDTSC, 0);
    const t = guestTsc(cpu);
    cpu.regs[0] = t % 0x1_0000_0000 | 0;
    cpu.regs[2] = Math.floor(t / 0x1_0000_0000) | 0;
  },
  hlt(cpu) {
    if ((cpu.vmx.proc & F.CPU_BASED_HLT_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_HLT, 0);
    bareMetal.hlt(cpu);
  },
  readCr(cpu, cr) {
    const vmx = cpu.vmx;
    switch (cr) {
      case 0: return (cpu.cr0 & ~vmx.cr0Mask) | (vmx.cr0Shadow & vmx.cr0Mask);
      case 4: return (cpu.cr4 & ~vmx.cr4Mask) | (vmx.cr4Shadow & vmx.cr4Mask);
      case 3:
        if ((vmx.proc & F.CPU_BASED_CR3_STORE_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_CR_ACCESS, crQualification(3, 1), DECODE_CR);
        return cpu.cr3;
      default: return readControlRegister(cpu, cr);
    }
  },
  writeCr(cpu, cr, value) {
    const vmx = cpu.vmx;
    switch (cr) {
      case 0:
        // MOV to CR0, CLTS and LMSW all arrive here; their exit conditions (SDM 25.1.3) reduce to
        // "a host-owned bit would differ from the read shadow" for the value they compute.
        if (((value ^ vmx.cr0Shadow) & vmx.cr0Mask) !== 0) raiseVmExit(cpu, F.EXIT_REASON_CR_ACCESS, 0, DECODE_CR);
        writeControlRegister(cpu, 0, (value & ~vmx.cr0Mask) | (cpu.cr0 & vmx.cr0Mask));
        return;
      case 4:
        if (((value ^ vmx.cr4Shadow) & vmx.cr4Mask) !== 0) raiseVmExit(cpu, F.EXIT_REASON_CR_ACCESS, 4, DECODE_CR);
        writeControlRegister(cpu, 4, (value & ~vmx.cr4Mask) | (cpu.cr4 & vmx.cr4Mask));
        return;
      case 3:
        if ((vmx.proc & F.CPU_BASED_CR3_LOAD_EXITING) !== 0) {
          let target = false;
          for (let i = 0; i < vmx.cr3TargetCount && i < CR3_TARGET_MAX; i++) {
            if (vmx.vmcs.get(F.CR3_TARGET_VALUE0 + 2 * i) === (value | 0) && vmx.vmcs.getHigh(F.CR3_TARGET_VALUE0 + 2 * i) === 0) target = true;
          }
          if (!target) raiseVmExit(cpu, F.EXIT_REASON_CR_ACCESS, 3, DECODE_CR);
        }
        writeControlRegister(cpu, 3, value);
        return;
      default:
        writeControlRegister(cpu, cr, value);
    }
  },
  readDr(cpu, dr) {
    // #UD for DR4/DR5 under CR4.DE has priority over the exit.
    if ((dr === 4 || dr === 5) && (cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
    if ((cpu.vmx.proc & F.CPU_BASED_MOV_DR_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_DR_ACCESS, dr | (1 << 4), DECODE_DR);
    return readDebugRegister(cpu, dr);
  },
  writeDr(cpu, dr, value) {
    if ((dr === 4 || dr === 5) && (cpu.cr4 & CR4_DE) !== 0) cpu.raiseUD();
    if ((cpu.vmx.proc & F.CPU_BASED_MOV_DR_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_DR_ACCESS, dr, DECODE_DR);
    writeDebugRegister(cpu, dr, value);
  },
  invlpg(cpu, lin) {
    if ((cpu.vmx.proc & F.CPU_BASED_INVLPG_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_INVLPG, lin);
    cpu.invalidatePage(lin);
  },
  loadDescriptorTable: (_cpu, _which, apply) => apply(),
  interrupt(cpu, vector, kind, errorCode, hasErrorCode) {
    const vmx = cpu.vmx;
    if (vector === VM_EXIT_VECTOR) {
      finishUnwoundExit(cpu);
      return;
    }
    const type = KIND_TO_TYPE[kind];
    let length = kind === INT_SOFTWARE ? 2 : kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP ? 1 : 0;
    if (vmx.injecting) {
      vmx.injecting = false; // injected events are not subject to the exception bitmap
      if (length !== 0) length = vmx.injectLength;
    } else if (kind === INT_NMI) {
      if ((vmx.pin & F.PIN_BASED_NMI_EXITING) !== 0) {
        takeVmExit(cpu, F.EXIT_REASON_EXCEPTION_NMI, 0, vector | (type << 8) | F.INTR_INFO_VALID);
        return;
      }
    } else if (kind === INT_EXCEPTION || kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP) {
      if (exceptionExits(cpu, vector, errorCode)) {
        exceptionExit(cpu, vector, kind, type, errorCode, hasErrorCode);
        return;
      }
    }
    // Delivered through the guest IDT: remembered as IDT-vectoring information should the delivery exit.
    vmx.vectoringInfo = vector | (type << 8) | (hasErrorCode ? F.INTR_INFO_DELIVER_CODE : 0) | F.INTR_INFO_VALID;
    vmx.vectoringErrorCode = hasErrorCode ? errorCode : 0;
    vmx.vectoringEip = cpu.eip;
    // A software event's instruction length: exact when injected; INT n is CD ib and INT3/INTO/INT1 one byte.
    vmx.vectoringLength = length;
    try {
      deliverInterrupt(cpu, vector, kind, errorCode, hasErrorCode);
    } catch (e) {
      // An exception while delivering: the exception bitmap decides before any double-fault
      // conversion (SDM 25.2), and the exit reports the first event as IDT-vectoring information.
      if (e !== CPU_FAULT || CPU_FAULT.vector >= 32 || !exceptionExits(cpu, CPU_FAULT.vector, CPU_FAULT.errorCode)) throw e;
      cpu.eip = vmx.vectoringEip;
      exceptionExit(cpu, CPU_FAULT.vector, INT_EXCEPTION, F.INTR_TYPE_HARD_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
      return;
    }
    vmx.vectoringInfo = 0;
    vmx.vectoringErrorCode = 0;
  },
};

/**
 * SGDT, SIDT, LGDT, LIDT (`gdtIdt`) and SLDT, STR, LLDT, LTR under
 * "descriptor-table exiting" (SDM 25.1.3): exit reason 46 or 47 after the
 * privilege checks, before the operand is accessed; the qualification is the
 * displacement, the instruction information (Tables 27-10, 27-11) names the
 * operand and, in bits 29:28, the instruction (`identity`: S*DT/SLDT 0,
 * SIDT/STR 1, LGDT/LLDT 2, LIDT/LTR 3).
 */
export function vmxDescriptorTableAccess(cpu: Cpu, i: Insn, gdtIdt: boolean, identity: number): void {
  const vmx = cpu.vmx;
  if ((vmx.proc2 & F.SECONDARY_EXEC_DESC) === 0) return;
  let info = identity << 28;
  if (i.mod === 3) {
    info |= (i.rm << 3) | (1 << 10);
  } else {
    info |= i.scale | ((i.a32 ? 1 : 0) << 7) | (i.seg << 15)
      | (i.index >= 0 ? i.index << 18 : 1 << 22)
      | (i.base >= 0 ? i.base << 23 : 1 << 27);
  }
  if (gdtIdt && i.o32) info |= 1 << 11; // operand size 32
  vmx.exitInstructionInfo = info;
  raiseVmExit(cpu, gdtIdt ? F.EXIT_REASON_GDTR_IDTR : F.EXIT_REASON_LDTR_TR, i.mod === 3 ? 0 : i.disp);
}

/** INVD in non-root operation (after its CPL check): an unconditional exit. */
export function vmxInvd(cpu: Cpu): never {
  return raiseVmExit(cpu, F.EXIT_REASON_INVD, 0);
}

/** RDPMC in non-root operation (after its CR4.PCE/CPL check): exits under "RDPMC exiting". */
export function vmxRdpmc(cpu: Cpu): void {
  if ((cpu.vmx.proc & F.CPU_BASED_RDPMC_EXITING) !== 0) raiseVmExit(cpu, F.EXIT_REASON_RDPMC, 0);
}

function exceptionExits(cpu: Cpu, vector: number, errorCode: number): boolean {
  const vmx = cpu.vmx;
  const bit = (vmx.exceptionBitmap >>> vector) & 1;
  if (vector !== EXC_PF) return bit !== 0;
  // #PF: the bitmap bit decides when (error code & mask) == match, its inverse otherwise.
  return ((errorCode & vmx.pfecMask) === vmx.pfecMatch) === (bit !== 0);
}

function exceptionExit(cpu: Cpu, vector: number, kind: number, type: number, errorCode: number, hasErrorCode: boolean): void {
  const vmx = cpu.vmx;
  let qualification = 0;
  if (vector === EXC_PF) {
    qualification = cpu.cr2; // the faulting linear address; CR2 itself is not written
    cpu.cr2 = cpu.cr2BeforeFault;
  }
  const info = vector | (type << 8) | (hasErrorCode ? F.INTR_INFO_DELIVER_CODE : 0) | F.INTR_INFO_VALID;
  vmx.exitReason = F.EXIT_REASON_EXCEPTION_NMI;
  vmx.exitQualification = qualification;
  vmx.exitIntrInfo = info;
  vmx.exitIntrErrorCode = hasErrorCode ? errorCode : 0;
  vmx.exitInstructionInfo = 0;
  vmx.exitNeedsDecode = DECODE_NONE;
  vmx.exitHasLength = false;
  if ((vmx.vectoringInfo & F.INTR_INFO_VALID) !== 0 && vmx.vectoringLength > 0) {
    // The exception arose delivering a software event: RIP names that instruction, its length is reported.
    vmx.exitNextEip = cpu.eip;
    vmx.exitHasLength = true;
    cpu.eip = cpu.cs32 ? (cpu.eip - vmx.vectoringLength) | 0 : (cpu.eip - vmx.vectoringLength) & 0xffff;
  } else if (kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP) {
    // INT3, INTO, INT1 exit like faults: RIP names the instruction, whose length is reported.
    vmx.exitNextEip = cpu.eip;
    vmx.exitHasLength = true;
    cpu.eip = cpu.cs32 ? (cpu.eip - 1) | 0 : (cpu.eip - 1) & 0xffff;
  }
  completeVmExit(cpu);
}

/** Completes an exit whose instruction (or event delivery) was unwound by VM_EXIT_VECTOR. */
function finishUnwoundExit(cpu: Cpu): void {
  const vmx = cpu.vmx;
  if ((vmx.vectoringInfo & F.INTR_INFO_VALID) !== 0) {
    // The exit interrupted event delivery: RIP is where the event was raised, less a software event's length.
    const len = vmx.vectoringLength;
    cpu.eip = vmx.vectoringEip;
    if (len > 0) {
      vmx.exitNextEip = cpu.eip;
      vmx.exitHasLength = true;
      cpu.eip = cpu.cs32 ? (cpu.eip - len) | 0 : (cpu.eip - len) & 0xffff;
    }
  } else if (vmx.exitNeedsDecode !== DECODE_NONE) {
    vmx.exitQualification = decodedQualification(cpu, vmx.exitNeedsDecode, vmx.exitQualification);
  }
  completeVmExit(cpu);
}

/** The qualification parts only the instruction's encoding gives (SDM Tables 27-3, 27-4, 27-5). */
function decodedQualification(cpu: Cpu, kind: number, q: number): number {
  const ins = decodeBlock(cpu, (cpu.segBase[CS] + cpu.eip) | 0, cpu.eip).insns[0];
  const op = ins.opcode;
  if (kind === DECODE_IO) {
    const string = op >= 0x6c && op <= 0x6f;
    if (string) {
      q |= 1 << 4;
      if (ins.rep !== 0) q |= 1 << 5;
      const input = op <= 0x6d;
      const index = ins.a32 ? cpu.regs[input ? EDI : ESI] : cpu.regs[input ? EDI : ESI] & 0xffff;
      cpu.vmx.exitGuestLinear = (cpu.segBase[input ? ES : ins.segOverride ? ins.seg : DS] + index) | 0;
    }
    if (op >= 0xe4 && op <= 0xe7) q |= 1 << 6; // port given as an immediate
    return q;
  }
  if (kind === DECODE_DR) return q | (ins.rm << 8);
  // CR access: MOV to CR (0F 22), MOV from CR (0F 20), CLTS (0F 06), LMSW (0F 01 /6).
  if (op === 0x122) return crQualification(ins.reg, 0) | (ins.rm << 8);
  if (op === 0x120) return crQualification(ins.reg, 1) | (ins.rm << 8);
  if (op === 0x106) return crQualification(0, 2);
  const source = ins.mod === 3 ? cpu.regs[ins.rm] & 0xffff : cpu.read16(ins.seg, cpu.ea(ins));
  return crQualification(0, 3) | (ins.mod === 3 ? 0 : 1 << 6) | (source << 16);
}

/**
 * Between instructions, before a pending interrupt is delivered: the
 * preemption timer, NMI-window, interrupt-window and external-interrupt
 * exits. True when an exit happened.
 */
export function vmxPollExit(cpu: Cpu): boolean {
  const vmx = cpu.vmx;
  if ((vmx.pin & F.PIN_BASED_VMX_PREEMPTION_TIMER) !== 0 && cpu.clock.tsc() >= vmx.preemptionDeadline) {
    takeVmExit(cpu, F.EXIT_REASON_PREEMPTION_TIMER, 0);
    return true;
  }
  // With virtual NMIs the guest's NMI blocking (cpu.nmiBlocked) is the virtual-NMI blocking: IRET clears it.
  if ((vmx.proc & F.CPU_BASED_VIRTUAL_NMI_PENDING) !== 0 && !cpu.nmiBlocked) {
    takeVmExit(cpu, F.EXIT_REASON_NMI_WINDOW, 0);
    return true;
  }
  if ((vmx.proc & F.CPU_BASED_VIRTUAL_INTR_PENDING) !== 0 && (cpu.flags & IF) !== 0) {
    takeVmExit(cpu, F.EXIT_REASON_INTERRUPT_WINDOW, 0);
    return true;
  }
  // The INTR pin as the board drives it (cpu.intrLine), or the controller itself on a board that leaves
  // polling on: interrupt-window exiting forces polling, which must not bypass a pin the hypervisor holds low.
  if ((vmx.pin & F.PIN_BASED_EXT_INTR_MASK) !== 0 && (cpu.intrLine || vmx.savedPollIntr)) {
    const ic = cpu.interruptController;
    if (ic !== null && ic.hasInterrupt()) {
      let info = 0;
      if ((vmx.exitControls & F.VM_EXIT_ACK_INTR_ON_EXIT) !== 0) {
        info = (ic.acknowledge() & 0xff) | (F.INTR_TYPE_EXT_INTR << 8) | F.INTR_INFO_VALID;
      }
      takeVmExit(cpu, F.EXIT_REASON_EXTERNAL_INTERRUPT, 0, info);
      return true;
    }
  }
  return false;
}

/** A triple fault in non-root operation exits instead of shutting the processor down. */
export function vmxTripleFault(cpu: Cpu): void {
  takeVmExit(cpu, F.EXIT_REASON_TRIPLE_FAULT, 0);
}

/** Task-switch sources as the exit qualification encodes them (bits 31:30), by protected/taskSwitch.ts's TASK_* order (JMP, CALL, IRET, INT). */
const TASK_SOURCE = [2, 0, 1, 3];

/**
 * A task switch in non-root operation (SDM 25.4.2): exit reason 9 with the
 * new TSS selector and the source, taken where the instruction's pseudo-code
 * reaches SWITCH-TASKS (after its checks of the TSS descriptor: type, busy
 * bit, present; before the switch's own, like the TSS limit). A switch through a task gate in the IDT
 * happens during event delivery, which reports it as IDT-vectoring
 * information; CALL, JMP and IRET report their instruction length.
 */
export function vmxTaskSwitch(cpu: Cpu, selector: number, source: number): never {
  const qualification = (selector & 0xffff) | (TASK_SOURCE[source] << 30);
  if (TASK_SOURCE[source] === 3) return raiseVmExitDuringDelivery(cpu, F.EXIT_REASON_TASK_SWITCH, qualification);
  return raiseVmExit(cpu, F.EXIT_REASON_TASK_SWITCH, qualification);
}

function raiseVmExitDuringDelivery(cpu: Cpu, reason: number, qualification: number): never {
  const vmx = cpu.vmx;
  vmx.exitReason = reason;
  vmx.exitQualification = qualification;
  vmx.exitHasLength = false;
  vmx.exitNeedsDecode = DECODE_NONE;
  vmx.exitIntrInfo = 0;
  vmx.exitIntrErrorCode = 0;
  return cpu.fault(VM_EXIT_VECTOR, 0, false);
}
