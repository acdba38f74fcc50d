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
 *             call_indirect, returning to JS only when the budget is used;
 *   wasmsep   the same with each region a module of its own (as the back
 *             end compiles them: V8 gives each module's code its own
 *             reservation at a random address).
 * Prints ns per region entry and the guest-instruction rate per round:
 *   npx esbuild test/cpu/jit/measure/dispatchProbe.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.dispatch.mjs && node bench/.dispatch.mjs [N] [L] [rounds]
 */
import { FunctionBody, I32, ModuleBuilder, Op } from '../../../../core/cpu/jit/wasm/encoder.ts';

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

// ---- WebAssembly regions and dispatch (the code generator's encoder) ----
/** Region `i`: as jsRegion, its function body written into `fn` (locals: r0-r3, o, e, m, fa, fr, tb). */
function wasmRegion(fn: FunctionBody, i: number): void {
  const r = [fn.local(), fn.local(), fn.local(), fn.local()];
  const [o, e, m, fa, fr, tb] = [fn.local(), fn.local(), fn.local(), fn.local(), fn.local(), fn.local()];
  const ld = (addr: number) => fn.i32(0).load(Op.i32Load, addr);
  for (let n = 0; n < 4; n++) ld(REGS + 4 * n).set(r[n]);
  ld(TBIT).set(tb);
  for (const op of regionOps(i)) {
    if (op.mem) {
      fn.get(r[op.a]).i32(MASK).op(Op.i32And).set(o);
      fn.get(o).i32(12).op(Op.i32ShrU).i32(2).op(Op.i32Shl).load(Op.i32Load, TLB).set(e);
      fn.get(e).get(tb).op(Op.i32And).op(Op.i32Eqz).begin(Op.if).i32(-1).op(Op.return).end();
      fn.get(e).i32(~0xfff).op(Op.i32And).get(o).i32(0xfff).op(Op.i32And).op(Op.i32Or).load(Op.i32Load).set(m);
      fn.get(r[op.b]).get(m).op(Op.i32Add).set(r[op.b]);
    } else {
      fn.get(r[op.a]).set(fa).get(r[op.a]).i32(op.k).op(Op.i32Xor).get(r[op.b]).op(Op.i32Add).tee(fr).set(r[op.a]);
    }
  }
  for (let n = 0; n < 4; n++) fn.i32(0).get(r[n]).store(Op.i32Store, REGS + 4 * n);
  fn.i32(0).i32(1).store(Op.i32Store, LAZY).i32(0).i32(32).store(Op.i32Store, LAZY + 4).i32(0).get(fa).store(Op.i32Store, LAZY + 8)
    .i32(0).get(r[0]).store(Op.i32Store, LAZY + 12).i32(0).get(fr).store(Op.i32Store, LAZY + 16).i32(0).i32(2261).store(Op.i32Store, LAZY + 20);
  fn.i32(GUEST_INSNS).end();
}

/** dispatch(): enters regions in trace order from POS until LEFT is used or ATT is set; returns entries made. */
function wasmDispatch(fn: FunctionBody, regionType: number): void {
  const [pos, left, d, n] = [fn.local(), fn.local(), fn.local(), fn.local()];
  fn.i32(0).load(Op.i32Load, POS).set(pos).i32(0).load(Op.i32Load, LEFT).set(left);
  fn.begin(Op.block).begin(Op.loop);
  fn.i32(0).load(Op.i32Load, ATT).brIf(1);
  fn.get(pos).i32(2).op(Op.i32Shl).load(Op.i32Load, TRACE).callIndirect(regionType).set(d);
  fn.get(n).i32(1).op(Op.i32Add).set(n);
  fn.get(pos).i32(1).op(Op.i32Add).set(pos);
  fn.get(pos).i32(L).op(Op.i32GeU).begin(Op.if).i32(0).set(pos).end();
  fn.get(left).get(d).op(Op.i32Sub).tee(left).i32(0).op(Op.i32GtS).brIf(0);
  fn.end().end();
  fn.i32(0).get(pos).store(Op.i32Store, POS).i32(0).get(left).store(Op.i32Store, LEFT).get(n).end();
}

function wasmModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const regionType = m.type([], [I32]);
  m.importMemory('m', 'mem', PAGES, true);
  const regions = Array.from({ length: N }, (_, i) => {
    const fn = m.addFunction(regionType);
    wasmRegion(fn, i);
    m.export(`r${i}`, m.indexOf(fn));
    return m.indexOf(fn);
  });
  const dispatch = m.addFunction(regionType);
  wasmDispatch(dispatch, regionType);
  m.export('dispatch', m.indexOf(dispatch));
  m.setTable(regions);
  return m.encode();
}

/** The same regions one module each (as the back end compiles them), and a dispatch module over a table of them. */
function separateModules(memory: WebAssembly.Memory): () => number {
  const table = new WebAssembly.Table({ element: 'anyfunc', initial: N });
  for (let i = 0; i < N; i++) {
    const m = new ModuleBuilder();
    const regionType = m.type([], [I32]);
    m.importMemory('m', 'mem', PAGES, true);
    const fn = m.addFunction(regionType);
    wasmRegion(fn, i);
    m.export('r', m.indexOf(fn));
    const inst = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), { m: { mem: memory } });
    table.set(i, inst.exports.r as () => number);
  }
  const m = new ModuleBuilder();
  const regionType = m.type([], [I32]);
  m.importTable('m', 'regions', N);
  m.importMemory('m', 'mem', PAGES, true);
  const dispatch = m.addFunction(regionType);
  wasmDispatch(dispatch, regionType);
  m.export('dispatch', m.indexOf(dispatch));
  const inst = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), { m: { mem: memory, regions: table } });
  return inst.exports.dispatch as () => number;
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
  const which = (process.env.V ?? 'js,jswasm,wasm,wasmsep').split(',');
  const inst = new WebAssembly.Instance(new WebAssembly.Module(wasmModule()), { m: { mem: memory } });
  for (const w of which) {
    if (w === 'js') {
      const blocks = Array.from({ length: N }, (_, i) => ({ eip: i, valid: true, fn: new Function('i32', jsRegion(i))(i32) as Block['fn'] }));
      jsLoop('js', blocks, i32);
    } else if (w === 'jswasm') {
      const blocks = Array.from({ length: N }, (_, i) => ({ eip: i, valid: true, fn: inst.exports[`r${i}`] as Block['fn'] }));
      jsLoop('jswasm', blocks, i32);
    } else {
      const dispatch = w === 'wasmsep' ? separateModules(memory) : inst.exports.dispatch as () => number;
      const times: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const t0 = performance.now();
        i32[POS >> 2] = 0;
        i32[LEFT >> 2] = ENTRIES * GUEST_INSNS;
        if (dispatch() !== ENTRIES) throw new Error('dispatch stopped early');
        times.push(performance.now() - t0);
      }
      report(w, times);
    }
  }
}
main();
