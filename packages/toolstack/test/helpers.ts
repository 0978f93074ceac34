import { resolve as resolvePath } from 'node:path';
import { PluginRegistry, hostConfigFromObject, type Plugin } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { HostRunner, Toolstack, type OpContext, type ToolstackOptions } from '@tachyxx/toolstack';

export const ROOT = resolvePath(import.meta.dirname, '../../..');
export const GUEST = (name: string) => resolvePath(ROOT, 'guests/build', `${name}.elf`);

export function makeToolstack(host: Record<string, unknown> = {}, opts: Partial<ToolstackOptions> = {}, plugins: readonly Plugin<any>[] = []): Toolstack {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...plugins]);
  const config = hostConfigFromObject({
    pcpus: 4, memoryMiB: 1024,
    components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo' },
    ...host,
  }, reg);
  return new Toolstack({ config, registry: reg, restartDelayMs: 0, ...opts });
}

export interface FakeCtx extends OpContext {
  events: { id: number | string; ev: Record<string, unknown> }[];
  streams: Map<number | string, () => void>;
}

export function fakeCtx(): FakeCtx {
  const events: FakeCtx['events'] = [];
  const streams = new Map<number | string, () => void>();
  return {
    events, streams,
    send: (id, ev) => (events.push({ id, ev }), true),
    addStream: (id, close) => void streams.set(id, close),
    endStream: (id) => {
      streams.get(id)?.();
      streams.delete(id);
    },
  };
}

let nextId = 1;
/** Runs an op like the server does. */
export function op<T = any>(ts: Toolstack, name: string, args: Record<string, unknown> = {}, ctx: OpContext = fakeCtx()): Promise<T> {
  return ts.op(name, args, ctx, nextId++) as Promise<T>;
}

/** Runs the host (unpaced) until `pred` holds or `maxSteps` slices passed. */
export async function runUntil(ts: Toolstack, pred: () => boolean, maxSteps = 2000): Promise<void> {
  const r = new HostRunner(ts, { paced: false });
  for (let i = 0; i < maxSteps && !pred(); i++) {
    r.step();
    await new Promise((res) => setImmediate(res));
  }
  if (!pred()) throw new Error('condition not reached');
}

export function cfg(name: string, guest: string, extra: Record<string, unknown> = {}, b: Record<string, unknown> = {}) {
  return {
    c_info: { name, type: 'pv' },
    b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 16384, target_memkb: 16384, kernel: GUEST(guest), ...b },
    ...extra,
  };
}
