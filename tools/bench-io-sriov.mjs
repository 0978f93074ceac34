#!/usr/bin/env node
// SR-IOV vs PV network benchmark (issue 14 §3), section "SR-IOV VF vs PV network": the same UDP
// workload (guests/udpblast, unchanged: the -vf build runs it over the C VF driver) between two
// domains on one host as `tachyxx host --config examples/host-sriov.yaml` assembles it, once
// through two VFs of the SR-IOV NIC (DMA through the IOMMU, MSI-X through the interrupt
// remapper, the switch inside the NIC: no dom0, no hypervisor in the data path) and once through
// two vifs on xenbr0 (netfront -> dom0's netback grant copies -> bridge -> netback -> netfront).
// VF runs under irq-remap posted and forwarded. Per datagram (difference of runs of N and N0, so
// start-up and handshakes cancel): simulated CPU cycles of both pCPUs, traps into the hypervisor
// (PL1: hypercalls, interrupts, faults), hypervisor cycles of interrupt delivery, interrupts
// (VF: MSI-X messages; PV: event-channel events and notifications), and dom0's work (PV: grant
// copies by netback and frames through the bridge; VF: PF-driver interrupts).
// Usage: pnpm bench:io (runs this after tools/bench-io-net.mjs) or node tools/bench-io-sriov.mjs [--no-write] [--reps 2] [--quick]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = (p) => import(pathToFileURL(join(root, p, 'dist/index.js')).href);
const [core, hv, sim, xenstore, pvnet] = await Promise.all(['packages/core', 'packages/hypervisor', 'packages/sim', 'packages/xenstore', 'packages/pv-net'].map(dist));
const image = (name) => readFileSync(join(root, 'guests/build', `${name}.elf`));
const arg = (name, dflt) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : dflt; };
const write = !process.argv.includes('--no-write');
const quick = process.argv.includes('--quick');
const reps = Number(arg('--reps', quick ? '1' : '2'));

function sriovHost(irq) {
  const reg = sim.registry();
  const yaml = readFileSync(join(root, 'examples/host-sriov.yaml'), 'utf8')
    .replace('irq-remap: posted', `irq-remap: ${irq}`)
    .replace(/^components:/m, 'components:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen');
  const out = new Map();
  const marks = {};
  const a = hv.assembleHost(core.parseHostConfig(yaml, reg, { file: 'examples/host-sriov.yaml' }), reg, {
    console: (d, b) => {
      const t = new TextDecoder().decode(b);
      if (/; sending \d+ x/.test(t)) marks.start = performance.now();
      if (/udpblast: sent \d+ datagrams/.test(t)) marks.end = performance.now();
      out.set(d.domid, (out.get(d.domid) ?? '') + t);
    },
    log: () => {},
  });
  const pt = a.component('passthrough').passthrough;
  const drv = a.component('sriov-nic').drivers[0];
  const xs = xenstore.connectLocal(core.resolve(a.container, xenstore.XENSTORED), 0);
  const vfDomain = (name, cmdline, k) => {
    const d = a.host.createDomain({ name, image: image('udpblast-vf'), memoryMiB: 16, paused: true, cmdline });
    const rid = drv.nic.sriov.vfRid(drv.nic.rid, k), s = { seg: 0, bus: rid >> 8, devfn: rid & 0xff };
    pt.assignableAdd(s);
    const r = pt.assign(d.domid, s);
    if (r.rc !== 0) throw new Error(`assign VF ${k}: ${r.reason}`);
    return d;
  };
  const vifDomain = (name, cmdline) => {
    const d = a.host.createDomain({ name, image: image('udpblast'), memoryMiB: 16, paused: true, cmdline });
    pvnet.addVif(xs, d.domid, { devid: 0, bridge: 'xenbr0' });
    return d;
  };
  return { a, host: a.host, out, marks, vfDomain, vifDomain, drv };
}

function blast(path, irq, size, count) {
  const h = sriovHost(irq);
  const mk = path === 'vf' ? (n, c, k) => h.vfDomain(n, c, k) : (n, c) => h.vifDomain(n, c);
  const r = mk('recv', 'mode=recv ip=10.0.0.11/24', 1);
  const s = mk('send', `mode=send ip=10.0.0.12/24 peer=10.0.0.11 size=${size} count=${count}`, 2);
  h.host.unpauseDomain(r);
  h.host.unpauseDomain(s);
  const t0 = performance.now();
  const why = h.host.run({ maxInsns: 40_000_000_000 });
  const wall = performance.now() - t0;
  const tr = h.out.get(r.domid) ?? '', ts = h.out.get(s.domid) ?? '';
  if (why !== 'all-shutdown') throw new Error(`${path} udpblast ${size} x ${count}: ${why}\n${tr}\n${ts}`);
  const m = /received (\d+) of (\d+), lost (\d+).* in (\d+)\.(\d{3}) ms simulated/.exec(tr);
  if (!m) throw new Error(`${path} udpblast ${size} x ${count}: no receiver summary\n${tr}\n${ts}`);
  const st = h.host.stats.dump();
  const cpus = Object.keys(st.host).filter((k) => /^cpu\d+$/.test(k));
  const sum = (f) => cpus.reduce((x, c) => x + Number(st.host[c][f]), 0);
  const irqr = st.host['irq-remap'].pciess0;
  const vif = (d) => st.host['pv-net'][`vif${d.domid}-0`];
  const nic = st.host['sriov-nic'].pf0;
  const br = st.host['pv-net'].bridge?.xenbr0;
  const pv = path === 'pv';
  return {
    wall, dataWall: h.marks.end - h.marks.start, received: Number(m[1]), lost: Number(m[3]), simNs: Number(m[4]) * 1e6 + Number(m[5]) * 1e3,
    cycles: sum('cycles'), traps: sum('trapsToPl1'), hvIrqCycles: Number(irqr.hypervisorCycles),
    interrupts: pv ? vif(s).eventsTx + vif(r).eventsRx + vif(s).notifyTx + vif(r).notifyRx : Number(irqr.interrupts),
    dom0: pv ? vif(s).copies + vif(r).copies + Number(br?.frames ?? 0) : Number(nic.driver.interrupts),
  };
}

const cases = quick
  ? [{ size: 64, n: 4000, n0: 400 }, { size: 1472, n: 2000, n0: 200 }]
  : [{ size: 64, n: 20000, n0: 2000 }, { size: 1472, n: 10000, n0: 1000 }];
const variants = [{ path: 'vf', irq: 'posted' }, { path: 'vf', irq: 'forwarded' }, { path: 'pv', irq: 'posted' }];
const rows = [];
for (const c of cases) {
  for (const v of variants) {
    const a = blast(v.path, v.irq, c.size, c.n0);
    let best = null;
    for (let k = 0; k < reps; k++) {
      const b = blast(v.path, v.irq, c.size, c.n);
      if (a.lost || b.lost) console.warn(`  warning: ${v.path} ${c.size} B lost ${a.lost} / ${b.lost}`);
      const r = { ...c, ...v, a, b, wallPps: c.n / (b.dataWall / 1000) };
      process.stderr.write(`  ${v.path}/${v.irq} ${c.size} B: ${c.n} datagrams, data phase ${b.dataWall.toFixed(0)} ms wall -> ${(r.wallPps / 1e3).toFixed(1)} kpps wall\n`);
      if (!best || r.wallPps > best.wallPps) best = r;
    }
    rows.push(best);
  }
}

/** Three panels (simulated Mpps, hypervisor entries per 1000 datagrams, dom0 operations per datagram), a bar per path and size. */
function svg(rows) {
  const W = 900, H = 300, panelW = W / 3, top = 40, bottom = 60, ph = H - top - bottom;
  const colors = { 'vf/posted': '#2a7ab0', 'vf/forwarded': '#7fb3d5', 'pv/posted': '#d35400' };
  const label = { 'vf/posted': 'VF, posted', 'vf/forwarded': 'VF, forwarded', 'pv/posted': 'PV net' };
  const per = (r, k) => (r.b[k] - r.a[k]) / (r.n - r.n0);
  const metrics = [
    { title: 'Mpps (simulated)', v: (r) => (r.b.received - 1) / (r.b.simNs / 1e9) / 1e6 },
    { title: 'hypervisor entries / 1000 pkts', v: (r) => per(r, 'traps') * 1000 },
    { title: 'dom0 operations / pkt', v: (r) => per(r, 'dom0') },
  ];
  const esc = (t) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let out = '';
  metrics.forEach((m, i) => {
    const x0 = i * panelW + 40, w = panelW - 60;
    const max = Math.max(...rows.map(m.v), 1e-9) * 1.15;
    out += `<text x="${x0 + w / 2}" y="20" text-anchor="middle" font-size="13">${esc(m.title)}</text>`;
    out += `<line x1="${x0}" y1="${top + ph}" x2="${x0 + w}" y2="${top + ph}" stroke="#333"/>`;
    const sizes = [...new Set(rows.map((r) => r.size))];
    sizes.forEach((size, g) => {
      const group = rows.filter((r) => r.size === size);
      const gw = w / sizes.length, bw = gw / (group.length + 1);
      group.forEach((r, j) => {
        const v = m.v(r), h = (v / max) * ph, x = x0 + g * gw + bw * (j + 0.5);
        out += `<rect x="${x.toFixed(1)}" y="${(top + ph - h).toFixed(1)}" width="${(bw * 0.9).toFixed(1)}" height="${h.toFixed(1)}" fill="${colors[`${r.path}/${r.irq}`]}"/>`;
        out += `<text x="${(x + bw * 0.45).toFixed(1)}" y="${(top + ph - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${v < 10 ? v.toFixed(2) : v.toFixed(0)}</text>`;
      });
      out += `<text x="${(x0 + g * gw + gw / 2).toFixed(1)}" y="${top + ph + 15}" text-anchor="middle" font-size="11">${size} B</text>`;
    });
  });
  Object.entries(label).forEach(([k, t], i) => {
    out += `<rect x="${40 + i * 160}" y="${H - 22}" width="12" height="12" fill="${colors[k]}"/><text x="${58 + i * 160}" y="${H - 12}" font-size="11">${esc(t)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>${out}</svg>\n`;
}

const f = (x, d = 2) => x.toFixed(d);
const lines = rows.map((r) => {
  const b = r.b, a = r.a, dN = r.n - r.n0;
  const simPps = (b.received - 1) / (b.simNs / 1e9);
  const per = (k) => (b[k] - a[k]) / dN;
  const name = r.path === 'vf' ? `SR-IOV VF, irq-remap ${r.irq}` : 'PV net (netfront/netback, bridge)';
  return `| ${name} | ${r.size} | ${r.n} | ${b.lost} | ${f(r.wallPps / 1e6, 3)} | ${f(simPps / 1e6, 3)} | ${f(simPps * r.size * 8 / 1e9, 3)} | ${f(per('cycles'), 0)} | ${f(per('traps'), 2)} | ${f(per('hvIrqCycles'), 0)} | ${f(per('interrupts'), 3)} | ${f(per('dom0'), 2)} |`;
});
const body = [
  'Reproduce: `pnpm bench:io` (`tools/bench-io-sriov.mjs`, after `tools/bench-io-net.mjs`). ' + machineLine() + '.',
  '',
  'The same UDP workload (`guests/udpblast` mode=send -> mode=recv, as fast as the rings allow) between two domains on one host built from',
  '`examples/host-sriov.yaml` (2 pCPUs, the IOMMU walking each domain\'s stage 2): through two VFs of the SR-IOV NIC (`udpblast-vf`: the',
  'same program over `guests/xenlib/net/sriovvf.c`; the NIC switches VF to VF inside itself, VEB) under irq-remap `posted` and `forwarded`, and',
  'through two vifs on xenbr0 (netfront, dom0\'s netback grant copies, the bridge). Wall: N over the sender\'s data phase, best of ' + reps + '.',
  'Simulated: the receiver\'s first to last datagram. Per datagram (difference of runs of N and N0): simulated cycles of both pCPUs (guests and',
  'hypervisor), traps into the hypervisor (PL1: hypercalls, interrupts, faults), hypervisor cycles spent delivering device interrupts',
  '(irq-remap: trap + inject under forwarded, 0 posted), interrupts (VF: MSI-X messages through the remapper; PV: event-channel events and',
  'notifications), and dom0 work (PV: grant copies by netback + frames through the bridge; VF: PF-driver interrupts, 0 in steady state).',
  '',
  '| path | payload B | datagrams N | lost | Mpps wall | Mpps sim | Gbit/s sim | cycles/pkt | PL1 traps/pkt | hv irq cycles/pkt | interrupts/pkt | dom0 ops/pkt |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...lines,
  '',
'Reading it: in this model dom0\'s netback and bridge are host TypeScript whose work is not charged as CPU cycles, so PV\'s cycles/pkt',
  'hide dom0: its cost shows as dom0 ops/pkt (2 grant copies + 1 bridge frame per datagram) and as about twice the hypervisor entries (event-channel',
  'notifications, grant-copy hypercalls on the guests\' side). The VF path has no dom0 work and about one interrupt per 20-40 datagrams (ICR',
  'gating coalesces); under forwarded each of those traps (34-67 hypervisor cycles per datagram), under posted none does. Both paths are',
  'bounded by the sending guest\'s CPU (stack and checksums) at these sizes.',
  '',
  '![SR-IOV VF vs PV: simulated Mpps, hypervisor entries and dom0 operations per datagram](bench-io-sriov.svg)',
  '',
  'Published anchor: SR-IOV in Xen reached 9.48 Gbit/s line rate and scaled to 60 VMs at +1.76% CPU per VM, ahead of PV (Dong et al., HPCA\'10).',
];
console.log(body.join('\n'));
if (write) {
  writeBenchSection(join(root, 'docs/benchmarks.md'), 'SR-IOV VF vs PV network (domU to domU UDP)', body.join('\n'));
  writeFileSync(join(root, 'docs/bench-io-sriov.svg'), svg(rows));
  console.log('written to docs/benchmarks.md');
}
