import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { CLI, ROOT, tachyxx, tmp } from './helpers.js';

/** Starts `tachyxx xenstored`, resolves once it printed its ready line. */
async function daemon(...args: string[]) {
  const p = spawn(process.execPath, [CLI, 'xenstored', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  await new Promise<void>((res, rej) => {
    p.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('\n')) res();
    });
    p.once('exit', (c) => rej(new Error(`exited ${c}: ${err}`)));
  });
  const stop = () => new Promise<number | null>((res) => {
    p.once('exit', (c) => res(c));
    p.kill('SIGTERM');
  });
  return { p, err, stop };
}

/** One request over the socket; resolves with the reply payload. */
async function request(sock: string, type: number, payload: string): Promise<string> {
  const s = connect(sock);
  await new Promise((r) => s.once('connect', r));
  const body = Buffer.from(payload);
  const h = Buffer.alloc(16);
  h.writeUInt32LE(type, 0);
  h.writeUInt32LE(body.length, 12);
  s.write(Buffer.concat([h, body]));
  let buf = Buffer.alloc(0);
  return new Promise((res) => {
    s.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      if (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
        s.destroy();
        res(buf.subarray(16, 16 + buf.readUInt32LE(12)).toString());
      }
    });
  });
}

describe('tachyxx xenstored', () => {
  it('prints its help', () => {
    const r = tachyxx('xenstored', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tachyxx xenstored --socket PATH/);
    expect(tachyxx('help', 'xenstored').stdout).toBe(r.stdout);
  });

  it('needs --socket (exit status 2)', () => {
    const r = tachyxx('xenstored');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("tachyxx: --socket PATH is required\nTry 'tachyxx xenstored --help'.\n");
  });

  it('announces itself, serves the socket, stops on SIGTERM and removes the socket', async () => {
    const sock = join(tmp(), 'sock');
    const d = await daemon('--socket', sock);
    expect(d.err).toBe(`xenstored listening on ${sock}\n`);
    expect(await request(sock, 11, '/a\0b')).toBe('OK\0');
    expect(await request(sock, 2, '/a\0')).toBe('b');
    expect(await d.stop()).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it('keeps its tree across a restart with --persist', async () => {
    const dir = tmp();
    const sock = join(dir, 'sock');
    const db = join(dir, 'xs.json');
    const d1 = await daemon('--socket', sock, '--persist', db);
    expect(await request(sock, 11, '/kept/value\0hello')).toBe('OK\0');
    expect(await d1.stop()).toBe(0);
    expect(JSON.parse(readFileSync(db, 'utf8')).format).toBe('tachyxx-xenstore/1');
    const d2 = await daemon('--socket', sock, '--persist', db);
    expect(await request(sock, 2, '/kept/value\0')).toBe('hello');
    expect(await d2.stop()).toBe(0);
  });

  it('fails with status 1 on an unreadable persistence file', async () => {
    const dir = tmp();
    const db = join(dir, 'bad.json');
    (await import('node:fs')).writeFileSync(db, '{"format":"nope"}');
    const r = tachyxx('xenstored', '--socket', join(dir, 'sock'), '--persist', db);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`tachyxx xenstored: ${db}: not a tachyxx-xenstore/1 tree\n`);
  });

  it('creates the --persist files 0600 (whatever the umask) and refuses a world-writable directory', async () => {
    const dir = tmp();
    const sock = join(dir, 'sock');
    const db = join(dir, 'xs.json');
    const d = await daemon('--socket', sock, '--persist', db);
    expect(await request(sock, 11, '/m\0v')).toBe('OK\0');
    for (const f of [db, `${db}.wal`]) expect((statSync(f).mode & 0o777).toString(8)).toBe('600');
    expect(await d.stop()).toBe(0);
    expect((statSync(db).mode & 0o777).toString(8)).toBe('600');
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r = tachyxx('xenstored', '--socket', join(dir, 'sock2'), '--persist', join(open, 'xs.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`tachyxx xenstored: ${open}: directory is world-writable (mode 777); keep the --persist file in a directory only its owner can write\n`);
  });
});
