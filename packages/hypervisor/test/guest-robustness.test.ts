// Guest-facing robustness (issue 8): no guest input takes the host down, and a hostile guest
// cannot break another domain. Regression tests for the findings, each through the Host.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host } from '@tachyxx/hypervisor';

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
