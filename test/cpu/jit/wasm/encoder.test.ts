import { describe, expect, it } from 'vitest';
import { I32, ModuleBuilder, Op, Simd, sleb, uleb } from '../../../../core/cpu/jit/wasm/encoder.ts';
import { sharedBufferOf, sharedWasmMemory } from '../../../../core/memory/processorMemory.ts';

describe('WebAssembly encoder', () => {
  it('encodes LEB128 as the specification does', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffff_ffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(sleb(0)).toEqual([0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(0x7fff_ffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x07]);
    expect(sleb(-0x8000_0000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it('encodes the SIMD instructions the SSE forms use: v128 loads and stores, shuffle, byte compare, xor, bitmask', () => {
    const memory = sharedWasmMemory(65536);
    const u8 = new Uint8Array(sharedBufferOf(memory));
    const m = new ModuleBuilder();
    m.importMemory('env', 'memory', 1, true);
    // f(): bytes 32.. = shuffle(bytes 0..15, bytes 16..31) with lanes 31, 30, .. 16; bytes 48.. = eq(that, bytes 0..) ^ bytes 0..;
    // returns the bitmask of bytes 32..
    const f = m.addFunction(m.type([], [I32]));
    f.i32(32).i32(0).v128(Simd.v128Load).i32(0).v128(Simd.v128Load, 16).shuffle(Array.from({ length: 16 }, (_, k) => 31 - k)).v128(Simd.v128Store);
    f.i32(48).i32(32).v128(Simd.v128Load).i32(0).v128(Simd.v128Load).simd(Simd.i8x16Eq).i32(0).v128(Simd.v128Load).simd(Simd.v128Xor).v128(Simd.v128Store);
    f.i32(32).v128(Simd.v128Load).simd(Simd.i8x16Bitmask).end();
    m.export('f', m.indexOf(f));
    for (let k = 0; k < 32; k++) u8[k] = k < 16 ? k * 17 : 255 - (k - 16) * 16;
    u8[16 + 15] = 0; // byte 0 of the result, equal to byte 0 of the first vector
    const run = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), { env: { memory } }).exports.f as () => number;
    const top = Array.from({ length: 16 }, (_, k) => u8[31 - k]);
    expect(run()).toBe(top.reduce((a, b, k) => a | ((b >> 7) << k), 0));
    expect([...u8.subarray(32, 48)]).toEqual(top);
    expect([...u8.subarray(48, 64)]).toEqual(Array.from({ length: 16 }, (_, k) => ((top[k] === u8[k] ? 0xff : 0) ^ u8[k])));
    expect(() => m.addFunction(m.type([], [])).shuffle([1, 2])).toThrow(RangeError);
  });

  it('names functions in a name section that the engine reads (stack traces show the name)', () => {
    const m = new ModuleBuilder();
    const nullary = m.type([], [I32]);
    const f = m.addFunction(nullary);
    f.op(Op.unreachable).end();
    m.export('f', m.indexOf(f));
    m.nameFunction(m.indexOf(f), 'region_8049038');
    const module = new WebAssembly.Module(m.encode());
    expect(WebAssembly.Module.customSections(module, 'name')).toHaveLength(1);
    const run = new WebAssembly.Instance(module).exports.f as () => number;
    expect(() => run()).toThrow(WebAssembly.RuntimeError);
    try { run(); } catch (e) { expect(String((e as Error).stack)).toContain('region_8049038'); }
  });

  it('builds a module over a shared memory whose functions call the host and each other through the table', () => {
    const memory = sharedWasmMemory(65536);
    const i32 = new Int32Array(sharedBufferOf(memory));
    const m = new ModuleBuilder();
    const unary = m.type([I32], [I32]);
    const seen: number[] = [];
    const host = m.importFunction('env', 'host', unary);
    m.importMemory('env', 'memory', 1, true);

    // twice(x): x * 2, and stores it at byte 16
    const twice = m.addFunction(unary);
    const t = twice.local();
    twice.get(0).i32(2).op(Op.i32Mul).set(t).i32(0).get(t).store(Op.i32Store, 16).get(t).end();
    // viaHost(x): host(x + 1)
    const viaHost = m.addFunction(unary);
    viaHost.get(0).i32(1).op(Op.i32Add).call(host).end();
    // dispatch(i): table[i](word at byte 4), in a loop counting down byte 8's word, summing the results
    const dispatch = m.addFunction(unary);
    const sum = dispatch.local(), n = dispatch.local();
    dispatch.i32(0).load(Op.i32Load, 8).set(n)
      .begin(Op.block).begin(Op.loop)
      .get(n).op(Op.i32Eqz).brIf(1)
      .get(sum).i32(0).load(Op.i32Load, 4).get(0).callIndirect(unary).op(Op.i32Add).set(sum)
      .get(n).i32(1).op(Op.i32Sub).set(n)
      .br(0).end().end()
      .get(sum).end();
    m.setTable([m.indexOf(twice), m.indexOf(viaHost)]);
    m.export('dispatch', m.indexOf(dispatch));
    m.export('twice', m.indexOf(twice));

    const bytes = m.encode();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      env: { memory, host: (x: number) => { seen.push(x); return x * 10; } },
    });
    const exports = instance.exports as { dispatch(i: number): number; twice(x: number): number };
    i32[1] = 21;
    i32[2] = 3;
    expect(exports.dispatch(0)).toBe(126);
    expect(i32[4]).toBe(42);
    expect(exports.dispatch(1)).toBe(660);
    expect(seen).toEqual([22, 22, 22]);
    expect(exports.twice(-5)).toBe(-10);
    expect(i32[4]).toBe(-10);
  });

  it('refuses an index outside the module', () => {
    const m = new ModuleBuilder();
    const other = new ModuleBuilder();
    const f = other.addFunction(other.type([], []));
    expect(() => m.indexOf(f)).toThrow(/not a function of this module/);
  });
});
