// iommu as a host component: picked in host YAML, params and costs from the config, one IOMMU
// per PCIeSS made on first use, following the host's P2M, its fault interrupt handled at PL1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DMA_WRITE, parseHostConfig, PluginRegistry, resolve } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { IO_TRANSLATORS, IOMMU_PLUGINS, type IommuComponent, type IommuFaultRecord } from '../src/index.js';
import { cost, maOf, RAM_GPA, RID_A } from './helpers.js';

const HELLO = readFileSync(join(import.meta.dirname, '../../../guests/build/hello.elf'));
const registry = () => new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...IOMMU_PLUGINS]);
const yaml = (iommu: string) => `
components:
  isa: tachy-v1
  mmu: tagged
  sched: credit
  hypervisor: xen
  iommu: ${iommu}
costs:
  iommu.walkRef: 150
`;

describe('iommu component', () => {
  it('is selected in host YAML with its params and iommu.* costs, and serves IO_TRANSLATORS', () => {
    const reg = registry();
    const config = parseHostConfig(yaml('{ variant: shared-stage2, iotlbEntries: 128, iotlbWays: 8 }'), reg, { file: 'host.yaml' });
    const log: string[] = [];
    const a = assembleHost(config, reg, { console: () => {}, log: (l) => log.push(l) });
    const c = a.component<IommuComponent>('iommu');
    expect(c.costs.walkRef).toBe(150);
    expect(resolve(a.container, IO_TRANSLATORS)).toBe(c);
    const io = c.unit(0);
    expect(io.iotlb.entries).toBe(128);
    expect(io.iotlb.ways).toBe(8);
    expect(c.unit(0)).toBe(io);
    expect(c.unit(1).id).toBe('pciess1');
    expect(c.passthroughAllowed().allowed).toBe(true);

    const d = a.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    expect(io.assignDevice(RID_A, d.domid)).toBe(0);
    const gpa = RAM_GPA + 0x3000;
    expect(c.translator(0).translate(RID_A, gpa, DMA_WRITE, cost())).toBe(maOf(d, gpa));
    expect(a.host.stats.lookup(`host.iommu.pciess0.devices.rid${RID_A}.translations`)?.dump()).toBe(1);

    // A fault: a log line at once, the records handed to PL1's hook by a host event.
    const taken: IommuFaultRecord[] = [];
    c.onFaults((recs) => taken.push(...recs));
    expect(io.translate(RID_A, 0x1000, DMA_WRITE, cost())).toBe(-1);
    expect(log.some((l) => /IOMMU pciess0: DMA Write fault: device 00:01\.0/.test(l))).toBe(true);
    expect(taken).toHaveLength(0);
    a.host.queue.runUntil(a.host.clock.now);
    expect(taken.map((r) => r.kind)).toEqual(['translation']);
    expect(io.queuedFaults).toBe(0);

    // The domain goes: its device loses its context.
    a.host.destroyDomain(d);
    expect(io.devices()).toEqual([]);
  });

  it('refuses passthrough under none unless unsafe-passthrough is set', () => {
    const reg = registry();
    const safe = assembleHost(parseHostConfig(yaml('none'), reg, { file: 'host.yaml' }), reg, { console: () => {}, log: () => {} });
    const v = safe.component<IommuComponent>('iommu').passthroughAllowed();
    expect(v.allowed).toBe(false);
    expect(v.errno).toBe(-95);
    expect(v.reason).toMatch(/unsafe-passthrough/);
    const unsafe = assembleHost(parseHostConfig(yaml('{ variant: none, unsafe-passthrough: true }'), reg, { file: 'host.yaml' }), reg, { console: () => {}, log: () => {} });
    expect(unsafe.component<IommuComponent>('iommu').passthroughAllowed().allowed).toBe(true);
  });

  it('an unknown variant is a config error listing the known ones', () => {
    let err: unknown;
    try { parseHostConfig(yaml('nested'), registry(), { file: 'host.yaml' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ConfigError);
    expect(String((err as Error).message)).toMatch(/unknown variant 'nested'/);
    expect(String((err as Error).message)).toMatch(/none.*private.*shared-stage2/s);
  });
});
