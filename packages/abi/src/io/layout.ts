/**
 * Struct layouts of the io/ protocols as data: the C struct's name, `sizeof`, `_Alignof` and, for
 * every field, its offset and size in bytes. Field keys are Xen's C member designators
 * (`'u.gso.size'` for a union member), so `offsetof(struct <name>, <key>)` in C is `fields[key].offset`
 * here; tools/test/abi-headers.test.ts compiles exactly that against guests/xenlib and Xen's own
 * headers. Arrays give `count` (elements) and `size` (all of them).
 */
export interface FieldLayout {
  readonly offset: number;
  readonly size: number;
  /** Element count of an array member. */
  readonly count?: number;
}

export interface StructLayout<F extends string = string> {
  /** The C name: `struct <name>` (or `union <name>` when `union` is set). */
  readonly name: string;
  readonly union?: boolean;
  readonly sizeof: number;
  readonly align: number;
  readonly fields: { readonly [K in F]: FieldLayout };
}

type FieldSpec = readonly [offset: number, size: number] | readonly [offset: number, size: number, count: number];

/** Builds a layout and checks it is self-consistent (fields inside the struct, size a multiple of align). */
export function defineStruct<const S extends Record<string, FieldSpec>>(
  name: string,
  sizeof: number,
  align: number,
  spec: S,
  opts: { union?: boolean } = {},
): StructLayout<Extract<keyof S, string>> {
  const fields = {} as Record<string, FieldLayout>;
  for (const [k, v] of Object.entries(spec)) {
    const [offset, size, count] = v;
    if (offset < 0 || offset + size > sizeof) throw new Error(`${name}.${k}: [${offset}, ${offset + size}) outside sizeof ${sizeof}`);
    fields[k] = count === undefined ? { offset, size } : { offset, size, count };
  }
  if (sizeof % align !== 0) throw new Error(`${name}: sizeof ${sizeof} not a multiple of align ${align}`);
  return Object.freeze({ name, ...(opts.union ? { union: true } : {}), sizeof, align, fields: Object.freeze(fields) }) as StructLayout<Extract<keyof S, string>>;
}

/**
 * Reads a struct out of guest memory into a caller-owned object and writes one back, with Xen's
 * field names. `read` fills `out` (allocation-free: keep one `create()`d object per ring and reuse
 * it), so a backend copies a request out of the shared page in one call and validates the copy,
 * never the page the frontend can still change (Linux blkback's RING_COPY_REQUEST).
 */
export interface StructCodec<T> {
  readonly layout: StructLayout;
  create(): T;
  read(view: DataView, offset: number, out: T): T;
  write(view: DataView, offset: number, value: T): void;
}

/** A u64 read as a number: exact below 2^53; above, still >= 2^53 (so range checks still fail). */
export function getU64(view: DataView, offset: number): number {
  return view.getUint32(offset + 4, true) * 0x1_0000_0000 + view.getUint32(offset, true);
}
/** Writes a non-negative integer (< 2^64, exact below 2^53) as a little-endian u64. */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000) >>> 0, true);
}
