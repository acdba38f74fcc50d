/**
 * A domain's physical-to-machine map: for each 4 KiB guest-physical frame,
 * the machine frame that backs it and how (RAM: read/write/execute; ROM:
 * read/execute, writes are dropped by the exit handler), or nothing (a hole or
 * a device page: the vCPU exits when it touches it). It is the one truth the
 * EPT tables are built from, so moving a frame (ballooning, page sharing)
 * means changing it here and rebuilding the affected EPT entries.
 *
 * One Int32Array entry per guest frame of the 4 GiB guest-physical space:
 * -1 = not mapped, else the machine frame number (< 2^20) with the kind in
 * bits 24..25.
 */
import { FRAME_SHIFT } from './frameAllocator.ts';

export type P2mKind = 'ram' | 'rom';

const GUEST_FRAMES = 1 << (32 - FRAME_SHIFT);
const UNMAPPED = -1;
const KIND_SHIFT = 24;
const MFN_MASK = (1 << KIND_SHIFT) - 1;
const KIND_CODES: Record<P2mKind, number> = { ram: 1, rom: 2 };
const KINDS: (P2mKind | undefined)[] = [undefined, 'ram', 'rom'];

/** A run of guest frames mapped to consecutive machine frames with one kind. */
export interface P2mRange {
  gfn: number;
  mfn: number;
  count: number;
  kind: P2mKind;
}

export class P2m {
  /** In shared memory: dom0's worker decodes it for its grant check (core/dom0/sharedRamMap.ts repeats this encoding). */
  private readonly entries = new Int32Array(new SharedArrayBuffer(GUEST_FRAMES * 4)).fill(UNMAPPED);

  /** The entries' buffer, for a thread that reads the map (dom0's worker); its encoding is fixed above. */
  get sharedEntries(): SharedArrayBuffer {
    return this.entries.buffer as SharedArrayBuffer;
  }
  private mapped = 0;

  /** Guest frames mapped now. */
  get mappedFrames(): number {
    return this.mapped;
  }

  map(gfn: number, mfn: number, kind: P2mKind): void {
    checkFrame(gfn, 'guest');
    checkFrame(mfn, 'machine');
    if (this.entries[gfn] === UNMAPPED) this.mapped++;
    this.entries[gfn] = mfn | (KIND_CODES[kind] << KIND_SHIFT);
  }

  /** Removes a mapping; returns the machine frame it had, or -1. */
  unmap(gfn: number): number {
    checkFrame(gfn, 'guest');
    const e = this.entries[gfn];
    if (e === UNMAPPED) return -1;
    this.entries[gfn] = UNMAPPED;
    this.mapped--;
    return e & MFN_MASK;
  }

  /** The machine frame behind a guest frame, or -1. */
  machineFrame(gfn: number): number {
    const e = this.entries[gfn];
    return e === undefined || e === UNMAPPED ? -1 : e & MFN_MASK;
  }

  kind(gfn: number): P2mKind | undefined {
    const e = this.entries[gfn];
    return e === undefined || e === UNMAPPED ? undefined : KINDS[e >>> KIND_SHIFT];
  }

  /** The machine address of a guest-physical address, or -1 when its frame is not mapped. */
  translate(gpa: number): number {
    const mfn = this.machineFrame(Math.floor(gpa / 4096));
    return mfn < 0 ? -1 : mfn * 4096 + (gpa % 4096);
  }

  /** The mappings as maximal runs in guest-frame order (what the EPT builder and reports walk). */
  ranges(): P2mRange[] {
    const out: P2mRange[] = [];
    let run: P2mRange | null = null;
    for (let gfn = 0; gfn < GUEST_FRAMES; gfn++) {
      const e = this.entries[gfn];
      if (e === UNMAPPED) {
        run = null;
        continue;
      }
      const mfn = e & MFN_MASK;
      const kind = KINDS[e >>> KIND_SHIFT]!;
      if (run && run.kind === kind && run.mfn + run.count === mfn && run.gfn + run.count === gfn) {
        run.count++;
      } else {
        run = { gfn, mfn, count: 1, kind };
        out.push(run);
      }
    }
    return out;
  }
}

function checkFrame(frame: number, what: string): void {
  if (!Number.isInteger(frame) || frame < 0 || frame >= GUEST_FRAMES) throw new RangeError(`${what} frame ${frame} is outside 4 GiB`);
}
