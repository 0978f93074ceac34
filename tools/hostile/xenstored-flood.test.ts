// Hostile: one guest floods xenstored through its ring - watches, transactions, large and many
// writes, events it never reads - next to a victim dom0 client on the Unix socket. The guest hits
// C xenstored's quotas (ENOSPC), the victim's reads, writes and watch events keep working with a
// bounded latency, and Debian's xenstore-utils still work against the same xenstored afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XsType } from '@tachyxx/abi';
import { connectLocal, encodeMessage, introduceRing, ringPageOf, Xenstored, XsRingFrontend, XsSocketServer } from '@tachyxx/xenstore';

const hasUtils = existsSync('/usr/bin/xenstore-read');
if (!hasUtils) console.warn('xenstored-flood: /usr/bin/xenstore-read not found (apt-get install xenstore-utils) - the xenstore-utils part is SKIPPED');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The guest's side of the ring (a mini-OS-style xenbus driver over a plain page). */
const Guest = XsRingFrontend;

/** A dom0 client on the socket with one request in flight at a time (as xenstore-utils do). */
class Victim {
  private buf = Buffer.alloc(0);
  private wait: ((m: { type: number; payload: string }) => void) | undefined;
  readonly events: string[] = [];
  private constructor(private readonly s: Socket) {
    s.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      while (this.buf.length >= 16 && this.buf.length >= 16 + this.buf.readUInt32LE(12)) {
        const len = this.buf.readUInt32LE(12);
        const type = this.buf.readUInt32LE(0);
        const payload = this.buf.subarray(16, 16 + len).toString('latin1');
        this.buf = this.buf.subarray(16 + len);
        if (type === XsType.WATCH_EVENT) this.events.push(payload);
        else {
          const w = this.wait;
          this.wait = undefined;
          w?.({ type, payload });
        }
      }
    });
  }
  static open(sock: string): Promise<Victim> {
    return new Promise((res, rej) => {
      const s = connect(sock);
      s.once('connect', () => res(new Victim(s)));
      s.once('error', rej);
    });
  }
  request(type: number, payload: string): Promise<{ type: number; payload: string }> {
    const body = Buffer.from(payload);
    const h = Buffer.alloc(16);
    h.writeUInt32LE(type, 0);
    h.writeUInt32LE(body.length, 12);
    return new Promise((res) => {
      this.wait = res;
      this.s.write(Buffer.concat([h, body]));
    });
  }
  close() {
    this.s.destroy();
  }
}

describe('one guest floods xenstored next to a victim', () => {
  it('the guest meets ENOSPC quotas; the victim keeps reading, writing and getting events; xenstore-utils still work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xsd-flood-'));
    dirs.push(dir);
    const sock = join(dir, 'sock');
    const lines: string[] = [];
    const xs = new Xenstored({ log: (l) => lines.push(l) });
    const server = new XsSocketServer(xs);
    await server.listen(sock);
    const dom0 = connectLocal(xs, 0);
    dom0.mkdir('/local/domain/5');
    dom0.setPerms('/local/domain/5', ['n5']);
    const g = new Guest();
    const ring = introduceRing(xs, 5, ringPageOf(g.page), () => {});

    const victim = await Victim.open(sock);
    expect((await victim.request(XsType.WRITE, '/victim/v\0start')).payload).toBe('OK\0');
    expect((await victim.request(XsType.WATCH, '/victim\0vt\0')).payload).toBe('OK\0');

    // The flood, generated lazily: watches, transactions, big values, many nodes, and events
    // for its own watches that it stops reading half-way.
    const big = 'x'.repeat(2100);
    let n = 0;
    const nextRequest = (): Uint8Array => {
      const i = n++;
      const enc = (t: number, s: string, tx = 0) => encodeMessage(t, i, tx, Buffer.from(s));
      switch (i % 5) {
        case 0: return enc(XsType.WATCH, `data\0w${i}\0`);
        case 1: return enc(XsType.TRANSACTION_START, '\0');
        case 2: return enc(XsType.WRITE, `data/big${i}\0${big}`);
        case 3: return enc(XsType.WRITE, `data/n${i}/a/b\0v`);
        default: return enc(XsType.WRITE, `data\0${i}`);
      }
    };
    let pending = nextRequest();
    let reading = true;
    let stop = false;
    const pump = () => {
      if (stop || ring.closed) return;
      // Fill the ring, notify (one processRing per event-loop turn, as the event channel does).
      for (;;) {
        const sent = g.send(pending);
        if (sent < pending.length) {
          pending = pending.subarray(sent);
          break;
        }
        pending = nextRequest();
      }
      ring.processRing();
      if (reading) g.receive();
      setImmediate(pump);
    };
    setImmediate(pump);

    // The victim's round trips while the flood runs.
    const latencies: number[] = [];
    const t0 = Date.now();
    for (let i = 0; Date.now() - t0 < 1500; i++) {
      if (i === 200) reading = false; // the guest stops reading its ring from here on
      const t = performance.now();
      expect((await victim.request(XsType.WRITE, `/victim/v\0value-${i}`)).payload).toBe('OK\0');
      expect((await victim.request(XsType.READ, '/victim/v\0')).payload).toBe(`value-${i}`);
      latencies.push(performance.now() - t);
    }
    stop = true;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)]!;
    console.log(`flood: guest sent ${n} requests; victim did ${latencies.length} write+read round trips, p50 ${latencies[latencies.length >> 1]!.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`);
    expect(n).toBeGreaterThan(500);
    // It stopped reading: its unread replies stall it (quota "outstanding", 20), nobody else.
    expect(ring.queued).toBeGreaterThanOrEqual(20);
    expect(ring.closed).toBe(false);
    expect(latencies.length).toBeGreaterThan(100);
    expect(p99).toBeLessThan(250);
    expect(victim.events.filter((e) => e === '/victim/v\0vt\0').length).toBeGreaterThan(50);

    // The guest was held to C xenstored's quotas (count >= quota refused).
    expect(ring.watches.length).toBe(127);
    expect(ring.transactions.size).toBe(9);
    expect(xs.entriesOf(5)).toBeLessThan(1000);
    expect(xs.stats.errors.ENOSPC.value).toBeGreaterThan(100);
    for (const k of xs.peek('/local/domain/5/data')!.children) expect(xs.peek(`/local/domain/5/data/${k}`)!.value.length).toBeLessThan(2048);
    expect(xs.stats.internalErrors.value).toBe(0);
    expect(lines).toEqual([]);

    // Debian's xenstore-utils against the same xenstored, afterwards.
    if (hasUtils) {
      const env = { ...process.env, XENSTORED_PATH: sock };
      // Asynchronously: xenstored runs in this process.
      const run = (tool: string, ...args: string[]) =>
        new Promise<{ status: number; stdout: string }>((res) => {
          execFile(`/usr/bin/xenstore-${tool}`, args, { env, encoding: 'utf8', timeout: 10_000 }, (err, stdout) => res({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout }));
        });
      expect((await run('write', '/after/flood', 'fine')).status).toBe(0);
      expect(await run('read', '/after/flood', '/victim/v')).toEqual({ status: 0, stdout: `fine\nvalue-${latencies.length - 1}\n` });
      expect((await run('list', '/local/domain/5')).stdout).toContain('data');
      expect((await run('rm', '/after')).status).toBe(0);
      expect((await run('exists', '/after/flood')).status).toBe(1);
    }
    victim.close();
    await server.close();
  });
});
