// A host assembled as a real one is (xenbus's test dom0Host: assembleHost over a host config with
// evtchn, grant, xenstore, xenbus and pv-blk's blkback), and an in-process blkif frontend acting as
// a guest would: ring and data pages in its own memory, granted to dom0, xenstore as its own
// domain, events by hypercall from its vCPU.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { connectLocal, type XsClient } from '@tachyxx/xenstore';
import {
  BlkifRequestCodec, BlkifResponseCodec, EvtchnOp, Hypercall, SRING_HEADER_SIZE, XenbusState,
  type blkif_request_t, type blkif_response_t,
} from '@tachyxx/abi';
import { addVbd, PVBLK_PLUGINS, type BlkCosts, type DiskSpec, type PvBlkComponent, type PvBlkParams } from '@tachyxx/pv-blk';
import { dom0Host, HELLO } from '../../xenbus/test/helpers.js';

export { HELLO };
export const RING_GPA = 0x8030_0000;
/** 16 data pages the frontend grants (refs DATA_REF0 + i). */
export const DATA_GPA = 0x8032_0000;
export const DATA_REF0 = 16;
export const DATA_PAGES = 16;
const SCRATCH_GPA = 0x8031_0000;
const ENTRY = 112;

/** CPU engine of the host (default: TACHYXX_TEST_ENGINE, else js) and the isa's wasmTierUp. */
export interface BlkHostEngine { engine?: 'js' | 'wasm'; wasmTierUp?: number }

/** blkHost's options: the pv-blk component's params and costs, the CPU engine, and the test-only host disk delay. */
export type BlkHostOptions = Partial<PvBlkParams> & BlkHostEngine & {
  costs?: Partial<BlkCosts>;
  /** Wall ms to hold each host I/O completion back (BlkBackendOptions.hostIoDelayMs). */
  hostIoDelayMs?: () => number;
};

/**
 * A host assembled as a real one is (assembleHost over its host config: evtchn fifo, grant v1,
 * xenstored, the xenbus backends and `pv-blk: file` with `o`'s params and costs; isa tachy-v1 on `o.engine`).
 */
export function blkHost(o: BlkHostOptions = {}) {
  const { costs = {}, hostIoDelayMs, engine = process.env.TACHYXX_TEST_ENGINE === 'wasm' ? 'wasm' : 'js', wasmTierUp, ...params } = o;
  const isa = { variant: 'tachy-v1', engine, ...(wasmTierUp === undefined ? {} : { wasmTierUp }) };
  const h = dom0Host({
    source: 'blkHost',
    plugins: PVBLK_PLUGINS,
    components: { isa, 'pv-blk': { variant: 'file', ...params } },
    costs: Object.fromEntries(Object.entries(costs).map(([k, v]) => [`pv-blk.${k}`, v])),
  });
  const { host } = h;
  const blk = h.a.component<PvBlkComponent>('pv-blk').backend;
  if (hostIoDelayMs) blk.hostIoDelayMs = hostIoDelayMs;
  /** Runs what is due now (xenstore watches, the handshake); no device I/O may be due here. */
  const settle = () => {
    host.queue.runUntil(host.clock.now);
    if (host.ioWaiting) throw new Error('settle: a completion waits for host I/O (use await advance())');
  };
  /**
   * Runs events up to simulated time `t`; a completion due before its host file I/O has finished
   * stops the queue (held back): wait for that I/O, as the host's run loop does, and go on.
   */
  const runTo = async (t: number) => {
    for (;;) {
      host.queue.runUntil(t);
      if (!host.ioWaiting) return;
      await host.ioSettled();
    }
  };
  /** Runs simulated time forward by `ns` (completions are delivered by host events). */
  const advance = (ns = 10_000_000) => runTo(host.clock.now + ns);
  /** host.run() with the waits for host I/O its caller owes it (as the toolstack's runner). */
  const run = async (o: { maxInsns?: number; untilNs?: number }) => {
    for (;;) {
      const why = host.run(o);
      if (why !== 'io-wait') return why;
      await host.ioSettled();
    }
  };
  return { ...h, blk, settle, runTo, advance, run };
}
export type BlkHost = ReturnType<typeof blkHost>;

export function guestDomain(h: BlkHost, name: string): Domain<Vcpu> {
  return h.host.createDomain({ name, image: HELLO, memoryMiB: 4, paused: true });
}

export function tempDisk(bytes: number, fill?: (b: Buffer) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'pvblk-'));
  const path = join(dir, 'disk.img');
  const b = Buffer.alloc(bytes);
  fill?.(b);
  writeFileSync(path, b);
  return path;
}

/** The in-process blkfront of domain `d`. */
export class TsBlkFrontend {
  readonly xs: XsClient;
  dir = '';
  ref = 8;
  port = -1;
  prod = 0;
  cons = 0;
  readonly rsp: blkif_response_t = BlkifResponseCodec.create();
  readonly req: blkif_request_t = BlkifRequestCodec.create();
  private readonly ent = new DataView(new ArrayBuffer(ENTRY));

  constructor(readonly h: BlkHost, readonly d: Domain<Vcpu>) {
    this.xs = connectLocal(h.xs, d.domid);
  }

  add(spec: Omit<DiskSpec, 'vdev'> & { vdev?: string }): this {
    const p = addVbd(this.h.dom0xs, this.d.domid, { vdev: 'xvda', ...spec });
    this.dir = p.frontend;
    this.h.settle();
    return this;
  }

  backendDir(): string { return this.xs.read(`${this.dir}/backend`); }
  backendState(): number { return Number(this.xs.tryRead(`${this.backendDir()}/state`)); }
  setState(s: number): void { this.xs.write(`${this.dir}/state`, String(s)); this.h.settle(); }

  connect(o: { grantData?: boolean; persistent?: boolean } = {}): void {
    const a = this.d.access;
    a.write(RING_GPA, new Uint8Array(4096));
    a.writeU32(RING_GPA + 4, 1);
    a.writeU32(RING_GPA + 12, 1);
    this.prod = this.cons = 0;
    ok(this.h.gnt.grantForeignAccess(this.d.domid, this.ref, 0, RING_GPA / 4096), 'grant ring');
    if (o.grantData !== false) {
      for (let i = 0; i < DATA_PAGES; i++) ok(this.h.gnt.grantForeignAccess(this.d.domid, DATA_REF0 + i, 0, DATA_GPA / 4096 + i), 'grant data');
    }
    this.port = this.h.evtchn.allocUnbound(this.d.domid, 0);
    this.xs.transaction((tx) => {
      this.xs.write(`${this.dir}/ring-ref`, String(this.ref), tx);
      this.xs.write(`${this.dir}/event-channel`, String(this.port), tx);
      this.xs.write(`${this.dir}/protocol`, 'arm-abi', tx);
      if (o.persistent) this.xs.write(`${this.dir}/feature-persistent`, '1', tx);
      this.xs.write(`${this.dir}/state`, String(XenbusState.Initialised), tx);
    });
    this.h.settle();
  }

  /** Writes request `r` into slot `idx` (raw bytes through the codec). */
  put(idx: number, r: blkif_request_t): void {
    BlkifRequestCodec.write(this.ent, 0, r);
    this.d.access.write(RING_GPA + SRING_HEADER_SIZE + (idx & 31) * ENTRY, new Uint8Array(this.ent.buffer));
  }

  /** Writes raw bytes into slot `idx`. */
  putRaw(idx: number, bytes: Uint8Array): void {
    this.d.access.write(RING_GPA + SRING_HEADER_SIZE + (idx & 31) * ENTRY, bytes);
  }

  /** Queues `r` (id = its ring index unless given) and publishes + notifies. */
  submit(...rs: (Partial<blkif_request_t> & { segs?: [number, number, number][] })[]): void {
    for (const r of rs) {
      this.put(this.prod, request({ id_lo: this.prod, ...r }));
      this.prod = (this.prod + 1) >>> 0;
    }
    this.publish(this.prod);
  }

  publish(reqProd: number): void {
    this.d.access.writeU32(RING_GPA, reqProd >>> 0);
    this.kick();
  }

  kick(): number {
    this.d.access.writeU32(SCRATCH_GPA, this.port);
    return this.h.host.hypercalls.dispatch(this.d.vcpus[0]!, Hypercall.event_channel_op, { a0: EvtchnOp.send, a1: SCRATCH_GPA, a2: 0, a3: 0, a4: 0, a5: 0 });
  }

  /** Responses published and not yet taken. */
  take(): { id: number; op: number; status: number }[] {
    const out: { id: number; op: number; status: number }[] = [];
    const rspProd = this.d.access.readU32(RING_GPA + 8);
    while (this.cons !== rspProd) {
      const b = new Uint8Array(16);
      this.d.access.read(RING_GPA + SRING_HEADER_SIZE + (this.cons & 31) * ENTRY, b);
      BlkifResponseCodec.read(new DataView(b.buffer), 0, this.rsp);
      out.push({ id: this.rsp.id_lo, op: this.rsp.operation, status: this.rsp.status });
      this.cons = (this.cons + 1) >>> 0;
    }
    return out;
  }

  writeData(page: number, off: number, bytes: Uint8Array): void { this.d.access.write(DATA_GPA + page * 4096 + off, bytes); }
  readData(page: number, off: number, len: number): Uint8Array {
    const b = new Uint8Array(len);
    this.d.access.read(DATA_GPA + page * 4096 + off, b);
    return b;
  }
}

/** A request with defaults; `segs` as [page, first, last] (page -> gref DATA_REF0 + page). */
export function request(r: Partial<blkif_request_t> & { segs?: [number, number, number][] }): blkif_request_t {
  const out = BlkifRequestCodec.create();
  Object.assign(out, { ...r, seg: out.seg });
  if (r.seg) r.seg.forEach((s, i) => Object.assign(out.seg[i]!, s));
  if (r.segs) {
    r.segs.forEach(([p, f, l], i) => Object.assign(out.seg[i]!, { gref: DATA_REF0 + p, first_sect: f, last_sect: l }));
    if (r.nr_segments === undefined) out.nr_segments = r.segs.length;
  }
  return out;
}

function ok(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what}: ${rc}`);
}
