/**
 * Cpupools as xl shows them (libxl_cpupool_*): display names over the scheduler's pools
 * (cpupool-numa-split renames Pool-0 to Pool-node0), the pool list, and every pool change run
 * all-or-nothing.
 */
import type { Host } from '@tachyxx/hypervisor';
import { DEFAULT_POOL, SCHED_VARIANTS, type SchedVariant } from '@tachyxx/sched';
import { ToolstackError } from './protocol.js';
import { formatCpuList, parseCpuList, type CpuTopology } from './cpulist.js';

/** What the pools need of the toolstack. */
export interface CpupoolHost {
  readonly host: Host;
  readonly topo: CpuTopology;
  log(line: string): void;
  onWork(): void;
}

export class Cpupools {
  private readonly display = new Map<string, string>();

  constructor(private readonly t: CpupoolHost) {}

  /** The name xl shows for a scheduler pool. */
  name(internal: string): string {
    return this.display.get(internal) ?? internal;
  }

  /** The scheduler pool a shown name stands for; ENOENT when none. */
  internal(name: string): string {
    for (const [k, v] of this.display) if (v === name) return k;
    if (this.t.host.sched.poolNames().includes(name) && !this.display.has(name)) return name;
    throw new ToolstackError('ENOENT', `cpupool '${name}' does not exist`);
  }

  list(a: Record<string, unknown>): unknown[] {
    const { host, topo } = this.t;
    const names = host.sched.poolNames().filter((n) => a.pool === undefined || this.name(n) === a.pool);
    if (a.pool !== undefined && names.length === 0) throw new ToolstackError('ENOENT', `cpupool '${String(a.pool)}' does not exist`);
    return names.map((n) => {
      const p = host.sched.getPool(n);
      return {
        name: this.name(n), cpus: p.cpus.length, cpuList: formatCpuList(p.cpus, topo.pcpus), sched: p.variant, active: true,
        domains: p.domains.size + (n === DEFAULT_POOL ? 1 : 0),
      };
    });
  }

  /**
   * Runs a cpupool change all-or-nothing: the checks come first (so the usual errors change
   * nothing), and if the scheduler still refuses a step, every pCPU goes back to the pool it was
   * in and pools created on the way are removed. An error changes nothing.
   */
  private txn<T>(fn: () => T): T {
    const s = this.t.host.sched;
    const P = this.t.topo.pcpus;
    const before = Array.from({ length: P }, (_, c) => s.poolOfPcpu(c)?.name ?? null);
    const pools = new Set(s.poolNames());
    const display = new Map(this.display);
    try {
      return fn();
    } catch (e) {
      const now = this.t.host.clock.now;
      try {
        const moved: number[] = [];
        for (let c = 0; c < P; c++) if ((s.poolOfPcpu(c)?.name ?? null) !== before[c]) moved.push(c);
        // Out of the pools they were moved into first (those are new or gained them), then back.
        for (const c of moved) if (s.poolOfPcpu(c) && !pools.has(s.poolOfPcpu(c)!.name)) s.movePcpu(c, null, now);
        for (const c of moved) if ((s.poolOfPcpu(c)?.name ?? null) !== before[c]) s.movePcpu(c, before[c]!, now);
        for (const n of s.poolNames()) if (!pools.has(n)) s.destroyPool(n);
        this.display.clear();
        for (const [k, v] of display) this.display.set(k, v);
      } catch (re) {
        // The undo itself failed: an invariant of the scheduler is broken. Say so loudly.
        this.t.log(`(XEN) BUG: cpupool rollback failed after '${(e as Error).message}': ${(re as Error).stack ?? String(re)}`);
        throw new ToolstackError('EIO', `cpupool state may be inconsistent: rollback failed (${(re as Error).message})`);
      }
      throw e;
    }
  }

  private cpusArg(op: string, v: unknown): number[] {
    if (v === undefined || v === null) throw new ToolstackError('EINVAL', `${op}: args.cpus (a CPU list) is required`);
    return parseCpuList(v as string | number[], this.t.topo, 'cpus');
  }

  private poolArg(op: string, v: unknown): string {
    if (typeof v !== 'string' || v === '') throw new ToolstackError('EINVAL', `${op}: a cpupool name is required`);
    return this.internal(v);
  }

  create(a: Record<string, unknown>): unknown {
    const s = this.t.host.sched;
    const now = this.t.host.clock.now;
    const name = typeof a.name === 'string' ? a.name : '';
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ToolstackError('EINVAL', `cpupool-create: invalid pool name '${name.slice(0, 64)}' (1-64 of A-Z a-z 0-9 _ . -)`);
    if ([...s.poolNames()].some((n) => this.name(n) === name || n === name)) throw new ToolstackError('EEXIST', `cpupool '${name}' already exists`);
    const sched = (a.sched === undefined || a.sched === null ? s.getPool(DEFAULT_POOL).variant : String(a.sched)) as SchedVariant;
    if (!SCHED_VARIANTS.includes(sched)) throw new ToolstackError('EINVAL', `cpupool-create: unknown scheduler '${String(sched).slice(0, 32)}' (allowed: ${SCHED_VARIANTS.join(', ')})`);
    const cpus = a.cpus === undefined || a.cpus === null ? [] : this.cpusArg('cpupool-create', a.cpus);
    for (const c of cpus) if (s.poolOfPcpu(c)) throw new ToolstackError('EBUSY', `cpupool-create: pCPU ${c} is not free (it is in cpupool '${this.name(s.poolOfPcpu(c)!.name)}'; remove it first with cpupool-cpu-remove)`);
    this.txn(() => {
      s.createPool(name, sched);
      for (const c of cpus) s.movePcpu(c, name, now);
    });
    this.t.log(`(d0) xl: cpupool '${name}' created (${sched}, cpus ${formatCpuList(cpus, this.t.topo.pcpus)})`);
    return { name, sched, cpus };
  }

  destroy(a: Record<string, unknown>): unknown {
    const s = this.t.host.sched;
    const now = this.t.host.clock.now;
    const shown = String(a.pool ?? a.name ?? '');
    const internal = this.poolArg('cpupool-destroy', a.pool ?? a.name);
    const pool = s.getPool(internal);
    // Xen's cpupool_destroy: Pool-0 never, a pool with domains is busy. Checked before any
    // pCPU leaves it (libxl_cpupool_destroy removes the pCPUs, then destroys).
    if (internal === DEFAULT_POOL) throw new ToolstackError('EBUSY', `cpupool '${shown}' is the host's default pool (Pool-0) and cannot be destroyed`);
    if (pool.domains.size > 0) throw new ToolstackError('EBUSY', `cpupool '${shown}' still has ${pool.domains.size} domain(s): migrate or destroy them first`);
    this.txn(() => {
      for (const c of [...pool.cpus]) s.movePcpu(c, null, now);
      s.destroyPool(internal);
    });
    this.display.delete(internal);
    return { name: shown };
  }

  /** cpupool-cpu-add / cpupool-cpu-remove. */
  moveCpus(op: 'cpupool-cpu-add' | 'cpupool-cpu-remove', a: Record<string, unknown>): unknown {
    const s = this.t.host.sched;
    const now = this.t.host.clock.now;
    const internal = this.poolArg(op, a.pool);
    const cpus = this.cpusArg(op, a.cpus);
    const pool = s.getPool(internal);
    if (op === 'cpupool-cpu-add') {
      for (const c of cpus) {
        const from = s.poolOfPcpu(c);
        if (from && from.name !== internal) throw new ToolstackError('EBUSY', `pCPU ${c} is in cpupool '${this.name(from.name)}': remove it first`);
      }
    } else {
      for (const c of cpus) if (s.poolOfPcpu(c)?.name !== internal) throw new ToolstackError('EINVAL', `pCPU ${c} is not in cpupool '${String(a.pool)}'`);
      const left = pool.cpus.filter((c) => !cpus.includes(c));
      if (left.length === 0 && pool.domains.size > 0) throw new ToolstackError('EBUSY', `cpupool '${String(a.pool)}' would have no pCPU left for its ${pool.domains.size} domain(s)`);
    }
    this.txn(() => {
      for (const c of cpus) s.movePcpu(c, op === 'cpupool-cpu-add' ? internal : null, now);
    });
    this.t.onWork();
    return { pool: a.pool, cpus };
  }

  /** Moves domU `domid` into the pool `a.pool` names. */
  migrate(domid: number, a: Record<string, unknown>): unknown {
    if (domid === 0) throw new ToolstackError('EPERM', 'Domain-0 stays in Pool-0');
    // SchedCore.moveDomain puts the domain back in its pool when the new one refuses it.
    this.t.host.sched.moveDomain(domid, this.poolArg('cpupool-migrate', a.pool), this.t.host.clock.now);
    this.t.onWork();
    return { domid, pool: a.pool };
  }

  numaSplit(): unknown {
    const s = this.t.host.sched;
    const now = this.t.host.clock.now;
    const nodes = this.t.topo.nodes;
    if (nodes.length < 2) throw new ToolstackError('EINVAL', 'cpupool-numa-split: the host has only one NUMA node');
    if (s.poolNames().length > 1) throw new ToolstackError('EBUSY', 'cpupool-numa-split: only Pool-0 may exist');
    const variant = s.getPool(DEFAULT_POOL).variant;
    // Like xl: Pool-0 keeps node 0's pCPUs and is renamed Pool-node0; each other node gets its
    // own pool Pool-node<N> (domains in Pool-0 stay there).
    const created: string[] = [];
    this.txn(() => {
      for (let n = 1; n < nodes.length; n++) {
        const name = `Pool-node${n}`;
        s.createPool(name, variant);
        for (const c of nodes[n]!) {
          s.movePcpu(c, null, now);
          s.movePcpu(c, name, now);
        }
        created.push(name);
      }
    });
    this.display.set(DEFAULT_POOL, 'Pool-node0');
    this.t.onWork();
    return { pools: ['Pool-node0', ...created] };
  }
}
