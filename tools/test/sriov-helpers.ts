// Shared by sriov-guests.test.ts, the bench and tools/hostile/sriov-*.test.ts: an in-process host
// as `tachyxx host --config examples/host-sriov.yaml` assembles it, VF domains (a VF passed
// through) and PV-net domains (a vif on xenbr0).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parseHostConfig, resolve } from '@tachyxx/core';
import { assembleHost, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { registry } from '@tachyxx/sim';
import { connectLocal, XENSTORED } from '@tachyxx/xenstore';
import { addVif } from '@tachyxx/pv-net';
import type { PassthroughComponent } from '@tachyxx/passthrough';
import type { SriovNicComponent } from '@tachyxx/sriov-nic';
import { ROOT } from './io-helpers.js';

export const image = (n: string) => readFileSync(join(ROOT, 'guests/build', `${n}.elf`));
export const sriovGuestsReady = ['ping-vf', 'udpblast-vf', 'ping', 'udpblast'].every((n) => existsSync(join(ROOT, 'guests/build', `${n}.elf`)));
if (!sriovGuestsReady) console.warn('sriov-guests: guests/build/*-vf.elf missing (pnpm guests) - SKIPPED');

export function sriovHost(o: { irq?: string; topology?: string; pcapDir?: string } = {}) {
  const reg = registry();
  let yaml = readFileSync(join(ROOT, 'examples/host-sriov.yaml'), 'utf8');
  if (o.irq) yaml = yaml.replace('irq-remap: posted', `irq-remap: ${o.irq}`);
  if (o.pcapDir) yaml = yaml.replace('pv-net: bridge', `pv-net: { variant: bridge, pcapDir: "${o.pcapDir}" }`);
  if (o.topology) yaml = yaml.replace(/topology: "[^"]*"/, `topology: "${o.topology}"`);
  yaml = yaml.replace(/^components:/m, 'components:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen');
  const out = new Map<number, string>();
  const log: string[] = [];
  const a = assembleHost(parseHostConfig(yaml, reg, { file: 'examples/host-sriov.yaml' }), reg, {
    console: (d, b) => out.set(d.domid, (out.get(d.domid) ?? '') + new TextDecoder().decode(b)),
    log: (l) => log.push(l),
  });
  const pt = a.component<PassthroughComponent>('passthrough');
  const sriov = a.component<SriovNicComponent>('sriov-nic');
  const xs = connectLocal(resolve(a.container, XENSTORED), 0);
  const drv = sriov.drivers[0]!;
  const vfSbdf = (k: number) => { const rid = drv.nic.sriov.vfRid(drv.nic.rid, k); return { seg: 0, bus: rid >> 8, devfn: rid & 0xff }; };
  /** A paused domain with VF k passed through. */
  const vfDomain = (name: string, prog: string, cmdline: string, k: number) => {
    const d = a.host.createDomain({ name, image: image(prog), memoryMiB: 16, paused: true, cmdline });
    const s = vfSbdf(k);
    const add = pt.passthrough.assignableAdd(s);
    expect(add.rc === 0 || /already/.test(add.reason)).toBe(true);
    const r = pt.passthrough.assign(d.domid, s);
    expect(r.reason).toBe(r.rc === 0 ? r.reason : '');
    expect(r.rc).toBe(0);
    return d;
  };
  const vifDomain = (name: string, prog: string, cmdline: string) => {
    const d = a.host.createDomain({ name, image: image(prog), memoryMiB: 16, paused: true, cmdline });
    addVif(xs, d.domid, { devid: 0, bridge: 'xenbr0' });
    return d;
  };
  const text = (d: Domain<Vcpu>) => out.get(d.domid) ?? '';
  const stat = (p: string) => a.host.stats.lookup(p)?.dump() as number;
  const runAll = (ds: Domain<Vcpu>[], ns = 30e9) => {
    for (const d of ds) a.host.unpauseDomain(d);
    a.host.run({ untilNs: a.host.clock.now + ns }); // returns when every domain has shut down (or idle)
  };
  return { a, host: a.host, pt, sriov, drv, vfSbdf, vfDomain, vifDomain, text, stat, runAll, log };
}

