/**
 * virtio-balloon served in dom0's thread: dom0 runs the device model on the
 * balloon's queues (the inflate and deflate PFN arrays read, and each page
 * checked against the domain's RAM, through the grant check), and relays
 * each PFN to the hypervisor in the machine's thread, which owns the
 * domain's frames and the machine's pool (Xen's decrease_reservation and
 * populate_physmap are the hypervisor's too): it releases a given page's
 * frame to the pool, backs a page taken back with a fresh one.
 *
 * The relay is a RecordRing from dom0 to the machine's thread, one record
 * per PFN (tag GIVE or TAKE, the PFN as a 32-bit little-endian word). The
 * machine's thread acts on them when it takes dom0's completion, before it
 * stores the used index that covers them: the guest sees its inflate or
 * deflate done only once the frames have moved. What the machine's thread
 * refuses (a page given twice, one it does not hold, one the pool cannot
 * back) is counted as the device's error there.
 */
import { VirtioBalloon } from '../../devices/virtio/virtioBalloon.ts';
import type { BalloonFrames, BalloonPages } from '../../devices/virtio/virtioBalloonPages.ts';
import type { VirtioDeviceContext } from '../../devices/virtio/virtioDevice.ts';
import { pushWaiting, RecordRing } from './recordRing.ts';
import type { MachineHalf } from './remoteDevice.ts';

const GIVE = 1;
const TAKE = 2;

/** A ring for the balloon's PFNs: 8 KiB records of 8 bytes, more than two full queues of Linux's 256-PFN arrays. */
export function newBalloonRing(): RecordRing {
  return new RecordRing(null, 64 * 1024);
}

/** dom0's BalloonPages: each PFN relayed to the machine's thread (refusals are counted there). */
class RelayedPages implements BalloonPages {
  constructor(
    readonly pooled: boolean,
    private readonly ring: RecordRing,
    private readonly wake: () => void,
  ) {}

  give(pfn: number): boolean {
    this.relay(GIVE, pfn);
    return true;
  }

  take(pfn: number): boolean {
    this.relay(TAKE, pfn);
    return true;
  }

  /** The machine's thread gives every page back at a reset itself (after dom0 stopped using the queues). */
  reset(): void {}

  private relay(tag: number, pfn: number): void {
    const word = new Uint8Array(4);
    new DataView(word.buffer).setUint32(0, pfn, true);
    pushWaiting(this.ring, tag, word, this.wake);
  }
}

/**
 * dom0's balloon device over `ring`; `pooled` says whether the machine's
 * pages go back to a pool (else the device zeroes a given page, as the bare
 * PC's balloon does); `wake` raises the device's done port.
 */
export function balloonBackend(pooled: boolean, ring: SharedArrayBuffer, wake: () => void): VirtioBalloon {
  return new VirtioBalloon(undefined, new RelayedPages(pooled, new RecordRing(ring), wake));
}

/**
 * The machine's thread's half: the configuration (target, actual) of
 * `balloon`, the transport-side device whose BalloonFrames own the pages,
 * and the PFNs dom0 relays, acted on there.
 */
export class BalloonHost implements MachineHalf {
  errors = 0;
  private readonly ring: RecordRing;

  constructor(
    private readonly balloon: VirtioBalloon,
    private readonly frames: BalloonFrames,
    ring: RecordRing,
  ) {
    this.ring = ring;
  }

  activate(context: VirtioDeviceContext): void {
    this.balloon.activate(context);
  }

  reset(): void {
    this.balloon.reset();
  }

  take(): void {
    this.ring.drain((tag, data) => {
      if (data.length !== 4) throw new Error(`dom0 relayed a balloon record of ${data.length} bytes`);
      const pfn = new DataView(data.buffer).getUint32(0, true);
      const ok = tag === GIVE ? this.frames.give(pfn) : tag === TAKE ? this.frames.take(pfn) : false;
      if (!ok) this.errors++;
    });
  }
}
