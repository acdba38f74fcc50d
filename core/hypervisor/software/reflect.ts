/**
 * Reflection: an event the guest must see, delivered through the GUEST's IDT
 * as the processor would have delivered it had the guest run at its own
 * privilege levels (SDM Vol. 3 §6.12). Differences from the processor's own
 * delivery (core/cpu/protected/interruptGates.ts), all ring compression:
 * - the guest kernel's CS goes on the frame with RPL 0 (the processor holds
 *   RPL 1), and the EFLAGS image carries the virtual IF and IOPL;
 * - from guest user code, the stack switch takes SS0:ESP0 from the GUEST's
 *   TSS (the processor's TSS is the monitor's), and the kernel stack
 *   selector is loaded with RPL 1;
 * - an interrupt gate clears the virtual IF; the processor's IF stays 1.
 * 32-bit interrupt and trap gates only (task gates and 16-bit gates stop the
 * VM: not supported).
 * An event from guest user code is delivered on the kernel view of the
 * shadow tables (guestViews.ts): the switch comes before any descriptor is
 * read, so a gate or TSS.SS0 naming a DPL-3 selector gives the guest kernel
 * the truncated descriptor, and DS/ES/FS/GS are reloaded from it.
 */
import { dplOf, isCode, Descriptor, loadCodeSegment, loadSegmentFromDescriptor, readDescriptor } from '../../cpu/protected/descriptors.ts';
import { INT_EXCEPTION, INT_ICEBP, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../../cpu/interrupts.ts';
import { CS, ESP, EXC_GP, EXC_NP, EXC_TS, IF, IOPL_MASK, NT, RF, SS, TF, VM } from '../../cpu/regs.ts';
import { descBase } from '../../cpu/segments.ts';
import { MonitorStop, type SoftwareMonitor } from './monitor.ts';
import { guestFlags, guestSelector, processorSelector } from './virtualCpu.ts';

const INT_GATE32 = 14, TRAP_GATE32 = 15;
const code = new Descriptor();
const stack = new Descriptor();

export function reflectEvent(m: SoftwareMonitor, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  const cpu = m.cpu;
  const v = m.vcpu;
  if (cpu.cpl === 3) m.views.enterKernel();
  const software = kind === INT_SOFTWARE || kind === INT_SOFTWARE_EXCEPTION;
  const ext = software || kind === INT_ICEBP ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > v.idtLimit) return m.reflect(EXC_GP, INT_EXCEPTION, idtErr, true);
  const lo = m.readLinear32(v.idtBase + vector * 8);
  const hi = m.readLinear32(v.idtBase + vector * 8 + 4);
  const type = (hi >>> 8) & 0x1f;
  const vcpl = cpu.cpl === 3 ? 3 : 0;
  if (type !== INT_GATE32 && type !== TRAP_GATE32) {
    if ((hi & (1 << 15)) === 0 || (type & 0x10) !== 0) return m.reflect(EXC_GP, INT_EXCEPTION, idtErr, true);
    throw new MonitorStop(`the guest's IDT entry ${vector} is a gate of type ${type} (only 32-bit interrupt and trap gates are supported)`);
  }
  if (software && dplOf(hi) < vcpl) return m.reflect(EXC_GP, INT_EXCEPTION, vector * 8 + 2, true);
  if ((hi & (1 << 15)) === 0) return m.reflect(EXC_NP, INT_EXCEPTION, idtErr, true);
  const guestCs = lo >>> 16;
  const target = ((hi & 0xffff_0000) | (lo & 0xffff)) >>> 0;
  const procCs = processorSelector(guestCs);
  readDescriptor(cpu, procCs, code, EXC_GP, (guestCs & 0xfffc) | ext);
  const dpl = dplOf(code.hi); // 1 for the guest kernel, 3 for guest user code
  if (!isCode(code.hi) || (dpl === 3 && vcpl === 0)) return m.reflect(EXC_GP, INT_EXCEPTION, (guestCs & 0xfffc) | ext, true);

  const image = guestFlags(v, cpu.getFlags()) & ~(RF | VM);
  const r = cpu.regs;
  const frame: number[] = [];
  let base: number;
  let esp: number;
  const inner = dpl < cpu.cpl;
  let ssSel = 0;
  if (inner) {
    // Guest user -> guest kernel: the guest's own TSS names the kernel stack.
    if (v.trLimit < 9) return m.reflect(EXC_TS, INT_EXCEPTION, (v.tr & 0xfffc) | ext, true);
    const ss0 = m.readLinear16(v.trBase + 8);
    const esp0 = m.readLinear32(v.trBase + 4);
    ssSel = processorSelector(ss0);
    readDescriptor(cpu, ssSel, stack, EXC_TS, (ss0 & 0xfffc) | ext);
    base = descBase(stack.lo, stack.hi);
    esp = esp0;
    frame.push(cpu.segSel[SS], r[ESP]);
  } else {
    base = cpu.segBase[SS];
    esp = r[ESP];
  }
  frame.push(image, guestSelector(cpu.segSel[CS]), cpu.eip);
  if (hasErrorCode) frame.push(errorCode);
  // Written before anything changes: a fault here leaves the interrupted state as it was.
  for (let k = 0; k < frame.length; k++) m.writeLinear32(base + esp - 4 * (k + 1), frame[k]);
  if (inner) loadSegmentFromDescriptor(cpu, SS, ssSel, stack);
  r[ESP] = (esp - 4 * frame.length) | 0;
  loadCodeSegment(cpu, procCs, code, dpl);
  cpu.setFlags((cpu.getFlags() & ~(TF | NT | RF | VM | IOPL_MASK)) | IF);
  v.cpl = dpl === 3 ? 3 : 0;
  if (type === INT_GATE32 && v.cpl === 0) v.interruptFlag = false;
  cpu.eip = target;
}
