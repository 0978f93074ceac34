/**
 * A software Ethernet bridge per name (Linux's bridge as xl's vif-bridge script uses it: one per
 * `bridge=`, default xenbr0): source-MAC learning with ageing, unicast to a learned port, flooding
 * of group and unknown destinations to every other port, an MTU per port (br_forward's
 * is_skb_forwardable drops a frame longer than the egress port's MTU + header), and no frame back
 * out of the port it came in on. Frames cross the bridge in simulated time: a single-queue bridge
 * (one dom0 softirq) that takes `frameNs` + `perKiBNs` per frame, FIFO, in NAPI-style passes (see
 * BRIDGE_NAPI_WEIGHT).
 */
import { SimEvent, StatGroup } from '@tachyxx/core';
import { ETH_DATA_LEN, ETH_HLEN, fillL4Checksum, isGroupMac, macAt, type NetFrame } from './frame.js';
import { join } from 'node:path';
import { PcapWriter } from './pcap.js';

/** Simulated forwarding costs, ns (component costs `pv-net.*`). */
export interface NetCosts {
  /** Fixed cost of one frame through the bridge (lookup, queueing). */
  readonly frameNs: number;
  /** Cost per KiB of frame (the copies). */
  readonly perKiBNs: number;
}
/** A model, not a measurement: 1 us per frame, ~10 GB/s. */
export const DEFAULT_NET_COSTS: NetCosts = Object.freeze({ frameNs: 1000, perKiBNs: 100 });

/** Linux's BR_DEFAULT_AGEING_TIME: 300 s. */
export const BRIDGE_AGEING_NS = 300e9;
/**
 * Frames waiting to cross one bridge: Linux's netdev_max_backlog (1000), the per-CPU input queue a
 * bridge's frames wait in; beyond it frames are dropped (counted).
 */
export const BRIDGE_BACKLOG = 1000;
/**
 * Frames one forwarding pass takes at most: Linux's NAPI weight (NAPI_POLL_WEIGHT, 64), the
 * budget of netback's TX poll (xenvif_poll) that hands each frame to the bridge. A pass starts
 * when a frame arrives at an idle bridge, or when the previous pass ends with frames waiting;
 * it takes the frames waiting then and delivers them together when their summed cost has passed
 * (with one dom0 CPU, the receiving vif's RX thread runs after the softirq pass, so the receiver
 * sees the pass's frames as one batch). A lone frame takes exactly its own cost, as before;
 * a burst (a frontend's xmit_more batch, notified once) crosses in one pass and one simulated
 * event instead of one event per frame.
 */
export const BRIDGE_NAPI_WEIGHT = 64;
/**
 * Forwarding-table entries per bridge. Linux has no limit by default (fdb_max_learned = 0); a
 * guest inventing source MACs would grow dom0's memory without bound, so learning stops here
 * (stale entries are swept first) and unknown destinations are flooded, counted.
 */
export const BRIDGE_FDB_MAX = 8192;

/** 802.1Q tag length (a tagged frame may be this much longer than MTU + ETH_HLEN). */
const VLAN_HLEN = 4;

export class BridgePortStats extends StatGroup {
  readonly framesIn = this.counter('framesIn', 'count', 'frames the port sent into the bridge');
  readonly bytesIn = this.counter('bytesIn', 'byte', 'bytes the port sent into the bridge');
  readonly framesOut = this.counter('framesOut', 'count', 'frames the bridge delivered to the port');
  readonly bytesOut = this.counter('bytesOut', 'byte', 'bytes the bridge delivered to the port');
  readonly dropMtu = this.counter('dropMtu', 'count', 'frames longer than the port MTU + header, not delivered');
  readonly dropCarrier = this.counter('dropCarrier', 'count', 'frames not delivered: port carrier off');
  readonly dropCsum = this.counter('dropCsum', 'count', 'csum_blank frames whose checksum could not be set up');
  readonly csumFilled = this.counter('csumFilled', 'count', 'L4 checksums filled for this port');
}

export class BridgeStats extends StatGroup {
  readonly frames = this.counter('frames', 'count', 'frames into the bridge');
  readonly bytes = this.counter('bytes', 'byte', 'bytes into the bridge');
  readonly unicast = this.counter('unicast', 'count', 'frames sent to one learned port');
  readonly flooded = this.counter('flooded', 'count', 'frames flooded (group or unknown destination)');
  readonly dropLocal = this.counter('dropLocal', 'count', 'frames whose destination was learned on the ingress port');
  readonly dropNoPort = this.counter('dropNoPort', 'count', 'frames whose ingress port left before delivery');
  readonly learned = this.counter('learned', 'count', 'forwarding-table entries learned or moved');
  readonly dropBacklog = this.counter('dropBacklog', 'count', 'frames dropped: more than BRIDGE_BACKLOG waiting');
  readonly passes = this.counter('passes', 'count', 'forwarding passes (up to BRIDGE_NAPI_WEIGHT frames each)');
  readonly fdbFull = this.counter('fdbFull', 'count', 'source MACs not learned: BRIDGE_FDB_MAX entries, none stale');
  readonly maxInFlight = this.counter('maxInFlight', 'count', 'most frames in flight at once');
}

/** What a port hands frames to (a vif's RX side, a capture, an uplink). */
export type PortSink = (frame: NetFrame) => void;

export class BridgePort {
  /** Carrier: a port whose carrier is off gets nothing. */
  carrier = true;
  /** The receiver cannot take a csum_blank frame: fill the checksum before delivery. */
  needsCsum = false;
  /**
   * Hairpin mode (Linux BR_HAIRPIN_MODE, `bridge link set dev X hairpin on`): frames may go back
   * out of the port they came in by — what an SR-IOV NIC in VEPA mode needs from its bridge.
   */
  hairpin = false;
  attached = true;
  constructor(
    readonly bridge: Bridge,
    readonly name: string,
    public mtu: number,
    readonly sink: PortSink,
    readonly stats: BridgePortStats,
    readonly pcap: PcapWriter | null,
  ) {}

  /** A frame from this port's device into the bridge. */
  send(frame: NetFrame): void {
    this.bridge.input(this, frame);
  }

  detach(): void {
    this.bridge.removePort(this);
  }
}

interface InFlight { frame: NetFrame; from: BridgePort }

export interface BridgeHost {
  readonly clock: { readonly now: number };
  readonly queue: { schedule(ev: SimEvent, time: number): void; cancel(ev: SimEvent): boolean };
}

export class Bridge {
  private readonly ports = new Map<string, BridgePort>();
  /** MAC (as a number) -> port and last-seen time. */
  private readonly fdb = new Map<number, { port: BridgePort; seen: number }>();
  private readonly fifo: InFlight[] = [];
  private head = 0;
  /** fifo index after the last frame of the pass under way (head when none is). */
  private passEnd = 0;
  /** When the pass under way started and its summed frame costs (ns, unrounded). */
  private passStart = 0;
  private passNs = 0;
  /** endPass is handing frames out: a frame a port sends back at once waits for the next pass. */
  private delivering = false;
  private readonly event: SimEvent;

  constructor(
    readonly name: string,
    private readonly host: BridgeHost,
    readonly costs: NetCosts,
    readonly stats: BridgeStats,
    readonly pcap: PcapWriter | null,
  ) {
    this.event = new SimEvent(`pv-net.${name}.forward`, () => this.endPass());
  }

  /** Frames accepted and not yet delivered. */
  get inFlight(): number { return this.fifo.length - this.head; }

  portNames(): string[] { return [...this.ports.keys()]; }
  port(name: string): BridgePort | undefined { return this.ports.get(name); }

  addPort(name: string, sink: PortSink, o: { mtu?: number; stats: BridgePortStats; pcap?: PcapWriter | null }): BridgePort {
    if (this.ports.has(name)) throw new Error(`bridge ${this.name}: port ${name} already exists`);
    const mtu = o.mtu ?? ETH_DATA_LEN;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`bridge ${this.name}: port ${name}: mtu ${mtu} is not in 68..65535`);
    const p = new BridgePort(this, name, mtu, sink, o.stats, o.pcap ?? null);
    this.ports.set(name, p);
    return p;
  }

  removePort(p: BridgePort): void {
    if (this.ports.get(p.name) !== p) return;
    this.ports.delete(p.name);
    p.attached = false;
    for (const [mac, e] of this.fdb) if (e.port === p) this.fdb.delete(mac);
  }

  /** The learned port of `mac` ("aa:bb:..." as a number), if fresh. */
  lookup(mac: number): BridgePort | undefined {
    const e = this.fdb.get(mac);
    if (!e || this.host.clock.now - e.seen > BRIDGE_AGEING_NS) return undefined;
    return e.port;
  }

  /** A frame from `from` (ingress): learn its source, capture it, queue it for forwarding. */
  input(from: BridgePort, frame: NetFrame): void {
    const d = frame.data;
    const now = this.host.clock.now;
    from.stats.framesIn.value++;
    from.stats.bytesIn.value += d.length;
    from.pcap?.write(now, d);
    this.pcap?.write(now, d);
    this.stats.frames.value++;
    this.stats.bytes.value += d.length;
    if (d.length < ETH_HLEN) return;
    if (this.inFlight >= BRIDGE_BACKLOG) { this.stats.dropBacklog.value++; return; }
    if (!isGroupMac(d, 6)) {
      const src = macAt(d, 6);
      const e = this.fdb.get(src);
      if (!e) {
        if (this.fdb.size >= BRIDGE_FDB_MAX) this.sweep(now);
        if (this.fdb.size < BRIDGE_FDB_MAX) { this.fdb.set(src, { port: from, seen: now }); this.stats.learned.value++; }
        else this.stats.fdbFull.value++;
      } else { if (e.port !== from) { e.port = from; this.stats.learned.value++; } e.seen = now; }
    }
    this.fifo.push({ frame, from });
    if (this.inFlight > this.stats.maxInFlight.value) this.stats.maxInFlight.value = this.inFlight;
    if (this.delivering) return;
    if (this.passEnd === this.head) this.startPass(now);
    // (a frame of the same instant as the pass's start, as a burst handed over in one
    // notification is, was waiting when it started: it joins the pass)
    else if (this.passStart === now && this.passEnd === this.fifo.length - 1 && this.passEnd - this.head < BRIDGE_NAPI_WEIGHT) {
      this.passEnd++;
      this.passNs += this.frameCost(d.length);
      this.host.queue.cancel(this.event);
      this.host.queue.schedule(this.event, Math.ceil(now + this.passNs));
    }
  }

  private frameCost(len: number): number { return this.costs.frameNs + (len / 1024) * this.costs.perKiBNs; }

  /** A forwarding pass from `now`: up to BRIDGE_NAPI_WEIGHT waiting frames, delivered at its end. */
  private startPass(now: number): void {
    const end = Math.min(this.fifo.length, this.head + BRIDGE_NAPI_WEIGHT);
    let ns = 0;
    for (let i = this.head; i < end; i++) ns += this.frameCost(this.fifo[i]!.frame.data.length);
    this.passEnd = end;
    this.passStart = now;
    this.passNs = ns;
    this.stats.passes.value++;
    this.host.queue.schedule(this.event, Math.ceil(now + ns));
  }

  /** Forwarding-table entries (learned, not yet aged out or removed). */
  get fdbSize(): number { return this.fdb.size; }

  private sweep(now: number): void {
    for (const [mac, e] of this.fdb) if (now - e.seen > BRIDGE_AGEING_NS) this.fdb.delete(mac);
  }

  /** The pass under way ends: its frames go out in order; the next pass takes what waits. */
  private endPass(): void {
    const end = this.passEnd;
    this.delivering = true;
    try {
      while (this.head < end) {
        const f = this.fifo[this.head]!;
        this.fifo[this.head] = undefined as unknown as InFlight;
        this.head++;
        this.forward(f.from, f.frame);
      }
    } finally {
      this.delivering = false;
    }
    if (this.head === this.fifo.length) { this.fifo.length = 0; this.head = 0; this.passEnd = 0; }
    else {
      if (this.head > 1024) { this.fifo.splice(0, this.head); this.head = 0; }
      this.passEnd = this.head;
      this.startPass(this.host.clock.now);
    }
  }

  private forward(from: BridgePort, frame: NetFrame): void {
    if (!from.attached) { this.stats.dropNoPort.value++; return; }
    const d = frame.data;
    if (d.length >= ETH_HLEN && !isGroupMac(d, 0)) {
      const to = this.lookup(macAt(d, 0));
      if (to) {
        if (to === from && !from.hairpin) { this.stats.dropLocal.value++; return; }
        this.stats.unicast.value++;
        this.egress(to, frame);
        return;
      }
    }
    this.stats.flooded.value++;
    for (const p of this.ports.values()) if (p !== from || p.hairpin) this.egress(p, frame);
  }

  private egress(p: BridgePort, frame: NetFrame): void {
    const d = frame.data;
    if (!p.carrier) { p.stats.dropCarrier.value++; return; }
    const tagged = d.length >= ETH_HLEN + VLAN_HLEN && d[12] === 0x81 && d[13] === 0x00;
    if (d.length > p.mtu + ETH_HLEN + (tagged ? VLAN_HLEN : 0)) { p.stats.dropMtu.value++; return; }
    if (frame.csumBlank && p.needsCsum) {
      // Filled once, in place: a correct checksum is correct for every other receiver too.
      if (!fillL4Checksum(d)) { p.stats.dropCsum.value++; return; }
      frame.csumBlank = false;
      frame.validated = true;
      p.stats.csumFilled.value++;
    }
    p.stats.framesOut.value++;
    p.stats.bytesOut.value += d.length;
    p.pcap?.write(this.host.clock.now, d);
    p.sink(frame);
  }
}

export interface BridgeSetOptions {
  host: BridgeHost & { readonly stats: StatGroup; log?(line: string): void };
  costs?: Partial<NetCosts>;
  /** Capture directory: `<port>.pcap` per port and `<bridge>.pcap` per bridge (`tachyxx host --pcap DIR`). */
  pcapDir?: string | null;
  /** Only these ports and bridges are captured (`--pcap-only vif1.0,xenbr0`); absent or empty = all. */
  pcapOnly?: readonly string[];
}

/**
 * Every bridge of the host, by name (created on first use, as the vif-bridge script's `brctl
 * addbr`), their stats (`host.pv-net.bridge.<name>`, `host.pv-net.port.<port>`) and captures.
 */
export class BridgeSet {
  readonly costs: NetCosts;
  readonly pcapDir: string | null;
  private readonly bridges = new Map<string, Bridge>();
  private readonly pcaps = new Map<string, PcapWriter>();
  private readonly portStats = new Map<string, BridgePortStats>();
  constructor(private readonly o: BridgeSetOptions) {
    this.costs = Object.freeze({ ...DEFAULT_NET_COSTS, ...o.costs });
    for (const [k, v] of Object.entries(this.costs)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`pv-net cost ${k}: ${v} is not a non-negative number of ns`);
    }
    this.pcapDir = o.pcapDir ?? null;
  }

  /** Frames in flight on every bridge (the host's wake source while > 0). */
  get inFlight(): number {
    let n = 0;
    for (const b of this.bridges.values()) n += b.inFlight;
    return n;
  }

  names(): string[] { return [...this.bridges.keys()].sort(); }
  get(name: string): Bridge | undefined { return this.bridges.get(name); }

  bridge(name: string): Bridge {
    let b = this.bridges.get(name);
    if (!b) {
      b = new Bridge(name, this.o.host, this.costs, this.o.host.stats.mount(`host.pv-net.bridge.${statName(name)}`, new BridgeStats()), this.capture(name));
      this.bridges.set(name, b);
    }
    return b;
  }

  /** Adds port `port` to bridge `bridge` (a stale port of that name is removed first). */
  attach(bridge: string, port: string, sink: PortSink, mtu?: number): BridgePort {
    const b = this.bridge(bridge);
    for (const other of this.bridges.values()) other.port(port)?.detach();
    let stats = this.portStats.get(port);
    if (!stats) {
      stats = this.o.host.stats.mount(`host.pv-net.port.${statName(port)}`, new BridgePortStats());
      this.portStats.set(port, stats);
    }
    return b.addPort(port, sink, { mtu, stats, pcap: this.capture(port) });
  }

  /** Closes every capture file (they are complete after every record anyway). */
  close(): void {
    for (const p of this.pcaps.values()) p.close();
    this.pcaps.clear();
  }

  private capture(name: string): PcapWriter | null {
    if (!this.pcapDir) return null;
    const only = this.o.pcapOnly;
    if (only && only.length && !only.includes(name)) return null;
    let w = this.pcaps.get(name);
    if (!w) {
      w = new PcapWriter(join(this.pcapDir, `${name}.pcap`));
      this.pcaps.set(name, w);
    }
    return w;
  }
}

function statName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '-');
}
