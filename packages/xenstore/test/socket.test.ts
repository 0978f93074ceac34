import { afterEach, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XsType } from '@tachyxx/abi';
import { encodeMessage, fromUtf8, nulStrings, splitStrings, Xenstored, XsDecoder, XsSocketServer, type XsMessage, type XenstoredOptions } from '../src/index.js';

const servers: XsSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(opts: XenstoredOptions = {}) {
  const xs = new Xenstored(opts);
  const server = new XsSocketServer(xs);
  const path = join(mkdtempSync(join(tmpdir(), 'xs-sock-')), 'sock');
  await server.listen(path);
  servers.push(server);
  return { xs, server, path };
}

class Client {
  readonly got: XsMessage[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly sock: Socket) {
    const d = new XsDecoder((m) => {
      this.got.push(m);
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('data', (b) => d.push(b));
    sock.on('close', () => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
    });
    sock.on('error', () => {});
  }
  static async open(path: string) {
    const s = connect(path);
    await new Promise((r) => s.once('connect', r));
    return new Client(s);
  }
  async waitFor(n: number): Promise<XsMessage[]> {
    while (this.got.length < n && !this.closed) await new Promise<void>((r) => this.waiters.push(r));
    return this.got;
  }
  async call(type: number, ...args: string[]): Promise<string> {
    const n = this.got.filter((m) => m.type !== XsType.WATCH_EVENT).length;
    this.sock.write(encodeMessage(type, 1, 0, nulStrings(...args)));
    for (;;) {
      const replies = this.got.filter((m) => m.type !== XsType.WATCH_EVENT);
      if (replies.length > n) return fromUtf8(replies[n]!.payload);
      if (this.closed) throw new Error('closed');
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('Unix socket transport', () => {
  it('answers pipelined requests in order, one reply per request', async () => {
    const { path } = await start();
    const c = await Client.open(path);
    const reqs = [];
    for (let i = 1; i <= 2000; i++) reqs.push(encodeMessage(XsType.WRITE, i, 0, new TextEncoder().encode(`/p/k${i % 10}\0v${i}`)));
    c.sock.write(Buffer.concat(reqs));
    const got = await c.waitFor(2000);
    expect(got.map((m) => m.reqId)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    expect(await c.call(XsType.READ, '/p/k0')).toBe('v2000');
    c.sock.destroy();
  });

  it('forgets a client that disconnects mid-message; the others keep working', async () => {
    const { path, xs } = await start();
    const a = await Client.open(path);
    const b = await Client.open(path);
    await a.call(XsType.WATCH, '/w', 't');
    a.sock.write(encodeMessage(XsType.WRITE, 9, 0, nulStrings('/half', 'x')).subarray(0, 21));
    a.sock.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(await b.call(XsType.WRITE, '/w', '1')).toBe('OK\0');
    expect(await b.call(XsType.READ, '/half')).toBe('ENOENT\0');
    expect(xs.connections.size).toBe(1);
    b.sock.destroy();
  });

  it('drops a client that sends an oversized length', async () => {
    const { path, xs } = await start();
    const a = await Client.open(path);
    const b = await Client.open(path);
    const hdr = encodeMessage(XsType.READ, 1, 0, new Uint8Array());
    new DataView(hdr.buffer).setUint32(12, 5000, true);
    a.sock.write(hdr);
    await a.waitFor(1);
    expect(a.closed).toBe(true);
    expect(await b.call(XsType.READ, '/tool/xenstored')).toBe('');
    expect(xs.stats.connectionsDropped.value).toBe(1);
    b.sock.destroy();
  });

  it('drops a watcher that floods itself and never reads, without hurting a reading watcher', async () => {
    const { path, xs } = await start({ quotas: { outputBytesPerConnection: 64 * 1024 } });
    const flooder = await Client.open(path);
    const reader = await Client.open(path);
    const writer = await Client.open(path);
    await flooder.call(XsType.WATCH, '/', 'f');
    await reader.call(XsType.WATCH, '/fl', 'r');
    flooder.sock.pause();
    const long = 'x'.repeat(200);
    for (let round = 0; round < 20 && !flooder.closed; round++) {
      const reqs = [];
      for (let i = 0; i < 500; i++) reqs.push(encodeMessage(XsType.WRITE, i, 0, new TextEncoder().encode(`/fl/${long}${i}\0v`)));
      writer.sock.write(Buffer.concat(reqs));
      await writer.waitFor((round + 1) * 500);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(xs.stats.connectionsDropped.value).toBe(1);
    expect([...xs.connections].some((c) => c.dropReason === 'output overflow')).toBe(false);
    expect(reader.closed).toBe(false);
    const events = reader.got.filter((m) => m.type === XsType.WATCH_EVENT);
    expect(events.length).toBeGreaterThan(1000);
    expect(splitStrings(events[0]!.payload)).toEqual(['/fl', 'r']);
    expect(await writer.call(XsType.READ, `/fl/${long}1`)).toBe('v');
    reader.sock.destroy();
    writer.sock.destroy();
    flooder.sock.destroy();
  });

  it('refuses to take over a socket another server listens on', async () => {
    const { path } = await start();
    const other = new XsSocketServer(new Xenstored());
    await expect(other.listen(path)).rejects.toThrow(/another xenstored/);
  });
});
