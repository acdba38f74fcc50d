/**
 * SHL/SAL/SHR/SAR r16 by imm8 and by 1 (66 C1 /4-/7, 66 D1 /4-/7), which
 * the compiler translates inline (core/cpu/jit/shift16Forms.ts), run
 * interpreted and compiled in lockstep (diffRig.ts). Every count 0-31 and
 * counts 32, 33 and 255 (masked to 5 bits), by 1 through D1, on the 16-bit
 * edges and seeded random values under random high halves (which must
 * survive), after the flag states a block can hold: the CPU's (a block's
 * start, POPFD's pattern of all six flags), lazy ADD, SUB and 8-bit results
 * in locals, INC's kept CF. After each shift two SETcc and a Jcc read its
 * flags inline (all 16 conditions in turn) or ADC reads its carry, and the
 * block ends, so the rig compares every flag, as materialized, and the
 * registers. Then a device that asks the CPU to stop between shifts.
 */
import { describe, it } from 'vitest';
import { leftToHandlers, MMIO, randoms, STOP_MMIO_HALF, type DiffResult } from './diffRig.ts';
import { diffForms, hex, newBlock, pairs } from './formCases.ts';

const EDGES16 = [0, 1, 2, 0x7fff, 0x8000, 0x8001, 0xffff, 0xfffe, 0x4000, 0xc000, 0x00ff, 0x0100, 0x5555, 0xaaaa];
const CC = ['o', 'no', 'b', 'nb', 'z', 'nz', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
/** The shift's operand registers (ModRM rm), and their 32-bit names. */
const TARGETS: [number, string][] = [[1, 'ecx'], [2, 'edx'], [3, 'ebx'], [6, 'esi'], [7, 'edi']];
const NAMES = ['', '', '', '', 'shl', 'shr', 'sal', 'sar'];

/** This file's forms left to handlers in the compiled side's blocks. */
const shift16LeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => (i.opcode === 0xc1 || i.opcode === 0xd1) && !i.o32 && i.mod === 3 && i.reg >= 4,
  (i) => `${i.opcode.toString(16)} /${i.reg}`);

/** The flag states before a shift (at most AL and EBP changed, before the operand is loaded). */
const SETUPS = [
  '', // the block starts at the operand's MOV: the flags are the CPU's
  'add ebp, 0x9e3779b9',
  'cmp ebp, 0x40000000',
  'sub al, 0x35',
  'inc ebp',
  'push dword FLAGS\n        popfd',
];

describe('block compiler: SHL/SHR/SAR r16 by imm8 and 1 inline', () => {
  for (const kind of [4, 5, 6, 7]) {
    it(`${NAMES[kind]} r16 by every count 0-31, 32, 33, 255 and by 1 (D1): results, high halves and all six flags`, () => {
      const values = [...EDGES16, ...randoms(4, 3 + kind).map((v) => v & 0xffff)];
      const highs = randoms(values.length * 36, 17 + kind);
      const counts = [...Array.from({ length: 32 }, (_, c) => c), 32, 33, 255, -1]; // -1: D1
      diffForms({
        before: ['        xor ebp, ebp'],
        cases: pairs(values, counts).map(([v, c], n) => {
          const [rm, name] = TARGETS[n % TARGETS.length];
          const modrm = hex(0xc0 | (kind << 3) | rm);
          const setup = SETUPS[n % SETUPS.length].replace('FLAGS', hex(((n * 0x2b5) & 0x8d5) | 2));
          const shift = c < 0 ? `db 0x66, 0xd1, ${modrm}` : `db 0x66, 0xc1, ${modrm}, ${c}`;
          const after = n % 4 === 3
            ? ['adc ebp, eax                   ; the carry from the locals']
            : [`set${CC[n % 16]} al`, `set${CC[(n * 7 + 3) % 16]} ah`];
          return [
            ...newBlock(`s${n}`),
            `        ${setup}`,
            `        mov ${name}, ${hex((highs[n] & 0xffff0000) | v)}`,
            `        ${shift}        ; ${NAMES[kind]} ${name.slice(1)}, ${c < 0 ? '1 (D1)' : c}`,
            ...after.map((s) => `        ${s}`),
            `        j${CC[(n * 5 + 1) % 16]} .t${n}`,
            '        inc ebp',
            `.t${n}:`,
          ];
        }),
        leftToHandlers: shift16LeftToHandlers,
        compiledPerCase: 4,
      });
    });
  }

  it('a device asking the CPU to stop between 16-bit shifts: the block leaves after the access with the shift\'s flags and results', () => {
    diffForms({
      cases: [[`
        mov ecx, 6
        mov eax, 0x1234c3a5
        mov ebx, 0xfedc8001
        mov esi, 0x0badf00d
        mov edi, ${hex(MMIO)}
.loop:  shr ax, 5
        mov edx, [edi + ${hex(STOP_MMIO_HALF + 0x10)}]   ; the device asks to stop: the block leaves here
        shl bx, 3
        mov edx, [edi + ${hex(STOP_MMIO_HALF + 0x20)}]
        sar si, 1
        add ebp, edx
        sar si, 9
        mov edx, [edi + ${hex(STOP_MMIO_HALF + 0x30)}]
        dec ecx
        jnz .loop
`]],
      leftToHandlers: shift16LeftToHandlers,
      compiledMoreThan: 20,
    });
  });
});
