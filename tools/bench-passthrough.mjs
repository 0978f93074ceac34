// PCI passthrough benchmark (issue 13 section 6, part of `pnpm bench:iommu`): the edubench guest
// (guests/edubench, C) drives a passed-through edu: 2048 DMAs of 4 KiB from a 2 MiB ring of its
// RAM, each completion an MSI-X upcall through the interrupt remapper. Per IOMMU variant / IOTLB
// size and interrupt path: simulated DMA throughput (from the first DMA to the last completion),
// IOTLB hit ratio, walk references per DMA, hypervisor cycles per interrupt, and the guest's
// output (which must be the same everywhere). Writes the section "PCI passthrough" of
// docs/benchmarks.md. Usage: node tools/bench-passthrough.mjs [--no-write]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { machineLine, writeBenchSection } from './lib/bench-report.mjs';

const root = new URL('..', import.meta.url).pathname;
const dist = (pkg) => import(pathToFileURL(join(root, 'packages', pkg, 'dist/index.js')).href);
const [core, isa, mmu, sched, hv, evt, pcie, iommu, irq, pt] = await Promise.all(
  ['core', 'isa', 'mmu', 'sched', 'hypervisor', 'evtchn', 'pcie', 'iommu', 'irq-remap', 'passthrough'].map(dist),
);
const noWrite = process.argv.includes('--no-write');
const f = (n, d = 0) => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }));
const IMAGE = readFileSync(join(root, 'guests/build/edubench.elf'));
const DMAS = 2048;
const EDU = { seg: 0, bus: 1, devfn: 0 };

function run({ variant, entries = 64, irqVariant }) {
  const reg = new core.PluginRegistry([...isa.ISA_PLUGINS, ...mmu.MMU_PLUGINS, ...sched.schedPlugins, ...hv.HYPERVISOR_PLUGINS, ...evt.EVTCHN_PLUGINS, ...pcie.PCIE_PLUGINS, ...iommu.IOMMU_PLUGINS, ...irq.IRQ_REMAP_PLUGINS, ...pt.PASSTHROUGH_PLUGINS]);
  const io = variant === 'none' ? '{ variant: none, unsafe-passthrough: true }' : `{ variant: ${variant}, iotlbEntries: ${entries}, iotlbWays: 4 }`;
  const yaml = `pcpus: 1\nmemoryMiB: 256\ncomponents:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen\n  evtchn: fifo\n  pcie: ecam\n  iommu: ${io}\n  irq-remap: ${irqVariant}\n  passthrough: pv\n`;
  let out = '';
  const a = hv.assembleHost(core.parseHostConfig(yaml, reg, { file: 'bench.yaml' }), reg, { console: (_d, b) => (out += new TextDecoder().decode(b)), log: () => {} });
  const comp = a.component('passthrough');
  const edu = comp.pcie.find('0/rp0/edu');
  const d = a.host.createDomain({ name: 'edubench', image: IMAGE, memoryMiB: 16, paused: true });
  comp.passthrough.assignableAdd(EDU);
  const r = comp.passthrough.assign(d.domid, EDU);
  if (r.rc < 0) throw new Error(r.reason);
  a.host.unpauseDomain(d);
  const wall0 = performance.now();
  let t0 = -1, t1 = -1;
  const STEP = 5_000; // ns of simulated time per look
  for (let now = a.host.clock.now; d.shutdownCode === null && now < 2e9; now += STEP) {
    a.host.run({ untilNs: now + STEP });
    if (t0 < 0 && edu.stats.dmas > 0) t0 = a.host.clock.now;
    if (t1 < 0 && edu.stats.dmas >= DMAS) t1 = a.host.clock.now;
  }
  const wall = (performance.now() - wall0) / 1000;
  const s = (p) => a.host.stats.lookup(p)?.dump();
  const ioStats = variant === 'none' ? null : a.component('iommu').unit(0).stats;
  const irqSt = a.component('irq-remap').unit(0).stats;
  const simUs = (t1 - t0) / 1000;
  const res = {
    variant, entries, irqVariant, out: out.trim(), dmas: edu.stats.dmas, simUs,
    mbps: (edu.stats.dmaBytes * (DMAS - 1) / DMAS) / (simUs / 1e6) / 1e6,
    hitRatio: ioStats ? ioStats.iotlbHits.value / Math.max(1, ioStats.translations.value) : null,
    refsPerDma: ioStats ? ioStats.walkRefs.value / DMAS : null,
    interrupts: irqSt.interrupts.value,
    hypPerIrq: irqSt.hypervisorCycles.value / Math.max(1, irqSt.interrupts.value),
    latMean: s(`host.irq-remap.pciess0.latency`)?.mean ?? null,
    wall,
  };
  a.close();
  return res;
}

const rows = [];
for (const irqVariant of ['posted', 'forwarded']) {
  for (const entries of [16, 64, 256]) rows.push(run({ variant: 'shared-stage2', entries, irqVariant }));
  rows.push(run({ variant: 'private', entries: 64, irqVariant }));
  rows.push(run({ variant: 'none', irqVariant }));
}
// With an IOMMU the guest's device addresses are its guest-physical addresses; without one they
// are machine addresses, so the same driver copies other memory (what a PV driver without an
// IOMMU must translate itself): its checksum differs, and only there.
const outs = new Set(rows.filter((r) => r.variant !== 'none').map((r) => r.out));
if (outs.size !== 1) throw new Error(`the guest's output differs between runs:\n${[...outs].join('\n---\n')}`);
const noneOut = rows.find((r) => r.variant === 'none').out;
const body = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${machineLine()}. Reproduce: \`node tools/bench-passthrough.mjs\` (run by \`pnpm bench:iommu\`). Simulated numbers are deterministic.`,
  '',
  `The edubench guest (guests/edubench) owns edu through passthrough (\`xl pci-attach\`'s path: IOMMU context, BARs in its stage 2, MSI-X via map_pirq + bind_pirq) and runs ${f(DMAS)} DMAs of 4 KiB, RAM -> device, cycling through a 2 MiB ring of its memory; it waits for each completion's MSI-X upcall (SCHEDOP_block) before the next. Throughput = bytes / simulated time from the first DMA to the last completion; edu's cost model is 500 ns setup + 4 bytes/ns, plus the IOMMU's translation cycles (1 cycle = 1 ns at the default 1 GHz), plus the interrupt's path back into the guest and the guest's next MMIO writes. Guest output in every run with an IOMMU: \`${rows[0].out}\`; without one (none, unsafe-passthrough) the same driver's guest-physical addresses are taken as machine addresses and it copies someone else's memory: \`${noneOut}\`.`,
  '',
  '| IOMMU | IOTLB entries | interrupts | DMAs | simulated µs | MB/s | IOTLB hit ratio | walk refs / DMA | interrupts delivered | hypervisor cycles / interrupt | wall s |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.variant === 'none' ? 'none (unsafe)' : r.variant} | ${r.variant === 'none' ? '-' : r.entries} | ${r.irqVariant} | ${f(r.dmas)} | ${f(r.simUs, 1)} | ${f(r.mbps, 1)} | ${r.hitRatio === null ? '-' : f(r.hitRatio, 3)} | ${r.refsPerDma === null ? '-' : f(r.refsPerDma, 2)} | ${f(r.interrupts)} | ${f(r.hypPerIrq, 0)} | ${f(r.wall, 2)} |`),
  '',
  'Reading it: about 10 µs per DMA in every configuration: the device\'s 1,524 ns (500 ns setup + 4 KiB at 4 bytes/ns) plus the guest\'s MMIO accesses (a 500-cycle read, 50-cycle writes) plus, above all, the world switch that brings the blocked vCPU back for each completion (isa.worldSwitch 8,799 cycles, the Xen-ARM VM switch): a one-DMA-at-a-time driver, as edu allows, is latency-bound. Each DMA is one page, so the IOTLB sees one translation per DMA, and the guest\'s RAM is mapped with 2 MiB stage-2 leaves, so the 2 MiB ring sits in one or two IOTLB entries: IOTLB size and shared vs private tables do not show here (the DMA-translation table above, with 4 KiB leaves and scattered pages, is where they do). Forwarded interrupts cost 1,427 hypervisor cycles each (trap + injection), but the guest is blocked when its MSI arrives, so they are charged to an idle pCPU and this guest\'s throughput does not change; with a busy guest they come out of its time (the interrupt-remapping table above). Without an IOMMU the driver\'s guest-physical addresses are used as machine addresses: same speed, wrong memory.',
].join('\n');
console.log('\n' + body);
if (!noWrite) writeBenchSection(join(root, 'docs/benchmarks.md'), 'PCI passthrough', body);
