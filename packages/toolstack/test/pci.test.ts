// The toolstack's PCI passthrough: pci-assignable-*, pci = [...] at create, pci-attach / -detach /
// -list, the xl-pci-configuration(5) options accepted or refused, and the edupt guest running
// with its device (the same console output under posted and forwarded interrupts).
import { describe, expect, it } from 'vitest';
import { PluginRegistry, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { PCIE_PLUGINS } from '@tachyxx/pcie';
import { IOMMU_PLUGINS } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS } from '@tachyxx/irq-remap';
import { PASSTHROUGH_PLUGINS } from '@tachyxx/passthrough';
import { parsePciSpec } from '@tachyxx/xlcfg';
import { Toolstack } from '@tachyxx/toolstack';
import { cfg, fakeCtx, makeToolstack, op, runUntil } from './helpers.js';

function ptToolstack(irq = 'posted', iommu: unknown = 'shared-stage2') {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...PCIE_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PASSTHROUGH_PLUGINS]);
  const config = hostConfigFromObject({
    pcpus: 2, memoryMiB: 512,
    components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo', pcie: 'ecam', iommu, 'irq-remap': irq, passthrough: 'pv' },
  }, reg);
  return new Toolstack({ config, registry: reg, restartDelayMs: 0 });
}

const fails = async (p: Promise<unknown>) => { try { await p; } catch (e) { return e as { code: string; message: string }; } throw new Error('did not fail'); };

describe('toolstack pci passthrough', () => {
  it('a host without passthrough refuses pci ops and pci = [...] with what to select', async () => {
    const ts = makeToolstack();
    try {
      expect(await fails(op(ts, 'pci-assignable-list'))).toMatchObject({ code: 'ENOTSUP', message: expect.stringMatching(/select components iommu, irq-remap and passthrough/) });
      expect(await fails(op(ts, 'create', { config: cfg('g', 'hello', { pcidevs: [parsePciSpec('01:00.0')] }) }))).toMatchObject({ code: 'ENOTSUP' });
      expect((await op(ts, 'list')).domains).toHaveLength(1); // nothing half-built
    } finally { ts.close(); }
  });

  it('assignable list, pci = [...] at create, pci-list, pci-detach; options refused with reasons', async () => {
    const ts = ptToolstack();
    try {
      expect(await fails(op(ts, 'pci-assignable-add', { bdf: '1:0.9' }))).toMatchObject({ code: 'EINVAL', message: 'pci-assignable-add: malformed BDF specification "1:0.9"' });
      expect(await fails(op(ts, 'pci-assignable-add', { bdf: '05:00.0' }))).toMatchObject({ code: 'ENOENT' });
      // Not assignable yet: refused with libxl's reason.
      expect(await fails(op(ts, 'create', { config: cfg('g', 'edupt', { pcidevs: [parsePciSpec('01:00.0')] }) }))).toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/PCI device 0000:01:00\.0 is not assignable/) });
      await op(ts, 'pci-assignable-add', { bdf: '01:00.0' });
      expect((await op(ts, 'pci-assignable-list')).devices).toEqual(['0000:01:00.0']);
      for (const [spec, why] of [['01:00.0@4', /virtual slot/], ['01:00.0,msitranslate=1', /msitranslate=1 is for HVM/], ['01:00.0,power_mgmt=1', /HVM only/], ['name=nic', /name= is not supported/]] as const) {
        expect(await fails(op(ts, 'create', { config: cfg('g', 'edupt', { pcidevs: [parsePciSpec(spec)] }) }))).toMatchObject({ code: 'EINVAL', message: expect.stringMatching(why) });
      }
      const c = await op(ts, 'create', { config: cfg('g', 'edupt', { pcidevs: [parsePciSpec('01:00.0,permissive=1,rdm_policy=relaxed')] }) });
      expect((await op(ts, 'pci-list', { domain: c.domid })).devices).toEqual([{ domid: c.domid, vdevfn: 0, bdf: '0000:01:00.0', permissive: true, iommuFaults: 0 }]);
      expect((await op(ts, 'pci-assignable-list')).devices).toEqual([]);
      expect(await fails(op(ts, 'pci-assignable-remove', { bdf: '01:00.0' }))).toMatchObject({ code: 'EBUSY' });
      const d2 = await op(ts, 'create', { config: cfg('h', 'hello'), paused: true });
      expect(await fails(op(ts, 'pci-attach', { domain: d2.domid, pci: parsePciSpec('01:00.0') }))).toMatchObject({ code: 'EBUSY', message: expect.stringMatching(/already assigned to domain/) });
      expect(await fails(op(ts, 'pci-detach', { domain: d2.domid, bdf: '01:00.0' }))).toMatchObject({ code: 'ENOENT' });
      await op(ts, 'pci-detach', { domain: c.domid, bdf: '01:00.0' });
      expect((await op(ts, 'pci-list', { domain: c.domid })).devices).toEqual([]);
      await op(ts, 'pci-attach', { domain: d2.domid, pci: parsePciSpec('01:00.*') });
      expect((await op(ts, 'pci-list', { domain: d2.domid })).devices.map((x: { bdf: string }) => x.bdf)).toEqual(['0000:01:00.0']);
      // Death takes it back: assignable again.
      await op(ts, 'destroy', { domain: d2.domid });
      expect((await op(ts, 'pci-assignable-list')).devices).toEqual(['0000:01:00.0']);
      await op(ts, 'pci-assignable-remove', { bdf: '01:00.0' });
      expect((await op(ts, 'pci-assignable-list')).devices).toEqual([]);
    } finally { ts.close(); }
  });

  it('iommu none: refused unless unsafe-passthrough', async () => {
    const ts = ptToolstack('none', 'none');
    try {
      await op(ts, 'pci-assignable-add', { bdf: '01:00.0' });
      expect(await fails(op(ts, 'create', { config: cfg('g', 'edupt', { pcidevs: [parsePciSpec('01:00.0')] }) }))).toMatchObject({ code: 'ENOTSUP', message: expect.stringMatching(/unsafe-passthrough/) });
    } finally { ts.close(); }
  });

  it('seize=1 makes the device assignable; the edupt guest prints the same under posted and forwarded', async () => {
    const outs: string[] = [];
    for (const irq of ['posted', 'forwarded']) {
      const ts = ptToolstack(irq);
      try {
        await op(ts, 'create', { config: cfg('edu', 'edupt', { pcidevs: [parsePciSpec('01:00.0,seize=1')] }), paused: true });
        const ctx = fakeCtx();
        await op(ts, 'console', { domain: 'edu' }, ctx);
        await op(ts, 'unpause', { domain: 'edu' });
        await runUntil(ts, () => ctx.events.at(-1)?.ev.event === 'end');
        outs.push(ctx.events.filter((e) => e.ev.event === 'console').map((e) => Buffer.from(e.ev.data as string, 'base64').toString()).join(''));
        expect(outs.at(-1)).toMatch(/edupt: DMA 2048 bytes to the device and back through the IOMMU: identical/);
        // Destroyed on poweroff: the device is assignable again (seize made it so).
        expect((await op(ts, 'pci-assignable-list')).devices).toEqual(['0000:01:00.0']);
        expect(ts.host.stats.lookup('host.irq-remap.pciess0.interrupts')?.dump()).toBe(3);
        expect(ts.host.stats.lookup('host.irq-remap.pciess0.hypervisorCycles')?.dump()).toBe(irq === 'posted' ? 0 : 3 * 1427);
      } finally { ts.close(); }
    }
    expect(outs[0]).toBe(outs[1]);
  });
});
