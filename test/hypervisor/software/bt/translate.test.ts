/**
 * Blocks translated from memory: the exact TC bytes, the callout sites, the
 * map back to guest EIPs, and the side-by-side inspection.
 */
import { describe, expect, it } from 'vitest';
import { CODE, TC, guestCode, prepareTranslated } from './btHarness.ts';
import { formatInspectedBlock, inspectBlock, summarizeCache } from '../../../../core/hypervisor/software/bt/inspect.ts';

const tcBytes = (m: ReturnType<typeof prepareTranslated>, n: number): number[] => Array.from(m.cpu.u8.subarray(TC.physical, TC.physical + n));

describe('translating a block', () => {
  it('copies innocuous instructions, turns PUSHF into a callout, rewrites Jcc into two exits with stubs', () => {
    const code = guestCode(`
        mov eax, 1          ; 10000: B8 01 00 00 00
        pushfd              ; 10005: 9C
        add eax, ebx        ; 10006: 01 D8
        jnz short 0x10020   ; 10008: 75 16
    `);
    const m = prepareTranslated(code);
    m.bt.enter();
    expect(m.cpu.eip).toBe(TC.linear);
    expect(tcBytes(m, 24)).toEqual([
      0xb8, 0x01, 0x00, 0x00, 0x00, // copied
      0xcd, 0x1f, // PUSHF -> callout
      0x01, 0xd8, // copied
      0x0f, 0x85, 0x05, 0x00, 0x00, 0x00, // JNZ rel32 -> stub at +20
      0xe9, 0x02, 0x00, 0x00, 0x00, // JMP -> stub at +22 (fall-through)
      0xcd, 0x1f, // exit stub: guest 0x10020
      0xcd, 0x1f, // exit stub: guest 0x1000A
    ]);
    const [block] = m.bt.cache.validBlocks();
    expect(block.sites.map((s) => [s.at - TC.linear, s.kind, s.kind === 'exit' ? s.target : s.guestEip])).toEqual([
      [5, 'pushf', 0x10005], [20, 'exit', 0x10020], [22, 'exit', 0x1000a],
    ]);
    // Every TC instruction maps back to the guest EIP the guest is at when it is about to run.
    expect([0, 5, 7, 9, 15, 20, 22].map((o) => m.bt.guestEipAt(TC.linear + o))).toEqual([
      0x10000, 0x10005, 0x10006, 0x10008, 0x1000a, 0x10020, 0x1000a,
    ]);
    expect(m.bt.guestEipAt(TC.linear + 1)).toBeNull(); // inside the copied MOV
    expect(block.frames).toEqual([CODE >>> 12]);
  });

  it('CALL rel32 pushes the GUEST return address, then jumps; RET is a callout', () => {
    const code = guestCode(`
        call f              ; 10000: E8 rel32 -> f = 10006
        hlt                 ; 10005
    f:  ret                 ; 10006
    `);
    const m = prepareTranslated(code);
    m.bt.enter();
    expect(tcBytes(m, 12)).toEqual([
      0x68, 0x05, 0x00, 0x01, 0x00, // PUSH 0x10005: the guest's return address
      0xe9, 0x00, 0x00, 0x00, 0x00, // JMP -> stub right after
      0xcd, 0x1f, // exit stub: guest 0x10006
    ]);
    expect(m.bt.guestEipAt(TC.linear + 5)).toBe(0x10006); // after the PUSH, the guest is at the call target
  });

  it('LOOP keeps its rel8 form, aimed over the fall-through exit at the taken exit', () => {
    const code = guestCode(`
    top: loop top           ; 10000: E2 FE
    `);
    const m = prepareTranslated(code);
    m.bt.enter();
    expect(tcBytes(m, 16)).toEqual([
      0xe2, 0x05, // LOOP +5: over the next JMP
      0xe9, 0x05, 0x00, 0x00, 0x00, // not taken -> stub for 0x10002
      0xe9, 0x02, 0x00, 0x00, 0x00, // taken -> stub for 0x10000
      0xcd, 0x1f, 0xcd, 0x1f,
    ]);
  });

  it('a block stops at the end of its guest page', () => {
    const m = prepareTranslated(guestCode('times 4094 nop\nnop\nnop\nnop\nhlt'));
    m.cpu.eip = CODE + 4090;
    m.bt.enter();
    const [block] = m.bt.cache.validBlocks();
    expect(block.guest.map((g) => g.eip - CODE)).toEqual([4090, 4091, 4092, 4093, 4094, 4095]);
    expect(block.sites.at(-1)?.target).toBe(CODE + 4096);
  });

  it('inspection shows guest instructions and their translation side by side', () => {
    const code = guestCode(`
        mov eax, [ebx + 8]
        sgdt [0x20000]
        mov ax, cs
        jmp eax
    `);
    const m = prepareTranslated(code);
    m.bt.enter();
    const [block] = m.bt.cache.validBlocks();
    const view = inspectBlock(m.bt, block);
    expect(view.instructions.map((i) => [i.guestText, i.translation.map((t) => `${t.text} ; ${t.note}`)])).toEqual([
      ['mov eax, dword [ebx+0x8]', ['mov eax, dword [ebx+0x8] ; copy']],
      ['sgdt [0x20000]', ['int 0x1f ; callout sgdt']],
      ['mov ax, cs', ['int 0x1f ; callout movFromCs']],
      ['jmp eax', ['int 0x1f ; callout indirectJmp']],
    ]);
    const text = formatInspectedBlock(view);
    expect(text.split('\n')[0]).toBe(`block #1 guest 00010000 (frame 10) -> TC 00100000, ${block.tcLength} bytes`);
    expect(text).toContain('00010003  0f 01 05 00 00 02 00 sgdt [0x20000]');
    expect(summarizeCache(m.bt).blocks).toEqual([{ id: 1, guestEip: CODE, tcStart: TC.linear, tcLength: block.tcLength, guestInstructions: 4 }]);
  });
});
