// The PV console ring end to end: a real `tachyxx host` daemon, the echo guest, input through the
// `console-input` op (what `xl console` sends as the user types), output back through the
// `console` stream (the same stream as console_io output) and the guest's log.
import { describe, it, expect, afterAll } from 'vitest';
import { ROOT, TACHYXX, until as waitUntil } from './process-helpers.js';

const until = (pred: () => boolean, ms = 20_000) => waitUntil(pred, ms, 10);
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostClient } from '@tachyxx/toolstack';

const CLI = TACHYXX;
const hasRunner = existsSync(CLI);
if (!hasRunner) console.warn(`console-ring-daemon: ${CLI} is missing (run 'pnpm build') - every test here is SKIPPED`);


const config = (name: string) => ({
  c_info: { name, type: 'pv' },
  b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 16384, target_memkb: 16384, kernel: join(ROOT, 'guests/build/echo.elf') },
});

describe.skipIf(!hasRunner)('console ring through the host daemon', () => {
  let proc: ChildProcess | null = null;
  let c: HostClient | null = null;
  afterAll(async () => {
    c?.close();
    if (proc && proc.exitCode === null) {
      const done = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    }
  });

  it('echo: "hello\\nquit\\n" in, "HELLO" out, the domain powers off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-console-'));
    const sock = join(dir, 'run', 'host.sock');
    proc = spawn(process.execPath, [CLI, 'host', '--socket', sock, '--unpaced'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    await until(() => err.includes('listening on') || proc!.exitCode !== null, 15_000);
    expect(proc.exitCode, err).toBeNull();
    c = await HostClient.connect(sock);
    expect((await c.call('hello')).ops).toContain('console-input');

    const r = await c.call('create', { config: config('echo'), paused: true });
    let text = '';
    let ended: Record<string, unknown> | null = null;
    await c.call('console', { domain: 'echo' }, (ev) => {
      if (ev.event === 'console') text += Buffer.from(ev.data as string, 'base64').toString();
      else if (ev.event === 'end') ended = ev;
    });
    const events: any[] = [];
    await c.call('events', {}, (ev) => events.push(ev));
    await c.call('unpause', { domain: 'echo' });
    await until(() => text.includes('echo: ready\n'));
    const sent = await c.call('console-input', { domain: r.domid, data: Buffer.from('hello\nquit\n').toString('base64') });
    expect(sent).toMatchObject({ domid: r.domid, name: 'echo', accepted: 11 });
    await until(() => ended !== null);
    expect(text).toBe('echo: ready\nHELLO\necho: bye\n');
    expect(ended!.reason).toBe('destroyed');
    expect(events.find((e) => e.kind === 'shutdown' && e.domid === r.domid)).toMatchObject({ reason: 'poweroff' });
    expect(readFileSync(join(dir, 'run', 'log', 'guest-echo.log'), 'utf8')).toContain('HELLO\n');
    // errors: unknown domain, dom0, missing data
    await expect(c.call('console-input', { domain: 'nope', data: '' })).rejects.toMatchObject({ code: 'ESRCH' });
    await expect(c.call('console-input', { domain: 0, data: 'eA==' })).rejects.toMatchObject({ code: 'EINVAL' });
  });
});
