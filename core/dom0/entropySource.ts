/**
 * Where virtio-rng's bytes come from. The host's randomness (node:crypto)
 * for a real run; with the deterministic clock a SHA-256 counter stream
 * from a fixed seed instead, because "deterministic when asked" covers the
 * guest's entropy pool too (same inputs, same run).
 */
import { createHash, randomFillSync } from 'node:crypto';

export type EntropySource = (dest: Uint8Array) => void;

export function hostEntropy(): EntropySource {
  return (dest) => {
    randomFillSync(dest);
  };
}

export function deterministicEntropy(seed = 'popek-deterministic-entropy'): EntropySource {
  let counter = 0;
  let block = new Uint8Array(0);
  let used = 0;
  return (dest) => {
    for (let i = 0; i < dest.length; i++) {
      if (used === block.length) {
        block = new Uint8Array(createHash('sha256').update(`${seed}:${counter++}`).digest());
        used = 0;
      }
      dest[i] = block[used++];
    }
  };
}
