/**
 * Where a compiled region's time goes, on the shell loop's hottest region
 * (busybox's strlen: `inc eax; cmp byte [eax], 0; jne`, a member looping to
 * itself; 11% of the warm loop's compiled instructions, stop 29). The same
 * loop runs as:
 *   real      the compiler's region on a real Cpu (diffRig.ts's world);
 *   js        a hand-made JS function of the same shape whose CPU state
 *             (registers, lazy flags, budget, attention, flags, interrupt
 *             test, member validity, clock, current member) lives in typed
 *             arrays over one linear memory instead of the Cpu and Block
 *             objects;
 *   wasm      the same function as WebAssembly over that memory (a minimal
 *             emitter below), i.e. what a WebAssembly code generator with
 *             v86's state layout would run;
 *   variants  the real region's source with one part of the tail cut or
 *             moved into typed arrays at a time (V=name,name to choose; not
 *             all are correct code: they bound what each part costs);
 *   js JSV=   the js function with variations: sab (the memory a
 *             SharedArrayBuffer, as the guest's), sep (registers, TLB and
 *             state through views of their own, as the Cpu's arrays),
 *             slowcall (the TLB miss calls a function, seen by V8 first).
 * Stop 30 found what the js model had that the compiler's code lacked: its
 * arrays are pinned (pinnedArrays.ts says why), and its tail reads no object.
 * MIPS per round of 20 M instructions (the first round includes V8's warm-up):
 *   npx esbuild test/cpu/jit/measure/stateLayoutProbe.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.probe.mjs && for w in real js wasm variants; do node bench/.probe.mjs $w; done
 */
import { makeCpu, programSource } from '../diffRig.ts';
import { assemble } from '../../../../scripts/nasm.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';

const S = 60000, REPS = 16000; // 2.9 G instructions: every variant in one run (5 x 8 rounds of 20 M)
const body = `
        mov edi, 0x100000
        mov ecx, ${S}
        mov al, 0x41
        rep stosb
        mov byte [edi], 0
        mov ebp, ${REPS}
.outer: mov eax, 0x100000-1
.s:     inc eax
        cmp byte [eax], 0
        jne .s
        dec ebp
        jnz .outer`;

function now(): number { return performance.now(); }

/** Runs `rounds` rounds of 20 M instructions on `cpu`; prints MIPS per round. */
function cpuRounds(name: string, cpu: Cpu, rounds: number): void {
  const mips: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const i0 = cpu.clock.retired, t0 = now();
    cpu.run(20_000_000);
    mips.push((cpu.clock.retired - i0) / (now() - t0) / 1000);
  }
  console.log(`${name} MIPS per round`, mips.map((x) => x.toFixed(0)).join(' '));
}

function realJit(): void {
  cpuRounds('real jit', makeCpu(assemble(programSource(body)), { hotThreshold: 50 }, true), 12);
}

// ---- linear memory layout (bytes) ----
// Guest RAM from 0, the read TLB (one i32 per page, as Cpu.tlbRead) from 4 MiB, the state slots from 8 MiB.
const TLB = 4 << 20, ST = 8 << 20;
const REGS = ST, LOP = ST + 32, LSIZE = ST + 36, LA = ST + 40, LB = ST + 44, LRES = ST + 48, LEFT = ST + 52, ATT = ST + 56,
  EXITB = ST + 60, FLAGS = ST + 64, IMASK = ST + 68, ILINE = ST + 72, POLL = ST + 76, EIP = ST + 80, JB = ST + 84, TB = ST + 88,
  VALID = ST + 96, RETIRED = ST + 128;
const PAGES = ((ST + 4096) >> 16) + 1;

function setup(mem: ArrayBuffer): void {
  const u8 = new Uint8Array(mem), i32 = new Int32Array(mem);
  u8.fill(0x41, 0x100000, 0x100000 + S);
  u8[0x100000 + S] = 0;
  for (let p = 0; p < 1024; p++) i32[(TLB >> 2) + p] = (p << 12) | 2;
  i32[TB >> 2] = 2;
  i32[FLAGS >> 2] = 0x202;
  i32[IMASK >> 2] = 0x200;
  u8[VALID] = 1;
}

function jsLinear(): void {
  const jsv = (process.env.JSV ?? '').split(',');
  const mem = jsv.includes('sab') ? new SharedArrayBuffer(PAGES << 16) : new ArrayBuffer(PAGES << 16);
  setup(mem as ArrayBuffer);
  const u8 = new Uint8Array(mem), i32 = new Int32Array(mem), f64 = new Float64Array(mem);
  const tlb0 = TLB >> 2;
  // region(pc): the same shape as translate.ts's, state in i32[] slots.
  let src = `return function region(pc) {
    let r0 = i32[${REGS >> 2}], o = 0, e = 0, m = 0, fa = 0, fb = 0, fr = 0, t = 0, d = 0, g = 0, x = 0, p = 0;
    const tb = i32[${TB >> 2}];
    for (;;) {
      sw: switch (pc) {
      case 0: {
        fa = r0; fb = 1; fr = (fa + 1) | 0; r0 = fr;
        if (((e = i32[${tlb0} + ((o = r0 >>> 0) >>> 12)]) & tb) !== 0) { m = u8[(e & ~0xfff) | (o & 0xfff)]; } else { i32[${REGS >> 2}] = r0; return -1; }
        fa = m; fb = 0; fr = (fa - fb) | 0;
        i32[${REGS >> 2}] = r0; i32[${LOP >> 2}] = 2; i32[${LSIZE >> 2}] = 8; i32[${LA >> 2}] = fa; i32[${LB >> 2}] = fb; i32[${LRES >> 2}] = fr;
        if ((fr & 0xff) !== 0) { t = 0x100; d = 3; g = 0; break sw; }
        t = 0x200; d = 3; g = -1; break sw;
      }
      }
      if ((x = i32[${LEFT >> 2}] - d) > 0 && i32[${ATT >> 2}] === 0 && i32[${EXITB >> 2}] === 0 && ((p = i32[${FLAGS >> 2}]) & 65792) === 0
        && ((p & i32[${IMASK >> 2}]) === 0 || (i32[${ILINE >> 2}] === 0 && i32[${POLL >> 2}] === 0))) {
        if (g >= 0 && u8[${VALID} + g] === 1) { i32[${LEFT >> 2}] = x; f64[${RETIRED >> 3}] += d; i32[${JB >> 2}] = g; pc = g; continue; }
      }
      i32[${EIP >> 2}] = t; return d;
    }
  }`;
  // slowcall: the TLB miss calls a slow-path function (which fills the entry) and goes on, as translate.ts's accessor
  // call; the first access misses, so V8 has seen the call when it optimizes.
  if (jsv.includes('slowcall')) {
    src = src.replace(`{ i32[${REGS >> 2}] = r0; return -1; }`, `{ i32[${REGS >> 2}] = r0; m = slow(o); }`);
    i32[tlb0 + (0x100000 >> 12)] = 0;
  }
  // sep: registers, TLB and state slots through views of their own (as the Cpu's arrays), not one i32.
  if (jsv.includes('sep')) src = src.replaceAll(`i32[${REGS >> 2}]`, 'R[0]').replace(`i32[${tlb0} + `, 'T[').replaceAll(/i32\[(\d+)\]/g, (_m, n: string) => `S[${Number(n) - (ST >> 2)}]`);
  const slow = (o: number): number => { i32[tlb0 + (o >>> 12)] = (o & ~0xfff) | 2; return u8[o]; };
  const region = new Function('u8', 'i32', 'f64', 'slow', 'R', 'T', 'S', src)(u8, i32, f64, slow, i32.subarray(REGS >> 2, (REGS >> 2) + 8), i32.subarray(tlb0, tlb0 + (1 << 20)), i32.subarray(ST >> 2, (ST >> 2) + 1024)) as (pc: number) => number;
  if (process.env.DUMP) console.log(src);
  measure('js linear', region, i32, f64);
}

function measure(name: string, region: (pc: number) => number, i32: Int32Array, f64: Float64Array): void {
  const rounds: number[] = [];
  for (let r = 0; r < 12; r++) {
    const i0 = f64[RETIRED >> 3], t0 = now();
    let left = 20_000_000;
    while (left > 0) {
      i32[REGS >> 2] = 0x100000 - 1;
      i32[LEFT >> 2] = left;
      const d = region(0);
      f64[RETIRED >> 3] += d;
      left = i32[LEFT >> 2] - d;
    }
    rounds.push((f64[RETIRED >> 3] - i0) / (now() - t0) / 1000);
  }
  console.log(`${name} MIPS per round`, rounds.map((x) => x.toFixed(0)).join(' '));
}

// ---- a minimal wasm emitter ----
const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n !== 0) b |= 0x80; o.push(b); } while (n !== 0); return o; };
const sleb = (n: number): number[] => { const o: number[] = []; for (;;) { const b = n & 0x7f; n >>= 7; if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { o.push(b); return o; } o.push(b | 0x80); } };
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const str = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const I32 = 0x7f;
const op = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, brTable: 0x0e, ret: 0x0f, get: 0x20, set: 0x21,
  load: 0x28, load8u: 0x2d, f64load: 0x2b, store: 0x36, f64store: 0x39, const: 0x41, eqz: 0x45, eq: 0x46,
  gtS: 0x4a, geS: 0x4e, add: 0x6a, sub: 0x6b, and: 0x71, or: 0x72, shl: 0x74, shrU: 0x76, f64add: 0xa0, f64fromI32: 0xb7,
};
const c = (n: number) => [op.const, ...sleb(n | 0)];
const ld = (addr: number) => [...c(0), op.load, 2, ...uleb(addr)];          // i32 at a fixed address
const st = (addr: number, val: number[]) => [...c(0), ...val, op.store, 2, ...uleb(addr)];

function wasmModule(): Uint8Array<ArrayBuffer> {
  // locals: 0 pc (param), 1 r0, 2 o, 3 e, 4 m, 5 fa, 6 fb, 7 fr, 8 t, 9 d, 10 g, 11 x, 12 p, 13 tb
  const [PC, R0, O, E, M, FA, FB, FR, T, D, G, X, P, TBL] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const get = (l: number) => [op.get, l], set = (l: number, v: number[]) => [...v, op.set, l];
  const member0 = [
    ...set(FA, get(R0)), ...set(FB, c(1)), ...set(FR, [...get(FA), ...c(1), op.add]), ...set(R0, get(FR)),
    // e = tlb[(o = r0) >>> 12]
    ...set(O, get(R0)),
    ...set(E, [...get(O), ...c(12), op.shrU, ...c(2), op.shl, op.load, 2, ...uleb(TLB)]),
    ...get(E), ...get(TBL), op.and, op.eqz, op.if, 0x40, ...st(REGS, get(R0)), ...c(-1), op.ret, op.end,
    ...set(M, [...get(E), ...c(~0xfff), op.and, ...get(O), ...c(0xfff), op.and, op.or, op.load8u, 0, 0]),
    ...set(FA, get(M)), ...set(FB, c(0)), ...set(FR, [...get(FA), ...get(FB), op.sub]),
    ...st(REGS, get(R0)), ...st(LOP, c(2)), ...st(LSIZE, c(8)), ...st(LA, get(FA)), ...st(LB, get(FB)), ...st(LRES, get(FR)),
    ...get(FR), ...c(0xff), op.and, op.if, 0x40, ...set(T, c(0x100)), ...set(D, c(3)), ...set(G, c(0)), op.br, 1, op.end,
    ...set(T, c(0x200)), ...set(D, c(3)), ...set(G, c(-1)), op.br, 0,
  ];
  // loop $top { block $tail { block $sw { br_table on pc } member0 } tail }
  const tail = [
    // if ((x = left - d) > 0 && att == 0 && exitb == 0 && ((p = flags) & 65792) == 0 && ((p & imask) == 0 || (iline == 0 && poll == 0)))
    ...set(X, [...ld(LEFT), ...get(D), op.sub]),
    ...get(X), ...c(0), op.gtS,
    ...ld(ATT), op.eqz, op.and, ...ld(EXITB), op.eqz, op.and,
    ...set(P, ld(FLAGS)), ...get(P), ...c(65792), op.and, op.eqz, op.and,
    ...get(P), ...ld(IMASK), op.and, op.eqz, ...ld(ILINE), ...ld(POLL), op.or, op.eqz, op.or, op.and,
    op.if, 0x40,
    ...get(G), ...c(0), op.geS, op.if, 0x40,
    ...c(0), ...get(G), op.add, op.load8u, 0, ...uleb(VALID), ...c(1), op.eq, op.if, 0x40,
    ...st(LEFT, get(X)),
    ...c(0), ...c(0), op.f64load, 3, ...uleb(RETIRED), ...get(D), op.f64fromI32, op.f64add, op.f64store, 3, ...uleb(RETIRED),
    ...st(JB, get(G)), ...set(PC, get(G)), op.br, 3, // to $top
    op.end, op.end, op.end,
    ...st(EIP, get(T)), ...get(D), op.ret,
  ];
  const code = [
    ...set(TBL, ld(TB)), ...set(R0, ld(REGS)),
    op.loop, 0x40,
    op.block, 0x40, // $tail target (members break here)
    op.block, 0x40, // $sw
    ...get(PC), op.brTable, ...uleb(0), ...uleb(0), // br_table [] default 0 -> end of $sw (one member)
    op.end,
    ...member0,
    op.end,
    ...tail,
    op.br, 0, // unreachable in practice
    op.end,
    ...c(0), // function result (unreachable)
  ];
  const locals = [...uleb(1), ...uleb(13), I32];
  const fnBody = [...locals, ...code, op.end];
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [...uleb(1), 0x60, ...uleb(1), I32, ...uleb(1), I32]),
    ...section(2, [...uleb(1), ...str('m'), ...str('mem'), 0x02, 0x00, ...uleb(PAGES)]),
    ...section(3, [...uleb(1), ...uleb(0)]),
    ...section(7, [...uleb(1), ...str('region'), 0x00, ...uleb(0)]),
    ...section(10, [...uleb(1), ...uleb(fnBody.length), ...fnBody]),
  ];
  return Uint8Array.from(bytes);
}

function wasm(): void {
  const memory = new WebAssembly.Memory({ initial: PAGES });
  setup(memory.buffer);
  const mod = new WebAssembly.Module(wasmModule());
  const inst = new WebAssembly.Instance(mod, { m: { mem: memory } });
  const region = inst.exports.region as (pc: number) => number;
  measure('wasm', region, new Int32Array(memory.buffer), new Float64Array(memory.buffer));
}

function variants(): void {
  const cpu = makeCpu(assemble(programSource(body)), { hotThreshold: 50 }, true);
  cpu.run(5_000_000);
  const blocks = [...cpu.blocks.values()].filter((b) => b.jit !== null);
  const b = blocks.find((x) => x.insns.length === 3 && x.insns[0].opcode === 0x40)!;
  const src = b.jit!.toString();
  if (process.env.DUMP) console.log(src, blocks.length, blocks.map((x) => x.eip.toString(16)));
  const jitAny = cpu.jit as unknown as { instantiate(extra: Record<string, unknown>, fn: string): unknown };
  const checks = 'cpu.attention === false && cpu.exitBlock === false && ((p = cpu.flags) & 65792) === 0 && ((p & cpu.intrMask) === 0 || (cpu.intrLine === false && cpu.pollIntr === false))';
  // The lazy flags' six stores into cpu.lazy (flagCode.ts flagWriteback; they were a setLazy call on the Cpu's
  // fields until stop 32, when this probe's lazyArr variant found the typed array x1.08 ahead on strlen).
  const lazyStores = 'lz[0] = 2; lz[1] = 8; lz[2] = fa; lz[3] = fb; lz[4] = fr; lz[5] = 2261; ';
  // ST: attention 1, exitBlock 2, flags 3, intrMask 4, intrLine 5, pollIntr 6. The budget, the clock's count and
  // the member are the tail's locals since stop 31 (translate.ts regionTail), the lazy flags a typed array since
  // stop 32: the checks are what is left to move.
  const edits: Record<string, (s: string) => string> = {
    real: (s) => s,
    noLazy: (s) => s.replaceAll(lazyStores, ''),
    noChecks: (s) => s.replace(checks, 'true'),
    noLive: (s) => s.replace('if (LV[g] === 1)', 'if (true)'),
    // State in typed arrays (attention and the rest keep their values here, the measurement needs no more).
    checksArr: (s) => s.replace(checks, 'ST[1] === 0 && ST[2] === 0 && ((p = ST[3]) & 65792) === 0 && ((p & ST[4]) === 0 || (ST[5] === 0 && ST[6] === 0))'),
  };
  const names = (process.env.V ?? Object.keys(edits).join(',')).split(',');
  for (const name of names) {
    const fn = edits[name](src);
    if (name !== 'real' && fn === src) throw new Error(`variant ${name} changed nothing: the generated tail no longer reads as it expects`);
    if (process.env.DUMP) console.log(fn);
    const f = jitAny.instantiate({ BS: [b], IS: [b.insns], LV: b.jitLive, ST: new Int32Array(new ArrayBuffer(64)).fill(0x202, 3, 4) }, fn) as typeof b.jit;
    b.jit = f;
    cpuRounds(name.padEnd(12), cpu, 8);
  }
}

const which = process.argv[2] ?? 'all';
if (which === 'all' || which === 'real') realJit();
if (which === 'all' || which === 'js') jsLinear();
if (which === 'all' || which === 'wasm') wasm();
if (which === 'variants') variants();
