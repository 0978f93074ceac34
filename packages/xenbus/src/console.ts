/**
 * The PV console ring per domain (what libxl's console setup + xenconsoled do on Xen):
 *   - a console ring page: a special page at GPA RAM end + 2 pages, the page right above the
 *     xenstore ring page (shared info at RAM end, store ring at RAM end + 4096; grant frames sit
 *     below RAM, so nothing else uses it);
 *   - an unbound event channel from the domain to dom0 that "xenconsoled" (this module) binds;
 *   - start_info.console.domU.mfn = the ring's GFN (as store_mfn on Tachyxx), .evtchn = the
 *     guest's port (the page + port + start_info fields: @tachyxx/hypervisor's allocDomainRing).
 * The page holds Xen's `struct xencons_interface` (public/io/console.h; the layout is
 * @tachyxx/abi's `XenconsInterface`, the one source of truth):
 *     char in[1024]; char out[2048]; XENCONS_RING_IDX in_cons, in_prod, out_cons, out_prod;
 * On every notification from the guest, dom0 drains `out` (guest output) into `output` (the same
 * sink as the console_io hypercall) and feeds queued input into `in`, then notifies the guest.
 * Indexes are guest-controlled: `out_prod - out_cons > 2048` or `in_prod - in_cons > 1024` marks
 * the ring broken — a log line, dom0's port closed, input refused; nothing else is affected.
 */
import { MASK_XENCONS_IDX, PAGE_SIZE, StartInfo, XENCONS_IN_SIZE, XENCONS_OUT_SIZE, XenconsInterface } from '@tachyxx/abi';
import { StatGroup } from '@tachyxx/core';
import type { EventChannels } from '@tachyxx/evtchn';
import { allocDomainRing, publishDomainRing, type Domain, type HostServices, type Vcpu } from '@tachyxx/hypervisor';

const F = XenconsInterface.fields;
// The four indexes are adjacent u32s (in_cons, in_prod, out_cons, out_prod): one 16-byte read.
const IDX = F.in_cons.offset;
if (F.in_prod.offset !== IDX + 4 || F.out_cons.offset !== IDX + 8 || F.out_prod.offset !== IDX + 12) {
  throw new Error('xencons_interface: the ring indexes are not four adjacent u32s');
}

/** Input bytes queued per domain while the guest's `in` ring is full (more are refused). */
export const CONSOLE_INPUT_QUEUE = 64 * 1024;

export interface ConsoleRingBinding {
  domid: number;
  /** GFN of the ring page (start_info.console.domU.mfn). */
  gfn: number;
  /** The guest's port (start_info.console.domU.evtchn). */
  guestPort: number;
  /** Dom0's bound port (-1 once closed). */
  dom0Port: number;
  /** Input not yet in the ring. */
  pending: Uint8Array[];
  pendingBytes: number;
  /** Set when the guest corrupted the indexes: the ring is no longer served. */
  broken: string | null;
}

export interface ConsoleRings {
  readonly bindings: Map<number, ConsoleRingBinding>;
  /** GPA of a domain's console ring page (RAM end + 2 pages). */
  ringGpaOf(d: Domain<Vcpu>): number;
  /**
   * Queues `bytes` as console input for `domid` and feeds the ring at once. Returns the number of
   * bytes accepted (short when the queue is full), or -1 when the domain has no (working) ring.
   */
  input(domid: number, bytes: Uint8Array): number;
  /** Services the ring of `domid` now (drain output, feed input). */
  process(domid: number): void;
}

export interface AttachConsoleRingsOptions {
  /** Guest output read from a ring (the console_io sink). */
  output: (d: Domain<Vcpu>, bytes: Uint8Array) => void;
  /** Host log (a broken ring is reported here). */
  log?: (line: string) => void;
  /** Counters to fill (the console component's stats, `host.console`). */
  stats?: ConsoleStats;
}

/** The console daemon's counters (`host.console`). */
export class ConsoleStats extends StatGroup {
  readonly bytesOut = this.counter('bytesOut', 'byte', 'guest output bytes drained from console rings');
  readonly bytesIn = this.counter('bytesIn', 'byte', 'input bytes written into console rings');
  readonly inputRefused = this.counter('inputRefused', 'byte', 'input bytes refused (queue full, or no working ring)');
  readonly ringsDropped = this.counter('ringsDropped', 'count', 'rings dropped for corrupt indexes');
}

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);

/** Wires xenconsoled to `host`: every domain created from now on gets a console ring + port. */
export function attachConsoleRings(host: HostServices, evtchn: EventChannels, opts: AttachConsoleRingsOptions): ConsoleRings {
  const bindings = new Map<number, ConsoleRingBinding>();
  const doms = new Map<number, Domain<Vcpu>>();
  const ringGpaOf = (d: Domain<Vcpu>) => d.sharedInfoGpa + 2 * PAGE_SIZE;

  const drop = (d: Domain<Vcpu>, b: ConsoleRingBinding, why: string) => {
    b.broken = why;
    if (opts.stats) opts.stats.ringsDropped.value++;
    b.pending = [];
    b.pendingBytes = 0;
    if (b.dom0Port > 0) evtchn.unbind(b.dom0Port);
    b.dom0Port = -1;
    opts.log?.(`(XEN) xenconsoled: d${d.domid} console ring dropped: ${why}`);
  };

  const process = (domid: number) => {
    const b = bindings.get(domid);
    const d = doms.get(domid);
    if (!b || !d || b.broken || d.isDying) return;
    const gpa = ringGpaOf(d);
    const idx = new Uint8Array(16);
    if (d.access.read(gpa + IDX, idx) < 0) return;
    const inCons = u32(idx, 0);
    let inProd = u32(idx, 4);
    const outCons = u32(idx, 8);
    const outProd = u32(idx, 12);
    const outUsed = (outProd - outCons) >>> 0;
    if (outUsed > XENCONS_OUT_SIZE) return drop(d, b, `out_prod - out_cons = ${outUsed} > ${XENCONS_OUT_SIZE}`);
    const inUsed = (inProd - inCons) >>> 0;
    if (inUsed > XENCONS_IN_SIZE) return drop(d, b, `in_prod - in_cons = ${inUsed} > ${XENCONS_IN_SIZE}`);
    let kick = false;
    // Guest output: out[out_cons .. out_prod).
    if (outUsed > 0) {
      const ring = new Uint8Array(XENCONS_OUT_SIZE);
      d.access.read(gpa + F.out.offset, ring);
      const data = new Uint8Array(outUsed);
      const start = MASK_XENCONS_IDX(outCons, XENCONS_OUT_SIZE);
      const first = Math.min(outUsed, XENCONS_OUT_SIZE - start);
      data.set(ring.subarray(start, start + first), 0);
      if (first < outUsed) data.set(ring.subarray(0, outUsed - first), first);
      const w = new Uint8Array(4);
      new DataView(w.buffer).setUint32(0, outProd, true);
      d.access.write(gpa + F.out_cons.offset, w);
      kick = true;
      if (opts.stats) opts.stats.bytesOut.value += data.length;
      opts.output(d, data);
    }
    // Input: as much of the queue as fits in in[].
    let space = XENCONS_IN_SIZE - inUsed;
    if (space > 0 && b.pendingBytes > 0) {
      while (space > 0 && b.pending.length) {
        const chunk = b.pending[0]!;
        const n = Math.min(space, chunk.length);
        for (let i = 0; i < n; ) {
          const at = MASK_XENCONS_IDX(inProd, XENCONS_IN_SIZE);
          const m = Math.min(n - i, XENCONS_IN_SIZE - at);
          d.access.write(gpa + F.in.offset + at, chunk.subarray(i, i + m));
          i += m;
          inProd = (inProd + m) >>> 0;
        }
        space -= n;
        b.pendingBytes -= n;
        if (opts.stats) opts.stats.bytesIn.value += n;
        if (n === chunk.length) b.pending.shift();
        else b.pending[0] = chunk.subarray(n);
      }
      const w = new Uint8Array(4);
      new DataView(w.buffer).setUint32(0, inProd, true);
      d.access.write(gpa + F.in_prod.offset, w);
      kick = true;
    }
    if (kick && b.dom0Port > 0) evtchn.notify(b.dom0Port);
  };

  host.onDomainCreated((d) => {
    const slot = allocDomainRing(host, evtchn, d, ringGpaOf(d));
    if (!slot) return; // no console ring
    const { gfn, guestPort } = slot;
    const b: ConsoleRingBinding = { domid: d.domid, gfn, guestPort, dom0Port: -1, pending: [], pendingBytes: 0, broken: null };
    bindings.set(d.domid, b);
    doms.set(d.domid, d);
    b.dom0Port = evtchn.bindInterdomain(d.domid, guestPort, () => process(d.domid));
    publishDomainRing(d, slot, { mfn: StartInfo.console_mfn.offset, evtchn: StartInfo.console_evtchn.offset });
  });

  host.onDomainDestroyed((d) => {
    const b = bindings.get(d.domid);
    if (!b || doms.get(d.domid) !== d) return;
    bindings.delete(d.domid);
    doms.delete(d.domid);
    if (b.dom0Port > 0) evtchn.unbind(b.dom0Port);
    b.dom0Port = -1;
  });

  return {
    bindings,
    ringGpaOf,
    process,
    input(domid, bytes) {
      const b = bindings.get(domid);
      if (!b || b.broken) {
        if (opts.stats) opts.stats.inputRefused.value += bytes.length;
        return -1;
      }
      const n = Math.min(bytes.length, CONSOLE_INPUT_QUEUE - b.pendingBytes);
      if (opts.stats) opts.stats.inputRefused.value += bytes.length - n;
      if (n > 0) {
        b.pending.push(Uint8Array.from(bytes.subarray(0, n)));
        b.pendingBytes += n;
      }
      process(domid);
      return n;
    },
  };
}
