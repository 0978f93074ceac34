/**
 * The stats tree (gem5's statistics::Group): groups mirror the simulated objects and hold named
 * stats with a unit and a description. Hot-path code bumps plain fields (`counter.value++`) or
 * keeps its own fields that a `sampled` stat reads at dump time. `dump()` returns plain JSON;
 * reading never resets: only an explicit `reset()` does.
 */

export type StatUnit = 'count' | 'cycle' | 'ns' | 'byte' | 'ratio' | 'insn' | 'event' | (string & {});

export interface StatInfo {
  /** Dotted path from the root, e.g. 'host.cpu0.isa.instructions'. */
  path: string;
  kind: 'counter' | 'sampled' | 'histogram' | 'formula';
  unit: StatUnit;
  description: string;
}

export type HistogramJson = {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  /** Upper bounds (inclusive) of the buckets; the last count is the overflow bucket (> last bound). */
  bounds: number[];
  counts: number[];
};

export type StatValueJson = number | null | HistogramJson;
export interface StatsJson {
  [name: string]: StatValueJson | StatsJson;
}

interface Stat {
  readonly kind: StatInfo['kind'];
  readonly unit: StatUnit;
  readonly description: string;
  dump(): StatValueJson;
  reset(): void;
}

/** A monotonic count. Bump `value` directly; it is a plain field. */
export class Counter implements Stat {
  readonly kind = 'counter';
  value = 0;
  constructor(
    readonly unit: StatUnit,
    readonly description: string,
  ) {}
  dump(): number {
    return this.value;
  }
  reset(): void {
    this.value = 0;
  }
}

/**
 * A count kept elsewhere (a plain field in hot-path code), read at dump time. `reset()` records the
 * current reading as a baseline, so the source field itself is never written.
 */
export class SampledCounter implements Stat {
  readonly kind = 'sampled';
  private baseline = 0;
  constructor(
    readonly unit: StatUnit,
    readonly description: string,
    private readonly read: () => number,
  ) {}
  get value(): number {
    return this.read() - this.baseline;
  }
  dump(): number {
    return this.value;
  }
  reset(): void {
    this.baseline = this.read();
  }
}

/** A distribution over fixed buckets: `bounds` are ascending inclusive upper bounds, plus an overflow bucket. */
export class Histogram implements Stat {
  readonly kind = 'histogram';
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  constructor(
    readonly unit: StatUnit,
    readonly description: string,
    readonly bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) {
      if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`histogram bounds must be strictly ascending: ${bounds.join(', ')}`);
    }
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Records `times` samples of value `v`. */
  sample(v: number, times = 1): void {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length; // first bound >= v, or the overflow bucket
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (b[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    this.counts[lo]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  dump(): HistogramJson {
    return {
      count: this.count,
      sum: this.sum,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
      bounds: [...this.bounds],
      counts: [...this.counts],
    };
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }
}

/** A derived stat evaluated at dump time (a ratio, a rate). Non-finite results dump as null. */
export class Formula implements Stat {
  readonly kind = 'formula';
  constructor(
    readonly unit: StatUnit,
    readonly description: string,
    private readonly fn: () => number,
  ) {}
  get value(): number {
    return this.fn();
  }
  dump(): number | null {
    const v = this.fn();
    return Number.isFinite(v) ? v : null;
  }
  reset(): void {}
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * A node of the stats tree. Subclass it to declare a component's stats as fields:
 * `class TlbStats extends StatGroup { hits = this.counter('hits', 'count', 'TLB hits') }`,
 * then `stats.mount('host.cpu0.mmu.tlb', new TlbStats())`.
 */
export class StatGroup {
  private readonly entries = new Map<string, Stat | StatGroup>();

  counter(name: string, unit: StatUnit, description: string): Counter {
    return this.add(name, new Counter(unit, description));
  }

  sampled(name: string, unit: StatUnit, description: string, read: () => number): SampledCounter {
    return this.add(name, new SampledCounter(unit, description, read));
  }

  histogram(name: string, unit: StatUnit, description: string, bounds: readonly number[]): Histogram {
    return this.add(name, new Histogram(unit, description, bounds));
  }

  formula(name: string, unit: StatUnit, description: string, fn: () => number): Formula {
    return this.add(name, new Formula(unit, description, fn));
  }

  /** The child group `name`, created if missing. */
  group(name: string): StatGroup {
    const existing = this.entries.get(name);
    if (existing instanceof StatGroup) return existing;
    return this.add(name, new StatGroup());
  }

  /** Mounts `group` at a dotted path below this one (creating the groups on the way) and returns it. */
  mount<G extends StatGroup>(path: string, group: G): G {
    const parts = path.split('.');
    const leaf = parts.pop()!;
    let node: StatGroup = this;
    for (const part of parts) node = node.group(part);
    return node.add(leaf, group);
  }

  /** The group or stat at a dotted path, or undefined. */
  lookup(path: string): StatGroup | Counter | SampledCounter | Histogram | Formula | undefined {
    let node: StatGroup | Stat | undefined = this;
    for (const part of path.split('.')) {
      if (!(node instanceof StatGroup)) return undefined;
      node = node.entries.get(part);
    }
    return node as StatGroup | Counter | SampledCounter | Histogram | Formula | undefined;
  }

  /** The values of the whole subtree as nested plain objects, in declaration order. */
  dump(): StatsJson {
    const out: StatsJson = {};
    for (const [name, entry] of this.entries) out[name] = entry.dump();
    return out;
  }

  /** Units and descriptions of every stat in the subtree, with dotted paths. */
  describe(prefix = ''): StatInfo[] {
    const out: StatInfo[] = [];
    for (const [name, entry] of this.entries) {
      const path = prefix ? `${prefix}.${name}` : name;
      if (entry instanceof StatGroup) out.push(...entry.describe(path));
      else out.push({ path, kind: entry.kind, unit: entry.unit, description: entry.description });
    }
    return out;
  }

  /** Resets every stat in the subtree (counters to 0, sampled counters to a new baseline). */
  reset(): void {
    for (const entry of this.entries.values()) entry.reset();
  }

  private add<S extends Stat | StatGroup>(name: string, entry: S): S {
    if (!NAME.test(name)) throw new Error(`bad stat name '${name}' (letters, digits, '_' and '-')`);
    if (this.entries.has(name)) throw new Error(`stat '${name}' is declared twice in the same group`);
    this.entries.set(name, entry);
    return entry;
  }
}

/**
 * Per-instance groups under one parent (gem5's per-object statistics::Group, e.g. one per CPU or
 * per domain): `new InstanceGroups(host, 'cpu', () => new CpuStats())` mounts `host.cpu0`,
 * `host.cpu1`, ... on first use and keeps each (a re-created domain id finds its old group).
 * Instances are dumped in the order they were first used.
 */
export class InstanceGroups<G extends StatGroup> {
  private readonly byIndex = new Map<number, G>();
  constructor(
    private readonly parent: StatGroup,
    private readonly prefix: string,
    private readonly make: (index: number) => G,
  ) {
    if (!NAME.test(prefix)) throw new Error(`bad instance prefix '${prefix}'`);
  }

  /** The group of instance `index` (`<prefix><index>`), mounted on first use. */
  get(index: number): G {
    let g = this.byIndex.get(index);
    if (!g) {
      if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`instance index ${index} is not a non-negative integer`);
      g = this.parent.mount(`${this.prefix}${index}`, this.make(index));
      this.byIndex.set(index, g);
    }
    return g;
  }

  has(index: number): boolean {
    return this.byIndex.has(index);
  }

  /** Instances used so far, in first-use order. */
  entries(): [number, G][] {
    return [...this.byIndex];
  }
}
