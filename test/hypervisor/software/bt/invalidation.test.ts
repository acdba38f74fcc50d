/**
 * Translations are dropped when their guest code is written (by the test,
 * by other guest code, by the block itself), and events in translated code
 * are reported at the precise guest EIP.
 */
import { describe, expect, it } from 'vitest';
import { CODE, DATA, TC, guestCode, readBytes, regsOf, resumeTranslated, runNative, runTranslated } from './btHarness.ts';

describe('invalidation and self-modifying code', () => {
  it('a write to a translated page drops its translations and poisons their TC bytes', () => {
    const code = guestCode(`
        mov eax, 7
        hlt
    `);
    const m = runTranslated(code);
    expect(m.stop).toEqual({ kind: 'halt', guestEip: CODE + 5 });
    expect(m.cpu.regs[0]).toBe(7);
    const [block] = m.bt.cache.validBlocks();
    m.bus.write8(CODE + 1, 9); // the MOV's immediate
    expect(m.bt.counters.blocksInvalidated).toBe(1);
    expect(m.bt.cache.validBlocks()).toEqual([]);
    expect(block.valid).toBe(false);
    expect(Array.from(m.cpu.u8.subarray(TC.physical, TC.physical + block.tcLength)).every((b) => b === 0xcc)).toBe(true);
    resumeTranslated(m, CODE);
    expect(m.cpu.regs[0]).toBe(9);
    expect(m.bt.counters.blocksBuilt).toBe(2);
  });

  it.each([false, true])('self-modifying code: an instruction patches the next one in its own block (processor JIT %s)', (jit) => {
    const code = guestCode(`
        mov byte [patch + 1], 42
    patch:
        mov eax, 7
        hlt
    `);
    const native = runNative(code, { jit });
    const m = runTranslated(code, { jit });
    expect(native.cpu.regs[0]).toBe(42);
    expect(m.stop).toEqual(native.stop);
    expect(regsOf(m)).toEqual(regsOf(native));
    expect(m.bt.counters.codeWrites).toBe(1);
    expect(m.bt.counters.callouts.redispatch).toBe(1); // the processor left the dead block through its poison
  });

  it.each([false, true])('self-modifying code: a loop patches a called function that its CALL was chained to (processor JIT %s)', (jit) => {
    const code = guestCode(`
        mov ecx, 3
        mov dword [${DATA}], 0
    again:
        call target
        add [${DATA}], eax
        mov byte [target + 1], 5
        dec ecx
        jnz again
        hlt
    target:
        mov eax, 1
        ret
    `);
    const native = runNative(code, { jit });
    const m = runTranslated(code, { jit });
    expect(readBytes(native, DATA, 4)).toEqual([11, 0, 0, 0]);
    expect(m.stop).toEqual(native.stop);
    expect(readBytes(m, DATA, 4)).toEqual([11, 0, 0, 0]);
    expect(m.cpu.jit.blocksCompiled > 0).toBe(jit);
    expect(regsOf(m)).toEqual(regsOf(native));
    // The code and the patched function share the page: every pass's patch drops what was translated from it.
    expect(m.bt.counters.codeWrites).toBe(3);
    expect(m.bt.counters.blocksInvalidated).toBeGreaterThanOrEqual(3);
  });
});

describe('precise guest EIPs', () => {
  it('a fault in the middle of a translated block is reported at the guest instruction', () => {
    const code = guestCode(`
        mov eax, 1
        mov ebx, 2
        xor edx, edx
        div edx              ; #DE at CODE + 12
        hlt
    `);
    const native = runNative(code);
    const m = runTranslated(code);
    expect(native.stop).toEqual({ kind: 'exception', vector: 0, errorCode: 0, guestEip: CODE + 12 });
    expect(m.stop).toEqual(native.stop);
    expect(regsOf(m)).toEqual(regsOf(native));
  });

  it('a fault inside a callout\'s emulation is the guest instruction\'s (SGDT past a segment limit)', () => {
    const code = guestCode(`
        mov ax, 0x3b         ; DPL-3 data, limit 0xFFF
        mov es, ax
        mov ecx, 1
        sgdt [es:0xffe]      ; #GP(0) at CODE + 11
        hlt
    `);
    const native = runNative(code);
    const m = runTranslated(code);
    expect(native.stop).toEqual({ kind: 'exception', vector: 13, errorCode: 0, guestEip: CODE + 11 });
    expect(m.stop).toEqual(native.stop);
  });

  it('a privileged instruction copied into the TC traps at CPL 1 at its own guest EIP (for the monitor to emulate)', () => {
    const code = guestCode(`
        mov eax, 0x5000
        nop
        mov cr3, eax         ; CODE + 6
        hlt
    `);
    const m = runTranslated(code);
    expect(m.stop).toEqual({ kind: 'exception', vector: 13, errorCode: 0, guestEip: CODE + 6 });
    expect(runNative(code).stop).toEqual({ kind: 'halt', guestEip: CODE + 9 });
  });

  it('INT n, IRET and far transfers go to the monitor with the guest EIPs', () => {
    const code = guestCode(`
        mov eax, 5
        int 0x80             ; CODE + 5
    `);
    const m = runTranslated(code);
    expect(m.transfers.map((t) => [t.kind, t.guestEip, t.eipOnEntry, t.insn.imm])).toEqual([['intN', CODE + 5, CODE + 7, 0x80]]);
    const far = runTranslated(guestCode('nop\njmp 0x08:0x10010'));
    expect(far.transfers.map((t) => [t.kind, t.guestEip, t.insn.imm2, t.insn.imm])).toEqual([['farJmp', CODE + 1, 0x08, 0x10010]]);
    const iret = runTranslated(guestCode('iretd'));
    expect(iret.transfers.map((t) => [t.kind, t.guestEip])).toEqual([['iret', CODE]]);
  });
});
