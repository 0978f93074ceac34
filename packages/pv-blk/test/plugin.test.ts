// pv-blk as a host component: selected in host YAML next to xenbus, costs under `pv-blk.*`,
// blkback registered for vbd, a device served through the assembled host's components.
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
import { addVbd, PVBLK_PLUGINS, type PvBlkComponent } from '@tachyxx/pv-blk';
import { HELLO, tempDisk } from './helpers.js';

const registry = () => new PluginRegistry([
  ...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS,
  ...XENSTORE_PLUGINS, xenbusPlugin, ...PVBLK_PLUGINS,
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
  pv-blk: file
costs:
  pv-blk.requestNs: 5000
`;

describe('pv-blk component', () => {
  it('is selected in host YAML, takes its costs, registers blkback for vbd', () => {
    const reg = registry();
    const config = parseHostConfig(YAML, reg, { file: 'host.yaml' });
    const a = assembleHost(config, reg, { console: () => {}, log: () => {} });
    const c = a.component<PvBlkComponent>('pv-blk');
    expect(c.costs).toEqual({ requestNs: 5000, perKiBNs: 500, flushNs: 100000 });
    expect(c.backend.kind).toBe('vbd');
    const d = a.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    const xs = connectLocal(resolve(a.container, XENSTORED), 0);
    const p = addVbd(xs, d.domid, { target: tempDisk(1 << 20), vdev: 'xvda' });
    a.host.queue.runUntil(a.host.clock.now);
    expect(xs.read(`${p.backend}/state`)).toBe('2'); // InitWait: probed by blkback
    expect(xs.read(`${p.backend}/sectors`)).toBe('2048');
  });

  it('refuses an unknown cost key', () => {
    expect(() => parseHostConfig(`${YAML}  pv-blk.bogusNs: 1\n`, registry(), { file: 'host.yaml' })).toThrow(/pv-blk.requestNs/);
  });
});
