// assembleHost: components resolved through the container and attached in dependency order;
// wiring errors named; the host's single-slot services refuse a second owner.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { bindSingleton, ConfigError, definePlugin, defineToken, parseHostConfig, PluginRegistry, resolve, StatGroup, TRAP, VCPU_SCHEDULE, HYPERCALL, type TrapEvent, type HypercallEvent, type VcpuScheduleEvent } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HOST_SERVICES, HYPERVISOR_PLUGINS, type HostComponent, type HostServices } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

/** A fake component that records when it is attached; `needs` names the component it requires. */
function fake(id: string, needs: string[], log: string[]) {
  const TOKEN = defineToken<HostComponent>(`test.${id}`);
  return {
    TOKEN,
    plugin: definePlugin({
      id,
      variant: 'v1',
      description: `test component ${id}`,
      params: {},
      provides: [TOKEN],
      requires: needs.map((n) => defineToken<HostComponent>(`test.${n}`)),
      component: TOKEN,
      register(c) {
        bindSingleton(c, TOKEN, (c) => {
          for (const n of needs) resolve(c, defineToken<HostComponent>(`test.${n}`)); // built first
          const stats = new StatGroup();
          stats.counter('attached', 'count', 'attach calls').value = 0;
          return {
            id,
            stats,
            attach(s: HostServices) {
              expect(resolve(c, HOST_SERVICES)).toBe(s);
              log.push(id);
              (stats.lookup('attached') as { value: number }).value++;
            },
            detach() {
              log.push(`-${id}`);
            },
          };
        });
      },
    }),
  };
}

const base = [...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS];
const HOSTYAML = 'components:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen\n';

describe('assembleHost', () => {
  it('attaches components in dependency order, not config order, and mounts their stats at host.<id>', () => {
    const log: string[] = [];
    const a = fake('alpha', [], log), b = fake('beta', ['alpha'], log), c = fake('gamma', ['beta'], log);
    const reg = new PluginRegistry([...base, a.plugin, b.plugin, c.plugin]);
    const cfg = parseHostConfig(HOSTYAML + '  gamma: v1\n  beta: v1\n  alpha: v1\n', reg);
    const h = assembleHost(cfg, reg, { console: () => {} });
    expect(log).toEqual(['alpha', 'beta', 'gamma']);
    expect([...h.components.keys()]).toEqual(['alpha', 'beta', 'gamma']);
    expect(h.host.statsTree()).toMatchObject({ host: { alpha: { attached: 1 }, beta: { attached: 1 }, gamma: { attached: 1 } } });
    expect(() => h.component('delta')).toThrow("no component 'delta' in this host (attached: alpha, beta, gamma)");
    h.close();
    expect(log.slice(3)).toEqual(['-gamma', '-beta', '-alpha']);
  });

  it('names a cycle and a missing provider', () => {
    const log: string[] = [];
    const c = fake('cee', ['dee'], log), d = fake('dee', ['cee'], log), e = fake('eee', ['nobody'], log);
    const reg = new PluginRegistry([...base, c.plugin, d.plugin, e.plugin]);
    expect(() => parseHostConfig(HOSTYAML + '  cee: v1\n  dee: v1\n', reg, { file: 'h.yaml' })).toThrow('components require each other: cee -> dee -> cee');
    expect(() => parseHostConfig(HOSTYAML + '  eee: v1\n', reg, { file: 'h.yaml' })).toThrow('h.yaml:6:3: components.eee: eee/v1 requires test.nobody, which no selected component provides (no known plugin provides it)');
    expect(log).toEqual([]);
  });

  it('refuses a host without the components the Host is built from, naming them', () => {
    const reg = new PluginRegistry(base);
    const cfg = parseHostConfig('components:\n  isa: tachy-v1\n', reg);
    const e = (() => { try { assembleHost(cfg, reg, { console: () => {} }); } catch (x) { return x as Error; } return null; })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.message).toBe("components: a hypervisor host needs 'mmu' (mmu.MmuFactory), 'sched' (sched.Core): select them under components (allowed: mmu: tagged, mmu: untagged, sched: credit, sched: null, sched: rr)");
  });

  it('gives the VIRQ sink and the poll provider one owner each', () => {
    const reg = new PluginRegistry(base);
    const h = assembleHost(parseHostConfig(HOSTYAML, reg), reg, { console: () => {} });
    h.services.setInterruptSink({ deliverVirq: () => true });
    expect(() => h.services.setInterruptSink({ deliverVirq: () => true })).toThrow(/already has an interrupt sink/);
    h.services.setPollProvider({ poll: () => 0 });
    expect(() => h.services.setPollProvider({ poll: () => 0 })).toThrow(/already has a poll provider/);
  });

  it('publishes schedule in/out and samples traps and hypercalls (weight = period), deterministically', () => {
    const run = () => {
      const reg = new PluginRegistry(base);
      const h = assembleHost(parseHostConfig(HOSTYAML, reg), reg, { console: () => {}, busSampleEvery: 4 });
      const sched: VcpuScheduleEvent[] = [], traps: TrapEvent[] = [], hcs: HypercallEvent[] = [];
      h.host.bus.on(VCPU_SCHEDULE).subscribe((e) => sched.push(e));
      h.host.bus.on(TRAP).subscribe((e) => traps.push(e));
      h.host.bus.on(HYPERCALL).subscribe((e) => hcs.push(e));
      h.host.createDomain({ name: 'hello', image: image('hello'), memoryMiB: 8 });
      expect(h.host.run()).toBe('all-shutdown');
      const tree = h.host.statsTree() as any;
      return { sched, traps, hcs, tree };
    };
    const r = run();
    expect(r.sched[0]).toMatchObject({ kind: 'in', pcpu: 0, domid: 1, vcpu: 0 });
    expect(r.sched.at(-1)).toMatchObject({ kind: 'out', reason: 'shutdown' });
    const total = r.tree.host.cpu0.traps.ecall_from_pl2;
    expect(total).toBeGreaterThan(4);
    expect(r.traps.length).toBe(Math.floor(total / 4));
    expect(r.traps.every((t) => t.weight === 4 && t.from === 2 && t.to === 1)).toBe(true);
    const calls = Object.values(r.tree.host.hypervisor.hypercalls as Record<string, number>).reduce((x, y) => x + y, 0);
    expect(r.hcs.length).toBe(Math.floor(calls / 4));
    // The stats tree subscribes to the bus for lifecycle counts.
    expect(r.tree.host.hypervisor.domains).toEqual({ created: 1, unpaused: 1, paused: 0, shutdown: 1, destroyed: 0, shutdownReasons: { poweroff: 1 } });
    expect(JSON.stringify(run())).toBe(JSON.stringify(r));
  });
});
