/**
 * Translated guest-kernel code at CPL 1 gives what the same code gives
 * natively at CPL 0: registers, memory, and what the sensitive instructions
 * show (hand-checked values alongside the native reference).
 */
import { describe, expect, it } from 'vitest';
import { DATA, KCODE, KDATA, LDT_SEL, TSS_SEL, GUEST_GDT, CODE, guestCode, readBytes, regsOf, runNative, runTranslated } from './btHarness.ts';

const dword = (bytes: number[], at: number): number => (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;

describe('binary translation: same results as native CPL 0', () => {
  it.each([false, true])('control flow: loops, calls and returns, indirect jumps and calls, LOOP and JECXZ, string copies (processor JIT %s)', (jit) => {
    const code = guestCode(`
        mov ecx, 100
        xor eax, eax
    sum: add eax, ecx          ; Jcc loop, chained to itself
        dec ecx
        jnz sum
        mov [${DATA}], eax
        call twice             ; CALL rel32 + RET
        mov [${DATA} + 4], ebx
        mov edx, table
        call [edx + 4]         ; indirect CALL through memory
        mov [${DATA} + 8], esi
        mov edi, after_jmp
        jmp edi                ; indirect JMP
        hlt
    after_jmp:
        mov ecx, 5
        xor ebp, ebp
    lp: inc ebp
        loop lp                ; LOOP rel8
        xor ecx, ecx
        jecxz zero             ; JECXZ rel8 taken
        hlt
    zero:
        mov esi, ${DATA}
        mov edi, ${DATA} + 0x40
        mov ecx, 3
        cld
        rep movsd
        lea esp, [esp - 8]
        mov dword [esp], 0x12345678
        pop eax
        pop eax
        hlt
    twice:
        lea ebx, [eax + eax]
        ret
    set_esi:
        mov esi, 0xabcd
        ret 0
    table: dd 0, set_esi
    `);
    const native = runNative(code, { jit });
    const translated = runTranslated(code, { jit });
    expect(native.stop?.kind).toBe('halt');
    expect(translated.stop).toEqual(native.stop);
    expect(regsOf(translated)).toEqual(regsOf(native));
    expect(readBytes(translated, DATA, 0x50)).toEqual(readBytes(native, DATA, 0x50));
    const data = readBytes(native, DATA, 12);
    expect([dword(data, 0), dword(data, 4), dword(data, 8)]).toEqual([5050, 10100, 0xabcd]);
    expect(native.cpu.regs[5]).toBe(5); // EBP counted by LOOP
    expect(translated.cpu.jit.blocksCompiled > 0).toBe(jit); // with the JIT, TC blocks ran compiled
    // The loop ran 100 times but entered the monitor only a few times: its back edge was chained.
    expect(translated.bt.counters.chainsMade).toBeGreaterThan(0);
    expect(translated.bt.counters.blocksEntered).toBeLessThan(30);
    expect(translated.bt.counters.callouts.ret).toBe(2);
    expect(translated.bt.counters.callouts.indirectCall).toBe(1);
    expect(translated.bt.counters.callouts.indirectJmp).toBe(1);
  });

  it('without chaining every block entry goes through an exit stub', () => {
    const code = guestCode(`
        mov ecx, 100
    l:  dec ecx
        jnz l
        hlt
    `);
    const t = runTranslated(code, { translator: { chaining: false } });
    expect(t.stop?.kind).toBe('halt');
    expect(t.cpu.regs[1]).toBe(0);
    expect(t.bt.counters.chainsMade).toBe(0);
    expect(t.bt.counters.callouts.exit).toBe(100); // 99 back edges and the fall-through to HLT
    const c = runTranslated(code);
    // Three edges, each through its stub once, then chained: into the loop, the loop's back edge, out to HLT.
    expect(c.bt.counters.callouts.exit).toBe(3);
  });

  it('the sensitive instructions show the guest\'s view (PUSHF/POPF, CLI/STI, SGDT/SIDT/SLDT/STR/SMSW, LAR/LSL/VERR/VERW, CS/SS)', () => {
    const code = guestCode(`
        pushfd                      ; IF = 1, IOPL = 0 as the guest entered
        pop dword [${DATA}]
        cli
        pushfd
        pop dword [${DATA} + 4]
        push dword 0x3ed7           ; POPF: IOPL 3, OF DF IF, SF ZF AF PF CF (TF clear)
        popfd
        pushfd
        pop dword [${DATA} + 8]
        push dword 0x0002
        popfd
        sti
        pushf                       ; 16-bit form
        pop word [${DATA} + 12]
        sgdt [${DATA} + 16]
        sidt [${DATA} + 24]
        sldt [${DATA} + 32]
        str ax
        mov [${DATA} + 36], eax
        smsw [${DATA} + 40]
        mov eax, 0xffffffff
        smsw eax
        mov [${DATA} + 44], eax
        mov [${DATA} + 48], cs
        mov eax, 0xffffffff
        mov eax, ss                 ; a 32-bit register gets the selector zero-extended
        mov [${DATA} + 52], eax
        push cs
        pop dword [${DATA} + 56]
        push ss
        pop dword [${DATA} + 60]
        mov ecx, ${KCODE}
        lar eax, ecx
        mov [${DATA} + 64], eax
        lsl eax, ecx
        mov [${DATA} + 68], eax
        mov ecx, 0x0c                ; LDT entry 1 (TI = 1): DPL-0 data, limit 0xFF
        lsl eax, ecx
        mov [${DATA} + 72], eax
        mov edx, 0
        verr cx
        setz dl
        verw cx
        setz dh
        mov ecx, 0x3b                ; a DPL-3 GDT data segment
        verr cx
        setz bl
        mov ecx, 0x18                ; an empty GDT slot
        lar eax, ecx
        setnz bh
        mov [${DATA} + 76], edx
        mov [${DATA} + 80], ebx
        hlt
    `);
    const native = runNative(code, { eflags: 0x202 });
    const translated = runTranslated(code, { eflags: 0x202 });
    expect(native.stop?.kind).toBe('halt');
    expect(translated.stop).toEqual(native.stop);
    const n = readBytes(native, DATA, 84);
    expect(readBytes(translated, DATA, 84)).toEqual(n);
    expect(regsOf(translated)).toEqual(regsOf(native));
    // Hand-checked values (SDM): what a guest at CPL 0 must see.
    expect(dword(n, 0)).toBe(0x202); // IF
    expect(dword(n, 4)).toBe(0x002); // after CLI
    expect(dword(n, 8)).toBe(0x3ed7); // all of it taken at CPL 0: IOPL 3, OF DF IF, SF ZF AF PF CF, bit 1
    expect(n[12] | (n[13] << 8)).toBe(0x0202); // after POPF 2 and STI
    expect(n.slice(16, 22)).toEqual([0x3f, 0, GUEST_GDT & 0xff, GUEST_GDT >>> 8, 0, 0]); // the guest's GDTR, not the shadow's
    expect(n.slice(24, 30)).toEqual([0xff, 0x07, 0x00, 0x80, 0, 0]); // the guest's IDTR
    expect(n[32] | (n[33] << 8)).toBe(LDT_SEL);
    expect(dword(n, 36)).toBe(TSS_SEL);
    expect(n[40] | (n[41] << 8)).toBe(0x11); // PE, ET: not the monitor's NE/WP
    expect(dword(n, 44)).toBe(0x11);
    expect(n[48] | (n[49] << 8)).toBe(KCODE); // RPL 0, not the processor's 0x09
    expect(dword(n, 52)).toBe(KDATA);
    expect(dword(n, 56) & 0xffff).toBe(KCODE);
    expect(dword(n, 60) & 0xffff).toBe(KDATA);
    expect(dword(n, 64)).toBe(0x00cf9a00); // DPL 0 code as the guest wrote it (the shadow's says DPL 1: 0x00cfba00)
    expect(dword(n, 68)).toBe(0xffffffff);
    expect(dword(n, 72)).toBe(0xff);
    expect(dword(n, 76)).toBe(0x0101); // VERR, VERW of the DPL-0 data segment: both ZF
    expect(dword(n, 80)).toBe(0x0101); // VERR of DPL-3 data: ZF; LAR of an empty slot: ZF clear
    // The vCPU holds the guest's IF and IOPL at the end; the processor kept IF = 1 and IOPL = 0.
    expect(translated.vcpu.interruptFlag).toBe(true);
    expect(translated.vcpu.iopl).toBe(0);
    expect(translated.cpu.getFlags() & 0x3200).toBe(0x200);
    expect(translated.cpu.gdtBase).not.toBe(GUEST_GDT);
    expect(translated.cpu.cpl).toBe(1);
    expect(CODE).toBe(0x10000);
  });
});
