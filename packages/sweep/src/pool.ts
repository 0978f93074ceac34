// The local backend: a pool of worker threads (tinypool), one simulation per thread at a time, a
// wall-clock limit per run (the thread is terminated when it passes).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tinypool } from 'tinypool';
import type { RunJob } from './expand.js';
import type { RunOutcome } from './execute.js';

/** Where runs go: the local pool or a queue. At most `capacity` runs are given at once. */
export interface RunBackend {
  readonly capacity: number;
  run(job: RunJob, onStart?: () => void): Promise<RunOutcome>;
  close(): Promise<void>;
}

/** The compiled worker module (also when this file runs from source, e.g. under vitest). */
export function workerModule(): string {
  const here = fileURLToPath(import.meta.url);
  const file = here.endsWith('.ts') ? fileURLToPath(new URL('../dist/worker-entry.js', import.meta.url)) : fileURLToPath(new URL('./worker-entry.js', import.meta.url));
  if (!existsSync(file)) throw new Error(`${file} is missing: build @tachyxx/sweep first (pnpm build)`);
  return file;
}

export class LocalPool implements RunBackend {
  private readonly pool: Tinypool;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`LocalPool: jobs must be an integer >= 1, got ${capacity}`);
    this.pool = new Tinypool({ filename: workerModule(), minThreads: capacity, maxThreads: capacity, idleTimeout: 60_000 });
  }

  async run(job: RunJob, onStart?: () => void): Promise<RunOutcome> {
    onStart?.();
    const t0 = performance.now();
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), job.timeoutMs);
    try {
      return (await this.pool.run(job, { signal: ac.signal })) as RunOutcome;
    } catch (e) {
      const wallSeconds = (performance.now() - t0) / 1000;
      if (ac.signal.aborted) return { key: job.key, status: 'failed', reason: `timeout: still running after ${job.timeoutMs / 1000} s of wall time`, stats: null, wallSeconds, deterministic: false };
      return { key: job.key, status: 'failed', reason: `worker died: ${e instanceof Error ? e.message : String(e)}`, stats: null, wallSeconds, deterministic: false };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
