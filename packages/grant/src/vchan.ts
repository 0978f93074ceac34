/**
 * A dom0 (TypeScript) peer of the guests' vchan-like channel (guests/xenlib/vchan.h): the same
 * page layout, xenstore rendezvous and checked message stream, from the client side. It finds
 * the server domain's `/local/domain/<S>/data/vchan`, announces itself (domid 0), maps the
 * granted ring with `GrantTables.mapForeign`, binds the offered port and streams.
 *
 * xenstore and event channels come in as structural interfaces (an `XsClient` from
 * `@tachyxx/xenstore`'s `connectLocal` and an `EventChannels` fit), so this module needs neither.
 * Xenstore work triggered by watch events is queued and run by `poll()` (never inside xenstored's
 * own request handling): drive the host with `runWithPeer`.
 *
 * ```ts
 * const peer = new VchanPeer({ gnt, evtchn, xs: connectLocal(xsd), serverDomid: 1 });
 * peer.start();
 * runWithPeer(host, peer);          // host.run() until the guests and the peer are done
 * peer.result                       // { sent, received, ... }
 * ```
 */
import type { GrantTables } from './grant-tables.js';

/** Page layout (bytes). */
export const VCHAN_LAYOUT = { s2cProd: 0, s2cCons: 4, c2sProd: 8, c2sCons: 12, s2c: 1024, c2s: 2048, ring: 1024 } as const;
export const VCHAN_FNV_INIT = 2166136261;

export function vchanHash(dir: number, i: number): number {
  let h = (Math.imul(dir + 1, 0x9e3779b9) ^ Math.imul(i, 0x85ebca6b)) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return h;
}

/** Payload of message `i` in direction `dir` (0 = server to client, 1 = client to server). */
export function vchanMessage(dir: number, i: number): Uint8Array {
  const h = vchanHash(dir, i);
  const len = 1 + (h % 200);
  const b = new Uint8Array(len);
  for (let j = 0; j < len; j++) b[j] = ((h >>> (8 * (j & 3))) ^ j) & 0xff;
  return b;
}

export function fnv1a(f: number, bytes: Uint8Array): number {
  for (const b of bytes) f = Math.imul(f ^ b, 16777619) >>> 0;
  return f;
}

export interface VchanStoreClient {
  tryRead(path: string): string | undefined;
  write(path: string, value: string): void;
  watch(path: string, token: string): void;
  unwatch(path: string, token: string): void;
  conn: { onEvent: ((e: { path: string; token: string }) => void) | undefined };
}

export interface VchanEventChannels {
  bindInterdomain(remoteDomid: number, remotePort: number, handler: (port: number) => void): number;
  notify(port: number): number;
  unbind(port: number): number;
}

export interface VchanPeerOptions {
  gnt: GrantTables;
  evtchn: VchanEventChannels;
  xs: VchanStoreClient;
  serverDomid: number;
  /** Messages each way (the guests' VCHAN_MSGS, default 300). */
  messages?: number;
}

export interface VchanDirection { messages: number; bytes: number; fnv: number }
export interface VchanResult {
  sent: VchanDirection;
  received: VchanDirection & { bad: number };
  notifies: number;
  events: number;
}

type Phase = 'idle' | 'find' | 'wait-ready' | 'run' | 'finishing' | 'done' | 'failed';

export class VchanPeer {
  phase: Phase = 'idle';
  error: string | undefined;
  readonly result: VchanResult = {
    sent: { messages: 0, bytes: 0, fnv: VCHAN_FNV_INIT },
    received: { messages: 0, bytes: 0, fnv: VCHAN_FNV_INIT, bad: 0 },
    notifies: 0,
    events: 0,
  };
  private readonly base: string;
  private readonly n: number;
  private pending = false;
  private handle = -1;
  private page: Uint8Array | null = null;
  private dv: DataView | null = null;
  private port = -1;
  private tx: Uint8Array | null = null;
  private txOff = 0;
  private rx = new Uint8Array(4 + 256);
  private rxHave = 0;

  constructor(private readonly o: VchanPeerOptions) {
    this.base = `/local/domain/${o.serverDomid}/data/vchan`;
    this.n = o.messages ?? 300;
  }

  get done(): boolean { return this.phase === 'done' || this.phase === 'failed'; }

  start(): void {
    this.phase = 'find';
    this.o.xs.conn.onEvent = () => { this.pending = true; };
    this.o.xs.watch(`${this.base}/state`, 'vchan-peer');
    this.pending = true;
  }

  /** Runs queued xenstore work; true when it did something (the host may have work again). */
  poll(): boolean {
    if (!this.pending) return false;
    this.pending = false;
    const st = this.o.xs.tryRead(`${this.base}/state`);
    if (this.phase === 'find' && st === 'waiting') {
      this.o.xs.write(`${this.base}/client`, '0');
      this.phase = 'wait-ready';
      return true;
    }
    if (this.phase === 'wait-ready' && st === 'ready') {
      this.connect();
      return true;
    }
    if (this.phase === 'finishing') {
      this.o.xs.unwatch(`${this.base}/state`, 'vchan-peer');
      this.o.xs.conn.onEvent = undefined;
      this.o.xs.write(`${this.base}/state`, 'closed');
      this.phase = 'done';
      return true;
    }
    return false;
  }

  private fail(why: string): void {
    this.error = why;
    this.phase = 'failed';
  }

  private connect(): void {
    const ref = Number(this.o.xs.tryRead(`${this.base}/ring-ref`));
    const rport = Number(this.o.xs.tryRead(`${this.base}/event-channel`));
    const m = this.o.gnt.mapForeign(this.o.serverDomid, ref, { readonly: false });
    if ('status' in m) return this.fail(`map of ring ref ${ref}: status ${m.status}`);
    this.handle = m.handle;
    if (m.readonly) return this.fail("ring mapped read-only");
    this.page = m.bytes as Uint8Array;
    this.dv = new DataView(m.bytes.buffer, m.bytes.byteOffset, 4096);
    this.phase = 'run';
    const port = this.o.evtchn.bindInterdomain(this.o.serverDomid, rport, () => { this.result.events++; this.pump(); });
    if (port < 0) return this.fail(`bind_interdomain: ${port}`);
    this.port = port;
    this.o.xs.write(`${this.base}/state`, 'connected');
    this.pump();
  }

  private u32(off: number): number { return this.dv!.getUint32(off, true); }
  private setU32(off: number, v: number): void { this.dv!.setUint32(off, v >>> 0, true); }

  /** Moves what it can both ways; notifies the server when anything moved. */
  pump(): void {
    if (this.phase !== 'run' || !this.page) return;
    const L = VCHAN_LAYOUT;
    const r = this.result;
    let moved = 0;
    // client -> server
    for (;;) {
      if (r.sent.messages >= this.n) break;
      if (!this.tx) {
        const p = vchanMessage(1, r.sent.messages);
        const f = new Uint8Array(4 + p.length);
        f[0] = p.length & 0xff; f[1] = p.length >>> 8; f[2] = r.sent.messages & 0xff; f[3] = (r.sent.messages >>> 8) & 0xff;
        f.set(p, 4);
        r.sent.fnv = fnv1a(r.sent.fnv, p);
        r.sent.bytes += p.length;
        this.tx = f;
        this.txOff = 0;
      }
      const prod = this.u32(L.c2sProd), cons = this.u32(L.c2sCons);
      const used = (prod - cons) >>> 0;
      if (used > L.ring) return this.fail('server broke the c2s indexes');
      const n = Math.min(L.ring - used, this.tx.length - this.txOff);
      if (n === 0) break;
      for (let i = 0; i < n; i++) this.page[L.c2s + ((prod + i) & (L.ring - 1))] = this.tx[this.txOff + i]!;
      this.setU32(L.c2sProd, prod + n);
      this.txOff += n;
      moved += n;
      if (this.txOff === this.tx.length) { this.tx = null; r.sent.messages++; }
    }
    // server -> client
    for (;;) {
      const need = this.rxHave < 4 ? 4 : 4 + (this.rx[0]! | (this.rx[1]! << 8));
      const prod = this.u32(L.s2cProd), cons = this.u32(L.s2cCons);
      const avail = (prod - cons) >>> 0;
      if (avail > L.ring) return this.fail('server broke the s2c indexes');
      const n = Math.min(avail, need - this.rxHave);
      if (n === 0) break;
      for (let i = 0; i < n; i++) this.rx[this.rxHave + i] = this.page[L.s2c + ((cons + i) & (L.ring - 1))]!;
      this.setU32(L.s2cCons, cons + n);
      this.rxHave += n;
      moved += n;
      if (this.rxHave < 4 || this.rxHave < need || need === 4) continue;
      const payload = this.rx.subarray(4, need);
      const want = vchanMessage(0, r.received.messages);
      const seq = this.rx[2]! | (this.rx[3]! << 8);
      if (seq !== (r.received.messages & 0xffff) || payload.length !== want.length || payload.some((b, i) => b !== want[i])) r.received.bad++;
      r.received.fnv = fnv1a(r.received.fnv, payload);
      r.received.bytes += payload.length;
      r.received.messages++;
      this.rxHave = 0;
    }
    if (moved) {
      this.o.evtchn.notify(this.port);
      r.notifies++;
    }
    if (r.sent.messages >= this.n && r.received.messages >= this.n && this.u32(L.c2sCons) === this.u32(L.c2sProd)) {
      this.o.gnt.unmapForeign(this.handle);
      this.o.evtchn.unbind(this.port);
      this.page = null;
      this.dv = null;
      this.phase = 'finishing';
      this.pending = true;
    }
  }
}

/**
 * Runs the host in slices of `sliceNs` simulated time, letting the peer do its queued xenstore
 * work between slices, until every domain has shut down (or the host stops for another reason:
 * 'insn-limit', or 'idle' with nothing left for the peer).
 */
export function runWithPeer(
  host: { run(o?: { maxInsns?: number; untilNs?: number }): string; clock: { now: number } },
  peer: VchanPeer,
  o: { maxInsns?: number; sliceNs?: number } = {},
): string {
  const slice = o.sliceNs ?? 50_000;
  for (;;) {
    peer.poll();
    const why = host.run({ maxInsns: o.maxInsns ?? Infinity, untilNs: host.clock.now + slice });
    if (why === 'time') continue;
    if (why === 'idle' && peer.poll()) continue;
    return why;
  }
}
