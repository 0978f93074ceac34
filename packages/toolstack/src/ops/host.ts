// Host ops: hello, info, uptime, top, host-counts, stats.
import { GUEST_RAM_BASE, PAGE_SIZE } from '@tachyxx/abi';
import { DEFAULT_POOL } from '@tachyxx/sched';
import { OPS, PROTOCOL_NAME, PROTOCOL_VERSION } from '../protocol.js';
import { DOM0_NAME, XEN_VERSION, mib } from '../records.js';
import type { Toolstack } from '../toolstack.js';
import { cpuNs, listDomains } from './domain.js';
import { op, type OpTable } from './types.js';

export function xenVersion(): string {
  return `${XEN_VERSION.major}.${XEN_VERSION.minor}${XEN_VERSION.extra}`;
}

/** xl info's key/value rows. */
export function hostInfo(ts: Toolstack): [string, string][] {
  const c = ts.config;
  const host = ts.host;
  const pool0 = host.sched.getPool(DEFAULT_POOL);
  let freeCpus = 0;
  for (let p = 0; p < c.pcpus; p++) if (!host.sched.poolOfPcpu(p)) freeCpus++;
  const nodes = ts.topo.nodes.length;
  const up = (Date.now() - ts.bootWall) / 1000;
  return [
    ['host', 'tachyxx'],
    ['release', `tachyxx-${XEN_VERSION.major}.${XEN_VERSION.minor}`],
    ['version', '#1 SMP Tachyxx'],
    ['machine', 'tachy-v1 (rv64ima)'],
    ['nr_cpus', String(c.pcpus)],
    ['max_cpu_id', String(c.pcpus - 1)],
    ['nr_nodes', String(nodes)],
    ['cores_per_socket', String(Math.max(1, Math.floor(c.pcpus / nodes)))],
    ['threads_per_core', '1'],
    ['cpu_mhz', c.cpu.freqMHz.toFixed(3)],
    ['hw_caps', '00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000'],
    ['virt_caps', 'pv'],
    ['total_memory', String(Math.floor(host.machine.totalFrames / 256))],
    ['free_memory', String(mib(host.machine.freeFrames()))],
    ['sharing_freed_memory', '0'],
    ['sharing_used_memory', '0'],
    ['outstanding_claims', '0'],
    ['free_cpus', String(freeCpus)],
    ['xen_major', String(XEN_VERSION.major)],
    ['xen_minor', String(XEN_VERSION.minor)],
    ['xen_extra', XEN_VERSION.extra],
    ['xen_version', xenVersion()],
    ['xen_caps', 'xen-3.0-tachyxx'],
    ['xen_scheduler', pool0.variant],
    ['xen_pagesize', String(PAGE_SIZE)],
    ['platform_params', `virt_start=0x${GUEST_RAM_BASE.toString(16)}`],
    ['xen_changeset', 'tachyxx'],
    ['xen_commandline', `dom0_mem=${ts.dom0Info.targetMemkb / 1024}M dom0_max_vcpus=${ts.dom0Info.maxVcpus}`],
    ['cc_compiler', `node ${process.version}`],
    ['cc_compile_by', 'tachyxx'],
    ['cc_compile_domain', 'tachyxx'],
    ['cc_compile_date', new Date(ts.bootWall).toUTCString()],
    ['build_id', '0'],
    ['xend_config_format', '4'],
    ['sim_time_ns', String(host.clock.now)],
    ['uptime_wall_s', up.toFixed(1)],
  ];
}

/** Exact resource counts (the create/destroy leak test compares them). */
export function hostCounts(ts: Toolstack): { freeFrames: number; xenstoreNodes: number; domains: number; evtchnPorts: number; grantTables: number } {
  let ports = 0;
  let grants = 0;
  for (const d of ts.host.domains.list()) {
    ports += ts.evtchn.activePorts(d.domid);
    if (ts.grants.tableInfo(d.domid)) grants++;
  }
  return { freeFrames: ts.host.machine.freeFrames(), xenstoreNodes: ts.xs.size, domains: ts.host.domains.size, evtchnPorts: ports, grantTables: grants };
}

export const HOST_OPS: OpTable<'hello' | 'info' | 'uptime' | 'top' | 'host-counts' | 'stats'> = {
  hello: op('hello', () => ({ protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, ops: OPS, pid: process.pid, xen_version: xenVersion() })),
  info: op('info', (ts) => ({ info: hostInfo(ts) })),
  uptime: op('uptime', (ts, a) => {
    const now = ts.host.clock.now;
    const rows = ts.records.selected(a).map((domid) => domid === 0
      ? { name: DOM0_NAME, domid, uptimeSec: now / 1e9 }
      : { name: ts.records.rec(domid).name, domid, uptimeSec: (now - ts.records.rec(domid).d.createdAt) / 1e9 });
    return { domains: rows };
  }),
  top: op('top', (ts, _a, ctx) => {
    const host = ts.host;
    const now = host.clock.now;
    const prev = (ctx.topPrev ??= new Map());
    const total = host.machine.totalFrames * 4;
    const rows = listDomains(ts).map((e) => {
      let cpu = 0;
      if (e.domid !== 0) cpu = cpuNs(ts.records.rec(e.domid).d, now);
      const p = prev.get(e.domid);
      const created = e.domid === 0 ? 0 : ts.records.rec(e.domid).d.createdAt;
      const dt = p ? now - p.simNs : now - created;
      const pct = dt > 0 ? (100 * (cpu - (p?.cpuNs ?? 0))) / dt : 0;
      prev.set(e.domid, { cpuNs: cpu, simNs: now });
      return {
        name: e.name, domid: e.domid, state: e.state, cpuSec: cpu / 1e9, cpuPct: Math.round(pct * 10) / 10, memKiB: e.memkb,
        memPct: Math.round((1000 * e.memkb) / total) / 10, maxMemKiB: e.maxMemkb, maxMemPct: Math.round((1000 * e.maxMemkb) / total) / 10,
        vcpus: e.vcpus, nets: 0, netTxKiB: 0, netRxKiB: 0, vbds: 0, ssid: 0,
      };
    });
    for (const k of [...prev.keys()]) if (k !== 0 && !ts.records.has(k)) prev.delete(k);
    return {
      simNs: now, wallMs: Date.now(), domains: rows,
      summary: {
        total: rows.length, running: rows.filter((r) => r.state[0] === 'r').length, blocked: rows.filter((r) => r.state[1] === 'b').length,
        paused: rows.filter((r) => r.state[2] === 'p').length, crashed: rows.filter((r) => r.state[4] === 'c').length,
        memTotalKiB: total, memFreeKiB: host.machine.freeFrames() * 4, cpus: ts.topo.pcpus, cpuMHz: ts.config.cpu.freqMHz,
      },
    };
  }),
  'host-counts': op('host-counts', (ts) => hostCounts(ts)),
  stats: op('stats', (ts) => ts.host.statsJson()),
};
