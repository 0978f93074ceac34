// A host assembled as a real one is (xenbus's test dom0Host: assembleHost over a host config with
// evtchn, grant, xenstore, xenbus and pv-net's netback and bridges), and in-process netif frontends
// acting as guests would: ring and data pages in their own memory, granted to dom0, xenstore as
// their own domain, events by hypercall from their vCPU.
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { connectLocal, type XsClient } from '@tachyxx/xenstore';
import {
  EvtchnOp, Hypercall, NETTXF_more_data, NetifRxResponseCodec, NetifTxRequestCodec, NetifTxResponseCodec, SRING_HEADER_SIZE,
  XenbusState, type netif_tx_request_t,
} from '@tachyxx/abi';
import { addVif, PVNET_PLUGINS, type NetCosts, type PvNetComponent, type VifSpec } from '@tachyxx/pv-net';
import { dom0Host, HELLO } from '../../xenbus/test/helpers.js';

export { HELLO };
const TX_RING_GPA = 0x8030_0000;
const RX_RING_GPA = 0x8030_1000;
const SCRATCH_GPA = 0x8031_0000;
/** TX data pages (refs TX_REF0 + i) and RX buffer pages (refs RX_REF0 + i). */
export const TX_GPA = 0x8032_0000;
export const TX_REF0 = 16;
export const TX_PAGES = 24;
export const RX_GPA = 0x8036_0000;
export const RX_REF0 = 64;
export const RX_PAGES = 64;
const TX_REF = 8;
const RX_REF = 9;

/**
 * A host assembled as a real one is (assembleHost over its host config: evtchn fifo, grant v1,
 * xenstored, the xenbus backends and `pv-net: bridge` with `o`'s params and costs).
 */
export function netHost(o: { pcapDir?: string; pcapOnly?: string[]; costs?: Partial<NetCosts>; maxQueues?: number } = {}) {
  const pvNet: Record<string, unknown> = { variant: 'bridge' };
  if (o.pcapDir !== undefined) pvNet.pcapDir = o.pcapDir;
  if (o.pcapOnly !== undefined) pvNet.pcapOnly = o.pcapOnly.join(',');
  if (o.maxQueues !== undefined) pvNet.maxQueues = o.maxQueues;
  const h = dom0Host({
    source: 'netHost',
    plugins: PVNET_PLUGINS,
    components: { 'pv-net': pvNet },
    costs: Object.fromEntries(Object.entries(o.costs ?? {}).map(([k, v]) => [`pv-net.${k}`, v])),
  });
  const { host } = h;
  const pv = h.a.component<PvNetComponent>('pv-net');
  const net = pv.backend;
  const bridges = pv.bridges;
  const advance = (ns = 1_000_000) => { host.queue.runUntil(host.clock.now + ns); };
  return { ...h, net, bridges, advance };
}
export type NetHost = ReturnType<typeof netHost>;

export function guestDomain(h: NetHost, name: string): Domain<Vcpu> {
  return h.host.createDomain({ name, image: HELLO, memoryMiB: 4, paused: true });
}

export interface TxSlot { gref?: number; offset?: number; flags?: number; id?: number; size?: number }
export interface RxPacket { data: Uint8Array; flags: number; statuses: number[] }

/** The in-process netfront of domain `d` (one queue). */
export class TsNetFrontend {
  readonly xs: XsClient;
  dir = '';
  txPort = -1;
  rxPort = -1;
  txProd = 0;
  txCons = 0;
  rxProd = 0;
  rxCons = 0;
  /** RX buffer id -> page index. */
  private rxBuf = 0;
  private readonly txEnt = new DataView(new ArrayBuffer(12));
  /** TX responses taken (id, status). */
  readonly txRsp = NetifTxResponseCodec.create();
  readonly rxRsp = NetifRxResponseCodec.create();

  constructor(readonly h: NetHost, readonly d: Domain<Vcpu>) {
    this.xs = connectLocal(h.xs, d.domid);
  }

  add(spec: Partial<VifSpec> = {}): this {
    const p = addVif(this.h.dom0xs, this.d.domid, { devid: 0, ...spec });
    this.dir = p.frontend;
    this.h.settle();
    return this;
  }

  backendDir(): string { return this.xs.read(`${this.dir}/backend`); }
  backendState(): number { return Number(this.xs.tryRead(`${this.backendDir()}/state`)); }
  setState(s: number): void { this.xs.write(`${this.dir}/state`, String(s)); this.h.settle(); }
  get name(): string { return `vif${this.d.domid}.${this.dir.split('/').pop()}`; }
  mac(): Uint8Array { return Uint8Array.from(this.xs.read(`${this.dir}/mac`).split(':').map((x) => parseInt(x, 16))); }

  connect(o: { split?: boolean; rxNotify?: boolean; noCsum?: boolean; grantData?: boolean; keys?: Record<string, string> | ((f: TsNetFrontend) => Record<string, string>) } = {}): void {
    const a = this.d.access;
    for (const g of [TX_RING_GPA, RX_RING_GPA]) {
      a.write(g, new Uint8Array(4096));
      a.writeU32(g + 4, 1);
      a.writeU32(g + 12, 1);
    }
    this.txProd = this.txCons = this.rxProd = this.rxCons = 0;
    ok(this.h.gnt.grantForeignAccess(this.d.domid, TX_REF, 0, TX_RING_GPA / 4096), 'grant tx ring');
    ok(this.h.gnt.grantForeignAccess(this.d.domid, RX_REF, 0, RX_RING_GPA / 4096), 'grant rx ring');
    if (o.grantData !== false) {
      for (let i = 0; i < TX_PAGES; i++) ok(this.h.gnt.grantForeignAccess(this.d.domid, TX_REF0 + i, 0, TX_GPA / 4096 + i, true), 'grant tx data');
      for (let i = 0; i < RX_PAGES; i++) ok(this.h.gnt.grantForeignAccess(this.d.domid, RX_REF0 + i, 0, RX_GPA / 4096 + i), 'grant rx data');
    }
    this.txPort = this.h.evtchn.allocUnbound(this.d.domid, 0);
    this.rxPort = o.split ? this.h.evtchn.allocUnbound(this.d.domid, 0) : this.txPort;
    this.xs.transaction((tx) => {
      const w = (k: string, v: string) => this.xs.write(`${this.dir}/${k}`, v, tx);
      w('tx-ring-ref', String(TX_REF));
      w('rx-ring-ref', String(RX_REF));
      if (o.split) { w('event-channel-tx', String(this.txPort)); w('event-channel-rx', String(this.rxPort)); }
      else w('event-channel', String(this.txPort));
      w('request-rx-copy', '1');
      if (o.rxNotify !== false) w('feature-rx-notify', '1');
      w('feature-sg', '1');
      if (o.noCsum) w('feature-no-csum-offload', '1');
      for (const [k, v] of Object.entries(typeof o.keys === 'function' ? o.keys(this) : o.keys ?? {})) w(k, v);
      w('state', String(XenbusState.Connected));
    });
    this.h.settle();
  }

  /** Writes TX request `r` into slot `idx`. */
  putTx(idx: number, r: TxSlot): void {
    const req: netif_tx_request_t = { ...NetifTxRequestCodec.create(), ...r };
    NetifTxRequestCodec.write(this.txEnt, 0, req);
    this.d.access.write(TX_RING_GPA + SRING_HEADER_SIZE + (idx & 255) * 12, new Uint8Array(this.txEnt.buffer));
  }
  putTxRaw(idx: number, bytes: Uint8Array): void {
    this.d.access.write(TX_RING_GPA + SRING_HEADER_SIZE + (idx & 255) * 12, bytes);
  }

  /**
   * Queues one packet: `frame` split over slots of at most `slotBytes` (one TX page per slot,
   * starting at page `page0`), more_data on all but the last, `flags` on the first.
   */
  queuePacket(frame: Uint8Array, o: { flags?: number; slotBytes?: number; page0?: number; id0?: number } = {}): number {
    const slotBytes = o.slotBytes ?? 4096;
    const page0 = o.page0 ?? 0;
    const n = Math.max(1, Math.ceil(frame.length / slotBytes));
    for (let i = 0; i < n; i++) {
      const chunk = frame.subarray(i * slotBytes, Math.min(frame.length, (i + 1) * slotBytes));
      const page = (page0 + i) % TX_PAGES;
      this.d.access.write(TX_GPA + page * 4096, chunk);
      this.putTx(this.txProd, {
        gref: TX_REF0 + page, offset: 0, id: (o.id0 ?? this.txProd) & 0xffff,
        flags: (i === 0 ? (o.flags ?? 0) : 0) | (i < n - 1 ? NETTXF_more_data : 0),
        size: i === 0 ? frame.length : chunk.length,
      });
      this.txProd = (this.txProd + 1) >>> 0;
    }
    return n;
  }

  /** Sends packets (queued, published, event). */
  send(...frames: Uint8Array[]): void {
    let page = 0;
    for (const f of frames) page += this.queuePacket(f, { page0: page });
    this.publishTx(this.txProd);
  }

  publishTx(reqProd: number): void {
    this.d.access.writeU32(TX_RING_GPA, reqProd >>> 0);
    this.kick(this.txPort);
  }

  /** Posts `n` RX buffers (pages cycled) and notifies on the RX port. */
  postRx(n: number, notify = true): void {
    for (let i = 0; i < n; i++) {
      const page = this.rxBuf++ % RX_PAGES;
      const b = new DataView(new ArrayBuffer(8));
      b.setUint16(0, page, true);
      b.setUint32(4, RX_REF0 + page, true);
      this.d.access.write(RX_RING_GPA + SRING_HEADER_SIZE + (this.rxProd & 255) * 8, new Uint8Array(b.buffer));
      this.rxProd = (this.rxProd + 1) >>> 0;
    }
    this.d.access.writeU32(RX_RING_GPA, this.rxProd);
    if (notify) this.kick(this.rxPort);
  }

  kick(port: number): number {
    this.d.access.writeU32(SCRATCH_GPA, port);
    return this.h.host.hypercalls.dispatch(this.d.vcpus[0]!, Hypercall.event_channel_op, { a0: EvtchnOp.send, a1: SCRATCH_GPA, a2: 0, a3: 0, a4: 0, a5: 0 });
  }

  /** TX responses published and not yet taken. */
  takeTx(): { id: number; status: number }[] {
    const out: { id: number; status: number }[] = [];
    const prod = this.d.access.readU32(TX_RING_GPA + 8);
    while (this.txCons !== prod) {
      const b = new Uint8Array(4);
      this.d.access.read(TX_RING_GPA + SRING_HEADER_SIZE + (this.txCons & 255) * 12, b);
      NetifTxResponseCodec.read(new DataView(b.buffer), 0, this.txRsp);
      out.push({ id: this.txRsp.id, status: this.txRsp.status });
      this.txCons = (this.txCons + 1) >>> 0;
    }
    return out;
  }

  /** RX packets published (slots reassembled by more_data). */
  takeRx(): RxPacket[] {
    const out: RxPacket[] = [];
    const prod = this.d.access.readU32(RX_RING_GPA + 8);
    let cur: { parts: Uint8Array[]; flags: number; statuses: number[] } | null = null;
    while (this.rxCons !== prod) {
      const b = new Uint8Array(8);
      this.d.access.read(RX_RING_GPA + SRING_HEADER_SIZE + (this.rxCons & 255) * 8, b);
      const r = NetifRxResponseCodec.read(new DataView(b.buffer), 0, this.rxRsp);
      this.rxCons = (this.rxCons + 1) >>> 0;
      cur ??= { parts: [], flags: r.flags, statuses: [] };
      cur.statuses.push(r.status);
      if (r.status > 0) {
        const data = new Uint8Array(r.status);
        this.d.access.read(RX_GPA + r.id * 4096 + r.offset, data);
        cur.parts.push(data);
      }
      if (!(r.flags & 4)) {
        const len = cur.parts.reduce((s, p) => s + p.length, 0);
        const data = new Uint8Array(len);
        let off = 0;
        for (const p of cur.parts) { data.set(p, off); off += p.length; }
        out.push({ data, flags: cur.flags, statuses: cur.statuses });
        cur = null;
      }
    }
    return out;
  }
}

function ok(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what}: ${rc}`);
}

// ---- frames ------------------------------------------------------------------------------------

export const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

function ipSum(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return (~s) & 0xffff;
}

function ipv4(src: number[], dst: number[], proto: number, payload: Uint8Array): Uint8Array {
  const ip = new Uint8Array(20 + payload.length);
  ip.set([0x45, 0, (ip.length >> 8) & 0xff, ip.length & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, ...src, ...dst]);
  const c = ipSum(ip, 0, 20);
  ip[10] = c >> 8; ip[11] = c & 0xff;
  ip.set(payload, 20);
  return ip;
}

export function ether(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0); f.set(src, 6); f[12] = type >> 8; f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** ARP request who-has `tip` tell `sip`. */
export function arpRequest(srcMac: Uint8Array, sip: number[], tip: number[]): Uint8Array {
  const a = Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 1, ...srcMac, ...sip, 0, 0, 0, 0, 0, 0, ...tip]);
  return ether(BROADCAST, srcMac, 0x0806, a);
}

export function arpReply(srcMac: Uint8Array, sip: number[], dstMac: Uint8Array, tip: number[]): Uint8Array {
  const a = Uint8Array.from([0, 1, 8, 0, 6, 4, 0, 2, ...srcMac, ...sip, ...dstMac, ...tip]);
  return ether(dstMac, srcMac, 0x0806, a);
}

/** ICMP echo request (type 8) or reply (0). */
export function icmpEcho(dstMac: Uint8Array, srcMac: Uint8Array, src: number[], dst: number[], type: 0 | 8, id: number, seq: number, data = new Uint8Array(32)): Uint8Array {
  const ic = new Uint8Array(8 + data.length);
  ic.set([type, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff]);
  ic.set(data, 8);
  const c = ipSum(ic, 0, ic.length);
  ic[2] = c >> 8; ic[3] = c & 0xff;
  return ether(dstMac, srcMac, 0x0800, ipv4(src, dst, 1, ic));
}

/** UDP datagram; `csum` false leaves the checksum 0 (a csum_blank packet's partial state). */
export function udp(dstMac: Uint8Array, srcMac: Uint8Array, src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  u.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, u.length >> 8, u.length & 0xff, 0, 0]);
  u.set(payload, 8);
  return ether(dstMac, srcMac, 0x0800, ipv4(src, dst, 17, u));
}
