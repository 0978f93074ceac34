export {
  SchedVcpu,
  SchedDomain,
  SchedError,
  SCHED_VARIANTS,
  CSCHED_PRI_TS_BOOST,
  CSCHED_PRI_TS_UNDER,
  CSCHED_PRI_TS_OVER,
  CSCHED_PRI_IDLE,
  EINVAL,
  EBUSY,
  ENOSPC,
  ENOENT,
  EEXIST,
  allows,
  type SchedVariant,
  type SchedRunstate,
  type SchedDomainParams,
  type SchedDecision,
  type SchedContext,
  type SchedulerOps,
  type SchedulerFactory,
} from './types.js';
export { SchedCore, CpuPool, DEFAULT_POOL, DEFAULT_WEIGHT, type SchedCoreOptions, type AddDomainOptions, type AddVcpuOptions } from './core.js';
export { CreditScheduler, CREDIT_DEFAULTS, CSCHED_CREDITS_PER_MSEC, CSCHED_DEFAULT_WEIGHT, type CreditParams } from './credit.js';
export { RoundRobinScheduler, RR_DEFAULTS, type RrParams } from './rr.js';
export { NullScheduler } from './null.js';
export { SchedStats, WAKE_LATENCY_BOUNDS_NS } from './stats.js';
export { numaPlacement, vcpusOnNodes, type NumaNode, type NumaTopology, type PlacementRequest, type Placement } from './numa.js';
export { SchedSim, type Behaviour, type SchedSimOptions, type TraceEntry } from './harness.js';
export { SCHED_CORE, schedCredit, schedRr, schedNull, schedPlugins } from './plugin.js';
