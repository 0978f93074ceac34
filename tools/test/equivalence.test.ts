// Boot ABI v1's promise: one image prints byte-identical console output bare (PL0 firmware) and
// as a domain under the hypervisor. Checked for every guest program the CPU issue ships.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(CLI);
if (!hasRunner) console.warn(`equivalence tests skipped: ${CLI} is missing (run 'pnpm build')`);

const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });

// Every program of the CPU issue; the benchmarks in their small builds (the full ones are for
// `pnpm bench:virt`). Programs that end on purpose with a crash keep their stdout equal too.
const PROGRAMS = ['hello', 'isa-tests', 'bootinfo', 'priv', 'selfmod', 'crash', 'badinsn',
  'bench-intmix-small', 'bench-muldiv-small', 'bench-interp-small', 'bench-chase-small', 'bench-calls-small'];

describe.skipIf(!hasRunner)('bare vs domain equivalence', () => {
  for (const name of PROGRAMS) {
    it(`${name} prints byte-identical output bare and as a domain, with the same exit status`, () => {
      const image = `guests/build/${name}.elf`;
      const bare = run('run', '--bare', image, '--memory', '64');
      const dom = run('run', '--domain', image, '--memory', '64');
      expect(dom.stdout).toBe(bare.stdout);
      expect(dom.status).toBe(bare.status);
      expect(bare.stdout.length).toBeGreaterThan(0);
    });
  }

  it('retires the same number of instructions bare and as a domain (no hidden work in the guest)', () => {
    const d = mkdtempSync(join(tmpdir(), 'tx-eq-'));
    run('run', '--bare', 'guests/build/isa-tests.elf', '--memory', '64', '--stats', join(d, 'b.json'));
    run('run', '--domain', 'guests/build/isa-tests.elf', '--memory', '64', '--stats', join(d, 'd.json'));
    const b = JSON.parse(readFileSync(join(d, 'b.json'), 'utf8'));
    const m = JSON.parse(readFileSync(join(d, 'd.json'), 'utf8'));
    expect(m.instructions).toBe(b.instructions);
  });

  it('is deterministic as domains: the same run twice gives identical stats (wall-clock fields aside)', () => {
    const d = mkdtempSync(join(tmpdir(), 'tx-det-'));
    const stats = (f: string) => {
      const r = run('run', '--domain', 'guests/build/priv.elf', '--domain', 'guests/build/bench-calls-small.elf', '--domain', 'guests/build/hello.elf', '--stats', join(d, f));
      expect(r.status).toBe(0);
      const s = JSON.parse(readFileSync(join(d, f), 'utf8'));
      delete s.wallSeconds;
      delete s.mips;
      return { s, out: r.stdout };
    };
    const a = stats('a.json'), b = stats('b.json');
    expect(b.s).toEqual(a.s);
    expect(b.out).toBe(a.out);
  });

  it('prefixes each console line with the domain name when several domains run', () => {
    const r = run('run', '--domain', 'guests/build/hello.elf', '--domain', 'guests/build/hello.elf');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('hello: ')).length).toBe(6);
    expect(lines.filter((l) => l.startsWith('hello-2: ')).length).toBe(6);
    expect(lines.every((l) => /^hello(-2)?: /.test(l))).toBe(true);
  });

  it('keeps the other domains running when one crashes, and reports the crash on stderr', () => {
    const r = run('run', '--domain', 'guests/build/badinsn.elf', '--domain', 'guests/build/hello.elf', '--domain', 'guests/build/crash.elf');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('hello: snprintf: [snprintf-12345-] 24');
    expect(r.stderr).toMatch(/domain 'badinsn' \(d1\) crashed: d1v0: illegal_instruction/);
    expect(r.stderr).toMatch(/domain 'crash' \(d3\) shut down: crash/);
  });
});
