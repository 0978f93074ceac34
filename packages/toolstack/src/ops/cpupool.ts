// Scheduler and cpupool ops: sched-credit, cpupool-list, cpupool-create, cpupool-destroy,
// cpupool-cpu-add, cpupool-cpu-remove, cpupool-migrate, cpupool-numa-split.
import { DEFAULT_POOL } from '@tachyxx/sched';
import { ToolstackError } from '../protocol.js';
import { DOM0_NAME } from '../records.js';
import { op, type OpTable } from './types.js';

export const CPUPOOL_OPS: OpTable<'sched-credit' | 'cpupool-list' | 'cpupool-create' | 'cpupool-destroy' | 'cpupool-cpu-add' | 'cpupool-cpu-remove' | 'cpupool-migrate' | 'cpupool-numa-split'> = {
  'sched-credit': op('sched-credit', (ts, a) => {
    const set = a.weight !== undefined || a.cap !== undefined;
    const num = (v: unknown, what: string) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new ToolstackError('EINVAL', `sched-credit: invalid ${what} '${String(v)}'`);
      return n;
    };
    if (set) {
      if (a.domain === undefined) throw new ToolstackError('EINVAL', 'sched-credit: setting weight or cap needs a domain (-d)');
      const domid = ts.records.domainArg(a);
      const p: { weight?: number; cap?: number } = {};
      if (a.weight !== undefined) p.weight = num(a.weight, 'weight');
      if (a.cap !== undefined) p.cap = num(a.cap, 'cap');
      if (p.weight !== undefined && (p.weight < 1 || p.weight > 65535)) throw new ToolstackError('EINVAL', `sched-credit: weight ${p.weight} is out of range 1..65535`);
      if (p.cap !== undefined && (p.cap < 0 || p.cap > 100 * ts.topo.pcpus)) throw new ToolstackError('EINVAL', `sched-credit: cap ${p.cap} is out of range 0..${100 * ts.topo.pcpus}`);
      if (domid === 0) Object.assign(ts.dom0Info, p);
      else ts.host.sched.setDomainParams(domid, p);
    }
    const rows = ts.records.selected(a).map((domid) => {
      const pr = domid === 0 ? { weight: ts.dom0Info.weight, cap: ts.dom0Info.cap } : ts.host.sched.domainParams(domid);
      return { name: domid === 0 ? DOM0_NAME : ts.records.rec(domid).name, domid, weight: pr.weight, cap: pr.cap };
    });
    return { pool: ts.pools.name(DEFAULT_POOL), domains: rows };
  }),
  'cpupool-list': op('cpupool-list', (ts, a) => ({ pools: ts.pools.list(a) })),
  'cpupool-create': op('cpupool-create', (ts, a) => ts.pools.create(a)),
  'cpupool-destroy': op('cpupool-destroy', (ts, a) => ts.pools.destroy(a)),
  'cpupool-cpu-add': op('cpupool-cpu-add', (ts, a) => ts.pools.moveCpus('cpupool-cpu-add', a)),
  'cpupool-cpu-remove': op('cpupool-cpu-remove', (ts, a) => ts.pools.moveCpus('cpupool-cpu-remove', a)),
  'cpupool-migrate': op('cpupool-migrate', (ts, a) => ts.pools.migrate(ts.records.domainArg(a), a)),
  'cpupool-numa-split': op('cpupool-numa-split', (ts) => ts.pools.numaSplit()),
};
