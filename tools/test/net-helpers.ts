// Shared by net-guests.test.ts and tools/hostile/netfront-*.test.ts: an in-process host assembled
// from a host config as `tachyxx host` assembles it (event channels FIFO, grant tables, xenstored,
// dom0's xenbus backends with pv-net's netback and bridges) running the C network guests.
import { connectLocal } from '@tachyxx/xenstore';
import { addVif, type PvNetComponent, type VifSpec } from '@tachyxx/pv-net';
import { assembledTestHost, image, type TestEngine } from './io-helpers.js';

export function netGuestHost(o: TestEngine & { pcpus?: number; maxQueues?: number } = {}) {
  const h = assembledTestHost({
    pcpus: o.pcpus, engine: o.engine, wasmTierUp: o.wasmTierUp,
    components: { xenbus: 'linux', 'pv-net': { variant: 'bridge', ...(o.maxQueues !== undefined ? { maxQueues: o.maxQueues } : {}) } },
  });
  const { host, log, text } = h;
  const pv = h.a.component<PvNetComponent>('pv-net');
  const net = pv.backend;
  const bridges = pv.bridges;
  const dom0xs = connectLocal(h.xs, 0);
  /** A paused domain running guests/build/<prog>.elf with `cmdline` and one vif. */
  const guest = (name: string, prog: string, cmdline: string, vif: Partial<VifSpec> = {}) => {
    const d = host.createDomain({ name, image: image(prog), memoryMiB: 16, paused: true, cmdline });
    addVif(dom0xs, d.domid, { devid: 0, ...vif });
    return d;
  };
  return { host, net, bridges, log, text, guest, dom0xs };
}
