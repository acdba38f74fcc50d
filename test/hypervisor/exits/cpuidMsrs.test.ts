import { describe, expect, it } from 'vitest';
import { guestCpuid, POPEK_SIGNATURE } from '../../../core/hypervisor/exits/cpuid.ts';
import { readGuestMsr, writeGuestMsr, type GuestMsrState } from '../../../core/hypervisor/exits/msrs.ts';

const EAX = 0, ECX = 1, EDX = 2, EBX = 3;
const regsFor = (leaf: number) => Int32Array.of(leaf, 0, 0, 0, 0, 0, 0, 0);
const abcd = (r: Int32Array) => [r[EAX] >>> 0, r[EBX] >>> 0, r[ECX] >>> 0, r[EDX] >>> 0];
/** A stand-in processor CPUID: leaf 1 reports VMX (ECX bit 5) and another ECX bit. */
const physical = (r: Int32Array) => {
  if (r[EAX] === 1) {
    r[EAX] = 0x619;
    r[EBX] = 0;
    r[ECX] = (1 << 5) | (1 << 0);
    r[EDX] = 0x813d;
  } else {
    r[EAX] = 1;
    r[EBX] = 0x756e6547;
    r[EDX] = 0x49656e69;
    r[ECX] = 0x6c65746e;
  }
};

describe('guest CPUID', () => {
  it('hides VMX and sets the hypervisor bit in leaf 1, leaving the rest as the processor says', () => {
    const r = regsFor(1);
    guestCpuid(r, physical);
    expect(abcd(r)).toEqual([0x619, 0, ((1 << 31) | 1) >>> 0, 0x813d]);
  });

  it('answers leaf 0 as the processor does', () => {
    const r = regsFor(0);
    guestCpuid(r, physical);
    expect(abcd(r)).toEqual([1, 0x756e6547, 0x6c65746e, 0x49656e69]);
  });

  it("names Popek in leaf 0x40000000's EBX, ECX, EDX and zeroes the other hypervisor leaves", () => {
    const r = regsFor(0x40000000);
    guestCpuid(r, physical);
    const text = [r[EBX], r[ECX], r[EDX]].map((d) => String.fromCharCode(d & 0xff, (d >>> 8) & 0xff, (d >>> 16) & 0xff, d >>> 24)).join('');
    expect(r[EAX]).toBe(0x40000000);
    expect(text).toBe(POPEK_SIGNATURE);
    const r2 = regsFor(0x40000001);
    guestCpuid(r2, physical);
    expect([...r2.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
  });

  it("hides AMD's SVM: 8000_0001h ECX.SVM cleared (other bits kept), the 8000_000Ah feature leaf all zero", () => {
    /** A stand-in AMD part: 8000_0001h ECX has SVM (bit 2) and LAHF (bit 0); 8000_000Ah revision 1, 16 ASIDs, NP + NRIPS. */
    const amd = (r: Int32Array) => {
      const leaf = r[EAX] >>> 0;
      r[EAX] = leaf === 0x8000000a ? 1 : 0x40f82;
      r[EBX] = leaf === 0x8000000a ? 16 : 0;
      r[ECX] = leaf === 0x80000001 ? (1 << 2) | 1 : 0;
      r[EDX] = leaf === 0x8000000a ? 9 : 0x813d;
    };
    const ext = regsFor(0x80000001);
    guestCpuid(ext, amd);
    expect(abcd(ext)).toEqual([0x40f82, 0, 1, 0x813d]);
    const svm = regsFor(0x8000000a);
    guestCpuid(svm, amd);
    expect(abcd(svm)).toEqual([0, 0, 0, 0]);
  });
});

describe('guest MSRs', () => {
  const state = (tsc: number): GuestMsrState => ({ hostTsc: () => tsc, tscOffset: 0 });

  it('reads the TSC with the offset and moves the offset on a write', () => {
    const s = state(0x1_2345_6789);
    expect(readGuestMsr(0x10, s)).toEqual([0x2345_6789, 1]);
    expect(writeGuestMsr(0x10, 0x10, 0, s)).toBe(true);
    expect(s.tscOffset).toBe(0x10 - 0x1_2345_6789);
    expect(readGuestMsr(0x10, s)).toEqual([0x10, 0]);
  });

  it('reads the microcode revision as 0 and ignores writes to it', () => {
    expect(readGuestMsr(0x8b, state(0))).toEqual([0, 0]);
    expect(writeGuestMsr(0x8b, 0, 0, state(0))).toBe(true);
  });

  it("reads the AMD part's MSR_K8_INT_PENDING_MSG as 0 (no C1E) and ignores writes: Linux reads it unguarded on K8 rev F", () => {
    expect(readGuestMsr(0xc001_0055, state(0))).toEqual([0, 0]);
    expect(writeGuestMsr(0xc001_0055, 0x1800_0000, 0, state(0))).toBe(true);
    expect(readGuestMsr(0xc001_0056, state(0))).toBe(null);
  });

  it("reads the Intel part's IA32_PLATFORM_ID and IA32_MISC_ENABLE, which Linux reads unguarded on family 6 model 0Eh", () => {
    expect(readGuestMsr(0x17, state(0))).toEqual([0xd804_86ac | 0, 0x0014_0000]);
    expect(writeGuestMsr(0x17, 0, 0, state(0))).toBe(false); // read-only
    expect(readGuestMsr(0x1a0, state(0))).toEqual([0x1801, 0]); // fast strings; no BTS, no PEBS
    expect(writeGuestMsr(0x1a0, 0x1801, 0, state(0))).toBe(true); // its own value back
    expect(writeGuestMsr(0x1a0, 0x1801 | (1 << 22), 0, state(0))).toBe(false);
  });

  it('refuses IA32_FEATURE_CONTROL, the VMX capability MSRs and unknown MSRs (#GP)', () => {
    for (const msr of [0x3a, 0x480, 0x48b, 0x174, 0xc0000080]) {
      expect(readGuestMsr(msr, state(0))).toBe(null);
      expect(writeGuestMsr(msr, 0, 0, state(0))).toBe(false);
    }
  });
});
