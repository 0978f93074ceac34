import { describe, expect, it } from 'vitest';
import { bindSingleton, buildContainer, definePlugin, defineToken, p, parseHostConfig, PluginRegistry, resolve, TOKENS } from '../src/index.js';

describe('the README example', () => {
  it('builds a host with a tagged TLB of 128 entries', () => {
    interface Tlb {
      entries: number;
    }
    const TLB = defineToken<Tlb>('mmu.Tlb');
    const tagged = definePlugin({
      id: 'mmu.tlb',
      variant: 'tagged',
      description: 'VMID+ASID-tagged TLB',
      params: { entries: p.uint(64, 'TLB entries', { min: 1, max: 4096 }) },
      costs: { tlbMiss: p.uint(30, 'cycles per TLB miss, before the walk') },
      provides: [TLB],
      requires: [TOKENS.Stats],
      register(c, params) {
        bindSingleton(c, TLB, () => ({ entries: params.entries }));
      },
    });
    const registry = new PluginRegistry([tagged]);
    const host = buildContainer(parseHostConfig('components: { mmu.tlb: { variant: tagged, entries: 128 } }', registry), registry);
    expect(resolve(host, TLB).entries).toBe(128);
    expect(resolve(host, TOKENS.Costs)).toEqual({ 'mmu.tlb.tlbMiss': 30 });
  });
});
