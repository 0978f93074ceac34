// Real clients against our xenstored: Debian's xenstore-utils (libxenstore 4.17) drive
// `tachyxx xenstored --socket PATH` through XENSTORED_PATH, unchanged. CI installs xenstore-utils;
// without them (or without a built runner) the tests are skipped with a visible reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const cli = resolve(root, 'apps/runner/dist/cli.js');
const hasUtils = existsSync('/usr/bin/xenstore-read');
const hasRunner = existsSync(cli);
if (!hasUtils) console.warn('xenstore-utils: /usr/bin/xenstore-read not found (Debian: apt-get install -y xenstore-utils) - the real-client tests are SKIPPED');
if (!hasRunner) console.warn(`xenstore-utils: ${cli} not found (run pnpm build) - SKIPPED`);

let dir = '';
let sock = '';
let daemon: ChildProcess | undefined;

function xs(tool: string, ...args: string[]) {
  const r = spawnSync(`/usr/bin/xenstore-${tool}`, args, { env: { ...process.env, XENSTORED_PATH: sock }, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!hasUtils || !hasRunner)('xenstore-utils against tachyxx xenstored', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tachyxx-xs-'));
    sock = join(dir, 'sock');
    daemon = spawn(process.execPath, [cli, 'xenstored', '--socket', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    await new Promise<void>((res, rej) => {
      daemon!.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('\n')) res();
      });
      daemon!.once('exit', (code) => rej(new Error(`xenstored exited ${code}: ${err}`)));
    });
    expect(err).toBe(`xenstored listening on ${sock}\n`);
  });
  afterAll(() => {
    daemon?.kill('SIGTERM');
  });

  it('xenstore-write then xenstore-read', () => {
    expect(xs('write', '/vm/a/name', 'alpha', '/vm/a/memory', '256').status).toBe(0);
    const r = xs('read', '/vm/a/name', '/vm/a/memory');
    expect(r).toMatchObject({ status: 0, stdout: 'alpha\n256\n' });
    expect(xs('read', '/vm/a/missing')).toMatchObject({ status: 1, stderr: "xenstore-read: couldn't read path /vm/a/missing\n" });
  });

  it('xenstore-list and xenstore-ls show the tree in creation order', () => {
    xs('write', '/ls/z', '1', '/ls/a', 'two', '/ls/m/deep', '');
    expect(xs('list', '/ls').stdout).toBe('z\na\nm\n');
    expect(xs('ls', '/ls').stdout).toBe('z = "1"\na = "two"\nm = ""\n deep = ""\n');
  });

  it('xenstore-exists answers through its exit status', () => {
    expect(xs('exists', '/vm/a/name').status).toBe(0);
    expect(xs('exists', '/vm/a/nope').status).toBe(1);
  });

  it('xenstore-rm removes a subtree', () => {
    xs('write', '/gone/a/b', 'x');
    expect(xs('rm', '/gone').status).toBe(0);
    expect(xs('exists', '/gone/a/b').status).toBe(1);
    expect(xs('list', '/').stdout).not.toContain('gone');
  });

  it('xenstore-chmod sets permissions (recursively with -r) and xenstore-ls -p shows them', () => {
    xs('write', '/perm/x/y', 'v');
    expect(xs('chmod', '/perm/x', 'n5', 'r6').status).toBe(0);
    expect(xs('ls', '-p', '/perm').stdout).toMatch(/^x = "" +\. .*\(n5,r6\)\n y = "v" .*\(n0\)\n$/);
    expect(xs('chmod', '-r', '/perm', 'b0').status).toBe(0);
    expect(xs('ls', '-p', '/perm').stdout).toMatch(/\(b0\)\n.*\(b0\)\n$/s);
  });

  it('xenstore-watch prints the initial event and then changes below the watched node', async () => {
    const w = spawn('/usr/bin/xenstore-watch', ['-n', '3', '/watched'], { env: { ...process.env, XENSTORED_PATH: sock } });
    let out = '';
    w.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await new Promise((r) => setTimeout(r, 300));
    xs('write', '/watched/child', '1');
    xs('write', '/elsewhere', '1');
    xs('rm', '/watched');
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => {
        w.kill();
        res(null);
      }, 5000);
      w.once('exit', (c) => {
        clearTimeout(t);
        res(c);
      });
    });
    expect(code).toBe(0);
    expect(out).toBe('/watched\n/watched/child\n/watched\n');
  });

  it('keeps serving a pipelining raw client next to the tools', async () => {
    const s = connect(sock);
    await new Promise((r) => s.once('connect', r));
    const n = 500;
    const msgs: Buffer[] = [];
    for (let i = 1; i <= n; i++) {
      const payload = Buffer.from(`/pipe/k${i}\0v${i}`);
      const h = Buffer.alloc(16);
      h.writeUInt32LE(11, 0);
      h.writeUInt32LE(i, 4);
      h.writeUInt32LE(payload.length, 12);
      msgs.push(h, payload);
    }
    s.write(Buffer.concat(msgs));
    let buf = Buffer.alloc(0);
    const ids: number[] = [];
    await new Promise<void>((res) => {
      s.on('data', (b: Buffer) => {
        buf = Buffer.concat([buf, b]);
        while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
          ids.push(buf.readUInt32LE(4));
          buf = buf.subarray(16 + buf.readUInt32LE(12));
        }
        if (ids.length === n) res();
      });
    });
    s.destroy();
    expect(ids).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(xs('read', '/pipe/k500').stdout).toBe('v500\n');
    expect(xs('list', '/pipe').stdout.split('\n').length).toBe(n + 1);
  });
});
