// Domain ops: create, list, destroy, shutdown, reboot, pause, unpause, rename, domid, domname.
import { ShutdownReason } from '@tachyxx/abi';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { DEFAULT_POOL } from '@tachyxx/sched';
import { ToolstackError, type ListEntry } from '../protocol.js';
import { DOM0_NAME, DOM0_UUID, mib, type DomRecord } from '../records.js';
import type { Toolstack } from '../toolstack.js';
import { op, type OpArgs, type OpTable } from './types.js';

/** CPU time (simulated ns) a domain's vCPUs have run. */
export function cpuNs(d: Domain<Vcpu>, now: number): number {
  let t = 0;
  for (const v of d.vcpus) t += v.runstateTimes(now).running;
  return t;
}

/** xl list's six state letters and a status word. */
function stateOf(r: DomRecord): { letters: string; status: string } {
  const d = r.d;
  const vs = d.vcpus.filter((v) => v.online);
  const running = vs.some((v) => v.runstate === 'running');
  const blocked = vs.length > 0 && vs.every((v) => v.blocked) && !running;
  const paused = d.pauseCount > 0 && d.shutdownCode === null;
  const crashed = d.shutdownCode === ShutdownReason.crash;
  const shut = d.shutdownCode !== null && !crashed;
  const dying = d.isDying;
  const letters = `${running && !paused && d.shutdownCode === null ? 'r' : '-'}${blocked && !paused && d.shutdownCode === null ? 'b' : '-'}${paused ? 'p' : '-'}${shut ? 's' : '-'}${crashed ? 'c' : '-'}${dying ? 'd' : '-'}`;
  const status = dying ? 'dying' : crashed ? 'crashed' : shut ? 'shutdown' : paused ? 'paused' : running ? 'running' : blocked ? 'blocked' : 'runnable';
  return { letters, status };
}

/** The rows of xl list for the domains `a` selects. */
export function listDomains(ts: Toolstack, a: OpArgs = {}): ListEntry[] {
  const now = ts.host.clock.now;
  return ts.records.selected(a).map((domid) => {
    if (domid === 0) {
      const i = ts.dom0Info;
      return {
        name: DOM0_NAME, domid: 0, uuid: DOM0_UUID, memMiB: mib(ts.dom0.totPages), memkb: ts.dom0.totPages * 4, maxMemkb: i.maxMemkb,
        targetMemkb: i.targetMemkb, vcpus: i.vcpus, maxVcpus: i.maxVcpus, state: 'r-----', timeSec: 0, status: 'running',
        shutdownReason: null, pool: ts.pools.name(DEFAULT_POOL),
        ...(a.long ? { config: { c_info: { type: 'pv', name: DOM0_NAME, uuid: DOM0_UUID }, b_info: { max_vcpus: i.maxVcpus, max_memkb: i.maxMemkb, target_memkb: i.targetMemkb } } } : {}),
      };
    }
    const r = ts.records.rec(domid);
    const d = r.d;
    const st = stateOf(r);
    return {
      name: r.name, domid, uuid: r.uuid, memMiB: mib(d.totPages), memkb: d.totPages * 4, maxMemkb: r.maxMemkb, targetMemkb: r.targetMemkb,
      vcpus: d.vcpus.filter((v) => v.online).length, maxVcpus: d.vcpus.length, state: st.letters, timeSec: cpuNs(d, now) / 1e9,
      status: st.status, shutdownReason: d.shutdownReason, pool: ts.pools.name(ts.host.sched.domain(domid).pool),
      ...(a.long ? { config: { ...r.config, c_info: { ...(r.config.c_info as object), name: r.name, uuid: r.uuid } } } : {}),
    };
  });
}

function pauseOp(which: 'pause' | 'unpause') {
  return (ts: Toolstack, a: OpArgs) => {
    const domid = ts.records.domainArg(a);
    const r = ts.records.rec(domid);
    if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `domain ${domid} has shut down`);
    if (which === 'pause') ts.host.pauseDomain(r.d);
    else {
      if (r.d.pauseCount === 0) throw new ToolstackError('EINVAL', `domain ${domid} is not paused`);
      ts.host.unpauseDomain(r.d);
      ts.onWork();
    }
    ts.emit({ kind: which === 'pause' ? 'paused' : 'unpaused', domid, name: r.name });
    return { domid, name: r.name, paused: r.d.pauseCount > 0 };
  };
}

export const DOMAIN_OPS: OpTable<'create' | 'list' | 'destroy' | 'shutdown' | 'reboot' | 'pause' | 'unpause' | 'rename' | 'domid' | 'domname'> = {
  create: op('create', async (ts, a) => {
    if (a.config === undefined) throw new ToolstackError('EINVAL', 'create: args.config (a libxl domain_config) is required');
    return await ts.builder.create(a.config, { paused: a.paused === true });
  }),
  list: op('list', (ts, a) => ({ domains: listDomains(ts, a) })),
  destroy: op('destroy', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const r = ts.records.rec(domid);
    ts.lifecycle.destroy(r, 'destroy');
    return { domid, name: r.name };
  }),
  shutdown: op('shutdown', (ts, a) => ts.lifecycle.requestShutdown('shutdown', a)),
  reboot: op('reboot', (ts, a) => ts.lifecycle.requestShutdown('reboot', a)),
  pause: op('pause', pauseOp('pause')),
  unpause: op('unpause', pauseOp('unpause')),
  rename: op('rename', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const r = ts.records.rec(domid);
    const name = String(a.name ?? '');
    if (!/^[^/\s]{1,64}$/.test(name) || /^\d+$/.test(name)) throw new ToolstackError('EINVAL', `invalid domain name '${name}'`);
    if (name !== r.name && ts.records.nameTaken(name)) throw new ToolstackError('EEXIST', `Domain with name "${name}" already exists.`);
    ts.lifecycle.rename(r, name);
    return { domid, name };
  }),
  domid: op('domid', (ts, a) => ({ domid: ts.records.domainArg(a, 'name') })),
  domname: op('domname', (ts, a) => {
    const domid = ts.records.domainArg(a, 'domid');
    return { name: domid === 0 ? DOM0_NAME : ts.records.rec(domid).name };
  }),
};
