// `xl debug` (issue 16 §2): a real `tachyxx host --unpaced` process, a domain created paused, a gdb
// stub started inside the daemon, and gdb-multiarch in batch mode breaking in the -g guest
// gdbdemo. While gdb holds it (all-stop) xl is answered and simulated time stands still; after
// gdb's detach the domain finishes with its normal console output. Plus the refusals, exactly.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { GUEST, ROOT, XL, cliBuilt, until as waitUntil, xlSync, startHost, stopHost } from './process-helpers.js';

const until = (pred: () => boolean, ms = 20_000) => waitUntil(pred, ms);
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ELF = GUEST('gdbdemo');
const built = cliBuilt;
const hasGdb = spawnSync('gdb-multiarch', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasGdb) console.warn('xl-debug: gdb-multiarch not found (Debian: apt-get install -y gdb-multiarch) - the gdb session is SKIPPED');

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xldebug-'));
const socket = join(dir, 'host.sock');
let host: ChildProcess | null = null;

function xl(...args: string[]) {
  const r = xlSync(socket, args);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  if (!built) return;
  host = await startHost(['--unpaced', '--socket', socket, '--log-dir', dir]);
});

afterAll(async () => {
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('xl debug against a running tachyxx host (real processes)', () => {
  it('refusals: bad listen address, unknown domain, detach with none, second attach EBUSY, Domain-0', () => {
    const c = xl('create', '-p', 'examples/gdbdemo.cfg');
    expect(c.code, c.err).toBe(0);
    let r = xl('debug', 'nosuch');
    expect([r.code, r.err]).toEqual([1, 'nosuch is an invalid domain identifier (rc=-6)\n']);
    r = xl('debug', '--detach', 'gdbdemo');
    expect([r.code, r.err]).toEqual([1, 'libxl: error: domain 1 has no debugger attached\n']);
    r = xl('debug', '--port', '70000', 'gdbdemo');
    expect([r.code, r.err]).toContain(2);
    expect(r.err).toContain('debug: --port 70000: not a TCP port (0-65535)');
    r = xl('debug', 'Domain-0');
    expect([r.code, r.err]).toEqual([1, 'libxl: error: this operation is not allowed on Domain-0\n']);
    const sock = join(dir, 'exists');
    writeFileSync(sock, 'keep me');
    r = xl('debug', '--unix', sock, 'gdbdemo');
    expect([r.code, r.err]).toEqual([1, `libxl: error: listen unix:${sock}: ${sock} exists (the daemon does not remove it)\n`]);
    expect(readFileSync(sock, 'utf8')).toBe('keep me');
    const a = xl('debug', 'gdbdemo');
    expect(a.code, a.err).toBe(0);
    expect(a.out).toMatch(/^gdb stub for domain 1 \(gdbdemo\) listening on 127\.0\.0\.1:\d+ \(all-stop/);
    r = xl('debug', 'gdbdemo');
    expect([r.code, r.err]).toEqual([1, 'libxl: error: domain 1 (gdbdemo) already has a debugger; xl debug --detach 1 first\n']);
    r = xl('debug', '--detach', 'gdbdemo');
    expect([r.code, r.out]).toEqual([0, 'debugger of domain 1 (gdbdemo) detached; the domain runs on\n']);
    r = xl('debug', '--detach', '1');
    expect([r.code, r.err]).toEqual([1, 'libxl: error: domain 1 has no debugger attached\n']);
    r = xl('destroy', 'gdbdemo');
    expect(r.code, r.err).toBe(0);
  });

  it.skipIf(!hasGdb)('gdb breaks in square, bt, xl answers while held (time stands still), detach: the domain finishes normally', async () => {
    expect(xl('create', '-p', 'examples/gdbdemo.cfg').code).toBe(0);
    const domid = Number(xl('domid', 'gdbdemo').out.trim());
    const gsock = join(dir, 'gdb.sock');
    const a = xl('debug', '--unix', gsock, 'gdbdemo');
    expect(a.code, a.err).toBe(0);
    expect(a.out).toContain(`connect: gdb-multiarch -ex 'target remote ${gsock}' KERNEL-ELF`);
    const script = join(dir, 's.gdb');
    const xlCmd = (c: string) => `shell TACHYXX_HOST=${socket} ${process.execPath} ${XL} ${c}`;
    writeFileSync(script, [
      'set pagination off', 'set confirm off', `target remote ${gsock}`, 'break square',
      xlCmd('unpause gdbdemo'), 'continue', 'bt',
      xlCmd('list gdbdemo'), xlCmd('info'), 'shell sleep 0.5', xlCmd('info'),
      'delete', 'detach', '',
    ].join('\n'));
    const text = await new Promise<string>((res, rej) => {
      const g = spawn('gdb-multiarch', ['-q', '-nx', '-batch', ELF, '-x', script], { cwd: ROOT });
      let t = '';
      g.stdout.on('data', (b) => { t += b; });
      g.stderr.on('data', (b) => { t += b; });
      const timer = setTimeout(() => { g.kill('SIGKILL'); rej(new Error(`gdb timed out:\n${t}`)); }, 120_000);
      g.on('exit', () => { clearTimeout(timer); res(t); });
    });
    expect(text).toMatch(/Breakpoint 1, square \(x=1\) at \.\/guests\/gdbdemo\/gdbdemo\.c:12/);
    expect(text).toMatch(/#1 +0x[0-9a-f]+ in accumulate \(n=3\) at \.\/guests\/gdbdemo\/gdbdemo\.c:19/);
    expect(text).toMatch(/#2 +0x[0-9a-f]+ in main \(\) at \.\/guests\/gdbdemo\/gdbdemo\.c:29/);
    expect(text).toMatch(new RegExp(`^gdbdemo +${domid} +16 +1 +r-----`, 'm'));
    // all-stop: two `xl info` half a second apart while gdb holds the domain see the same time
    const times = [...text.matchAll(/^sim_time_ns\s*:\s*(\d+)$/gm)].map((m) => m[1]);
    expect(times).toHaveLength(2);
    expect(times[0]).toBe(times[1]);
    expect(text).toContain('[Inferior 1 (Remote target) detached]');
    // detached: the domain runs on to its end (on_poweroff destroy), console output unchanged
    await until(() => !xl('list').out.includes('gdbdemo'));
    expect(readFileSync(join(dir, 'guest-gdbdemo.log'), 'utf8')).toBe(readFileSync(join(ROOT, 'guests/gdbdemo/expected.txt'), 'utf8'));
    expect(existsSync(gsock)).toBe(false); // the stub closed with the domain
    expect(xl('dmesg').out).toMatch(/debug d\d+: debugger closed/);
  });
});
