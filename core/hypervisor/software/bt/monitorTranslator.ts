/**
 * The translator as the software monitor plugs it in (translatorHook.ts's
 * `Translator`): acceleration 'bt'. It maps its translation cache into the
 * monitor's top-4-MiB slot (fresh machine frames, supervisor-only, in the
 * slot's page table, so every shadow directory has it and no guest page
 * table can reach it), reads guest code with the monitor's shadow fills
 * hidden, and hands the monitor the transfers only it can perform.
 */
import { INT_EXCEPTION, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../../../cpu/interrupts.ts';
import { EXC_BP, EXC_DB, EXC_OF, EXC_PF, OF } from '../../../cpu/regs.ts';
import { getFlag } from '../../../cpu/flags.ts';
import { GuestPageFaultInMonitor, type SoftwareMonitor } from '../monitor.ts';
import { MONITOR_BASE } from '../monitorSpace.ts';
import type { MonitorServices, Translator } from '../translatorHook.ts';
import { BinaryTranslator } from './binaryTranslator.ts';
import type { TcRegion } from './translationCache.ts';

/** The TC: 1 MiB at 1 MiB into the monitor's slot (the monitor's own tables use the first 136 KiB). */
export const TC_SLOT_OFFSET = 0x10_0000;
export const TC_SIZE = 0x10_0000;
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

  callout(monitor: MonitorServices, vector: number, linear: number): boolean {
    const bt = this.bt;
    if (bt === null || !bt.isTcAddress(linear)) return false;
    // INT3 (one byte) is poison left in an invalidated translation; INT 0x1F a callout.
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
    this.bt = new BinaryTranslator(cpu, m.vcpu, region, {
      controlTransfer(c, insn, kind, guestEip) {
        switch (kind) {
          case 'intN': m.reflect(insn.imm, INT_SOFTWARE, 0, false); return;
          case 'int3': m.reflect(EXC_BP, INT_SOFTWARE_EXCEPTION, 0, false); return;
          case 'into': if (getFlag(c, OF) !== 0) m.reflect(EXC_OF, INT_SOFTWARE_EXCEPTION, 0, false); return;
          case 'int1': m.reflect(EXC_DB, INT_SOFTWARE_EXCEPTION, 0, false); return;
          default:
            // IRET, far RET/JMP/CALL: the monitor emulates the guest instruction where it is.
            c.eip = guestEip;
            if (!m.emulateAt()) throw new Error(`the monitor does not emulate ${kind} at guest EIP ${(guestEip >>> 0).toString(16)}`);
        }
      },
      setInterruptFlag: (_c, on) => m.setInterruptFlag(on),
    }, {
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
    return this.bt;
  }
}

/** Fresh machine frames for the TC, mapped supervisor-only at MONITOR_BASE + TC_SLOT_OFFSET in the monitor slot's page table. */
function mapTranslationCache(m: SoftwareMonitor): TcRegion {
  const machine = m.domain.memory.machine;
  const pages = TC_SIZE >>> 12;
  const frames = machine.allocator.allocate(pages);
  machine.clearFrames(frames);
  const table = m.space.tableFrame * 4096;
  for (let k = 0; k < pages; k++) {
    machine.view.setUint32(table + ((TC_SLOT_OFFSET >>> 12) + k) * 4, (frames[k] * 4096) | PTE_P | PTE_RW | PTE_A | PTE_D, true);
  }
  m.cpu.flushTlb(true);
  return { linear: (MONITOR_BASE + TC_SLOT_OFFSET) | 0, physical: frames[0] * 4096, size: TC_SIZE, frames };
}
