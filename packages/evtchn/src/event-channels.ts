// Event channels (Xen's xen/common/event_channel.c, written afresh): the port table of every
// domain, event_channel_op (hypercall 32), VIRQ delivery as the host's InterruptSink, SCHEDOP_poll
// on ports as its PollProvider, and a libxenevtchn-like API for dom0's TypeScript side
// (toolstack, xenstored, backends), whose ports live in a domain with domid 0 and no guest memory.
//
// Guest-facing results are 0 / a port / -errno exactly as Xen's; nothing here throws for guest
// input. Structs are read with -EFAULT, and a command's OUT struct is checked writable before any
// side effect (Xen copies out afterwards and leaves the side effects in place on -EFAULT).
import {
  DOMID_SELF, EVTCHN_FIFO_NR_CHANNELS, EVTCHN_FIFO_LINK_BITS, Errno, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi,
  EvtchnBindPirq, EvtchnBindVcpu, EvtchnBindVirq, EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnOp, EvtchnReset,
  EvtchnSend, EvtchnSetPriority, EvtchnStat, EvtchnStatus, EvtchnUnmask, Hypercall, NR_VIRQS, Virq, VcpuInfo,
} from '@tachyxx/abi';
import { defineTopic } from '@tachyxx/core';
import type { Domain, HostServices, Vcpu } from '@tachyxx/hypervisor';
import { structBuffer } from '@tachyxx/hypervisor';
import { Channel, ChannelState, EvtchnDomain, channelStateName, type ChannelStateName, type EventHandler } from './channel.js';
import { Dom0Ops, TwoLevelOps, type Delivery, type PortOps } from './port-ops.js';
import { FifoOps } from './fifo.js';
import { EvtchnStats } from './stats.js';

export type EvtchnVariant = '2-level' | 'fifo';

/**
 * d->nr_pirqs: a domU gets nr_static_irqs + extra_domU_irqs (Xen's default 32; Tachyxx has no
 * GSIs, so 32); dom0 (the hardware domain) gets extra_hwdom_irqs, here 256.
 */
export const NR_PIRQS_DOMU = 32;
export const NR_PIRQS_DOM0 = 256;

export interface EvtchnConfig {
  /** `2-level` only, or `fifo`: guests may switch to the FIFO ABI with EVTCHNOP_init_control. */
  variant: EvtchnVariant;
  /** Default highest port of a new domain (xl max_event_channels; Xen's max_evtchn_port). */
  maxEventChannels: number;
}
export const DEFAULT_EVTCHN_CONFIG: Readonly<EvtchnConfig> = Object.freeze({ variant: 'fifo', maxEventChannels: 1023 });

/** The domain id of dom0's TypeScript side. */
export const DOM0 = 0;

/** Published on the bus for every successful send (only when someone listens). */
export interface EvtchnSendEvent {
  time: number;
  domid: number;
  port: number;
  /** The receiving end (interdomain peer, or the sender itself for IPIs). */
  remoteDomid: number;
  remotePort: number;
}
export const EVTCHN_SEND = defineTopic<EvtchnSendEvent>('evtchn.send');

/** What EVTCHNOP_status reports, in TypeScript. */
export interface PortStatus {
  port: number;
  state: ChannelStateName;
  vcpu: number;
  /** unbound: who may bind; interdomain: the peer. */
  remoteDomid?: number;
  remotePort?: number;
  virq?: number;
  pirq?: number;
  pending: boolean;
  masked: boolean;
  priority: number;
}

type VirqType = 'vcpu' | 'domain' | 'global';
/** get_virq_type: per-vCPU VIRQs, VIRQ_ARGO per domain, the rest global (VIRQ_ARCH_*: global on Tachyxx). */
export function virqType(virq: number): VirqType {
  switch (virq) {
    case Virq.timer: case Virq.debug: case Virq.xenoprof: case Virq.xenpmu: return 'vcpu';
    case Virq.argo: return 'domain';
    default: return 'global';
  }
}

export class EventChannels implements Delivery {
  /** One marshalling target per op struct, reused by every call (an op reads it during the call only). */
  private readonly io = {
    EvtchnAllocUnbound: structBuffer(EvtchnAllocUnbound),
    EvtchnBindInterdomain: structBuffer(EvtchnBindInterdomain),
    EvtchnBindIpi: structBuffer(EvtchnBindIpi),
    EvtchnBindPirq: structBuffer(EvtchnBindPirq),
    EvtchnBindVcpu: structBuffer(EvtchnBindVcpu),
    EvtchnBindVirq: structBuffer(EvtchnBindVirq),
    EvtchnClose: structBuffer(EvtchnClose),
    EvtchnExpandArray: structBuffer(EvtchnExpandArray),
    EvtchnInitControl: structBuffer(EvtchnInitControl),
    EvtchnReset: structBuffer(EvtchnReset),
    EvtchnSend: structBuffer(EvtchnSend),
    EvtchnSetPriority: structBuffer(EvtchnSetPriority),
    EvtchnStatus: structBuffer(EvtchnStatus),
    EvtchnUnmask: structBuffer(EvtchnUnmask),
  };
  readonly stats: EvtchnStats;
  readonly config: Readonly<EvtchnConfig>;
  private readonly doms = new Map<number, EvtchnDomain>();
  private readonly twoLevel: TwoLevelOps;
  private readonly fifoOps: FifoOps;
  private readonly dom0Ops: Dom0Ops;
  /** VIRQ -> domid that handles the global VIRQ (default: dom0, the hardware domain). */
  private readonly globalVirqHandlers = new Map<number, number>();
  private readonly handlerQueue: Channel[] = [];
  private depth = 0;
  /** The vCPU whose hypercall is running (its time stamps events), or null. */
  private sender: Vcpu | null = null;
  private readonly cyclesPerNs: number;

  constructor(readonly host: HostServices, config: Partial<EvtchnConfig> = {}, stats: EvtchnStats = new EvtchnStats()) {
    this.config = Object.freeze({ ...DEFAULT_EVTCHN_CONFIG, ...config });
    const max = this.config.maxEventChannels;
    if (!Number.isInteger(max) || max < 1 || max >= EVTCHN_FIFO_NR_CHANNELS) throw new RangeError(`maxEventChannels ${max} out of range 1..${EVTCHN_FIFO_NR_CHANNELS - 1}`);
    if (this.config.variant !== '2-level' && this.config.variant !== 'fifo') throw new RangeError(`unknown event-channel variant '${this.config.variant}' (2-level, fifo)`);
    this.twoLevel = new TwoLevelOps(this);
    this.fifoOps = new FifoOps(this);
    this.dom0Ops = new Dom0Ops(this, EVTCHN_FIFO_NR_CHANNELS);
    this.cyclesPerNs = host.freqHz / 1e9;
    this.stats = stats;
    this.doms.set(DOM0, new EvtchnDomain(DOM0, null, EVTCHN_FIFO_NR_CHANNELS - 1, this.dom0Ops));
  }

  /**
   * Registers event_channel_op, the interrupt sink (VIRQs), the poll provider, the domain
   * lifecycle and vCPU-running hooks. `mountStats` (default true) mounts the stats at
   * `host.evtchn` (the host assembly mounts a component's stats itself).
   */
  install(opts: { mountStats?: boolean } = {}): this {
    const h = this.host;
    h.registerHypercall(Hypercall.event_channel_op, (v, a) => this.hypercall(v, a.a0, a.a1));
    h.setInterruptSink({ deliverVirq: (v, virq) => this.virqFromHost(v, virq) });
    h.setPollProvider({ poll: (v, ports, n) => this.poll(v, ports, n) });
    h.onDomainCreated((d) => this.domainCreated(d));
    h.onDomainDestroyed((d) => this.domainDestroyed(d));
    h.onVcpuRunning((v, now) => this.vcpuRunning(v, now));
    if (opts.mountStats ?? true) h.stats.mount('host.evtchn', this.stats);
    for (const d of h.domains.list()) this.domainCreated(d);
    return this;
  }

  // =====================================================================================
  // Domains
  // =====================================================================================

  private domainCreated(d: Domain<Vcpu>): void {
    if (this.doms.has(d.domid) && d.domid !== DOM0) return;
    this.doms.set(d.domid, new EvtchnDomain(d.domid, d, this.config.maxEventChannels, this.twoLevel));
    this.stats.domain(d.domid);
  }

  /** evtchn_destroy: every port closed (interdomain peers become unbound), global VIRQs released. */
  private domainDestroyed(d: Domain<Vcpu>): void {
    const ed = this.doms.get(d.domid);
    if (!ed || ed.domain !== d) return;
    this.entry(() => {
      ed.isDying = true;
      for (let port = ed.channels.length - 1; port > 0; port--) this.close(ed, port, false);
      for (const [virq, domid] of this.globalVirqHandlers) if (domid === d.domid) this.globalVirqHandlers.delete(virq);
      ed.fifo = null;
      this.doms.delete(d.domid);
    });
  }

  private dom(domid: number, current: EvtchnDomain | null): EvtchnDomain | undefined {
    return domid === DOMID_SELF ? current ?? undefined : this.doms.get(domid);
  }

  private privileged(d: EvtchnDomain): boolean { return d.domid === DOM0 || (d.domain?.privileged ?? false); }

  /** XSM_TARGET: a domain acts on itself, or a privileged one on anyone. */
  private mayTarget(src: EvtchnDomain, target: EvtchnDomain): boolean { return src === target || this.privileged(src); }

  // =====================================================================================
  // Ports
  // =====================================================================================

  /** get_free_port without allocating: the lowest usable free port, or -errno. */
  private freePort(d: EvtchnDomain): number {
    if (d.isDying) return -Errno.EINVAL;
    const limit = Math.min(d.maxPort, d.ops.maxEvtchns - 1);
    for (let port = 1; port <= limit; port++) {
      const ch = d.channels[port];
      if (!ch) return port;
      if (ch.state === ChannelState.free && !d.ops.isBusy(d, ch)) return port;
    }
    return -Errno.ENOSPC;
  }

  private allocate(d: EvtchnDomain, port: number): Channel {
    d.grow(port + 1);
    const ch = d.channels[port]!;
    d.active++;
    // evtchn_port_init (FIFO): default priority.
    ch.priority = 7;
    ch.pending = false;
    ch.notifyVcpu = 0;
    return ch;
  }

  /** evtchn_free. */
  private free(d: EvtchnDomain, ch: Channel): void {
    if (ch.usable) d.ops.clearPending(d, ch);
    d.active--;
    ch.state = ChannelState.free;
    ch.notifyVcpu = 0;
    ch.remote = null;
    ch.handler = null;
    ch.tsPending = false;
  }

  /** evtchn_port_set_pending. */
  private setPending(d: EvtchnDomain, vcpuId: number, ch: Channel): void {
    if (ch.usable) d.ops.setPending(d, vcpuId, ch);
  }

  // ----- the operations (current domain `ld`) -----

  private allocUnboundIn(ld: EvtchnDomain, dom: number, remoteDom: number): number {
    const d = this.dom(dom, ld);
    if (!d) return -Errno.ESRCH;
    const port = this.freePort(d);
    if (port < 0) return port;
    if (!this.mayTarget(ld, d)) return -Errno.EPERM;
    const ch = this.allocate(d, port);
    ch.state = ChannelState.unbound;
    ch.remoteDomid = remoteDom === DOMID_SELF ? ld.domid : remoteDom;
    return port;
  }

  private bindInterdomainIn(ld: EvtchnDomain, remoteDom: number, remotePort: number, handler: EventHandler | null = null): number {
    const rd = this.dom(remoteDom, ld);
    if (!rd) return -Errno.ESRCH;
    const lport = this.freePort(ld);
    if (lport < 0) return lport;
    const rch = rd.channel(remotePort);
    if (!rch) return -Errno.EINVAL;
    if (rch.state !== ChannelState.unbound || rch.remoteDomid !== ld.domid) return -Errno.EINVAL;
    const lch = this.allocate(ld, lport);
    lch.state = ChannelState.interdomain;
    lch.remote = rd;
    lch.remotePort = remotePort;
    lch.handler = handler;
    rch.state = ChannelState.interdomain;
    rch.remote = ld;
    rch.remotePort = lport;
    // Xen: notifications on the unbound remote port may have been lost; conservatively raise one.
    this.setPending(ld, lch.notifyVcpu, lch);
    return lport;
  }

  private bindVirqIn(d: EvtchnDomain, virq: number, vcpu: number): number {
    if (virq >= NR_VIRQS) return -Errno.EINVAL;
    const type = virqType(virq);
    if (type !== 'vcpu' && vcpu !== 0) return -Errno.EINVAL;
    if (!d.vcpu(vcpu)) return -Errno.ENOENT;
    if (type === 'global' && (this.globalVirqHandlers.get(virq) ?? DOM0) !== d.domid) return -Errno.EBUSY;
    if (d.virqs[vcpu]![virq]) return -Errno.EEXIST;
    const port = this.freePort(d);
    if (port < 0) return port;
    const ch = this.allocate(d, port);
    ch.state = ChannelState.virq;
    ch.notifyVcpu = vcpu;
    ch.virq = virq;
    d.virqs[vcpu]![virq] = port;
    return port;
  }

  private bindIpiIn(d: EvtchnDomain, vcpu: number): number {
    if (!d.vcpu(vcpu)) return -Errno.ENOENT;
    const port = this.freePort(d);
    if (port < 0) return port;
    const ch = this.allocate(d, port);
    ch.state = ChannelState.ipi;
    ch.notifyVcpu = vcpu;
    return port;
  }

  /**
   * evtchn_bind_pirq (a PV guest): -EINVAL outside 0..nr_pirqs-1, -EPERM unless the pirq was
   * permitted (pirq_access_permitted), -EEXIST when already bound; the port notifies vCPU 0.
   */
  private bindPirqIn(d: EvtchnDomain, pirq: number): number {
    const nr = d.domid === DOM0 ? NR_PIRQS_DOM0 : NR_PIRQS_DOMU;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= nr) return -Errno.EINVAL;
    if (!d.pirqsPermitted.has(pirq)) return -Errno.EPERM;
    if (d.pirqPorts.has(pirq)) return -Errno.EEXIST;
    const port = this.freePort(d);
    if (port < 0) return port;
    const ch = this.allocate(d, port);
    ch.state = ChannelState.pirq;
    ch.pirq = pirq;
    ch.notifyVcpu = 0;
    d.pirqPorts.set(pirq, port);
    return port;
  }

  /** evtchn_close. `guest`: a guest may not close a dom0 handler's port (a Xen-consumer channel). */
  private close(d1: EvtchnDomain, port: number, guest: boolean): number {
    const ch = d1.channel(port);
    if (!ch) return -Errno.EINVAL;
    if (guest && ch.handler && d1.domid !== DOM0) return -Errno.EINVAL;
    switch (ch.state) {
      case ChannelState.free:
      case ChannelState.reserved:
        return -Errno.EINVAL;
      case ChannelState.unbound:
      case ChannelState.ipi:
        break;
      case ChannelState.pirq:
        if (d1.pirqPorts.get(ch.pirq) === port) d1.pirqPorts.delete(ch.pirq);
        break;
      case ChannelState.virq: {
        const vid = virqType(ch.virq) !== 'vcpu' ? 0 : ch.notifyVcpu;
        const table = d1.virqs[vid];
        if (table && table[ch.virq] === port) table[ch.virq] = 0;
        break;
      }
      case ChannelState.interdomain: {
        const d2 = ch.remote!;
        const ch2 = d2.channels[ch.remotePort]!;
        this.free(d1, ch);
        ch2.state = ChannelState.unbound;
        ch2.remoteDomid = d1.domid;
        ch2.remote = null;
        return 0;
      }
      default:
        return -Errno.EINVAL;
    }
    this.free(d1, ch);
    return 0;
  }

  /** evtchn_send. */
  private send(ld: EvtchnDomain, port: number): number {
    const ch = ld.channel(port);
    if (!ch) return -Errno.EINVAL;
    let rd: EvtchnDomain, rch: Channel;
    switch (ch.state) {
      case ChannelState.interdomain:
        rd = ch.remote!;
        rch = rd.channels[ch.remotePort]!;
        break;
      case ChannelState.ipi:
        rd = ld;
        rch = ch;
        break;
      case ChannelState.unbound:
        return 0; // silently dropped
      default:
        return -Errno.EINVAL;
    }
    this.stats.domain(ld.domid).sends.value++;
    this.stats.total.sends.value++;
    const bus = this.host.bus;
    if (bus.hasSubscribers(EVTCHN_SEND)) bus.publish(EVTCHN_SEND, { time: this.now(), domid: ld.domid, port, remoteDomid: rd.domid, remotePort: rch.port });
    this.setPending(rd, rch.notifyVcpu, rch);
    return 0;
  }

  private statusOf(d: EvtchnDomain, ch: Channel): PortStatus {
    const s: PortStatus = {
      port: ch.port, state: channelStateName(ch.state), vcpu: ch.notifyVcpu,
      pending: ch.usable && d.ops.isPending(d, ch), masked: !ch.usable || d.ops.isMasked(d, ch), priority: ch.priority,
    };
    if (ch.state === ChannelState.unbound) s.remoteDomid = ch.remoteDomid;
    if (ch.state === ChannelState.interdomain) { s.remoteDomid = ch.remote!.domid; s.remotePort = ch.remotePort; }
    if (ch.state === ChannelState.virq) s.virq = ch.virq;
    if (ch.state === ChannelState.pirq) s.pirq = ch.pirq;
    return s;
  }

  private bindVcpuIn(d: EvtchnDomain, port: number, vcpu: number): number {
    if (!d.vcpu(vcpu)) return -Errno.ENOENT;
    const ch = d.channel(port);
    if (!ch) return -Errno.EINVAL;
    if (ch.handler) return -Errno.EINVAL;
    switch (ch.state) {
      case ChannelState.virq:
        if (virqType(ch.virq) === 'vcpu') return -Errno.EINVAL;
        ch.notifyVcpu = vcpu;
        return 0;
      case ChannelState.unbound:
      case ChannelState.interdomain:
      case ChannelState.pirq: // Xen relinks the pirq to the new vCPU (pirq_set_affinity)
        ch.notifyVcpu = vcpu;
        return 0;
      default:
        return -Errno.EINVAL;
    }
  }

  private unmask(d: EvtchnDomain, port: number): number {
    const ch = d.channel(port);
    if (!ch) return -Errno.EINVAL;
    if (ch.usable) d.ops.unmask(d, ch);
    return 0;
  }

  /** evtchn_reset (never preempted here, so reset_cont always finds no reset in progress: -EBUSY). */
  private reset(ld: EvtchnDomain, d: EvtchnDomain, resuming: boolean): number {
    if (d !== ld && !((d.domain?.pauseCount ?? 0) > 0)) return -Errno.EINVAL;
    if (resuming) return -Errno.EBUSY;
    for (let port = 1; port < d.channels.length && d.active > 0; port++) this.close(d, port, true);
    if (d.fifo) {
      d.fifo = null;
      d.ops = this.twoLevel;
    }
    return 0;
  }

  private setPriority(d: EvtchnDomain, port: number, priority: number): number {
    const ch = d.channel(port);
    if (!ch) return -Errno.EINVAL;
    if (!d.ops.setPriority) return -Errno.ENOSYS;
    if (!ch.usable) return -Errno.EACCES;
    return d.ops.setPriority(d, ch, priority);
  }

  // =====================================================================================
  // Delivery (the port ops call back here)
  // =====================================================================================

  /** vcpu_mark_events_pending: evtchn_upcall_pending 0 -> 1 raises the upcall (host.sendUpcall). */
  markEventsPending(d: EvtchnDomain, vcpuId: number): void {
    const v = d.vcpu(vcpuId);
    if (!v) return;
    const vi = v.vcpuInfoGpa;
    if (vi) {
      const b = d.domain!.access.readU8(vi + VcpuInfo.evtchn_upcall_pending.offset);
      if (b > 0 && v.upcallPending) return;
    } else if (v.upcallPending) return;
    this.host.sendUpcall(v);
    const ds = this.stats.domain(d.domid);
    ds.upcalls.value++;
    this.stats.total.upcalls.value++;
    if (v.loadedOn >= 0) {
      // Already running: it takes the interrupt at its next instruction.
      ds.latency.sample(this.host.costs.virtualIrq);
      this.stats.total.latency.sample(this.host.costs.virtualIrq);
    } else if (Number.isNaN(d.upcallSince[vcpuId]!)) {
      d.upcallSince[vcpuId] = this.now();
    }
  }

  /** evtchn_check_pollers: wake vCPUs polling this port (or several ports). */
  checkPollers(d: EvtchnDomain, port: number): void {
    if (d.pollers.size === 0) return;
    for (const [vid, polled] of d.pollers) {
      const v = d.vcpus[vid];
      if (!v || !v.blocked) {
        d.pollers.delete(vid); // it woke up for another reason since it polled
        continue;
      }
      if (polled <= 0 || polled === port) {
        d.pollers.delete(vid);
        this.host.wakeVcpu(v);
      }
    }
  }

  delivered(d: EvtchnDomain): void {
    this.stats.domain(d.domid).deliveries.value++;
    this.stats.total.deliveries.value++;
  }

  runHandler(_d: EvtchnDomain, ch: Channel): void {
    this.handlerQueue.push(ch);
    if (this.depth === 0) this.drain();
  }

  private drain(): void {
    while (this.handlerQueue.length) {
      const ch = this.handlerQueue.shift()!;
      if (!ch.tsPending || !ch.handler) continue;
      ch.tsPending = false;
      ch.handler(ch.port);
    }
  }

  /** Runs an operation; dom0 handlers it triggered run after it, never inside it. */
  private entry<T>(fn: () => T): T {
    this.depth++;
    let r: T;
    try {
      r = fn();
    } finally {
      this.depth--;
    }
    if (this.depth === 0) this.drain();
    return r;
  }

  private now(): number { return this.sender ? this.host.nowFor(this.sender) : this.host.clock.now; }

  private vcpuRunning(v: Vcpu, now: number): void {
    const d = this.doms.get(v.domain.domid);
    if (!d || d.domain !== v.domain) return;
    const t0 = d.upcallSince[v.id];
    if (t0 === undefined || Number.isNaN(t0)) return;
    d.upcallSince[v.id] = NaN;
    const cycles = Math.max(0, Math.round((now - t0) * this.cyclesPerNs));
    this.stats.domain(d.domid).latency.sample(cycles);
    this.stats.total.latency.sample(cycles);
  }

  // =====================================================================================
  // Host hooks: VIRQs and SCHEDOP_poll
  // =====================================================================================

  private virqFromHost(v: Vcpu, virq: number): boolean {
    const d = this.doms.get(v.domain.domid);
    if (!d || d.domain !== v.domain) return false;
    return this.entry(() => (virqType(virq) === 'vcpu' ? this.sendVcpuVirq(d, v.id, virq) : this.sendDomainVirq(d, virq)));
  }

  /** send_guest_vcpu_virq: false when the VIRQ is not bound on that vCPU. */
  private sendVcpuVirq(d: EvtchnDomain, vcpuId: number, virq: number): boolean {
    const port = d.virqs[vcpuId]?.[virq] ?? 0;
    if (!port) return false;
    this.countVirq(d);
    this.setPending(d, vcpuId, d.channels[port]!);
    return true;
  }

  /** send_guest_domain_virq: through vCPU 0's binding, to the channel's notify vCPU. */
  private sendDomainVirq(d: EvtchnDomain, virq: number): boolean {
    const port = d.virqs[0]?.[virq] ?? 0;
    if (!port) return false;
    const ch = d.channels[port]!;
    this.countVirq(d);
    this.setPending(d, ch.notifyVcpu, ch);
    return true;
  }

  private countVirq(d: EvtchnDomain): void {
    this.stats.domain(d.domid).virqs.value++;
    this.stats.total.virqs.value++;
  }

  /** SCHEDOP_poll's port checks (do_poll / evtchn_port_poll): -errno, 1 = one is pending, 0 = block. */
  private poll(v: Vcpu, portsGpa: number, nrPorts: number): number {
    const d = this.doms.get(v.domain.domid);
    if (!d || d.domain !== v.domain) return 0;
    const acc = v.domain.access;
    let port = 0;
    for (let i = 0; i < nrPorts; i++) {
      port = acc.readU32(portsGpa + 4 * i);
      if (port < 0) return -Errno.EFAULT;
      const ch = d.channel(port);
      if (!ch || !ch.usable) return -Errno.EINVAL;
      if (d.ops.isPending(d, ch)) return 1;
    }
    d.pollers.set(v.id, nrPorts === 1 ? port : -1);
    return 0;
  }

  // =====================================================================================
  // event_channel_op (hypercall 32)
  // =====================================================================================

  hypercall(v: Vcpu, cmd: number, arg: number): number {
    const ld = this.doms.get(v.domain.domid);
    if (!ld || ld.domain !== v.domain) return -Errno.ESRCH;
    const prev = this.sender;
    this.sender = v;
    try {
      return this.entry(() => this.op(ld, v.domain, cmd, arg));
    } finally {
      this.sender = prev;
    }
  }

  private op(ld: EvtchnDomain, dom: Domain<Vcpu>, cmd: number, arg: number): number {
    const acc = dom.access;
    const EFAULT = -Errno.EFAULT;
    const writable = (size: number) => acc.checkRange(arg, size, true);
    switch (cmd) {
      case EvtchnOp.alloc_unbound: {
        const s = acc.readStruct(arg, EvtchnAllocUnbound, this.io.EvtchnAllocUnbound);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnAllocUnbound.size)) return EFAULT;
        const port = this.allocUnboundIn(ld, s.dom, s.remote_dom);
        if (port < 0) return port;
        acc.writeField(arg, EvtchnAllocUnbound, 'port', port);
        return 0;
      }
      case EvtchnOp.bind_interdomain: {
        const s = acc.readStruct(arg, EvtchnBindInterdomain, this.io.EvtchnBindInterdomain);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnBindInterdomain.size)) return EFAULT;
        const port = this.bindInterdomainIn(ld, s.remote_dom, s.remote_port);
        if (port < 0) return port;
        acc.writeField(arg, EvtchnBindInterdomain, 'local_port', port);
        return 0;
      }
      case EvtchnOp.bind_virq: {
        const s = acc.readStruct(arg, EvtchnBindVirq, this.io.EvtchnBindVirq);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnBindVirq.size)) return EFAULT;
        const port = this.bindVirqIn(ld, s.virq, s.vcpu);
        if (port < 0) return port;
        acc.writeField(arg, EvtchnBindVirq, 'port', port);
        return 0;
      }
      case EvtchnOp.bind_ipi: {
        const s = acc.readStruct(arg, EvtchnBindIpi, this.io.EvtchnBindIpi);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnBindIpi.size)) return EFAULT;
        const port = this.bindIpiIn(ld, s.vcpu);
        if (port < 0) return port;
        acc.writeField(arg, EvtchnBindIpi, 'port', port);
        return 0;
      }
      case EvtchnOp.bind_pirq: {
        const s = acc.readStruct(arg, EvtchnBindPirq, this.io.EvtchnBindPirq);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnBindPirq.size)) return EFAULT;
        const port = this.bindPirqIn(ld, s.pirq);
        if (port < 0) return port;
        acc.writeField(arg, EvtchnBindPirq, 'port', port);
        return 0;
      }
      case EvtchnOp.close: {
        const s = acc.readStruct(arg, EvtchnClose, this.io.EvtchnClose);
        if (typeof s === 'number') return s;
        return this.close(ld, s.port, true);
      }
      case EvtchnOp.send: {
        const s = acc.readStruct(arg, EvtchnSend, this.io.EvtchnSend);
        if (typeof s === 'number') return s;
        return this.send(ld, s.port);
      }
      case EvtchnOp.status: {
        const s = acc.readStruct(arg, EvtchnStatus, this.io.EvtchnStatus);
        if (typeof s === 'number') return s;
        if (!writable(EvtchnStatus.size)) return EFAULT;
        const d = this.dom(s.dom, ld);
        if (!d) return -Errno.ESRCH;
        const ch = d.channel(s.port);
        if (!ch) return -Errno.EINVAL;
        if (!this.mayTarget(ld, d)) return -Errno.EPERM;
        let status: number = EvtchnStat.closed;
        switch (ch.state) {
          case ChannelState.unbound:
            status = EvtchnStat.unbound;
            acc.writeField(arg, EvtchnStatus, 'unbound_dom', ch.remoteDomid);
            break;
          case ChannelState.interdomain:
            status = EvtchnStat.interdomain;
            acc.writeField(arg, EvtchnStatus, 'interdomain_dom', ch.remote!.domid);
            acc.writeField(arg, EvtchnStatus, 'interdomain_port', ch.remotePort);
            break;
          case ChannelState.virq:
            status = EvtchnStat.virq;
            acc.writeField(arg, EvtchnStatus, 'virq', ch.virq);
            break;
          case ChannelState.ipi:
            status = EvtchnStat.ipi;
            break;
          case ChannelState.pirq:
            status = EvtchnStat.pirq;
            acc.writeField(arg, EvtchnStatus, 'pirq', ch.pirq);
            break;
        }
        acc.writeField(arg, EvtchnStatus, 'status', status);
        acc.writeField(arg, EvtchnStatus, 'vcpu', ch.notifyVcpu);
        return 0;
      }
      case EvtchnOp.bind_vcpu: {
        const s = acc.readStruct(arg, EvtchnBindVcpu, this.io.EvtchnBindVcpu);
        if (typeof s === 'number') return s;
        return this.bindVcpuIn(ld, s.port, s.vcpu);
      }
      case EvtchnOp.unmask: {
        const s = acc.readStruct(arg, EvtchnUnmask, this.io.EvtchnUnmask);
        if (typeof s === 'number') return s;
        return this.unmask(ld, s.port);
      }
      case EvtchnOp.reset:
      case EvtchnOp.reset_cont: {
        const s = acc.readStruct(arg, EvtchnReset, this.io.EvtchnReset);
        if (typeof s === 'number') return s;
        const d = this.dom(s.dom, ld);
        if (!d) return -Errno.ESRCH;
        if (!this.mayTarget(ld, d)) return -Errno.EPERM;
        return this.reset(ld, d, cmd === EvtchnOp.reset_cont);
      }
      case EvtchnOp.init_control: {
        const s = acc.readStruct(arg, EvtchnInitControl, this.io.EvtchnInitControl);
        if (typeof s === 'number') return s;
        if (this.config.variant !== 'fifo') return -Errno.EOPNOTSUPP; // Xen built without CONFIG_EVTCHN_FIFO
        if (!writable(EvtchnInitControl.size)) return EFAULT;
        const rc = this.fifoOps.initControl(ld, s.vcpu, s.control_gfn, s.offset, (ch) => ch.usable && this.twoLevel.isPending(ld, ch));
        if (rc < 0) return rc;
        acc.writeField(arg, EvtchnInitControl, 'link_bits', EVTCHN_FIFO_LINK_BITS);
        return 0;
      }
      case EvtchnOp.expand_array: {
        const s = acc.readStruct(arg, EvtchnExpandArray, this.io.EvtchnExpandArray);
        if (typeof s === 'number') return s;
        if (this.config.variant !== 'fifo') return -Errno.EOPNOTSUPP;
        return this.fifoOps.expandArray(ld, s.array_gfn);
      }
      case EvtchnOp.set_priority: {
        const s = acc.readStruct(arg, EvtchnSetPriority, this.io.EvtchnSetPriority);
        if (typeof s === 'number') return s;
        return this.setPriority(ld, s.port, s.priority);
      }
      default:
        return -Errno.ENOSYS;
    }
  }

  // =====================================================================================
  // The toolstack's and dom0's TypeScript API
  // =====================================================================================

  private dom0(): EvtchnDomain { return this.doms.get(DOM0)!; }

  /**
   * EVTCHNOP_alloc_unbound issued by the toolstack (privileged): a port of `domid` that
   * `remoteDomid` may bind (e.g. the xenstore or console port advertised in start_info).
   * Returns the port or -ESRCH / -ENOSPC / -EINVAL (dying).
   */
  allocUnbound(domid: number, remoteDomid: number): number {
    return this.entry(() => this.allocUnboundIn(this.dom0(), domid, remoteDomid));
  }

  /**
   * xenevtchn_bind_interdomain: binds a new dom0 port to `remotePort` of `remoteDomid` (which must
   * be unbound and allocated for dom0). `handler` runs on every event from the guest (after the
   * hypercall that sent it). As in Xen, the bind itself raises one event on the new port.
   * Returns dom0's port or -errno.
   */
  bindInterdomain(remoteDomid: number, remotePort: number, handler: EventHandler): number {
    return this.entry(() => this.bindInterdomainIn(this.dom0(), remoteDomid, remotePort, handler));
  }

  /** xenevtchn_bind_unbound_port: a dom0 port that `remoteDomid` binds with EVTCHNOP_bind_interdomain. */
  bindUnbound(remoteDomid: number, handler: EventHandler): number {
    return this.entry(() => {
      const d0 = this.dom0();
      const port = this.allocUnboundIn(d0, DOM0, remoteDomid);
      if (port > 0) d0.channels[port]!.handler = handler;
      return port;
    });
  }

  /** Replaces the handler of a dom0 port (an event that waited for one runs it now). */
  setHandler(port: number, handler: EventHandler | null): number {
    return this.entry(() => {
      const d0 = this.dom0();
      const ch = d0.channel(port);
      if (!ch || !ch.usable) return -Errno.EINVAL;
      ch.handler = handler;
      if (handler && ch.tsPending) this.runHandler(d0, ch);
      return 0;
    });
  }

  /** xenevtchn_notify: EVTCHNOP_send from dom0's `port`. */
  notify(port: number): number {
    return this.entry(() => this.send(this.dom0(), port));
  }

  /** xenevtchn_unbind: EVTCHNOP_close of dom0's `port` (the guest's end becomes unbound for dom0). */
  unbind(port: number): number {
    return this.entry(() => this.close(this.dom0(), port, false));
  }

  /** Closes `port` of `domid` as the toolstack would (not allowed from a guest for dom0 ports). */
  closePort(domid: number, port: number): number {
    const d = this.doms.get(domid);
    if (!d) return -Errno.ESRCH;
    return this.entry(() => this.close(d, port, false));
  }

  /** XEN_DOMCTL_set_max_evtchn: the highest port `domid` may allocate (ports in use stay). */
  setMaxEventChannels(domid: number, maxPort: number): number {
    const d = this.doms.get(domid);
    if (!d) return -Errno.ESRCH;
    if (!Number.isInteger(maxPort) || maxPort < 0) return -Errno.EINVAL;
    d.maxPort = Math.min(maxPort, 0x7fffffff);
    return 0;
  }

  /** The highest port `domid` may allocate, or -ESRCH. */
  maxEventChannels(domid: number): number {
    return this.doms.get(domid)?.maxPort ?? -Errno.ESRCH;
  }

  /** XEN_DOMCTL_set_virq_handler: `domid` takes over the global `virq` (default handler: dom0). */
  setGlobalVirqHandler(domid: number, virq: number): number {
    if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS || virqType(virq) !== 'global') return -Errno.EINVAL;
    const d = this.doms.get(domid);
    if (!d || d.isDying) return -Errno.EINVAL;
    const cur = this.globalVirqHandlers.get(virq) ?? DOM0;
    if (cur !== domid) {
      const hd = this.doms.get(cur);
      if (hd && hd.virqs[0]![virq]) return -Errno.EBUSY;
    }
    this.globalVirqHandlers.set(virq, domid);
    return 0;
  }

  /**
   * Sends a VIRQ to a domain as Xen would: a per-vCPU VIRQ (timer, debug) to vCPU `vcpu`, any other
   * through vCPU 0's binding. False when it is not bound (the VIRQ is dropped, as in Xen).
   */
  sendVirq(domid: number, virq: number, vcpu = 0): boolean {
    const d = this.doms.get(domid);
    if (!d || !Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return false;
    return this.entry(() => (virqType(virq) === 'vcpu' ? this.sendVcpuVirq(d, vcpu, virq) : this.sendDomainVirq(d, virq)));
  }

  /**
   * Lets `domid` bind physical IRQ `pirq` (irq_permit_access: what PHYSDEVOP_map_pirq and
   * XEN_DOMCTL_irq_permission do), or with `allow` false takes it back (a bound port is closed,
   * as unmap_domain_pirq does). Returns 0, -ESRCH or -EINVAL (out of 0..nr_pirqs-1).
   */
  permitPirq(domid: number, pirq: number, allow = true): number {
    const d = this.doms.get(domid);
    if (!d) return -Errno.ESRCH;
    const nr = domid === DOM0 ? NR_PIRQS_DOM0 : NR_PIRQS_DOMU;
    if (!Number.isInteger(pirq) || pirq < 0 || pirq >= nr) return -Errno.EINVAL;
    if (allow) { d.pirqsPermitted.add(pirq); return 0; }
    d.pirqsPermitted.delete(pirq);
    const port = d.pirqPorts.get(pirq);
    if (port !== undefined) this.entry(() => this.close(d, port, false));
    return 0;
  }

  /** The port `pirq` of `domid` is bound to, or 0 (unbound / no such domain). */
  pirqPort(domid: number, pirq: number): number {
    return this.doms.get(domid)?.pirqPorts.get(pirq) ?? 0;
  }

  /**
   * send_guest_pirq: raises the port bound to `pirq` on its notify vCPU. False when the pirq is
   * not bound (dropped, as Xen does for a PV guest's unbound pirq).
   */
  sendPirq(domid: number, pirq: number): boolean {
    const d = this.doms.get(domid);
    if (!d || d.isDying) return false;
    const port = d.pirqPorts.get(pirq);
    if (port === undefined) return false;
    const ch = d.channels[port]!;
    return this.entry(() => { this.setPending(d, ch.notifyVcpu, ch); return true; });
  }

  /** send_global_virq: to the domain handling `virq` (dom0 by default: console input, ...). */
  sendGlobalVirq(virq: number): boolean {
    if (virqType(virq) !== 'global') return false;
    return this.sendVirq(this.globalVirqHandlers.get(virq) ?? DOM0, virq);
  }

  // ----- inspection (tests, xl, debug keys) -----

  /** The ABI `domid` uses now: '2-level', 'fifo' (after init_control), or 'dom0'. */
  abi(domid: number): PortOps['name'] | null { return this.doms.get(domid)?.ops.name ?? null; }

  /** A port's state, or -ESRCH / -EINVAL. */
  status(domid: number, port: number): PortStatus | number {
    const d = this.doms.get(domid);
    if (!d) return -Errno.ESRCH;
    const ch = d.channel(port);
    if (!ch) return -Errno.EINVAL;
    return this.statusOf(d, ch);
  }

  /** Every port in use (Xen's 'e' debug key). */
  ports(domid: number): PortStatus[] {
    const d = this.doms.get(domid);
    if (!d) return [];
    return d.channels.filter((ch) => ch.state > ChannelState.reserved).map((ch) => this.statusOf(d, ch));
  }

  isPending(domid: number, port: number): boolean {
    const s = this.status(domid, port);
    return typeof s !== 'number' && s.pending;
  }

  /** Ports in use by `domid` (active_evtchns). */
  activePorts(domid: number): number { return this.doms.get(domid)?.active ?? 0; }
}

/** Creates the event-channel component and installs it into `host` (hypercall 32 and the hooks). */
export function installEventChannels(host: HostServices, config: Partial<EvtchnConfig> = {}): EventChannels {
  return new EventChannels(host, config).install();
}

