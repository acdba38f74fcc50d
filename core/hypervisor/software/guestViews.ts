/**
 * Which view of the shadow GDT/LDT the processor runs on (monitorSpace.ts),
 * and the segment reloads that go with each switch.
 *
 * Why two views. The kernel view truncates every code/data segment below
 * the monitor's base: that is what keeps the guest kernel at CPL 1 out of
 * the monitor, since paging counts CPL 1 as supervisor. Guest user code at
 * CPL 3 needs no truncation: all its accesses through segments are user
 * accesses, and the monitor's pages are supervisor-only. With truncated
 * limits i386 user code paid a trap for each TLS read at %gs:-N (the
 * offset wraps below the segment's base, past a limit that now ends at
 * 0xFFCFFFFF): about 25 per iteration of a busybox shell loop. In the user
 * view DPL-3 descriptors keep the guest's own limits, so those reads run
 * natively.
 *
 * The invariant: while the processor is at CPL 1 (or 0) its GDTR/LDTR name
 * the kernel view and no segment register holds a cache loaded from the user
 * view. It holds because
 * - every way from CPL 3 to the guest kernel is an event, and every event
 *   reaches the monitor first (the seam; gates and TSS descriptors are empty
 *   in both views, SYSENTER is hidden): a reflection from CPL 3 switches to
 *   the kernel view before it reads any descriptor (reflect.ts: a TSS.SS0 or
 *   gate naming a DPL-3 selector reads the truncated one), and the monitor
 *   settles the view on the way out of every event (monitor.ts);
 * - the switch to the kernel view reloads DS, ES, FS and GS from it, as a
 *   monitor at ring 0 would with MOV Sreg: the selector stays, the cache is
 *   the truncated descriptor (a guest kernel that keeps a user segment across
 *   an entry keeps a truncated one). All four are reloaded, not only those
 *   whose entries differ between the views: a guest whose GDT page is user
 *   writable could make an entry the same in both views after its user loaded
 *   it untruncated. A selector the kernel view cannot load (its entry was
 *   made invalid since) becomes null; CS and SS are the reflection's own.
 * The user view is taken when the monitor leaves an event with the
 * processor at CPL 3 (under bt the IRET or far RET to user mode is a
 * callout, so each return to user mode), with CS, SS, DS, ES, FS and GS
 * reloaded from it where their entries differ between the views (the kernel
 * loaded them from the kernel view before its IRET). Under 'trap' an IRET to
 * user mode from a stack below the monitor's base runs natively, so user code
 * may run on the kernel view (safe, only slower): its first #GP(0) or #SS(0)
 * there switches to the user view and the instruction runs again (counted as
 * a `top 4 MiB` trap).
 *
 * The monitor's counters (monitorCounters.ts) count the switches in three
 * disjoint kinds: to the user view on leaving an event, to the user view
 * lazily (that #GP/#SS), and to the kernel view.
 *
 * Differences from a processor (none a guest relying on documented behaviour
 * sees): the reloads read the descriptor as it is now, so a user segment
 * whose descriptor the kernel rewrote between loading it and returning to
 * user mode gets the new descriptor, where a processor keeps the old cache
 * (Linux writes its TLS entries before it loads GS); SGDT at CPL 3 shows the
 * user view's base (SGDT shows the monitor's table anyway, README).
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { Descriptor, dplOf, isCode, isConforming, isPresent, isRw, isSegment, loadCodeSegment, loadNullSegment, loadSegmentFromDescriptor } from '../../cpu/protected/descriptors.ts';
import { CS, DS, ES, FS, GS, LDTR, SEG_P, SS } from '../../cpu/regs.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { gdtOffset, ldtOffset, LDT_PAGES, type TableView } from './monitorSpace.ts';

const DATA_SEGMENTS = [DS, ES, FS, GS];
const USER_SEGMENTS = [CS, SS, DS, ES, FS, GS];

export class GuestViews {
  private readonly d = new Descriptor();
  private readonly other = new Descriptor();

  constructor(private readonly m: SoftwareMonitor) {}

  /** The view the processor is on. */
  get view(): TableView {
    return this.m.space.view(this.m.cpu);
  }

  /** The monitor leaves an event: the view that goes with the processor's CPL. */
  settle(): void {
    if (this.m.cpu.cpl === 3) this.enterUser();
    else this.enterKernel();
  }

  /** The kernel view, DS/ES/FS/GS reloaded from it (no cache from the user view survives). */
  enterKernel(): void {
    const cpu = this.m.cpu;
    if (this.view === 'kernel') return;
    this.m.space.useView(cpu, 'kernel');
    this.m.counters.viewSwitchesToKernel++;
    for (const seg of DATA_SEGMENTS) {
      const sel = cpu.segSel[seg];
      if ((sel & 0xfffc) !== 0 && this.read(cpu, sel, 'kernel', this.d) && loadableData(this.d.hi)) loadSegmentFromDescriptor(cpu, seg, sel, this.d);
      else loadNullSegment(cpu, seg, (sel & 0xfffc) === 0 ? sel : 0);
    }
  }

  /**
   * A #GP(0) or #SS(0) of user code while on the kernel view (under 'trap', after a native IRET to user mode): true
   * when it switched to the user view, and the instruction is to run again there.
   */
  retryOnUserView(): boolean {
    if (this.m.cpu.cpl !== 3 || this.view === 'user') return false;
    this.switchToUser();
    this.m.counters.lazyViewSwitchesToUser++;
    return true;
  }

  /** The monitor leaves an event at CPL 3: the user view (counted apart from the lazy switches of `retryOnUserView`). */
  enterUser(): void {
    if (this.view === 'user') return;
    this.switchToUser();
    this.m.counters.viewSwitchesToUser++;
  }

  /** The user view (the processor is at CPL 3), CS/SS/DS/ES/FS/GS reloaded from it where their entries differ between the views. */
  private switchToUser(): void {
    const cpu = this.m.cpu;
    this.m.space.useView(cpu, 'user');
    for (const seg of USER_SEGMENTS) {
      const sel = cpu.segSel[seg];
      if ((sel & 0xfffc) === 0 || (sel & 3) !== 3) continue;
      if (!this.read(cpu, sel, 'user', this.d) || !this.read(cpu, sel, 'kernel', this.other)) continue;
      if (this.d.lo === this.other.lo && this.d.hi === this.other.hi) continue; // the cache is what either view gives
      // What CPL 3 may load there (the load it stands for); otherwise the register keeps its truncated cache.
      const hi = this.d.hi;
      if (!isPresent(hi) || !isSegment(hi)) continue;
      if (seg === CS) {
        if (isCode(hi) && (isConforming(hi) || dplOf(hi) === 3)) loadCodeSegment(cpu, sel, this.d, 3);
      } else if (seg === SS) {
        if (!isCode(hi) && isRw(hi) && dplOf(hi) === 3) loadSegmentFromDescriptor(cpu, SS, sel, this.d);
      } else if (loadableData(hi) && (isCode(hi) && isConforming(hi) || dplOf(hi) === 3)) {
        loadSegmentFromDescriptor(cpu, seg, sel, this.d);
      }
    }
  }

  /** Reads the descriptor `sel` names in `view`'s tables (the monitor's own memory); false past the table's limit. */
  private read(cpu: Cpu, sel: number, view: TableView, out: Descriptor): boolean {
    const space = this.m.space;
    const index = sel & 0xfff8;
    let offset: number;
    if ((sel & 4) !== 0) {
      if ((cpu.segAttr[LDTR] & SEG_P) === 0 || (cpu.segSel[LDTR] & 0xfffc) === 0) return false;
      if (index + 7 > cpu.segLimit[LDTR] >>> 0 || index + 8 > LDT_PAGES * 4096) return false;
      offset = ldtOffset(view) + index;
    } else {
      offset = gdtOffset(view) + index;
    }
    out.lo = space.read32(offset);
    out.hi = space.read32(offset + 4);
    return true;
  }
}

/** A descriptor a data segment register may hold: present data, or present readable code. */
function loadableData(hi: number): boolean {
  return isPresent(hi) && isSegment(hi) && (!isCode(hi) || isRw(hi));
}
