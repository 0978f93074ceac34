// Event-channel statistics, per domain and in total, in core's stats tree (mounted at `host.evtchn`).
import { InstanceGroups, StatGroup, type Counter, type Histogram } from '@tachyxx/core';

/** Latency buckets in simulated cycles. */
export const LATENCY_BOUNDS = [0, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000] as const;

export class EvtchnCounters extends StatGroup {
  readonly sends: Counter = this.counter('sends', 'count', 'successful EVTCHNOP_send calls (and dom0-side notifies) by this domain');
  readonly deliveries: Counter = this.counter('deliveries', 'event', 'events that made a port of this domain pending (or ran a dom0 handler)');
  readonly upcalls: Counter = this.counter('upcalls', 'event', 'upcalls raised on this domain\'s vCPUs (evtchn_upcall_pending 0 -> 1)');
  readonly virqs: Counter = this.counter('virqs', 'event', 'VIRQs delivered through a bound port');
  readonly latency: Histogram = this.histogram('latency', 'cycle',
    'send -> handler: cycles from the event to the target vCPU next running (a vCPU already running: the virtual-IRQ cost)', LATENCY_BOUNDS);
}

export class EvtchnStats extends StatGroup {
  readonly total: EvtchnCounters = this.mount('total', new EvtchnCounters());
  readonly domains: StatGroup = this.group('domains');
  private readonly byDomid = new InstanceGroups(this.domains, 'd', () => new EvtchnCounters());

  /** Counters of `domid` (`domains.d<domid>`, kept across destroy/re-create of the same domid). */
  domain(domid: number): EvtchnCounters {
    return this.byDomid.get(domid);
  }
}
