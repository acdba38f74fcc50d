/**
 * A 256-bit vector register of the local APIC (IRR, ISR, TMR) as eight
 * 32-bit words, the layout the guest reads at 0x100/0x180/0x200 + 16 * n.
 * Plain numbers so the state serializes as it is.
 */
export type VectorBits = number[];

export function emptyVectorBits(): VectorBits {
  return [0, 0, 0, 0, 0, 0, 0, 0];
}

export function setVector(bits: VectorBits, vector: number): void {
  bits[vector >>> 5] |= 1 << (vector & 31);
}

export function clearVector(bits: VectorBits, vector: number): void {
  bits[vector >>> 5] &= ~(1 << (vector & 31));
}

export function hasVector(bits: VectorBits, vector: number): boolean {
  return (bits[vector >>> 5] & (1 << (vector & 31))) !== 0;
}

/** The highest set vector, or -1. */
export function highestVector(bits: VectorBits): number {
  for (let word = 7; word >= 0; word--) {
    const w = bits[word];
    if (w !== 0) return word * 32 + 31 - Math.clz32(w);
  }
  return -1;
}
