/**
 * The frame allocator of machine memory: which 4 KiB frames of the pool are
 * in use, kept as a bitmap in its own SharedArrayBuffer so every worker that
 * maps the pool allocates from the same state (Atomics on 32-bit words; no
 * lock, a compare-and-swap per frame taken).
 *
 * Layout of the state buffer (Int32Array):
 *   [0] frames the pool holds now (it grows up to the limit)
 *   [1] frames in use
 *   [2] where the next search starts (a hint, any value is correct)
 *   [HEADER_WORDS ..] one bit per frame of the limit, 1 = in use
 *   then, as 16-bit words, each frame's owner (0 = none): the domain whose
 *   allocator instance took it, so the host can take back every frame of a
 *   VM whose worker ended, however it ended (Xen keeps a page's owner too)
 *
 * The allocator never touches the frames' bytes; growing the pool's buffer is
 * the caller's (MachineMemory) job, asked for through `ensureFrames`.
 */
export const FRAME_SHIFT = 12;
export const FRAME_SIZE = 1 << FRAME_SHIFT;

const HEADER_WORDS = 4;
const SIZE = 0;
const USED = 1;
const HINT = 2;

/** Machine memory has run out (the pool is at its limit and every frame is taken). */
export class OutOfMachineMemory extends Error {
  override readonly name = 'OutOfMachineMemory';
}

export class FrameAllocator {
  /** The state, shareable with other workers (see `adopt`). */
  readonly state: SharedArrayBuffer;
  /** Frames of the limit: the pool never holds more. */
  readonly limitFrames: number;
  /** The owner this instance tags the frames it takes with (0: none). */
  readonly owner: number;
  private readonly words: Int32Array;
  private readonly owners: Uint16Array;
  /** Called with a frame count the pool must hold before frames up to it are handed out. */
  private readonly grow: (frames: number) => void;
  /** The pool size this instance last made sure of through `grow` (another worker may have grown it since). */
  private knownFrames = 0;

  private constructor(state: SharedArrayBuffer, limitFrames: number, grow: (frames: number) => void, owner: number) {
    if (!Number.isInteger(owner) || owner < 0 || owner > 0xffff) throw new RangeError(`frame owner must be 0..65535, got ${owner}`);
    this.state = state;
    this.limitFrames = limitFrames;
    this.words = new Int32Array(state, 0, stateWords(limitFrames));
    this.owners = new Uint16Array(state, stateWords(limitFrames) * 4, limitFrames);
    this.grow = grow;
    this.owner = owner;
  }

  /** A fresh allocator for a pool that holds `frames` frames now and may grow to `limitFrames`. */
  static create(frames: number, limitFrames: number, grow: (frames: number) => void): FrameAllocator {
    if (!Number.isInteger(limitFrames) || limitFrames <= 0 || limitFrames > 0x100000) {
      throw new RangeError(`frame limit must be 1..1048576 (4 GiB), got ${limitFrames}`);
    }
    if (!Number.isInteger(frames) || frames < 0 || frames > limitFrames) throw new RangeError(`initial frames must be 0..${limitFrames}, got ${frames}`);
    const state = new SharedArrayBuffer(stateBytes(limitFrames));
    const a = new FrameAllocator(state, limitFrames, grow, 0);
    a.words[SIZE] = frames;
    return a;
  }

  /** Another worker's view of the same allocator state. */
  static adopt(state: SharedArrayBuffer, limitFrames: number, grow: (frames: number) => void, owner = 0): FrameAllocator {
    if (state.byteLength < stateBytes(limitFrames)) throw new RangeError('allocator state is smaller than its frame limit needs');
    return new FrameAllocator(state, limitFrames, grow, owner);
  }

  /** Frames tagged with `owner` now. */
  framesOwnedBy(owner: number): number {
    let n = 0;
    for (let f = 0; f < this.limitFrames; f++) if (Atomics.load(this.owners, f) === owner && this.isAllocated(f)) n++;
    return n;
  }

  /** Gives back every frame tagged with `owner` (a domain whose worker is gone); returns how many. */
  freeOwnedBy(owner: number): number {
    if (owner === 0) throw new RangeError('frames without an owner cannot be freed by owner');
    const frames: number[] = [];
    for (let f = 0; f < this.limitFrames; f++) if (Atomics.load(this.owners, f) === owner && this.isAllocated(f)) frames.push(f);
    this.free(frames);
    return frames.length;
  }

  /** Frames the pool holds now. */
  get frames(): number {
    return Atomics.load(this.words, SIZE);
  }

  get usedFrames(): number {
    return Atomics.load(this.words, USED);
  }

  /** Frames still obtainable, counting the growth up to the limit. */
  get availableFrames(): number {
    return this.limitFrames - this.usedFrames;
  }

  isAllocated(frame: number): boolean {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.limitFrames) return false;
    return (Atomics.load(this.words, HEADER_WORDS + (frame >>> 5)) & (1 << (frame & 31))) !== 0;
  }

  /**
   * Takes `count` frames (not necessarily contiguous), growing the pool when
   * the frames it holds are all taken. All or nothing: on failure every frame
   * taken by this call is given back before the error is thrown.
   */
  allocate(count: number): number[] {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`frame count must be a whole number, got ${count}`);
    const taken: number[] = [];
    try {
      while (taken.length < count) taken.push(this.allocateOne());
    } catch (e) {
      this.free(taken);
      if (e instanceof OutOfMachineMemory) {
        throw new OutOfMachineMemory(
          `machine memory is full: ${mib(count)} requested, ${mib(this.availableFrames)} free of the ${mib(this.limitFrames)} the machine has`,
        );
      }
      throw e;
    }
    return taken;
  }

  /** Takes one frame; throws OutOfMachineMemory when none is left up to the limit. */
  allocateOne(): number {
    for (;;) {
      const size = Atomics.load(this.words, SIZE);
      if (size > this.knownFrames) {
        // Another worker grew the pool: this worker's views must cover the frames it may now be handed.
        this.grow(size);
        this.knownFrames = size;
      }
      const frame = this.takeBelow(size);
      if (frame >= 0) {
        Atomics.store(this.owners, frame, this.owner);
        return frame;
      }
      if (size >= this.limitFrames) throw new OutOfMachineMemory(`machine memory is full (${mib(this.limitFrames)})`);
      // Grow by a quarter (at least 256 frames = 1 MiB) so a big domain does not grow the buffer frame by frame.
      const wanted = Math.min(this.limitFrames, Math.max(size + 256, Math.ceil(size * 1.25)));
      this.grow(wanted);
      Atomics.compareExchange(this.words, SIZE, size, wanted); // another worker may have grown it already: either is fine
    }
  }

  /** Makes sure the pool holds at least `frames` frames (a caller that places things at fixed frames). */
  ensureFrames(frames: number): void {
    if (frames > this.limitFrames) throw new OutOfMachineMemory(`machine memory is limited to ${mib(this.limitFrames)}`);
    for (;;) {
      const size = Atomics.load(this.words, SIZE);
      if (size >= frames) return;
      this.grow(frames);
      if (Atomics.compareExchange(this.words, SIZE, size, frames) === size) return;
    }
  }

  /** Gives frames back. Freeing a frame that is not allocated is a hypervisor bug and throws. */
  free(frames: readonly number[]): void {
    for (const frame of frames) {
      if (!this.isAllocated(frame)) throw new Error(`frame ${frame} is freed but not allocated`);
      const word = HEADER_WORDS + (frame >>> 5);
      Atomics.store(this.owners, frame, 0);
      Atomics.and(this.words, word, ~(1 << (frame & 31)));
      Atomics.sub(this.words, USED, 1);
    }
  }

  /** A free frame below `size`, marked in use, or -1. Starts at the hint and wraps once. */
  private takeBelow(size: number): number {
    const lastWord = Math.ceil(size / 32);
    if (lastWord === 0) return -1;
    const start = Math.min(Atomics.load(this.words, HINT) >>> 0, lastWord - 1);
    for (let n = 0; n < lastWord; n++) {
      const w = (start + n) % lastWord;
      const index = HEADER_WORDS + w;
      for (;;) {
        const bits = Atomics.load(this.words, index);
        if (bits === -1) break;
        const bit = 31 - Math.clz32(~bits & (bits + 1)); // lowest clear bit
        const frame = w * 32 + bit;
        if (frame >= size) break;
        if (Atomics.compareExchange(this.words, index, bits, bits | (1 << bit)) === bits) {
          Atomics.add(this.words, USED, 1);
          Atomics.store(this.words, HINT, w);
          return frame;
        }
      }
    }
    return -1;
  }
}

function stateWords(limitFrames: number): number {
  return HEADER_WORDS + Math.ceil(limitFrames / 32);
}

function stateBytes(limitFrames: number): number {
  return stateWords(limitFrames) * 4 + limitFrames * 2;
}

function mib(frames: number): string {
  return `${(frames * FRAME_SIZE) / (1024 * 1024)} MiB`;
}
