// Hypercall dispatch (Xen's hypercall table, xen/include/hypercall-defs.c): one row per Xen
// hypercall number, filled by the packages that implement it. Unknown numbers get -ENOSYS.
// Handlers validate every pointer (-EFAULT) and value (Xen's errno) and never throw for guest
// input.
import { Errno, hypercallName } from '@tachyxx/abi';
import type { StatGroup } from '@tachyxx/core';

/** Arguments a0..a5 as numbers (exact below 2^53; pointers and counts always are). */
export interface HypercallArgs {
  readonly a0: number; readonly a1: number; readonly a2: number;
  readonly a3: number; readonly a4: number; readonly a5: number;
}

/** Returns >= 0 or -errno. `V` is the caller's vCPU type. */
export type HypercallHandler<V> = (vcpu: V, args: HypercallArgs) => number;

interface Row<V> { name: string; handler: HypercallHandler<V>; calls: number }

export class HypercallTable<V> {
  private readonly rows: (Row<V> | undefined)[] = [];
  /** Calls to numbers nobody registered (by number). */
  readonly unknown = new Map<number, number>();
  private stats: StatGroup | null = null;

  /**
   * Mounts the call counts in the stats tree (`host.hypervisor.hypercalls.<name>`): one stat per
   * registered hypercall, read at dump time, plus one per unknown number on its first call.
   */
  setStats(group: StatGroup): void {
    if (this.stats) throw new Error('hypercall stats are already mounted');
    this.stats = group;
    for (const r of this.rows) if (r) this.mountRow(r);
    for (const nr of this.unknown.keys()) this.mountUnknown(nr);
  }

  private mountRow(r: Row<V>): void {
    this.stats?.sampled(r.name, 'count', `${r.name} calls`, () => r.calls);
  }

  private mountUnknown(nr: number): void {
    const name = hypercallName(nr);
    if (this.stats && !this.stats.lookup(name)) this.stats.sampled(name, 'count', `calls to unregistered hypercall ${nr} (-ENOSYS)`, () => this.unknown.get(nr) ?? 0);
  }

  register(nr: number, handler: HypercallHandler<V>, name = hypercallName(nr)): void {
    if (!Number.isInteger(nr) || nr < 0 || nr > 63) throw new RangeError(`hypercall number ${nr} out of range`);
    if (this.rows[nr]) throw new Error(`hypercall ${nr} (${this.rows[nr]!.name}) is already registered`);
    const row = { name, handler, calls: 0 };
    this.rows[nr] = row;
    this.mountRow(row);
  }

  dispatch(vcpu: V, nr: number, args: HypercallArgs): number {
    const row = nr >= 0 && nr < this.rows.length ? this.rows[nr] : undefined;
    if (!row) {
      const n = this.unknown.get(nr);
      this.unknown.set(nr, (n ?? 0) + 1);
      if (n === undefined) this.mountUnknown(nr);
      return -Errno.ENOSYS;
    }
    row.calls++;
    return row.handler(vcpu, args);
  }

  /** Calls per hypercall name (registered and unknown), for stats. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.rows) if (r && r.calls) out[r.name] = r.calls;
    for (const [nr, n] of this.unknown) out[hypercallName(nr)] = (out[hypercallName(nr)] ?? 0) + n;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  }
}
