/**
 * Unit tests of the x87 number conversions and remainder against reference
 * computations done here with BigInt / float32 neighbours (independent of the
 * implementation): 80-bit images, float32 rounding under each RC, integer
 * rounding ties, FPREM/FPREM1 quotient bits.
 */
import { describe, expect, it } from 'vitest';
import { extOut, fromExtended, storeF32, toExtended } from '../../core/cpu/fpu/formats.ts';
import { acc, beginArith, clearAcc, roundToInt } from '../../core/cpu/fpu/numeric.ts';
import { fadd, fsub } from '../../core/cpu/fpu/arith.ts';
import { partialRemainder, remOut } from '../../core/cpu/fpu/transcendental.ts';
import { RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP } from '../../core/cpu/fpu/fpu.ts';

const dv = new DataView(new ArrayBuffer(8));
function bitsOf(x: number): bigint {
  dv.setFloat64(0, x, true);
  return dv.getBigUint64(0, true);
}
function fromBits64(b: bigint): number {
  dv.setBigUint64(0, b, true);
  return dv.getFloat64(0, true);
}

/** Deterministic pseudo-random doubles over the whole finite range (sign, exponent, fraction). */
function* doubles(count: number): Generator<number> {
  let s = 0x9e3779b97f4a7c15n;
  for (let k = 0; k < count; k++) {
    s ^= s << 13n; s &= (1n << 64n) - 1n;
    s ^= s >> 7n;
    s ^= s << 17n; s &= (1n << 64n) - 1n;
    const x = fromBits64(s);
    if (Number.isFinite(x)) yield x;
  }
}

/** Reference 80-bit image of a finite binary64 value. */
function referenceExtended(x: number): { se: number; mant: bigint } {
  const b = bitsOf(x);
  const sign = Number(b >> 63n) << 15;
  const exp = Number((b >> 52n) & 0x7ffn);
  let m = b & ((1n << 52n) - 1n);
  if (exp === 0 && m === 0n) return { se: sign, mant: 0n };
  let e: number;
  if (exp === 0) {
    e = -1022;
    while (m < 1n << 52n) { m <<= 1n; e--; }
  } else {
    m |= 1n << 52n;
    e = exp - 1023;
  }
  return { se: sign | (e + 16383), mant: m << 11n };
}

describe('80-bit extended conversions', () => {
  it('binary64 → 80-bit matches the reference and converts back exactly (incl. denormals)', () => {
    const samples = [...doubles(3000), 5e-324, -2.2250738585072014e-308, 2.225073858507201e-308, Number.MAX_VALUE, 0, -0];
    for (const x of samples) {
      toExtended(x);
      const ref = referenceExtended(x);
      expect({ se: extOut.se, mant: (BigInt(extOut.hi) << 32n) | BigInt(extOut.lo) }).toEqual(ref);
      expect(bitsOf(fromExtended(extOut.se, extOut.hi, extOut.lo))).toBe(bitsOf(x));
    }
  });

  it('rounds 64-bit significands to 53 bits, nearest even', () => {
    // 1 + 2^-53 (a tie) rounds to 1; 1 + 3 * 2^-53 rounds to 1 + 2^-51 (the even neighbour).
    expect(fromExtended(0x3fff, 0x8000_0000, 0x400)).toBe(1);
    expect(fromExtended(0x3fff, 0x8000_0000, 0xc00)).toBe(1 + 2 ** -51);
    expect(fromExtended(0x3fff, 0x8000_0000, 0x401)).toBe(1 + 2 ** -52);
  });

  it('clamps exponents outside binary64 and maps unsupported encodings to the indefinite', () => {
    expect(fromExtended(0x43ff, 0x8000_0000, 0)).toBe(Infinity); // 2^1024
    expect(fromExtended(0xc3fe, 0x8000_0000, 0)).toBe(-(2 ** 1023));
    expect(fromExtended(0x3bcd, 0x8000_0000, 0)).toBe(5e-324); // 2^-1074
    expect(Object.is(fromExtended(0x8001, 0x8000_0000, 0), -0)).toBe(true);
    expect(bitsOf(fromExtended(0x3fff, 0x4000_0000, 0))).toBe(0xfff8_0000_0000_0000n); // unnormal
    expect(bitsOf(fromExtended(0x7fff, 0, 0))).toBe(0xfff8_0000_0000_0000n); // pseudo-infinity
  });
});

describe('float32 stores under RC', () => {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  function neighbours(x: number): [number, number] {
    f32[0] = x;
    const f = f32[0];
    if (f === x) return [u32[0], u32[0]];
    const b = u32[0];
    const other = (f < x) === (f > 0) ? b + 1 : b - 1; // one float32 step toward x
    f32[0] = f; u32[0] = other; const g = f32[0];
    return f < g ? [b, other] : [other, b]; // [below, above]
  }
  it('rounds down/up/toward zero/nearest to the right float32 neighbour', () => {
    for (const x of doubles(2000)) {
      if (Math.abs(x) > 3e38 || Math.abs(x) < 1.2e-38) continue;
      const [below, above] = neighbours(x);
      f32[0] = x;
      const nearest = u32[0];
      const expected = [nearest, below, above, x > 0 ? below : above];
      for (const rc of [RC_NEAREST, RC_DOWN, RC_UP, RC_CHOP]) {
        clearAcc();
        expect(storeF32(x, rc)).toBe(expected[rc]);
      }
    }
  });
});

describe('precision control single (24-bit significands)', () => {
  it('rounds the exact value, not the binary64 one: ties, and just below a power of two', () => {
    beginArith(0x0c7f); // PC = single, RC = chop
    expect(fsub(1, 2 ** -60, 3)).toBe(1 - 2 ** -24); // binary64 rounds to 1; chopping the exact value does not
    expect(acc.flags & 0x20).toBe(0x20);
    beginArith(0x007f); // nearest: 1 + 2^-24 + 2^-60 is just above the tie, so it rounds up
    expect(fadd(1 + 2 ** -24, 2 ** -60, 0)).toBe(1 + 2 ** -23);
    beginArith(0x007f); // an exact tie goes to even
    expect(fadd(1, 2 ** -24, 0)).toBe(1);
    expect(acc.roundedUp).toBe(false);
  });
});

describe('integer rounding', () => {
  it('rounds ties to even under RC=nearest and keeps the sign of zero', () => {
    const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [-0.5, -0], [-1.5, -2], [-2.5, -2], [2.4999999999999996, 2], [4503599627370495.5, 4503599627370496]];
    for (const [x, r] of cases) {
      clearAcc();
      expect(Object.is(roundToInt(x, RC_NEAREST), r)).toBe(true);
      expect(acc.flags & 0x20).toBe(0x20);
    }
    clearAcc();
    expect(roundToInt(-7, RC_UP)).toBe(-7);
    expect(acc.flags).toBe(0);
  });
});

describe('partial remainders', () => {
  it('a partial step (exponent difference D >= 64) reduces by N = 32 + D mod 32 bits and sets only C2', () => {
    // 2^100 rem 3: D = 99, N = 35, modulus 3 * 2^64; 2^100 = 2^64 * 2^36 and 2^36 mod 3 = 1.
    expect(partialRemainder(2 ** 100, 3, false)).toBe(2 ** 64);
    expect(remOut.cc).toBe(0x400);
  });

  function bits(q: bigint): number {
    return (q & 4n ? 0x100 : 0) | (q & 2n ? 0x4000 : 0) | (q & 1n ? 0x200 : 0);
  }
  it('FPREM (truncated) and FPREM1 (nearest-even quotient) match BigInt arithmetic', () => {
    let seed = 12345;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    for (let k = 0; k < 2000; k++) {
      const a = BigInt(rnd(2 ** 30)) * BigInt(rnd(2 ** 20) + 1) * (rnd(2) ? 1n : -1n);
      const b = BigInt(rnd(2 ** 24) + 1) * (rnd(2) ? 1n : -1n);
      // FPREM: truncated quotient.
      const q = a / b;
      const r = a - q * b;
      const qa = q < 0n ? -q : q;
      expect(partialRemainder(Number(a), Number(b), false)).toBe(Number(r));
      expect(remOut.cc).toBe(bits(qa));
      // FPREM1: quotient rounded to nearest, ties to even.
      const ab = b < 0n ? -b : b, ar = r < 0n ? -r : r;
      let qn = qa, rn = r;
      if (2n * ar > ab || (2n * ar === ab && (qa & 1n) === 1n)) {
        qn = qa + 1n;
        rn = r > 0n ? r - ab : r + ab;
      }
      expect(partialRemainder(Number(a), Number(b), true)).toBe(Number(rn));
      expect(remOut.cc).toBe(bits(qn));
    }
  });
});
