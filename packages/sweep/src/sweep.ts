// The sweep engine: expand, take what the cache has, run the rest on a backend (local pool or
// queue) with at most `capacity` runs given out at once, cache each outcome as it arrives, and
// write the report. An interrupted sweep loses only the runs in flight: the next one resumes.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ResultCache } from './cache.js';
import { expandSweep, type RunPlan } from './expand.js';
import type { RunOutcome } from './execute.js';
import type { RunBackend } from './pool.js';
import { Progress, type ProgressSink } from './progress.js';
import { buildReport, writeReport, type SweepReport } from './report.js';
import type { SweepSpec } from './spec.js';

export interface SweepOptions {
  /** Output directory (results, report, plots, cache/). */
  readonly out: string;
  readonly backend: RunBackend;
  /** For timing.json. */
  readonly backendName?: string;
  /** Progress output (e.g. process.stderr); null for none. */
  readonly progress?: ProgressSink | null;
  /** Stop giving out runs (runs in flight finish and are cached); the sweep then rejects. */
  readonly signal?: AbortSignal;
}

export interface SweepResult {
  readonly plans: readonly RunPlan[];
  readonly report: SweepReport;
  readonly files: readonly string[];
  /** Runs simulated now / taken from the cache / failed (both). */
  readonly ran: number;
  readonly cached: number;
  readonly failed: number;
  /** Wall time of the whole sweep, report included. */
  readonly wallSeconds: number;
}

export class SweepInterrupted extends Error {
  override readonly name = 'SweepInterrupted';
}

export async function runSweep(spec: SweepSpec, o: SweepOptions): Promise<SweepResult> {
  const t0 = performance.now();
  const plans = expandSweep(spec);
  mkdirSync(o.out, { recursive: true });
  const cache = new ResultCache(join(o.out, 'cache'));
  const outcomes = new Map<string, RunOutcome>();
  const cachedKeys = new Set<string>();
  // One job per distinct key (two runs with the same identity are simulated once).
  const unique = [...new Map(plans.map((p) => [p.job.key, p])).values()];
  const progress = new Progress(unique.length, o.progress ?? null);
  const todo: RunPlan[] = [];
  for (const p of unique) {
    const hit = cache.get(p.job.key);
    if (hit) {
      outcomes.set(p.job.key, hit);
      cachedKeys.add(p.job.key);
      progress.finished(p.job.id, hit, true);
    } else todo.push(p);
  }
  if (cachedKeys.size) progress.note(`sweep: ${cachedKeys.size} of ${unique.length} runs from the cache (${join(o.out, 'cache')})`);

  let ran = 0;
  let next = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    let stopped = false;
    const onAbort = () => {
      stopped = true;
      if (inFlight === 0) reject(new SweepInterrupted('sweep interrupted'));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const pump = (): void => {
      if (stopped) {
        if (inFlight === 0) reject(new SweepInterrupted('sweep interrupted'));
        return;
      }
      if (next === todo.length && inFlight === 0) {
        o.signal?.removeEventListener('abort', onAbort);
        return resolve();
      }
      while (next < todo.length && inFlight < o.backend.capacity) {
        const p = todo[next++]!;
        inFlight++;
        o.backend
          .run(p.job, () => progress.started())
          .then((out) => {
            if (out.key !== p.job.key) throw new Error(`backend returned the outcome of ${out.key} for ${p.job.key}`);
            // After an interrupt, runs cut short (their worker was stopped) are dropped quietly;
            // runs that did finish are still cached.
            if (stopped && !out.deterministic) {
              inFlight--;
              return pump();
            }
            // Exactly one outcome per run, whatever the backend delivered.
            if (!outcomes.has(p.job.key)) {
              outcomes.set(p.job.key, out);
              cache.put(out);
              ran++;
              progress.finished(p.job.id, out, false);
            }
            inFlight--;
            pump();
          })
          .catch((e: unknown) => {
            stopped = true;
            reject(e);
          });
      }
    };
    pump();
  });
  progress.end();

  const report = buildReport(spec, plans, outcomes, cachedKeys);
  const runsSeconds = (performance.now() - t0) / 1000;
  const written = await writeReport(spec, report, o.out, { backend: o.backendName ?? 'local', jobs: Number.isFinite(o.backend.capacity) ? o.backend.capacity : 0, wallSeconds: runsSeconds });
  return { plans, report, files: written.files, ran, cached: cachedKeys.size, failed: report.rows.filter((r) => r.status === 'failed').length, wallSeconds: (performance.now() - t0) / 1000 };
}
