/**
 * The differential rig: two identical bare CPUs run the same program in
 * lockstep, one interpreting everything, one compiling every block it can
 * (hot threshold 1 by default), and after every `run(budget)` (budget 1: one
 * block, plus any exception delivered in it; a larger budget lets a compiled
 * region step between its blocks) the rig compares registers, EIP, EFLAGS
 * (materialized), CR2, segment registers, instructions retired, the stop
 * code and the first 576 KiB of memory (code, data, stack, page tables:
 * everything the programs touch).
 *
 * The world the programs run in (flat 32-bit protected mode, paging on):
 *   0x01000 GDT: 0x08 code 0-4G, 0x10 data 0-4G, 0x18 data with limit 0x27fff
 *   0x02000 IDT: #PF -> the image's PF handler, #GP -> its GP handler, the other exceptions -> its
 *           "other" handler, vector 0x20 (the rig's interrupt, below) -> its IRQ handler
 *   0x03000 page directory, 0x04000 page table (identity, 0-4 MiB); the pages in
 *           `notPresent` start not present (the PF handler maps them)
 *   0x10000 the program image (NASM, `org 0x10000`), starting with four dwords:
 *           the PF, GP, other and IRQ handler addresses; execution starts after them
 *   0x20000-0x2ffff data (random bytes), 0x60000-0x7ffff stack
 * 0x300000 (one page, identity-mapped like the rest of the first 4 MiB) is a device (MMIO): a read
 * of `size` bytes at offset `off` returns (off * 0x01010101 + size) truncated to the size, writes
 * are ignored, and any access to its upper half (STOP_MMIO_HALF) asks the CPU to stop (the run
 * returns STOP_REQUEST after that instruction), as a device may.
 * A write of a nonzero byte to port 0x80 raises the CPU's interrupt line (an interrupt controller
 * with one request, vector 0x20); the IRQ handler logs ECX at IRQ_LOG, counts
 * deliveries in the dword at IRQ_COUNT (which starts at 0) and returns.
 */
import { expect } from 'vitest';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../../core/cpu/clock.ts';
import { Cpu, STOP_BUDGET, STOP_HALT, STOP_REQUEST } from '../../../core/cpu/cpu.ts';
import { assemble } from '../../../scripts/nasm.ts';
import { translateBlock } from '../../../core/cpu/jit/translate.ts';
import type { CompiledBlock } from '../../../core/cpu/jit/jit.ts';
import { untranslated } from '../../../core/cpu/jit/translate.ts';
import type { Insn } from '../../../core/cpu/insn.ts';

export const IMAGE = 0x10000;
export const DATA = 0x20000;
export const DATA_END = 0x30000;
/** The IRQ handler's count of deliveries, and its log of ECX at each (256 entries). */
export const IRQ_COUNT = 0x2fffc;
export const IRQ_LOG = 0x2f800;
const GDT = 0x1000, IDT = 0x2000, PD = 0x3000, PT = 0x4000;
/** The rig's MMIO page, and the start of its half whose accesses request a stop. */
export const MMIO = 0x300000;
export const STOP_MMIO_HALF = 0x800;
const COMPARED = 0x90000;

/** The fault handlers every program image ends with (NASM). */
export const HANDLERS = `
handler_pf:                     ; map the page CR2 points into and retry the instruction
        push eax
        push ebx
        mov eax, cr2
        shr eax, 12
        or dword [0x4000 + eax*4], 1
        mov ebx, cr2
        invlpg [ebx]
        pop ebx
        pop eax
        add esp, 4
        iretd
handler_gp:                     ; make DS and ES flat again and retry the instruction
        push eax
        mov eax, 0x10
        mov ds, eax
        mov es, eax
        pop eax
        add esp, 4
        iretd
handler_other:
        cli
        hlt
handler_irq:                    ; log ECX, count the delivery
        push eax
        mov eax, [0x2fffc]
        and eax, 0xff
        mov [0x2f800 + eax*4], ecx
        inc dword [0x2fffc]
        pop eax
        iretd
`;

/** Wraps a program body (NASM, 32-bit) into an image: handler table, body, `cli; hlt`, handlers. */
export function programSource(body: string): string {
  return `        bits 32\n        org 0x${IMAGE.toString(16)}\n        dd handler_pf, handler_gp, handler_other, handler_irq\nstart:\n${body}\n        cli\n        hlt\n${HANDLERS}`;
}

export interface RigOptions {
  /** Initial registers EAX..EDI (ESP is `esp`). */
  regs?: number[];
  esp?: number;
  /** Initial arithmetic flags (bits of 0x8d5). */
  flags?: number;
  /** Linear pages (addresses) not present at start. */
  notPresent?: number[];
  /** Seed of the data area's contents. */
  seed?: number;
  hotThreshold?: number;
  /** The compiler's maxHandlerCalls and budgetBytes (default: its defaults). */
  maxHandlerCalls?: number;
  /** Compile regions of linked blocks (JitOptions.regions; default: the compiler's default). */
  regions?: boolean;
  /** Blocks in one region at most (JitOptions.regionMax; default: the compiler's). */
  regionMax?: number;
  budgetBytes?: number;
  /** Compile regions to WebAssembly where they have a translation there (JitOptions.wasm; default: the compiler's). */
  wasm?: boolean;
  /** Interpreter handler calls per member in WebAssembly code (JitOptions.wasmHandlerCalls; default: the compiler's). */
  wasmHandlerCalls?: number;
  /** The CPU asks for interrupts between blocks (Cpu.pollIntr, a board that cannot push its INTR line) instead of the line telling it. */
  pollIntr?: boolean;
  /** run(1) calls at most. */
  maxSteps?: number;
  /** Instructions per run() call, after which both sides are compared (default 1: one block per step). */
  budget?: number;
}

export function makeCpu(image: Uint8Array, opts: RigOptions, jit: boolean): Cpu {
  const memory = new PhysicalMemory(4 << 20);
  const bus = new MemoryBus(memory);
  const cpu = new Cpu(bus, new GuestClock('deterministic'));
  cpu.jit.configure({ enabled: jit, hotThreshold: opts.hotThreshold ?? 1, ...(opts.regions !== undefined ? { regions: opts.regions } : {}), ...(opts.regionMax !== undefined ? { regionMax: opts.regionMax } : {}), ...(opts.maxHandlerCalls !== undefined ? { maxHandlerCalls: opts.maxHandlerCalls } : {}),
    ...(opts.budgetBytes !== undefined ? { budgetBytes: opts.budgetBytes } : {}), ...(opts.wasm !== undefined ? { wasm: opts.wasm } : {}),
    ...(opts.wasmHandlerCalls !== undefined ? { wasmHandlerCalls: opts.wasmHandlerCalls } : {}),
  });
  const m = memory.u8;
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  m.set(image, IMAGE);
  let x = (opts.seed ?? 1) >>> 0;
  for (let a = DATA; a < DATA_END; a++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    m[a] = x >>> 24;
  }
  dv.setUint32(IRQ_COUNT, 0, true);
  // GDT: null, flat code, flat data, data limited to 0x27fff.
  const gdt = [0, 0, 0x0000ffff, 0x00cf9a00, 0x0000ffff, 0x00cf9200, 0x00007fff, 0x00429200];
  gdt.forEach((v, i) => dv.setUint32(GDT + 4 * i, v >>> 0, true));
  const handlers = [0, 4, 8, 12].map((k) => dv.getUint32(IMAGE + k, true));
  for (let v = 0; v < 33; v++) {
    const off = v === 14 ? handlers[0] : v === 13 ? handlers[1] : v === 32 ? handlers[3] : handlers[2];
    dv.setUint32(IDT + 8 * v, ((0x08 << 16) | (off & 0xffff)) >>> 0, true);
    dv.setUint32(IDT + 8 * v + 4, ((off & 0xffff0000) | 0x8e00) >>> 0, true);
  }
  dv.setUint32(PD, PT | 3, true);
  const absent = new Set((opts.notPresent ?? []).map((a) => a >>> 12));
  for (let p = 0; p < 1024; p++) dv.setUint32(PT + 4 * p, (p << 12) | (absent.has(p) ? 2 : 3), true);
  const r = opts.regs ?? [0, 0, 0, 0, 0, 0, 0, 0];
  cpu.loadEntryState({
    eax: r[0], ecx: r[1], edx: r[2], ebx: r[3], esp: opts.esp ?? 0x80000, ebp: r[5], esi: r[6], edi: r[7],
    eip: IMAGE + 16, eflags: 0x2 | ((opts.flags ?? 0) & 0x8d5),
    gdtBase: GDT, gdtLimit: 8 * 4 - 1, cs: 0x08, ds: 0x10, es: 0x10, ss: 0x10, fs: 0x10, gs: 0x10,
  });
  cpu.idtBase = IDT;
  cpu.idtLimit = 33 * 8 - 1;
  // The rig's interrupt: a nonzero write to port 0x80 raises the line, acknowledging lowers it.
  let requested = false;
  cpu.pollIntr = opts.pollIntr ?? false;
  cpu.interruptController = {
    hasInterrupt: () => requested,
    acknowledge: () => {
      requested = false;
      cpu.intrLine = false;
      return 0x20;
    },
  };
  bus.addPorts(0x80, 1, {
    portRead: () => 0,
    portWrite: (_port, _size, value) => {
      if (value === 0) return;
      requested = true;
      cpu.intrLine = true;
    },
  }, 'rig interrupt', [1]);
  bus.addMmio(MMIO, 0x1000, {
    read: (off, size) => {
      if (off >= STOP_MMIO_HALF) cpu.requestStop();
      return (Math.imul(off, 0x01010101) + size) & (size === 4 ? -1 : size === 2 ? 0xffff : 0xff);
    },
    write: (off) => {
      if (off >= STOP_MMIO_HALF) cpu.requestStop();
    },
  }, 'rig device');
  cpu.cr3 = PD;
  cpu.cr0 |= 0x8000_0000;
  cpu.flushTlb(true);
  return cpu;
}

/** Everything compared after each step, as one printable record. */
function snapshot(cpu: Cpu, stop: number): Record<string, string | number> {
  const h = (v: number) => (v >>> 0).toString(16);
  const s: Record<string, string | number> = {
    stop, eip: h(cpu.eip), eflags: h(cpu.getFlags()), cr2: h(cpu.cr2), retired: cpu.clock.retired,
    exceptions: cpu.exceptionsRaised, ds: cpu.segSel[3], es: cpu.segSel[0], halted: String(cpu.halted),
  };
  ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'].forEach((n, i) => { s[n] = h(cpu.regs[i]); });
  return s;
}

function firstMemoryDifference(a: Cpu, b: Cpu): number {
  const x = Buffer.from(a.u8.buffer, a.u8.byteOffset, COMPARED);
  const y = Buffer.from(b.u8.buffer, b.u8.byteOffset, COMPARED);
  if (x.equals(y)) return -1;
  for (let i = 0; i < COMPARED; i++) if (x[i] !== y[i]) return i;
  return -1;
}

/** For failure messages: the compiled side's block at `eip`, its instructions and its generated code. */
function describeBlock(cpu: Cpu, eip: number): string {
  for (const block of cpu.blocks.values()) {
    if (block.eip !== eip) continue;
    const insns = block.insns.map((i) => `${(i.eip >>> 0).toString(16)}: opcode ${i.opcode.toString(16)} fast ${i.fast}`).join('\n');
    return `\n${insns}\ncompiled: ${block.jit !== null}\n${translateBlock(block, cpu.jit.settings.maxHandlerCalls) ?? '(no translation)'}`;
  }
  return ' (block no longer cached)';
}

export interface DiffResult {
  steps: number;
  retired: number;
  /** Blocks compiled, and instructions the compiled side retired in them (counted by wrapping each compiled function). */
  compiled: number;
  compiledInstructions: number;
  /** Calls of compiled code from the run loop. */
  entries: number;
  exceptions: number;
  interpreted: Cpu;
  jitted: Cpu;
}

/**
 * Runs `image` on both CPUs until both halt, comparing after every step;
 * fails (vitest expect) at the first difference, naming the step and the
 * block it ran.
 */
export function runDifferential(image: Uint8Array, opts: RigOptions = {}): DiffResult {
  const a = makeCpu(image, opts, false);
  const b = makeCpu(image, opts, true);
  // Count what the compiled side runs compiled: wrap each function the compiler produces. A region's
  // call counts for the members it stepped through (they count themselves on the clock); `entries`
  // counts the run loop's calls.
  let compiledInstructions = 0;
  let entries = 0;
  // One wrapper per compiled function, shared by the blocks of one region (each counted when the run loop enters it).
  const wrappers = new WeakMap<CompiledBlock, CompiledBlock>();
  const wrapped = new WeakSet<CompiledBlock>();
  const wrap = (fn: CompiledBlock): CompiledBlock => {
    let w = wrappers.get(fn);
    if (w === undefined) {
      w = (cpu) => {
        entries++;
        const before = cpu.clock.retired;
        // A fault ends the call with the instructions retired before it on the clock (WebAssembly's dispatch
        // loop may have run many regions before): counted too.
        try {
          const k = fn(cpu);
          compiledInstructions += k;
          return k;
        } finally {
          compiledInstructions += cpu.clock.retired - before;
        }
      };
      wrappers.set(fn, w);
      wrapped.add(w);
    }
    return w;
  };
  const wrapAll = () => {
    for (const block of b.blocks.values()) if (block.jit !== null && !wrapped.has(block.jit)) block.jit = wrap(block.jit);
  };
  const compile = b.jit.compile.bind(b.jit);
  b.jit.compile = (block) => {
    compile(block);
    if (block.jit !== null) block.jit = wrap(block.jit);
    // A region's other members (not always in the block cache: a region may hold a block whose page was rewritten).
    wrapAll();
  };
  const max = opts.maxSteps ?? 20000;
  let steps = 0;
  for (; steps < max; steps++) {
    const eipBefore = a.eip;
    const eip = (eipBefore >>> 0).toString(16);
    const sa = a.run(opts.budget ?? 1);
    const sb = b.run(opts.budget ?? 1);
    const sameState = JSON.stringify(snapshot(b, sb)) === JSON.stringify(snapshot(a, sa));
    const diff = firstMemoryDifference(a, b);
    const where = `step ${steps}, block at ${eip}${sameState && diff < 0 ? '' : describeBlock(b, eipBefore)}`;
    expect(snapshot(b, sb), where).toEqual(snapshot(a, sa));
    expect(diff, `${where}: memory differs at 0x${diff.toString(16)} (interpreted ${a.u8[diff]}, compiled ${b.u8[diff]})`).toBe(-1);
    if (sa === STOP_HALT) break;
    expect([STOP_BUDGET, STOP_REQUEST], where).toContain(sa);
  }
  expect(steps, 'the program did not finish').toBeLessThan(max);
  return {
    steps, retired: a.clock.retired, compiled: b.jit.stats().compiled, compiledInstructions, entries,
    exceptions: a.exceptionsRaised, interpreted: a, jitted: b,
  };
}

/** Assembles a program body and runs it differentially. */
export function diffProgram(body: string, opts: RigOptions = {}): DiffResult {
  return runDifferential(assemble(programSource(body)), opts);
}

/** Seeded LCG: `n` 32-bit values (the same operands on every run). */
export function randoms(n: number, seed: number): number[] {
  const out: number[] = [];
  let x = seed >>> 0;
  for (let k = 0; k < n; k++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(x);
  }
  return out;
}

/** The instructions `mine` selects that the compiled side's blocks still left to their handlers, by `label` (default: the opcode in hex). */
export function leftToHandlers(r: DiffResult, mine: (i: Insn) => boolean, label = (i: Insn) => i.opcode.toString(16)): string[] {
  const set = new Set<string>();
  for (const b of r.jitted.blocks.values()) for (const i of untranslated(b)) if (mine(i)) set.add(label(i));
  return [...set].sort();
}
