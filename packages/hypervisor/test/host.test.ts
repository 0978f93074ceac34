// The host end to end with real guest images: scheduling shares, caps, pinning, lifecycle and
// memory accounting, through the same composition root the runner uses.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PluginRegistry, TachyxxError, XenError, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, HostError, type DomainSpec } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));
const MS = 1_000_000;

function makeHost(over: Record<string, unknown> = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({
    pcpus: 1, memoryMiB: 512,
    components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' },
    ...over,
  }, reg);
  const out = new Map<string, string>();
  const host = new Host({
    container: buildContainer(config, reg),
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
  });
  return { host, out };
}

const spinner = (name: string, extra: Partial<DomainSpec> = {}): DomainSpec =>
  ({ name, image: image('bench-intmix'), memoryMiB: 16, ...extra });

describe('the host', () => {
  it('refuses a second domain of the same name with a HostError carrying EEXIST (a XenError)', () => {
    const { host } = makeHost();
    host.createDomain(spinner('twin'));
    let err: unknown;
    try { host.createDomain(spinner('twin')); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(HostError);
    expect(err).toBeInstanceOf(XenError);
    expect(err).toBeInstanceOf(TachyxxError);
    expect((err as HostError).errno).toBe(17); // EEXIST
    expect((err as HostError).name).toBe('HostError');
    expect((err as Error).message).toMatch(/a domain named 'twin' already exists/);
  });

  it('gives two CPU-bound domains with weights 512:256 on one pCPU a 2:1 share (within 5%)', () => {
    const { host } = makeHost();
    const a = host.createDomain(spinner('heavy', { weight: 512 }));
    const b = host.createDomain(spinner('light', { weight: 256 }));
    host.run({ untilNs: 1100 * MS });
    const ra = host.sched.domainRuntime(a.domid, host.clock.now);
    const rb = host.sched.domainRuntime(b.domid, host.clock.now);
    expect(ra + rb).toBeGreaterThan(1090 * MS);
    expect(ra / rb).toBeGreaterThan(2 * 0.95);
    expect(ra / rb).toBeLessThan(2 * 1.05);
  });

  it('holds a cap of 50 for a lone CPU-bound domain (within 5%)', () => {
    const { host } = makeHost();
    const a = host.createDomain(spinner('capped', { cap: 50 }));
    host.run({ untilNs: 600 * MS });
    const share = host.sched.domainRuntime(a.domid, host.clock.now) / host.clock.now;
    expect(share).toBeGreaterThan(0.45);
    expect(share).toBeLessThan(0.55);
  });

  it('never runs a pinned vCPU outside its hard affinity', () => {
    const { host } = makeHost({ pcpus: 2 });
    const a = host.createDomain(spinner('p1', { cpus: [1] }));
    const b = host.createDomain(spinner('p1b', { cpus: [1] }));
    const c = host.createDomain(spinner('free'));
    for (let t = 10; t <= 200; t += 10) {
      host.run({ untilNs: t * MS });
      expect(host.pcpus[0]!.current?.domain.domid).not.toBe(a.domid);
      expect(host.pcpus[0]!.current?.domain.domid).not.toBe(b.domid);
    }
    // pCPU 0 had only `free` to run: it ran it all the time.
    expect(host.sched.domainRuntime(c.domid, host.clock.now)).toBeGreaterThan(190 * MS);
  });

  it('creates and destroys 200 domains and returns host free memory exactly to its start value', () => {
    const { host } = makeHost();
    const free0 = host.machine.freeFrames();
    for (let i = 0; i < 200; i++) {
      const d = host.createDomain({ name: `d${i}`, image: image('hello'), memoryMiB: 4 + (i % 3) });
      if (i % 2) host.run({ untilNs: host.clock.now + MS });
      host.destroyDomain(d);
    }
    expect(host.machine.freeFrames()).toBe(free0);
    expect(host.domains.list()).toHaveLength(0);
  });

  it('refuses a duplicate domain name and an image that does not fit, with clear errors', () => {
    const { host } = makeHost();
    host.createDomain({ name: 'x', image: image('hello'), memoryMiB: 4 });
    expect(() => host.createDomain({ name: 'x', image: image('hello'), memoryMiB: 4 })).toThrow(/a domain named 'x' already exists/);
    expect(() => host.createDomain({ name: 'huge', image: image('hello'), memoryMiB: 4096 })).toThrow(/not enough free memory|out of range|RAM/);
  });

  it('runs a domain to poweroff and accounts its runstate times', () => {
    const { host, out } = makeHost();
    const d = host.createDomain({ name: 'hello', image: image('hello'), memoryMiB: 8 });
    expect(host.run()).toBe('all-shutdown');
    expect(out.get('hello')).toMatch(/^Hello from Tachyxx!/);
    expect(d.shutdownCode).toBe(0);
    const t = d.vcpus[0]!.runstateTimes(host.clock.now);
    expect(t.running).toBeGreaterThan(0);
    expect(t.running + t.runnable + t.blocked + t.offline).toBe(host.clock.now - 0);
  });

  it('never gives a runstate a negative time when a change is stamped before the current state began', () => {
    const { host } = makeHost();
    const v = host.createDomain({ name: 'rs', image: image('hello'), memoryMiB: 16, paused: true }).vcpus[0]!;
    v.setRunstate('running', 5_000);
    const before = v.runstateTimes(5_000);
    v.setRunstate('offline', 4_819); // a stop stamped with the event queue's time, 181 ns before the pCPU's
    v.setRunstate('runnable', 6_000);
    const t = v.runstateTimes(4_000); // (asked with an earlier time too)
    for (const k of ['running', 'runnable', 'blocked', 'offline'] as const) expect(t[k]).toBeGreaterThanOrEqual(0);
    expect(t.running).toBe(before.running);
    expect(t.offline).toBe(before.offline + 1_000);
    expect(v.runstateTimes(7_000).runnable).toBe(before.runnable + 1_000);
    const all = v.runstateTimes(7_000);
    expect(all.running + all.runnable + all.blocked + all.offline).toBe(7_000);
  });

  it('places a new domain on the best-fitting NUMA node when nothing is pinned (memory and soft affinity)', () => {
    const { host } = makeHost({
      pcpus: 2, memoryMiB: 512,
      numa: { nodes: [{ memoryMiB: 256, pcpus: [0] }, { memoryMiB: 256, pcpus: [1] }], distances: [[10, 20], [20, 10]] },
    });
    const a = host.createDomain({ name: 'a', image: image('hello'), memoryMiB: 100, paused: true });
    const b = host.createDomain({ name: 'b', image: image('hello'), memoryMiB: 100, paused: true });
    const nodeOf = (d: typeof a) => host.machine.nodeOfMfn(d.p2m!.lookup(0x80000));
    expect(nodeOf(a)).toBe(0);
    expect(nodeOf(b)).toBe(1);
    expect([...(a.vcpus[0]!.sched.soft ?? [])]).toEqual([0]);
    expect([...(b.vcpus[0]!.sched.soft ?? [])]).toEqual([1]);
    // every frame of b is on node 1
    for (let g = 0x80000; g < 0x80000 + 100 * 256; g += 997) expect(host.machine.nodeOfMfn(b.p2m!.lookup(g))).toBe(1);
  });
});
