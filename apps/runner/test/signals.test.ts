// Issue 8: `tachyxx run` on a signal or a closed stdout, and images that are not regular files.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { CLI, GUEST, ROOT, tachyxx, tmp } from './helpers.js';

function runUntilOutput(args: string[], lines: number, signal: NodeJS.Signals) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((res) => {
    const p = spawn(process.execPath, [CLI, 'run', ...args], { cwd: ROOT });
    let out = '';
    let err = '';
    let sent = false;
    const send = () => {
      if (!sent) (sent = true), p.kill(signal);
    };
    p.stdout.on('data', (d) => {
      out += d;
      // The first line is out: the others are (were) still in the 64 KiB buffer.
      if (out.split('\n').length > 1) send();
    });
    p.stderr.on('data', (d) => (err += d));
    setTimeout(send, 5000);
    p.on('exit', (code) => res({ status: code, stdout: out, stderr: err }));
  });
}

describe('tachyxx run: signals flush the console', () => {
  // Six pCPUs: the six domains print their line in the same instant (the first goes out at
  // once, the other five wait in the 64 KiB buffer), then spin forever.
  const hostFile = join(tmp(), 'host6.yaml');
  writeFileSync(hostFile, 'pcpus: 6\nmemoryMiB: 1024\n');
  const six = [...Array.from({ length: 6 }, () => ['--domain', GUEST('spin')]).flat(), '--host', hostFile];
  for (const [sig, status] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig}: every line of all 6 domains is printed, exit ${status}`, async () => {
      const r = await runUntilOutput(six, 6, sig);
      const lines = r.stdout.trim().split('\n');
      expect(lines).toHaveLength(6);
      expect(new Set(lines)).toEqual(new Set(['spin: spin: looping forever', ...[2, 3, 4, 5, 6].map((n) => `spin-${n}: spin: looping forever`)]));
      expect(r.stderr).toBe(`tachyxx: stopped by ${sig}\n`);
      expect(r.status).toBe(status);
    });
  }

  it('--bare: SIGINT stops a spinning guest with its output flushed, exit 130', async () => {
    const r = await runUntilOutput(['--bare', GUEST('spin')], 1, 'SIGINT');
    expect(r.stdout).toBe('spin: looping forever\n');
    expect(r.stderr).toBe('tachyxx: stopped by SIGINT\n');
    expect(r.status).toBe(130);
  });

  it('--bare: a reader that goes away (EPIPE) stops a flooding guest', () => {
    const p = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" run --bare "${GUEST('conflood')}" | head -c 1000 > /dev/null`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(p.error).toBeUndefined();
    expect(p.status).toBe(0);
  });

  it('a reader that goes away (EPIPE) stops a spinning run instead of running forever', () => {
    const p = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" run --domain "${GUEST('conflood')}" | head -c 1000 > /dev/null; echo "\${PIPESTATUS:-done}"`], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(p.error).toBeUndefined();
    expect(p.status).toBe(0);
  });
});

describe('tachyxx run: images that are not regular files', () => {
  it('/dev/zero, a FIFO, a directory: exit 2 at once with one line naming the file', () => {
    const d = tmp();
    const fifo = join(d, 'img.fifo');
    spawnSync('mkfifo', [fifo]);
    for (const [file, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [d, 'a directory']] as const) {
      for (const mode of ['--bare', '--domain']) {
        const t0 = Date.now();
        const r = tachyxx('run', mode, file);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`tachyxx: ${file}: is ${kind}, not a regular file\n`);
        expect(Date.now() - t0).toBeLessThan(10_000);
      }
    }
  });
});

describe('tachyxx host: the new limits flags', () => {
  it('bad values are usage errors (exit 2) naming the flag', () => {
    expect(tachyxx('host', '--log-size', 'lots')).toMatchObject({ status: 2, stderr: expect.stringContaining("--log-size: 'lots' is not a size") });
    expect(tachyxx('host', '--log-keep', '-1')).toMatchObject({ status: 2 });
    expect(tachyxx('host', '--max-connections', '0')).toMatchObject({ status: 2, stderr: expect.stringContaining('--max-connections: 0 is out of range 1..100000') });
    expect(tachyxx('host', '--console-rate', '1e300')).toMatchObject({ status: 2, stderr: expect.stringContaining('--console-rate') });
    expect(tachyxx('host', '--help').stdout).toMatch(/--console-rate BYTES[\s\S]*--max-connections N/);
  });
});
