/**
 * netback: dom0's backend for `vif` devices, Xen's netif protocol (xen/include/public/io/netif.h)
 * as Linux's drivers/net/xen-netback runs it (netback.c, rx.c, xenbus.c, interface.c):
 *
 * Handshake (xenbus.c): probe writes feature-sg, feature-rx-copy=1, feature-rx-flip=0,
 * feature-ipv6-csum-offload, feature-split-event-channels, multi-queue-max-queues (nothing this
 * backend does not do: no GSO, no multicast control, no control ring); connect reads
 * multi-queue-num-queues (absent = 1; more than the maximum -> refused), then per queue
 * (the frontend dir for one queue, `queue-N/` for several) tx-ring-ref, rx-ring-ref and
 * event-channel or event-channel-tx + event-channel-rx; request-rx-copy must be 1 (an old
 * page-flipping frontend is refused: -EOPNOTSUPP), feature-rx-notify (absent: 30 ms drain timeout,
 * no stall detection), feature-sg, feature-no-csum-offload; backend `mac`, `rate`, `mtu`, `bridge`,
 * `vifname`, `handle` as libxl wrote them.
 *
 * Guest TX (xenvif_tx_build_gops): each slot is copied out of the ring before it is looked at.
 * A packet is a first request (size = whole packet), extra-info slots (NETTXF_extra_info, each
 * with XEN_NETIF_EXTRA_FLAG_MORE), and more_data fragments. Fatal, the vif is disabled as by
 * xenvif_fatal_tx_err (the host and other vifs go on): a chain past req_prod ("Asked for N slots"),
 * more than fatal_skb_slots (20) fragments ("Malicious frontend"), a slot crossing its page, a
 * missing or invalid extra-info type, a wild req_prod (the ring check). Dropped with ERROR
 * responses (counted per reason): fragments beyond XEN_NETBK_LEGACY_SLOTS_MAX (18), a slot larger
 * than what remains of the packet (a frame >= 64 KiB overflowed `size`), a packet shorter than
 * ETH_HLEN, a GSO packet (no feature-gso-*), a multicast-control request (not advertised), a
 * grant copy that fails (a ref not granted to dom0, someone else's page). Data moves only by grant
 * copy (GNTTABOP_copy): no frame is read from a page the frontend did not grant.
 * Credit scheduling as tx_credit_exceeded: `rate` = "BYTES,USECS" (libxl), a window of
 * credit_bytes every credit_usec, bursts up to max(128 KiB, credit_bytes).
 *
 * Guest RX (rx.c): frames the bridge delivers wait in a per-queue queue; each is grant-copied into
 * the frontend's posted buffers (offset 0, up to a page a slot, NETRXF_more_data on all but the
 * last), the response in the slot of its request, NETRXF_data_validated (and csum_blank for a
 * checksum-offloaded frame when the frontend takes those). No buffers: the frame waits, req_event
 * = req_prod + 1 asks the frontend for an event; frames older than the drain timeout (10 s) are
 * dropped (counted), and with no buffers posted for the stall timeout (60 s) the carrier goes off
 * (the bridge stops delivering to the port) until the frontend posts again. A queue holding more
 * than XENVIF_RX_QUEUE_BYTES drops (counted).
 */
import {
  Errno, Gntst, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_more_data,
  NETTXF_csum_blank, NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data, NetbackKeys, NetfrontKeys,
  NetifExtraInfoCodec, NetifRxRequestCodec, NetifRxResponseCodec, NetifRxRing, NetifTxRequestCodec, NetifTxResponseCodec,
  NetifTxRing, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX, XEN_NETIF_EXTRA_TYPE_MCAST_ADD,
  XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_NR_SLOTS_MIN,
  type netif_rx_request_t, type netif_rx_response_t, type netif_tx_request_t, type netif_tx_response_t,
} from '@tachyxx/abi';
import { defineTopic, SimEvent, StatGroup, type EventBus } from '@tachyxx/core';
import type { CopyOp, GrantTables } from '@tachyxx/grant';
import type { XsClient } from '@tachyxx/xenstore';
import type { Backend, BackendHost, GrantBackRing, RingConnector, XenbusDevice } from '@tachyxx/xenbus';
import type { BridgePort, BridgeSet } from './bridge.js';
import { ETH_DATA_LEN, ETH_HLEN, parseMac, type NetFrame } from './frame.js';

const PAGE = 4096;
/** XEN_NETBK_LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN: more fragments than this drop the packet. */
export const XEN_NETBK_LEGACY_SLOTS_MAX = XEN_NETIF_NR_SLOTS_MIN;
/** Linux netback's fatal_skb_slots (FATAL_SKB_SLOTS_DEFAULT): this many fragments is malicious. */
export const FATAL_SKB_SLOTS = 20;
/** rx_drain_timeout_msecs (10 s): queued RX frames older than this are dropped. */
export const RX_DRAIN_TIMEOUT_NS = 10e9;
/** Without feature-rx-notify Linux polls: drain timeout 30 ms, no stall detection. */
export const RX_DRAIN_TIMEOUT_NO_NOTIFY_NS = 30e6;
/** rx_stall_timeout_msecs (60 s): no RX buffers for this long takes the carrier off. */
export const RX_STALL_TIMEOUT_NS = 60e9;
/** XENVIF_RX_QUEUE_BYTES = XEN_NETIF_RX_RING_SIZE/2 * PAGE_SIZE (512 KiB): an RX queue longer than this drops. */
export const RX_QUEUE_MAX_BYTES = (256 / 2) * PAGE;
/** tx_add_credit's max_burst floor: 128 KiB (a jumbo GSO packet must always fit). */
export const TX_CREDIT_MIN_BURST = 131072;
/** Default multi-queue-max-queues (Linux: xenvif_max_queues = online CPUs; here a parameter). */
export const DEFAULT_MAX_QUEUES = 4;

/** vif lifecycle events on the bus. */
export interface VifEvent {
  readonly time: number;
  readonly domid: number;
  readonly devid: number;
  /** vifD.N */
  readonly name: string;
  readonly bridge: string;
  /** For `fatal`: why the vif was disabled; for carrier changes: 'carrier-on'/'carrier-off'. */
  readonly reason?: string;
}
export const VIF_UP = defineTopic<VifEvent>('pv-net.vif-up');
export const VIF_DOWN = defineTopic<VifEvent>('pv-net.vif-down');
export const VIF_FATAL = defineTopic<VifEvent>('pv-net.vif-fatal');
export const VIF_CARRIER = defineTopic<VifEvent>('pv-net.vif-carrier');

/** One queue's share of its vif's traffic (`host.pv-net.vifD-N.queue-K`, multi-queue-num-queues). */
export class NetQueueStats extends StatGroup {
  readonly txPackets = this.counter('txPackets', 'count', 'packets from the guest on this queue\'s TX ring');
  readonly txBytes = this.counter('txBytes', 'byte', 'bytes from the guest on this queue\'s TX ring');
  readonly rxPackets = this.counter('rxPackets', 'count', 'packets delivered into this queue\'s RX ring');
  readonly rxBytes = this.counter('rxBytes', 'byte', 'bytes delivered into this queue\'s RX ring');
}

/** Per-vif counters (`host.pv-net.vifD-N`). Monotonic, except the occupancy gauges' histograms. */
export class VifStats extends StatGroup {
  private readonly queueGroups: NetQueueStats[] = [];
  /** Queue `k`'s counters (created on first use; kept across reconnects like the vif's). */
  queue(k: number): NetQueueStats {
    return (this.queueGroups[k] ??= this.mount(`queue-${k}`, new NetQueueStats()));
  }
  readonly txPackets = this.counter('txPackets', 'count', 'packets from the guest forwarded to the bridge');
  readonly txBytes = this.counter('txBytes', 'byte', 'bytes from the guest forwarded to the bridge');
  readonly rxPackets = this.counter('rxPackets', 'count', 'packets delivered into the guest');
  readonly rxBytes = this.counter('rxBytes', 'byte', 'bytes delivered into the guest');
  readonly txSlots = this.counter('txSlots', 'count', 'TX ring slots consumed');
  readonly rxSlots = this.counter('rxSlots', 'count', 'RX ring slots (buffers) filled');
  readonly copies = this.counter('copies', 'count', 'grant copy operations');
  readonly copyBytes = this.counter('copyBytes', 'byte', 'bytes moved by grant copy');
  readonly notifyTx = this.counter('notifyTx', 'count', 'TX response notifications to the frontend');
  readonly notifyRx = this.counter('notifyRx', 'count', 'RX response notifications to the frontend');
  readonly eventsTx = this.counter('eventsTx', 'count', 'TX events from the frontend');
  readonly eventsRx = this.counter('eventsRx', 'count', 'RX events from the frontend (buffers posted)');
  readonly dropTxTooManySlots = this.counter('dropTxTooManySlots', 'count', 'TX packets of more than XEN_NETBK_LEGACY_SLOTS_MAX fragments');
  readonly dropTxBadSize = this.counter('dropTxBadSize', 'count', 'TX packets whose fragments exceed the packet size (>= 64 KiB)');
  readonly dropTxRunt = this.counter('dropTxRunt', 'count', 'TX packets whose first slot is shorter than ETH_HLEN (zero-length included)');
  readonly dropTxGso = this.counter('dropTxGso', 'count', 'TX GSO packets (feature-gso-* not offered)');
  readonly dropTxMcast = this.counter('dropTxMcast', 'count', 'TX multicast-control requests (not offered)');
  readonly dropTxGrant = this.counter('dropTxGrant', 'count', 'TX packets with a grant copy that failed');
  readonly dropRxQueueFull = this.counter('dropRxQueueFull', 'count', 'RX frames dropped: queue over XENVIF_RX_QUEUE_BYTES');
  readonly dropRxExpired = this.counter('dropRxExpired', 'count', 'RX frames dropped: no buffers within the drain timeout');
  readonly dropRxGrant = this.counter('dropRxGrant', 'count', 'RX slots answered NETIF_RSP_ERROR: grant copy failed');
  readonly dropRxDisabled = this.counter('dropRxDisabled', 'count', 'RX frames for a vif that is not connected');
  readonly rateLimited = this.counter('rateLimited', 'count', 'times TX stopped for credit (rate=)');
  readonly carrierOff = this.counter('carrierOff', 'count', 'carrier-off transitions (RX stall)');
  readonly fatal = this.counter('fatal', 'count', 'times the vif was disabled for a malicious frontend');
  readonly txOccupancy = this.histogram('txOccupancy', 'count', 'TX requests waiting when the ring is looked at', [0, 1, 4, 16, 64, 128, 256]);
  readonly rxOccupancy = this.histogram('rxOccupancy', 'count', 'RX buffers posted when a frame is delivered', [0, 1, 4, 16, 64, 128, 256]);
  readonly rxQueued = this.histogram('rxQueued', 'count', 'frames waiting for RX buffers when one is queued', [0, 1, 4, 16, 64, 256]);
}

/** The vif's configuration, from the backend directory (libxl's keys). */
export interface VifConfig {
  mac: Uint8Array;
  bridge: string;
  mtu: number;
  /** vifD.N or vifname=. */
  name: string;
  /** Credit: bytes per window, window in us (0 bytes = unlimited). */
  creditBytes: number;
  creditUsec: number;
}

type TxRing = GrantBackRing<netif_tx_request_t, netif_tx_response_t>;
type RxRing = GrantBackRing<netif_rx_request_t, netif_rx_response_t>;

class NetQueue {
  tx!: TxRing;
  rx!: RxRing;
  txPort = -1;
  rxPort = -1;
  remainingCredit = 0;
  creditWindowStart = 0;
  readonly creditTimer: SimEvent;
  readonly rxq: NetFrame[] = [];
  readonly rxqTime: number[] = [];
  rxqHead = 0;
  rxqBytes = 0;
  /** The vif's counters split by queue. */
  readonly stats: NetQueueStats;
  /** When the ring last had buffers (stall detection). */
  lastRxBuffers = 0;
  stalled = false;
  /** The RX kick (xenvif_kick_thread): frames the bridge delivered at one time go out in one batch. */
  readonly rxEvent: SimEvent;
  constructor(readonly vif: Vif, readonly index: number, onCredit: (q: NetQueue) => void, onRx: (q: NetQueue) => void) {
    this.stats = vif.stats.queue(index);
    this.creditTimer = new SimEvent(`pv-net.${vif.cfg.name}.q${index}.credit`, () => onCredit(this));
    this.rxEvent = new SimEvent(`pv-net.${vif.cfg.name}.q${index}.rx`, () => onRx(this));
  }
  get rxqLength(): number { return this.rxq.length - this.rxqHead; }
}

class Vif {
  readonly queues: NetQueue[] = [];
  port: BridgePort | null = null;
  rxNotify = true;
  canSg = true;
  csumOffload = true;
  drainNs = RX_DRAIN_TIMEOUT_NS;
  stallNs = RX_STALL_TIMEOUT_NS;
  disabled = false;
  readonly timer: SimEvent;
  constructor(readonly dev: XenbusDevice, readonly cfg: VifConfig, readonly stats: VifStats, onTimer: (v: Vif) => void) {
    this.timer = new SimEvent(`pv-net.${cfg.name}.rx-timer`, () => onTimer(this));
  }
}

export interface NetBackendOptions {
  host: Pick<BackendHost, 'clock' | 'queue' | 'stats' | 'log'> & { readonly bus?: EventBus };
  gnt: Pick<GrantTables, 'copy'>;
  /** The bridges vif ports are attached to (one per name, created on first use). */
  bridges: BridgeSet;
  /** multi-queue-max-queues (default 4). */
  maxQueues?: number;
  /** The domain netback runs as (default 0). */
  backendDomid?: number;
}

/** Mutable grant-copy ops (CopyOp's shapes), reused: TX copies from a grant into a buffer, RX the other way. */
interface TxCopy { source: { ref: number; domid: number; offset: number }; dest: { buffer: Uint8Array; offset: number }; len: number }
interface RxCopy { source: { buffer: Uint8Array; offset: number }; dest: { ref: number; domid: number; offset: number }; len: number }
const EMPTY = new Uint8Array(0);

/**
 * dom0 memory for TX frames (as Linux carves skb data from a page_frag cache): views carved in
 * order from FRAME_SLAB_BYTES ArrayBuffers and never reused (a chunk goes to the GC once no frame
 * in it is referenced; nothing is ever written over a frame that may still be in flight). A Uint8Array of its own per frame costs V8 an off-heap
 * backing store (anything over 64 bytes): it was netback's largest per-packet cost. A frame
 * still queued keeps its chunk alive: at most one chunk per frame the bridge backlog and the
 * RX queues hold (both bounded; the RX drain timeout frees stuck ones).
 */
export const FRAME_SLAB_BYTES = 32 * 1024; // Linux's PAGE_FRAG_CACHE_MAX_SIZE (the page_frag cache skb data is carved from)
class FrameSlab {
  private buf = new ArrayBuffer(FRAME_SLAB_BYTES);
  private off = 0;
  /** `n` zeroed bytes for a frame (larger frames get their own buffer). */
  alloc(n: number): Uint8Array {
    if (n > FRAME_SLAB_BYTES / 4) return new Uint8Array(n);
    if (this.off + n > FRAME_SLAB_BYTES) { this.buf = new ArrayBuffer(FRAME_SLAB_BYTES); this.off = 0; }
    const v = new Uint8Array(this.buf, this.off, n);
    this.off += (n + 7) & ~7;
    return v;
  }
}
/** Most RX slots one frame takes: 64 KiB in pages. */
const RX_MAX_SLOTS = 17;

/** `n` reusable ops and their prefixes (prefix[k] = the first k), so a batch never allocates an array. */
function opPool<T>(n: number, make: () => T): T[][] {
  const all = Array.from({ length: n }, make);
  return Array.from({ length: n + 1 }, (_, k) => all.slice(0, k));
}

/** The vif backend. Register it with `XenbusBackends.register`. */
export class NetBackend implements Backend<netif_tx_request_t, netif_tx_response_t> {
  readonly kind = 'vif' as const;
  readonly ringType = NetifTxRing;
  readonly maxQueues: number;
  private readonly host: NetBackendOptions['host'];
  private readonly gnt: NetBackendOptions['gnt'];
  private readonly bridges: BridgeSet;
  private readonly as: number;
  private readonly vifs = new Map<XenbusDevice, Vif>();
  private readonly statGroups = new Map<string, VifStats>();
  /** The first request of a packet, its fragments (up to FATAL_SKB_SLOTS) and their ids. */
  private readonly txreq = NetifTxRequestCodec.create();
  private readonly frags: netif_tx_request_t[] = Array.from({ length: FATAL_SKB_SLOTS + 1 }, () => NetifTxRequestCodec.create());
  private readonly slotView = new DataView(new ArrayBuffer(12));
  private readonly extra = NetifExtraInfoCodec.create();
  private readonly txrsp = NetifTxResponseCodec.create();
  private readonly rxreq = NetifRxRequestCodec.create();
  private readonly rxrsp = NetifRxResponseCodec.create();
  private readonly txOps = opPool<TxCopy>(FATAL_SKB_SLOTS + 1, () => ({ source: { ref: 0, domid: 0, offset: 0 }, dest: { buffer: EMPTY, offset: 0 }, len: 0 }));
  /** Where TX frames are built (see FrameSlab). */
  private readonly frames = new FrameSlab();
  private readonly rxOps = opPool<RxCopy>(RX_MAX_SLOTS, () => ({ source: { buffer: EMPTY, offset: 0 }, dest: { ref: 0, domid: 0, offset: 0 }, len: 0 }));
  private readonly rxReqIds = new Uint16Array(RX_MAX_SLOTS);
  private creditWaiting = 0;

  constructor(o: NetBackendOptions) {
    this.host = o.host;
    this.gnt = o.gnt;
    this.bridges = o.bridges;
    this.as = o.backendDomid ?? 0;
    this.maxQueues = o.maxQueues ?? DEFAULT_MAX_QUEUES;
    if (!Number.isInteger(this.maxQueues) || this.maxQueues < 1 || this.maxQueues > 64) throw new RangeError(`pv-net maxQueues ${this.maxQueues} is not in 1..64`);
  }

  /** Queues waiting for TX credit (rate=): their timers will run the ring again. */
  get pendingCredit(): number { return this.creditWaiting; }

  /** The connected vif of `domid`/`devid` (its port, stats), for tools and tests. */
  vif(domid: number, devid: number): { name: string; bridge: string; port: BridgePort | null; stats: VifStats; queues: number; queueStats: { txPackets: number; rxPackets: number }[]; disabled: boolean } | undefined {
    for (const v of this.vifs.values()) {
      if (v.dev.domid === domid && v.dev.devid === devid) return { name: v.cfg.name, bridge: v.cfg.bridge, port: v.port, stats: v.stats, queues: v.queues.length, queueStats: v.queues.map((q) => ({ txPackets: q.stats.txPackets.value, rxPackets: q.stats.rxPackets.value })), disabled: v.disabled };
    }
    return undefined;
  }

  /** xenbus.c netback_probe: the features this backend implements, then (xenbus core) InitWait. */
  probe(dev: XenbusDevice, xs: XsClient): number {
    const be = dev.paths.backend;
    let cfg: VifConfig;
    try { cfg = readConfig(xs, be, dev); } catch (e) {
      this.host.log(`(XEN) netback: ${dev.nodename}: ${(e as Error).message}`);
      return -Errno.EINVAL;
    }
    dev.data = cfg;
    xs.transaction((tx) => {
      xs.write(`${be}/${NetbackKeys.featureSg}`, '1', tx);
      xs.write(`${be}/${NetbackKeys.featureIpv6CsumOffload}`, '1', tx);
      xs.write(`${be}/${NetbackKeys.featureRxCopy}`, '1', tx);
      xs.write(`${be}/${NetbackKeys.featureRxFlip}`, '0', tx);
      xs.write(`${be}/${NetbackKeys.featureSplitEventChannels}`, '1', tx);
      xs.write(`${be}/${NetbackKeys.multiQueueMaxQueues}`, String(this.maxQueues), tx);
    });
    return 0;
  }

  connect(): number {
    // Never called: connectRings replaces it (netif has its own ring keys).
    return -Errno.EOPNOTSUPP;
  }

  /** xenbus.c connect + connect_data_rings + read_xenbus_vif_flags. */
  connectRings(dev: XenbusDevice, io: RingConnector): number {
    const cfg = dev.data as VifConfig | undefined;
    if (!cfg) return -Errno.EINVAL;
    const xs = io.xs;
    const fe = dev.paths.frontend;
    const log = (m: string) => this.host.log(`(XEN) netback: ${dev.nodename}: ${m}`);
    const nqRaw = xs.tryRead(`${fe}/${NetfrontKeys.multiQueueNumQueues}`);
    const nq = nqRaw === undefined || nqRaw === null ? 1 : decimal(nqRaw);
    if (nq < 1 || nq > this.maxQueues) { log(`guest requested ${nqRaw} queues, exceeding the maximum of ${this.maxQueues}.`); return -Errno.EINVAL; }
    // read_xenbus_vif_flags
    if (xs.tryRead(`${fe}/${NetfrontKeys.requestRxCopy}`) !== '1') { log('frontend does not request-rx-copy (page flipping is not supported)'); return -Errno.EOPNOTSUPP; }
    const flag = (k: string) => xs.tryRead(`${fe}/${k}`) === '1';
    const key = `vif${dev.domid}-${dev.devid}`;
    let stats = this.statGroups.get(key);
    if (!stats) {
      stats = this.host.stats.mount(`host.pv-net.${key}`, new VifStats());
      this.statGroups.set(key, stats);
    }
    const v = new Vif(dev, cfg, stats, (x) => this.rxTimer(x));
    v.rxNotify = flag(NetfrontKeys.featureRxNotify);
    if (!v.rxNotify) { v.drainNs = RX_DRAIN_TIMEOUT_NO_NOTIFY_NS; v.stallNs = 0; }
    v.canSg = flag(NetfrontKeys.featureSg);
    v.csumOffload = !flag(NetfrontKeys.featureNoCsumOffload);
    for (let i = 0; i < nq; i++) {
      const dir = nq === 1 ? fe : `${fe}/queue-${i}`;
      const txRef = decimal(xs.tryRead(`${dir}/${NetfrontKeys.txRingRef}`) ?? '');
      const rxRef = decimal(xs.tryRead(`${dir}/${NetfrontKeys.rxRingRef}`) ?? '');
      if (txRef < 0 || rxRef < 0) { log(`reading ${dir}/tx-ring-ref and rx-ring-ref`); return -Errno.EINVAL; }
      const one = xs.tryRead(`${dir}/${NetfrontKeys.eventChannel}`);
      let txRemote: number;
      let rxRemote: number;
      if (one !== undefined && one !== null) { txRemote = rxRemote = decimal(one); }
      else {
        txRemote = decimal(xs.tryRead(`${dir}/${NetfrontKeys.eventChannelTx}`) ?? '');
        rxRemote = decimal(xs.tryRead(`${dir}/${NetfrontKeys.eventChannelRx}`) ?? '');
      }
      if (txRemote <= 0 || rxRemote <= 0) { log(`reading ${dir}/event-channel(-tx/rx)`); return -Errno.EINVAL; }
      const q = new NetQueue(v, i, (x) => this.creditExpired(x), (x) => this.rxAction(x));
      const tx = io.mapRing(txRef, NetifTxRing);
      if (typeof tx === 'number') { log(`mapping ${dir}/tx-ring-ref ${txRef}: GNTST ${tx}`); return -Errno.EINVAL; }
      const rx = io.mapRing(rxRef, NetifRxRing);
      if (typeof rx === 'number') { log(`mapping ${dir}/rx-ring-ref ${rxRef}: GNTST ${rx}`); return -Errno.EINVAL; }
      q.tx = tx;
      q.rx = rx;
      if (txRemote === rxRemote) {
        const p = io.bindPort(txRemote, () => { stats.eventsTx.value++; this.txAction(q); this.rxAction(q); });
        if (p < 0) { log(`binding event-channel ${txRemote}: ${p}`); return p; }
        q.txPort = q.rxPort = p;
      } else {
        const pt = io.bindPort(txRemote, () => { stats.eventsTx.value++; this.txAction(q); });
        if (pt < 0) { log(`binding event-channel-tx ${txRemote}: ${pt}`); return pt; }
        const pr = io.bindPort(rxRemote, () => { stats.eventsRx.value++; this.rxAction(q); });
        if (pr < 0) { log(`binding event-channel-rx ${rxRemote}: ${pr}`); return pr; }
        q.txPort = pt;
        q.rxPort = pr;
      }
      q.remainingCredit = cfg.creditBytes === 0 ? Infinity : cfg.creditBytes;
      q.creditWindowStart = this.host.clock.now;
      q.lastRxBuffers = this.host.clock.now;
      v.queues.push(q);
    }
    v.port = this.bridges.attach(cfg.bridge, cfg.name, (f) => this.startXmit(v, f), cfg.mtu);
    v.port.needsCsum = !v.csumOffload;
    this.vifs.set(dev, v);
    this.publish(VIF_UP, v);
    return 0;
  }

  disconnect(dev: XenbusDevice): void {
    const v = this.vifs.get(dev);
    if (!v) return;
    this.vifs.delete(dev);
    v.port?.detach();
    v.port = null;
    for (const q of v.queues) {
      if (q.creditTimer.heapIndex >= 0) { this.host.queue.cancel(q.creditTimer); this.creditWaiting--; }
      if (q.rxEvent.heapIndex >= 0) this.host.queue.cancel(q.rxEvent);
      q.rxq.length = 0;
      q.rxqTime.length = 0;
      q.rxqHead = 0;
      q.rxqBytes = 0;
    }
    if (v.timer.heapIndex >= 0) this.host.queue.cancel(v.timer);
    this.publish(v.disabled ? VIF_FATAL : VIF_DOWN, v, v.disabled ? 'disabled' : undefined);
  }

  /** The xenbus core's kick (a retry timer, or requests queued before connect): every queue. */
  notify(dev: XenbusDevice): void {
    const v = this.vifs.get(dev);
    if (!v) return;
    for (const q of v.queues) {
      if (v.disabled) return;
      this.txAction(q);
      this.rxAction(q);
    }
  }

  // ---- TX (guest -> bridge) ------------------------------------------------------------------

  /** xenvif_fatal_tx_err: the vif is disabled (xenbus disconnects it: rings unmapped, ports closed). */
  private fatal(v: Vif, why: string): void {
    if (v.disabled) return;
    v.disabled = true;
    v.stats.fatal.value++;
    this.host.log(`(XEN) netback: ${v.cfg.name}: ${why}; fatal error; disabling device`);
    v.dev.fatal(`netback: ${why}`);
  }

  /** xenvif_tx_build_gops + xenvif_tx_submit for one queue, then the responses pushed. */
  private txAction(q: NetQueue): void {
    const v = q.vif;
    if (v.disabled || this.vifs.get(v.dev) !== v) return;
    const ring = q.tx;
    let responded = false;
    for (;;) {
      let work = ring.available();
      // A wild req_prod ("Impossible number of requests"): fatal.
      if (work < 0) return this.fatal(v, `TX ring: ${ring.fault ?? 'fault'}`);
      v.stats.txOccupancy.sample(work);
      if (work === 0) {
        if (responded) { this.pushTx(q); responded = false; }
        work = ring.finalCheckForRequests();
        if (work < 0) return this.fatal(v, `TX ring: ${ring.fault ?? 'fault'}`);
        if (work === 0) return;
      }
      const txreq = ring.takeRequest(this.txreq);
      // Credit-based scheduling (tx_credit_exceeded): the request stays on the ring.
      if (txreq.size > q.remainingCredit && this.creditExceeded(q, txreq.size)) {
        ring.back.req_cons = (ring.back.req_cons - 1) >>> 0;
        break;
      }
      work--;
      let extraCount = 0;
      let gso = false;
      let mcast = false;
      if (txreq.flags & NETTXF_extra_info) {
        // xenvif_get_extras
        let more: number;
        do {
          if (work-- <= 0) return this.fatal(v, 'Missing extra info');
          ring.takeRequest(this.frags[0]!);
          NetifTxRequestCodec.write(this.slotView, 0, this.frags[0]!);
          const ex = NetifExtraInfoCodec.read(this.slotView, 0, this.extra);
          extraCount++;
          if (ex.type === 0 || ex.type >= XEN_NETIF_EXTRA_TYPE_MAX) return this.fatal(v, `Invalid extra type: ${ex.type}`);
          if (ex.type === XEN_NETIF_EXTRA_TYPE_GSO) gso = true;
          if (ex.type === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || ex.type === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) mcast = true;
          more = ex.flags & XEN_NETIF_EXTRA_FLAG_MORE;
        } while (more);
      }
      if (mcast) {
        // No feature-multicast-control: xenvif_mcast_add/del is not offered, the request fails.
        v.stats.dropTxMcast.value++;
        this.txResponse(q, txreq.id, NETIF_RSP_ERROR, extraCount);
        responded = true;
        continue;
      }
      // xenvif_count_requests
      let slots = 0;
      let drop: 'slots' | 'size' | null = null;
      let firstSize = txreq.size;
      if (txreq.flags & NETTXF_more_data) {
        let more: number;
        do {
          if (slots >= work) return this.fatal(v, `Asked for ${work} slots but exceeds this limit`);
          if (slots >= FATAL_SKB_SLOTS) return this.fatal(v, `Malicious frontend using ${slots} slots, threshold ${FATAL_SKB_SLOTS}`);
          if (drop === null && slots >= XEN_NETBK_LEGACY_SLOTS_MAX) drop = 'slots';
          const txp = ring.takeRequest(this.frags[slots + 1]!);
          if (drop === null && txp.size > firstSize) drop = 'size';
          firstSize = (firstSize - txp.size) & 0xffff;
          slots++;
          if (txp.offset + txp.size > PAGE) return this.fatal(v, `Cross page boundary, txp->offset: ${txp.offset}, size: ${txp.size}`);
          more = txp.flags & NETTXF_more_data;
        } while (more);
      }
      v.stats.txSlots.value += 1 + extraCount + slots;
      responded = true;
      if (drop !== null) {
        (drop === 'slots' ? v.stats.dropTxTooManySlots : v.stats.dropTxBadSize).value++;
        this.txErr(q, txreq.id, extraCount, slots);
        continue;
      }
      const total = txreq.size;
      // What remains for the first slot: Linux checks *it* against ETH_HLEN (count_requests has
      // taken the fragments off first->size): the Ethernet header must be in the first slot.
      const firstLen = firstSize;
      if (firstLen < ETH_HLEN) { v.stats.dropTxRunt.value++; this.txErr(q, txreq.id, extraCount, slots); continue; }
      if (txreq.offset + firstLen > PAGE) return this.fatal(v, `Cross page boundary, txreq.offset: ${txreq.offset}, size: ${firstLen}`);
      if (gso) { v.stats.dropTxGso.value++; this.txErr(q, txreq.id, extraCount, slots); continue; }
      if (q.remainingCredit !== Infinity) q.remainingCredit -= total;
      // Grant copy of every slot into the frame (never a page that was not granted to us).
      const data = this.frames.alloc(total);
      const ops = this.txOps[this.txOps.length - 1]!;
      let n = 0;
      let pos = 0;
      for (let i = 0; i <= slots; i++) {
        const s = i === 0 ? txreq : this.frags[i]!;
        const len = i === 0 ? firstLen : s.size;
        if (len === 0) continue;
        const op = ops[n++]!;
        op.source.ref = s.gref;
        op.source.domid = v.dev.domid;
        op.source.offset = s.offset;
        op.dest.buffer = data;
        op.dest.offset = pos;
        op.len = len;
        pos += len;
      }
      const st = n > 0 ? this.gnt.copy(this.txOps[n] as CopyOp[], this.as) : [];
      for (let i = 0; i < n; i++) ops[i]!.dest.buffer = EMPTY; // no reference to the frame kept
      v.stats.copies.value += n;
      let ok = pos === total;
      for (let i = 0; i < st.length; i++) if (st[i] !== Gntst.okay) ok = false;
      if (!ok) { v.stats.dropTxGrant.value++; this.txErr(q, txreq.id, extraCount, slots); continue; }
      v.stats.copyBytes.value += total;
      // make_tx_response OKAY for the first (with NULLs for its extras) and each fragment.
      this.txResponse(q, txreq.id, NETIF_RSP_OKAY, extraCount);
      for (let i = 1; i <= slots; i++) this.txResponse(q, this.frags[i]!.id, NETIF_RSP_OKAY, 0);
      v.stats.txPackets.value++;
      v.stats.txBytes.value += total;
      q.stats.txPackets.value++;
      q.stats.txBytes.value += total;
      const frame: NetFrame = {
        data,
        csumBlank: (txreq.flags & NETTXF_csum_blank) !== 0,
        validated: (txreq.flags & (NETTXF_csum_blank | NETTXF_data_validated)) !== 0,
      };
      v.port?.send(frame);
      if (v.disabled) return;
    }
    if (responded) this.pushTx(q);
  }

  private pushTx(q: NetQueue): void {
    if (q.tx.pushResponses()) {
      q.vif.stats.notifyTx.value++;
      q.vif.dev.notifyPort(q.txPort);
    }
  }

  /** make_tx_response: `id`'s status, then NETIF_RSP_NULL in the slots of its extras. */
  private txResponse(q: NetQueue, id: number, status: number, extraCount: number): void {
    const r = this.txrsp;
    r.id = id;
    r.status = status;
    q.tx.putResponse(r);
    r.id = 0;
    r.status = NETIF_RSP_NULL;
    for (let i = 0; i < extraCount; i++) q.tx.putResponse(r);
  }

  /** xenvif_tx_err: ERROR for the first request (NULL for its extras) and each fragment. */
  private txErr(q: NetQueue, id: number, extraCount: number, slots: number): void {
    this.txResponse(q, id, NETIF_RSP_ERROR, extraCount);
    for (let i = 1; i <= slots; i++) this.txResponse(q, this.frags[i]!.id, NETIF_RSP_ERROR, 0);
  }

  /** tx_credit_exceeded (with tx_add_credit). */
  private creditExceeded(q: NetQueue, size: number): boolean {
    const v = q.vif;
    if (q.creditTimer.heapIndex >= 0) { v.stats.rateLimited.value++; return true; }
    const now = this.host.clock.now;
    const next = q.creditWindowStart + v.cfg.creditUsec * 1000;
    if (now >= next) {
      q.creditWindowStart = now;
      this.addCredit(q);
    }
    if (size > q.remainingCredit) {
      q.creditWindowStart = next;
      this.host.queue.schedule(q.creditTimer, Math.max(now + 1, next));
      this.creditWaiting++;
      v.stats.rateLimited.value++;
      return true;
    }
    return false;
  }

  private addCredit(q: NetQueue): void {
    const bytes = q.vif.cfg.creditBytes;
    const maxBurst = Math.max(TX_CREDIT_MIN_BURST, bytes);
    q.remainingCredit = Math.min(q.remainingCredit + bytes, maxBurst);
  }

  /** tx_credit_callback: credit for the new window, then the ring again. */
  private creditExpired(q: NetQueue): void {
    this.creditWaiting--;
    this.addCredit(q);
    this.txAction(q);
  }

  // ---- RX (bridge -> guest) ------------------------------------------------------------------

  /** xenvif_start_xmit: the bridge delivers a frame to the vif's port. */
  private startXmit(v: Vif, f: NetFrame): void {
    if (v.disabled || this.vifs.get(v.dev) !== v) { v.stats.dropRxDisabled.value++; return; }
    const q = v.queues.length === 1 ? v.queues[0]! : v.queues[flowHash(f.data) % v.queues.length]!;
    if (q.rxqBytes + f.data.length > RX_QUEUE_MAX_BYTES) { v.stats.dropRxQueueFull.value++; return; }
    q.rxq.push(f);
    q.rxqTime.push(this.host.clock.now);
    q.rxqBytes += f.data.length;
    v.stats.rxQueued.sample(q.rxqLength);
    if (q.rxEvent.heapIndex < 0) this.host.queue.schedule(q.rxEvent, this.host.clock.now);
  }

  /** xenvif_rx_action: as many queued frames as there are buffers for. */
  private rxAction(q: NetQueue): void {
    const v = q.vif;
    if (v.disabled || this.vifs.get(v.dev) !== v) return;
    const ring = q.rx;
    let wrote = false;
    const now = this.host.clock.now;
    const posted = ring.available();
    if (posted < 0) return this.fatal(v, `RX ring: ${ring.fault ?? 'fault'}`);
    if (posted > 0) {
      q.lastRxBuffers = now;
      if (q.stalled) this.carrier(v, q, true); // xenvif_queue_carrier_on
    }
    while (q.rxqLength > 0) {
      const f = q.rxq[q.rxqHead]!;
      const needed = Math.max(1, Math.ceil(f.data.length / PAGE));
      const avail = ring.available();
      if (avail < 0) return this.fatal(v, `RX ring: ${ring.fault ?? 'fault'}`);
      if (avail > 0) q.lastRxBuffers = now;
      if (avail < needed) {
        // xenvif_rx_ring_slots_available: ask for an event when the frontend posts more.
        if (!ring.setRequestEvent((ring.peekRequestProducer() + 1) >>> 0)) return;
        if (ring.available() >= needed) continue;
        break;
      }
      v.stats.rxOccupancy.sample(avail);
      q.rxq[q.rxqHead] = undefined as unknown as NetFrame;
      q.rxqHead++;
      q.rxqBytes -= f.data.length;
      this.rxSkb(q, f);
      wrote = true;
    }
    if (q.rxqHead === q.rxq.length) { q.rxq.length = 0; q.rxqTime.length = 0; q.rxqHead = 0; }
    else if (q.rxqHead > 256) { q.rxq.splice(0, q.rxqHead); q.rxqTime.splice(0, q.rxqHead); q.rxqHead = 0; }
    if (wrote && ring.pushResponses()) {
      v.stats.notifyRx.value++;
      v.dev.notifyPort(q.rxPort);
    }
    this.armRxTimer(v);
  }

  /** xenvif_rx_skb: one frame into posted buffers, a page (at most) a slot. */
  private rxSkb(q: NetQueue, f: NetFrame): void {
    const v = q.vif;
    const ring = q.rx;
    const d = f.data;
    let off = 0;
    let first = true;
    // One batch of copies for the frame (xenvif_rx_copy_flush), one slot per page.
    const ops = this.rxOps[this.rxOps.length - 1]!;
    let n = 0;
    do {
      const req = ring.takeRequest(this.rxreq);
      const len = Math.min(PAGE, d.length - off);
      const op = ops[n]!;
      op.source.buffer = d;
      op.source.offset = off;
      op.dest.ref = req.gref;
      op.dest.domid = v.dev.domid;
      op.dest.offset = 0;
      op.len = len;
      this.rxReqIds[n++] = req.id;
      off += len;
    } while (off < d.length);
    const st = this.gnt.copy(this.rxOps[n] as CopyOp[], this.as);
    v.stats.copies.value += n;
    off = 0;
    for (let i = 0; i < n; i++) {
      const len = ops[i]!.len;
      ops[i]!.source.buffer = EMPTY;
      off += len;
      const r = this.rxrsp;
      r.id = this.rxReqIds[i]!;
      r.offset = 0;
      r.flags = 0;
      if (first) {
        // rx.c: CHECKSUM_PARTIAL -> csum_blank | data_validated; validated -> data_validated.
        if (f.csumBlank) r.flags |= NETRXF_csum_blank | NETRXF_data_validated;
        else if (f.validated) r.flags |= NETRXF_data_validated;
      }
      if (off < d.length) r.flags |= NETRXF_more_data;
      if (st[i] === Gntst.okay) { r.status = len; v.stats.copyBytes.value += len; }
      else { r.status = NETIF_RSP_ERROR; v.stats.dropRxGrant.value++; }
      ring.putResponse(r);
      v.stats.rxSlots.value++;
      first = false;
    }
    v.stats.rxPackets.value++;
    v.stats.rxBytes.value += d.length;
    q.stats.rxPackets.value++;
    q.stats.rxBytes.value += d.length;
  }

  /** Drain (drop expired frames) and stall (carrier off) checks, in simulated time. */
  private rxTimer(v: Vif): void {
    if (this.vifs.get(v.dev) !== v || v.disabled) return;
    const now = this.host.clock.now;
    for (const q of v.queues) {
      while (q.rxqLength > 0 && now - q.rxqTime[q.rxqHead]! >= v.drainNs) {
        q.rxqBytes -= q.rxq[q.rxqHead]!.data.length;
        q.rxq[q.rxqHead] = undefined as unknown as NetFrame;
        q.rxqHead++;
        v.stats.dropRxExpired.value++;
      }
      if (q.rxqHead === q.rxq.length) { q.rxq.length = 0; q.rxqTime.length = 0; q.rxqHead = 0; }
      if (v.stallNs > 0 && !q.stalled && q.rx.available() === 0 && now - q.lastRxBuffers >= v.stallNs) this.carrier(v, q, false);
    }
    this.armRxTimer(v);
  }

  private armRxTimer(v: Vif): void {
    let next = Infinity;
    for (const q of v.queues) {
      if (q.rxqLength > 0) next = Math.min(next, q.rxqTime[q.rxqHead]! + v.drainNs);
      if (v.stallNs > 0 && !q.stalled && q.rxqLength > 0) next = Math.min(next, q.lastRxBuffers + v.stallNs);
    }
    if (v.timer.heapIndex >= 0) this.host.queue.cancel(v.timer);
    if (next !== Infinity) this.host.queue.schedule(v.timer, Math.max(this.host.clock.now + 1, Math.ceil(next)));
  }

  /** xenvif_queue_carrier_off / _on: the port gets frames again once buffers are posted. */
  private carrier(v: Vif, q: NetQueue, on: boolean): void {
    q.stalled = !on;
    if (!on) v.stats.carrierOff.value++;
    const any = v.queues.some((x) => x.stalled);
    if (v.port) v.port.carrier = !any;
    this.host.log(`(XEN) netback: ${v.cfg.name}: queue ${q.index}: carrier ${on ? 'on' : 'off'}${on ? '' : ' (no RX buffers posted)'}`);
    this.publish(VIF_CARRIER, v, on ? 'carrier-on' : 'carrier-off');
  }

  private publish(topic: typeof VIF_UP, v: Vif, reason?: string): void {
    const bus = this.host.bus;
    if (!bus || !bus.hasSubscribers(topic)) return;
    bus.publish(topic, { time: this.host.clock.now, domid: v.dev.domid, devid: v.dev.devid, name: v.cfg.name, bridge: v.cfg.bridge, ...(reason ? { reason } : {}) });
  }
}

/** libxl's backend keys -> the vif's configuration. Throws with the key on bad values. */
export function readConfig(xs: XsClient, be: string, dev: { domid: number; devid: number }): VifConfig {
  const rd = (k: string) => { const s = xs.tryRead(`${be}/${k}`); return s === undefined || s === null ? undefined : s; };
  const macS = rd(NetbackKeys.mac);
  if (!macS) throw new Error(`${be}/mac: missing (libxl always writes the guest's MAC)`);
  let mac: Uint8Array;
  try { mac = parseMac(macS); } catch (e) { throw new Error(`${be}/mac: ${(e as Error).message}`); }
  const bridge = rd(NetbackKeys.bridge) ?? 'xenbr0';
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`${be}/bridge: '${bridge}' is not an interface name (1-15 of [A-Za-z0-9_.-])`);
  const mtuS = rd(NetbackKeys.mtu);
  const mtu = mtuS === undefined ? ETH_DATA_LEN : decimal(mtuS);
  if (mtu < 68 || mtu > 65535) throw new Error(`${be}/mtu: '${mtuS}' is not in 68..65535`);
  const name = rd(NetbackKeys.vifname) ?? `vif${dev.domid}.${dev.devid}`;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new Error(`${be}/vifname: '${name}' is not an interface name`);
  // xen_net_read_rate: "%llu,%lu" bytes,usec; absent = unlimited.
  let creditBytes = 0;
  let creditUsec = 0;
  const rate = rd(NetbackKeys.rate);
  if (rate !== undefined) {
    const m = /^(\d+),(\d+)$/.exec(rate);
    if (!m) throw new Error(`${be}/rate: '${rate}' is not BYTES,USECS`);
    creditBytes = Number(m[1]);
    creditUsec = Number(m[2]);
    if (!Number.isSafeInteger(creditBytes) || creditUsec > 0xffff_ffff) throw new Error(`${be}/rate: '${rate}' out of range`);
    if (creditUsec === 0) creditBytes = 0; // a zero window: unlimited, as netback treats it
  }
  return { mac, bridge, mtu, name, creditBytes, creditUsec };
}

/** An RX queue for a frame: a flow hash over the IPv4 addresses and L4 ports (or the MACs). */
function flowHash(d: Uint8Array): number {
  let h = 0x811c9dc5;
  const mix = (from: number, to: number) => { for (let i = from; i < to && i < d.length; i++) h = Math.imul(h ^ d[i]!, 0x01000193); };
  if (d.length >= 34 && d[12] === 0x08 && d[13] === 0x00) {
    mix(26, 34);
    const ihl = (d[14]! & 15) * 4;
    if (d[23] === 6 || d[23] === 17) mix(14 + ihl, 14 + ihl + 4);
  } else mix(0, 12);
  return h >>> 0;
}

function decimal(s: string): number {
  if (!/^\d{1,10}$/.test(s)) return -1;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : -1;
}

