/**
 * Trap-and-emulate: a privileged instruction the guest kernel ran at CPL 1
 * faulted with #GP(0); the monitor decodes it at CS:EIP (the processor's own
 * decoder, as the MMIO emulator does) and performs it against the virtual
 * CPU.
 *
 * Two ways:
 * - The ones whose effect is the virtual CPU's own (CLI, STI, IRET to the
 *   guest kernel, loads of SS with an RPL 0 selector, LLDT, LTR) are
 *   emulated here.
 * - The rest (IN/OUT, INS/OUTS, HLT, MOV CR/DR, CLTS, LMSW, INVLPG,
 *   RDMSR/WRMSR, LGDT/LIDT, INVD/WBINVD) are executed by the processor's own
 *   instruction handler with the privilege check passed (CPL 0 for that one
 *   instruction): they reach their sensitive operation through the seam,
 *   which is the monitor's and answers against the virtual CPU. Operand
 *   decoding, REP and string I/O stay the processor's.
 * A fault while emulating is the guest's (reflected); a shadow fill on the
 * way is hidden.
 */
import { decodeInstruction } from '../../cpu/decoder.ts';
import { CPU_FAULT } from '../../cpu/cpu.ts';
import type { Insn } from '../../cpu/insn.ts';
import { INT_EXCEPTION } from '../../cpu/interrupts.ts';
import { Descriptor, dplOf, isCode, loadCodeSegment, readDescriptor } from '../../cpu/protected/descriptors.ts';
import { CS, EXC_GP, EXC_PF, IF, IOPL_MASK, NT, RF, SS, VM } from '../../cpu/regs.ts';
import { GuestPageFaultInMonitor, MonitorStop, type SoftwareMonitor } from './monitor.ts';
import type { TrapKind } from './monitorCounters.ts';

const code = new Descriptor();

/** Emulates the instruction at the guest's CS:EIP; false when it is not one the monitor emulates (the #GP is the guest's). */
export function emulatePrivileged(m: SoftwareMonitor): boolean {
  const cpu = m.cpu;
  const start = (cpu.segBase[CS] + cpu.eip) | 0;
  let ins: Insn;
  try {
    ins = decodeInstruction((offset) => m.readLinear8(start + offset), cpu.cs32, cpu.eip);
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor || e instanceof RangeError) return false;
    throw e;
  }
  switch (ins.opcode) {
    case 0xfa:
      m.count('cli');
      m.setInterruptFlag(false);
      cpu.eip = ins.nextEip;
      return true;
    case 0xfb:
      m.count('sti');
      m.setInterruptFlag(true);
      cpu.eip = ins.nextEip;
      return true;
    case 0xcf:
      return emulateIret(m, ins);
    case 0xf4:
      return privileged(m, ins, 'hlt');
    case 0xe4: case 0xe5: case 0xe6: case 0xe7: case 0xec: case 0xed: case 0xee: case 0xef:
      return privileged(m, ins, 'in/out');
    case 0x6c: case 0x6d: case 0x6e: case 0x6f:
      return privileged(m, ins, 'ins/outs');
    case 0x8e: // MOV Sreg, r/m16
      if (ins.reg !== SS) return false;
      return guestOperation(m, ins, 'mov ss', () => {
        m.tables.loadGuestSegment(SS, selectorOperand(m, ins));
        cpu.loadedSs();
      });
    case 0x17: // POP SS
      return guestOperation(m, ins, 'mov ss', () => {
        const sel = (ins.o32 ? cpu.peek32(0) : cpu.peek16(0)) & 0xffff;
        m.tables.loadGuestSegment(SS, sel);
        cpu.adjustSp(ins.o32 ? 4 : 2);
        cpu.loadedSs();
      });
    case 0x1b2: // LSS r, m16:32
      if (ins.mod === 3) return false;
      return guestOperation(m, ins, 'mov ss', () => {
        const off = cpu.ea(ins);
        const offset = ins.o32 ? cpu.read32(ins.seg, off) : cpu.read16(ins.seg, off);
        const sel = cpu.read16(ins.seg, (off + (ins.o32 ? 4 : 2)) | 0);
        m.tables.loadGuestSegment(SS, sel);
        if (ins.o32) cpu.regs[ins.reg] = offset;
        else cpu.regs[ins.reg] = (cpu.regs[ins.reg] & ~0xffff) | offset;
      });
    case 0x100: // group 6: LLDT /2, LTR /3
      if (ins.reg === 2) return guestOperation(m, ins, 'lldt/ltr', () => m.tables.loadLdt(selectorOperand(m, ins)));
      if (ins.reg === 3) return guestOperation(m, ins, 'lldt/ltr', () => m.tables.loadTr(selectorOperand(m, ins)));
      return false;
    case 0x101: // group 7: LGDT /2, LIDT /3, LMSW /6, INVLPG /7
      if (ins.reg === 2 || ins.reg === 3) return privileged(m, ins, 'lgdt/lidt');
      if (ins.reg === 6) return privileged(m, ins, 'clts/lmsw');
      if (ins.reg === 7) return privileged(m, ins, 'invlpg');
      return false;
    case 0x106:
      return privileged(m, ins, 'clts/lmsw');
    case 0x120: case 0x122:
      return privileged(m, ins, 'mov cr');
    case 0x121: case 0x123:
      return privileged(m, ins, 'mov dr');
    case 0x130: case 0x132:
      return privileged(m, ins, 'rdmsr/wrmsr');
    case 0x108: case 0x109:
      return privileged(m, ins, 'wbinvd/invd');
    default:
      // Not privileged: a #GP(0) of an access to the guest's own top 4 MiB, past the truncated segment limit (topWindow.ts).
      if (!m.topWindow.touchesTop(ins)) return false;
      return guestOperation(m, ins, 'top 4 MiB', () => {
        if (!m.topWindow.run(ins)) cpu.raiseGP(0);
      });
  }
}

function selectorOperand(m: SoftwareMonitor, ins: Insn): number {
  const cpu = m.cpu;
  return ins.mod === 3 ? cpu.regs[ins.rm] & 0xffff : cpu.read16(ins.seg, cpu.ea(ins));
}

/** Runs the processor's handler of `ins` with its privilege check passed; the seam (the monitor's) does the rest. */
function privileged(m: SoftwareMonitor, ins: Insn, kind: TrapKind): boolean {
  const cpu = m.cpu;
  return guestOperation(m, ins, kind, () => {
    const cpl = cpu.cpl;
    cpu.setCpl(0);
    try {
      ins.fn(cpu, ins);
    } finally {
      if (cpu.cpl === 0) cpu.setCpl(cpl);
    }
  });
}

/**
 * Runs one emulation step for the instruction at EIP (EIP past it first, as
 * the processor's handlers expect); a fault in it is the guest's: EIP goes
 * back to the instruction and the fault is reflected (a shadow fill is
 * hidden and the step runs again).
 */
function guestOperation(m: SoftwareMonitor, ins: Insn, kind: TrapKind, step: () => void): boolean {
  const cpu = m.cpu;
  m.count(kind);
  cpu.eip = ins.nextEip;
  try {
    m.withShadowFills(step);
  } catch (e) {
    cpu.eip = ins.eip;
    if (e instanceof GuestPageFaultInMonitor) {
      m.vcpu.cr2 = e.linear;
      m.reflect(EXC_PF, INT_EXCEPTION, e.errorCode, true);
      return true;
    }
    if (e === CPU_FAULT) {
      m.reflect(CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
      return true;
    }
    throw e;
  }
  return true;
}

/**
 * IRET at CPL 1 to a guest-kernel selector (RPL 0, below the CPL: #GP). The
 * same-privilege return of the guest's view: EIP, CS (loaded with RPL 1),
 * EFLAGS with IF and IOPL into the virtual CPU. Returns to guest user code
 * (RPL 3) never trap; nested tasks and V86 are not supported.
 */
function emulateIret(m: SoftwareMonitor, ins: Insn): boolean {
  const cpu = m.cpu;
  if (!ins.o32) return false;
  if ((cpu.flags & NT) !== 0) throw new MonitorStop('the guest kernel returned from a nested task (IRET with NT), which the software monitor does not support');
  let eip = 0, cs = 0, fl = 0;
  try {
    m.withShadowFills(() => {
      eip = cpu.peek32(0);
      cs = cpu.peek32(4) & 0xffff;
      fl = cpu.peek32(8);
    });
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor || e === CPU_FAULT) return false;
    throw e;
  }
  if ((cs & 3) !== 0 || (cs & 0xfffc) === 0) return false;
  if ((fl & VM) !== 0) throw new MonitorStop('the guest kernel returned to virtual-8086 mode, which the software monitor does not support');
  const procCs = cs | 1;
  return guestOperation(m, ins, 'iret', () => {
    readDescriptor(cpu, procCs, code, EXC_GP, cs & 0xfffc);
    if (!isCode(code.hi) || dplOf(code.hi) !== 1) cpu.raiseGP(cs & 0xfffc);
    cpu.adjustSp(12);
    loadCodeSegment(cpu, procCs, code, 1);
    const v = m.vcpu;
    v.cpl = 0;
    v.iopl = (fl & IOPL_MASK) >>> 12;
    m.setInterruptFlag((fl & IF) !== 0);
    cpu.setFlags((fl & ~(IF | IOPL_MASK | VM | RF)) | IF | 2);
    cpu.nmiBlocked = false;
    cpu.eip = eip >>> 0;
    m.enteredKernel();
  });
}
