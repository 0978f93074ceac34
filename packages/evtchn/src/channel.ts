// An event channel (Xen's struct evtchn) and a domain's event-channel state (the evtchn parts of
// struct domain and struct vcpu). Ports index `channels`; the table grows in buckets of
// EVTCHNS_PER_BUCKET, and a port below its length is "valid" (port_is_valid) even when free.
import { EVTCHN_FIFO_PRIORITY_DEFAULT, NR_VIRQS } from '@tachyxx/abi';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import type { PortOps } from './port-ops.js';
import type { FifoDomain } from './fifo.js';

/** Channel states, in Xen's order (ECS_*): usable channels are those above `reserved`. */
export const ChannelState = { free: 0, reserved: 1, unbound: 2, interdomain: 3, pirq: 4, virq: 5, ipi: 6 } as const;
export type ChannelStateName = keyof typeof ChannelState;
const stateNames = Object.keys(ChannelState) as ChannelStateName[];
export const channelStateName = (s: number): ChannelStateName => stateNames[s] ?? 'free';

/** Xen's EVTCHNS_PER_BUCKET on a 64-bit build (a page of 64-byte struct evtchn). */
export const EVTCHNS_PER_BUCKET = 64;

/** A dom0-side (TypeScript) endpoint's notification function. */
export type EventHandler = (port: number) => void;

export class Channel {
  state: number = ChannelState.free;
  /** vCPU that gets the upcall (notify_vcpu_id). */
  notifyVcpu = 0;
  /** unbound: the domain allowed to bind to it. */
  remoteDomid = 0;
  /** interdomain: the peer. */
  remote: EvtchnDomain | null = null;
  remotePort = 0;
  /** virq: which. */
  virq = 0;
  /** pirq: which (Xen's u.pirq.irq). */
  pirq = 0;
  /** FIFO priority (0 highest .. 15 lowest). */
  priority: number = EVTCHN_FIFO_PRIORITY_DEFAULT;
  /** FIFO: pending while its event word was not mapped yet (re-raised by expand_array). */
  pending = false;
  /** FIFO: the queue it was last linked on (Xen's fifo_lastq; zeroed like xzalloc). */
  lastVcpu = 0;
  lastPriority = 0;
  /** Dom0-side TypeScript endpoint: called on each event. */
  handler: EventHandler | null = null;
  /** Dom0 side: an event is waiting for its handler. */
  tsPending = false;

  constructor(readonly port: number) {}

  get usable(): boolean { return this.state > ChannelState.reserved; }
}

/** A domain's event channels. `domain` is null for the dom0 TypeScript side (no guest memory). */
export class EvtchnDomain {
  channels: Channel[] = [];
  /** Highest port the domain may use (Xen's max_evtchn_port; xl max_event_channels). */
  maxPort: number;
  /** Channels in use (active_evtchns). */
  active = 0;
  isDying = false;
  ops: PortOps;
  fifo: FifoDomain | null = null;
  /** virq_to_evtchn per vCPU (the dom0 side has one table). */
  readonly virqs: Int32Array[];
  /** Physical IRQs this domain may bind (irq_permit_access, granted by PHYSDEVOP_map_pirq / the toolstack). */
  readonly pirqsPermitted = new Set<number>();
  /** pirq -> bound port (Xen's pirq->evtchn; absent = unbound). */
  readonly pirqPorts = new Map<number, number>();
  /** vCPU id -> the port it polls (-1 = any of several ports, Xen's poll_evtchn). */
  readonly pollers = new Map<number, number>();
  /** vCPU id -> simulated ns of the first unserviced upcall (NaN: none): latency accounting. */
  readonly upcallSince: Float64Array;

  constructor(readonly domid: number, readonly domain: Domain<Vcpu> | null, maxPort: number, ops: PortOps) {
    this.maxPort = maxPort;
    this.ops = ops;
    const n = Math.max(1, domain?.vcpus.length ?? 1);
    this.virqs = Array.from({ length: n }, () => new Int32Array(NR_VIRQS));
    this.upcallSince = new Float64Array(n).fill(NaN);
    this.grow(EVTCHNS_PER_BUCKET);
    this.channels[0]!.state = ChannelState.reserved;
  }

  get vcpus(): readonly Vcpu[] { return this.domain?.vcpus ?? []; }

  /** domain_vcpu(): the vCPU or undefined. */
  vcpu(id: number): Vcpu | undefined { return Number.isInteger(id) && id >= 0 ? this.vcpus[id] : undefined; }

  /** port_is_valid + evtchn_from_port. */
  channel(port: number): Channel | undefined {
    return Number.isInteger(port) && port >= 0 && port < this.channels.length ? this.channels[port] : undefined;
  }

  /** Makes ports below `n` valid (whole buckets). */
  grow(n: number): void {
    const want = Math.ceil(n / EVTCHNS_PER_BUCKET) * EVTCHNS_PER_BUCKET;
    for (let p = this.channels.length; p < want; p++) this.channels.push(new Channel(p));
  }
}
