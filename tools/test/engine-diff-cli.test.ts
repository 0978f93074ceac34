// The CPU's two execution engines through the real runner (`tachyxx run --bare`, which attaches
// the MMU: stage-1 paging, soft-TLB hit accounting): engine js (the reference) and engine wasm (host
// files with `components.isa.engine: js | wasm`) must give the same console output, exit status,
// instruction count, simulated cycles and time, traps, hypercalls and code-cache / soft-TLB
// counters for every guest listed, including self-modifying code, paging and the privileged
// checks under both ISA variants. Needs the built runner.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { hostConfigWithDefaults } from '@tachyxx/sim';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(runnerCli);
if (!hasRunner) console.warn(`engine-diff-cli: ${runnerCli} not found (run pnpm build) - SKIPPED`);
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-engine-diff-'));
// engine wasm with every region compiled to wasm at once, and with the default tier-up
const hosts = { js: join(dir, 'js.yaml'), wasm0: join(dir, 'wasm0.yaml'), wasm: join(dir, 'wasm.yaml') };
writeFileSync(hosts.js, 'components:\n  isa: { variant: tachy-v1, engine: js }\n');
writeFileSync(hosts.wasm0, 'components:\n  isa: { variant: tachy-v1, engine: wasm, wasmTierUp: 0 }\n');
writeFileSync(hosts.wasm, 'components:\n  isa: { variant: tachy-v1, engine: wasm }\n');

function run(image: string, engine: 'js' | 'wasm0' | 'wasm', args: string[]) {
  const sf = join(dir, `${image}.${engine}.${args.join('_')}.json`);
  const r = spawnSync(process.execPath, [runnerCli, 'run', '--bare', resolve(root, 'guests/build', `${image}.elf`),
    '--stats', sf, ...args, '--host', hosts[engine]], { cwd: root, timeout: 120_000 });
  const stats = JSON.parse(readFileSync(sf, 'utf8'));
  const isa = stats.isa;
  return {
    status: r.status, stdout: r.stdout.toString('latin1'),
    engine: isa.engine as string, wasmRegions: isa.wasmRegions as number, wasmTierUps: isa.wasmTierUps as number,
    same: {
      instructions: stats.instructions, simCycles: stats.simCycles, simNs: stats.simNs, exit: stats.exit,
      traps: stats.traps, hypercalls: stats.hypercalls,
      isa: {
        // (not blocksCompiled: the engines form warm regions again at different points, js at
        // regionReformHeat, wasm at tier-up, so they compile different regions)
        variant: isa.variant, instructions: isa.instructions, cycles: isa.cycles,
        blockInvalidations: isa.blockInvalidations, codeFlushes: isa.codeFlushes, tlbMisses: isa.tlbMisses,
        tlbRefills: isa.tlbRefills, tlbFlushes: isa.tlbFlushes, exitsFault: isa.exitsFault, exitsCodeWrite: isa.exitsCodeWrite,
      },
    },
  };
}

const CASES: [string, string[]][] = [
  ['isa-tests', []], ['selfmod', []], ['tlbstress', []], ['priv', ['--isa', 'tachy-v1']], ['priv', ['--isa', 'legacy-silent']],
  ['bootinfo', []], ['timer', []], ['badptr', []], ['crash', []], ['hello', []],
  ['bench-intmix-small', []], ['bench-muldiv-small', []], ['bench-interp-small', []], ['bench-calls-small', []], ['bench-chase-small', []],
  ['bench-sha256-small', []], ['bench-lz-small', []], ['bench-nqueens-small', []],
];

describe('engine wasm against engine js through tachyxx run --bare (MMU attached)', () => {
  for (const [image, args] of CASES) {
    it.skipIf(!hasRunner || !existsSync(resolve(root, 'guests/build', `${image}.elf`)))(`${image} ${args.join(' ')}`.trim(), () => {
      const js = run(image, 'js', args), wa = run(image, 'wasm0', args);
      expect(js.engine).toBe('js');
      expect(wa.engine).toBe('wasm');
      expect(wa.wasmRegions).toBeGreaterThan(0);
      expect(wa.wasmTierUps).toBe(0);
      expect(wa.stdout).toBe(js.stdout);
      expect(wa.status).toBe(js.status);
      expect(wa.same).toEqual(js.same);
      if (image.startsWith('bench-')) {
        // the default: hot regions turn from JS to wasm mid-run
        const tiered = run(image, 'wasm', args);
        expect(tiered.wasmTierUps).toBeGreaterThan(0);
        expect(tiered.stdout).toBe(js.stdout);
        expect(tiered.same).toEqual(js.same);
      }
    }, 120_000);
  }
});

describe('the isa component\'s engine parameters', () => {
  it('default to auto with tier-up 15000 and name the allowed values of a bad one', () => {
    expect(hostConfigWithDefaults({}).components.isa).toMatchObject({ engine: 'auto', wasmTierUp: 15_000 });
    expect(hostConfigWithDefaults({ components: { isa: { variant: 'tachy-v1', engine: 'wasm' } } }).components.isa)
      .toMatchObject({ engine: 'wasm' });
    expect(() => hostConfigWithDefaults({ components: { isa: { variant: 'tachy-v1', engine: 'llvm' } } }))
      .toThrow('components.isa.engine: unknown value "llvm" (allowed: js, wasm, auto)');
    expect(() => hostConfigWithDefaults({ components: { isa: { variant: 'tachy-v1', wasmTierUp: -1 } } }))
      .toThrow(/components\.isa\.wasmTierUp/);
  });

  it.skipIf(!hasRunner)('auto by default: run --bare without a host file runs on wasm (256 MiB + one engine area fit wasm32), with js\'s results', () => {
    const sf = join(dir, 'default.json');
    const r = spawnSync(process.execPath, [runnerCli, 'run', '--bare', resolve(root, 'guests/build/hello.elf'), '--stats', sf], { cwd: root, timeout: 120_000 });
    expect(r.status).toBe(0);
    const stats = JSON.parse(readFileSync(sf, 'utf8'));
    expect(stats.isa.engine).toBe('wasm');
    const js = run('hello', 'js', []);
    expect(r.stdout.toString('latin1')).toBe(js.stdout);
    expect(stats.instructions).toBe(js.same.instructions);
    expect(stats.simCycles).toBe(js.same.simCycles);
  });
});
