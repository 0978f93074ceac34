// pv-net as a host component: selected in host YAML next to xenbus, costs under `pv-net.*`,
// netback registered for vif, a device served through the assembled host's components.
import { describe, expect, it } from 'vitest';
import { parseHostConfig, PluginRegistry, resolve } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS, XENSTORED, connectLocal } from '@tachyxx/xenstore';
import { xenbusPlugin } from '@tachyxx/xenbus';
import { addVif, PVNET_PLUGINS, type PvNetComponent } from '@tachyxx/pv-net';
import { HELLO } from './helpers.js';

const registry = () => new PluginRegistry([
  ...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS,
  ...XENSTORE_PLUGINS, xenbusPlugin, ...PVNET_PLUGINS,
]);

const YAML = `
components:
  isa: tachy-v1
  mmu: tagged
  sched: credit
  hypervisor: xen
  evtchn: fifo
  grant: v1
  xenstore: cxenstored
  xenbus: linux
  pv-net:
    variant: bridge
    maxQueues: 2
costs:
  pv-net.frameNs: 500
`;

describe('pv-net component', () => {
  it('is selected in host YAML, takes its costs and params, registers netback for vif', () => {
    const reg = registry();
    const config = parseHostConfig(YAML, reg, { file: 'host.yaml' });
    const a = assembleHost(config, reg, { console: () => {}, log: () => {} });
    const c = a.component<PvNetComponent>('pv-net');
    expect(c.costs).toEqual({ frameNs: 500, perKiBNs: 100 });
    expect(c.backend.kind).toBe('vif');
    expect(c.backend.maxQueues).toBe(2);
    const d = a.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    const xs = connectLocal(resolve(a.container, XENSTORED), 0);
    const p = addVif(xs, d.domid, { devid: 0 });
    a.host.queue.runUntil(a.host.clock.now);
    expect(xs.read(`${p.backend}/state`)).toBe('2'); // InitWait: probed by netback
    expect(xs.read(`${p.backend}/multi-queue-max-queues`)).toBe('2');
  });

  it('refuses an unknown cost key', () => {
    expect(() => parseHostConfig(`${YAML}  pv-net.bogusNs: 1\n`, registry(), { file: 'host.yaml' })).toThrow(/pv-net.frameNs/);
  });
});
