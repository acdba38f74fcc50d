/**
 * The shared memory between a virtio device's transport in the machine's
 * thread and the device's virtqueue service in dom0's worker thread
 * (core/dom0/worker/queueService.ts serves it, remoteDevice.ts drives it):
 * one SharedArrayBuffer per device holding
 *
 *   - the control word: ACTIVATE (queue addresses and negotiated features
 *     are in this area) or RESET, set by the machine's thread, cleared by
 *     dom0 once it has acted (the machine's thread waits for that);
 *   - per queue: the avail index of the latest kick (`kickIndex`, machine),
 *     the kick index dom0 has served up to (`servedIndex`), and the used
 *     index dom0 has reached (`usedIndex`: elements written, used.idx not);
 *   - dom0's per-device counters (requests, bytes, errors, what it dropped);
 *   - the reason dom0 put the device in DEVICE_NEEDS_RESET;
 *   - the device's statistics of its backend (STATS: a virtio-blk disk's
 *     flushes and discards, JSON), written by dom0 on the machine's command;
 *   - a ring of guest RAM ranges dom0 wrote (buffer offset, length), which
 *     the machine's thread hands to its memory bus so decoded code from those
 *     pages is dropped before the guest sees the completion.
 *
 * Index words are read and written with Atomics; a word dom0 publishes
 * (usedIndex, servedIndex, the log's tail) is stored after what it covers.
 */

export const CMD_NONE = 0;
export const CMD_ACTIVATE = 1;
export const CMD_RESET = 2;
/** dom0 writes the device's backend statistics (`writeStatistics`). */
export const CMD_STATS = 3;

/** Queues one link describes at most: virtio-console's 16 ports and its control pair (block and entropy have one). */
export const LINK_MAX_QUEUES = 34;
/** Ranges the DMA log holds before dom0 waits for the machine's thread to take them (a power of two). */
export const DMA_LOG_ENTRIES = 4096;
const MESSAGE_BYTES = 1024;
const STATS_BYTES = 4096;

// Int32 words.
const W_COMMAND = 0;
const W_QUEUES = 1;
const W_FEATURES_LO = 2;
const W_FEATURES_HI = 3;
const W_RESET_SEQ = 4;
const W_MESSAGE_LENGTH = 5;
const W_LOG_HEAD = 6;
const W_LOG_TAIL = 7;
const W_FAILED = 8;
const W_STATS_LENGTH = 9;
const W_QUEUE_BASE = 10;
const QUEUE_WORDS = 8;
const Q_SIZE = 0;
const Q_EVENT_IDX = 1;
const Q_INDIRECT = 2;
const Q_KICK = 3;
const Q_SERVED = 4;
const Q_USED = 5;
const INT_WORDS = W_QUEUE_BASE + QUEUE_WORDS * LINK_MAX_QUEUES;

// Float64 words (after the Int32 words).
const F_ADDRESS_BASE = 0; // desc, avail, used per queue
const F_COUNTERS = 3 * LINK_MAX_QUEUES;
const FLOAT_WORDS = F_COUNTERS + 5;

const FLOAT_OFFSET = Math.ceil((INT_WORDS * 4) / 8) * 8;
const MESSAGE_OFFSET = FLOAT_OFFSET + FLOAT_WORDS * 8;
const LOG_OFFSET = MESSAGE_OFFSET + MESSAGE_BYTES;
const STATS_OFFSET = LOG_OFFSET + DMA_LOG_ENTRIES * 16;
const TOTAL_BYTES = STATS_OFFSET + STATS_BYTES;

export interface LinkQueueConfig {
  size: number;
  desc: number;
  avail: number;
  used: number;
  eventIdx: boolean;
  indirect: boolean;
}

export interface LinkCounters {
  requests: number;
  bytesRead: number;
  bytesWritten: number;
  errors: number;
  /** VirtioDeviceType.dropped (a NIC's lost frames); 0 for a device that never drops. */
  dropped: number;
}

export class QueueLink {
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;
  private readonly floats: Float64Array;
  private readonly message: Uint8Array;
  private readonly log: Float64Array;
  private readonly stats: Uint8Array;

  constructor(buffer: SharedArrayBuffer | null = null) {
    this.buffer = buffer ?? new SharedArrayBuffer(TOTAL_BYTES);
    this.words = new Int32Array(this.buffer, 0, INT_WORDS);
    this.floats = new Float64Array(this.buffer, FLOAT_OFFSET, FLOAT_WORDS);
    this.message = new Uint8Array(this.buffer, MESSAGE_OFFSET, MESSAGE_BYTES);
    this.log = new Float64Array(this.buffer, LOG_OFFSET, DMA_LOG_ENTRIES * 2);
    this.stats = new Uint8Array(this.buffer, STATS_OFFSET, STATS_BYTES);
  }

  // ---- statistics (dom0 -> machine, on CMD_STATS) ---------------------------

  /** dom0: the device's backend statistics as text (cut at the area's size); before it acknowledges CMD_STATS. */
  writeStatistics(text: string): void {
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > STATS_BYTES) throw new RangeError(`statistics of ${bytes.length} bytes do not fit the link's ${STATS_BYTES}`);
    this.stats.set(bytes);
    this.words[W_STATS_LENGTH] = bytes.length;
  }

  /** The machine's thread, after dom0 acknowledged CMD_STATS. */
  readStatistics(): string {
    return new TextDecoder().decode(this.stats.slice(0, this.words[W_STATS_LENGTH]));
  }

  // ---- control (machine -> dom0, acknowledged by clearing) -------------------

  get command(): number {
    return Atomics.load(this.words, W_COMMAND);
  }

  /** The machine's thread: what dom0 is to do next (stored last, after the configuration it refers to). */
  setCommand(command: number): void {
    Atomics.store(this.words, W_COMMAND, command);
  }

  /** dom0: the command is done. */
  acknowledge(): void {
    Atomics.store(this.words, W_COMMAND, CMD_NONE);
  }

  writeConfig(features: bigint, queues: readonly LinkQueueConfig[]): void {
    if (queues.length > LINK_MAX_QUEUES) throw new RangeError(`a dom0 queue link holds at most ${LINK_MAX_QUEUES} queues`);
    this.words[W_QUEUES] = queues.length;
    this.words[W_FEATURES_LO] = Number(features & 0xffff_ffffn) | 0;
    this.words[W_FEATURES_HI] = Number((features >> 32n) & 0xffff_ffffn) | 0;
    queues.forEach((q, i) => {
      const w = W_QUEUE_BASE + QUEUE_WORDS * i;
      this.words[w + Q_SIZE] = q.size;
      this.words[w + Q_EVENT_IDX] = q.eventIdx ? 1 : 0;
      this.words[w + Q_INDIRECT] = q.indirect ? 1 : 0;
      this.floats[F_ADDRESS_BASE + 3 * i] = q.desc;
      this.floats[F_ADDRESS_BASE + 3 * i + 1] = q.avail;
      this.floats[F_ADDRESS_BASE + 3 * i + 2] = q.used;
    });
  }

  readConfig(): { features: bigint; queues: LinkQueueConfig[] } {
    const features = (BigInt(this.words[W_FEATURES_HI] >>> 0) << 32n) | BigInt(this.words[W_FEATURES_LO] >>> 0);
    const queues: LinkQueueConfig[] = [];
    for (let i = 0; i < this.words[W_QUEUES]; i++) {
      const w = W_QUEUE_BASE + QUEUE_WORDS * i;
      queues.push({
        size: this.words[w + Q_SIZE],
        eventIdx: this.words[w + Q_EVENT_IDX] !== 0,
        indirect: this.words[w + Q_INDIRECT] !== 0,
        desc: this.floats[F_ADDRESS_BASE + 3 * i],
        avail: this.floats[F_ADDRESS_BASE + 3 * i + 1],
        used: this.floats[F_ADDRESS_BASE + 3 * i + 2],
      });
    }
    return { features, queues };
  }

  /** Both sides after a reset: no kick outstanding, nothing used. */
  clearIndexes(): void {
    for (let i = 0; i < LINK_MAX_QUEUES; i++) {
      const w = W_QUEUE_BASE + QUEUE_WORDS * i;
      Atomics.store(this.words, w + Q_KICK, 0);
      Atomics.store(this.words, w + Q_SERVED, 0);
      Atomics.store(this.words, w + Q_USED, 0);
    }
  }

  // ---- per-queue indexes -----------------------------------------------------

  kickIndex(q: number): number {
    return Atomics.load(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_KICK);
  }
  setKickIndex(q: number, index: number): void {
    Atomics.store(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_KICK, index);
  }
  servedIndex(q: number): number {
    return Atomics.load(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_SERVED);
  }
  setServedIndex(q: number, index: number): void {
    Atomics.store(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_SERVED, index);
  }
  usedIndex(q: number): number {
    return Atomics.load(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_USED);
  }
  setUsedIndex(q: number, index: number): void {
    Atomics.store(this.words, W_QUEUE_BASE + QUEUE_WORDS * q + Q_USED, index);
  }

  // ---- counters and errors (dom0 -> machine) --------------------------------

  writeCounters(c: LinkCounters): void {
    this.floats[F_COUNTERS] = c.requests;
    this.floats[F_COUNTERS + 1] = c.bytesRead;
    this.floats[F_COUNTERS + 2] = c.bytesWritten;
    this.floats[F_COUNTERS + 3] = c.errors;
    this.floats[F_COUNTERS + 4] = c.dropped;
  }

  readCounters(): LinkCounters {
    const f = this.floats;
    return { requests: f[F_COUNTERS], bytesRead: f[F_COUNTERS + 1], bytesWritten: f[F_COUNTERS + 2], errors: f[F_COUNTERS + 3], dropped: f[F_COUNTERS + 4] };
  }

  /** Times dom0 reported a reason to enter DEVICE_NEEDS_RESET. */
  get resetSequence(): number {
    return Atomics.load(this.words, W_RESET_SEQ);
  }

  /** dom0: the device must be reset: a VirtqueueError of `kind` (its kind, 'memory' for a ring outside RAM), because of `reason`. */
  reportNeedsReset(kind: string, reason: string): void {
    this.setMessage(`${kind}\n${reason}`);
    Atomics.add(this.words, W_RESET_SEQ, 1);
  }

  /** What the last reportNeedsReset said. */
  needsResetReason(): { kind: string; reason: string } {
    const text = this.getMessage();
    const cut = text.indexOf('\n');
    return { kind: text.slice(0, cut), reason: text.slice(cut + 1) };
  }

  /** dom0 met an error that is not the guest's (a device model or backend bug): the machine stops with it. */
  reportFailure(message: string): void {
    this.setMessage(message);
    Atomics.store(this.words, W_FAILED, 1);
  }

  /** dom0's failure, or null. */
  failure(): string | null {
    return Atomics.load(this.words, W_FAILED) === 0 ? null : this.getMessage();
  }

  private setMessage(text: string): void {
    const bytes = new TextEncoder().encode(text).subarray(0, MESSAGE_BYTES);
    this.message.set(bytes);
    this.words[W_MESSAGE_LENGTH] = bytes.length;
  }

  private getMessage(): string {
    return new TextDecoder().decode(this.message.slice(0, this.words[W_MESSAGE_LENGTH]));
  }

  // ---- DMA log (dom0 -> machine) --------------------------------------------

  /** Free entries in the DMA log. */
  logSpace(): number {
    return DMA_LOG_ENTRIES - ((Atomics.load(this.words, W_LOG_TAIL) - Atomics.load(this.words, W_LOG_HEAD)) | 0);
  }

  /** dom0: appends ranges (the caller made sure they fit: logSpace). */
  appendLog(ranges: readonly (readonly [number, number])[]): void {
    let tail = Atomics.load(this.words, W_LOG_TAIL);
    for (const [offset, length] of ranges) {
      const slot = (tail & (DMA_LOG_ENTRIES - 1)) * 2;
      this.log[slot] = offset;
      this.log[slot + 1] = length;
      tail = (tail + 1) | 0;
    }
    Atomics.store(this.words, W_LOG_TAIL, tail);
  }

  /** The machine's thread: takes every logged range. */
  drainLog(each: (offset: number, length: number) => void): void {
    let head = Atomics.load(this.words, W_LOG_HEAD);
    const tail = Atomics.load(this.words, W_LOG_TAIL);
    for (; head !== tail; head = (head + 1) | 0) {
      const slot = (head & (DMA_LOG_ENTRIES - 1)) * 2;
      each(this.log[slot], this.log[slot + 1]);
    }
    Atomics.store(this.words, W_LOG_HEAD, head);
  }

  /** The log's head word and its index, for a dom0 that waits for room (Atomics.wait). */
  get logHeadWord(): { array: Int32Array; index: number } {
    return { array: this.words, index: W_LOG_HEAD };
  }
}
