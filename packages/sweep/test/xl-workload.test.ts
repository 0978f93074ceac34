// Workloads given as xl.cfg files (issue 17): read with @tachyxx/xlcfg, run exactly as the same
// domains given as images, keyed by the cfg's bytes and the kernel's, refused with the cfg's
// file:line when the file asks for something a sweep run cannot do.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@tachyxx/core';
import { SIM_VERSION, WALL_CLOCK_STATS } from '@tachyxx/sim';
import { CACHE_FORMAT, canonicalJson, executeRun, expandSweep, LocalPool, parseSweep, runKey, runSweep } from '@tachyxx/sweep';

const ROOT = resolve(import.meta.dirname, '../../..');
const EXAMPLES = join(ROOT, 'examples');
const guests = join(ROOT, 'guests/build');
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sweep-xl-'));
const file = join(dir, 'sweep.yaml');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sweep = (workloads: string, axes = '  mmu.variant: [tagged, untagged]') => `name: xl
host: { memoryMiB: 200 }
axes:
${axes}
workloads:
${workloads}
limits: { timeoutSeconds: 60 }
metrics:
  instructions: instructions
  cycles: simCycles
  simNs: simNs
  tlbMisses: tree.host.*.mmu.tlbMisses
`;

const PAIR = `  - name: cfgs
    xl: [${EXAMPLES}/hello.cfg, ${EXAMPLES}/timer.cfg]
  - name: images
    domains:
      - { image: ${guests}/hello.elf, memoryMiB: 16 }
      - { image: ${guests}/timer.elf, memoryMiB: 16 }
  - name: mixed
    domains:
      - { xl: ${EXAMPLES}/hello.cfg }
      - { image: ${guests}/timer.elf, memoryMiB: 16, name: timer }`;

const expectStart = (s: string, prefix: string) => expect(s.slice(0, prefix.length)).toBe(prefix);
const deterministic = (s: Record<string, unknown> | null) => Object.fromEntries(Object.entries(s ?? {}).filter(([k]) => !WALL_CLOCK_STATS.includes(k)));

const err = (text: string): ConfigError => {
  try {
    expandSweep(parseSweep(text, file));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
};

/** A cfg in the temp dir; `kernel` relative to it. */
const cfg = (name: string, body: string) => {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
};

describe('xl.cfg workloads', () => {
  it('resolve name, kernel (relative to the cfg file), memory, vCPUs and cmdline from the file', () => {
    const spec = parseSweep(sweep(PAIR), file);
    const [cfgs, images, mixed] = spec.workloads;
    expect(cfgs!.images.map(({ xl, ...d }) => d)).toEqual([
      { name: 'hello', image: join(guests, 'hello.elf'), memoryMiB: 16, vcpus: 1 },
      { name: 'timer', image: join(guests, 'timer.elf'), memoryMiB: 16, vcpus: 1 },
    ]);
    expect(cfgs!.images[0]!.xl).toMatchObject({ file: join(EXAMPLES, 'hello.cfg'), kernelAt: `${join(EXAMPLES, 'hello.cfg')}:5` });
    expect(images!.images.every((d) => d.xl === undefined)).toBe(true);
    expect(mixed!.images.map((d) => d.name)).toEqual(['hello', 'timer']);

    const f = cfg('full.cfg', `name = "full"\ntype = "pvh"\nkernel = "${join(guests, 'hello.elf')}"\nmemory = 33\nvcpus = 2\nmaxvcpus = 4\nroot = "/dev/xvda"\nextra = "quiet"\n`);
    const d = parseSweep(sweep(`  - { name: full, xl: ${f} }`), file).workloads[0]!.images[0]!;
    expect(d).toMatchObject({ name: 'full', memoryMiB: 33, vcpus: 2, maxVcpus: 4, cmdline: 'root=/dev/xvda quiet' });
    // No memory = ...: the Tachyxx host's default for xl create (128 MiB).
    const g = cfg('nomem.cfg', `name = "nomem"\nkernel = "${join(guests, 'hello.elf')}"\non_poweroff = "destroy"\non_crash = 'destroy'\n`);
    expect(parseSweep(sweep(`  - { name: nomem, xl: ${g} }`), file).workloads[0]!.images[0]!.memoryMiB).toBe(128);
  });

  it('run exactly as the same domains given as images (every deterministic stat), through the sweep and in one thread', async () => {
    const plans = expandSweep(parseSweep(sweep(PAIR), file));
    expect(plans).toHaveLength(6);
    for (const variant of ['tagged', 'untagged']) {
      const [c, i, m] = ['cfgs', 'images', 'mixed'].map((w) => plans.find((p) => p.workload === w && p.axes['mmu.variant'] === variant)!);
      expect(c!.job.config).toEqual(i!.job.config);
      const [rc, ri, rm] = [c!, i!, m!].map((p) => executeRun(p.job));
      expect(rc!.status).toBe('ok');
      expect(deterministic(rc!.stats)).toEqual(deterministic(ri!.stats));
      expect(deterministic(rm!.stats)).toEqual(deterministic(ri!.stats));
    }

    const pool = new LocalPool(2);
    try {
      const r = await runSweep(parseSweep(sweep(PAIR), file), { out: join(dir, 'out'), backend: pool, progress: null });
      expect(r.failed).toBe(0);
      const rows = (w: string) => r.report.rows.filter((x) => x.workload === w).map((x) => ({ axes: x.axes, status: x.status, metrics: x.metrics }));
      expect(rows('cfgs')).toHaveLength(2);
      expect(rows('cfgs')).toEqual(rows('images'));
      expect(rows('mixed')).toEqual(rows('images'));
      expect((rows('cfgs')[0]!.metrics.instructions as number) > 0).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it("the cfg's bytes and the kernel's bytes both feed the run's key; image workloads keep their keys", () => {
    copyFileSync(join(guests, 'hello.elf'), join(dir, 'k.elf'));
    const text = 'name = "hello"\nkernel = "k.elf"\nmemory = 16\n';
    const f = cfg('key.cfg', text);
    const key = () => expandSweep(parseSweep(sweep(`  - { name: k, xl: ${f} }`, '  pcpus: [1]'), file))[0]!.job.key;
    const k0 = key();
    expect(key()).toBe(k0);
    writeFileSync(f, `# the same domain, other bytes\n${text}`);
    const k1 = key();
    expect(k1).not.toBe(k0);
    copyFileSync(join(guests, 'timer.elf'), join(dir, 'k.elf'));
    expect(key()).not.toBe(k1);
    writeFileSync(f, text);
    copyFileSync(join(guests, 'hello.elf'), join(dir, 'k.elf'));
    expect(key()).toBe(k0);

    // An image workload's key is the formula it had before xl.cfg workloads existed.
    const [p] = expandSweep(parseSweep(sweep(`  - { name: i, domains: [{ image: ${guests}/hello.elf, memoryMiB: 16 }] }`, '  pcpus: [1]'), file));
    const j = p!.job;
    const sha = createHash('sha256').update(canonicalJson({
      format: CACHE_FORMAT, version: SIM_VERSION, mode: j.mode, config: j.config,
      images: j.images.map((i) => ({ name: i.name ?? null, memoryMiB: i.memoryMiB, vcpus: i.vcpus, cmdline: i.cmdline ?? null, sha256: i.sha256, base: 'hello.elf' })),
      maxInsns: j.maxInsns,
    })).digest('hex');
    expect(j.key).toBe(sha);
    expect(runKey(j.mode, j.config, j.images, j.maxInsns)).toBe(sha);
  });

  it('maxvcpus reaches the domain: vcpus.elf brings up every vCPU it has', () => {
    const one = cfg('v1.cfg', `name = "vcpus"\nkernel = "${guests}/vcpus.elf"\nmemory = 16\nvcpus = 1\n`);
    const four = cfg('v4.cfg', `name = "vcpus"\nkernel = "${guests}/vcpus.elf"\nmemory = 16\nvcpus = 1\nmaxvcpus = 4\n`);
    const plans = expandSweep(parseSweep(sweep(`  - { name: one, xl: ${one} }\n  - { name: four, xl: ${four} }\n  - { name: image4, domains: [{ image: ${guests}/vcpus.elf, memoryMiB: 16, maxVcpus: 4 }] }`, '  pcpus: [2]'), file));
    const [r1, r4, ri] = plans.map((p) => executeRun(p.job));
    expect([r1!.status, r4!.status, ri!.status]).toEqual(['ok', 'ok', 'ok']);
    expect(r4!.stats!.instructions).not.toBe(r1!.stats!.instructions);
    expect(deterministic(r4!.stats)).toEqual(deterministic(ri!.stats));
  });

  it("refuse what a sweep run cannot do, with the cfg's file:line at the sweep's xl entry", () => {
    const k = `kernel = "${guests}/hello.elf"`;
    const one = (body: string, name = 'bad.cfg') => err(sweep(`  - name: w\n    domains:\n      - { xl: ${cfg(name, body)} }`, '  pcpus: [1]')).message;
    const at = `${file}:8:15: workloads[0].domains[0].xl: ${join(dir, 'bad.cfg')}`;
    expect(one(`name = "d"\n${k}\nmemory = 16\ndisk = [ "phy:/dev/vg/d,xvda,w" ]\n`)).toBe(`${at}:4: disk: not applied by a sweep run, which takes only name, type, kernel, memory, vcpus, maxvcpus, cmdline, extra, root from an xl.cfg: remove it, or run the domain with xl create`);
    expect(one(`name = "d"\n${k}\nvif = [ "bridge=xenbr0" ]\n`)).toBe(`${at}:3: vif: not applied by a sweep run, which takes only name, type, kernel, memory, vcpus, maxvcpus, cmdline, extra, root from an xl.cfg: remove it, or run the domain with xl create`);
    expectStart(one(`name = "d"\ntype = "hvm"\n${k}\n`), `${at}:2: type: HVM guests need device emulation`);
    expectStart(one(`name = "d"\n${k}\ncpus = "0"\n`), `${at}:3: cpus: not applied by a sweep run, which takes only name, type, kernel, memory, vcpus, maxvcpus, cmdline, extra, root from an xl.cfg`);
    expect(one(`name = "d"\n${k}\non_poweroff = "destroy"\non_crash = "preserve"\n`)).toBe(`${at}:4: on_crash: "preserve" is not applied by a sweep run, which ends a domain when it shuts down (as "destroy") and reports how`);
    expect(one(`name = "d"\n${k}\non_reboot = "restart"\n`)).toMatch(/bad\.cfg:3: on_reboot: "restart" is not applied/);
    expect(one(`name = "d"\n${k}\nmemroy = 16\n`)).toBe(`${at}:3: memroy: unknown key (did you mean 'memory'?)`);
    expect(one(`name = "d"\n${k}\nmemory = [16\n`)).toBe(`${at}:4:1: expected ']' to close the list opened at 3:10, found end of file`);
    expectStart(one(`name = "d"\n${k}\nmemory = "lots"\n`), `${at}:3: memory: 'lots' is not`);
    expectStart(one(`name = "d"\nmemory = 16\n`), `${at}: kernel: a PV guest needs a kernel (kernel = "...")`);
    expect(one(`name = "d"\n${k}\nmemory = 5000\n`)).toBe(`${at}:3: memory: 5000 MiB is more than a sweep domain's 4096 MiB`);
    expect(one(`name = "d"\nkernel = "nosuch.elf"\n`)).toBe(`${file}:8:15: workloads[0]: ${join(dir, 'bad.cfg')}:2: kernel: ${join(dir, 'nosuch.elf')}: no such file`);
    expect(err(sweep(`  - { name: w, xl: ${dir}/none.cfg }`)).message).toBe(`${file}:6:20: workloads[0].xl: ${dir}/none.cfg: Failed to read config file: No such file or directory`);
    expect(err(sweep(`  - { name: w, xl: ${dir} }`)).message).toMatch(/Failed to read config file: is a directory, not a regular file/);
    expect(err(sweep(`  - { name: w, domains: [{ xl: ${EXAMPLES}/hello.cfg, memoryMiB: 32 }] }`)).message).toMatch(/workloads\[0\]\.domains\[0\]\.memoryMiB: a domain from an xl\.cfg file takes every setting from the file: set 'memoryMiB' there/);
    expect(err(sweep(`  - { name: w, xl: [] }`)).message).toMatch(/workloads\[0\]\.xl: expected an xl\.cfg file or a list of 1\.\.64 of them/);
    expect(err(sweep(`  - { name: w, xl: ${EXAMPLES}/hello.cfg, domains: [${guests}/hello.elf] }`)).message).toMatch(/workloads\[0\]: give exactly one of 'domains', 'xl' and 'bare'/);
  });
});
