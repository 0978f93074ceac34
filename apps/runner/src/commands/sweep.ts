// `tachyxx sweep SWEEP.yaml`: many deterministic runs over hardware variants, one report.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@tachyxx/core';
import type { RunBackend } from '@tachyxx/sweep';
import { intOption, parse, UsageError } from '../usage.js';

export const SWEEP_HELP = `Usage: tachyxx sweep SWEEP.yaml [--jobs N] [--out DIR] [--queue URL]

Runs every combination of the sweep's axes (component variants and params: mmu.variant,
mmu.entries, sched.variant, costs.mmu.walkRef, pcpus...) for each workload and seed, each run one
deterministic simulation in its own worker, and writes into DIR:
  results.csv, results.json   every run's metrics (identical for the same sweep)
  report.md                   a markdown table, failed runs with their reason, the plots
  plots/METRIC-by-AXIS.svg    each metric against each axis (vega-lite)
  timing.csv, timing.json     wall-clock numbers (wall seconds per run, cached or not)
  cache/                      one result per run, by hash of (version, config, images, seed,
                              limits): a second sweep only runs what changed, an interrupted
                              one resumes
A failed run (guest crash, deadlock, instruction limit, timeout) is reported with its reason
and the sweep goes on. The sweep file format is in packages/sweep/README.md.

Options:
  --jobs N       runs at once in local worker threads (default: ${availableParallelism()}, the CPUs here)
  --out DIR      output directory (default: sweep-out/NAME)
  --queue URL    put the runs on a BullMQ queue in Redis (redis://HOST:PORT[/DB][?queue=NAME]
                 or redis+unix:///path/to/socket) for 'tachyxx worker' processes on any machine;
                 the report is the same as a local run's
  --quiet        no progress display
  --debug        print stack traces for internal errors
  -h, --help     show this help

Progress (runs done / running / failed / cached, ETA) goes to stderr: one line updated in place
on a terminal, a line per finished run otherwise.

Exit status: 0 every run succeeded; 1 some runs failed (the report is written); 2 bad usage or a
bad sweep file; 130 interrupted (finished runs are cached).
`;

const HINT = 'tachyxx sweep --help';

export async function sweepCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      jobs: { type: 'string', short: 'j' },
      out: { type: 'string', short: 'o' },
      queue: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    HINT,
  );
  if (values.help) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `unexpected argument '${positionals[1]}'` : 'missing SWEEP.yaml', HINT);
  if (values.queue !== undefined && values.jobs !== undefined) throw new UsageError('--jobs applies to the local pool; with --queue each worker has its own --jobs', HINT);
  const jobs = intOption('jobs', values.jobs, availableParallelism(), HINT, 1, 256);
  // Loaded here, not at start-up: `tachyxx run` does not pay for vega and bullmq.
  const { loadSweep, LocalPool, parseQueueUrl, QueueBackend, runSweep, SweepInterrupted } = await import('@tachyxx/sweep');
  let backend: RunBackend;
  let spec;
  try {
    spec = loadSweep(positionals[0]!);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (values.queue !== undefined) {
    let target;
    try {
      target = parseQueueUrl(values.queue);
    } catch (e) {
      throw new UsageError((e as Error).message, HINT);
    }
    backend = new QueueBackend(target);
  } else backend = new LocalPool(jobs);
  const out = values.out ?? join('sweep-out', spec.name);

  const ac = new AbortController();
  const onSignal = () => {
    process.stderr.write('\ntachyxx: interrupted: stopping (finished runs are cached; run the same command to resume)\n');
    ac.abort();
    void backend.close();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const r = await runSweep(spec, { out, backend, backendName: values.queue !== undefined ? 'queue' : 'local', progress: values.quiet ? null : process.stderr, signal: ac.signal });
    for (const m of r.report.missing) process.stderr.write(`tachyxx: warning: metric '${m.metric}' has no value in any successful run${m.paths.length ? ` (no ${m.paths.join(', ')} in the stats)` : ''}\n`);
    process.stdout.write(`sweep ${spec.name}: ${r.report.rows.length} runs (${r.ran} simulated, ${r.cached} cached, ${r.failed} failed) in ${r.wallSeconds.toFixed(1)} s; report: ${join(out, 'report.md')}\n`);
    return r.failed ? 1 : 0;
  } catch (e) {
    if (e instanceof SweepInterrupted) return 130;
    if (e instanceof ConfigError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!ac.signal.aborted) await backend.close();
  }
}
