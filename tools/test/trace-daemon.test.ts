// `tachyxx host --trace-events FILE`: the daemon's bus, traced while xl drives it, written when it
// stops (SIGTERM).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const XL = join(ROOT, 'apps/xl/dist/cli.js');
const TACHYXX = join(ROOT, 'apps/runner/dist/cli.js');
const built = existsSync(XL) && existsSync(TACHYXX);
const dir = mkdtempSync(join(tmpdir(), 'tachyxx-trace-daemon-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!built)('the host daemon with --trace-events', () => {
  it('traces the domains xl creates: their vCPUs on pCPU tracks, lifecycle and shutdown on domain tracks', async () => {
    const socket = join(dir, 'host.sock');
    const trace = join(dir, 'trace.json');
    const host = spawn(process.execPath, [TACHYXX, 'host', '--socket', socket, '--log-dir', join(dir, 'log'), '--unpaced', '--trace-events', trace], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    host.stderr!.on('data', (d) => (err += d));
    const end = Date.now() + 20_000;
    while (!err.includes('listening on') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const cfg = join(dir, 'hello.cfg');
    writeFileSync(cfg, `name = "hello"\nkernel = "${join(ROOT, 'guests/build/hello.elf')}"\nmemory = 16\n`);
    const xl = spawnSync(process.execPath, [XL, 'create', '-c', cfg], { encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: socket }, timeout: 60_000 });
    expect(xl.status, xl.stderr).toBe(0);
    host.kill('SIGTERM');
    await new Promise((r) => host.once('exit', r));
    expect(host.exitCode, err).toBe(0);
    const { traceEvents } = JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: { ph: string; name: string; cat?: string; args?: { name?: string } }[] };
    expect(traceEvents.some((e) => e.ph === 'M' && e.args?.name === 'd1 hello')).toBe(true);
    expect(traceEvents.some((e) => e.ph === 'X' && e.name === 'd1v0')).toBe(true);
    expect(traceEvents.filter((e) => e.cat === 'domain').map((e) => e.name)).toEqual(expect.arrayContaining(['created', 'unpaused', 'shutdown poweroff', 'destroyed']));
  });
});
