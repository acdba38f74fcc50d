/**
 * The arithmetic forms the compiler translates inline (core/cpu/jit/
 * arithForms.ts: IMUL r32, r/m32 (0F AF), IMUL r32, r/m32, imm32/imm8 (69,
 * 6B), MUL and IMUL r/m32 (F7 /4 /5), ADC and SBB (carryOp), ROL/ROR
 * r/m32 by imm8 and by 1, BSWAP r32, DIV and IDIV r/m32 with #DE from the
 * handler, SHLD and SHRD r32, r32 by imm8 and CL), run interpreted and compiled in lockstep (diffRig.ts). Each case ends its block (a Jcc or
 * JMP), so the rig compares registers and every flag, undefined ones
 * included, after each; operands are the int32 edges, products beyond 2^53
 * and seeded random values; memory operands in RAM, across a #PF in the
 * middle of a block, and from a device that asks the CPU to stop.
 */
import { describe, expect, it } from 'vitest';
import { DATA, leftToHandlers, MMIO, randoms, STOP_MMIO_HALF, type DiffResult } from './diffRig.ts';
import { ABSENT_PAGE, condition, diffForms, FLAG_SETUPS, hex, newBlock, ONE_PAGE_FAULT, pairs, times } from './formCases.ts';

const EDGES = [0, 1, 2, 0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0x0000ffff, 0x00010000, 0x0000b505, 0x0000b504, 0xffff4afb, 0x12345678, 0xdeadbeef];
/** The eight conditional jumps of CONDITIONS with JO before JC (the order these cases were written in). */
const JCC = ['jo', 'jc', 'jz', 'js', 'jp', 'jl', 'jbe', 'jle'];

/** This file's forms left to handlers in the compiled side's blocks (opcode hex). */
const arithLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => {
  const o = i.opcode;
  return o === 0x1af || o === 0x69 || o === 0x6b || (o === 0xf7 && (i.reg === 4 || i.reg === 5)) || (o >= 0x1c8 && o <= 0x1cf) || ((o === 0xc1 || o === 0xd1) && i.reg < 2 && (o === 0xd1 || (i.imm & 31) !== 0));
});

describe('block compiler: IMUL, ROL/ROR and BSWAP inline', () => {
  it('IMUL r32, r32 and r32, r32, imm32/imm8 on the int32 edges and random operands: results and all six flags', () => {
    const values = [...EDGES, ...randoms(12, 7)];
    const imms = [0, 1, -1, 0x7fffffff, -0x80000000, 0x10001, -3, 127, -128];
    diffForms({
      cases: pairs(values, values).map(([a, b], n) => {
        const imm = imms[n % imms.length];
        const imm8 = ((n * 29) & 0xff) - 128;
        return [
          `        mov eax, ${hex(a)}`,
          `        mov ebx, ${hex(b)}`,
          `        sub esi, eax                      ; lazy flags in locals before the IMUL (n ${n})`,
          '        imul eax, ebx',
          ...newBlock(`a${n}`, n % 2 === 0 ? 'jo' : 'jno'),
          `        imul ecx, ebx, ${imm}`,
          ...newBlock(`b${n}`, n % 3 === 0 ? 'js' : 'jnp'),
          `        imul edx, eax, byte ${imm8}`,
          ...newBlock(`c${n}`),
          `        imul ebx, ebx                  ; destination and source one register`,
          '        add esi, ebx',
          ...newBlock(`d${n}`),
        ];
      }),
      leftToHandlers: arithLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('IMUL r32, m32 and r32, m32, imm from RAM, with a #PF on the operand in the middle of a block', () => {
    diffForms({
      before: ['        xor ecx, ecx', '        xor esi, esi'],
      cases: times(48, (n) => [
        `        mov eax, ${hex(EDGES[n % EDGES.length])}`,
        '        add ecx, 4',
        `        imul eax, [ecx + ${hex(ABSENT_PAGE - 0x80)}]   ; the 33rd reads the absent page`,
        `        imul edx, [ecx + ${hex(ABSENT_PAGE - 0x80 - 2)}], ${hex(0x9e3779b9)}`,
        `        imul ebx, [ecx * 2 + ${hex(DATA)}], byte -7`,
        '        inc esi',
        `        jc .m${n}`,
        `.m${n}:`,
      ]),
      ...ONE_PAGE_FAULT,
      rig: { ...ONE_PAGE_FAULT.rig, wasm: false }, // translate.ts's slow paths (WebAssembly hands the unaligned reads over: wasmRegions.test.ts)
      leftToHandlers: arithLeftToHandlers,
      compiledMoreThan: 200,
    });
  });

  it('IMUL r32, m32 from a device that asks the CPU to stop: the block leaves after the IMUL with its flags', () => {
    diffForms({
      cases: [[`
        mov ecx, 3
.loop:  mov eax, 0x7fff1234
        sub edx, ecx
        imul eax, [${hex(MMIO + 0x40)}]
        imul ebx, [${hex(MMIO + STOP_MMIO_HALF + 0x40)}]
        inc edx
        imul edi, [${hex(MMIO + STOP_MMIO_HALF + 0x80)}], 0x10001
        dec ecx
        jnz .loop
`]],
      leftToHandlers: arithLeftToHandlers,
      compiledMoreThan: 10,
    });
  });

  it('MUL and IMUL r/m32 (EDX:EAX) on the int32 edges and random operands, EAX and EDX as the source too, and from memory across a #PF', () => {
    const values = [...EDGES, ...randoms(10, 5)];
    diffForms({
      before: [`        mov edi, ${hex(DATA)}`, '        xor ecx, ecx'],
      cases: pairs(values, values).map(([a, b], n) => {
        const kind = n % 2 === 0 ? 'mul' : 'imul';
        return [
          `        mov eax, ${hex(a)}`,
          `        mov ebx, ${hex(b)}`,
          '        add esi, eax                      ; lazy flags in locals before',
          `        ${kind} ebx`,
          ...newBlock(`a${n}`, ['jo', 'jc', 'js', 'jp', 'jz', 'jl'][n % 6]),
          `        mov [edi], eax`,
          `        mov [edi + 4], edx`,
          `        ${kind} ${n % 3 === 0 ? 'eax' : 'edx'}`,
          ...newBlock(`b${n}`),
          `        add ecx, 4`,
          `        ${n % 2 === 0 ? 'imul' : 'mul'} dword [ecx + ${hex(ABSENT_PAGE - 4 * 300)}]   ; the 300th reads the absent page`,
          ...newBlock(`c${n}`),
        ];
      }),
      ...ONE_PAGE_FAULT,
      leftToHandlers: arithLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('ROL/ROR r32 by imm8 (counts 0-33, masked) and by 1, after lazy, CPU and INC-kept-CF flag states: CF, OF and the four flags they keep', () => {
    const values = [...EDGES, ...randoms(6, 11)];
    const counts = [0, 1, 2, 7, 16, 30, 31, 32, 33];
    diffForms({
      cases: pairs(pairs(values, counts), [0, 1]).map(([[v, c], kind], n) => {
        const rm = n % 4; // EAX..EBX: the ModRM byte's register
        const name = ['eax', 'ecx', 'edx', 'ebx'][rm];
        const before = [`        add esi, ${hex(v)}                ; lazy flags in locals`, '        inc edi                       ; INC: CF kept', ''][n % 3];
        return [
          `        mov ${name}, ${hex(v)}`,
          before,
          `        db 0xc1, ${hex(0xc0 | (kind << 3) | rm)}, ${c}        ; ${kind === 0 ? 'rol' : 'ror'} ${name}, ${c}`,
          `        ${kind === 0 ? 'rol' : 'ror'} ${name}, 1`,
          ...newBlock(`r${n}`, ['jo', 'jc', 'jz', 'js', 'jp', 'jl'][n % 6]),
          `        db 0xc1, ${hex(0xc0 | (kind << 3) | rm)}, ${c}`,
          ...newBlock(`s${n}`),
        ];
      }),
      leftToHandlers: arithLeftToHandlers,
      compiledPerCase: 5,
    });
  });

  it('ADC and SBB (registers, immediates, byte registers, m32 read and read-modify-write) with the carry in from every flag state', () => {
    const values = [...EDGES, ...randoms(6, 9)];
    // Flag states before the carry chain: lazy ADD, SUB and logic results in locals, INC's kept CF
    // (from locals and from the CPU at a block's start), IMUL's and a handler's flags in the CPU, STC/CLC.
    const setups = ['add eax, ebx', 'sub eax, ebx', 'cmp ebx, eax', 'and eax, ebx', 'shr eax, 3', 'add eax, ebx\n        inc ebp', 'inc ebp', 'imul eax, ebx', 'stc', 'clc'];
    diffForms({
      before: ['        xor ebp, ebp'],
      cases: pairs(values, values).map(([a, b], n) => {
        const kind = ['adc', 'sbb'][n % 2], other = ['sbb', 'adc'][n % 2];
        return [
          `        mov eax, ${hex(a)}`,
          `        mov ebx, ${hex(b)}`,
          ...newBlock(`s${n}`),
          `        ${setups[n % setups.length]}`,
          `        ${kind} edx, ebx`,
          `        ${other} esi, ${hex(b ^ 0x5a5a5a5a)}`,
          `        ${kind} ecx, byte -1`,
          `        ${other} al, bh`,
          `        ${kind} dh, 0x80`,
          `        ${other} edi, [${hex(DATA + ((n * 4) & 0xfff))}]`,
          `        ${kind} [${hex(DATA + ((n * 8) & 0xfff))}], eax`,
          `        ${other} dword [${hex(DATA + ((n * 12) & 0xfff))}], byte 7`,
          ...newBlock(`t${n}`, condition(n)),
          `        ${kind} ebx, eax`,
          ...newBlock(`u${n}`),
        ];
      }),
      leftToHandlers: arithLeftToHandlers,
      compiledPerCase: 12,
    });
  });

  it('ADC m32, r32 and SBB r32, m32 across a #PF in the middle of a block, the carry from the previous ADD', () => {
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(40, (n) => [
        '        add ecx, 4',
        `        add eax, ${hex(0x9e3779b9 * (n + 1))}`,
        `        adc [ecx + ${hex(DATA + 0x3000 - 4 * 30)}], edx   ; the 30th writes into the absent page`,
        `        sbb edx, [ecx + ${hex(DATA + 0x3000 - 4 * 35)}]   ; the 35th reads from it (mapped again by then)`,
        '        adc esi, 0',
        `        jnc .p${n}`,
        `.p${n}:`,
      ]),
      rig: { notPresent: [DATA + 0x3000] },
      exceptions: 1,
      compiledMoreThan: 150,
    });
  });

  it('ROL/ROR m32 by imm8 and by 1 after every flag state, across a #PF in the middle of a block and on a device that asks to stop', () => {
    const counts = [1, 2, 7, 16, 31, 33];
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(60, (n) => {
        const c = counts[n % counts.length], kind = n % 2 === 0 ? 'rol' : 'ror';
        return [
          '        add ecx, 4',
          `        ${['add eax, ecx', 'sub eax, 0x7fffffff', 'inc ebp', 'and eax, ecx', ''][n % 5]}`,
          `        ${kind} dword [ecx + ${hex(DATA + 0x4000 - 4 * 40)}], ${c}   ; the 40th reaches the absent page`,
          `        ${kind === 'rol' ? 'ror' : 'rol'} dword [ecx + ${hex(DATA + 0x100)}], 1`,
          ...newBlock(`q${n}`, ['jo', 'jc', 'jz', 'js', 'jp', 'jl'][n % 6]),
          `        ${kind} dword [${hex(MMIO + (n % 3 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}], ${c}`,
          ...newBlock(`v${n}`),
        ];
      }),
      rig: { notPresent: [DATA + 0x4000] },
      exceptions: 1,
      leftToHandlers: arithLeftToHandlers,
      compiledMoreThan: 300,
    });
  });

  it('BSWAP of every register but ESP', () => {
    diffForms({
      cases: pairs([...EDGES, ...randoms(8, 3)], ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi']).map(([v, name], n) => [
        `        mov ${name}, ${hex(v)}`, `        bswap ${name}`, `        xor ${name}, ${hex(v ^ n)}`, `        bswap ${name}`, ...newBlock(`w${n}`),
      ]),
      leftToHandlers: arithLeftToHandlers,
      compiledPerCase: 4,
    });
  });
});

/** DIV or IDIV of the 64-bit EDX:EAX by `d` (uint32 values) raises #DE. */
function divideFaults(signed: boolean, edx: number, eax: number, d: number): boolean {
  if (d === 0) return true;
  const n = (BigInt(edx >>> 0) << 32n) | BigInt(eax >>> 0);
  if (!signed) return n / BigInt(d >>> 0) > 0xffffffffn;
  const sn = BigInt.asIntN(64, n), sd = BigInt(d | 0);
  const q = sn / sd; // BigInt division truncates, as IDIV
  return q > 0x7fffffffn || q < -0x80000000n;
}

/** The n-th dividend's high half (EDX) for EAX `a` and divisor `d`: unsigned, below the divisor; signed, EAX sign-extended (CDQ) or a wide EDX that still fits. */
function dividendHigh(n: number, signed: boolean, a: number, d: number): number {
  return signed ? (n % 3 === 0 ? (a >> 31) ^ (n % 2) : a >> 31) : (d >>> 0) === 0 ? 0 : ((a >>> 0) % (d >>> 0)) ^ (n % 2);
}

/** DIV and IDIV r/m32 left to handlers in the compiled side's blocks. */
const divLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => i.opcode === 0xf7 && i.reg >= 6);

/** A #DE raised by `insn` in the middle of a compiled block, after lazy flags: the only exception, and the instruction after it never ran (the #DE handler halts). */
function divideErrorMidBlock(setup: string, insn: string, before: string[] = []): void {
  const r = diffForms({
    cases: [[
      ...before, '        mov eax, 0x80000000', ...newBlock('b'), '        add esi, 5', `        ${setup}`, '        cmp esi, 3', '        mov edi, 9',
      `        ${insn}`, '        inc edi',
    ]],
    exceptions: 1,
  });
  expect(r.interpreted.regs[7]).toBe(9);
}

describe('block compiler: DIV and IDIV r32 inline (the handler for #DE and wide signed dividends)', () => {
  it('DIV and IDIV r32 on the edges and random operands, every divisor register (EAX and EDX too), flags kept', () => {
    const values = [...EDGES, ...randoms(10, 23)];
    const regs = ['ebx', 'ecx', 'esi', 'edi', 'eax', 'edx'];
    const cases: string[][] = [];
    for (const [[a, d], signed] of pairs(pairs(values, values), [false, true])) {
      const n = cases.length;
      const name = regs[n % regs.length];
      const edx = dividendHigh(n, signed, a, d);
      const dv = name === 'eax' ? a : name === 'edx' ? edx : d;
      if (divideFaults(signed, edx, a, dv)) continue;
      cases.push([
        `        mov eax, ${hex(a)}`,
        `        mov edx, ${hex(edx)}`,
        name === 'eax' || name === 'edx' ? '' : `        mov ${name}, ${hex(d)}`,
        `        ${['add ebp, eax', 'sub ebp, 0x7fffffff', 'inc ebp', 'cmp eax, edx', 'and ebp, eax', 'stc'][n % 6]}`,
        `        ${signed ? 'idiv' : 'div'} ${name}`,
        ...newBlock(`a${n}`, JCC[n % 8]),
        `        add ebp, eax`,
        '        xor ebp, edx',
        ...newBlock(`b${n}`),
      ]);
    }
    expect(cases.length).toBeGreaterThan(400);
    diffForms({ cases, rig: { maxSteps: 40000 }, leftToHandlers: divLeftToHandlers, compiledPerCase: 6 });
  });

  for (const [what, setup, insn] of [
    ['DIV by 0', 'mov edx, 0\n        mov ebx, 0', 'div ebx'],
    ['DIV with EDX at the divisor', 'mov edx, 7\n        mov ebx, 7', 'div ebx'],
    ['IDIV -2^31 by -1', 'cdq\n        mov ebx, -1', 'idiv ebx'],
    ['IDIV with a wide dividend whose quotient does not fit', 'mov edx, 0x40000000\n        mov ebx, 3', 'idiv ebx'],
    ['IDIV by 0', 'cdq\n        xor ecx, ecx', 'idiv ecx'],
  ] as const) {
    it(`#DE in the middle of a compiled block: ${what}`, () => divideErrorMidBlock(setup, insn));
  }
});

describe('block compiler: DIV and IDIV m32 inline (the handler for #DE, wide signed dividends and operands the inline read cannot reach)', () => {
  it('DIV and IDIV m32 on the edges and random operands, through several addressing forms, aligned and not, flags kept', () => {
    const values = [...EDGES, ...randoms(10, 29)];
    const cases: string[][] = [];
    for (const [[a, d], signed] of pairs(pairs(values, values), [false, true])) {
      const n = cases.length;
      const edx = dividendHigh(n, signed, a, d);
      if (divideFaults(signed, edx, a, d)) continue;
      // The divisor's dword: aligned through a base, a base and scaled index, EBP (SS), or unaligned (the handler's).
      const off = 0x100 + 4 * (n % 200) + (n % 7 === 6 ? 1 : 0);
      const operand = [`[ebx + ${hex(off)}]`, `[ebx + esi * 4 + ${hex(off - 8)}]`, `[ebp + ${hex(off)}]`][n % 3];
      cases.push([
        `        mov dword [ebx + ${hex(off)}], ${hex(d)}`,
        `        mov eax, ${hex(a)}`,
        `        mov edx, ${hex(edx)}`,
        `        ${['add edi, eax', 'sub edi, 0x7fffffff', 'inc edi', 'cmp eax, edx', 'and edi, eax', 'stc'][n % 6]}`,
        `        ${signed ? 'idiv' : 'div'} dword ${operand}`,
        ...newBlock(`a${n}`, JCC[n % 8]),
        `        add edi, eax`,
        '        xor edi, edx',
        ...newBlock(`b${n}`),
      ]);
    }
    expect(cases.length).toBeGreaterThan(400);
    diffForms({
      before: [`        mov ebx, ${hex(DATA)}`, '        mov ebp, ebx', '        mov esi, 2'],
      cases,
      rig: { maxSteps: 40000 },
      leftToHandlers: divLeftToHandlers,
      compiledPerCase: 6,
    });
  });

  it('DIV and IDIV m32 across a #PF on the operand in the middle of a block and from a device that asks to stop', () => {
    diffForms({
      before: ['        xor ecx, ecx', '        xor esi, esi'],
      cases: times(48, (n) => [
        `        mov eax, ${hex(EDGES[n % EDGES.length])}`,
        '        add ecx, 4',
        '        xor edx, edx',
        `        div dword [ecx + ${hex(ABSENT_PAGE - 0x80)}]   ; the 33rd reads the absent page (its random bytes: never 0 here)`,
        '        cdq',
        `        idiv dword [ecx + ${hex(DATA + 0x100)}]`,
        '        inc esi',
        `        jc .m${n}`,
        `.m${n}:  mov edx, ${n % 4}`,
        `        div dword [${hex(MMIO + (n % 3 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}]`,
        '        cdq',
        `        idiv dword [${hex(MMIO + (n % 3 === 1 ? STOP_MMIO_HALF : 0) + 4 * n + 0x100)}]`,
        '        add esi, eax',
        ...newBlock(`v${n}`),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: divLeftToHandlers,
      compiledMoreThan: 400,
    });
  });

  for (const [what, setup, insn] of [
    ['DIV m32 by 0', 'mov edx, 0\n        mov dword [ebx], 0', 'div dword [ebx]'],
    ['DIV m32 with EDX above the divisor', 'mov edx, 8\n        mov dword [ebx], 7', 'div dword [ebx]'],
    ['IDIV m32 -2^31 by -1', 'cdq\n        mov dword [ebx], -1', 'idiv dword [ebx]'],
    ['IDIV m32 with a wide dividend whose quotient does not fit', 'mov edx, 0x40000000\n        mov dword [ebx], 3', 'idiv dword [ebx]'],
  ] as const) {
    it(`#DE in the middle of a compiled block: ${what}`, () => divideErrorMidBlock(setup, insn, [`        mov ebx, ${hex(DATA + 0x40)}`]));
  }
});

describe('block compiler: SHLD and SHRD r32, r32 inline', () => {
  it('SHLD/SHRD r32, r32 by imm8 and by CL (counts 0-33, masked) after lazy, CPU and INC-kept-CF flag states: result and every flag', () => {
    const values = [...EDGES, ...randoms(4, 31)];
    const counts = [0, 1, 2, 7, 15, 16, 17, 30, 31, 32, 33];
    diffForms({
      before: ['        xor esi, esi', '        xor edi, edi'],
      cases: pairs(values, counts).map(([a, c], n) => {
        const [dst, src] = [['eax', 'ebx'], ['edx', 'edx'], ['ebx', 'ecx'], ['ebp', 'eax']][n % 4];
        const kind = n % 2 === 0 ? 'shld' : 'shrd';
        return [
          `        mov ${dst}, ${hex(a)}`,
          src === dst ? '' : `        mov ${src}, ${hex(a ^ 0x9e3779b9 ^ n)}`,
          ...newBlock(`s${n}`),
          `        ${FLAG_SETUPS[n % FLAG_SETUPS.length]}`,
          `        ${kind} ${dst}, ${src}, ${c}`,
          ...newBlock(`a${n}`, JCC[n % 8]),
          `        ${FLAG_SETUPS[(n + 2) % FLAG_SETUPS.length]}`,
          `        mov ecx, ${hex(c + (n & 0x20))}`,
          `        ${kind === 'shld' ? 'shrd' : 'shld'} ${dst === 'ecx' ? 'eax' : dst}, ${src === 'ecx' ? 'ebx' : src}, cl`,
          ...newBlock(`b${n}`, JCC[(n + 3) % 8]),
          `        adc esi, ${dst}`,
          ...newBlock(`c${n}`),
        ];
      }),
      leftToHandlers: (r) => leftToHandlers(r, (i) => [0x1a4, 0x1a5, 0x1ac, 0x1ad].includes(i.opcode)),
      compiledPerCase: 8,
    });
  });
});
