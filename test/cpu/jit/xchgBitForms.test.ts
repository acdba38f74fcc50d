/**
 * The forms core/cpu/jit/xchgBitForms.ts translates inline (XCHG m32, r32;
 * (LOCK) CMPXCHG m32, r32; BT r/m32, imm8; BT r32, r32) and those
 * translate.ts gained with it (the 8-bit ALU operations on memory,
 * read-modify-write: op m8, r8 and op m8, imm8; JMP and CALL r32; LEAVE
 * on a 32-bit and a 16-bit stack; SETcc m8; TEST r16, r16; TEST m8, r8 and
 * m32, r32; CDQ) and BSF/BSR r32, r/m32, run
 * interpreted and compiled in lockstep (diffRig.ts), which compares
 * registers, every flag (undefined ones included), memory and the
 * instructions retired after each block. Operands are edge and seeded
 * random values; memory operands in RAM, unaligned across a page boundary,
 * across a #PF in the middle of a block, and on a device that asks the CPU
 * to stop.
 */
import { describe, it } from 'vitest';
import { DATA, leftToHandlers, MMIO, randoms, STOP_MMIO_HALF, type DiffResult } from './diffRig.ts';
import { ABSENT_PAGE, condition, diffForms, FLAG_SETUPS, hex, newBlock, ONE_PAGE_FAULT, pairs, times } from './formCases.ts';

const EDGES = [0, 1, 0x7f, 0x80, 0xff, 0xffffffff, 0x7fffffff, 0x80000000, 0x80000001, 0x12345678, 0xdeadbeef];
/** The ALU group in its opcodes' order (ModRM /reg of 80-83). */
const ALU_OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** The forms of this change left to handlers in the compiled side's blocks (opcode hex, /reg, mem or reg). */
const xchgBitLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => {
  const o = i.opcode, mem = i.mod !== 3;
  return (o === 0x87 && mem) || (o === 0x1b1 && mem) || (o === 0x1ba && i.reg === 4) || (o === 0x1a3 && !mem)
    || (o < 0x40 && (o & 7) === 0 && mem) || (o === 0x80 && mem && i.reg !== 7) || (o === 0xff && !mem && (i.reg === 2 || i.reg === 4))
    || o === 0xc9 || (o >= 0x190 && o <= 0x19f) || (o === 0x85 && !i.o32 && !mem) || (o === 0x84 && mem) || (o === 0x85 && i.o32 && mem)
    || o === 0x1bc || o === 0x1bd || (o === 0x99 && i.o32);
}, (i) => `${i.opcode.toString(16)}/${i.reg} ${i.mod !== 3 ? 'mem' : 'reg'}`);

describe('block compiler: XCHG, CMPXCHG, BT, 8-bit ALU on memory, JMP/CALL r32 inline', () => {
  it('XCHG m32, r32 and LOCK CMPXCHG m32, r32 (equal and different, EAX as the source too): registers, memory and CMP\'s flags', () => {
    const values = [...EDGES, ...randoms(6, 3)];
    diffForms({
      cases: pairs(values, values).map(([a, b], n) => {
        const at = hex(DATA + ((n * 8) & 0xfff));
        return [
          `        mov dword [${at}], ${hex(n % 3 === 0 ? a : b)}`,
          `        mov eax, ${hex(a)}`,
          `        mov ebx, ${hex(b ^ n)}`,
          '        add esi, ebx                      ; lazy flags in locals before',
          `        ${n % 2 === 0 ? 'lock ' : ''}cmpxchg [${at}], ${n % 5 === 0 ? 'eax' : 'ebx'}`,
          ...newBlock(`a${n}`, condition(n)),
          `        xchg [${at}], ecx`,
          `        ${n % 2 === 0 ? '' : 'lock '}xchg edx, [${hex(DATA + 0x800 + ((n * 4) & 0x7ff))}]`,
          `        cmpxchg [${at}], edx`,
          ...newBlock(`b${n}`),
        ];
      }),
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 9,
    });
  });

  it('XCHG and CMPXCHG m32 unaligned across a page boundary, across a #PF in the middle of a block, and on a device that asks to stop', () => {
    const device = `
        mov ecx, 3
.dev:   mov eax, 0x40404
        xchg [${hex(MMIO + 0x40)}], ebx
        cmpxchg [${hex(MMIO + STOP_MMIO_HALF + 0x40)}], edx
        xchg [${hex(MMIO + STOP_MMIO_HALF + 0x80)}], esi
        dec ecx
        jnz .dev`;
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(40, (n) => [
        '        add ecx, 4',
        `        xchg [ecx + ${hex(ABSENT_PAGE - 4 * 30)}], ebx   ; the 30th writes into the absent page`,
        `        mov eax, [${hex(DATA + 0xffe)}]`,
        `        cmpxchg [${hex(DATA + 0xffe)}], ${n % 2 === 0 ? 'ecx' : 'esi'}   ; across the page boundary, equal every other time`,
        `        cmpxchg [ecx + ${hex(ABSENT_PAGE - 4 * 35)}], edi   ; the 35th reads it (mapped again by then)`,
        ...newBlock(`p${n}`, condition(n)),
        `        xchg [${hex(DATA + 0x1ffd)}], esi`,
        '        inc edi',
      ]),
      after: [device],
      ...ONE_PAGE_FAULT,
      rig: { ...ONE_PAGE_FAULT.rig, wasm: false }, // translate.ts's slow paths (WebAssembly hands these over: wasmRegions.test.ts)
      leftToHandlers: xchgBitLeftToHandlers,
      compiledMoreThan: 250,
    });
  });

  it('BT r32, imm8 and m32, imm8 (every bit, counts above 31 masked) and BT r32, r32 (offsets above 31 and negative), after lazy, CPU and INC-kept-CF flag states', () => {
    const values = [...EDGES, ...randoms(4, 17)];
    const counts = [0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 255];
    diffForms({
      before: ['        xor esi, esi', '        xor edi, edi'],
      cases: pairs(values, counts).map(([v, c], n) => {
        const name = ['eax', 'ecx', 'edx', 'ebx'][n % 4];
        const at = hex(DATA + ((n * 4) & 0xfff));
        return [
          `        mov ${name}, ${hex(v)}`,
          `        mov dword [${at}], ${hex(v ^ 0x5a5a5a5a)}`,
          `        mov ebp, ${hex(n % 3 === 0 ? -c : c * 3)}`,
          ...newBlock(`s${n}`),
          `        ${FLAG_SETUPS[n % FLAG_SETUPS.length]}`,
          `        bt ${name}, ${c}`,
          ...newBlock(`a${n}`, condition(n)),
          `        bt dword [${at}], ${c}`,
          ...newBlock(`b${n}`, condition(n + 3)),
          `        bt ${name}, ebp`,
          ...newBlock(`c${n}`, condition(n + 5)),
          `        adc esi, 0`,
          ...newBlock(`d${n}`),
        ];
      }),
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('BT m32, imm8 across a #PF in the middle of a block and from a device that asks to stop', () => {
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(40, (n) => [
        '        add ecx, 4',
        '        add esi, ecx',
        `        bt dword [ecx + ${hex(ABSENT_PAGE - 4 * 33)}], ${n}   ; the 33rd reads the absent page`,
        '        adc edi, 0',
        `        bt dword [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}], ${n & 31}`,
        '        adc edi, edi',
        ...newBlock(`p${n}`, condition(n)),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledMoreThan: 150,
    });
  });

  it('ADD/OR/ADC/SBB/AND/SUB/XOR m8, r8 and m8, imm8 read-modify-write, CMP m8, r8, after every flag state: memory and all six flags', () => {
    const bytes = [0, 1, 0x7f, 0x80, 0xff, 0x5a, ...randoms(4, 23).map((v) => v & 0xff)];
    const setups = ['add esi, eax', 'inc edi', 'sub esi, 1\n        inc edi', 'stc', 'clc', 'imul esi, eax'];
    diffForms({
      before: ['        xor esi, esi', '        xor edi, edi'],
      cases: pairs(bytes, bytes).map(([a, b], n) => {
        const op = ALU_OPS[n % ALU_OPS.length], other = ALU_OPS[(n + 3) % ALU_OPS.length];
        const at = hex(DATA + ((n * 3) & 0xfff));
        const reg = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'][n % 8];
        return [
          `        mov byte [${at}], ${hex(a)}`,
          `        mov eax, ${hex((b * 0x01010101) >>> 0)}`,
          `        mov ecx, eax`,
          `        mov edx, eax`,
          `        mov ebx, eax`,
          ...newBlock(`s${n}`),
          `        ${setups[n % setups.length]}`,
          `        ${op} [${at}], ${reg}`,
          ...newBlock(`a${n}`, condition(n)),
          `        ${other} byte [${at}], ${hex(b ^ 0x33)}`,
          ...newBlock(`b${n}`, condition(n + 1)),
          `        ${op} byte [${at} + 1], ${hex(a)}`,
          `        ${other} [${at} + 2], ${reg}`,
          ...newBlock(`c${n}`),
        ];
      }),
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 9,
    });
  });

  it('8-bit ALU m8 read-modify-write across a #PF in the middle of a block and on a device that asks to stop', () => {
    const ops = ALU_OPS.slice(0, 7); // the read-modify-write ones (CMP only reads)
    diffForms({
      before: ['        xor ecx, ecx', '        mov ebx, 0x1234'],
      cases: times(40, (n) => [
        '        add ecx, 1',
        `        ${ops[n % 7]} [ecx + ${hex(ABSENT_PAGE - 30)}], dl   ; the 30th writes into the absent page`,
        `        ${ops[(n + 2) % 7]} byte [ecx + ${hex(ABSENT_PAGE - 35)}], ${hex(n * 7)}`,
        `        ${ops[(n + 4) % 7]} byte [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + n)}], ${hex(n)}`,
        `        ${ops[(n + 5) % 7]} [${hex(MMIO + (n % 3 === 0 ? STOP_MMIO_HALF : 0) + n)}], bh`,
        '        inc edx',
        ...newBlock(`p${n}`, condition(n)),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledMoreThan: 150,
    });
  });

  it('LEAVE: EBP and ESP from frames on a 32-bit stack across a #PF in the middle of a block, and on a 16-bit stack (BP wrapping at 64 KiB)', () => {
    diffForms({
      before: ['        xor ecx, ecx', '        mov edi, esp'],
      cases: [
        ...times(40, (n) => [
          // The 31st LEAVE reads the absent page (nothing stored there before it).
          n === 30 ? '' : `        mov dword [${hex(ABSENT_PAGE - 8 * 30 + 8 * n)}], ${hex(0x9e3779b9 * (n + 1))}`,
          `        lea ebp, [ecx * 8 + ${hex(ABSENT_PAGE - 8 * 30)}]`,
          '        add esi, ebp',
          '        leave',
          '        add esi, ebp',
          '        add esi, esp',
          '        mov esp, edi',
          '        inc ecx',
          ...newBlock(`p${n}`, condition(n)),
        ]),
        // A 16-bit stack segment (GDT entry 0x18 rewritten: base 0, limit 0xffff, data read/write, B clear): LEAVE uses BP and writes SP only.
        ['        mov dword [0x1018], 0x0000ffff', '        mov dword [0x101c], 0x00009200'],
        ...[0xe000, 0xe004, 0xfffc, 0xeffe].map((bp, n) => [
          `        mov dword [${hex(bp)}], ${hex(0x5a5a0000 + n)}`,
          '        mov eax, 0x18',
          '        mov ss, eax',
          `        mov ebp, ${hex(0x7fff0000 + bp)}`,
          `        mov esp, ${hex(0x12340000 + n)}`,
          '        leave',
          '        add esi, ebp',
          '        add esi, esp',
          '        mov eax, 0x10',
          '        mov ss, eax',
          '        mov esp, edi',
          ...newBlock(`q${n}`),
        ]),
      ],
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledMoreThan: 300,
    });
  });

  it('SETcc m8 (all 16 conditions after lazy, CPU and INC-kept-CF flag states, across a #PF mid-block and on a device that asks to stop) and TEST r16, r16', () => {
    const values = [...EDGES, ...randoms(4, 29)];
    const setups = ['sub eax, ebx', 'add eax, ebx', 'and eax, ebx', 'inc edi', 'sub eax, ebx\n        inc edi', 'imul eax, ebx', 'stc', 'test bx, ax'];
    const cc = ['o', 'no', 'c', 'nc', 'z', 'nz', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: pairs(values, values.slice(0, 6)).map(([a, b], n) => [
        `        mov eax, ${hex(a)}`,
        `        mov ebx, ${hex(b)}`,
        ...newBlock(`s${n}`),
        `        ${setups[n % setups.length]}`,
        '        add ecx, 1',
        `        set${cc[n % 16]} [ecx + ${hex(ABSENT_PAGE - 40)}]   ; the 40th writes into the absent page`,
        `        set${cc[(n + 5) % 16]} [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + n)}]`,
        `        test ${['ax, bx', 'bx, ax', 'ax, ax', 'si, bx'][n % 4]}`,
        ...newBlock(`a${n}`, condition(n)),
        `        setg [ecx + ${hex(DATA)}]`,
        ...newBlock(`b${n}`),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 7,
    });
  });

  it('TEST m8, r8 and TEST m32, r32 on edge and random values, across a #PF mid-block and on a device that asks to stop', () => {
    const values = [...EDGES, ...randoms(6, 31)];
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: pairs(values, values.slice(0, 8)).map(([a, b], n) => [
        `        mov dword [${hex(DATA + 0x1000 + ((n * 4) & 0xfff))}], ${hex(a)}`,
        `        mov ebx, ${hex(b)}`,
        '        add ecx, 4',
        `        test [ecx + ${hex(ABSENT_PAGE - 4 * 50)}], ${['bl', 'bh', 'ebx', 'ebx'][n % 4]}   ; the 50th reads the absent page`,
        ...newBlock(`a${n}`, condition(n)),
        `        test [${hex(DATA + 0x1000 + ((n * 4) & 0xfff) + (n % 3))}], ${['ebx', 'bl', 'bh'][n % 3]}`,
        ...newBlock(`b${n}`, condition(n + 3)),
        `        test [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + 4 * (n & 31))}], ${n % 2 === 0 ? 'ebx' : 'bl'}`,
        ...newBlock(`c${n}`, condition(n + 5)),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 6,
    });
  });

  it('BSF and BSR r32, r32 and r32, m32 (zero sources keep the destination) and CDQ, after lazy, CPU and INC-kept-CF flag states, across a #PF mid-block', () => {
    const values = [...EDGES, 0x100, 0x8000, 0x00010000, 0x40000000, ...randoms(8, 37)];
    const setups = ['add esi, eax', 'inc edi', 'sub esi, 1\n        inc edi', 'stc', 'imul esi, eax'];
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: pairs(values, ['bsf', 'bsr']).map(([v, kind], n) => [
        `        mov eax, ${hex(v)}`,
        `        mov ebx, ${hex(0x11111111 * (n & 7))}`,
        `        mov dword [${hex(DATA + 0x1000 + ((n * 4) & 0xfff))}], ${hex(v ^ (n & 1 ? 0 : 0x80000000))}`,
        ...newBlock(`s${n}`),
        `        ${setups[n % setups.length]}`,
        `        ${kind} ebx, eax`,
        ...newBlock(`a${n}`, condition(n)),
        `        ${kind} edx, [${hex(DATA + 0x1000 + ((n * 4) & 0xfff))}]`,
        ...newBlock(`b${n}`, condition(n + 3)),
        '        add ecx, 4',
        `        ${kind === 'bsf' ? 'bsr' : 'bsf'} ebp, [ecx + ${hex(ABSENT_PAGE - 4 * 40)}]   ; the 40th reads the absent page`,
        '        cdq',
        ...newBlock(`c${n}`),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('JMP r32 and CALL r32 (a jump table, calls through registers, CALL ESP\'s target taken before its push)', () => {
    const fns = [0, 1, 2, 3].map((k) => `.f${k}:  add esi, ${k + 1}\n        ${condition(k)} .g${k}\n.g${k}:  ret`).join('\n');
    const callEsp = `
        mov eax, esp
        mov esp, .stackcode      ; CALL ESP: jumps to the code ESP points at, then pushes below it
        call esp
        mov esp, eax
        jmp .done
.stackcode:
        mov esp, eax             ; back on the real stack
        jmp .done
.done:`;
    diffForms({
      before: ['        xor esi, esi', '        xor edi, edi'],
      cases: times(24, (n) => [
        `        mov ebx, .f${n % 4}`,
        `        mov ecx, .j${n}`,
        '        add esi, ebx',
        `        call ${['ebx', 'ebx', 'ebx', 'ebx'][n % 4]}`,
        '        jmp ecx',
        `.j${n}:  inc edi`,
      ]),
      after: [callEsp, '        jmp .end', fns, '.end:'],
      leftToHandlers: xchgBitLeftToHandlers,
      compiledPerCase: 5,
    });
  });
});

/** XADD and BTS/BTR/BTC left to handlers in the compiled side's blocks. */
const xaddBtLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => i.opcode === 0x1c1 || (i.opcode === 0x1ba && i.reg > 4));

describe('block compiler: XADD m32, BTS/BTR/BTC r/m32, imm8 and the ALU group on r16, imm inline', () => {
  it('(LOCK) XADD m32, r32 and (LOCK) BTS/BTR/BTC m32, imm8 and r32, imm8 on edge and random values, after every flag state', () => {
    const values = [...EDGES, ...randoms(5, 41)];
    diffForms({
      before: ['        xor esi, esi', '        xor edi, edi'],
      cases: pairs(values, values).map(([a, b], n) => {
        const at = hex(DATA + ((n * 8) & 0xfff));
        const bit = (a ^ b ^ n) & 0xff;
        const kind = ['bts', 'btr', 'btc'][n % 3];
        return [
          `        mov dword [${at}], ${hex(a)}`,
          `        mov ebx, ${hex(b)}`,
          `        mov ecx, ${hex(a ^ n)}`,
          ...newBlock(`s${n}`),
          `        ${FLAG_SETUPS[n % FLAG_SETUPS.length]}`,
          `        ${n % 2 === 0 ? 'lock ' : ''}xadd [${at}], ebx`,
          ...newBlock(`a${n}`, condition(n)),
          `        ${FLAG_SETUPS[(n + 3) % FLAG_SETUPS.length]}`,
          `        ${n % 4 === 1 ? 'lock ' : ''}${kind} dword [${at}], ${bit}`,
          ...newBlock(`b${n}`, condition(n + 2)),
          `        ${kind} ecx, ${bit}`,
          ...newBlock(`c${n}`, condition(n + 5)),
          `        adc esi, ecx`,
          '        add edi, ebx',
          ...newBlock(`d${n}`),
        ];
      }),
      leftToHandlers: xaddBtLeftToHandlers,
      compiledPerCase: 10,
    });
  });

  it('XADD and BTS/BTR/BTC m32 across a #PF in the middle of a block and on a device that asks to stop', () => {
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(40, (n) => [
        '        add ecx, 4',
        '        add esi, ecx',
        `        lock xadd [ecx + ${hex(ABSENT_PAGE - 4 * 30)}], edi   ; the 30th reaches the absent page`,
        `        ${['bts', 'btr', 'btc'][n % 3]} dword [ecx + ${hex(ABSENT_PAGE - 4 * 36)}], ${n}   ; the 36th too (mapped again by then)`,
        '        adc edi, 0',
        `        lock bts dword [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}], ${n & 31}`,
        `        xadd [${hex(MMIO + (n % 3 === 0 ? STOP_MMIO_HALF : 0) + 8 * n)}], esi`,
        '        adc edi, edi',
        ...newBlock(`p${n}`, condition(n)),
      ]),
      ...ONE_PAGE_FAULT,
      leftToHandlers: xaddBtLeftToHandlers,
      compiledMoreThan: 200,
    });
  });

  it('ADD/OR/ADC/SBB/AND/SUB/XOR/CMP r16, imm16 and imm8 (81, 83 with 66): the register\'s upper half kept, every flag', () => {
    diffForms({
      cases: pairs([...EDGES, ...randoms(4, 9)], [0, 1, 0x7f, -0x80, -1, 0x7fff, 0x8000, 0xffff, 0x1234]).map(([a, imm], n) => {
        const name = ['ax', 'cx', 'dx', 'bx', 'bp', 'si', 'di'][n % 7];
        const op = ALU_OPS[n % ALU_OPS.length];
        const small = imm >= -0x80 && imm <= 0x7f;
        return [
          `        mov e${name}, ${hex(a)}`,
          `        ${['add esp, 0', 'stc', 'clc', 'inc esp\n        dec esp', 'cmp eax, ecx'][n % 5]}`,
          `        ${op} ${name}, ${small && n % 2 === 0 ? `byte ${imm}` : `word ${hex(imm & 0xffff)}`}`,
          ...newBlock(`r${n}`, condition(n)),
          `        ${op} ${name}, ${n & 0x7f}`,
          '        adc edi, 0',
          ...newBlock(`t${n}`),
        ];
      }),
      leftToHandlers: (r) => leftToHandlers(r, (i) => (i.opcode === 0x81 || i.opcode === 0x83) && !i.o32 && i.mod === 3),
      compiledPerCase: 5,
    });
  });
});
