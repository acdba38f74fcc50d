/**
 * What entering compiled code costs, JavaScript against WebAssembly, before
 * building a WebAssembly code generator for it (jit.ts history, stop 33).
 * The warm shell loop enters ~780 region functions per iteration, ~22 guest
 * instructions each, spread over ~250 regions; a third of its time is in
 * going from one region to the next (the run loop, the call, the block
 * map). This models that traffic: N regions of the same shape (registers
 * loaded from and stored to a state area, ALU work, guest memory reads
 * through the TLB, the lazy flags' six stores) entered in a fixed
 * pseudo-random order of L entries (a trace in memory, as the links would
 * give), with all state in one linear memory, and runs it as:
 *   js        a JS run loop calling JS region functions (one `new Function`
 *             each) through Block-like objects: today's shape;
 *   jswasm    the same JS run loop calling the regions compiled to
 *             WebAssembly (exported functions, one JS-to-WebAssembly call
 *             per entry);
 *   wasm      a dispatch loop in WebAssembly entering the regions by
 *             call_indirect, returning to JS only when the budget is used.
 * Prints ns per region entry and the guest-instruction rate per round:
 *   npx esbuild test/cpu/jit/measure/dispatchProbe.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.dispatch.mjs && node bench/.dispatch.mjs [N] [L] [rounds]
 */
const N = Number(process.argv[2] ?? 256), L = Number(process.argv[3] ?? 780), ROUNDS = Number(process.argv[4] ?? 8);
const ENTRIES = 2_000_000; // per round
const OPS = Number(process.env.OPS ?? 6); // triples of (ALU, memory read, ALU) per region: ~20 guest instructions with the exit

// ---- linear memory (bytes): guest RAM 0..4 MiB, TLB from 4 MiB (one i32 per page), state from 8 MiB ----
const TLB = 4 << 20, ST = 8 << 20;
const REGS = ST, LAZY = ST + 32, LEFT = ST + 64, ATT = ST + 68, TBIT = ST + 72, POS = ST + 76, TRACE = ST + 4096;
const PAGES = ((TRACE + L * 4) >> 16) + 1;

/** Deterministic pseudo-random numbers (xorshift). */
function rng(seed: number): () => number {
  let x = seed | 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

interface Op { a: number; b: number; k: number; mem: boolean }
function regionOps(i: number): Op[] {
  const r = rng(0x9e3779b9 ^ (i * 7919));
  const ops: Op[] = [];
  for (let j = 0; j < OPS; j++) {
    ops.push({ a: r() & 3, b: r() & 3, k: r() & 0xffff, mem: false });
    ops.push({ a: r() & 3, b: r() & 3, k: 0, mem: true });
    ops.push({ a: r() & 3, b: r() & 3, k: r() & 0xff, mem: false });
  }
  return ops;
}
const GUEST_INSNS = OPS * 3 + 3;
/** The guest data the regions read: 16 KiB by default (a loop's working set), up to the 4 MiB of RAM. */
const MASK = Number(process.env.MASK ?? 0x3ffc);

function setup(buf: ArrayBufferLike): void {
  const i32 = new Int32Array(buf);
  for (let p = 0; p < 1024; p++) i32[(TLB >> 2) + p] = (p << 12) | 2;
  i32[TBIT >> 2] = 2;
  const r = rng(12345);
  for (let k = 0; k < L; k++) i32[(TRACE >> 2) + k] = r() % N;
  for (let k = 0; k < (1 << 20); k++) i32[k] = r();
}

// ---- JavaScript regions ----
function jsRegion(i: number): string {
  const lines = [`let r0 = i32[${REGS >> 2}], r1 = i32[${(REGS >> 2) + 1}], r2 = i32[${(REGS >> 2) + 2}], r3 = i32[${(REGS >> 2) + 3}], o = 0, e = 0, m = 0, fa = 0, fr = 0;`,
    `const tb = i32[${TBIT >> 2}];`];
  for (const op of regionOps(i)) {
    if (op.mem) {
      lines.push(`o = (r${op.a} & ${MASK}) >>> 0;`,
        `if (((e = i32[${TLB >> 2} + (o >>> 12)]) & tb) !== 0) m = i32[((e & ~0xfff) | (o & 0xfff)) >> 2]; else return -1;`,
        `r${op.b} = (r${op.b} + m) | 0;`);
    } else lines.push(`fa = r${op.a}; fr = r${op.a} = ((r${op.a} ^ ${op.k}) + r${op.b}) | 0;`);
  }
  lines.push(`i32[${REGS >> 2}] = r0; i32[${(REGS >> 2) + 1}] = r1; i32[${(REGS >> 2) + 2}] = r2; i32[${(REGS >> 2) + 3}] = r3;`,
    `i32[${LAZY >> 2}] = 1; i32[${(LAZY >> 2) + 1}] = 32; i32[${(LAZY >> 2) + 2}] = fa; i32[${(LAZY >> 2) + 3}] = r0; i32[${(LAZY >> 2) + 4}] = fr; i32[${(LAZY >> 2) + 5}] = 2261;`,
    `return ${GUEST_INSNS};`);
  return `return function region_${i}(cpu) {\n${lines.join('\n')}\n};`;
}

// ---- WebAssembly regions and dispatch ----
const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n !== 0) b |= 0x80; o.push(b); } while (n !== 0); return o; };
const sleb = (n: number): number[] => { const o: number[] = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { o.push(b); return o; } o.push(b | 0x80); } };
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];
const I32 = 0x7f;
const W = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brIf: 0x0d, ret: 0x0f, callIndirect: 0x11, get: 0x20, set: 0x21, tee: 0x22,
  load: 0x28, store: 0x36, const: 0x41, eqz: 0x45, ne: 0x47, geU: 0x4f, gtS: 0x4a, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72,
  xor: 0x73, shl: 0x74, shrU: 0x76,
};
const c = (n: number): number[] => [W.const, ...sleb(n | 0)];
const get = (l: number): number[] => [W.get, l];
const set = (l: number, v: number[]): number[] => [...v, W.set, l];
const ld = (addr: number): number[] => [...c(0), W.load, 2, ...uleb(addr)];
const st = (addr: number, v: number[]): number[] => [...c(0), ...v, W.store, 2, ...uleb(addr)];

function wasmRegion(i: number): number[] {
  // locals: 0-3 r0-r3, 4 o, 5 e, 6 m, 7 fa, 8 fr, 9 tb
  const O = 4, E = 5, M = 6, FA = 7, FR = 8, TB = 9;
  const code: number[] = [];
  for (let r = 0; r < 4; r++) code.push(...set(r, ld(REGS + 4 * r)));
  code.push(...set(TB, ld(TBIT)));
  for (const op of regionOps(i)) {
    if (op.mem) {
      code.push(...set(O, [...get(op.a), ...c(MASK), W.and]),
        ...set(E, [...get(O), ...c(12), W.shrU, ...c(2), W.shl, W.load, 2, ...uleb(TLB)]),
        ...get(E), ...get(TB), W.and, W.eqz, W.if, 0x40, ...c(-1), W.ret, W.end,
        ...set(M, [...get(E), ...c(~0xfff), W.and, ...get(O), ...c(0xfff), W.and, W.or, W.load, 2, 0]),
        ...set(op.b, [...get(op.b), ...get(M), W.add]));
    } else {
      code.push(...set(FA, get(op.a)), ...get(op.a), ...c(op.k), W.xor, ...get(op.b), W.add, W.tee, FR, W.set, op.a);
    }
  }
  for (let r = 0; r < 4; r++) code.push(...st(REGS + 4 * r, get(r)));
  code.push(...st(LAZY, c(1)), ...st(LAZY + 4, c(32)), ...st(LAZY + 8, get(FA)), ...st(LAZY + 12, get(0)), ...st(LAZY + 16, get(FR)), ...st(LAZY + 20, c(2261)));
  code.push(...c(GUEST_INSNS), W.end);
  return [...uleb(1), ...uleb(10), I32, ...code];
}

/** dispatch(): enters regions in trace order from POS until LEFT is used or ATT is set; returns entries made. */
function wasmDispatch(): number[] {
  // locals: 0 pos, 1 left, 2 d, 3 n
  const POSL = 0, LEFTL = 1, D = 2, NL = 3;
  const code = [
    ...set(POSL, ld(POS)), ...set(LEFTL, ld(LEFT)),
    W.block, 0x40, W.loop, 0x40,
    ...ld(ATT), W.brIf, 1,
    ...get(POSL), ...c(2), W.shl, W.load, 2, ...uleb(TRACE), W.callIndirect, ...uleb(0), 0x00, W.set, D,
    ...set(NL, [...get(NL), ...c(1), W.add]),
    ...set(POSL, [...get(POSL), ...c(1), W.add]),
    ...get(POSL), ...c(L), W.geU, W.if, 0x40, ...set(POSL, c(0)), W.end,
    ...get(LEFTL), ...get(D), W.sub, W.tee, LEFTL, ...c(0), W.gtS, W.brIf, 0,
    W.end, W.end,
    ...st(POS, get(POSL)), ...st(LEFT, get(LEFTL)), ...get(NL), W.end,
  ];
  return [...uleb(1), ...uleb(4), I32, ...code];
}

function wasmModule(): Uint8Array<ArrayBuffer> {
  const funcs = Array.from({ length: N }, (_, i) => wasmRegion(i));
  funcs.push(wasmDispatch());
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 0, 1, I32]])), // type 0: () -> i32
    ...section(2, vec([[...str('m'), ...str('mem'), 0x02, 0x03, ...uleb(PAGES), ...uleb(PAGES)]])), // shared memory
    ...section(3, vec(funcs.map(() => [0]))),
    ...section(4, vec([[0x70, 0x00, ...uleb(N)]])), // table of N funcrefs
    ...section(7, vec([
      [...str('dispatch'), 0x00, ...uleb(N)],
      ...Array.from({ length: N }, (_, i) => [...str(`r${i}`), 0x00, ...uleb(i)]),
    ])),
    ...section(9, vec([[0x00, ...c(0), W.end, ...vec(Array.from({ length: N }, (_, i) => uleb(i)))]])),
    ...section(10, vec(funcs.map((f) => [...uleb(f.length), ...f]))),
  ];
  return Uint8Array.from(bytes);
}

// ---- runs ----
interface Block { eip: number; valid: boolean; fn: (cpu: unknown) => number }

function report(name: string, times: number[]): void {
  const ns = times.map((t) => (t * 1e6) / ENTRIES);
  const mips = times.map((t) => (ENTRIES * GUEST_INSNS) / t / 1e3);
  console.log(`${name.padEnd(7)} ns/entry ${ns.map((x) => x.toFixed(1)).join(' ')}  MIPS ${mips.map((x) => x.toFixed(0)).join(' ')}`);
}

function jsLoop(name: string, blocks: Block[], i32: Int32Array): void {
  const cpu = { attention: false };
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    let pos = 0, left = ENTRIES * GUEST_INSNS;
    while (left > 0) {
      if (i32[ATT >> 2] !== 0) break;
      const b = blocks[i32[(TRACE >> 2) + pos]];
      if (b.valid !== true) break;
      left -= b.fn(cpu);
      if (++pos === L) pos = 0;
    }
    times.push(performance.now() - t0);
  }
  report(name, times);
}

function main(): void {
  const memory = new WebAssembly.Memory({ initial: PAGES, maximum: PAGES, shared: true });
  setup(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const which = (process.env.V ?? 'js,jswasm,wasm').split(',');
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmModule()), { m: { mem: memory } });
  for (const w of which) {
    if (w === 'js') {
      const blocks = Array.from({ length: N }, (_, i) => ({ eip: i, valid: true, fn: new Function('i32', jsRegion(i))(i32) as Block['fn'] }));
      jsLoop('js', blocks, i32);
    } else if (w === 'jswasm') {
      const blocks = Array.from({ length: N }, (_, i) => ({ eip: i, valid: true, fn: inst.exports[`r${i}`] as Block['fn'] }));
      jsLoop('jswasm', blocks, i32);
    } else {
      const dispatch = inst.exports.dispatch as () => number;
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        i32[POS >> 2] = 0;
        i32[LEFT >> 2] = ENTRIES * GUEST_INSNS;
        if (dispatch() !== ENTRIES) throw new Error('dispatch stopped early');
        times.push(performance.now() - t0);
      }
      report('wasm', times);
    }
  }
}
main();
