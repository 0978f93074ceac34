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

/**
 * The CPU engine in-process test hosts use unless a test names one: `TACHYXX_TEST_ENGINE=wasm
 * npx vitest run --project hostile` runs the guest tests on the wasm engine (as
 * packages/isa/test/cpu-helpers.ts does for the CPU tests).
 */
export const TEST_ENGINE: 'js' | 'wasm' = process.env.TACHYXX_TEST_ENGINE === 'wasm' ? 'wasm' : 'js';
/** An isa component config for an in-process host: tachy-v1 on `engine` (wasmTierUp as given, else the default). */
export function testIsa(engine: 'js' | 'wasm' = TEST_ENGINE, wasmTierUp?: number) {
  return { variant: 'tachy-v1', engine, ...(wasmTierUp === undefined ? {} : { wasmTierUp }) };
}

export function ioHost(o: { variant?: EvtchnVariant; pcpus?: number; engine?: 'js' | 'wasm'; wasmTierUp?: number } = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: o.pcpus ?? 1, memoryMiB: 256, components: { isa: testIsa(o.engine, o.wasmTierUp), mmu: 'tagged', sched: 'credit' } }, reg);
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
