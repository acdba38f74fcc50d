/**
 * x87 in protected mode (on the shared pmode.inc frame): the protected-mode
 * FNSTENV layouts (selector + offset pointers, FOP beside FCS) and #MF
 * delivered through the IDT with no error code.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ASM_DIR } from './harness.ts';
import { hex, runPm } from './pmodeRun.ts';

const FPU_INC = readFileSync(ASM_DIR + 'fpu.inc', 'utf8');

describe('x87 in protected mode', () => {
  it('FNSTENV stores the 28-byte and 14-byte protected-mode images', () => {
    const run = runPm(`${FPU_INC}
test_main:
        fninit
lastfp: fld dword [0x520]
        REPORT lastfp
        fnstenv [0x600]
        OUT_M32 0x600
        OUT_M32 0x604
        OUT_M32 0x608
        OUT_M32 0x60C
        OUT_M32 0x610
        OUT_M32 0x614
        OUT_M32 0x618
        o16 fnstenv [0x700]
        OUT_M16 0x700
        OUT_M16 0x702
        OUT_M16 0x704
        OUT_M16 0x706
        OUT_M16 0x708
        OUT_M16 0x70A
        OUT_M16 0x70C
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    const ip = run.values[0];
    expect(hex(run.values.slice(1))).toEqual(hex([
      0xffff_037f, 0xffff_3800, 0xffff_7fff, // R7 holds +0: tag "zero"
      ip, 0x0105_0008, // FOP 105H (D9, ModRM 05) beside FCS 08H
      0x520, 0xffff_0010,
      0x037f, 0x3800, 0x7fff, ip & 0xffff, 0x0008, 0x0520, 0x0010,
    ]));
  });

  it('#MF (vector 16) is delivered through the IDT at the next waiting instruction when CR0.NE=1', () => {
    const run = runPm(`${FPU_INC}
test_main:
        mov eax, cr0
        or eax, 0x20
        mov cr0, eax
        fninit
        SET_CW 0x037B
        fld1
        fldz
        fdivp st1, st0
        RESUME_AT after
        REPORT mf_at
mf_at:  fwait
after:
        OUT_SW
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    const at = run.values[0];
    // Default handler: vector, error code (none), saved EIP, saved CS; then the status word.
    expect(hex(run.values)).toEqual(hex([at, 16, 0xffff_ffff, at, 0x08, 0x8000 | 0x3000 | 0x80 | 0x04]));
  });
});
