// The sched component's plugin entries, one per variant. The host config picks one
// (`components: { sched: { variant: credit, tslice_ms: 30 } }`); the hypervisor resolves
// SCHED_CORE, sets `onReschedule`, and drives it (see README).
import { bindSingleton, definePlugin, defineToken, p, resolve, TOKENS } from '@tachyxx/core';
import { SchedCore } from './core.js';
import type { SchedVariant } from './types.js';

/** The scheduler core of this host (Pool-0 runs the selected variant on every pCPU). */
export const SCHED_CORE = defineToken<SchedCore>('sched.Core');

const creditParams = {
  tslice_ms: p.uint(30, 'time slice and accounting period, ms (Xen sched_credit_tslice_ms)', { min: 1, max: 1000 }),
  ratelimit_us: p.uint(1000, 'minimum run time before preemption, us; 0 disables (Xen sched_ratelimit_us)', { max: 500_000 }),
  tick_ms: p.uint(10, 'credit tick period, ms (burn, un-boost, activate)', { min: 1, max: 1000 }),
};
const rrParams = {
  tslice_ms: p.uint(10, 'round-robin time slice, ms', { min: 1, max: 1000 }),
};

function schedPlugin<S extends Record<string, ReturnType<typeof p.uint>>>(variant: SchedVariant, description: string, params: S) {
  return definePlugin({
    id: 'sched',
    variant,
    description,
    params,
    provides: [SCHED_CORE],
    requires: [TOKENS.HostConfig, TOKENS.EventQueue, TOKENS.Stats],
    register(c, values) {
      bindSingleton(c, SCHED_CORE, (c) => {
        const core = new SchedCore({
          pcpus: resolve(c, TOKENS.HostConfig).pcpus,
          queue: resolve(c, TOKENS.EventQueue),
          variant,
          params: values as Record<string, number>,
        });
        resolve(c, TOKENS.Stats).mount('host.sched', core.stats);
        return core;
      });
    },
  });
}

export const schedCredit = schedPlugin('credit', 'Xen credit1: weights, caps, BOOST/UNDER/OVER, 30 ms slice, work stealing', creditParams);
export const schedRr = schedPlugin('rr', 'round robin: per-pCPU FIFO, fixed slice, steal when idle', rrParams);
export const schedNull = schedPlugin('null', 'null: one vCPU per pCPU, static, refuses overcommit', {});
export const schedPlugins = [schedCredit, schedRr, schedNull] as const;
