/**
 * Shadow descriptors: what the processor's GDT/LDT hold for a guest
 * descriptor under ring compression.
 *
 * - Code and data segments: DPL 0 becomes DPL 1 (the guest kernel runs at
 *   CPL 1 and must load its own selectors: CS/SS need DPL = CPL), the limit
 *   is truncated so that base + limit stays below the monitor's top 4 MiB
 *   (monitorSpace.ts says why), and the accessed bit is set (the processor
 *   then never writes the shadow). A segment based inside the monitor's area,
 *   and any expand-down data segment (its offsets reach up to 4 GiB), becomes
 *   not present: loading it is a #NP the guest sees (not supported).
 * - System descriptors (TSS, LDT, call and task gates) become empty: the
 *   guest never loads them natively (LTR/LLDT trap and are emulated against
 *   the guest's own tables; a far transfer through a gate faults and is
 *   reflected — gates are not supported).
 *
 * That is the kernel view. The user view (`userShadowDescriptor`), which
 * the processor runs on only at CPL 3 (guestViews.ts), gives a present DPL-3
 * code or data descriptor the guest's own base and limit (accessed bit set):
 * at CPL 3 every access is a user access and the monitor's pages are
 * supervisor-only, so paging keeps user code out of them whatever the limit
 * (an expand-down or high-based DPL-3 segment too). Everything else is as in
 * the kernel view: user code cannot load DPL 0-2 data segments, and
 * conforming code of a lower DPL keeps its truncation.
 */
import { GUEST_LINEAR_TOP, MONITOR_BASE } from './monitorSpace.ts';

const S = 1 << 12, P = 1 << 15, G = 1 << 23, ACCESSED = 1 << 8, CODE = 1 << 11, EXPAND_DOWN = 1 << 10;

/** The shadow of guest descriptor (lo, hi), written into `out[0..1]`. */
export function shadowDescriptor(lo: number, hi: number, out: Int32Array): void {
  if ((hi & S) === 0 || (hi & P) === 0) {
    out[0] = (hi & S) === 0 ? 0 : lo;
    out[1] = (hi & S) === 0 ? 0 : hi;
    return;
  }
  let h = hi | ACCESSED;
  if (((h >>> 13) & 3) === 0) h |= 1 << 13;
  const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000)) >>> 0;
  let l = lo;
  const expandDown = (hi & CODE) === 0 && (hi & EXPAND_DOWN) !== 0;
  if (base >= MONITOR_BASE || expandDown) {
    // Expand-down: the valid offsets lie above the limit, up to 4 GiB, which would reach the monitor.
    h &= ~P;
  } else if (!expandDown) {
    const raw = (lo & 0xffff) | (hi & 0xf_0000);
    const bytes = (hi & G) !== 0 ? raw * 4096 + 0xfff : raw;
    const room = GUEST_LINEAR_TOP - base;
    if (bytes > room) {
      // Byte granular when it fits in 20 bits, else pages (rounded down: never past the top).
      let limit: number;
      if (room <= 0xf_ffff) {
        h &= ~G;
        limit = room;
      } else {
        h |= G;
        limit = Math.floor((room + 1) / 4096) - 1;
      }
      l = (lo & 0xffff_0000) | (limit & 0xffff);
      h = (h & ~0xf_0000) | (limit & 0xf_0000);
    }
  }
  out[0] = l;
  out[1] = h;
}

/**
 * The user view's shadow of guest descriptor (lo, hi), into `out[0..1]`: a present DPL-3 code/data descriptor as the
 * guest wrote it (accessed set), anything else as `shadowDescriptor` gives it.
 */
export function userShadowDescriptor(lo: number, hi: number, out: Int32Array): void {
  if ((hi & S) !== 0 && (hi & P) !== 0 && ((hi >>> 13) & 3) === 3) {
    out[0] = lo;
    out[1] = hi | ACCESSED;
    return;
  }
  shadowDescriptor(lo, hi, out);
}
