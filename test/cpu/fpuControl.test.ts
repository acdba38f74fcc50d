/**
 * x87 control: FNINIT state and the FPU-detection idiom, FNSTENV/FLDENV
 * and FNSAVE/FRSTOR real-mode images (16- and 32-bit), CR0.EM/TS/MP device-
 * not-available rules, error reporting through #MF (CR0.NE=1) and through
 * FERR#/IRQ 13 (CR0.NE=0), with IGNNE#.
 */
import { describe, expect, it } from 'vitest';
import { assemble, runAsm, runRom } from './harness.ts';
import { f64, fpuRom, hex } from './fpuTestUtil.ts';
import { STOP_HALT } from '../../core/cpu/cpu.ts';

const ZE = 0x04, ES = 0x80, B = 0x8000;
const top = (n: number) => n << 11;

describe('x87 initialization', () => {
  it('FNINIT: control 037FH, status 0, all tags empty; the Linux/BIOS detection idiom sees an FPU', () => {
    const r = runAsm(fpuRom(`
        fld1
        fldz
        fdiv st0, st0                ; dirty the status word
        SET_CW 0x0C00
        fninit
        fnstenv [0x600]
        OUT_M16 0x600
        OUT_M16 0x602
        OUT_M16 0x604
        mov word [0x610], 0x5A5A
        fninit
        fnstsw [0x610]
        OUT_M16 0x610                ; detection: status must read 0
        fnstcw [0x610]
        mov ax, [0x610]
        and ax, 0x103F
        movzx eax, ax
        out 0xF0, eax                ; detection: (cw & 0x103F) == 0x003F
`));
    expect(hex(r.values)).toEqual(hex([0x037f, 0, 0xffff, 0, 0x3f]));
  });
});

describe('x87 environment images (real mode)', () => {
  const body = `
        mov ax, 0x1000
        mov es, ax
        SET_CW 0x0360                ; exceptions unmasked; FNSTENV masks them again
lastfp: fld dword [es:0x520]
        REPORT lastfp
        %s
        fnstcw [0x6E0]
        OUT_M16 0x6E0
`;
  it('stores the 14-byte image with 20-bit linear pointers and the opcode', () => {
    const r = runAsm(fpuRom(body.replace('%s', `
        fnstenv [0x600]
        OUT_M16 0x600
        OUT_M16 0x602
        OUT_M16 0x604
        OUT_M16 0x606
        OUT_M16 0x608
        OUT_M16 0x60A
        OUT_M16 0x60C`)));
    const ip = 0xf0000 + r.values[0];
    expect(hex(r.values.slice(1))).toEqual(hex([
      0x0360, top(7), 0x7fff, // R7 holds the +0 just loaded: tag "zero"
      ip & 0xffff, ((ip >>> 16) << 12) | 0x106, // FOP: D9 & 7, ModRM 06
      0x0520, 0x1000, // operand at 1000:0520 = linear 10520H
      0x037f,
    ]));
  });

  it('stores the 28-byte image (o32) with reserved halves set', () => {
    const r = runAsm(fpuRom(body.replace('%s', `
        o32 fnstenv [0x600]
        OUT_M32 0x600
        OUT_M32 0x604
        OUT_M32 0x608
        OUT_M32 0x60C
        OUT_M32 0x610
        OUT_M32 0x614
        OUT_M32 0x618`)));
    const ip = 0xf0000 + r.values[0];
    expect(hex(r.values.slice(1))).toEqual(hex([
      0xffff_0360, 0xffff_0000 | top(7), 0xffff_7fff,
      0xffff_0000 | (ip & 0xffff), ((ip & 0xffff_0000) >>> 4) | 0x106,
      0xffff_0520, 0x1000,
      0x037f,
    ]));
  });

  it('FNSTENV stores a pending error (ES, B) and then masks it away', () => {
    const r = runAsm(fpuRom(`
        SET_CW 0x037B                ; ZE unmasked
        fld1
        fldz
        fdivp st1, st0               ; pending: ES and B
        fnstenv [0x600]
        OUT_M16 0x602                ; the image holds ES and B
        OUT_SW                       ; all masked now: ES and B clear, ZE kept
        fld1                         ; a waiting instruction: nothing to report
        OUT_SW
`));
    expect(hex(r.values)).toEqual(hex([B | ES | top(6) | ZE, top(6) | ZE, top(5) | ZE]));
  });

  it('FLDENV reloads control, status (TOP) and empty tags', () => {
    const r = runAsm(fpuRom(`
        fld1
        fld1
        fnstenv [0x600]
        fninit
        fldenv [0x600]
        OUT_SW                       ; TOP = 6 again
        fstp qword [0x6F0]           ; ST(0) was not emptied by FNINIT's tags: it is 1.0 again
        OUT_M64 0x6F0
        fnstenv [0x600]
        OUT_M16 0x604                ; physical registers 7 valid, 6 empty now
`));
    expect(hex(r.values)).toEqual(hex([top(6), ...f64(1), 0x3fff]));
  });
});

describe('x87 FNSAVE/FRSTOR', () => {
  it('saves 94 bytes (16-bit) with registers in ST order, reinitializes, and restores', () => {
    const r = runAsm(fpuRom(`
        fld1
        fldpi
        fld qword [cs:two]
        fnsave [0x600]
        OUT_M80 0x60E                ; ST(0) = 2.0
        OUT_M80 0x618                ; ST(1) = pi
        OUT_M80 0x622                ; ST(2) = 1.0
        OUT_M16 0x604                ; tags: R5 R6 R7 valid
        OUT_SW                       ; reinitialized
        fnstcw [0x6E0]
        OUT_M16 0x6E0
        frstor [0x600]
        OUT_SW
        ST0_AS_F64
        ST0_AS_F64
        ST0_AS_F64
`, `
two: dq 2.0
`));
    expect(hex(r.values)).toEqual(hex([
      0, 0x8000_0000, 0x4000,
      0x2168_c235, 0xc90f_daa2, 0x4000, // FLDPI: pi to 64 bits (round to nearest)
      0, 0x8000_0000, 0x3fff,
      0x03ff,
      0, 0x037f,
      top(5),
      ...f64(2), ...f64(Math.PI), ...f64(1),
    ]));
  });

  it('keeps 80-bit register images exact across FNSAVE/FRSTOR', () => {
    const r = runAsm(fpuRom(`
        fld tword [cs:ext]
        fnsave [0x600]
        frstor [0x600]
        fstp tword [0x680]
        OUT_M80 0x680
`, `
ext: dq 0xC90FDAA22168C235       ; pi to 64 bits
     dw 0x4000
`));
    expect(hex(r.values)).toEqual(hex([0x2168_c235, 0xc90f_daa2, 0x4000]));
  });

  it('saves 108 bytes with a 32-bit operand size', () => {
    const r = runAsm(fpuRom(`
        fld qword [cs:two]
        o32 fnsave [0x600]
        OUT_M32 0x600
        OUT_M80 0x61C                ; ST(0) right after the 28-byte environment
        o32 frstor [0x600]
        ST0_AS_F64
`, `
two: dq 2.0
`));
    expect(hex(r.values)).toEqual(hex([0xffff_037f, 0, 0x8000_0000, 0x4000, ...f64(2)]));
  });
});

describe('x87 device-not-available (#NM)', () => {
  it('EM faults every ESC instruction but not WAIT; TS faults ESC, and WAIT only with MP', () => {
    const r = runAsm(fpuRom(`
        mov word [7 * 4], nm_handler
        mov word [7 * 4 + 2], 0xF000
        mov eax, cr0
        or eax, 0x4                  ; EM
        mov cr0, eax
        wait                         ; no #NM
        REPORT 1
nm1:    fninit                       ; #NM (non-waiting forms too)
        REPORT nm1
        REPORT 2
        mov eax, cr0
        or eax, 0x8                  ; TS, MP = 0
        mov cr0, eax
        fwait                        ; no #NM
        REPORT 3
nm2:    fld1                         ; #NM
        REPORT nm2
        REPORT 4
        mov eax, cr0
        or eax, 0xA                  ; TS + MP
        mov cr0, eax
nm3:    fwait                        ; #NM
        REPORT nm3
        REPORT 5
        mov eax, cr0
        or eax, 0x6                  ; EM + MP, TS clear
        mov cr0, eax
        fwait                        ; no #NM
        REPORT 6
        jmp done
nm_handler:
        push bp
        mov bp, sp
        REPORT 0x77
        movzx eax, word [ss:bp + 2]  ; the saved IP: the faulting instruction
        out 0xF0, eax
        mov eax, cr0
        and eax, ~0xE                ; clear MP, EM, TS
        mov cr0, eax
        pop bp
        iret
done:
`));
    const [nm1, nm2, nm3] = [r.values[3], r.values[8], r.values[12]];
    expect(hex(r.values)).toEqual(hex([
      1, 0x77, nm1, nm1, 2, // the saved IP is the faulting FNINIT's
      3, 0x77, nm2, nm2, 4,
      0x77, nm3, nm3, 5,
      6,
    ]));
  });
});

describe('x87 error reporting', () => {
  it('CR0.NE=1: the next waiting instruction raises #MF (FERR# stays deasserted); the faulting result was not stored', () => {
    const events: boolean[] = [];
    const r = runAsm(fpuRom(`
        mov word [16 * 4], mf_handler
        mov word [16 * 4 + 2], 0xF000
        mov eax, cr0
        or eax, 0x20                 ; NE
        mov cr0, eax
        SET_CW 0x037B                ; ZE unmasked
        fld1
        fldz
        fdivp st1, st0               ; ZE pending: no fault yet
        fnstsw ax                    ; non-waiting: no fault
        REPORT 1
        REPORT mf_at
mf_at:  fld1                         ; #MF here
        REPORT 2
        OUT_SW
        ST0_AS_F64
        ST0_AS_F64
        ST0_AS_F64
        jmp done
mf_handler:
        push bp
        mov bp, sp
        REPORT 0x10
        movzx eax, word [ss:bp + 2]
        out 0xF0, eax
        OUT_SW
        fnclex
        pop bp
        iret
done:
`), { setup(_bus, cpu) { cpu.fpu.onFerr = (level) => events.push(level); } });
    expect(events).toEqual([]);
    const mfAt = r.values[1];
    expect(hex(r.values)).toEqual(hex([
      1, mfAt,
      0x10, mfAt, B | ES | top(6) | ZE,
      2, top(5),
      ...f64(1), ...f64(0), ...f64(1),
    ]));
  });

  function ferrRom(body: string): Uint8Array {
    return assemble(fpuRom(`
        mov word [0x75 * 4], irq13_handler
        mov word [0x75 * 4 + 2], 0xF000
        SET_CW 0x037B
        fld1
        fldz
        fdivp st1, st0
        ${body}
        jmp done
irq13_handler:
        push bp
        mov bp, sp
        REPORT 0x13
        movzx eax, word [ss:bp + 2]
        out 0xF0, eax
        fnclex                       ; clears the error: FERR# deasserts
        pop bp
        iret
done:
`));
  }

  it('CR0.NE=0: FERR# asserts when the faulting instruction completes; IRQ 13 is taken right after it', () => {
    const events: boolean[] = [];
    const r = runRom(assemble(fpuRom(`
        mov word [0x75 * 4], irq13_handler
        mov word [0x75 * 4 + 2], 0xF000
        SET_CW 0x037B
        sti
        fld1
        fldz
        fdivp st1, st0               ; FERR# asserts here
after:  REPORT after
        fwait                        ; the handler cleared the error: nothing pending
        REPORT 2
        cli
        jmp done
irq13_handler:
        push bp
        mov bp, sp
        REPORT 0x13
        movzx eax, word [ss:bp + 2]
        out 0xF0, eax
        fnclex                       ; clears the error: FERR# deasserts
        pop bp
        iret
done:
`)), {
      setup(_bus, cpu) {
        let request = false;
        cpu.fpu.ferrConnected = true;
        cpu.fpu.onFerr = (level) => { events.push(level); if (level) request = true; };
        cpu.interruptController = {
          hasInterrupt: () => request,
          acknowledge: () => { request = false; return 0x75; },
        };
      },
    });
    const after = r.values[2];
    expect(r.stop).toBe('halt');
    expect(hex(r.values)).toEqual(hex([0x13, after, after, 2]));
    expect(events).toEqual([true, false]);
  });

  it('CR0.NE=0 on a board that does not route FERR#: the error is ignored (IGNNE# tied active)', () => {
    const r = runRom(ferrRom(`
        fwait
        REPORT 2`), { maxInstructions: 5000 });
    expect(r.stop).toBe('halt');
    expect(r.values).toEqual([2]);
  });

  it('CR0.NE=0 with interrupts off: the processor stays on the instruction until IGNNE#', () => {
    const r = runRom(ferrRom(`
        REPORT ferr_at
ferr_at: fwait
        REPORT 2`), { maxInstructions: 5000, setup(_bus, cpu) { cpu.fpu.ferrConnected = true; } });
    expect(r.stop).toBe('budget');
    expect(r.cpu.eip).toBe(r.values[0]);
    expect(r.cpu.fpu.ferr).toBe(true); // asserted since the FDIVP completed
    r.cpu.fpu.ignne = true; // the chipset's response to OUT 0F0H
    expect(r.cpu.run(1000)).toBe(STOP_HALT);
    expect(r.values.slice(1)).toEqual([2]);
  });
});
