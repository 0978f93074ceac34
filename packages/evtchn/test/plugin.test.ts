// The component as a plugin: the host config picks the variant and the port limit.
import { describe, it, expect } from 'vitest';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS, installEventChannelsFrom } from '@tachyxx/evtchn';
import { image } from './harness.js';

function hostWith(evtchn?: unknown) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...EVTCHN_PLUGINS]);
  const components: Record<string, unknown> = { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' };
  if (evtchn) components['evtchn'] = evtchn;
  const container = buildContainer(hostConfigFromObject({ pcpus: 1, memoryMiB: 64, components }, reg), reg);
  const host = new Host({ container, console: () => {} });
  return { host, ev: installEventChannelsFrom(host, container), reg };
}

describe('the evtchn plugin', () => {
  it('selects the variant and the default port limit from the host config', () => {
    const { host, ev } = hostWith({ variant: '2-level', maxEventChannels: 63 });
    expect(ev.config).toEqual({ variant: '2-level', maxEventChannels: 63 });
    const d = host.createDomain({ name: 'a', image: image('hello'), memoryMiB: 8, paused: true });
    expect(ev.maxEventChannels(d.domid)).toBe(63);
  });

  it('defaults to fifo with 1023 ports when the config names no evtchn component', () => {
    const { ev } = hostWith();
    expect(ev.config).toEqual({ variant: 'fifo', maxEventChannels: 1023 });
  });

  it('refuses an unknown variant with the known ones', () => {
    const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...EVTCHN_PLUGINS]);
    expect(() => hostConfigFromObject({ components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit', evtchn: '3-level' } }, reg)).toThrow(/2-level|fifo/);
  });
});
