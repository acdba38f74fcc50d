/**
 * The system-call path's fast paths (segments.ts cacheHolds, far.ts
 * readIretFrame32, stackFrame.ts pushFrame, stringFast.ts's dword loop)
 * against what the SDM says: a Linux-shaped INT 0x80 loop gives the same
 * results interpreted and compiled; a reload of the selector a register holds
 * takes the descriptor as it is now in the GDT (a changed limit, a cleared P
 * bit); a same-privilege IRETD whose 12 bytes end at SS's limit does not fault
 * (the 20-byte frame read must not be what decides); a delivery whose frame
 * crosses the ring-0 stack's limit raises #SS and leaves the stack pointer.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';
import { syscallLoop } from './syscallLoop.ts';

describe('system-call path', () => {
  for (const jit of [false, true]) {
    it(`a Linux-shaped INT 0x80 loop returns every result and ring 3's segments (compiler ${jit ? 'on' : 'off'})`, () => {
      const calls = 300;
      const run = runPm(syscallLoop(calls), {
        maxInstructions: calls * 80,
        setup: (_bus, cpu) => { if (jit) cpu.jit.configure({ enabled: true, hotThreshold: 2 }); },
      });
      expect(run.stop).toBe('halt');
      // calls, sum of (20 + i), DS, ES, FS (null), ring 3's SS and ESP.
      expect(hex(run.values)).toEqual(hex([calls, 20 * calls + (calls * (calls - 1)) / 2, 0x2b, 0x2b, 0, 0x2b, 0x6000]));
      if (jit) expect(run.cpu.jit.stats().compiled).toBeGreaterThan(0);
    });
  }

  it('reloading the selector a register holds takes the changed descriptor: its new limit, then #NP', () => {
    const run = runPm(`
test_main:
        SET_DESC SEL_FREE, 0, 0xFFFFF, 0x93, 0xC        ; flat data, DPL 0
        mov ax, SEL_FREE
        mov ds, ax
        mov eax, [0x5000]                               ; inside the 4 GiB limit
        SET_DESC SEL_FREE, 0, 0x0FFF, 0x93, 0x4         ; byte-granular limit 0xFFF
        mov ax, SEL_FREE
        mov ds, ax
        RESUME_AT after_limit
        mov eax, [0x5000]                               ; beyond the new limit: #GP(0)
        out 0xF0, eax                                   ; (not reached)
after_limit:
        SET_DESC SEL_FREE, 0, 0x0FFF, 0x13, 0x4         ; P = 0
        RESUME_AT after_np
        mov ax, SEL_FREE
        mov ds, ax                                      ; #NP(selector)
        out 0xF0, eax                                   ; (not reached)
after_np:
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex([run.values[0], run.values[1], run.values[4], run.values[5]])).toEqual(hex([13, 0, 11, 0x48]));
    expect(run.values.length).toBe(8);
  });

  it('a same-privilege IRETD whose 12-byte frame ends at the stack limit returns', () => {
    const run = runPm(`
test_main:
        SET_DESC SEL_FREE, 0, 0x7FFF, 0x93, 0x4         ; 32-bit stack, byte-granular limit 0x7FFF
        mov ax, SEL_FREE
        mov ss, ax
        mov esp, 0x8000
        pushfd
        push cs
        push dword back
        iretd                                           ; ESP = 0x7FF4: ESP + 19 lies beyond the limit
back:   mov eax, esp
        out 0xF0, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0x8000]));
  });

  it('an interrupt to ring 1 whose frame crosses the ring-1 stack limit raises #SS(SS1) at the INT, nothing changed', () => {
    // The ring-1 stack (DPL 1, 32-bit, byte-granular limit 0xFFF) from the TSS: the frame's top dword
    // fits below ESP1 = 0x1008 only partly (0x1004 is above the limit), and ESP1 = 12 leaves room for
    // three of its five dwords (the fourth would wrap). Either way #SS(SS1) comes at the INT, delivered
    // to ring 0 on the ring-0 stack; ring 3's CS and EIP are the INT's.
    const attempt = (esp1: number, k: number) => `
        mov dword [TSS_BASE + 12], ${esp1}
        RESUME_AT done${k}
        TO_RING3 ring3_${k}, 0x0002
ring3_${k}: int 0x80
done${k}: mov eax, ring3_${k}
        out 0xF0, eax`;
    const run = runPm(`
test_main:
        SET_DESC SEL_FREE, 0, 0x0FFF, 0xB3, 0x4
        mov dword [TSS_BASE + 16], SEL_FREE | 1
        IDT_GATE 0x80, SEL_CODE1 & ~3, never, 0xEE
${attempt(0x1008, 0)}
${attempt(12, 1)}
        PM_DONE
never:  out 0xF0, eax                                   ; (never reached)
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    expect(v.length).toBe(10);
    for (const at of [0, 5]) {
      // vector, error code, saved EIP, saved CS, then the INT's address
      expect(hex([v[at], v[at + 1], v[at + 2], v[at + 3]])).toEqual(hex([12, 0x48, v[at + 4], 0x23]));
    }
  });
});
