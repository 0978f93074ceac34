// docs/plugins.md, "Adding a component", built exactly as written: the rng-device fixture (two
// variants) selected and configured in host YAML taken from the guide itself, assembled with the
// stock plugins, reached by a guest's hypercall, visible in the stats tree and on the bus, and
// carried by the toolstack without editing it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GUEST_RAM_BASE } from '@tachyxx/abi';
import { ConfigError, parseHostConfig, PluginRegistry, type HostConfig } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS, type Vcpu } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS } from '@tachyxx/xenstore';
import { Toolstack } from '@tachyxx/toolstack';
import { RNG_FILL, RNG_HYPERCALL, RNG_PLUGINS, type RngDevice, type RngFillEvent } from './fixtures/rng-device.js';
import { image, ROOT } from './io-helpers.js';

const guide = readFileSync(join(ROOT, 'docs/plugins.md'), 'utf8');
/** The fenced block after `<!-- guide:NAME -->` in docs/plugins.md. */
function block(name: string): string {
  const m = new RegExp(`<!-- guide:${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(guide);
  if (!m) throw new Error(`docs/plugins.md has no block guide:${name}`);
  return m[1]!;
}

const registry = () => new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS, ...XENSTORE_PLUGINS, ...RNG_PLUGINS]);
const BUF = GUEST_RAM_BASE + 4 * 1024 * 1024;

function host(yaml: string) {
  const reg = registry();
  const config = parseHostConfig(yaml, reg, { file: 'host.yaml' });
  const out: string[] = [];
  const a = assembleHost(config, reg, { console: () => {}, log: (l) => out.push(l) });
  const d = a.host.createDomain({ name: 'g', image: image('hello'), memoryMiB: 8, paused: true });
  const rngOp = (v: Vcpu, gpa: number, len: number) => a.host.hypercalls.dispatch(v, RNG_HYPERCALL, { a0: gpa, a1: len, a2: 0, a3: 0, a4: 0, a5: 0 });
  return { a, d, rngOp, config };
}

describe('the plugin guide (docs/plugins.md): an rng device with two variants', () => {
  it('selects and configures the component from the guide\'s host YAML: hypercall, stats, costs, bus', () => {
    const yaml = block('host-yaml');
    const { a, d, rngOp, config } = host(yaml);
    expect(config.components.rng).toEqual({ variant: 'prng' });
    expect(config.costs['rng.perByte']).toBe(4);
    const dev = a.component<RngDevice>('rng');
    expect(dev.source.name).toBe('prng');
    expect(dev.costs).toEqual({ perCall: 376, perByte: 4 });

    const fills: RngFillEvent[] = [];
    a.host.bus.on(RNG_FILL).subscribe((e) => fills.push(e));
    expect(rngOp(d.vcpus[0]!, BUF, 64)).toBe(64);
    const got = new Uint8Array(64);
    d.access.read(BUF, got);
    expect(got.some((b) => b !== 0)).toBe(true);
    // Reproducible: the same config (seed) gives the same bytes.
    const again = host(yaml);
    expect(again.rngOp(again.d.vcpus[0]!, BUF, 64)).toBe(64);
    const got2 = new Uint8Array(64);
    again.d.access.read(BUF, got2);
    expect(got2).toEqual(got);

    // Guest-facing errors are Xen errnos, counted.
    expect(rngOp(d.vcpus[0]!, BUF, 4097)).toBe(-22); // -EINVAL
    expect(rngOp(d.vcpus[0]!, 0x1000, 16)).toBe(-14); // -EFAULT: not guest RAM
    expect(fills).toEqual([{ time: 0, domid: d.domid, bytes: 64 }]);
    const tree = a.host.statsTree() as any;
    expect(tree.host.rng).toEqual({ requests: 1, bytes: 64, errors: 2 });
    expect(tree.host.hypervisor.hypercalls.rng_op).toBe(3);
  });

  it('swaps the variant in YAML: the counter source', () => {
    const { d, rngOp } = host(block('host-yaml-counter'));
    expect(rngOp(d.vcpus[0]!, BUF, 4)).toBe(4);
    const got = new Uint8Array(4);
    d.access.read(BUF, got);
    expect([...got]).toEqual([250, 251, 252, 253]);
  });

  it('names unknown variants and cost keys with file:line and the known ones', () => {
    const reg = registry();
    const err = (yaml: string) => {
      try {
        parseHostConfig(yaml, reg, { file: 'host.yaml' });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err('components:\n  rng: hardware\n')).toBe("host.yaml:2:8: components.rng: unknown variant 'hardware' of component 'rng' (allowed: counter, prng)");
    expect(err('components:\n  rng: prng\ncosts:\n  perByte: 4\n')).toBe('host.yaml:4:3: costs.perByte: unknown key (allowed: rng.perCall, rng.perByte)');
    expect(err('components:\n  rgn: prng\n')).toMatch(/^host\.yaml:2:3: components\.rgn: unknown component 'rgn' \(allowed: .*rng.*\)$/);
  });

  it('rides along in the toolstack (no toolstack change): the stats op shows host.rng', async () => {
    const reg = registry();
    const config: HostConfig = parseHostConfig(block('host-yaml'), reg);
    const ts = new Toolstack({ config, registry: reg });
    try {
      const s = (await ts.op('stats', {}, { send: () => true, addStream: () => {}, endStream: () => {} }, 1)) as any;
      expect(Object.keys(s.tree.host)).toEqual(expect.arrayContaining(['cpu0', 'sched', 'hypervisor', 'evtchn', 'grant', 'xenstore', 'console', 'rng']));
      expect(s.tree.host.rng).toEqual({ requests: 0, bytes: 0, errors: 0 });
    } finally {
      ts.close();
    }
  });
});
