// The hypervisor guests (guests/oob, badptr, spin, hcbench, vcpus, timer, balloon) bare and as
// domains, against their golden files (guests/<name>/expected-bare.txt / expected-domain.txt),
// plus the isolation runs of issue 3 section 4: a domain that touches memory outside its P2M, or
// loops forever, does not stop the others.
//
// Domain tests need `tachyxx run --domain`. Whether it works is probed (hello as a domain: exit 0
// and hello's bare output); if it does not, those tests are skipped with a warning, never passed.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(CLI);
if (!hasRunner) console.warn(`hv-guests: ${CLI} is missing (run 'pnpm build') - every test here is SKIPPED`);

interface Run { status: number | null; stdout: string; stderr: string }
function tachyxx(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, 'run', ...args], { cwd: ROOT, encoding: 'latin1', maxBuffer: 1 << 26, timeout: 240_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const img = (name: string) => `guests/build/${name}.elf`;
const golden = (p: string) => readFileSync(join(ROOT, 'guests', p), 'latin1');
const prefixed = (name: string, text: string) => text.split('\n').filter((l) => l !== '').map((l) => `${name}: ${l}`);
const linesOf = (name: string, stdout: string) => stdout.split('\n').filter((l) => l.startsWith(`${name}: `));

/** A host config file (--host) with `pcpus` physical CPUs. */
function hostFile(pcpus: number): string {
  const f = join(mkdtempSync(join(tmpdir(), 'tx-hv-')), `host-${pcpus}.yaml`);
  writeFileSync(f, `pcpus: ${pcpus}\n`);
  return f;
}

const helloBare = hasRunner ? tachyxx('--bare', img('hello')) : null;
const domainModeWorks = (() => {
  if (!helloBare) return false;
  const r = tachyxx('--domain', img('hello'));
  return r.status === 0 && r.stdout === helloBare.stdout && r.stdout.includes('Hello from Tachyxx!');
})();
if (hasRunner && !domainModeWorks) {
  console.warn("hv-guests: 'tachyxx run --domain guests/build/hello.elf' does not work yet (exit status or output differ from --bare) - the DOMAIN tests are SKIPPED");
}
const itBare = it.skipIf(!hasRunner);
const itDom = it.skipIf(!domainModeWorks);

describe('oob: memory outside guest RAM', () => {
  itBare('bare: a fatal load access fault after its first line (exit 1)', () => {
    const r = tachyxx('--bare', img('oob'));
    expect(r.stdout).toBe('oob: reading 0x80000000 + 1 GiB outside RAM\n');
    expect(r.stderr).toMatch(/fatal trap: load_access_fault \(cause 5\) at PL2, pc 0x[0-9a-f]+ \(ld .*\), tval 0xc0000000/);
    expect(r.status).toBe(1);
  });

  itDom('domain: a stage-2 violation crashes the domain (exit 1)', () => {
    const r = tachyxx('--domain', img('oob'));
    expect(r.stdout).toBe('oob: reading 0x80000000 + 1 GiB outside RAM\n');
    expect(r.stderr).toMatch(/domain 'oob' \(d1\) crashed: d1v0: stage-2 violation: load_guest_page_fault at GPA 0xc0000000/);
    expect(r.stdout).not.toContain('not reached');
    expect(r.status).toBe(1);
  });

  itDom('--domain oob --domain hello: hello runs to the end, oob is reported crashed, exit 1', () => {
    const r = tachyxx('--domain', img('oob'), '--domain', img('hello'));
    expect(linesOf('hello', r.stdout)).toEqual(prefixed('hello', helloBare!.stdout));
    expect(linesOf('oob', r.stdout)).toEqual(['oob: oob: reading 0x80000000 + 1 GiB outside RAM']);
    expect(r.stderr).toMatch(/domain 'oob' \(d1\) crashed: .*stage-2 violation/);
    expect(r.stderr).not.toMatch(/'hello'/);
    expect(r.status).toBe(1);
  });
});

describe('badptr: bad hypercall pointers and values', () => {
  // The console_io / sched_op part is common to both modes; the rest is mode-specific.
  const common = (s: string) => s.slice(0, s.indexOf('badptr: bare') >= 0 ? s.indexOf('badptr: bare') : s.indexOf('badptr: domain'));

  itBare('bare: every result as expected-bare.txt, then a normal poweroff', () => {
    const r = tachyxx('--bare', img('badptr'));
    expect(r.stdout).toBe(golden('badptr/expected-bare.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('domain: every result as expected-domain.txt, then a normal poweroff', () => {
    const r = tachyxx('--domain', img('badptr'));
    expect(r.stdout).toBe(golden('badptr/expected-domain.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  it.skipIf(!hasRunner)('the golden files agree on console_io and sched_op (identical bare and as a domain)', () => {
    const b = golden('badptr/expected-bare.txt'), d = golden('badptr/expected-domain.txt');
    expect(common(b).length).toBeGreaterThan(500);
    expect(common(d)).toBe(common(b));
    expect(common(b)).toContain('console_io buffer at 0x1000                                -> -14');
  });

  itDom('next to hello: both power off, hello intact', () => {
    const r = tachyxx('--domain', img('badptr'), '--domain', img('hello'));
    expect(linesOf('hello', r.stdout)).toEqual(prefixed('hello', helloBare!.stdout));
    expect(linesOf('badptr', r.stdout)).toEqual(prefixed('badptr', golden('badptr/expected-domain.txt')));
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('spin: a guest that never yields', () => {
  itBare('bare: stopped by --max-insns (exit 1)', () => {
    const r = tachyxx('--bare', img('spin'), '--max-insns', '2000000');
    expect(r.stdout).toBe('spin: looping forever\n');
    expect(r.stderr).toContain('stopped after --max-insns 2000000');
    expect(r.status).toBe(1);
  });

  // One pCPU (the default host): credit1 gives spin a whole 30 ms slice (30 M cycles at 1 GHz)
  // before hello's turn, so 20 M instructions are not enough there; 100 M are.
  itDom('--domain spin --domain hello on one pCPU: hello completes; spin is still running at --max-insns', () => {
    const r = tachyxx('--domain', img('spin'), '--domain', img('hello'), '--max-insns', '100000000');
    expect(linesOf('hello', r.stdout)).toEqual(prefixed('hello', helloBare!.stdout));
    expect(linesOf('spin', r.stdout)).toEqual(['spin: spin: looping forever']);
    expect(r.stderr).toMatch(/domain 'spin' \(d1\) still running/);
    expect(r.stderr).not.toMatch(/'hello'/);
    expect(r.status).toBe(1);
  });

  itDom('--domain spin --domain hello --max-insns 20000000 on two pCPUs: hello completes', () => {
    const r = tachyxx('--host', hostFile(2), '--domain', img('spin'), '--domain', img('hello'), '--max-insns', '20000000');
    expect(linesOf('hello', r.stdout)).toEqual(prefixed('hello', helloBare!.stdout));
    expect(r.stderr).toMatch(/domain 'spin' \(d1\) still running/);
    expect(r.stderr).not.toMatch(/'hello'/);
    expect(r.status).toBe(1);
  });
});

describe('hcbench: null hypercall round trip', () => {
  const expected = 'hcbench: 10000 calls of sched_op(invalid), sum of results -380000 (all -ENOSYS)\n';
  const stats = (mode: string) => {
    const f = join(mkdtempSync(join(tmpdir(), 'tx-hc-')), 's.json');
    const r = tachyxx(mode, img('hcbench-small'), '--stats', f);
    return { r, s: JSON.parse(readFileSync(f, 'utf8')) };
  };

  itBare('bare: 10000 calls, all -ENOSYS; the stats count them', () => {
    const { r, s } = stats('--bare');
    expect(r.stdout).toBe(expected);
    expect(r.status, r.stderr).toBe(0);
    expect(s.hypercalls.sched_op).toBe(10001); // + the shutdown
    expect(s.simCycles).toBeGreaterThan(0);
  });

  itDom('domain: the same output and the same number of calls', () => {
    const { r, s } = stats('--domain');
    expect(r.stdout).toBe(expected);
    expect(r.status, r.stderr).toBe(0);
    // In the stats tree: host.hypervisor.hypercalls (per name), host.cpu0.traps (per cause).
    expect(s.tree.host.hypervisor.hypercalls.sched_op).toBe(10001);
    const calls = Object.values(s.tree.host.hypervisor.hypercalls as Record<string, number>).reduce((x, y) => x + y, 0);
    expect(s.tree.host.cpu0.traps.ecall_from_pl2).toBe(calls); // every hypercall is one ecall trap
  });
});

describe('vcpus: several vCPUs in one domain', () => {
  itBare('bare: one vCPU (vcpu_op is -ENOSYS)', () => {
    const r = tachyxx('--bare', img('vcpus'));
    expect(r.stdout).toBe(golden('vcpus/expected-bare.txt'));
    expect(r.stdout).toBe('vcpus: 1 (bare)\n');
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('--vcpus 4: initialise/up 1..3, all check in with amoadd, go down again (expected-domain.txt)', () => {
    const r = tachyxx('--domain', img('vcpus'), '--vcpus', '4');
    expect(r.stdout).toBe(golden('vcpus/expected-domain.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('--vcpus 4 on four pCPUs: the same output (vCPUs really in parallel)', () => {
    const r = tachyxx('--host', hostFile(4), '--domain', img('vcpus'), '--vcpus', '4');
    expect(r.stdout).toBe(golden('vcpus/expected-domain.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('two domains with --vcpus 8 on two pCPUs: both count 8', () => {
    const r = tachyxx('--host', hostFile(2), '--domain', img('vcpus'), '--domain', img('vcpus'), '--vcpus', '8');
    expect(r.stdout).toContain('vcpus: vcpus: total 8\n');
    expect(r.stdout).toContain('vcpus-2: vcpus: total 8\n');
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('--vcpus 1: only the boot vCPU', () => {
    const r = tachyxx('--domain', img('vcpus'));
    expect(r.stdout).toContain('vcpus: vCPU 0 of 1, is_up(0) = 1\n');
    expect(r.stdout).toContain('vcpus: total 1\n');
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('timer: time and timers', () => {
  itBare('bare: stimecmp + wfi wakes after the deadline; no shared info', () => {
    const r = tachyxx('--bare', img('timer'));
    expect(r.stdout).toBe(golden('timer/expected-bare.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  // The parts that work today.
  itDom('domain: shared-info time under the version pair, set_timer_op + block, stimecmp + wfi', () => {
    const r = tachyxx('--domain', img('timer'));
    const want = golden('timer/expected-domain.txt').split('\n');
    const got = r.stdout.split('\n');
    for (const prefix of ['stimecmp:', 'shared_info:', 'vcpu_time_info:', 'system time', 'stop_periodic_timer', 'upcall line', 'set_timer_op', 'set_singleshot_timer 1 ms', 'set_singleshot_timer for another']) {
      expect(got.filter((l) => l.startsWith(prefix)), prefix).toEqual(want.filter((l) => l.startsWith(prefix)));
    }
  });
  itDom('domain: everything as expected-domain.txt (upcall acknowledgement and pCPU-local NOW fixed)', () => {
    const r = tachyxx('--domain', img('timer'));
    expect(r.stdout).toBe(golden('timer/expected-domain.txt'));
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('balloon: memory_op on DOMID_SELF', () => {
  itBare('bare: memory_op is -ENOSYS', () => {
    const r = tachyxx('--bare', img('balloon'));
    expect(r.stdout).toBe(golden('balloon/expected-bare.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('domain: give back 16 pages, take them back zeroed (expected-domain.txt)', () => {
    const r = tachyxx('--domain', img('balloon'));
    expect(r.stdout).toBe(golden('balloon/expected-domain.txt'));
    expect(r.status, r.stderr).toBe(0);
  });

  itDom('domain with --memory 32, next to hello: the same facts, hello intact', () => {
    const r = tachyxx('--domain', img('balloon'), '--domain', img('hello'), '--memory', '32');
    expect(linesOf('balloon', r.stdout)).toEqual(prefixed('balloon', golden('balloon/expected-domain.txt')));
    expect(linesOf('hello', r.stdout)).toEqual(prefixed('hello', helloBare!.stdout));
    expect(r.status, r.stderr).toBe(0);
  });
});
