/**
 * One VM serial port's output as the host keeps it: a bounded scrollback ring
 * (so a console opened later replays recent output) and the live
 * subscribers.
 *
 * Backpressure: a subscriber that reports a backlog above the limit (a slow
 * WebSocket, say) gets no live bytes until it drains; it is then told how many
 * bytes it missed and continues live. Nothing grows without bound: the ring is
 * fixed size and skipped bytes are only counted.
 */
import type { Unsubscribe } from './api.ts';

export const DEFAULT_SCROLLBACK_BYTES = 256 * 1024;
/** Backlog beyond which a subscriber stops receiving live output. */
export const DEFAULT_MAX_BACKLOG_BYTES = 1024 * 1024;

/** A fixed-capacity byte ring keeping the most recent bytes. */
export class ScrollbackRing {
  readonly capacity: number;
  private buf: Uint8Array | undefined; // allocated on first use: most ports never print
  private start = 0;
  private size = 0;

  constructor(capacity = DEFAULT_SCROLLBACK_BYTES) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError('scrollback capacity must be a positive integer');
    this.capacity = capacity;
  }

  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const cap = this.capacity;
    const buf = (this.buf ??= new Uint8Array(cap));
    if (bytes.length >= cap) {
      buf.set(bytes.subarray(bytes.length - cap));
      this.start = 0;
      this.size = cap;
      return;
    }
    let end = (this.start + this.size) % cap;
    const first = Math.min(bytes.length, cap - end);
    buf.set(bytes.subarray(0, first), end);
    buf.set(bytes.subarray(first), 0);
    end = (end + bytes.length) % cap;
    const newSize = this.size + bytes.length;
    if (newSize > cap) {
      this.start = end;
      this.size = cap;
    } else {
      this.size = newSize;
    }
  }

  /** A copy of the kept bytes, oldest first. */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.size);
    if (!this.buf || this.size === 0) return out;
    const first = Math.min(this.size, this.capacity - this.start);
    out.set(this.buf.subarray(this.start, this.start + first));
    out.set(this.buf.subarray(0, this.size - first), first);
    return out;
  }

  clear(): void {
    this.start = 0;
    this.size = 0;
  }
}

export interface SerialSubscriber {
  deliver(data: Uint8Array): void;
  /** Bytes handed over but not yet consumed (e.g. a WebSocket's bufferedAmount); 0 when unknown. */
  backlog?(): number;
}

interface SubscriberState {
  subscriber: SerialSubscriber;
  skipped: number;
}

const encoder = new TextEncoder();

export class SerialStream {
  readonly scrollback: ScrollbackRing;
  private readonly maxBacklog: number;
  private readonly subscribers = new Set<SubscriberState>();

  constructor(scrollbackBytes = DEFAULT_SCROLLBACK_BYTES, maxBacklog = DEFAULT_MAX_BACKLOG_BYTES) {
    this.scrollback = new ScrollbackRing(scrollbackBytes);
    this.maxBacklog = maxBacklog;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Replays the scrollback (one call, if not empty), then delivers live output. */
  subscribe(subscriber: SerialSubscriber): Unsubscribe {
    const state: SubscriberState = { subscriber, skipped: 0 };
    this.subscribers.add(state);
    if (this.scrollback.length > 0) safeDeliver(subscriber, this.scrollback.snapshot());
    return () => {
      this.subscribers.delete(state);
    };
  }

  publish(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.scrollback.push(bytes);
    for (const s of this.subscribers) {
      const backlog = s.subscriber.backlog?.() ?? 0;
      if (backlog > this.maxBacklog) {
        s.skipped += bytes.length;
        continue;
      }
      if (s.skipped > 0) {
        safeDeliver(s.subscriber, encoder.encode(`\r\n[popek: the console fell behind; ${s.skipped} bytes of output skipped]\r\n`));
        s.skipped = 0;
      }
      safeDeliver(s.subscriber, bytes);
    }
  }

  /** Forgets the scrollback (a new run starts); subscribers stay attached. */
  clear(): void {
    this.scrollback.clear();
  }
}

/** A subscriber that throws must not stop output to the others. */
function safeDeliver(subscriber: SerialSubscriber, data: Uint8Array): void {
  try {
    subscriber.deliver(data);
  } catch {
    // the consumer's problem (a closed socket, a destroyed window); others go on
  }
}
