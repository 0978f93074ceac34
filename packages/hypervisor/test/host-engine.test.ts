// The host on the CPU's wasm engine (components.isa.engine: wasm): machine memory reserves one
// engine area per pCPU behind RAM inside a WebAssembly.Memory, every view of RAM stops at RAM's
// end, the engine counters are sampled stats of each pCPU, and a machine that cannot fit in a
// 32-bit wasm memory is refused by name. (Same results as engine js: tools/test/engine-diff-domains.)
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { DEFAULT_TLB_ENTRIES, ISA_PLUGINS, engineAreaBytes, resolveEngine } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

function makeHost(engine: 'js' | 'wasm' | 'auto', memoryMiB: number, pcpus = 2) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus, memoryMiB, components: { isa: { variant: 'tachy-v1', engine, wasmTierUp: 0 }, mmu: 'tagged', sched: 'credit' } }, reg);
  let out = '';
  const host = new Host({ container: buildContainer(config, reg), console: (_d, b) => { out += new TextDecoder().decode(b); } });
  return { host, out: () => out };
}

describe('the host on engine wasm', () => {
  it('puts RAM at the start of a WebAssembly.Memory with an engine area per pCPU behind it; RAM views stop at RAM', () => {
    const { host } = makeHost('wasm', 64, 2);
    const mem = host.machine.mem;
    expect(mem.wasmMemory).toBeDefined();
    expect(mem.size).toBe(64 << 20);
    expect(mem.buffer.byteLength).toBeGreaterThanOrEqual(mem.size + 2 * engineAreaBytes(2048));
    expect(mem.u8.length).toBe(mem.size);
    expect(mem.i32.length).toBe(mem.size / 4);
    expect(host.machine.totalFrames).toBe(mem.size / 4096);
    for (const p of host.pcpus) {
      expect(p.cpu.engine).toBe('wasm');
      expect(p.cpu.engineArea).toBeGreaterThanOrEqual(mem.size);
    }
    expect(host.pcpus[1]!.cpu.engineArea - host.pcpus[0]!.cpu.engineArea).toBeGreaterThanOrEqual(engineAreaBytes(2048));
    // engine js: a plain ArrayBuffer of RAM only
    const js = makeHost('js', 64, 2).host.machine.mem;
    expect(js.wasmMemory).toBeUndefined();
    expect(js.buffer.byteLength).toBe(64 << 20);
  });

  it('runs a domain through vCPU switches and scrubs its frames on destroy without touching the engine areas', () => {
    const { host, out } = makeHost('wasm', 64, 1);
    const d = host.createDomain({ name: 'vcpus', image: image('vcpus'), memoryMiB: 8, vcpus: 4 });
    expect(host.run({ maxInsns: 200_000_000 })).toBe('all-shutdown');
    expect(out()).toContain('vcpus');
    const cpu = host.pcpus[0]!.cpu;
    const x = Array.from(cpu.x);
    const scrubbed = host.machine.counters.framesScrubbed;
    host.destroyDomain(d);
    expect(host.machine.counters.framesScrubbed).toBeGreaterThan(scrubbed);
    expect(Array.from(cpu.x)).toEqual(x); // the registers in the engine area are no RAM frame
    const g = host.stats.lookup('host.cpu0') as { dump(): Record<string, unknown> };
    const s = g.dump();
    expect(s.wasmRegions).toBeGreaterThan(0);
    for (const k of ['wasmTierUps', 'wasmKeptJs', 'chainHits', 'hubLookups', 'exitsLookup', 'exitsFault', 'exitsCodeWrite', 'exitsCycleLimit', 'exitsAttention', 'hubHandovers', 'softTlbRefills']) {
      expect(typeof s[k], k).toBe('number');
    }
  });

  it('refuses a machine whose RAM and engine areas do not fit in 4 GiB, naming memoryMiB and the engine', () => {
    expect(() => makeHost('wasm', 4096, 1)).toThrow(/memoryMiB 4096 with the isa engine 'wasm'.*4 GiB of a WebAssembly memory.*engine 'js'/);
    expect(() => makeHost('js', 4096, 1)).not.toThrow();
  });

  it("engine 'auto': wasm harts where RAM and the engine areas fit a wasm32 memory, js harts where they do not", () => {
    const small = makeHost('auto', 64, 2).host;
    expect(small.machine.mem.wasmMemory).toBeDefined();
    expect(small.pcpus.map((p) => p.cpu.engine)).toEqual(['wasm', 'wasm']);
    const big = makeHost('auto', 4096, 1).host;
    expect(big.machine.mem.wasmMemory).toBeUndefined();
    expect(big.pcpus[0]!.cpu.engine).toBe('js');
    // and on the boundary: RAM + 2 engine areas just over 4 GiB falls back to js
    const justOver = Math.floor((2 ** 32 - 2 * engineAreaBytes(DEFAULT_TLB_ENTRIES)) / 2 ** 20) + 1;
    expect(resolveEngine('auto', justOver * 2 ** 20, 2)).toBe('js');
    expect(resolveEngine('auto', (justOver - 1) * 2 ** 20, 2)).toBe('wasm');
    expect(resolveEngine(undefined, 64 * 2 ** 20, 1)).toBe('js');
  });
});
