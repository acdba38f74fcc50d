/**
 * A full translation cache reuses its oldest section instead of being
 * flushed whole (translationCache.ts): chained jumps into the evicted blocks
 * go back to their exit stubs, so code that comes back to evicted blocks
 * gets them translated again and computes what it computes natively.
 */
import { describe, expect, it } from 'vitest';
import { TC_SECTIONS } from '../../../../core/hypervisor/software/bt/translationCache.ts';
import { BLOCK_TC_MAX } from '../../../../core/hypervisor/software/bt/translateBlock.ts';
import { CODE, TC, guestCode, prepareTranslated, regsOf, resumeTranslated, runNative, runTranslated } from './btHarness.ts';

/** 400 blocks, each ended by a JMP to the next, run three times: more translations than an 8 KiB cache holds. */
const CHAIN = guestCode(`
    mov ecx, 3
    xor eax, eax
again:
%assign i 0
%rep 400
    add eax, i + 1
    imul eax, eax, 3
    jmp l %+ i
l %+ i:
%assign i i + 1
%endrep
    dec ecx
    jnz again
    hlt
`);

describe('translation cache sections', () => {
  it.each([false, true])('a full cache evicts its oldest section, unlinks the chains into it, and the guest computes as natively (processor JIT %s)', (jit) => {
    const native = runNative(CHAIN, { jit, budget: 10_000_000 });
    const m = runTranslated(CHAIN, { jit, budget: 10_000_000, tcSize: 0x2000 });
    expect(m.stop).toEqual(native.stop);
    expect(m.stop?.kind).toBe('halt');
    expect(regsOf(m)).toEqual(regsOf(native));
    const c = m.bt.counters;
    expect(c.cacheFlushes).toBe(0);
    // Every pass translates its 401 blocks again (the 400, with the first one from CODE or from 'again', and DEC/JNZ):
    // the cache holds fewer, so each pass goes round the sections; then the HLT's.
    expect(c.blocksBuilt).toBe(3 * 401 + 1);
    // 1 KiB sections of about 37 blocks (a block is reserved its largest size, 496 bytes): 25 reuses, 946 blocks evicted.
    expect(c.sectionsReused).toBe(25);
    expect(c.blocksEvicted).toBe(946);
    expect(m.bt.cache.allBlocks().length).toBe(c.blocksBuilt - c.blocksEvicted);
    // Every block entered through the monitor once, by a dispatch whose exit was then chained: the passes after the
    // first came back to evicted blocks through their unlinked exit stubs, never into reused TC bytes.
    expect(c.blocksEntered).toBe(c.blocksBuilt);
    expect(c.chainsMade).toBe(c.blocksBuilt - 1);
  });

  it('a jump chained from a surviving block into an evicted one goes back to its exit stub', () => {
    // Y (at 0x40) is translated first, then X (at 0), in a later section, whose JMP gets chained to Y. Filler blocks
    // (32 NOPs each from the sled at 0x100) then fill the cache round until Y's section is reused and X's is not.
    const code = guestCode(`
        mov eax, 5
        jmp y
        times 0x40 - ($ - $$) nop
    y:  add eax, 1
        hlt
        times 0x100 - ($ - $$) nop
        times 0x4000 nop
        hlt
    `);
    const Y = CODE + 0x40, X = CODE, SLED = CODE + 0x100;
    const m = prepareTranslated(code, { tcSize: 0x2000 });
    const enterAt = (guestEip: number) => {
      m.cpu.eip = guestEip;
      m.bt.enter();
    };
    enterAt(Y);
    const y = m.bt.cache.validBlocks()[0];
    const section = (lin: number) => Math.floor((lin - TC.linear) / (0x2000 / TC_SECTIONS));
    let filler = 0;
    while (section(m.bt.cache.validBlocks().at(-1)!.tcStart) === section(y.tcStart)) enterAt(SLED + 32 * filler++);
    resumeTranslated(m, X);
    expect(m.stop).toEqual({ kind: 'halt', guestEip: Y + 3 });
    expect(m.cpu.regs[0]).toBe(6);
    const x = m.bt.cache.validBlocks().find((b) => b.guestEip === X)!;
    expect(y.incoming.map((s) => s.block)).toEqual([x]);
    while (y.valid) enterAt(SLED + 32 * filler++);
    expect(x.valid).toBe(true);
    expect(m.bt.counters.sectionsReused).toBe(1);
    m.cpu.regs[0] = 5;
    resumeTranslated(m, X);
    expect(m.stop).toEqual({ kind: 'halt', guestEip: Y + 3 });
    expect(m.cpu.regs[0]).toBe(6);
    expect(m.bt.counters.callouts.exit).toBe(2); // X's stub ran again: Y translated anew
  });

  it('an exit stub whose target\'s translation evicts the stub\'s own block is not chained into the reused bytes', () => {
    // X, the first block translated (section 0), takes its JE for the first time only once the cache is full and
    // section 0 is next to go: translating the target evicts X itself, and the target's block is written where X
    // was. Patching X's JE then would write 4 bytes into the new block.
    const code = guestCode(`
        cmp eax, 0
        je taken
        add eax, 1
        hlt
        times 0x40 - ($ - $$) nop
    taken:
        add eax, 100
        add eax, 20
        hlt
        times 0x100 - ($ - $$) nop
        times 0x8000 nop
        hlt
    `);
    const X = CODE, TAKEN = CODE + 0x40, SLED = CODE + 0x100;
    const m = prepareTranslated(code, { tcSize: 0x2000 });
    const enterAt = (guestEip: number) => {
      m.cpu.eip = guestEip;
      m.bt.enter();
    };
    enterAt(X);
    const x = m.bt.cache.validBlocks()[0];
    expect(x.tcStart).toBe(TC.linear);
    const section = (lin: number) => Math.floor((lin - TC.linear) / (0x2000 / TC_SECTIONS));
    let filler = 0;
    while (!(section(m.bt.cache.validBlocks().at(-1)!.tcStart) === TC_SECTIONS - 1 && m.bt.cache.reserve(BLOCK_TC_MAX) === null)) enterAt(SLED + 32 * filler++);
    expect(x.valid).toBe(true);
    expect(m.bt.counters.sectionsReused).toBe(0);
    m.cpu.regs[0] = 0;
    resumeTranslated(m, X);
    expect(m.bt.counters.sectionsReused).toBe(1);
    expect(x.valid).toBe(false);
    const taken = m.bt.cache.validBlocks().find((b) => b.guestEip === TAKEN)!;
    expect(taken.tcStart).toBe(x.tcStart);
    expect(m.stop).toEqual({ kind: 'halt', guestEip: TAKEN + 6 });
    expect(m.cpu.regs[0]).toBe(120);
    expect(taken.incoming).toEqual([]);
  });
});
