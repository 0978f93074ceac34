export {
  loadSweep,
  parseSweep,
  axisConfigPath,
  SWEEP_KEYS,
  HOST_AXES,
  MAX_RUNS,
  DEFAULT_MAX_INSNS,
  DEFAULT_TIMEOUT_SECONDS,
  WORKLOAD_KEYS,
  DOMAIN_KEYS,
  MAX_DOMAIN_MEMORY_MIB,
  MAX_DOMAIN_VCPUS,
  MAX_WORKLOAD_DOMAINS,
  type SweepSpec,
  type Axis,
  type AxisValue,
  type Workload,
  type DomainWorkload,
  type Metric,
} from './spec.js';
export { resolveXlDomain, XlWorkloadError, SWEEP_XL_KEYS, SHUTDOWN_XL_KEYS, XL_DEFAULT_MEMORY_MIB, type XlDomain } from './xl-workload.js';
export { parseFormula, evaluate, lookupPath, formulaPaths, FormulaError, FORMULA_FUNCTIONS, MAX_FORMULA_LENGTH, MAX_FORMULA_DEPTH, type Expr } from './formula.js';
export { expandSweep, runKey, canonicalJson, domainsMachineMemory, CACHE_FORMAT, type RunPlan, type RunJob, type RunImage } from './expand.js';
export { executeRun, type RunOutcome } from './execute.js';
export { ResultCache } from './cache.js';
export { LocalPool, workerModule, type RunBackend } from './pool.js';
export { QueueBackend, startQueueWorker, parseQueueUrl, imageKey, DEFAULT_QUEUE_NAME, DEFAULT_LOCK_MS, MAX_STALLED_COUNT, KEEP_FINISHED_SECONDS, WORKER_IMAGE_CACHE, type QueueTarget, type QueueWorker, type QueueWorkerOptions } from './queue.js';
export { buildReport, writeReport, toCsv, toJson, toMarkdown, timingCsv, formatNumber, metricsOf, type SweepReport, type RunRow, type TimingRow } from './report.js';
export { renderPlots, renderSvg, plotSpec, type Plot } from './plots.js';
export { Progress, formatDuration, PROGRESS_REDRAW_MS, type ProgressCounts, type ProgressSink } from './progress.js';
export { runSweep, SweepInterrupted, type SweepOptions, type SweepResult } from './sweep.js';
