// The pool's worker module (tinypool loads it in each worker thread): one run per call.
import { executeRun, type RunOutcome } from './execute.js';
import type { RunJob } from './expand.js';

export default function run(job: RunJob): RunOutcome {
  return executeRun(job);
}
