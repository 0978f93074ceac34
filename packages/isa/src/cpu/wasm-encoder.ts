// A small WebAssembly binary writer for the wasm engine (wasmgen.ts): LEB128 numbers, the
// opcodes it uses, structured-control labels by name, and a module with imported functions, one
// imported memory, internal functions and one export. No dependency; the format is the
// WebAssembly core specification 1.0 (binary format, chapter 5).

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** Block type "no result". */
const EMPTY = 0x40;

/** The opcodes used by the generator (core spec 5.4). */
export const W = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d,
  br_table: 0x0e, return: 0x0f, call: 0x10, call_indirect: 0x11, drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i64_load: 0x29, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70,
  i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82,
  i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
} as const;

/** Unsigned LEB128. */
export function uleb(out: number[], v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uleb: ${v} is not a u32`);
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

/** Signed LEB128 of an int32. */
export function sleb32(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/** Signed LEB128 of the int64 (lo, hi) given as int32 halves. */
export function sleb64(out: number[], lo: number, hi: number): void {
  lo >>>= 0; hi |= 0;
  for (;;) {
    const b = lo & 0x7f;
    // arithmetic shift of the 64-bit value by 7
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>= 7;
    const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
    if (done) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/**
 * A function body under construction: bytes plus a stack of named structured-control labels, so
 * that `br('name')` computes the relative depth.
 */
export class FnBody {
  readonly code: number[] = [];
  private readonly labels: string[] = [];

  op(...bytes: number[]): this { for (const b of bytes) this.code.push(b); return this; }
  i32(v: number): this { this.code.push(W.i32_const); sleb32(this.code, v); return this; }
  i64(lo: number, hi: number): this { this.code.push(W.i64_const); sleb64(this.code, lo, hi); return this; }
  get(l: number): this { this.code.push(W.local_get); uleb(this.code, l); return this; }
  set(l: number): this { this.code.push(W.local_set); uleb(this.code, l); return this; }
  tee(l: number): this { this.code.push(W.local_tee); uleb(this.code, l); return this; }
  call(f: number): this { this.code.push(W.call); uleb(this.code, f); return this; }
  /** call_indirect through table 0 with the type at index `typeIndex` of the module. */
  callIndirect(typeIndex: number): this { this.code.push(W.call_indirect); uleb(this.code, typeIndex); this.code.push(0x00); return this; }
  /** A load or store with natural-or-smaller alignment hint `align` (log2) and constant offset. */
  mem(opcode: number, align: number, offset: number): this {
    this.code.push(opcode); uleb(this.code, align); uleb(this.code, offset); return this;
  }
  block(name: string): this { this.labels.push(name); this.code.push(W.block, EMPTY); return this; }
  loop(name: string): this { this.labels.push(name); this.code.push(W.loop, EMPTY); return this; }
  if_(name = ''): this { this.labels.push(name); this.code.push(W.if, EMPTY); return this; }
  else_(): this { this.code.push(W.else); return this; }
  end(): this {
    if (this.labels.length === 0) throw new Error('wasm encoder: end without an open block');
    this.labels.pop(); this.code.push(W.end); return this;
  }
  private depth(name: string): number {
    const i = this.labels.lastIndexOf(name);
    if (i < 0) throw new Error(`wasm encoder: no enclosing label '${name}'`);
    return this.labels.length - 1 - i;
  }
  br(name: string): this { this.code.push(W.br); uleb(this.code, this.depth(name)); return this; }
  brIf(name: string): this { this.code.push(W.br_if); uleb(this.code, this.depth(name)); return this; }
  brTable(names: string[], dflt: string): this {
    this.code.push(W.br_table); uleb(this.code, names.length);
    for (const n of names) uleb(this.code, this.depth(n));
    uleb(this.code, this.depth(dflt));
    return this;
  }
  get open(): number { return this.labels.length; }
}

export interface FuncType { params: number[]; results: number[] }
export interface ModuleImport { module: string; name: string; type: FuncType }
export interface ModuleFunc { type: FuncType; locals: [count: number, type: number][]; body: FnBody }

function section(out: number[], id: number, content: number[]): void {
  out.push(id); uleb(out, content.length);
  for (const b of content) out.push(b);
}

function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/**
 * A module: `imports` (functions, in function-index order 0..), then the imported memory
 * `mem.module`.`mem.name` (minimum `minPages` pages), optionally an imported funcref table, then
 * `funcs` (indices after the imports); exports funcs[0] as `exportName`. Types are numbered in
 * order of first use: imports first, then funcs.
 */
export function encodeModule(imports: ModuleImport[], mem: { module: string; name: string; minPages: number },
  funcs: ModuleFunc[], exportName: string, table?: { module: string; name: string }): Uint8Array {
  const types: FuncType[] = [];
  const typeIndex = (t: FuncType): number => {
    const i = types.findIndex((u) => u.params.join() === t.params.join() && u.results.join() === t.results.join());
    if (i >= 0) return i;
    types.push(t);
    return types.length - 1;
  };
  const importTypes = imports.map((im) => typeIndex(im.type));
  const funcTypes = funcs.map((f) => typeIndex(f.type));

  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const ts: number[] = [];
  uleb(ts, types.length);
  for (const t of types) {
    ts.push(0x60);
    uleb(ts, t.params.length); for (const p of t.params) ts.push(p);
    uleb(ts, t.results.length); for (const r of t.results) ts.push(r);
  }
  section(out, 1, ts);

  const is: number[] = [];
  uleb(is, imports.length + 1 + (table ? 1 : 0));
  imports.forEach((im, i) => { name(is, im.module); name(is, im.name); is.push(0x00); uleb(is, importTypes[i]!); });
  name(is, mem.module); name(is, mem.name); is.push(0x02, 0x00); uleb(is, mem.minPages);
  if (table) { name(is, table.module); name(is, table.name); is.push(0x01, 0x70, 0x00, 0x00); }
  section(out, 2, is);

  const fs: number[] = [];
  uleb(fs, funcs.length);
  for (const t of funcTypes) uleb(fs, t);
  section(out, 3, fs);

  const es: number[] = [];
  uleb(es, 1); name(es, exportName); es.push(0x00); uleb(es, imports.length);
  section(out, 7, es);

  const cs: number[] = [];
  uleb(cs, funcs.length);
  for (const f of funcs) {
    if (f.body.open !== 0) throw new Error(`wasm encoder: ${f.body.open} block(s) left open`);
    const b: number[] = [];
    uleb(b, f.locals.length);
    for (const [n, t] of f.locals) { uleb(b, n); b.push(t); }
    for (const x of f.body.code) b.push(x);
    b.push(W.end);
    uleb(cs, b.length);
    for (const x of b) cs.push(x);
  }
  section(out, 10, cs);
  return Uint8Array.from(out);
}
