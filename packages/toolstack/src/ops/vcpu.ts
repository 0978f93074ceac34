// vCPU ops: vcpu-list, vcpu-pin, vcpu-set.
import { domainPath } from '@tachyxx/xenstore';
import { ToolstackError, type VcpuEntry } from '../protocol.js';
import { formatCpuList, parseCpuList } from '../cpulist.js';
import { DOM0_NAME } from '../records.js';
import { op, type OpTable } from './types.js';

export const VCPU_OPS: OpTable<'vcpu-list' | 'vcpu-pin' | 'vcpu-set'> = {
  'vcpu-list': op('vcpu-list', (ts, a) => {
    const now = ts.host.clock.now;
    const out: VcpuEntry[] = [];
    const P = ts.topo.pcpus;
    for (const domid of ts.records.selected(a)) {
      if (domid === 0) {
        const i = ts.dom0Info;
        for (let n = 0; n < i.maxVcpus; n++) {
          out.push({ name: DOM0_NAME, domid: 0, vcpu: n, cpu: n < i.vcpus ? (i.hard[n]?.[0] ?? n % P) : null, state: n < i.vcpus ? '-b-' : '--p', timeSec: 0, hard: formatCpuList(i.hard[n], P), soft: formatCpuList(i.soft[n], P) });
        }
        continue;
      }
      const r = ts.records.rec(domid);
      const d = r.d;
      for (const v of d.vcpus) {
        const running = v.runstate === 'running' && d.shutdownCode === null;
        const paused = d.pauseCount > 0 || d.shutdownCode !== null;
        out.push({
          name: r.name, domid, vcpu: v.id, cpu: v.online ? v.sched.processor : null,
          state: `${running ? 'r' : '-'}${v.online && v.blocked ? 'b' : '-'}${!v.online || paused ? 'p' : '-'}`,
          timeSec: v.runstateTimes(now).running / 1e9, hard: formatCpuList(v.sched.hard, P), soft: formatCpuList(v.sched.soft, P),
        });
      }
    }
    return { vcpus: out };
  }),

  'vcpu-pin': op('vcpu-pin', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const P = ts.topo.pcpus;
    const parse = (v: unknown, what: string): number[] | null | undefined => {
      if (v === undefined || v === null || v === '-') return undefined;
      if (v === 'all') return null;
      const l = parseCpuList(v as string | number[], ts.topo, what);
      return l.length === P ? null : l;
    };
    const hard = parse(a.hard, 'hard affinity');
    const soft = parse(a.soft, 'soft affinity');
    if (hard === undefined && soft === undefined) throw new ToolstackError('EINVAL', 'vcpu-pin: give a hard affinity, a soft affinity, or both');
    const which = a.vcpu === undefined || a.vcpu === 'all' ? 'all' : Number(a.vcpu);
    if (domid === 0) {
      const i = ts.dom0Info;
      const ids = which === 'all' ? [...i.hard.keys()] : [which];
      // Every id is checked before anything changes.
      for (const n of ids) if (!Number.isInteger(n) || n < 0 || n >= i.maxVcpus) throw new ToolstackError('EINVAL', `vcpu-pin: Domain-0 has no vCPU ${String(which)} (it has ${i.maxVcpus})`);
      for (const n of ids) {
        if (hard !== undefined) i.hard[n] = hard;
        if (soft !== undefined) i.soft[n] = soft;
      }
      return { domid, vcpus: ids };
    }
    const r = ts.records.rec(domid);
    const vs = which === 'all' ? r.d.vcpus : r.d.vcpus.filter((v) => v.id === which);
    if (vs.length === 0) throw new ToolstackError('EINVAL', `vcpu-pin: domain ${domid} has no vCPU ${String(a.vcpu)} (it has ${r.d.vcpus.length})`);
    const now = ts.host.clock.now;
    const sched = ts.host.sched;
    // All or nothing: a vCPU the scheduler refuses (no pCPU of the affinity in its pool) puts
    // back the affinities already changed.
    const before = vs.map((v) => ({ v, hard: v.sched.hard ? [...v.sched.hard] : null, soft: v.sched.soft ? [...v.sched.soft] : null }));
    const done: typeof before = [];
    try {
      for (const b of before) {
        const aff: { hard?: number[] | null; soft?: number[] | null } = {};
        if (hard !== undefined) aff.hard = hard;
        if (soft !== undefined) aff.soft = soft;
        sched.setAffinity(b.v.sched, aff, now);
        done.push(b);
      }
    } catch (e) {
      for (const b of done) sched.setAffinity(b.v.sched, { hard: b.hard, soft: b.soft }, now);
      throw e;
    }
    ts.onWork();
    return { domid, vcpus: vs.map((v) => v.id) };
  }),

  'vcpu-set': op('vcpu-set', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const n = a.count === undefined ? NaN : Number(a.count);
    const max = domid === 0 ? ts.dom0Info.maxVcpus : ts.records.rec(domid).spec.maxVcpus;
    if (!Number.isInteger(n) || n < 1) throw new ToolstackError('EINVAL', `vcpu-set: invalid vCPU count '${String(a.count)}'`);
    if (n > max) throw new ToolstackError('EINVAL', `You cannot set vcpus greater than the maximum (${max}) of this domain`);
    // Like libxl_set_vcpuonline: cpu/<n>/availability in xenstore; the guest's hotplug code acts.
    const c = ts.xsc;
    c.transaction((tx) => {
      for (let i = 0; i < max; i++) c.write(`${domainPath(domid)}/cpu/${i}/availability`, i < n ? 'online' : 'offline', tx);
    });
    if (domid === 0) ts.dom0Info.vcpus = n;
    else ts.records.rec(domid).availVcpus = n;
    return { domid, avail: n, max };
  }),
};
