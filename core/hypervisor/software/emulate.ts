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
import { Descriptor, dplOf, hideInaccessibleDataSegments, isCode, limitOf, loadCodeSegment, loadSegmentFromDescriptor, readDescriptor } from '../../cpu/protected/descriptors.ts';
import { AC, ARITH_FLAGS, CS, DF, DS, ES, ESP, EXC_NP, EXC_SS, FS, GS, EXC_GP, EXC_PF, ID, IF, IOPL_MASK, NT, RF, SS, TF, VM } from '../../cpu/regs.ts';
import { guestFlags } from './virtualCpu.ts';
import { GuestPageFaultInMonitor, MonitorStop, type SoftwareMonitor } from './monitor.ts';
import type { TrapKind } from './monitorCounters.ts';

const code = new Descriptor();
const stack = new Descriptor();
/** POP ES, POP DS, POP FS, POP GS (0F A1, 0F A9) by opcode. */
const POP_SEGMENT = new Map([[0x07, ES], [0x1f, DS], [0x1a1, FS], [0x1a9, GS]]);

/** The guest instruction at CS:EIP, read through the guest's tables; null when it cannot be read or decoded (the fault stays the guest's). */
function decodeAtGuestEip(m: SoftwareMonitor): Insn | null {
  const cpu = m.cpu;
  const start = (cpu.segBase[CS] + cpu.eip) | 0;
  try {
    return decodeInstruction((offset) => m.readLinear8(start + offset), cpu.cs32, cpu.eip);
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor || e instanceof RangeError) return null;
    throw e;
  }
}

/** Emulates the instruction at the guest's CS:EIP; false when it is not one the monitor emulates (the #GP is the guest's). */
export function emulatePrivileged(m: SoftwareMonitor): boolean {
  const cpu = m.cpu;
  const ins = decodeAtGuestEip(m);
  if (ins === null) return false;
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
      // #SS(0): the stack is there (Linux's entry stack, in its cpu_entry_area).
      if (!m.topWindow.touchesTop(ins)) return false;
      if (m.topWindow.stackInTop()) {
        const seg = POP_SEGMENT.get(ins.opcode);
        if (seg !== undefined) return popSegmentFromTop(m, ins, seg);
      }
      return guestOperation(m, ins, 'top 4 MiB', () => {
        m.topWindow.within(() => runInTop(m, ins));
      });
  }
}

/**
 * A #GP(0) of guest user code past a limit the monitor truncated, or its #PF
 * at or above the monitor's base (on the user view its segments reach there
 * and paging stops it: guestViews.ts): the instruction runs with the limits
 * opened, through the top window when it reaches the guest's pages there;
 * anything else (false) is the guest's #GP. User TLS at %gs:-4 no longer
 * comes here: on the user view it runs natively, and on the kernel view the
 * monitor switches views instead (monitor.ts).
 */
export function emulateTruncatedUserAccess(m: SoftwareMonitor): boolean {
  const ins = decodeAtGuestEip(m);
  if (ins === null) return false;
  if (!m.topWindow.touchesTop(ins)) return false;
  return guestOperation(m, ins, 'top 4 MiB', () => m.topWindow.runUser(ins));
}

/**
 * One guest instruction inside the top window: the processor's handler, but
 * PUSHF and POPF of the guest kernel with the virtual IF and IOPL (the
 * translator's callouts for them land here when the stack is in the top:
 * their own stack access faulted).
 */
function runInTop(m: SoftwareMonitor, ins: Insn): void {
  const cpu = m.cpu;
  const v = m.vcpu;
  if (v.cpl === 0 && ins.opcode === 0x9c) {
    const image = guestFlags(v, cpu.getFlags()) & ~(VM | RF);
    if (ins.o32) cpu.push32(image);
    else cpu.push16(image & 0xffff);
    return;
  }
  if (v.cpl === 0 && ins.opcode === 0x9d) {
    const value = ins.o32 ? cpu.peek32(0) : cpu.peek16(0);
    let realMask = ARITH_FLAGS | TF | DF | NT | (ins.o32 ? AC | ID : 0);
    if (!ins.o32) realMask &= 0xffff;
    cpu.adjustSp(ins.o32 ? 4 : 2);
    cpu.setFlags((cpu.getFlags() & ~realMask) | (value & realMask));
    v.iopl = (value & IOPL_MASK) >>> 12;
    m.setInterruptFlag((value & IF) !== 0);
    return;
  }
  ins.fn(cpu, ins);
}

/**
 * POP DS/ES/FS/GS from a stack in the guest's top 4 MiB. Not run in the
 * window: there the monitor's shadow GDT is not mapped (the window's top
 * slot is the guest's), so the selector is read through the guest's tables
 * and loaded from the shadow GDT here.
 */
function popSegmentFromTop(m: SoftwareMonitor, ins: Insn, seg: number): boolean {
  const cpu = m.cpu;
  return guestOperation(m, ins, 'top 4 MiB', () => {
    const sel = m.readLinear16((cpu.segBase[SS] + cpu.regs[ESP]) | 0);
    m.tables.loadGuestSegment(seg, sel);
    cpu.adjustSp(ins.o32 ? 4 : 2);
  });
}

/**
 * IRET to guest user code with its frame on a stack in the guest's top 4
 * MiB (Linux's return to user mode, from its entry stack): the processor's
 * IRET to an outer level, done here (the window has no shadow GDT to load
 * CS and SS from): the frame read through the guest's tables, CS and SS
 * checked and loaded from the shadow GDT, IF and IOPL left as the
 * processor's IRET at CPL 1 leaves them (the monitor's), inner data
 * segments nulled.
 */
function iretToUserFromTop(m: SoftwareMonitor, ins: Insn, eip: number, cs: number, fl: number): boolean {
  const cpu = m.cpu;
  const at = (cpu.segBase[SS] + cpu.regs[ESP]) | 0;
  let esp = 0, ss = 0;
  try {
    esp = m.readLinear32(at + 12);
    ss = m.readLinear32(at + 16) & 0xffff;
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor) return false;
    throw e;
  }
  if ((fl & VM) !== 0) throw new MonitorStop('the guest kernel returned to virtual-8086 mode, which the software monitor does not support');
  return guestOperation(m, ins, 'iret', () => {
    if ((cs & 3) !== 3) cpu.raiseGP(cs & 0xfffc); // RPL 1 or 2: rings the guest does not have
    readDescriptor(cpu, cs, code, EXC_GP, cs & 0xfffc);
    if (!isCode(code.hi) || dplOf(code.hi) !== 3) cpu.raiseGP(cs & 0xfffc);
    if ((code.hi & (1 << 15)) === 0) cpu.fault(EXC_NP, cs & 0xfffc, true);
    if ((ss & 3) !== 3 || (ss & 0xfffc) === 0) cpu.raiseGP(ss & 0xfffc);
    readDescriptor(cpu, ss, stack, EXC_GP, ss & 0xfffc);
    const type = (stack.hi >>> 8) & 0x1f;
    if ((type & 0x1a) !== 0x12 || dplOf(stack.hi) !== 3) cpu.raiseGP(ss & 0xfffc); // writable data, DPL 3
    if ((stack.hi & (1 << 15)) === 0) cpu.fault(EXC_SS, ss & 0xfffc, true);
    if ((eip >>> 0) > limitOf(code) >>> 0) cpu.raiseGP(0);
    loadCodeSegment(cpu, cs, code, 3);
    loadSegmentFromDescriptor(cpu, SS, ss, stack);
    cpu.regs[ESP] = esp;
    cpu.setFlags((fl & ~(IF | IOPL_MASK | VM | RF)) | IF | 2);
    cpu.nmiBlocked = false;
    cpu.eip = eip >>> 0;
    hideInaccessibleDataSegments(cpu);
    m.vcpu.cpl = 3;
  });
}

/**
 * A guest write to its own GDT faulted (its frames are write-protected in the
 * shadows: descriptorTables.ts `watchGdt`): the writing instruction runs here,
 * on the processor's handler, with the frame opened for it (monitor.ts
 * `access`), which then mirrors the entries of that page into the shadow GDT.
 * False when the instruction cannot be read.
 */
export function emulateGdtWrite(m: SoftwareMonitor): boolean {
  const ins = decodeAtGuestEip(m);
  if (ins === null) return false;
  return guestOperation(m, ins, 'gdt write', () => ins.fn(m.cpu, ins));
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
  const inTop = m.topWindow.stackInTop();
  try {
    if (inTop) {
      // The frame is on a stack in the guest's top 4 MiB (Linux returns to user mode from its entry stack there).
      const at = (cpu.segBase[SS] + cpu.regs[ESP]) | 0;
      eip = m.readLinear32(at);
      cs = m.readLinear32(at + 4) & 0xffff;
      fl = m.readLinear32(at + 8);
    } else {
      m.withShadowFills(() => {
        eip = cpu.peek32(0);
        cs = cpu.peek32(4) & 0xffff;
        fl = cpu.peek32(8);
      });
    }
  } catch (e) {
    if (e instanceof GuestPageFaultInMonitor || e === CPU_FAULT) return false;
    throw e;
  }
  if ((cs & 0xfffc) === 0) return false;
  if ((cs & 3) !== 0) {
    // To guest user code: legal at CPL 1, the processor's own IRET; only a stack in the top needs the monitor.
    // (The shadow GDT is current: the guest's GDT writes trap, so the segments the kernel loaded are the guest's.)
    if (inTop) return iretToUserFromTop(m, ins, eip, cs, fl);
    return false;
  }
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
