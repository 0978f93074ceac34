// Shared by the io-*.test.ts files (and net-helpers.ts): an in-process host assembled from a host
// config by assembleHost, as `tachyxx run --domain` and `tachyxx host` assemble theirs: event
// channels, grant tables and xenstored (and, where asked, the console, xenbus and device components).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostConfigFromObject } from '@tachyxx/core';
import { assembleHost, type AssembledHost, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { registry } from '@tachyxx/sim';
import type { EvtchnComponent, EvtchnVariant } from '@tachyxx/evtchn';
import type { GrantComponent } from '@tachyxx/grant';
import type { XenstoreComponent } from '@tachyxx/xenstore';
import type { ConsoleComponent } from '@tachyxx/xenbus';

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

/** The CPU engine of an in-process test host (default TEST_ENGINE) and the isa's wasmTierUp. */
export interface TestEngine { engine?: 'js' | 'wasm'; wasmTierUp?: number }

/**
 * A host assembled from `{ pcpus, memoryMiB, components }` (isa tachy-v1 on `engine`, mmu tagged,
 * sched credit, hypervisor xen, evtchn fifo, grant v1 and xenstore cxenstored, plus or overriding
 * `components`), every plugin Tachyxx knows in its registry; guest output and the host log collected.
 */
export function assembledTestHost(o: TestEngine & { pcpus?: number; memoryMiB?: number; components?: Record<string, unknown>; costs?: Record<string, number> } = {}) {
  /** Guest output (console_io and console rings) by domain name. */
  const out = new Map<string, string>();
  const log: string[] = [];
  const reg = registry();
  const a: AssembledHost = assembleHost(hostConfigFromObject({
    pcpus: o.pcpus ?? 1,
    memoryMiB: o.memoryMiB ?? 256,
    components: {
      isa: testIsa(o.engine, o.wasmTierUp), mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo', grant: 'v1', xenstore: 'cxenstored',
      ...o.components,
    },
    costs: o.costs ?? {},
  }, reg, { file: 'assembledTestHost' }), reg, {
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
    log: (l) => log.push(l),
  });
  const evtchn = a.component<EvtchnComponent>('evtchn').channels;
  const gnt = a.component<GrantComponent>('grant').tables;
  const store = a.component<XenstoreComponent>('xenstore').store;
  const text = (d: Domain<Vcpu>) => out.get(d.name) ?? '';
  return { a, host: a.host, evtchn, gnt, store, xs: store.xs, out, text, log };
}

/**
 * The io tests' host: `variant` of event channels (default fifo); with `console`, xenconsoled
 * (`rings`: its console rings, output joining `out`). `out` is guest output by domain name.
 */
export function ioHost(o: TestEngine & { variant?: EvtchnVariant; pcpus?: number; console?: boolean } = {}) {
  const h = assembledTestHost({ pcpus: o.pcpus, engine: o.engine, wasmTierUp: o.wasmTierUp, components: { evtchn: o.variant ?? 'fifo', ...(o.console ? { console: 'xenconsoled' } : {}) } });
  return { ...h, rings: o.console ? h.a.component<ConsoleComponent>('console').rings : null };
}
