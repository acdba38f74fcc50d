/**
 * The translator as the software monitor plugs it in (translatorHook.ts's
 * `Translator`): acceleration 'bt'. It maps its translation cache into the
 * monitor's part of the top-4-MiB slot (fresh machine frames, supervisor-only, in the
 * slot's page table, so every shadow directory has it and no guest page
 * table can reach it), reads guest code with the monitor's shadow fills
 * hidden, and hands the monitor the transfers only it can perform.
 */
import { INT_EXCEPTION, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../../../cpu/interrupts.ts';
import { CS, ESP, EXC_BP, EXC_DB, EXC_OF, EXC_PF, OF, SS } from '../../../cpu/regs.ts';
import type { Insn } from '../../../cpu/insn.ts';
import { guestSelector, processorSelector } from '../virtualCpu.ts';
import type { CalloutKind } from './calloutKinds.ts';
import { getFlag } from '../../../cpu/flags.ts';
import { GuestPageFaultInMonitor, type SoftwareMonitor } from '../monitor.ts';
import { GUEST_LINEAR_TOP, GUEST_TOP_PAGES, MONITOR_BASE } from '../monitorSpace.ts';
import type { MonitorServices, Translator } from '../translatorHook.ts';
import { BinaryTranslator } from './binaryTranslator.ts';
import type { TcRegion } from './translationCache.ts';

/** The TC: 256 KiB at 256 KiB into the monitor's area (its own tables use the first 136 KiB; monitorSpace.ts). */
export const TC_OFFSET = 0x4_0000;
export const TC_SIZE = 0x4_0000;
const PTE_P = 1, PTE_RW = 2, PTE_A = 0x20, PTE_D = 0x40;

export class MonitorTranslator implements Translator {
  private bt: BinaryTranslator | null = null;

  /** The translator, once the monitor first entered the guest kernel (for counters and inspection). */
  get translator(): BinaryTranslator | null {
    return this.bt;
  }

  entryFor(monitor: MonitorServices, eip: number): { eip: number } | null {
    const cpu = monitor.cpu;
    if (!cpu.cs32) return null; // 16-bit kernel code is not translated (README)
    const bt = this.ensure(monitor);
    cpu.eip = eip;
    bt.enter(cpu); // a guest page fault fetching it throws GuestPageFaultInMonitor: the monitor reflects it
    return { eip: cpu.eip };
  }

  currentGuestEip(monitor: MonitorServices): number {
    return this.bt?.currentGuestEip() ?? monitor.cpu.eip;
  }

  callout(monitor: MonitorServices, vector: number, linear: number): boolean {
    const bt = this.bt;
    if (bt === null || !bt.isTcAddress(vector === EXC_BP ? (linear + 1) | 0 : linear)) return false;
    // INT3 (one byte: the monitor passes EIP - 2 as for INT n) is poison left in an invalidated translation; INT 0x1F a callout.
    return bt.handleInterrupt(monitor.cpu, vector, vector === EXC_BP ? INT_SOFTWARE_EXCEPTION : INT_SOFTWARE);
  }

  /** Writes are seen by the translator itself (the memory bus's code-page watch), frame by machine frame. */
  guestPageWritten(): void {}

  reset(): void {
    this.bt?.flush();
  }

  /** The guest EIP for a TC address (for the frame of an event taken in translated code), null outside the TC. */
  guestEip(linear: number): number | null {
    return this.bt === null ? null : this.bt.guestEipAt(linear);
  }

  private ensure(monitor: MonitorServices): BinaryTranslator {
    if (this.bt !== null) return this.bt;
    const m = monitor as SoftwareMonitor;
    const cpu = m.cpu;
    const region = mapTranslationCache(m);
    const bt = new BinaryTranslator(cpu, m.vcpu, region, {
      controlTransfer(c, insn, kind, guestEip) {
        switch (kind) {
          case 'intN': m.reflect(insn.imm, INT_SOFTWARE, 0, false); return;
          case 'int3': m.reflect(EXC_BP, INT_SOFTWARE_EXCEPTION, 0, false); return;
          case 'into': if (getFlag(c, OF) !== 0) m.reflect(EXC_OF, INT_SOFTWARE_EXCEPTION, 0, false); return;
          case 'int1': m.reflect(EXC_DB, INT_SOFTWARE_EXCEPTION, 0, false); return;
          case 'iret':
            // IRET to the guest kernel: the monitor's emulation (its frame names RPL 0, which the processor at CPL 1 refuses).
            // IRET to guest user code (RPL 3) is legal at CPL 1: the processor's own handler (IF and IOPL stay the monitor's).
            c.eip = guestEip;
            if (m.emulateAt()) return;
            insn.fn(c, insn);
            m.vcpu.cpl = c.cpl === 3 ? 3 : 0;
            return;
          default:
            farTransfer(m, insn, kind);
        }
      },
      setInterruptFlag: (_c, on) => m.setInterruptFlag(on),
      toEmulator: () => m.toEmulator(null),
    }, {
      guestLinearTop: GUEST_LINEAR_TOP,
      code: {
        read8: (lin) => m.withShadowFills(() => cpu.readLin8(lin)),
        physical: (lin) => m.withShadowFills(() => { cpu.readLin8(lin); return cpu.translateSlow(lin, false, false); }),
      },
      deliverFetchFault(_c, e) {
        if (!(e instanceof GuestPageFaultInMonitor)) return false;
        m.vcpu.cr2 = e.linear;
        m.reflect(EXC_PF, INT_EXCEPTION, e.errorCode, true);
        return true;
      },
    });
    this.bt = bt;
    reportEventsAtGuestEips(m, bt);
    return bt;
  }
}

/**
 * Until the monitor does it itself (translator-interface.md, items 3 and 4),
 * wraps the monitor's event entry and its reflection so that:
 * - an exception or interrupt taken with EIP in the TC is handled at the
 *   guest EIP it stands for (a copied privileged instruction is emulated
 *   where the guest has it, a reflected frame holds the guest EIP);
 * - INT3 poison of an invalidated translation reaches the translator;
 * - the guest kernel never goes on outside the TC: after an event that left
 *   it at virtual CPL 0 at a guest EIP (a hidden shadow fill, an emulated
 *   instruction), its translation is entered.
 */
function reportEventsAtGuestEips(m: SoftwareMonitor, bt: BinaryTranslator): void {
  const cpu = m.cpu;
  const toGuestEip = (): void => {
    const lin = (cpu.segBase[CS] + cpu.eip) | 0;
    if (!bt.isTcAddress(lin)) return;
    const g = bt.guestEipAt(lin);
    if (g !== null) cpu.eip = g;
  };
  const reflect = m.reflect.bind(m);
  m.reflect = (vector, kind, errorCode, hasErrorCode) => {
    toGuestEip();
    reflect(vector, kind, errorCode, hasErrorCode);
  };
  const event = m.seam.interrupt;
  m.seam.interrupt = (c, vector, kind, errorCode, hasErrorCode) => {
    if (kind === INT_SOFTWARE_EXCEPTION && vector === EXC_BP && bt.handleInterrupt(c, vector, kind)) return;
    if (kind !== INT_SOFTWARE && kind !== INT_SOFTWARE_EXCEPTION) toGuestEip();
    event(c, vector, kind, errorCode, hasErrorCode);
    if (m.vcpu.cpl !== 0 || c.cpl !== 1 || m.stopReason !== null || bt.isTcAddress((c.segBase[CS] + c.eip) | 0)) return;
    try {
      m.enteredKernel();
    } catch (e) {
      if (!(e instanceof GuestPageFaultInMonitor)) throw e;
      m.vcpu.cr2 = e.linear;
      m.reflect(EXC_PF, INT_EXCEPTION, e.errorCode, true);
    }
  };
}

/**
 * Far JMP, CALL and RET of the guest kernel, on the processor's own handlers
 * at CPL 1 (the shadow GDT gives kernel code DPL 1, so a far transfer naming
 * the guest's RPL-0 selector is legal there and lands with RPL 1): what the
 * guest must not see is fixed around them. RETF: the CS image on the guest's
 * stack names RPL 0, which the processor at CPL 1 would refuse; it is given
 * the processor's RPL first. Far CALL: the CS it pushed is given back the
 * guest's RPL 0 after.
 */
function farTransfer(m: SoftwareMonitor, insn: Insn, kind: CalloutKind): void {
  const cpu = m.cpu;
  const width = insn.o32 ? 4 : 2;
  if (kind === 'farRet') {
    const at = (cpu.regs[ESP] + width) | 0;
    const sel = insn.o32 ? cpu.read32(SS, at) & 0xffff : cpu.read16(SS, at);
    if (insn.o32) cpu.write16(SS, at, processorSelector(sel));
    else cpu.write16(SS, at, processorSelector(sel));
  }
  insn.fn(cpu, insn);
  if (kind === 'farCall') {
    const at = (cpu.regs[ESP] + width) | 0;
    cpu.write16(SS, at, guestSelector(cpu.read16(SS, at)));
  }
  m.vcpu.cpl = cpu.cpl === 3 ? 3 : 0;
}

/** Fresh machine frames for the TC, mapped supervisor-only at MONITOR_BASE + TC_OFFSET in the monitor slot's page table. */
function mapTranslationCache(m: SoftwareMonitor): TcRegion {
  const machine = m.domain.memory.machine;
  const pages = TC_SIZE >>> 12;
  const frames = machine.allocator.allocate(pages);
  machine.clearFrames(frames);
  const table = m.space.tableFrame * 4096;
  for (let k = 0; k < pages; k++) {
    machine.view.setUint32(table + (GUEST_TOP_PAGES + (TC_OFFSET >>> 12) + k) * 4, (frames[k] * 4096) | PTE_P | PTE_RW | PTE_A | PTE_D, true);
  }
  m.cpu.flushTlb(true);
  return { linear: (MONITOR_BASE + TC_OFFSET) | 0, physical: frames[0] * 4096, size: TC_SIZE, frames };
}
