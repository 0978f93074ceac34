// Inter-domain I/O from real guests through `tachyxx run --domain` (issue 4, sections 3-4):
// xsclient over the xenstore ring page, and the vchan demo (two domUs that find each other in
// xenstore, share a granted ring page and an interdomain event channel) on 1 and 2 pCPUs under
// both event-channel variants. Goldens: guests/<name>/expected-domain.txt (per-domain lines, as on
// the default `fifo` host: the guests run the FIFO ABI); on a `2-level` host init_control is refused
// and only the line naming the ABI differs (vchanGolden).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(CLI);
if (!hasRunner) console.warn(`io-guests: ${CLI} is missing (run 'pnpm build') - every test here is SKIPPED`);
const itR = it.skipIf(!hasRunner);

function tachyxx(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, encoding: 'latin1', maxBuffer: 1 << 26, timeout: 240_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const img = (name: string) => `guests/build/${name}.elf`;
const golden = (name: string) => readFileSync(join(ROOT, 'guests', name, 'expected-domain.txt'), 'latin1');
const linesOf = (name: string, stdout: string) =>
  stdout.split('\n').filter((l) => l.startsWith(`${name}: `)).map((l) => l.slice(name.length + 2) + '\n').join('');

const FIFO_LINE = 'event channels: FIFO ABI (control block, 1 event-array page)\n';
const TWO_LEVEL_LINE = 'event channels: 2-level ABI (init_control -> -EOPNOTSUPP, fell back)\n';
/** A vchan golden for an evtchn host variant: the same checked lines, one line naming the ABI. */
function vchanGolden(name: string, variant: string): string {
  const g = golden(name);
  if (!g.startsWith(FIFO_LINE)) throw new Error(`${name}: expected-domain.txt does not start with the FIFO ABI line`);
  return variant === 'fifo' ? g : TWO_LEVEL_LINE + g.slice(FIFO_LINE.length);
}

function hostFile(pcpus: number, variant: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'tx-io-')), `host-${pcpus}-${variant}.yaml`);
  writeFileSync(f, `pcpus: ${pcpus}\ncomponents:\n  evtchn: ${variant}\n`);
  return f;
}

describe('xsclient: the xenstore ring from a domU', () => {
  itR('reads its name, writes, watches, lists and gets error replies (golden)', () => {
    const r = tachyxx('--domain', img('xsclient'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(golden('xsclient'));
  });

  itR('two instances each see their own /local/domain/<id>', () => {
    const r = tachyxx('--domain', img('xsclient'), '--domain', img('xsclient'));
    expect(r.status).toBe(0);
    expect(linesOf('xsclient', r.stdout)).toBe(golden('xsclient'));
    expect(linesOf('xsclient-2', r.stdout)).toBe(golden('xsclient').replace('"xsclient"', '"xsclient-2"'));
  });
});

describe('vchan demo: vchan-server + vchan-client', () => {
  for (const pcpus of [1, 2]) {
    for (const variant of ['2-level', 'fifo']) {
      const abi = variant === 'fifo' ? 'FIFO' : '2-level (init_control refused)';
      itR(`${pcpus} pCPU(s), evtchn ${variant}: guests on the ${abi} ABI, both directions intact and in order`, () => {
        const r = tachyxx('--domain', img('vchan-server'), '--domain', img('vchan-client'), '--host', hostFile(pcpus, variant));
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(linesOf('vchan-server', r.stdout)).toBe(vchanGolden('vchan-server', variant));
        expect(linesOf('vchan-client', r.stdout)).toBe(vchanGolden('vchan-client', variant));
        expect(r.stdout).not.toContain('CORRUPT');
      });
    }
  }

  it('the goldens differ between the ABIs in the ABI line only', () => {
    for (const name of ['vchan-server', 'vchan-client']) {
      const a = vchanGolden(name, 'fifo').split('\n'), b = vchanGolden(name, '2-level').split('\n');
      expect(a.length).toBe(b.length);
      expect(a.filter((l, i) => l !== b[i])).toEqual([FIFO_LINE.trimEnd()]);
    }
  });

  itR('the client started first still finds the server', () => {
    const r = tachyxx('--domain', img('vchan-client'), '--domain', img('vchan-server'));
    expect(r.status).toBe(0);
    expect(linesOf('vchan-server', r.stdout)).toBe(golden('vchan-server'));
    expect(linesOf('vchan-client', r.stdout)).toBe(golden('vchan-client'));
  });

  itR('a server alone waits (deadlock reported, no crash)', () => {
    const r = tachyxx('--domain', img('vchan-server'));
    expect(r.stdout).toBe(golden('vchan-server').split('\n').slice(0, 3).join('\n') + '\n');
    expect(r.stderr).toContain('deadlock');
    expect(r.status).toBe(1);
  });
});
