// Guest-facing robustness (issue 8): no guest input takes the host down, and a hostile guest
// cannot break another domain. Regression tests for the findings, each through the Host.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, HypercallTable, HYPERCALL_CONTINUATION, hex64 } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

function makeHost(over: Record<string, unknown> = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({
    pcpus: 1, memoryMiB: 512,
    components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' },
    ...over,
  }, reg);
  const out = new Map<string, string>();
  const log: string[] = [];
  const host = new Host({
    container: buildContainer(config, reg),
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
    log: (l) => log.push(l),
  });
  return { host, out, log };
}

describe('machine memory past 2 GiB', () => {
  it('boots 60 domains of 64 MiB on a 4 GiB host (frames above MA 2^31 + base) and every one powers off', () => {
    const { host, out } = makeHost({ memoryMiB: 4096 });
    const ds = [];
    for (let i = 0; i < 60; i++) ds.push(host.createDomain({ name: `h${i}`, image: image('hello'), memoryMiB: 64 }));
    expect(host.machine.usedFrames() * 4096).toBeGreaterThan(3 * 2 ** 30);
    expect(host.run({ untilNs: 10e9 })).toBe('all-shutdown');
    const crashed = ds.filter((d) => d.shutdownCode !== 0).map((d) => `${d.name}: ${d.crashMessage}`);
    expect(crashed).toEqual([]);
    expect(out.get('h59')).toBe(out.get('h0'));
  });
});

describe('host messages', () => {
  it('print 64-bit values as unsigned hex (a negative stval is 0xfffffffffffffdce, never 0x-232)', () => {
    expect(hex64(-0x232)).toBe('0xfffffffffffffdce');
    expect(hex64(-4)).toBe('0xfffffffffffffffc');
    expect(hex64(0x8000_0000)).toBe('0x80000000');
    expect(hex64(2 ** 40 + 5)).toBe('0x10000000005');
  });
});

describe('the hypercall table', () => {
  it('turns a throwing handler into its error hook (no throw), counts it, and resets continuation state per call', () => {
    const t = new HypercallTable<string>();
    t.register(40, () => { throw new Error('boom'); }, 'boom_op');
    t.register(41, (_v, a) => (t.preemptCheck() ? t.createContinuation(a.a0 + 1) : 7), 'cont_op');
    const args = { a0: 1, a1: 2, a2: 3, a3: 4, a4: 5, a5: 6 };
    expect(t.dispatch('v', 40, args)).toBe(-14);
    t.onHandlerError = (v, nr, name) => (v === 'v' && nr === 40 && name === 'boom_op' ? -99 : 0);
    expect(t.dispatch('v', 40, args)).toBe(-99);
    expect(t.failures.get('boom_op')).toBe(2);
    expect(t.dispatch('v', 41, args, 0)).toBe(HYPERCALL_CONTINUATION);
    expect(t.continuation).toEqual([2]);
    expect(t.dispatch('v', 41, args)).toBe(7);
    expect(t.continuation).toBeNull();
  });
});

describe('the guard and continuations in the stats tree and HostServices', () => {
  it('host.hypervisor.handlerFailures counts a throwing handler, which crashes only its caller', () => {
    const { host, log } = makeHost();
    host.registerHypercall(40, () => { throw new Error('boom'); }, 'boom_op');
    const d = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 16, paused: true });
    const other = host.createDomain({ name: 'other', image: image('hello'), memoryMiB: 16, paused: true });
    expect(host.hypercalls.dispatch(d.vcpus[0]!, 40, { a0: 1, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 })).toBe(-14);
    const tree = host.statsJson().tree as { host: { hypervisor: Record<string, unknown> } };
    expect(tree.host.hypervisor.handlerFailures).toBe(1);
    expect(tree.host.hypervisor.continuations).toBe(0);
    expect((tree.host.hypervisor.hypercalls as Record<string, number>).boom_op).toBe(1);
    expect(d.shutdownCode).not.toBeNull();
    expect(other.shutdownCode).toBeNull();
    expect(log.some((l) => l.includes('hypercall boom_op (40)'))).toBe(true);
  });

  it('takes one grant frame space (XENMAPSPACE_grant_table): a second one throws', () => {
    const { host } = makeHost();
    expect(host.grantFrames).toBeNull();
    const space = { frame: () => -22, setFrameGfn: () => {}, frameAt: () => -1 };
    host.setGrantFrameSpace(space);
    expect(host.grantFrames).toBe(space);
    expect(() => host.setGrantFrameSpace(space)).toThrow(/already has a grant frame space/);
  });
});
