/**
 * SSE/SSE2 architectural rules on the bare CPU, each as a small real-mode
 * ROM: the CR0/CR4 gate (#UD, #NM), 16-byte alignment (#GP), unmasked SIMD
 * exceptions (#XM or #UD by CR4.OSXMMEXCPT, destination unchanged, the
 * pre-computation rule), LDMXCSR/STMXCSR, COMISS flags, scalar memory
 * forms, MASKMOVDQU, MOVNTI, CLFLUSH faults, CPUID bits, MMX's x87 state
 * rules and gate, and the block
 * compiler running SSE code through the interpreter's handlers.
 * Expected values are written out by hand from the SDM.
 */
import { describe, expect, it } from 'vitest';
import { runAsm } from './harness.ts';
import { CPUID_EDX } from '../../core/cpu/system.ts';

/**
 * A ROM: DS = SS = 0, SP = 7000H, CR0.EM = TS = 0, CR0.MP = 1, CR4 =
 * OSFXSR | OSXMMEXCPT unless the body changes them; every exception vector
 * 0-19 reports its number and halts. Scratch memory at 0x600 (16-aligned).
 */
function rom(body: string, data = ''): string {
  const handlers = Array.from({ length: 20 }, (_v, n) => `exc_${n}: mov eax, ${0xe000 + n}\n        out 0xF0, eax\n        cli\n        hlt`).join('\n');
  const install = Array.from({ length: 20 }, (_v, n) => `        mov word [${n * 4}], exc_${n}\n        mov word [${n * 4 + 2}], 0xF000`).join('\n');
  return `%include "rom.inc"
start:  cli
        xor ax, ax
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov sp, 0x7000
${install}
        mov eax, cr0
        and eax, ~0xC
        or eax, 2
        mov cr0, eax
        mov eax, cr4
        or eax, 0x600
        mov cr4, eax
${body}
        cli
        hlt
${handlers}
${data}
        ROM_END
`;
}

const XM = 0xe000 + 19, UD = 0xe000 + 6, NM = 0xe000 + 7, GP = 0xe000 + 13;
const values = (body: string, data = '') => runAsm(rom(body, data)).values;

describe('SSE gate: CR0 and CR4', () => {
  it('#UD with CR4.OSFXSR = 0; #UD with CR0.EM = 1 (before #NM); #NM with CR0.TS = 1', () => {
    expect(values(`        mov eax, cr4\n        and eax, ~0x200\n        mov cr4, eax\n        addps xmm0, xmm1\n        REPORT 1`)).toEqual([UD]);
    expect(values(`        mov eax, cr0\n        or eax, 0xC\n        mov cr0, eax\n        xorps xmm0, xmm0\n        REPORT 1`)).toEqual([UD]);
    expect(values(`        mov eax, cr0\n        or eax, 8\n        mov cr0, eax\n        paddd xmm0, xmm1\n        REPORT 1`)).toEqual([NM]);
  });

  it('FXSAVE: #NM with CR0.EM = 1 (not #UD), and it runs with CR4.OSFXSR = 0', () => {
    expect(values(`        mov eax, cr0\n        or eax, 4\n        mov cr0, eax\n        fxsave [0x800]\n        REPORT 1`)).toEqual([NM]);
    expect(values(`        mov eax, cr4\n        and eax, ~0x200\n        mov cr4, eax\n        fxsave [0x800]\n        REPORT 1`)).toEqual([1]);
  });

  it('CR4.OSFXSR and OSXMMEXCPT are writable; LOCK on an SSE instruction is #UD', () => {
    expect(values(`        mov eax, cr4\n        REPORT eax`)).toEqual([0x600]);
    expect(values(`        lock addps xmm0, [0x600]\n        REPORT 1`)).toEqual([UD]);
  });
});

describe('MMX and the x87', () => {
  const MF = 0xe000 + 16;

  it('an MMX instruction sets TOP to 0 and every tag in use; a write sets bits 79-64 to ones; EMMS empties all (TOP 0)', () => {
    const v = values(`
        fninit
        fld1
        fld1                            ; TOP = 6
        pxor mm3, mm3
        fnstsw ax
        movzx eax, ax
        REPORT eax
        fnstenv [0x900]
        movzx eax, word [0x904]         ; tags from the contents: R3 special (exponent ones), R6 R7 valid, others zero
        REPORT eax
        fninit
        fld1                            ; TOP = 7
        emms
        fnstsw ax
        movzx eax, ax
        REPORT eax
        fnstenv [0x900]
        movzx eax, word [0x904]
        REPORT eax
        fninit
        fldpi                           ; R7 = pi
        movd eax, mm7                   ; MM7 is R7's significand
        REPORT eax
        paddb mm0, mm0
        fstp tword [0xa00]              ; ST(0) = R0 after the MMX instruction set TOP = 0
        movzx eax, word [0xa08]
        REPORT eax
        emms`);
    expect(v).toEqual([0x0000, 0x0595, 0x0000, 0xffff, 0x2168_c235, 0xffff]);
  });

  it('#UD with CR0.EM = 1 (no OSFXSR needed), #NM with CR0.TS = 1, #MF for a pending unmasked x87 exception', () => {
    expect(values(`        mov eax, cr0\n        or eax, 4\n        mov cr0, eax\n        paddb mm0, mm1\n        REPORT 1`)).toEqual([UD]);
    expect(values(`        mov eax, cr4\n        and eax, ~0x600\n        mov cr4, eax\n        pavgb mm0, mm1\n        pshufw mm1, mm0, 0x1b\n        REPORT 1`)).toEqual([1]);
    expect(values(`        mov eax, cr0\n        or eax, 8\n        mov cr0, eax\n        movq mm0, mm1\n        REPORT 1`)).toEqual([NM]);
    expect(values(`
        mov eax, cr0
        or eax, 0x20                    ; NE: native x87 error reporting
        mov cr0, eax
        fninit
        mov word [0x500], 0x037e        ; IE unmasked
        fldcw [0x500]
        fld1
        fchs
        fsqrt                           ; invalid: pending
        paddd mm0, mm1
        REPORT 1`)).toEqual([MF]);
  });
});

describe('alignment', () => {
  it('MOVAPS/MOVDQA/ADDPS with a misaligned m128 are #GP(0); MOVUPS/MOVDQU and scalar forms are not', () => {
    expect(values(`        movaps xmm0, [0x608]\n        REPORT 1`)).toEqual([GP]);
    expect(values(`        movdqa [0x601], xmm0\n        REPORT 1`)).toEqual([GP]);
    expect(values(`        addps xmm0, [0x604]\n        REPORT 1`)).toEqual([GP]);
    expect(values(`        movups xmm0, [0x601]\n        movdqu [0x603], xmm0\n        addss xmm0, [0x605]\n        addsd xmm0, [0x607]\n        REPORT 1`)).toEqual([1]);
  });

});

describe('SIMD floating-point exceptions', () => {
  const divByZero = (mxcsr: number, cr4: number) => `
        mov dword [0x500], ${mxcsr}
        ldmxcsr [0x500]
        mov eax, cr4
        and eax, ~0x600
        or eax, ${cr4}
        mov cr4, eax
        mov dword [0x600], 0x3f800000   ; 1.0, 2.0, 3.0, 4.0
        mov dword [0x604], 0x40000000
        mov dword [0x608], 0x40400000
        mov dword [0x60c], 0x40800000
        mov dword [0x610], 0x3f800000   ; 1.0, 0.0, 1.0, 1.0
        mov dword [0x614], 0
        mov dword [0x618], 0x3f800000
        mov dword [0x61c], 0x3f800000
        movaps xmm0, [0x600]
        divps xmm0, [0x610]
        REPORT 1
        movd eax, xmm0
        REPORT eax
        stmxcsr [0x500]
        REPORT [0x500]`;

  it('masked ZE: infinity written, ZE recorded', () => {
    expect(values(divByZero(0x1f80, 0x600))).toEqual([1, 0x3f800000, 0x1f84]);
  });

  it('unmasked ZE with OSXMMEXCPT = 1: #XM, destination unchanged, ZE recorded', () => {
    const v = values(divByZero(0x1d80, 0x600) + `\n        movd eax, xmm0\n        REPORT eax`);
    expect(v).toEqual([XM]);
    const after = values(`
        mov ax, 0
        mov word [19 * 4], xm_handler
        mov word [19 * 4 + 2], 0xF000
${divByZero(0x1d80, 0x600).replace('REPORT 1', '').replace(/divps xmm0, \[0x610\]/, 'divps xmm0, [0x610]\nafter_div:')}
        cli
        hlt
xm_handler:
        REPORT 0x1919
        movd eax, xmm0
        REPORT eax
        psrldq xmm0, 4
        movd eax, xmm0
        REPORT eax
        stmxcsr [0x500]
        REPORT [0x500]`);
    expect(after).toEqual([0x1919, 0x3f800000, 0x40000000, 0x1d84]);
  });

  it('unmasked ZE with OSXMMEXCPT = 0: #UD', () => {
    expect(values(divByZero(0x1d80, 0x200))).toEqual([UD]);
  });

  it('an unmasked pre-computation exception hides the post-computation flags of the other elements', () => {
    // Element 0: 1/0 (ZE, unmasked); element 1: 3.0/7.0 inexact (PE). Only ZE is recorded.
    const v = values(`
        mov dword [0x500], 0x1d80
        ldmxcsr [0x500]
        mov dword [0x600], 0x3f800000
        mov dword [0x604], 0x40400000
        mov dword [0x610], 0
        mov dword [0x614], 0x40e00000
        mov dword [0x608], 0x3f800000
        mov dword [0x60c], 0x3f800000
        mov dword [0x618], 0x3f800000
        mov dword [0x61c], 0x3f800000
        mov word [19 * 4], xm_handler
        movaps xmm0, [0x600]
        divps xmm0, [0x610]
        cli
        hlt
xm_handler:
        stmxcsr [0x500]
        REPORT [0x500]`);
    expect(v).toEqual([0x1d84]);
  });

  it('an unmasked post-computation exception: #XM with every flag of every element recorded', () => {
    // Element 0: 1.0/3.0 (PE, unmasked); element 1: 1/0 masked ZE; PM unmasked only.
    const v = values(`
        mov dword [0x500], 0x0f80
        ldmxcsr [0x500]
        mov dword [0x600], 0x3f800000
        mov dword [0x604], 0x3f800000
        mov dword [0x610], 0x40400000
        mov dword [0x614], 0
        mov dword [0x618], 0x3f800000
        mov dword [0x61c], 0x3f800000
        mov dword [0x608], 0x3f800000
        mov dword [0x60c], 0x3f800000
        mov word [19 * 4], xm_handler
        movaps xmm0, [0x600]
        divps xmm0, [0x610]
        cli
        hlt
xm_handler:
        stmxcsr [0x500]
        REPORT [0x500]
        movd eax, xmm0
        REPORT eax`);
    expect(v).toEqual([0x0fa4, 0x3f800000]);
  });

  it('COMISS/UCOMISS set ZF PF CF and clear OF SF AF; COMISS signals IE on a QNaN, UCOMISS does not', () => {
    const v = values(`
        mov dword [0x600], 0x3f800000   ; 1.0
        mov dword [0x604], 0x40000000   ; 2.0
        mov dword [0x608], 0x7fc00000   ; QNaN
        movss xmm0, [0x600]
        mov ax, 0x08d5
        push ax
        popf                            ; OF SF ZF AF PF CF all set
        comiss xmm0, [0x604]            ; less: CF
        pushf
        pop ax
        movzx eax, ax
        REPORT eax
        comiss xmm0, [0x600]            ; equal: ZF
        pushf
        pop ax
        movzx eax, ax
        REPORT eax
        ucomiss xmm0, [0x608]           ; unordered: ZF PF CF, no IE
        pushf
        pop ax
        movzx eax, ax
        REPORT eax
        stmxcsr [0x500]
        REPORT [0x500]
        comiss xmm0, [0x608]            ; IE
        stmxcsr [0x500]
        REPORT [0x500]`);
    expect(v).toEqual([0x0003, 0x0042, 0x0047, 0x1f80, 0x1f81]);
  });
});

describe('MXCSR, moves and stores', () => {
  it('LDMXCSR with a reserved bit set is #GP(0); STMXCSR stores what was loaded (DAZ included)', () => {
    expect(values(`        mov dword [0x500], 0x10000\n        ldmxcsr [0x500]\n        REPORT 1`)).toEqual([GP]);
    expect(values(`        mov dword [0x500], 0xffff\n        ldmxcsr [0x500]\n        stmxcsr [0x504]\n        REPORT [0x504]`)).toEqual([0xffff]);
    expect(values(`        stmxcsr [0x504]\n        REPORT [0x504]`)).toEqual([0x1f80]);
  });

  it('MOVSS from memory clears the upper elements, between registers keeps them; MOVSD the same for qwords', () => {
    const v = values(`
        pcmpeqd xmm0, xmm0
        pcmpeqd xmm1, xmm1
        mov dword [0x600], 0x12345678
        movss xmm0, [0x600]
        mov eax, 0x9abcdef0
        movd xmm2, eax
        movss xmm1, xmm2
        pextrw eax, xmm0, 2
        REPORT eax
        pextrw eax, xmm1, 2
        REPORT eax
        movd eax, xmm1
        REPORT eax
        movsd xmm1, [0x600]
        pextrw eax, xmm1, 3
        REPORT eax
        pextrw eax, xmm1, 4
        REPORT eax`);
    expect(v).toEqual([0, 0xffff, 0x9abcdef0, 0, 0]);
  });

  it('MASKMOVDQU stores the selected bytes at DS:DI; MOVNTI stores a dword; MOVNTDQ needs alignment', () => {
    const v = values(`
        mov dword [0x700], 0x11111111
        mov dword [0x704], 0x22222222
        mov dword [0x708], 0x33333333
        mov dword [0x70c], 0x44444444
        mov eax, 0xaabbccdd
        movd xmm0, eax
        mov eax, 0x80008080             ; mask: bytes 0, 1, 3
        movd xmm1, eax
        mov di, 0x700
        maskmovdqu xmm0, xmm1
        REPORT [0x700]
        REPORT [0x704]
        mov eax, 0xcafe
        movnti [0x704], eax
        REPORT [0x704]
        movntdq [0x708], xmm0
        REPORT 1`);
    expect(v).toEqual([0xaa11ccdd, 0x22222222, 0xcafe, GP]);
  });

  it('CLFLUSH beyond the segment limit is #GP(0); within it nothing changes; fences and PREFETCH run', () => {
    expect(values(`        clflush [0x600]\n        lfence\n        mfence\n        sfence\n        prefetchnta [0x600]\n        pause\n        REPORT 1`)).toEqual([1]);
    expect(values(`        mov bx, 0xffff\n        clflush [bx + 1]\n        REPORT 1`)).toEqual([1]); // 16-bit wrap: offset 0
    expect(values(`        mov ebx, 0x10000\n        clflush [ebx]\n        REPORT 1`)).toEqual([GP]);
  });
});

describe('FXSAVE and FXRSTOR', () => {
  const prepare = `
        fninit
        fld1
fldpi_at:
        fldpi
        mov dword [0x500], 0x1fa0       ; PE set, round to nearest
        ldmxcsr [0x500]
        mov eax, 0x89abcdef
        movd xmm0, eax
        pshufd xmm0, xmm0, 0x1b         ; 89abcdef in dword 3, zeros below
        pcmpeqd xmm7, xmm7`;

  it('stores the 512-byte image: x87 state in FXSAVE form (abridged tag word), MXCSR, MXCSR_MASK, ST(i), XMMi', () => {
    const v = values(`${prepare}
        fxsave [0x800]
        mov si, 0x800
        mov cx, 16                      ; bytes 0-63: header, ST(0), ST(1)
.hdr:   REPORT [si]
        add si, 4
        loop .hdr
        mov si, 0x800 + 160             ; XMM0
        mov cx, 4
.x0:    REPORT [si]
        add si, 4
        loop .x0
        REPORT [0x800 + 160 + 7 * 16]   ; XMM7 dword 0
        REPORT [0x800 + 288]            ; beyond the written area: untouched (zero)`);
    const hex = (xs: number[]) => xs.map((x) => x.toString(16));
    expect(hex([...v.slice(0, 2), ...v.slice(3)])).toEqual(hex([
      0x3000_037f, // FCW 037F, FSW: TOP = 6
      0x01eb_00c0, // abridged FTW: R6, R7 in use; FOP of FLDPI (D9 EB)
      0xf000, // FCS (FIP at byte 8: next test)
      0, 0, // FDP, FDS
      0x1fa0, 0xffff, // MXCSR, MXCSR_MASK
      0x2168_c235, 0xc90f_daa2, 0x4000, 0, // ST(0) = pi, 6 reserved bytes
      0, 0x8000_0000, 0x3fff, 0, // ST(1) = 1.0
      0, 0, 0, 0x89ab_cdef, // XMM0
      0xffff_ffff, 0, // XMM7 dword 0; byte 288
    ]));
  });

  it('FIP is the offset of the last x87 instruction', () => {
    const src = rom(`${prepare}
        fxsave [0x800]
        REPORT [0x808]
        REPORT fldpi_at`);
    const v = runAsm(src).values;
    expect(v[0]).toBe(v[1]);
  });

  it('FXRSTOR brings back the x87 registers and tags, MXCSR and the XMM registers', () => {
    const v = values(`${prepare}
        fxsave [0x800]
        fninit
        mov dword [0x500], 0x1f80
        ldmxcsr [0x500]
        pxor xmm0, xmm0
        pxor xmm7, xmm7
        fxrstor [0x800]
        fnstsw ax
        movzx eax, ax
        REPORT eax
        fnstenv [0x900]
        movzx eax, word [0x904]         ; tag word (16-bit layout): R6 valid (pi), R7 valid (1.0), others empty
        REPORT eax
        fstp tword [0xa00]
        REPORT [0xa04]
        stmxcsr [0x500]
        REPORT [0x500]
        pextrw eax, xmm0, 7
        REPORT eax
        movd eax, xmm7
        REPORT eax`);
    expect(v).toEqual([0x3000, 0x0fff, 0xc90f_daa2, 0x1fa0, 0x89ab, 0xffff_ffff]);
  });

  it('#GP(0) for a misaligned image and for an image whose MXCSR has a reserved bit (nothing loaded)', () => {
    expect(values(`        fxsave [0x808]
        REPORT 1`)).toEqual([GP]);
    expect(values(`        fxrstor [0x804]
        REPORT 1`)).toEqual([GP]);
    const v = values(`
        fxsave [0x800]
        mov dword [0x800 + 24], 0x21f80
        mov word [0x800], 0x0000         ; FCW that must not be loaded
        mov word [19 * 4], 0
        fxrstor [0x800]
        REPORT 1`);
    expect(v).toEqual([GP]);
  });
});

describe('save state', () => {
  it('carries the XMM registers and MXCSR through saveState/loadState; older states load the RESET values', () => {
    const run = runAsm(rom(`
        mov dword [0x500], 0x7fc0
        ldmxcsr [0x500]
        mov eax, 0x12345678
        movd xmm5, eax
        pshufd xmm5, xmm5, 0x39`));
    const state = JSON.parse(JSON.stringify(run.cpu.saveState()));
    const other = runAsm(rom('')).cpu;
    other.loadState(state);
    expect([other.sse.mxcsr, ...other.sse.xmm.slice(20, 24)]).toEqual([0x7fc0, 0, 0, 0, 0x12345678]);
    delete state.sse;
    other.loadState(state);
    expect([other.sse.mxcsr, other.sse.xmm.every((x) => x === 0)]).toEqual([0x1f80, true]);
  });
});

describe('CPUID', () => {
  it('CPUID.1:EDX has MMX, FXSR, SSE, SSE2 and CLFSH; EBX[15:8] gives a 64-byte CLFLUSH line', () => {
    const v = values(`        mov eax, 1\n        cpuid\n        REPORT edx\n        REPORT ebx`);
    expect(v[0]).toBe(CPUID_EDX >>> 0);
    expect((v[0] >>> 23) & 15).toBe(15);
    expect((v[0] >>> 19) & 1).toBe(1);
    expect((v[1] >>> 8) & 0xff).toBe(8);
  });
});

describe('the block compiler', () => {
  it('runs SSE instructions in hot blocks through their handlers, with the interpreter\'s results and faults', () => {
    const body = `
        mov dword [0x600], 0x3f800000
        mov dword [0x604], 0x3f800000
        mov dword [0x608], 0x3f800000
        mov dword [0x60c], 0x3f800000
        xorps xmm0, xmm0
        mov ecx, 300
.loop:  addps xmm0, [0x600]
        paddd xmm1, [0x600]
        dec ecx
        jnz .loop
        movd eax, xmm0
        REPORT eax
        movd eax, xmm1
        REPORT eax
        movaps xmm2, [0x604]
        REPORT 2`;
    const run = (jit: boolean) => runAsm(rom(body), { setup: (_b, cpu) => cpu.jit.configure({ enabled: jit, hotThreshold: 2, maxHandlerCalls: 16 }) });
    const on = run(true), off = run(false);
    expect(off.values).toEqual([0x43960000, 300 * 0x3f800000 >>> 0, GP]); // 300.0
    expect(on.values).toEqual(off.values);
    expect(on.cpu.jit.stats().compiled).toBeGreaterThan(0); // the loop ran compiled, its SSE instructions through their handlers
  });

  it('a fault raised by an SSE instruction inside a compiled block is precise (the same iteration and registers)', () => {
    const body = `
        mov dword [0x600], 1
        mov edi, 4
        mov ecx, 300
.loop:  xor eax, eax
        cmp ecx, 120
        cmove eax, edi                  ; misaligned on the 181st iteration
        paddd xmm1, [0x600]
        movaps xmm2, [eax + 0x600]
        dec ecx
        jnz .loop
        REPORT 1`;
    const src = rom(body).replace(`exc_13: mov eax, ${GP}`, `exc_13: REPORT ecx\n        movd eax, xmm1\n        REPORT eax\n        mov eax, ${GP}`);
    const run = (jit: boolean) => runAsm(src, { setup: (_b, cpu) => cpu.jit.configure({ enabled: jit, hotThreshold: 2, maxHandlerCalls: 16 }) });
    const on = run(true), off = run(false);
    expect(off.values).toEqual([120, 181, GP]); // ECX at the fault; PADDD ran 181 times
    expect(on.values).toEqual(off.values);
    expect(on.cpu.jit.stats().compiled).toBeGreaterThan(0);
  });
});
