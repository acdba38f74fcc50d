/**
 * A WebAssembly binary encoder for generated code: module sections, types,
 * imports of one shared memory and of host functions, a function table,
 * exports, and function bodies written instruction by instruction. Only what
 * the code generator uses (i32 and f64 values, structured control, loads and
 * stores at constant or computed addresses, direct and indirect calls); the
 * names follow the WebAssembly core specification's instruction names.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
export const V128 = 0x7b;
/** The empty block type. */
export const VOID = 0x40;
export type ValueType = typeof I32 | typeof I64 | typeof F64 | typeof V128;

/** Opcodes (WebAssembly core specification, 5.4 Instructions). */
export const Op = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, brIf: 0x0d, brTable: 0x0e, return: 0x0f, call: 0x10, callIndirect: 0x11,
  drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, f64Load: 0x2b, i32Load8S: 0x2c, i32Load8U: 0x2d, i32Load16S: 0x2e, i32Load16U: 0x2f,
  i32Store: 0x36, f64Store: 0x39, i32Store8: 0x3a, i32Store16: 0x3b,
  i32Const: 0x41, f64Const: 0x44,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  i32Clz: 0x67, i32Ctz: 0x68, i32Popcnt: 0x69,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivS: 0x6d, i32DivU: 0x6e, i32RemS: 0x6f, i32RemU: 0x70,
  i32And: 0x71, i32Or: 0x72, i32Xor: 0x73, i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76, i32Rotl: 0x77, i32Rotr: 0x78,
  i64Ne: 0x52, i64Mul: 0x7e, i64DivU: 0x80, i64RemU: 0x82, i64Or: 0x84, i64Shl: 0x86, i64ShrU: 0x88,
  f64Add: 0xa0, i32WrapI64: 0xa7, i64ExtendI32S: 0xac, i64ExtendI32U: 0xad, f64ConvertI32S: 0xb7, f64ConvertI32U: 0xb8,
  i32Extend8S: 0xc0, i32Extend16S: 0xc1,
} as const;

/** SIMD instructions (the 0xFD prefix, then the opcode as an unsigned LEB128: specification 5.4.8). */
export const Simd = {
  v128Load: 0x00, v128Store: 0x0b, i8x16Shuffle: 0x0d,
  i8x16Eq: 0x23, v128Xor: 0x51, i8x16Bitmask: 0x64,
} as const;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`not an unsigned 32-bit integer: ${n}`);
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(n: number): number[] {
  n |= 0;
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function name(s: string): number[] {
  const bytes = new TextEncoder().encode(s);
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A function type: parameters and results. */
export interface FuncType {
  params: readonly ValueType[];
  results: readonly ValueType[];
}

/**
 * An instruction stream under construction, written through the methods
 * below (which return `this` to chain) or as raw bytes: a function's body,
 * or a piece of one written apart and spliced in with `op(...code)`.
 */
export class Code {
  readonly code: number[] = [];

  op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  i32(n: number): this {
    return this.op(Op.i32Const, ...sleb(n));
  }

  get(l: number): this {
    return this.op(Op.localGet, ...uleb(l));
  }

  set(l: number): this {
    return this.op(Op.localSet, ...uleb(l));
  }

  tee(l: number): this {
    return this.op(Op.localTee, ...uleb(l));
  }

  /** A load of `opcode` at the address on the stack plus `offset` (alignment hint: natural). */
  load(opcode: number, offset = 0): this {
    return this.op(opcode, alignOf(opcode), ...uleb(offset));
  }

  /** A store of `opcode`: address, then value on the stack; at the address plus `offset`. */
  store(opcode: number, offset = 0): this {
    return this.op(opcode, alignOf(opcode), ...uleb(offset));
  }

  /** A structured instruction's opening (block, loop, if), with no result or one of `type`. */
  begin(opcode: typeof Op.block | typeof Op.loop | typeof Op.if, type: ValueType | typeof VOID = VOID): this {
    return this.op(opcode, type);
  }

  end(): this {
    return this.op(Op.end);
  }

  br(depth: number): this {
    return this.op(Op.br, ...uleb(depth));
  }

  brIf(depth: number): this {
    return this.op(Op.brIf, ...uleb(depth));
  }

  brTable(depths: readonly number[], otherwise: number): this {
    return this.op(Op.brTable, ...uleb(depths.length), ...depths.flatMap((d) => uleb(d)), ...uleb(otherwise));
  }

  call(func: number): this {
    return this.op(Op.call, ...uleb(func));
  }

  callIndirect(type: number, table = 0): this {
    return this.op(Op.callIndirect, ...uleb(type), ...uleb(table));
  }

  /** memory.copy (bulk memory, 0xFC 10): destination, source and length on the stack; overlapping ranges as memmove. */
  memoryCopy(): this {
    return this.op(0xfc, 10, 0, 0);
  }

  /** memory.fill (0xFC 11): destination, byte value and length on the stack. */
  memoryFill(): this {
    return this.op(0xfc, 11, 0);
  }

  /** A SIMD instruction without immediates (Simd). */
  simd(opcode: number): this {
    return this.op(0xfd, ...uleb(opcode));
  }

  /** v128.load / v128.store at the address on the stack plus `offset` (alignment hint 1 byte: any address). */
  v128(opcode: typeof Simd.v128Load | typeof Simd.v128Store, offset = 0): this {
    return this.op(0xfd, ...uleb(opcode), 0, ...uleb(offset));
  }

  /** i8x16.shuffle of the two vectors on the stack: result byte k is byte lanes[k] of their 32 bytes, the first's first. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) throw new RangeError('i8x16.shuffle takes 16 lanes of 0-31');
    return this.op(0xfd, ...uleb(Simd.i8x16Shuffle), ...lanes);
  }
}

/** A function body: its locals, numbered after the parameters, and its code, which must end with `end`. */
export class FunctionBody extends Code {
  readonly type: number;
  private readonly paramCount: number;
  private readonly localTypes: ValueType[] = [];

  constructor(type: number, paramCount: number) {
    super();
    this.type = type;
    this.paramCount = paramCount;
  }

  /** A new local of `type`; its index. */
  local(type: ValueType = I32): number {
    this.localTypes.push(type);
    return this.paramCount + this.localTypes.length - 1;
  }

  /** The body's encoding: locals (grouped by runs of one type) and code, which must end with `end`. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]]);
      i = j;
    }
    const body = [...vec(groups), ...this.code];
    return [...uleb(body.length), ...body];
  }
}

/** log2 of a memory instruction's natural alignment. */
function alignOf(opcode: number): number {
  switch (opcode) {
    case Op.i32Load8S: case Op.i32Load8U: case Op.i32Store8: return 0;
    case Op.i32Load16S: case Op.i32Load16U: case Op.i32Store16: return 1;
    case Op.f64Load: case Op.f64Store: return 3;
    default: return 2;
  }
}

/**
 * A module: types, imports (functions first, then one memory), functions,
 * one table of its functions for call_indirect, exports. Function indices
 * count the imported functions first, as in WebAssembly.
 */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly imports: { module: string; field: string; type: number }[] = [];
  private memory: { module: string; field: string; pages: number; shared: boolean } | null = null;
  private importedTable: { module: string; field: string; min: number } | null = null;
  private readonly bodies: FunctionBody[] = [];
  private readonly exports: { field: string; func: number }[] = [];
  private readonly functionNames: { func: number; s: string }[] = [];
  private table: number[] | null = null;

  /** The index of a function type, added if new. */
  type(params: readonly ValueType[], results: readonly ValueType[]): number {
    const i = this.types.findIndex((t) => same(t.params, params) && same(t.results, results));
    if (i >= 0) return i;
    this.types.push({ params, results });
    return this.types.length - 1;
  }

  /** Imports a host function of type `type`; its function index (imports must come before any function is added). */
  importFunction(module: string, field: string, type: number): number {
    if (this.bodies.length > 0) throw new Error('functions are imported before any is defined');
    this.imports.push({ module, field, type });
    return this.imports.length - 1;
  }

  /** Imports the memory (`pages` of 64 KiB, at least; shared memories have the same maximum). */
  importMemory(module: string, field: string, pages: number, shared: boolean): void {
    this.memory = { module, field, pages, shared };
  }

  /** Imports a table of functions (at least `min` long) as table 0, for call_indirect. */
  importTable(module: string, field: string, min: number): void {
    this.importedTable = { module, field, min };
  }

  /** A new function of type `type`; write its code, ending with `end`. Its index is `indexOf(body)`. */
  addFunction(type: number): FunctionBody {
    const body = new FunctionBody(type, this.types[type].params.length);
    this.bodies.push(body);
    return body;
  }

  indexOf(body: FunctionBody): number {
    const i = this.bodies.indexOf(body);
    if (i < 0) throw new Error('not a function of this module');
    return this.imports.length + i;
  }

  export(field: string, func: number): void {
    this.exports.push({ field, func });
  }

  /** Names function `func` in the module's name section (what profilers and stack traces show for it). */
  nameFunction(func: number, s: string): void {
    this.functionNames.push({ func, s });
  }

  /** A table holding these functions at indices 0.. (for call_indirect). */
  setTable(funcs: readonly number[]): void {
    this.table = [...funcs];
  }

  encode(): Uint8Array<ArrayBuffer> {
    const importEntries = this.imports.map((im) => [...name(im.module), ...name(im.field), 0x00, ...uleb(im.type)]);
    if (this.importedTable !== null) {
      const t = this.importedTable;
      importEntries.push([...name(t.module), ...name(t.field), 0x01, 0x70, 0x00, ...uleb(t.min)]);
    }
    if (this.memory !== null) {
      const m = this.memory;
      const limits = m.shared ? [0x03, ...uleb(m.pages), ...uleb(m.pages)] : [0x00, ...uleb(m.pages)];
      importEntries.push([...name(m.module), ...name(m.field), 0x02, ...limits]);
    }
    const bytes = [
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec(this.types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]))),
      ...section(2, vec(importEntries)),
      ...section(3, vec(this.bodies.map((b) => uleb(b.type)))),
      ...(this.table === null ? [] : section(4, vec([[0x70, 0x00, ...uleb(this.table.length)]]))),
      ...section(7, vec(this.exports.map((e) => [...name(e.field), 0x00, ...uleb(e.func)]))),
      ...(this.table === null ? [] : section(9, vec([[0x00, Op.i32Const, 0x00, Op.end, ...vec(this.table.map((f) => uleb(f)))]]))),
      ...section(10, vec(this.bodies.map((b) => b.encode()))),
      ...(this.functionNames.length === 0 ? [] : section(0, [
        ...name('name'), ...section(1, vec(this.functionNames.map((f) => [...uleb(f.func), ...name(f.s)]))),
      ])),
    ];
    return Uint8Array.from(bytes);
  }
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
