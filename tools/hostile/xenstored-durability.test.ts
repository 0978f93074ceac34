// Hostile: kill -9 of a standalone `tachyxx xenstored --persist` under load (issue 8, finding 12).
// Four clients write as fast as they can (pipelined), one more commits transactions; xenstored
// is SIGKILLed at a random moment (several seeds), restarted on the same file, and every write
// it acknowledged must be there, nothing that was never requested may appear, a transaction is
// all or nothing, and the per-client "last" counter is at least the last acknowledged one.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { XsType } from '@tachyxx/abi';

const root = resolve(import.meta.dirname, '../..');
const cli = resolve(root, 'apps/runner/dist/cli.js');
if (!existsSync(cli)) throw new Error(`${cli} is missing: run 'pnpm build' first (pnpm test:hostile does)`);

const dirs: string[] = [];
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function startXenstored(sock: string, db: string): Promise<ChildProcess> {
  const p = spawn(process.execPath, [cli, 'xenstored', '--socket', sock, '--persist', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(p);
  let err = '';
  await new Promise<void>((res, rej) => {
    p.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.includes('listening on')) res();
    });
    p.once('exit', (c) => rej(new Error(`xenstored exited ${c}: ${err}`)));
  });
  return p;
}

/** A pipelining xs_wire client: every request resolves with its reply (or rejects when the socket dies). */
class WireClient {
  private buf = Buffer.alloc(0);
  private next = 1;
  private readonly waiting = new Map<number, { res: (r: { type: number; payload: Buffer }) => void; rej: (e: Error) => void }>();
  dead = false;
  private constructor(private readonly s: Socket) {
    s.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      while (this.buf.length >= 16 && this.buf.length >= 16 + this.buf.readUInt32LE(12)) {
        const len = this.buf.readUInt32LE(12);
        const type = this.buf.readUInt32LE(0);
        const reqId = this.buf.readUInt32LE(4);
        const payload = this.buf.subarray(16, 16 + len);
        this.buf = this.buf.subarray(16 + len);
        if (type === XsType.WATCH_EVENT) continue;
        const w = this.waiting.get(reqId);
        this.waiting.delete(reqId);
        w?.res({ type, payload });
      }
    });
    const die = () => {
      this.dead = true;
      for (const w of this.waiting.values()) w.rej(new Error('connection closed'));
      this.waiting.clear();
    };
    s.on('close', die);
    s.on('error', die);
  }
  static open(sock: string): Promise<WireClient> {
    return new Promise((res, rej) => {
      const s = connect(sock);
      s.once('connect', () => res(new WireClient(s)));
      s.once('error', rej);
    });
  }
  request(type: number, payload: Buffer | string, txId = 0): Promise<{ type: number; payload: Buffer }> {
    if (this.dead) return Promise.reject(new Error('connection closed'));
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const h = Buffer.alloc(16);
    const reqId = this.next++;
    h.writeUInt32LE(type, 0);
    h.writeUInt32LE(reqId, 4);
    h.writeUInt32LE(txId, 8);
    h.writeUInt32LE(body.length, 12);
    return new Promise((res, rej) => {
      this.waiting.set(reqId, { res, rej });
      this.s.write(Buffer.concat([h, body]));
    });
  }
  async ok(type: number, payload: string, txId = 0): Promise<string> {
    const r = await this.request(type, payload, txId);
    if (r.type === XsType.ERROR) throw new Error(`xs error ${r.payload.toString()}`);
    return r.payload.toString('latin1');
  }
  close() {
    this.s.destroy();
  }
}

/** mulberry32 */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WRITERS = 4;
const PIPELINE = 32;

interface Ledger {
  /** key -> value of every write sent; acked: keys whose write was acknowledged. */
  sent: Map<string, string>;
  acked: Set<string>;
  lastAcked: number[];
  lastSent: number[];
  txSent: Set<number>;
  txAcked: Set<number>;
}

async function writer(c: WireClient, w: number, tag: string, led: Ledger, stop: () => boolean): Promise<void> {
  let i = 0;
  const one = async (n: number) => {
    const key = `/d/c${w}/k${n}`;
    const value = `${tag}-${w}-${n}`;
    led.sent.set(key, value);
    led.lastSent[w] = Math.max(led.lastSent[w]!, n);
    const p1 = c.ok(XsType.WRITE, `${key}\0${value}`);
    const p2 = c.ok(XsType.WRITE, `/d/c${w}/last\0${n}`);
    p2.catch(() => {});
    await p1;
    led.acked.add(key);
    await p2;
    led.lastAcked[w] = Math.max(led.lastAcked[w]!, n);
  };
  const lanes = Array.from({ length: PIPELINE }, async () => {
    while (!stop() && !c.dead) {
      try {
        await one(i++);
      } catch {
        return;
      }
    }
  });
  await Promise.all(lanes);
}

async function transactor(c: WireClient, tag: string, led: Ledger, stop: () => boolean): Promise<void> {
  for (let n = 0; !stop() && !c.dead; n++) {
    try {
      const id = Number((await c.ok(XsType.TRANSACTION_START, '\0')).split('\0')[0]);
      led.txSent.add(n);
      await c.ok(XsType.WRITE, `/d/tx/t${n}/a\0${tag}-a${n}`, id);
      await c.ok(XsType.WRITE, `/d/tx/t${n}/b\0${tag}-b${n}`, id);
      await c.ok(XsType.TRANSACTION_END, 'T\0', id);
      led.txAcked.add(n);
    } catch {
      return;
    }
  }
}

/** Every child name of `path` (DIRECTORY_PART pages, so big directories work). */
async function children(c: WireClient, path: string): Promise<string[]> {
  const r = await c.request(XsType.READ, `${path}\0`);
  if (r.type === XsType.ERROR) return [];
  const out: string[] = [];
  let off = 0;
  for (;;) {
    const parts = (await c.ok(XsType.DIRECTORY_PART, `${path}\0${off}\0`)).split('\0');
    const body = parts.slice(1, -1);
    const done = body.at(-1) === '';
    const names = done ? body.slice(0, -1) : body;
    out.push(...names);
    off += names.reduce((s, n) => s + Buffer.byteLength(n) + 1, 0);
    if (done) return out;
  }
}

describe('xenstored --persist survives kill -9 under load', () => {
  for (const seed of [1, 7, 42, 1234]) {
    it(`seed ${seed}: every acknowledged write is there after a restart, nothing else`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xsd-kill-'));
      dirs.push(dir);
      const sock = join(dir, 'sock');
      const db = join(dir, 'xs.json');
      const rnd = prng(seed);
      const tag = `s${seed}`;
      const led: Ledger = { sent: new Map(), acked: new Set(), lastAcked: Array(WRITERS).fill(-1), lastSent: Array(WRITERS).fill(-1), txSent: new Set(), txAcked: new Set() };

      // Round 1: load, then SIGKILL at a random moment.
      let p = await startXenstored(sock, db);
      let killed = false;
      const stop = () => killed;
      const clients = await Promise.all(Array.from({ length: WRITERS + 1 }, () => WireClient.open(sock)));
      const work = [...clients.slice(0, WRITERS).map((c, w) => writer(c, w, tag, led, stop)), transactor(clients[WRITERS]!, tag, led, stop)];
      const delay = 300 + Math.floor(rnd() * 900);
      await new Promise((r) => setTimeout(r, delay));
      const ackedAtKill = led.acked.size;
      p.kill('SIGKILL');
      killed = true;
      await Promise.all(work);
      await new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
      expect(p.signalCode).toBe('SIGKILL');
      expect(ackedAtKill).toBeGreaterThan(20);

      // Round 2: restart on the same files and check.
      p = await startXenstored(sock, db);
      const c = await WireClient.open(sock);
      for (const key of led.acked) expect(await c.ok(XsType.READ, `${key}\0`), key).toBe(led.sent.get(key));
      for (let w = 0; w < WRITERS; w++) {
        const names = await children(c, `/d/c${w}`);
        for (const n of names) {
          if (n === 'last') continue;
          const key = `/d/c${w}/${n}`;
          expect(led.sent.has(key), `${key} was never requested`).toBe(true);
          expect(await c.ok(XsType.READ, `${key}\0`)).toBe(led.sent.get(key));
        }
        const last = Number(await c.ok(XsType.READ, `/d/c${w}/last\0`));
        expect(last).toBeGreaterThanOrEqual(led.lastAcked[w]!);
        expect(last).toBeLessThanOrEqual(led.lastSent[w]!);
      }
      const txs = await children(c, '/d/tx');
      for (const n of txs) {
        const i = Number(n.slice(1));
        expect(led.txSent.has(i), `transaction ${n} was never started`).toBe(true);
        expect(await c.ok(XsType.READ, `/d/tx/${n}/a\0`)).toBe(`${tag}-a${i}`);
        expect(await c.ok(XsType.READ, `/d/tx/${n}/b\0`)).toBe(`${tag}-b${i}`);
      }
      for (const i of led.txAcked) expect(txs).toContain(`t${i}`);
      // Finding 11: the files are private.
      for (const f of [db, `${db}.wal`]) if (existsSync(f)) expect((statSync(f).mode & 0o777).toString(8)).toBe('600');
      // And it keeps working after the restart.
      expect(await c.ok(XsType.WRITE, '/d/after\0yes')).toBe('OK\0');
      c.close();
      for (const cl of clients) cl.close();
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
      console.log(`seed ${seed}: killed after ${delay} ms with ${ackedAtKill} keys acknowledged (${led.acked.size} by the end), ${led.txAcked.size} transactions`);
    });
  }
});
