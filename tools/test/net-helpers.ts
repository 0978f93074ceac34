// Shared by net-guests.test.ts and tools/hostile/netfront-*.test.ts: an in-process host as
// `tachyxx host` assembles it (event channels FIFO, grant tables, xenstored, dom0's xenbus backends
// with pv-net's netback and bridges) running the C network guests.
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { installEventChannels } from '@tachyxx/evtchn';
import { GrantTables } from '@tachyxx/grant';
import { attachXenstore, connectLocal } from '@tachyxx/xenstore';
import { XenbusBackends } from '@tachyxx/xenbus';
import { addVif, BridgeSet, NetBackend, type VifSpec } from '@tachyxx/pv-net';
import { image, testIsa } from './io-helpers.js';


export function netGuestHost(o: { pcpus?: number; maxQueues?: number; engine?: 'js' | 'wasm'; wasmTierUp?: number } = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: o.pcpus ?? 1, memoryMiB: 256, components: { isa: testIsa(o.engine, o.wasmTierUp), mmu: 'tagged', sched: 'credit' } }, reg);
  const out = new Map<number, string>();
  const host = new Host({
    container: buildContainer(config, reg),
    console: (d, b) => out.set(d.domid, (out.get(d.domid) ?? '') + new TextDecoder().decode(b)),
  });
  const log: string[] = [];
  host.log = (l: string) => { log.push(l); };
  const evtchn = installEventChannels(host, { variant: 'fifo' });
  const gnt = GrantTables.attach(host);
  const store = attachXenstore(host, evtchn);
  const dom0xs = connectLocal(store.xs, 0);
  const backends = new XenbusBackends({ host, xs: connectLocal(store.xs, 0), evtchn, gnt });
  const bridges = new BridgeSet({ host, pcapDir: null });
  const net = new NetBackend({ host, gnt, bridges, maxQueues: o.maxQueues });
  backends.register(net);
  host.addWakeSource(() => bridges.inFlight > 0 || net.pendingCredit > 0);
  const text = (d: Domain<Vcpu>) => out.get(d.domid) ?? '';
  /** A paused domain running guests/build/<prog>.elf with `cmdline` and one vif. */
  const guest = (name: string, prog: string, cmdline: string, vif: Partial<VifSpec> = {}) => {
    const d = host.createDomain({ name, image: image(prog), memoryMiB: 16, paused: true, cmdline });
    addVif(dom0xs, d.domid, { devid: 0, ...vif });
    return d;
  };
  return { host, net, bridges, log, text, guest, dom0xs };
}
