/**
 * The callouts' emulation of the sensitive instructions, against the vCPU
 * (the state the guest believes in), for a guest kernel that thinks it runs
 * at CPL 0 while the processor runs it at CPL 1.
 *
 * Two ways, both exact:
 * - The flag instructions (PUSHF, POPF, CLI, STI) and SMSW are written out
 *   here: they read or write the virtual IF, IOPL and CR0.
 * - The descriptor-table and selector readers (SGDT, SIDT, SLDT, STR,
 *   LAR, LSL, VERR, VERW, MOV from CS/SS, PUSH CS/SS) run the processor's
 *   OWN handler for the decoded guest instruction with the guest's view
 *   swapped into the processor for that one instruction (GDTR, IDTR, LDTR,
 *   TR, CPL 0, CS/SS with the guest's RPL 0) and swapped back after, even
 *   when it faults. The guest thus gets exactly what the same instruction
 *   shows at CPL 0 on the bare processor, operand forms and all.
 *
 * A fault inside an emulation (a page fault storing SGDT's operand, a
 * stack fault) unwinds to the processor's run loop like any fault of the
 * callout's INT instruction: EIP goes back to the INT, which the TC map
 * turns into the guest instruction's EIP. Every emulation checks before it
 * changes anything, as the processor's handlers do.
 */
import type { Cpu } from '../../../cpu/cpu.ts';
import type { Insn } from '../../../cpu/insn.ts';
import { AC, ARITH_FLAGS, CS, DF, ID, IF, IOPL_MASK, LDTR, NT, RF, SS, TF, TR, VM } from '../../../cpu/regs.ts';
import { guestFlags, guestSelector, type VirtualCpu } from '../virtualCpu.ts';
import type { CalloutKind } from './calloutKinds.ts';

/**
 * Emulates inline callout `kind` for guest instruction `i`. Virtual IF is
 * changed through `setInterruptFlag` (the monitor's: it delivers a held
 * interrupt when IF becomes 1), everything else in `v` and the processor.
 */
export function emulateInline(cpu: Cpu, v: VirtualCpu, kind: CalloutKind, i: Insn, setInterruptFlag: (on: boolean) => void): void {
  switch (kind) {
    case 'pushf': {
      const image = guestFlags(v, cpu.getFlags()) & ~(VM | RF);
      if (i.o32) cpu.push32(image);
      else cpu.push16(image & 0xffff);
      return;
    }
    case 'popf': popf(cpu, v, i, setInterruptFlag); return;
    case 'cli': setInterruptFlag(false); return;
    case 'sti': setInterruptFlag(true); return;
    case 'smsw':
      // As the processor's SMSW: a 32-bit register gets all of CR0, otherwise the low word.
      if (i.mod === 3 && i.o32) cpu.regs[i.rm] = v.cr0;
      else cpu.writeRm16(i, v.cr0 & 0xffff);
      return;
    case 'sgdt': case 'sidt': case 'sldt': case 'str': case 'lar': case 'lsl': case 'verr': case 'verw':
    case 'movFromCs': case 'movFromSs': case 'pushCs': case 'pushSs':
      withGuestView(cpu, v, () => i.fn(cpu, i));
      return;
    default:
      throw new Error(`callout ${kind} is not an inline emulation`);
  }
}

/**
 * POPF at virtual CPL 0: every flag POPF changes at CPL 0 (IOPL, and IF
 * since CPL 0 <= IOPL always), IF and IOPL going to the vCPU, the rest to
 * the processor (whose IF stays 1 and IOPL 0 for the monitor).
 */
function popf(cpu: Cpu, v: VirtualCpu, i: Insn, setInterruptFlag: (on: boolean) => void): void {
  const value = i.o32 ? cpu.peek32(0) : cpu.peek16(0);
  let realMask = ARITH_FLAGS | TF | DF | NT | (i.o32 ? AC | ID : 0);
  if (!i.o32) realMask &= 0xffff;
  cpu.adjustSp(i.o32 ? 4 : 2);
  cpu.setFlags((cpu.getFlags() & ~realMask) | (value & realMask));
  v.iopl = (value & IOPL_MASK) >>> 12;
  setInterruptFlag((value & IF) !== 0);
}

/** Runs `f` with the guest's descriptor-table registers, CPL 0 and guest-view CS/SS selectors in the processor. */
export function withGuestView<T>(cpu: Cpu, v: VirtualCpu, f: () => T): T {
  const gdtBase = cpu.gdtBase, gdtLimit = cpu.gdtLimit, idtBase = cpu.idtBase, idtLimit = cpu.idtLimit;
  const ldtSel = cpu.segSel[LDTR], ldtBase = cpu.segBase[LDTR], ldtLimit = cpu.segLimit[LDTR], ldtAttr = cpu.segAttr[LDTR];
  const trSel = cpu.segSel[TR], cpl = cpu.cpl, csSel = cpu.segSel[CS], ssSel = cpu.segSel[SS];
  cpu.gdtBase = v.gdtBase; cpu.gdtLimit = v.gdtLimit; cpu.idtBase = v.idtBase; cpu.idtLimit = v.idtLimit;
  cpu.segSel[LDTR] = v.ldtr; cpu.segBase[LDTR] = v.ldtBase; cpu.segLimit[LDTR] = v.ldtLimit >>> 0;
  cpu.segAttr[LDTR] = (v.ldtr & 0xfffc) !== 0 ? 0x82 : 0; // a loaded LDT is present (LLDT checks it)
  cpu.segSel[TR] = v.tr;
  cpu.segSel[CS] = guestSelector(csSel);
  cpu.segSel[SS] = guestSelector(ssSel);
  cpu.cpl = 0; // privilege checks only: CPL 0 and 1 are both supervisor to paging, so the access mode stays
  try {
    return f();
  } finally {
    cpu.gdtBase = gdtBase; cpu.gdtLimit = gdtLimit; cpu.idtBase = idtBase; cpu.idtLimit = idtLimit;
    cpu.segSel[LDTR] = ldtSel; cpu.segBase[LDTR] = ldtBase; cpu.segLimit[LDTR] = ldtLimit; cpu.segAttr[LDTR] = ldtAttr;
    cpu.segSel[TR] = trSel;
    cpu.segSel[CS] = csSel;
    cpu.segSel[SS] = ssSel;
    cpu.cpl = cpl;
  }
}
