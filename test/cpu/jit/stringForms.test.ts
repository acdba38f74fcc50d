/**
 * The string forms the compiler translates (core/cpu/jit/stringForms.ts:
 * MOVSB, MOVSD, STOSB, STOSD, with and without REP, MOVSW and STOSW without, an inline fast path
 * and the handler otherwise; LODSB and SCASB without REP, through the inline read), run interpreted and compiled in lockstep
 * (diffRig.ts), which compares registers, every flag, memory and the
 * instructions retired after each block. Cases: counts from 0 up past a
 * page, overlapping source and destination (above, below, the same),
 * page crossings, DF set, the flags of the instruction before kept through
 * the string instruction (lazy in the block's locals, consumed by a Jcc
 * after it), a #PF in the middle of a string (source or destination page
 * absent: the copy resumes at the element), a #GP at a segment limit in
 * the middle of a string, a device that asks to stop, an interrupt taken
 * at a REP instruction's interrupt point (the handler's budget), and a
 * 16-bit-address form left to the handler. LODSB and SCASB: edge and random
 * bytes with DF clear and set, a strcmp loop, a #PF on the read, a device
 * that asks to stop, and their segments (a prefix for LODSB, always ES for
 * SCASB, told apart by ES's limit).
 */
import { describe, expect, it } from 'vitest';
import { DATA, IRQ_COUNT, leftToHandlers, MMIO, randoms, STOP_MMIO_HALF, type DiffResult } from './diffRig.ts';
import { condition, diffForms, hex, newBlock, pairs } from './formCases.ts';

/** This file's forms left to handlers in the compiled side's blocks (none: the slow paths are not handler calls of untranslated forms). */
const stringLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => i.a32 && [0xa4, 0xaa].includes(i.opcode) || (i.a32 && (i.o32 || i.rep === 0) && [0xa5, 0xab].includes(i.opcode)));

/** One case: ESI, EDI, ECX, EAX set, flags made lazy, the instruction, a Jcc on the flags from before it. */
function stringCase(n: number, insn: string, src: number, dst: number, count: number, value: number): string[] {
  return [
    `        mov esi, ${hex(src)}`,
    `        mov edi, ${hex(dst)}`,
    `        mov ecx, ${hex(count)}`,
    `        mov eax, ${hex(value)}`,
    `        ${['add ebp, ecx', 'sub ebp, 0x7fffffff', 'inc ebp', 'cmp ecx, 3', 'and ebp, eax'][n % 5]}`,
    `        ${insn}`,
    ...newBlock(`c${n}`, condition(n)),
    `        add ebx, esi`,
    '        add ebx, edi',
    '        add ebx, ecx',
    ...newBlock(`d${n}`),
  ];
}

/** The data pages the fault cases' strings run into (absent at the start). */
const FAULT_PAGES = [DATA + 0x3000, DATA + 0x7000, DATA + 0x8000];
/** ES loaded with a limit of 0x27fff (the rig's selector 0x18, kept in EDX to load it again after the #GP handler made ES flat). */
const LIMITED_ES = ['        mov edx, 0x18', '        mov es, edx'];

describe('block compiler: MOVS and STOS inline', () => {
  it('REP MOVSB/MOVSD and REP STOSB/STOSD: counts 0 to past a page, overlaps, page crossings, DF set', () => {
    const counts = [0, 1, 2, 3, 7, 16, 63, 64, 65, 200, 1024, 0x1200];
    // Offsets in the data area: source, destination (overlapping ones just above, just below, the same).
    const offsets: [number, number][] = [[0x100, 0x2100], [0x2100, 0x2101], [0x2101, 0x2100], [0x2200, 0x2200], [0x2ff0, 0x4ff8], [0x3104, 0x5104], [0x4000, 0x4004]];
    const insns = ['rep movsb', 'rep movsd', 'rep stosb', 'rep stosd', 'std\n        rep movsb\n        cld', 'std\n        rep stosd\n        cld'];
    diffForms({
      // Linear DATA + 0x5000 maps another frame, so a copy or fill running across into it from host memory would miss it.
      before: ['        cld', `        mov dword [${hex(0x4000 + ((DATA + 0x5000) >> 12) * 4)}], ${hex(0x35003)}`, `        invlpg [${hex(DATA + 0x5000)}]`],
      cases: pairs(pairs(counts, offsets), insns).map(([[count, [s, d]], insn], n) => {
        const size = insn.includes('movsd') || insn.includes('stosd') ? 4 : 1;
        // Keep every copy inside the data area (below the IRQ log).
        const c = Math.min(count, Math.floor(0x6000 / size));
        return stringCase(n, insn, DATA + s + (insn.startsWith('std') ? c * size : 0), DATA + d + (insn.startsWith('std') ? c * size : 0), c, 0x5a000000 + n);
      }),
      rig: { maxSteps: 40000 },
      leftToHandlers: stringLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('MOVSB/MOVSW/MOVSD and STOSB/STOSW/STOSD without REP: aligned and not, the same word, across a page boundary, DF set', () => {
    const offsets = [[0x100, 0x200], [0x101, 0x203], [0xffe, 0x1ffd], [0x1ffc, 0x2ffc], [0x2ffd, 0x3001], [0x3002, 0x3002], [0x3fff, 0x4fff], [0x3101, 0x3102], [0x3103, 0x3102], [0x3ffe, 0x4ffd]];
    const insns = ['movsb', 'movsd', 'stosb', 'stosd', 'movsw', 'stosw', 'movsb\n        movsb\n        movsd\n        movsd\n        movsw', 'std\n        movsd\n        stosb\n        movsw\n        cld'];
    diffForms({
      before: ['        cld'],
      cases: pairs(offsets, insns).map(([[s, d], insn], n) => stringCase(n, insn, DATA + s, DATA + d, n, 0x11223344 * (n + 1))),
      leftToHandlers: stringLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('a #PF in the middle of a string (source or destination absent) resumes at the element; a #GP at ES\'s limit; a device that asks to stop', () => {
    // LIMITED_ES before the last two: the #GP handler makes ES flat again and the string resumes at the element.
    diffForms({
      before: ['        cld'],
      cases: [
        stringCase(0, 'rep movsb', DATA + 0x2f00, DATA + 0x5000, 0x200, 1), // the source runs into the absent 0x23000
        stringCase(1, 'rep stosd', DATA + 0, DATA + 0x6f80, 0x40, 0xcafef00d), // the destination runs into the absent 0x27000
        stringCase(2, 'movsd', DATA + 0x8000, DATA + 0x5000, 1, 2), // the source page is absent
        stringCase(3, 'rep movsd', MMIO + 0x10, DATA + 0x5100, 6, 3), // from the device
        stringCase(4, 'rep movsb', MMIO + STOP_MMIO_HALF + 0x10, DATA + 0x5200, 9, 4), // it asks to stop after the first byte
        stringCase(5, 'movsb', MMIO + STOP_MMIO_HALF, DATA + 0x5300, 1, 5),
        stringCase(6, 'rep stosb', DATA + 0, MMIO + STOP_MMIO_HALF + 0x40, 5, 6),
        [...LIMITED_ES, ...stringCase(7, 'rep stosb', DATA + 0, 0x27ff0, 0x20, 7)],
        ['        mov es, edx', ...stringCase(8, 'rep movsd', DATA + 0x100, 0x27ff8, 4, 8)],
      ],
      rig: { notPresent: FAULT_PAGES },
      exceptions: 5,
      leftToHandlers: stringLeftToHandlers,
    });
  });

  it('an interrupt pending at a REP instruction is taken at its interrupt point (the handler\'s budget), with the element count there', () => {
    // A destination one byte above the source makes every element its own step, so REP MOVSB stops
    // after REP_BUDGET's worth of them; the interrupt raised before STI is taken there, mid-string.
    const r = diffForms({
      cases: [[
        '        cli',
        '        mov al, 1',
        '        out 0x80, al',
        `        mov esi, ${hex(DATA + 0x1000)}`,
        `        mov edi, ${hex(DATA + 0x1001)}`,
        '        mov ecx, 3000',
        '        add ebp, ecx',
        '        sti',
        '        rep movsb',
        '        jc .x',
        '.x:     cli',
      ], stringCase(1, 'rep stosb', 0, DATA + 0x3000, 0x900, 0x77)],
    });
    const count = r.interpreted.u8[IRQ_COUNT];
    expect(count).toBe(1);
    const logged = new DataView(r.interpreted.u8.buffer, r.interpreted.u8.byteOffset).getUint32(0x2f800, true);
    expect(logged).toBeGreaterThan(0); // ECX when the interrupt came: in the middle of the string
    expect(logged).toBeLessThan(3000);
  });

  it('MOVSB with 16-bit addressing stays a handler call', () => {
    diffForms({
      cases: [['        mov esi, 0x1234', '        mov edi, 0x2345', '        a16 movsb', '        inc ebp']],
      rig: { maxHandlerCalls: 8 },
      leftToHandlers: (r) => leftToHandlers(r, (i) => i.opcode === 0xa4),
      handlerCalls: ['a4'],
    });
  });
});

/** LODSB and SCASB without REP left to handlers in the compiled side's blocks (none: the read's slow path is the accessor). */
const readLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => i.a32 && i.rep === 0 && (i.opcode === 0xac || i.opcode === 0xae));

describe('block compiler: LODSB and SCASB inline', () => {
  it('LODSB and SCASB on edge and random bytes, DF clear and set, the flags of CMP AL, m8 read by every Jcc', () => {
    const als = [0, 1, 0x7f, 0x80, 0x81, 0xff, 0xfe, ...randoms(9, 41).map((v) => v & 0xff)];
    const insns = ['lodsb', 'scasb', 'std\n        lodsb\n        cld', 'std\n        scasb\n        cld', 'lodsb\n        scasb', 'std\n        scasb\n        lodsb\n        cld'];
    diffForms({
      before: ['        cld'],
      cases: pairs(pairs(als, [0x100, 0x101, 0xfff, 0x1000, 0x2ffe, 0x5003]), insns).map(([[al, off], insn], n) => [
        // AL's upper bits random (LODSB keeps them), and the byte compared sometimes AL itself (ZF set).
        ...(n % 5 === 0 ? [`        mov byte [${hex(DATA + off + 0x100)}], ${hex(al)}`] : []),
        ...stringCase(n + 3, insn, DATA + off, DATA + off + 0x100, n, ((0x9e3779b9 * (n + 1)) & ~0xff) | al),
        '        adc ebp, eax',
        '        sbb ebx, ebp',
      ]),
      rig: { maxSteps: 40000 },
      leftToHandlers: readLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('a strcmp loop (LODSB, SCASB, JNE, TEST AL, AL, JNZ) on equal and differing strings, upward and downward', () => {
    const strings = ['popek\0', 'popel\0', 'pope\0', '\0', 'a longer string that matches\0'];
    diffForms({
      cases: pairs(pairs(strings, strings), [false, true]).map(([[a, b], down], n) => {
        const [src, dst] = [DATA + 0x1000 + 0x40 * n, DATA + 0x3000 + 0x40 * n];
        const bytes = (t: string) => (down ? [...t].reverse() : [...t]).map((c) => c.charCodeAt(0));
        return [
          ...bytes(a).map((v, k) => `        mov byte [${hex(src + k)}], ${v}`),
          ...bytes(b).map((v, k) => `        mov byte [${hex(dst + k)}], ${v}`),
          `        mov esi, ${hex(src + (down ? a.length - 1 : 0))}`,
          `        mov edi, ${hex(dst + (down ? b.length - 1 : 0))}`,
          down ? '        std' : '        cld',
          `.s${n}:    lodsb`,
          '        scasb',
          `        jne .e${n}`,
          '        test al, al',
          `        jnz .s${n}`,
          `.e${n}:    setne cl`,
          '        add ebp, ecx',
          '        cld',
        ];
      }),
      rig: { maxSteps: 40000 },
      leftToHandlers: readLeftToHandlers,
      compiledPerCase: 10,
    });
  });

  it('a #PF on the read in the middle of a block, a device that asks to stop, and the segments: DS or the prefix\'s for LODSB, ES for SCASB (#GP at its limit)', () => {
    // LIMITED_ES from the eighth: LODSB (DS) past the limit reads, SCASB and ES LODSB raise #GP (the handler makes ES flat again).
    diffForms({
      before: ['        cld'],
      cases: [
        stringCase(0, 'lodsb', DATA + 0x3010, DATA + 0x100, 0, 0x11), // the source page is absent
        stringCase(1, 'scasb', DATA + 0x100, DATA + 0x7ffe, 0, 0x22), // the compared page is absent
        stringCase(2, 'std\n        lodsb\n        cld', DATA + 0x8000, DATA + 0x100, 0, 0x33),
        stringCase(3, 'lodsb', MMIO + 0x10, DATA + 0x100, 0, 0x44), // from the device
        stringCase(4, 'lodsb', MMIO + STOP_MMIO_HALF + 0x11, DATA + 0x100, 0, 0x55), // it asks to stop
        stringCase(5, 'scasb', DATA + 0x100, MMIO + STOP_MMIO_HALF + 0x13, 0, 0x66),
        stringCase(6, 'std\n        scasb\n        cld', DATA + 0x100, MMIO + 0x20, 0, 0x14),
        [...LIMITED_ES, ...stringCase(7, 'lodsb', 0x28010, DATA + 0x100, 0, 0x77)],
        stringCase(8, 'ds scasb', DATA + 0x100, 0x28020, 0, 0x88),
        ['        mov es, edx', ...stringCase(9, 'es lodsb', 0x28030, DATA + 0x100, 0, 0x99)],
        ['        mov es, edx', ...stringCase(10, 'scasb', DATA + 0x100, 0x27fff, 0, 0xaa)], // the last byte inside the limit
        stringCase(11, 'ss lodsb', 0x28040, 0x28040, 0, 0xbb),
      ],
      after: ['        mov edx, 0x10', '        mov es, edx'],
      rig: { notPresent: FAULT_PAGES },
      exceptions: 5, // three #PF, two #GP
      leftToHandlers: readLeftToHandlers,
    });
  });

  it('LODSB with 16-bit addressing and REP SCASB stay handler calls', () => {
    diffForms({
      cases: [['        mov esi, 0x1234', `        mov edi, ${hex(DATA)}`, '        mov ecx, 5', '        a16 lodsb', '        repne scasb', '        inc ebp']],
      rig: { maxHandlerCalls: 8 },
      leftToHandlers: (r) => leftToHandlers(r, (i) => i.opcode === 0xac || i.opcode === 0xae),
      handlerCalls: ['ac', 'ae'],
    });
  });
});
