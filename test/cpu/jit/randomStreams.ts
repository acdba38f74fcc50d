/**
 * Random instruction streams for the differential rig: seeded, so a failing
 * seed is a reproducible program. A stream is loops of random instructions,
 * mostly of the forms the block compiler translates (every ALU operation in
 * every register and immediate form, INC/DEC, MOV/LEA/MOVZX, TEST, loads,
 * stores and compares in every addressing form, PUSH/POP/CALL/RET, Jcc over
 * random conditions), with a few the compiler leaves to the interpreter
 * (shifts, 16-bit operations, PUSHFD) so that compiled and interpreted
 * blocks alternate.
 *
 * Register roles keep the memory operands inside the rig's data area:
 * EAX-EDX are free, ESI/EDI are pointers (changed only by small LEA steps,
 * kept in the data area by masking), EBP counts loops, ESP is the stack. The
 * data area has absent pages (the #PF handler maps them) and page-crossing
 * positions, so faults land in the middle of blocks.
 */

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  }
  int(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
}

const FREE = ['eax', 'ebx', 'ecx', 'edx'];
const ANY = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp', 'esp'];
const BYTE = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const REG_NUM: Record<string, number> = { eax: 0, ecx: 1, edx: 2, ebx: 3, esp: 4, ebp: 5, esi: 6, edi: 7 };
const CONDITIONS = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];

/** Absent at start: the rig's #PF handler maps them on first touch. */
export const ABSENT_PAGES = [0x23000, 0x25000, 0x29000];

function imm(r: Rng): string {
  const v = r.pick([0, 1, -1, 0x7f, 0x80, 0x7fffffff, 0x80000000, 0xffff, r.next(), r.int(256), -r.int(128)]);
  return v < 0 ? `-0x${(-v).toString(16)}` : `0x${(v >>> 0).toString(16)}`;
}

/** A memory operand inside the data area (ESI/EDI point into it; ECX is masked before it indexes). */
function mem(r: Rng, pre: string[]): string {
  switch (r.int(8)) {
    case 0: return `[esi + ${r.int(24) - 8}]`;
    case 1: return `[edi + 0x${r.int(0x800).toString(16)}]`;
    case 2:
      pre.push(`        and ecx, 0x${r.pick([0x3f, 0x3ff, 0xfff]).toString(16)}`);
      return `[esi + ecx*${r.pick([1, 2, 4, 8])} + ${r.int(16)}]`;
    case 3: return `[ebp*2 + 0x${(0x20000 + r.int(0xff00)).toString(16)}]`;
    case 4: return `[esp + ${4 * r.int(4)}]`;
    case 5: return `[0x${(0x20000 + 0x1000 * r.int(16) - r.int(4) + 0xfff - 2).toString(16)}]`; // across a page boundary
    case 6: return `[fs: edi + ${r.int(64)}]`;
    default:
      pre.push(`        and ecx, 0x${r.pick([0xff, 0xffc]).toString(16)}`);
      return `[edi + ecx]`;
  }
}

function stackSafe(m: string): boolean {
  return !m.startsWith('[esp');
}

/** One random instruction (with any setup it needs) as NASM lines. */
function instruction(r: Rng, label: () => string): string[] {
  const pre: string[] = [];
  const out = (s: string) => [...pre, `        ${s}`];
  const f = r.pick(FREE);
  const a = r.pick(ANY);
  const b8 = r.pick(BYTE);
  if (r.chance(0.03)) { // forms the compiler leaves to the interpreter
    return out(r.pick([`shl ${f}, ${1 + r.int(31)}`, `not ${f}`, 'pushfd\n        pop ecx', `add ${f.slice(1)}, ${r.pick(FREE).slice(1)}`, `adc ${b8}, ${r.pick(BYTE)}`, `neg ${f}`]));
  }
  switch (r.int(23 + 14)) {
    case 0: return out(`mov ${f}, ${a}`);
    case 1: return out(`db 0x8b, 0x${(0xc0 | (REG_NUM[f] << 3) | REG_NUM[a]).toString(16)}    ; mov ${f}, ${a} (8B)`);
    case 2: return out(`mov ${f}, ${imm(r)}`);
    case 3: return out(`lea ${f}, ${mem(r, pre)}`);
    case 4: return out(`${r.pick(['inc', 'dec'])} ${f}`);
    case 5: return out(`${r.pick(ALU)} ${f}, ${a}`);
    case 6: {
      const op = r.int(8);
      return out(`db 0x${((op << 3) | 3).toString(16)}, 0x${(0xc0 | (REG_NUM[f] << 3) | REG_NUM[a]).toString(16)}    ; ${ALU[op]} ${f}, ${a} (r, r/m)`);
    }
    case 7: return out(`${r.pick(ALU)} ${f}, byte ${r.int(256) - 128}`);
    case 8: {
      const op = r.int(8);
      return out(`db 0x81, 0x${(0xc0 | (op << 3) | REG_NUM[f]).toString(16)}\n        dd ${imm(r)}    ; ${ALU[op]} ${f}, imm32`);
    }
    case 9: return out(`test ${f}, ${a}`);
    case 10: return out(`test ${b8}, ${r.pick(BYTE)}`);
    case 11: return out(`mov ${f}, ${mem(r, pre)}`);
    case 12: {
      const m = mem(r, pre);
      return out(r.pick([`cmp dword ${m}, ${imm(r)}`, `cmp ${f}, ${m}`, `cmp ${m}, ${a}`]));
    }
    case 13: return out(`mov ${b8}, ${mem(r, pre)}`);
    case 14: return out(`movzx ${f}, byte ${mem(r, pre)}`);
    case 15: {
      const m = mem(r, pre);
      return out(r.pick([`cmp byte ${m}, ${r.int(256)}`, `cmp ${b8}, ${m}`]));
    }
    case 16: {
      const m = mem(r, pre);
      return stackSafe(m) ? out(`mov ${m}, ${a}`) : out(`mov [edi], ${a}`);
    }
    case 17: {
      const m = mem(r, pre);
      return stackSafe(m) ? out(`mov ${m}, ${b8}`) : out(`mov [esi], ${b8}`);
    }
    case 18: return out(`${r.pick(CONDITIONS)} ${label()}`); // a forward branch over the next instruction
    case 19: {
      // push/pop pairs (pop into a free register), balanced
      const v = r.pick([`push ${a}`, `push dword ${imm(r)}`, `push byte ${r.int(256) - 128}`]);
      return out(`${v}\n        pop ${f}`);
    }
    case 20: return out('call fn_a');
    case 21: return out(`push ${a}\n        call fn_b\n        add ${f}, ${r.pick(FREE)}`);
    // Forms outside the interpreter's fast set that the compiler inlines (translate.ts `extended`).
    case 23: return out(`${r.pick(ALU)} ${b8}, ${r.pick(BYTE)}`);
    case 24: return out(`db 0x${((r.int(8) << 3) | 2).toString(16)}, 0x${(0xc0 | (r.int(8) << 3) | r.int(8)).toString(16)}    ; op r8, r8 (02 family)`);
    case 25: return out(`${r.pick(ALU)} ${b8}, ${mem(r, pre)}`);
    case 26: return out(`${r.pick(ALU)} ${f}, ${mem(r, pre)}`);
    case 27: return out(r.pick([`${r.pick(ALU)} al, ${r.int(256)}`, `${r.pick(ALU)} eax, ${imm(r)}`, `${r.pick(ALU)} ${b8}, ${r.int(256)}`]));
    case 28: return out(`mov ${b8}, ${r.pick(BYTE)}`);
    case 29: return out(r.pick([`test al, ${r.int(256)}`, `test eax, ${imm(r)}`, `test ${f}, ${imm(r)}`, `test ${b8}, ${r.int(256)}`]));
    case 30: {
      const m = mem(r, pre);
      return out(r.pick([`mov ${r.pick(['eax', 'al'])}, [0x${(0x20000 + r.int(0xfff0)).toString(16)}]`, `test byte ${m}, ${r.int(256)}`, `mov ${r.pick(['eax', 'al'])}, ${m}`]));
    }
    case 31: {
      const m = mem(r, pre);
      if (!stackSafe(m)) return out(`mov dword [edi + 8], ${imm(r)}`);
      return out(r.pick([`mov byte ${m}, ${r.int(256)}`, `mov dword ${m}, ${imm(r)}`, `mov [0x${(0x20000 + r.int(0xfff0)).toString(16)}], ${r.pick(['eax', 'al'])}`]));
    }
    case 32: return out(`db 0xc7, 0x${(0xc0 | REG_NUM[f]).toString(16)}\n        dd ${imm(r)}    ; mov ${f}, imm32 (C7)`);
    case 33: return out(r.pick([`not ${f}`, `movzx ${f}, ${b8}`, `movzx ${f}, ${r.pick(['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp', 'sp'])}`]));
    case 34: return out(`set${r.pick(CONDITIONS).slice(1)} ${b8}`);
    case 35: return out(`mov byte [edi + ${r.int(64)}], ${r.int(256)}`);
    default: // pointer steps, kept inside the data area
      return out(`lea ${r.pick(['esi', 'edi'])}, [${r.pick(['esi', 'edi'])} + ${r.int(0x300)}]\n        and esi, 0xffff\n        or esi, 0x20000\n        and edi, 0xefff\n        or edi, 0x20000`);
  }
}

/** A random program body (for diffRig's programSource) from `seed`. */
export function randomProgram(seed: number): string {
  const r = new Rng(seed);
  let n = 0;
  const pending: string[] = [];
  const label = () => {
    const l = `.f${n++}`;
    pending.push(l);
    return l;
  };
  const lines: string[] = [
    `        mov esi, 0x${(0x20000 + r.int(0xf000)).toString(16)}`,
    `        mov edi, 0x${(0x20000 + r.int(0xe000)).toString(16)}`,
  ];
  const loops = 2 + r.int(3);
  for (let l = 0; l < loops; l++) {
    lines.push(`        mov ebp, ${3 + r.int(7)}`, `.loop${l}:`);
    const count = 6 + r.int(30);
    for (let k = 0; k < count; k++) {
      lines.push(...instruction(r, label));
      // Land pending forward branches after the next instruction.
      if (pending.length > 0 && r.chance(0.7)) lines.push(`${pending.shift()}:`);
    }
    while (pending.length > 0) lines.push(`${pending.shift()}:`);
    lines.push('        dec ebp', `        jnz .loop${l}`);
  }
  lines.push('        jmp the_end');
  // Subroutines: fn_a works on registers and memory; fn_b takes one stack argument (RET 4).
  lines.push('fn_a:');
  for (let k = 0, c = 2 + r.int(6); k < c; k++) lines.push(...instruction(r, label).filter((s) => !/call|push|pop/.test(s)));
  while (pending.length > 0) lines.push(`${pending.shift()}:`);
  lines.push('        ret', 'fn_b:', '        mov edx, [esp + 4]', `        ${r.pick(['add', 'xor', 'sub'])} eax, edx`, '        ret 4', 'the_end:');
  return lines.join('\n');
}

/** Initial registers (EAX..EDI order of the rig) and flags for `seed`. */
export function randomStart(seed: number): { regs: number[]; flags: number; esp: number } {
  const r = new Rng(seed ^ 0x5eed);
  return {
    regs: Array.from({ length: 8 }, () => r.next() | 0),
    flags: r.next() & 0x8d5,
    // Sometimes misaligned, sometimes a push away from a page boundary.
    esp: r.pick([0x80000, 0x71002, 0x7f001, 0x60ffe + 0x10]),
  };
}
