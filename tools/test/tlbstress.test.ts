// guests/tlbstress: two Sv48 address spaces (ASIDs 1 and 2) over the same 16 MiB VA region of
// 4 KiB pages, switched by satp writes without sfence, under hot-set, random-walk and sweep phases.
// Its output is a function of the program alone, so it is compared byte for byte with
// guests/tlbstress/expected.txt bare, as a domain, and as a domain under other MMU variants; the
// MMU statistics of the domain runs (--stats, tree.host.cpu0.mmu.vmid<N>) must show that an
// untagged TLB misses more than a tagged one and that without the page-walk cache a walk reads
// more PTEs. Needs the built runner (pnpm build) and the committed image.
import { afterAll, describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const image = resolve(root, 'guests/build/tlbstress.elf');
const missing = !existsSync(runnerCli) ? `${runnerCli} not found (run pnpm build)` : !existsSync(image) ? `${image} not found (node tools/build-guests.mjs --only tlbstress)` : '';
if (missing) console.warn(`tlbstress: ${missing} - SKIPPED`);
const hasDomains = !missing && spawnSync(process.execPath, [runnerCli, 'run', '--help']).stdout.toString().includes('--domain');
if (!missing && !hasDomains) console.warn('tlbstress: the runner has no --domain (rebuild with pnpm build) - domain runs SKIPPED');

const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-tlbstress-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let seq = 0;

interface VmidStats { walks: number; walkRefs: number; tlbMisses: number; walkCycles: number }
function run(args: string[], mmu?: { variant: string; pageWalkCache: boolean }) {
  const stats = join(tmp, `s${seq++}.json`);
  const extra: string[] = ['--stats', stats];
  if (mmu) {
    const cfg = join(tmp, `h${seq++}.yaml`);
    writeFileSync(cfg, `memoryMiB: 320\ncomponents:\n  isa: tachy-v1\n  sched: credit\n  mmu: { variant: ${mmu.variant}, pageWalkCache: ${mmu.pageWalkCache}, nestedTlb: true }\n`);
    extra.push('--host', cfg);
  }
  const r = spawnSync(process.execPath, [runnerCli, 'run', ...args, '--memory', '256', ...extra], { cwd: root, timeout: 120_000 });
  const status = r.status, stdout = r.stdout?.toString('latin1') ?? '', stderr = r.stderr?.toString() ?? '';
  const s = existsSync(stats) ? JSON.parse(readFileSync(stats, 'utf8')) : {};
  const mmuTree = s.tree?.host?.cpu0?.mmu ?? {};
  const vm = Object.entries(mmuTree).filter(([k]) => /^vmid[1-9]/.test(k)).map(([, x]) => x)[0] as VmidStats;
  return { status, stdout, stderr, vm };
}
const golden = () => readFileSync(resolve(root, 'guests/tlbstress/expected.txt'), 'latin1');

describe('guests/tlbstress', () => {
  it.skipIf(!!missing)('the golden output shows both spaces, all three phases and matching sums', () => {
    const g = golden();
    expect(g).toContain('2 address spaces x 4096 pages of 4 KiB (16 MiB) at VA 0x10000000');
    expect(g).toContain('Sv48 on, ASIDs 1 and 2');
    for (const ph of ['hot', 'random', 'sweep']) expect(g).toMatch(new RegExp(`phase ${ph} .* accesses, checksums 0x[0-9a-f]{16} 0x[0-9a-f]{16}\\n`));
    expect(g).toMatch(/space 1: sum via VA (0x[0-9a-f]{16}), via frames \1: match\n/);
    expect(g).toMatch(/space 2: sum via VA (0x[0-9a-f]{16}), via frames \1: match\n/);
    // same VA, different frames: the two spaces hold different data
    const sums = [...g.matchAll(/space \d: sum via VA (0x[0-9a-f]{16})/g)].map((m) => m[1]);
    expect(sums[0]).not.toBe(sums[1]);
    expect(g).toMatch(/tlbstress: \d+ satp switches, 1542144 accesses; ok; poweroff\n$/);
  });

  it.skipIf(!!missing)('bare: the golden output', () => {
    const r = run(['--bare', image]);
    expect(r.stdout).toBe(golden());
    expect(r.status, r.stderr).toBe(0);
  });

  describe.skipIf(!hasDomains)('as a domain, under the MMU variants', () => {
    const variants = [
      { variant: 'tagged', pageWalkCache: true },
      { variant: 'tagged', pageWalkCache: false },
      { variant: 'untagged', pageWalkCache: true },
      { variant: 'untagged', pageWalkCache: false },
    ];
    const runs = new Map<string, ReturnType<typeof run>>();
    const get = (variant: string, pageWalkCache: boolean) => {
      const key = `${variant}/${pageWalkCache}`;
      if (!runs.has(key)) runs.set(key, run(['--domain', image], { variant, pageWalkCache }));
      return runs.get(key)!;
    };

    it('default host config: the golden output', () => {
      const r = run(['--domain', image]);
      expect(r.stdout).toBe(golden());
      expect(r.status, r.stderr).toBe(0);
    });

    it.each(variants)('$variant, page-walk cache $pageWalkCache: the golden output, and walks were counted', ({ variant, pageWalkCache }) => {
      const r = get(variant, pageWalkCache);
      expect(r.stdout).toBe(golden());
      expect(r.status, r.stderr).toBe(0);
      expect(r.vm, 'stats tree.host.cpu0.mmu.vmid<N>').toBeDefined();
      // the random phase alone is 1,024,000 accesses over 4096 pages per space: nearly all miss
      expect(r.vm.walks).toBeGreaterThan(1_000_000);
      expect(r.vm.tlbMisses).toBeGreaterThanOrEqual(r.vm.walks);
    });

    it('untagged (flush on every satp write) misses more than tagged (ASID-tagged entries survive)', () => {
      for (const pwc of [true, false]) {
        const tagged = get('tagged', pwc).vm, untagged = get('untagged', pwc).vm;
        // the hot phase's 32 pages fit the tagged TLB across switches; untagged refills after each
        expect(untagged.tlbMisses - tagged.tlbMisses, `pwc ${pwc}`).toBeGreaterThan(20_000);
        expect(untagged.walkCycles).toBeGreaterThan(tagged.walkCycles);
      }
    });

    it('without the page-walk cache a walk reads more PTEs than with it', () => {
      for (const variant of ['tagged', 'untagged']) {
        const on = get(variant, true).vm, off = get(variant, false).vm;
        const perWalk = (v: VmidStats) => v.walkRefs / v.walks;
        expect(perWalk(off), variant).toBeGreaterThan(perWalk(on) + 1);
        expect(off.walkCycles).toBeGreaterThan(on.walkCycles);
      }
    });
  });
});
