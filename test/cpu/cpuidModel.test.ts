/**
 * The Intel part's identification (processorModel.ts: Core Solo T1300,
 * "Yonah", 000006E8h): every CPUID leaf up to the maxima against the values
 * such a part reports (a Core Duo T2600 dump with one core; VirtualBox's CPU
 * database), with the features this processor does not implement cleared,
 * and the two model-specific MSRs Linux reads unguarded on this family and model.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';

const cpuidRom = (leaves: [number, number][]): string => `%include "rom.inc"
start:
${leaves.map(([leaf, sub]) => `        mov eax, ${leaf}
        mov ecx, ${sub}
        cpuid
        REPORT eax
        REPORT ebx
        REPORT ecx
        REPORT edx`).join('\n')}
        cli
        hlt
        ROM_END
`;

const run = (leaves: [number, number][]): number[][] => {
  const v = runAsm(cpuidRom(leaves)).values;
  return leaves.map((_l, i) => v.slice(i * 4, i * 4 + 4));
};

const text = (rows: number[][]): string =>
  rows.flat().map((d) => String.fromCharCode(d & 0xff, (d >>> 8) & 0xff, (d >>> 16) & 0xff, d >>> 24)).join('');

describe('CPUID of the Intel part (Core Solo T1300)', () => {
  it('basic leaves 0-0Ah as the part, with its unimplemented features clear', () => {
    const [l0, l1, l2, l3, l4a, l4b, l4c, l4d, l5, l6, l7, la, lb] = run([
      [0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [4, 1], [4, 2], [4, 3], [5, 0], [6, 0], [7, 0], [0xa, 0], [0xb, 0],
    ]);
    expect(l0).toEqual([0xa, 0x756e6547, 0x6c65746e, 0x49656e69]); // max leaf 0Ah, "GenuineIntel"
    // Family 6, model 0Eh, stepping 8; CLFLUSH line 64 bytes; ECX: VMX only (the part adds SSE3, MONITOR, EST, TM2,
    // xTPR, PDCM); EDX: FPU DE PSE TSC MSR PAE CX8 PGE CMOV CLFSH MMX FXSR SSE SSE2 (the part: 0xAFE9FBFF, VME MCE
    // APIC SEP MTRR MCA PAT DS ACPI SS TM PBE more).
    expect(l1).toEqual([0x6e8, 0x800, 0x20, 0x0788_a17d]);
    expect(l2).toEqual([0x02b3_b001, 0xf0, 0, 0x2c04_307d]);
    expect(l3).toEqual([0, 0, 0, 0]);
    expect([l4a, l4b, l4c, l4d]).toEqual([
      [0x121, 0x01c0_003f, 0x3f, 1], // L1 data, 32 KiB, 8-way, 64-byte lines
      [0x122, 0x01c0_003f, 0x3f, 1], // L1 instruction, 32 KiB
      [0x143, 0x01c0_003f, 0xfff, 1], // L2, 2 MiB, 8-way
      [0, 0, 0, 0],
    ]);
    expect([l5, l6, l7, la]).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    expect(lb).toEqual(la); // above the maximum: the highest basic leaf
  });

  it('extended leaves: NX, the brand string, the L2 descriptor, 32-bit addresses', () => {
    const rows = run([0x8000_0000, 0x8000_0001, 0x8000_0002, 0x8000_0003, 0x8000_0004, 0x8000_0005, 0x8000_0006,
      0x8000_0007, 0x8000_0008, 0x8000_0009].map((l) => [l, 0]));
    expect(rows[0]).toEqual([0x8000_0008, 0, 0, 0]);
    expect(rows[1]).toEqual([0, 0, 0, 1 << 20]);
    expect(text(rows.slice(2, 5))).toBe('Genuine Intel(R) CPU           T1300  @ 1.66GHz\0');
    expect(rows[5]).toEqual([0, 0, 0, 0]);
    expect(rows[6]).toEqual([0, 0, 0x0800_6040, 0]);
    expect(rows[7]).toEqual([0, 0, 0, 0]);
    expect(rows[8]).toEqual([0x2020, 0, 0, 0]);
    expect(rows[9]).toEqual([0, 0, 0, 0]); // above the extended maximum: the highest basic leaf (0Ah, zeros)
  });

  it('IA32_PLATFORM_ID and IA32_MISC_ENABLE read as the part; MISC_ENABLE takes its own value back, #GP for another', () => {
    const v = runAsm(`%include "rom.inc"
start:  xor ax, ax
        mov ds, ax
        mov ss, ax
        mov sp, 0x7000
        mov word [13 * 4], on_gp
        mov word [13 * 4 + 2], 0xF000
        mov ecx, 0x17
        rdmsr
        REPORT eax
        REPORT edx
        mov ecx, 0x1a0
        rdmsr
        REPORT eax
        REPORT edx
        wrmsr
        REPORT 0x600d
        or eax, 1 << 22
        wrmsr
        REPORT 0xbad
        cli
        hlt
on_gp:  REPORT 13
        cli
        hlt
        ROM_END
`).values;
    expect(v).toEqual([0xd804_86ac, 0x0014_0000, 0x1801, 0, 0x600d, 13]);
  });
});
