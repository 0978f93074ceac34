// The CPU's two execution engines under the hypervisor: the same domain workloads on an in-process
// host (as `tachyxx run --domain` / `tachyxx host` assemble it) with `isa.engine: js` and with
// `isa.engine: wasm` (every region compiled to wasm at once, and with the default tier-up) must
// give the same console output per domain, the same run result and shutdown reasons, the same
// retired instructions and simulated cycles per pCPU, the same simulated time and the same stats
// tree, except the counters of how the engine ran (ENGINE_ONLY). The vCPUs are context-switched
// through each pCPU's Cpu, whose registers and soft-TLB live in the WebAssembly.Memory behind RAM
// under wasm; grant copies, xenstore rings, blkback / netback DMA read that RAM through its views.
import { describe, it, expect } from 'vitest';
import { addVbd } from '@tachyxx/pv-blk';
import type { Domain, Host, Vcpu } from '@tachyxx/hypervisor';
import { image, ioHost } from './io-helpers.js';
import { netGuestHost } from './net-helpers.js';
import { blkHost, tempDisk } from '../../packages/pv-blk/test/helpers.js';

type Engine = { engine: 'js' | 'wasm'; wasmTierUp?: number };
const JS: Engine = { engine: 'js' };
const WASM0: Engine = { engine: 'wasm', wasmTierUp: 0 };
const WASM: Engine = { engine: 'wasm' };

/**
 * host.cpuN stats that describe the engine's own work (code cache, hub), not the modelled machine.
 * (blocksCompiled too: a region takes in the pages the exec soft-TLB maps when it is formed, and
 * the engines form hot regions again at different points: js at REGION_REFORM_HEAT, wasm at tier-up.)
 */
const ENGINE_ONLY = new Set(['wasmRegions', 'wasmTierUps', 'wasmKeptJs', 'regionReforms', 'blocksCompiled', 'chainHits', 'hubLookups', 'hubHandovers', 'exitsLookup', 'exitsCycleLimit']);

interface Outcome {
  why: string;
  consoles: Record<string, string>;
  shutdown: Record<string, string | null>;
  pcpus: { instret: number; cycles: number }[];
  now: number;
  tree: unknown;
  engineCounters: { wasmRegions: number }[];
}

function outcome(host: Host, why: string, domains: Domain<Vcpu>[], text: (d: Domain<Vcpu>) => string): Outcome {
  const tree = host.stats.dump() as Record<string, Record<string, Record<string, unknown>>>;
  for (const [name, g] of Object.entries(tree.host!)) {
    if (/^cpu\d+$/.test(name)) for (const k of ENGINE_ONLY) delete g[k];
  }
  return {
    why,
    consoles: Object.fromEntries(domains.map((d) => [d.name, text(d)])),
    shutdown: Object.fromEntries(domains.map((d) => [d.name, d.shutdownReason ?? null])),
    pcpus: host.pcpus.map((p) => ({ instret: p.cpu.instret, cycles: p.cpu.cycles })),
    now: host.clock.now,
    tree,
    engineCounters: host.pcpus.map((p) => ({ wasmRegions: p.cpu.engineStats().wasmRegions })),
  };
}

/** Domains on an io host (event channels, grants, xenstored): [name, image, vcpus] each. */
function ioRun(e: Engine, pcpus: number, specs: [string, string, number][], maxInsns = 400_000_000): Outcome {
  const h = ioHost({ pcpus, ...e });
  const ds = specs.map(([name, img, vcpus]) => h.host.createDomain({ name, image: image(img), memoryMiB: 16, vcpus, paused: true }));
  for (const d of ds) h.host.unpauseDomain(d);
  const why = h.host.run({ maxInsns });
  return outcome(h.host, why, ds, (d) => h.out.get(d.name) ?? '');
}

function pingRun(e: Engine): Outcome {
  const h = netGuestHost({ pcpus: 2, ...e });
  const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=3');
  const b = h.guest('ping-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=3');
  for (const d of [a, b]) h.host.unpauseDomain(d);
  const why = h.host.run({ maxInsns: 2_000_000_000 });
  return outcome(h.host, why, [a, b], h.text);
}

async function blkRun(e: Engine): Promise<Outcome> {
  const h = blkHost(e);
  const path = tempDisk(2 * 1024 * 1024, (b) => b.fill(0x11));
  const fe = h.host.createDomain({ name: 'blkfront', image: image('blkfront'), memoryMiB: 4, paused: true });
  const victim = h.host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 4, paused: true });
  addVbd(h.dom0xs, fe.domid, { target: path, vdev: 'xvda', access: 'w', format: 'raw' });
  h.host.unpauseDomain(fe);
  h.host.unpauseDomain(victim);
  const why = await h.run({ maxInsns: 400_000_000 });
  return outcome(h.host, why, [fe, victim], h.consoleText);
}

function same(js: Outcome, wa: Outcome): void {
  expect(wa.why).toBe(js.why);
  expect(wa.consoles).toEqual(js.consoles);
  expect(wa.shutdown).toEqual(js.shutdown);
  expect(wa.pcpus).toEqual(js.pcpus);
  expect(wa.now).toBe(js.now);
  expect(wa.tree).toEqual(js.tree);
  expect(js.engineCounters.every((c) => c.wasmRegions === 0)).toBe(true);
}

const IO_CASES: [string, number, [string, string, number][]][] = [
  ['hello', 1, [['hello', 'hello', 1]]],
  ['timer', 1, [['timer', 'timer', 1]]],
  ['vcpus: 4 vCPUs on 2 pCPUs', 2, [['vcpus', 'vcpus', 4]]],
  ['two vcpus domains (8 vCPUs each) on 2 pCPUs', 2, [['vcpus', 'vcpus', 8], ['vcpus-2', 'vcpus', 8]]],
  ['xsclient', 1, [['xsclient', 'xsclient', 1]]],
  ['vchan-server + vchan-client on 1 pCPU', 1, [['vchan-server', 'vchan-server', 1], ['vchan-client', 'vchan-client', 1]]],
  ['vchan-server + vchan-client on 2 pCPUs', 2, [['vchan-server', 'vchan-server', 1], ['vchan-client', 'vchan-client', 1]]],
  ['hcbench-small next to hello on 1 pCPU (preemption)', 1, [['hcbench', 'hcbench-small', 1], ['hello', 'hello', 1]]],
];

describe('engine wasm against engine js: domains on an in-process host', () => {
  for (const [what, pcpus, specs] of IO_CASES) {
    it(what, () => {
      const js = ioRun(JS, pcpus, specs);
      expect(js.why).toBe('all-shutdown');
      for (const [name] of specs) expect(js.consoles[name]).not.toBe('');
      const wa = ioRun(WASM0, pcpus, specs);
      same(js, wa);
      expect(wa.engineCounters.some((c) => c.wasmRegions > 0)).toBe(true);
    });
  }

  it('vchan pair on 2 pCPUs with the default tier-up (regions start as JS, hot ones become wasm)', () => {
    const specs: [string, string, number][] = [['vchan-server', 'vchan-server', 1], ['vchan-client', 'vchan-client', 1]];
    same(ioRun(JS, 2, specs), ioRun(WASM, 2, specs));
  });

  it('blkfront against blkback over a temp image, next to hello', async () => {
    const js = await blkRun(JS);
    expect(js.why).toBe('all-shutdown');
    expect(js.consoles.blkfront).toContain('blkfront: PASS');
    same(js, await blkRun(WASM0));
  });

  it('a ping pair over netback and xenbr0 on 2 pCPUs', () => {
    const js = pingRun(JS);
    expect(js.why).toBe('all-shutdown');
    expect(js.consoles['ping-a']).toContain('3 packets transmitted, 3 received, 0% packet loss');
    same(js, pingRun(WASM0));
  });
});
