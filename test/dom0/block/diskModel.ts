/** A seeded random stream and an in-memory disk that mirrors what a backend should hold. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  /** xorshift32 */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

/** A request mix that crosses cluster boundaries, is unaligned, and sometimes spans several clusters. */
export function randomRequest(rng: SeededRandom, diskSize: number, clusterSize: number): { offset: number; length: number } {
  const kind = rng.below(4);
  let length: number;
  if (kind === 0) length = 1 + rng.below(16); // tiny, unaligned
  else if (kind === 1) length = 512 * (1 + rng.below(8)); // sector multiples
  else if (kind === 2) length = clusterSize; // one cluster's worth (aligned or not)
  else length = 1 + rng.below(3 * clusterSize); // spans clusters
  length = Math.min(length, diskSize);
  let offset: number;
  if (rng.below(3) === 0) {
    // Straddle a cluster boundary.
    const boundary = clusterSize * (1 + rng.below(Math.max(1, Math.floor(diskSize / clusterSize) - 1)));
    offset = Math.max(0, boundary - 1 - rng.below(Math.min(length, clusterSize)));
  } else {
    offset = rng.below(diskSize - length + 1);
  }
  if (offset + length > diskSize) offset = diskSize - length;
  return { offset, length };
}
