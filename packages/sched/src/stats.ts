import { Counter, StatGroup } from '@tachyxx/core';

/** Wake-up latency buckets, ns: 1 us .. 100 ms. */
export const WAKE_LATENCY_BOUNDS_NS: readonly number[] = [1_000, 10_000, 100_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 30_000_000, 100_000_000];

/** The scheduler's stats, mounted by the plugin at `host.sched`. */
export class SchedStats extends StatGroup {
  readonly schedules = this.counter('schedules', 'count', 'calls to schedule() (scheduling decisions)');
  readonly contextSwitches = this.counter('contextSwitches', 'count', 'decisions that changed what a pCPU runs (idle included)');
  readonly migrations = this.counter('migrations', 'count', 'vCPUs switched in on a different pCPU than they last ran on');
  readonly wakeups = this.counter('wakeups', 'count', 'blocked vCPUs woken');
  readonly yields = this.counter('yields', 'count', 'SCHEDOP_yield calls of running vCPUs');
  readonly reschedules = this.counter('rescheduleRequests', 'count', 'reschedule requests raised to the hypervisor (SCHEDULE_SOFTIRQ)');
  readonly parks = this.counter('parks', 'count', 'vCPUs parked by a cap (credit)');
  readonly affinityBroken = this.counter('affinityBroken', 'count', 'hard affinities reset because a pool move left them empty');
  readonly wakeLatency = this.histogram('wakeLatency', 'ns', 'time from wake to first run', WAKE_LATENCY_BOUNDS_NS);
  readonly domains = this.group('domains');

  /** The run-time counter of a domain (ns it ran, charged at every switch-out), created on first use. */
  domainRuntime(domid: number): Counter {
    const g = this.domains.group(`d${domid}`);
    const existing = g.lookup('runtime');
    return existing instanceof Counter ? existing : g.counter('runtime', 'ns', `simulated ns domain ${domid}'s vCPUs ran`);
  }
}
