// pv-net guests (issue 12 §3): the C netfront, the guests' IPv4 stack and the example guests
// (ping, udpecho, udpblast) over dom0's netback and bridges, in one in-process host as
// `tachyxx host` assembles it: two domains on xenbr0 ping each other, a third on another bridge
// cannot reach them, udpblast counts every datagram at a rate the rings allow.
import { describe, it, expect } from 'vitest';
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
import { image } from './io-helpers.js';

export function netGuestHost(o: { pcpus?: number; maxQueues?: number } = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: o.pcpus ?? 1, memoryMiB: 256, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
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

describe('pv-net guests: ping', () => {
  it('two domains on xenbr0 ping each other and power off; a third on xenbr1 gets no answer', () => {
    const h = netGuestHost();
    const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=4');
    const b = h.guest('ping-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=4');
    const c = h.guest('ping-c', 'ping', 'ip=10.0.0.3/24 peer=10.0.0.1 count=1 quiet=0', { bridge: 'xenbr1' });
    for (const d of [a, b, c]) h.host.unpauseDomain(d);
    const t0 = performance.now();
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    const wall = performance.now() - t0;
    const ta = h.text(a), tb = h.text(b), tc = h.text(c);
    console.log(`${ta}\n${tb}\n${tc}\nwall ${wall.toFixed(0)} ms`);
    expect(why, ta + tb + tc).toBe('all-shutdown');
    for (const [t, peer] of [[ta, '10.0.0.2'], [tb, '10.0.0.1']] as const) {
      expect(t).toMatch(/event channels (split|shared)/);
      expect(t).toContain(`PING ${peer}: 56 data bytes`);
      for (let i = 1; i <= 4; i++) expect(t).toMatch(new RegExp(`64 bytes from ${peer.replace(/\./g, '\\.')}: icmp_seq=${i} time=\\d+\\.\\d{3} ms\\n`));
      expect(t).toContain('4 packets transmitted, 4 received, 0% packet loss');
      expect(t).toMatch(/rtt min\/avg\/max = [\d.]+ ms \/ [\d.]+ ms \/ [\d.]+ ms \(simulated time\)/);
    }
    expect(a.shutdownReason).toBe('poweroff');
    expect(b.shutdownReason).toBe('poweroff');
    expect(tc).toContain('10.0.0.1 does not answer (10 s)');
    expect(c.shutdownReason).toBe('crash');
  });
});
