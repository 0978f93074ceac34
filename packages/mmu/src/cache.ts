// A set-associative, LRU, tagged translation cache over typed arrays: the modelled TLB, the
// nested TLB and the page-walk caches are all instances. No allocation after construction;
// replacement is true LRU by a per-entry stamp from a private counter (deterministic).

/** Entry flag: matches any ASID (a global mapping, or a cache with no ASID). */
export const F_GLOBAL = 1;
/** Entry flag: made with stage 1 on (its tag is a 48-bit VA); otherwise the tag is a GPA. */
export const F_S1ON = 2;

/** Called with the index of a valid entry about to be replaced. */
export type EvictHook = (index: number) => void;

export class AssocCache {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  private readonly setMask: number;
  readonly valid: Uint8Array;
  /** What the entry is: a page size (TLBs) or a PTE level (walk caches). */
  readonly kind: Uint8Array;
  /** The tag: address >> (shift of `kind`), an exact integer < 2^53. */
  readonly tag: Float64Array;
  readonly vmid: Uint16Array;
  readonly asid: Uint16Array;
  readonly flags: Uint8Array;
  /** Payloads: TLB a = MA of the page, b = GPA of the page; walk caches a = next table address. */
  readonly a: Float64Array;
  readonly b: Float64Array;
  /** Permission bytes (PTE bits 7:0): p1 = stage 1 leaf, p2 = stage 2 leaf. */
  readonly p1: Uint8Array;
  readonly p2: Uint8Array;
  private readonly stamp: Float64Array;
  /** Valid entries per kind, so lookups skip kinds that are absent. */
  readonly kindCount: Int32Array;
  private clock = 0;
  /** Valid entries. */
  count = 0;

  constructor(entries: number, ways: number, private readonly onEvict?: EvictHook) {
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError(`entries must be a positive integer, got ${entries}`);
    if (!Number.isInteger(ways) || ways < 1 || entries % ways !== 0) throw new RangeError(`ways (${ways}) must divide entries (${entries})`);
    const sets = entries / ways;
    if ((sets & (sets - 1)) !== 0) throw new RangeError(`entries / ways must be a power of two, got ${entries} / ${ways} = ${sets}`);
    this.entries = entries;
    this.ways = ways;
    this.sets = sets;
    this.setMask = sets - 1;
    this.valid = new Uint8Array(entries);
    this.kind = new Uint8Array(entries);
    this.tag = new Float64Array(entries);
    this.vmid = new Uint16Array(entries);
    this.asid = new Uint16Array(entries);
    this.flags = new Uint8Array(entries);
    this.a = new Float64Array(entries);
    this.b = new Float64Array(entries);
    this.p1 = new Uint8Array(entries);
    this.p2 = new Uint8Array(entries);
    this.stamp = new Float64Array(entries);
    this.kindCount = new Int32Array(8);
  }

  private setBase(kind: number, tag: number): number {
    // tag >>> 0 is tag mod 2^32 for the non-negative integers stored here.
    return (((tag >>> 0) ^ Math.imul(kind, 0x9e3779b1)) & this.setMask) * this.ways;
  }

  /**
   * Index of the valid entry with this kind and tag that matches (vmid, asid, s1on), or -1.
   * `s1on` is F_S1ON or 0; an entry with F_GLOBAL matches every ASID. Does not touch LRU.
   */
  find(kind: number, tag: number, vmid: number, asid: number, s1on: number): number {
    if (this.kindCount[kind] === 0) return -1;
    const base = this.setBase(kind, tag);
    for (let i = base, end = base + this.ways; i < end; i++) {
      if (this.valid[i] === 0 || this.tag[i] !== tag || this.kind[i] !== kind || this.vmid[i] !== vmid) continue;
      const f = this.flags[i]!;
      if ((f & F_S1ON) !== s1on) continue;
      if ((f & F_GLOBAL) !== 0 || this.asid[i] === asid) return i;
    }
    return -1;
  }

  /** Marks entry `i` most recently used. */
  touch(i: number): void {
    this.stamp[i] = ++this.clock;
  }

  /**
   * Allocates an entry for (kind, tag, vmid, asid, flags) — an invalid way of its set, else the
   * least recently used one (evicting it through the hook) — marks it used and returns its index.
   * The caller fills the payload fields.
   */
  insert(kind: number, tag: number, vmid: number, asid: number, flags: number): number {
    const base = this.setBase(kind, tag);
    let victim = -1;
    let oldest = Infinity;
    for (let i = base, end = base + this.ways; i < end; i++) {
      if (this.valid[i] === 0) { victim = i; break; }
      if (this.stamp[i]! < oldest) { oldest = this.stamp[i]!; victim = i; }
    }
    if (this.valid[victim] !== 0) {
      this.onEvict?.(victim);
      this.invalidate(victim);
    }
    this.valid[victim] = 1;
    this.kind[victim] = kind;
    this.tag[victim] = tag;
    this.vmid[victim] = vmid;
    this.asid[victim] = asid;
    this.flags[victim] = flags;
    this.kindCount[kind]!++;
    this.count++;
    this.stamp[victim] = ++this.clock;
    return victim;
  }

  /** Drops entry `i` (no hook). */
  invalidate(i: number): void {
    if (this.valid[i] === 0) return;
    this.valid[i] = 0;
    this.kindCount[this.kind[i]!]!--;
    this.count--;
  }

  /** Drops every entry (no hook); returns how many were valid. */
  clear(): number {
    const n = this.count;
    this.valid.fill(0);
    this.kindCount.fill(0);
    this.count = 0;
    return n;
  }
}
