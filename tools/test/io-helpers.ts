// Shared by the io-*.test.ts files: an in-process host with event channels, grant tables and
// xenstore attached exactly as `tachyxx run --domain` does.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host } from '@tachyxx/hypervisor';
import { installEventChannels, type EvtchnVariant } from '@tachyxx/evtchn';
import { GrantTables } from '@tachyxx/grant';
import { attachXenstore } from '@tachyxx/xenstore';

export const ROOT = resolve(import.meta.dirname, '../..');
export const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

export function ioHost(o: { variant?: EvtchnVariant; pcpus?: number } = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: o.pcpus ?? 1, memoryMiB: 256, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const out = new Map<string, string>();
  const host = new Host({
    container: buildContainer(config, reg),
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
  });
  const evtchn = installEventChannels(host, { variant: o.variant ?? 'fifo' });
  const gnt = GrantTables.attach(host);
  const store = attachXenstore(host, evtchn);
  return { host, evtchn, gnt, store, xs: store.xs, out };
}
