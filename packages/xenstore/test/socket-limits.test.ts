// The dom0 socket's own limits (issue 8): the trusted socket directory and the connection limit.
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { chmodSync, mkdirSync, mkdtempSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XsType } from '@tachyxx/abi';
import { encodeMessage, fromUtf8, nulStrings, Xenstored, XsDecoder, XsSocketServer } from '../src/index.js';

const servers: XsSocketServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.close();
});

const open = (path: string) =>
  new Promise<Socket>((res, rej) => {
    const s = connect(path);
    sockets.push(s);
    s.once('connect', () => res(s));
    s.once('error', rej);
  });
const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

/** One request, its reply payload. */
function call(s: Socket, type: number, ...args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const d = new XsDecoder((m) => res(fromUtf8(m.payload)));
    s.on('data', (b) => d.push(b));
    s.once('close', () => rej(new Error('closed')));
    s.write(encodeMessage(type, 1, 0, nulStrings(...args)));
  });
}

describe('XsSocketServer limits', () => {
  it('creates its directory 0700, its socket 0600; refuses a world-writable or symlinked directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'xs-dir-'));
    const server = new XsSocketServer(new Xenstored());
    servers.push(server);
    await server.listen(join(base, 'run', 'xs.sock'));
    expect(statSync(join(base, 'run')).mode & 0o777).toBe(0o700);
    expect(statSync(join(base, 'run', 'xs.sock')).mode & 0o777).toBe(0o600);

    const open777 = join(base, 'shared');
    mkdirSync(open777);
    chmodSync(open777, 0o777);
    await expect(new XsSocketServer(new Xenstored()).listen(join(open777, 'xs.sock'))).rejects.toThrow(/mode 0777: group or others can write/);
    symlinkSync(join(base, 'run'), join(base, 'link'));
    await expect(new XsSocketServer(new Xenstored()).listen(join(base, 'link', 'xs2.sock'))).rejects.toThrow(/symbolic link/);
  });

  it('at the connection limit a silent client is evicted for a new one; with none silent the new one is refused; talking clients go on', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'xs-lim-')), 'sock');
    const logs: string[] = [];
    const server = new XsSocketServer(new Xenstored(), { maxConnections: 4, log: (l) => logs.push(l) });
    servers.push(server);
    await server.listen(path);
    const talker = await open(path);
    expect(await call(talker, XsType.WRITE, '/t', 'v')).toBe('OK\0');
    const silent = [await open(path), await open(path), await open(path)];
    await new Promise((r) => setTimeout(r, 20));
    expect(server.clients.size).toBe(4);
    // A fifth: the oldest silent one goes.
    const fifth = await open(path);
    await closed(silent[0]!);
    expect(server.stats.evicted).toBe(1);
    expect(await call(fifth, XsType.READ, '/t')).toBe('v\0');
    // Everyone left talks: the next one is refused, the others keep working.
    await call(silent[1]!, XsType.READ, '/t');
    await call(silent[2]!, XsType.READ, '/t');
    const refused = await open(path);
    await closed(refused);
    expect(server.stats.refused).toBe(1);
    expect(logs.join('\n')).toMatch(/limit of 4 socket connections/);
    expect(await call(talker, XsType.READ, '/t')).toBe('v\0');
  });

  it('closes a client that sends nothing within the handshake time', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'xs-hs-')), 'sock');
    const server = new XsSocketServer(new Xenstored(), { handshakeMs: 100 });
    servers.push(server);
    await server.listen(path);
    const s = await open(path);
    const t0 = Date.now();
    await closed(s);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(server.stats.timedOut).toBe(1);
  });
});
