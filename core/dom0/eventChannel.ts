/**
 * Event channels, as Xen has them (xen/common/event_channel.c): numbered
 * ports, each with a pending bit and a mask bit kept in shared memory
 * (one SharedArrayBuffer per domain, so a dom0 worker thread can see and
 * set them with Atomics), and a handler bound to the receiving end.
 *
 * Sending sets the port's pending bit; if the port is not masked, the
 * receiver is upcalled, which clears the pending bit before the handler
 * runs (an event sent while the handler runs is delivered again).
 * Unmasking a port with its pending bit set delivers it then. This is the
 * path between the virtio transport and the device model's backend in
 * both directions: guest kick -> transport -> event channel -> backend;
 * completion -> event channel -> transport -> interrupt into the guest.
 *
 * A port whose receiver is in this thread is delivered by a synchronous
 * upcall in the sender's thread. A port whose receiver is another thread
 * (dom0's worker, core/dom0/worker/) is raised with `notify`, which sets the
 * pending bit and wakes a thread blocked in `wait` on that pending word
 * (Atomics.wait / Atomics.notify); the receiver clears the bit it takes.
 */

export class EventChannelError extends Error {
  override readonly name = 'EventChannelError';
}

export class EventChannels {
  readonly buffer: SharedArrayBuffer;
  readonly portCount: number;
  /** Bit per port: an event is waiting for the receiver. */
  readonly pending: Int32Array;
  /** Bit per port: the receiver does not want upcalls now. */
  readonly masked: Int32Array;
  private readonly handlers: (((port: number) => void) | null)[];
  private readonly names: string[];
  private nextFree = 1; // port 0 is reserved, as in Xen
  /** Events sent and upcalls made, per port. */
  readonly sent: Uint32Array;
  readonly delivered: Uint32Array;

  constructor(portCount = 256, buffer?: SharedArrayBuffer) {
    if (portCount < 32 || portCount % 32 !== 0) throw new RangeError('event channel port count must be a multiple of 32');
    const words = portCount / 32;
    this.buffer = buffer ?? new SharedArrayBuffer(words * 8);
    this.portCount = portCount;
    this.pending = new Int32Array(this.buffer, 0, words);
    this.masked = new Int32Array(this.buffer, words * 4, words);
    this.handlers = new Array(portCount).fill(null);
    this.names = new Array(portCount).fill('');
    this.sent = new Uint32Array(portCount);
    this.delivered = new Uint32Array(portCount);
  }

  /** Allocates a port whose receiving end is another thread's (it takes events with `wait`). */
  reserve(name: string): number {
    if (this.nextFree >= this.portCount) throw new EventChannelError('no free event channel port');
    const port = this.nextFree++;
    this.names[port] = name;
    return port;
  }

  /**
   * Starts the next allocation at a new pending word (unless the next free
   * port already begins one), so ports allocated after it can be waited on
   * and polled together (`wait`, `takePending`) apart from those before.
   */
  startWord(): void {
    this.nextFree = Math.ceil(this.nextFree / 32) * 32;
  }

  /**
   * Takes (clears) and returns the pending bits of `mask` in pending word
   * `word`: one Atomics.load when none is pending, for a receiver that polls.
   */
  takePending(word: number, mask: number): number {
    if ((Atomics.load(this.pending, word) & mask) === 0) return 0;
    const taken = Atomics.and(this.pending, word, ~mask) & mask;
    for (let p = 0; p < 32; p++) if (taken & (1 << p)) this.delivered[word * 32 + p]++;
    return taken;
  }

  /** Allocates a port and binds `handler` to its receiving end. */
  bind(name: string, handler: (port: number) => void): number {
    if (this.nextFree >= this.portCount) throw new EventChannelError('no free event channel port');
    const port = this.nextFree++;
    this.handlers[port] = handler;
    this.names[port] = name;
    return port;
  }

  nameOf(port: number): string {
    return this.names[port] ?? '';
  }

  isPending(port: number): boolean {
    this.checkRange(port);
    return (Atomics.load(this.pending, port >>> 5) & (1 << (port & 31))) !== 0;
  }

  isMasked(port: number): boolean {
    this.checkRange(port);
    return (Atomics.load(this.masked, port >>> 5) & (1 << (port & 31))) !== 0;
  }

  /** Raises an event on `port`: pending, and delivered now unless masked. */
  send(port: number): void {
    this.check(port);
    this.sent[port]++;
    Atomics.or(this.pending, port >>> 5, 1 << (port & 31));
    if (!this.isMasked(port)) this.deliver(port);
  }

  mask(port: number): void {
    this.checkRange(port);
    Atomics.or(this.masked, port >>> 5, 1 << (port & 31));
  }

  /** Unmasks `port`; an event that arrived while it was masked is delivered now. */
  unmask(port: number): void {
    this.checkRange(port);
    Atomics.and(this.masked, port >>> 5, ~(1 << (port & 31)));
    if (this.isPending(port)) this.deliver(port);
  }

  /**
   * Raises an event on `port` for a receiver in another thread: the pending
   * bit is set and a thread waiting on its word is woken; no upcall here.
   */
  notify(port: number): void {
    this.checkRange(port);
    this.sent[port]++;
    Atomics.or(this.pending, port >>> 5, 1 << (port & 31));
    Atomics.notify(this.pending, port >>> 5);
  }

  /**
   * Blocks this thread until one of `ports` (all in one pending word) is
   * pending, or `timeoutMs` passes; takes (clears) and returns the pending
   * ones, [] on timeout. A masked port is not taken.
   */
  wait(ports: readonly number[], timeoutMs: number): number[] {
    if (ports.length === 0) throw new EventChannelError('wait needs a port');
    const word = ports[0] >>> 5;
    let bits = 0;
    for (const p of ports) {
      this.checkRange(p);
      if (p >>> 5 !== word) throw new EventChannelError('waited ports must share a pending word');
      bits |= 1 << (p & 31);
    }
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const value = Atomics.load(this.pending, word);
      const ready = value & bits & ~Atomics.load(this.masked, word);
      if (ready !== 0) {
        Atomics.and(this.pending, word, ~ready);
        const taken = ports.filter((p) => (ready & (1 << (p & 31))) !== 0);
        for (const p of taken) this.delivered[p]++;
        return taken;
      }
      const left = deadline - performance.now();
      if (left <= 0) return [];
      Atomics.wait(this.pending, word, value, left);
    }
  }

  /** Clears every pending bit (a domain reset). Masks are kept: they belong to the receiver. */
  clearPending(): void {
    for (let i = 0; i < this.pending.length; i++) Atomics.store(this.pending, i, 0);
  }

  private deliver(port: number): void {
    const handler = this.handlers[port];
    if (!handler) return;
    Atomics.and(this.pending, port >>> 5, ~(1 << (port & 31)));
    this.delivered[port]++;
    handler(port);
  }

  private checkRange(port: number): void {
    if (!Number.isInteger(port) || port <= 0 || port >= this.portCount) throw new EventChannelError(`event channel port ${port} does not exist`);
  }

  private check(port: number): void {
    if (!Number.isInteger(port) || port <= 0 || port >= this.portCount || !this.handlers[port]) {
      throw new EventChannelError(`event channel port ${port} is not bound`);
    }
  }
}
