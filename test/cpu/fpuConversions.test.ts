/**
 * Unit tests of the x87 number conversions and remainder against reference
 * computations done here with BigInt / float32 neighbours (independent of the
 * implementation): 80-bit images of binary64 values, m64/m32 rounding under
 * each RC, precision control, integer rounding ties, FPREM/FPREM1 quotient
 * bits.
 */
import { describe, expect, it } from 'vitest';
import { f64Out, fromDouble, fromInteger, loadF64, storeF32, storeF64, toInteger } from '../../core/cpu/fpu/formats.ts';
import { acc, beginArith, clearAcc } from '../../core/cpu/fpu/numeric.ts';
import { fadd, fsub } from '../../core/cpu/fpu/arith.ts';
import { partialRemainder, remOut } from '../../core/cpu/fpu/transcendental.ts';
import { RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP } from '../../core/cpu/fpu/fpu.ts';
import type { X80 } from '../../core/cpu/fpu/ext80.ts';

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

/** The binary64 value an 80-bit value stores as (m64fp, current RC). */
function asDouble(x: X80): number {
  storeF64(x);
  return fromBits64((BigInt(f64Out.hi) << 32n) | BigInt(f64Out.lo));
}
const ext = (se: number, hi: number, lo: number): X80 => ({ se, hi: hi >>> 0, lo: lo >>> 0 });

describe('80-bit extended conversions', () => {
  it('binary64 → 80-bit matches the reference and stores back exactly (incl. denormals)', () => {
    const samples = [...doubles(3000), 5e-324, -2.2250738585072014e-308, 2.225073858507201e-308, Number.MAX_VALUE, 0, -0];
    for (const x of samples) {
      clearAcc(0x037f);
      const b = bitsOf(x);
      const e = loadF64(Number(b >> 32n), Number(b & 0xffff_ffffn));
      const ref = referenceExtended(x);
      expect({ se: e.se, mant: (BigInt(e.hi) << 32n) | BigInt(e.lo) }).toEqual(ref);
      clearAcc(0x037f);
      expect(bitsOf(asDouble(e))).toBe(bitsOf(x));
      expect(acc.flags).toBe(0);
    }
  });

  it('m64 stores round 64-bit significands to 53 bits, nearest even, with PE and C1', () => {
    // 1 + 2^-53 (a tie) rounds to 1; 1 + 3 * 2^-53 rounds to 1 + 2^-51 (the even neighbour).
    clearAcc(0x037f);
    expect(asDouble(ext(0x3fff, 0x8000_0000, 0x400))).toBe(1);
    expect([acc.flags, acc.roundedUp]).toEqual([0x20, false]);
    clearAcc(0x037f);
    expect(asDouble(ext(0x3fff, 0x8000_0000, 0xc00))).toBe(1 + 2 ** -51);
    expect([acc.flags, acc.roundedUp]).toEqual([0x20, true]);
    clearAcc(0x037f);
    expect(asDouble(ext(0x3fff, 0x8000_0000, 0x401))).toBe(1 + 2 ** -52);
  });

  it('m64 stores overflow to infinity or the largest value by RC, and underflow to denormals', () => {
    clearAcc(0x037f);
    expect(asDouble(ext(0x43ff, 0x8000_0000, 0))).toBe(Infinity); // 2^1024
    expect(acc.flags).toBe(0x28); // OE, PE
    clearAcc(0x0f7f); // chop
    expect(asDouble(ext(0x43ff, 0x8000_0000, 0))).toBe(Number.MAX_VALUE);
    clearAcc(0x037f);
    expect(asDouble(ext(0xc3fe, 0x8000_0000, 0))).toBe(-(2 ** 1023));
    expect(acc.flags).toBe(0);
    clearAcc(0x037f);
    expect(asDouble(ext(0x3bcd, 0x8000_0000, 0))).toBe(5e-324); // 2^-1074: exact, no UE when masked
    expect(acc.flags).toBe(0);
    clearAcc(0x037f);
    expect(asDouble(ext(0x3bcd, 0xc000_0000, 0))).toBe(2 * 5e-324); // 1.5 * 2^-1074: a tie, to even
    expect(acc.flags).toBe(0x30); // UE, PE
    clearAcc(0x037f);
    expect(Object.is(asDouble(ext(0x8001, 0x8000_0000, 0)), -0)).toBe(true);
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
        clearAcc(0x037f | (rc << 10));
        expect(storeF32(fromDouble(x))).toBe(expected[rc]);
      }
    }
  });
});

describe('precision control', () => {
  it('single: rounds the exact value to 24 bits; ties to even', () => {
    beginArith(0x0c7f); // PC = single, RC = chop
    expect(asDouble(fsub(fromDouble(1), fromDouble(2 ** -60)))).toBe(1 - 2 ** -24);
    expect(acc.flags & 0x20).toBe(0x20);
    beginArith(0x007f); // nearest: 1 + 2^-24 + 2^-60 is just above the tie, so it rounds up
    expect(asDouble(fadd(fromDouble(1 + 2 ** -24), fromDouble(2 ** -60)))).toBe(1 + 2 ** -23);
    beginArith(0x007f); // an exact tie goes to even
    expect(asDouble(fadd(fromDouble(1), fromDouble(2 ** -24)))).toBe(1);
    expect(acc.roundedUp).toBe(false);
  });

  it('double and extended: 1 + 2^-60 is 1 at 53 bits and exact at 64', () => {
    beginArith(0x027f);
    expect(fadd(fromDouble(1), fromDouble(2 ** -60))).toEqual(ext(0x3fff, 0x8000_0000, 0));
    beginArith(0x037f);
    expect(fadd(fromDouble(1), fromDouble(2 ** -60))).toEqual(ext(0x3fff, 0x8000_0000, 0x8));
    expect(acc.flags).toBe(0);
  });
});

describe('integer rounding', () => {
  const I64 = [-(1n << 63n), (1n << 63n) - 1n] as const;
  it('rounds ties to even under RC=nearest, by RC otherwise', () => {
    const cases: [number, bigint][] = [[0.5, 0n], [1.5, 2n], [2.5, 2n], [-0.5, 0n], [-1.5, -2n], [-2.5, -2n], [2.4999999999999996, 2n], [4503599627370495.5, 4503599627370496n]];
    for (const [x, r] of cases) {
      clearAcc(0x037f);
      expect(toInteger(fromDouble(x), ...I64)).toBe(r);
      expect(acc.flags & 0x20).toBe(0x20);
    }
    clearAcc(0x0b7f);
    expect(toInteger(fromDouble(-7), ...I64)).toBe(-7n);
    expect(acc.flags).toBe(0);
    clearAcc(0x0b7f);
    expect(toInteger(fromDouble(-7.5), ...I64)).toBe(-7n);
    clearAcc(0x077f);
    expect(toInteger(fromDouble(-7.5), ...I64)).toBe(-8n);
  });
  it('the full 64-bit range is exact; one past it is invalid', () => {
    clearAcc(0x037f);
    expect(toInteger(fromInteger(I64[1]), ...I64)).toBe(I64[1]);
    expect(toInteger(fromInteger(I64[0]), ...I64)).toBe(I64[0]);
    expect(acc.flags).toBe(0);
    expect(toInteger(fromInteger(1n << 63n), ...I64)).toBe(null);
    expect(acc.flags).toBe(1);
  });
});

describe('partial remainders', () => {
  it('a partial step (exponent difference D >= 64) reduces by N = 32 + D mod 32 bits and sets only C2', () => {
    // 2^100 rem 3: D = 99, N = 35, modulus 3 * 2^64; 2^100 = 2^64 * 2^36 and 2^36 mod 3 = 1.
    clearAcc(0x037f);
    expect(asDouble(partialRemainder(fromDouble(2 ** 100), fromDouble(3), false))).toBe(2 ** 64);
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
      clearAcc(0x037f);
      // FPREM: truncated quotient.
      const q = a / b;
      const r = a - q * b;
      const qa = q < 0n ? -q : q;
      expect(asDouble(partialRemainder(fromInteger(a), fromInteger(b), false))).toBe(Number(r));
      expect(remOut.cc).toBe(bits(qa));
      // FPREM1: quotient rounded to nearest, ties to even.
      const ab = b < 0n ? -b : b, ar = r < 0n ? -r : r;
      let qn = qa, rn = r;
      if (2n * ar > ab || (2n * ar === ab && (qa & 1n) === 1n)) {
        qn = qa + 1n;
        rn = r > 0n ? r - ab : r + ab;
      }
      expect(asDouble(partialRemainder(fromInteger(a), fromInteger(b), true))).toBe(Number(rn));
      expect(remOut.cc).toBe(bits(qn));
    }
  });
});
