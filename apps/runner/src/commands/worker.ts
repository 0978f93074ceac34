// `tachyxx worker --queue URL`: take sweep runs from a BullMQ queue and push their results.
import { availableParallelism } from 'node:os';
/** Same as @tachyxx/sweep's DEFAULT_LOCK_MS (BullMQ's default lock), kept here so --help loads no queue code. */
const DEFAULT_LOCK_MS = 30_000;
import { intOption, parse, UsageError } from '../usage.js';

export const WORKER_HELP = `Usage: tachyxx worker --queue URL [--jobs N] [--lock-seconds N]

Takes runs that 'tachyxx sweep --queue URL' put on a BullMQ queue in Redis, simulates each in a
local worker thread and pushes the result back; start it on any number of machines. A worker
that dies mid-run stops renewing its job's lock: another worker's stalled-job check puts the run
back on the queue and it runs again elsewhere (the sweep counts it once). Runs until SIGINT or
SIGTERM, finishing the runs it holds.

Options:
  --queue URL         redis://HOST:PORT[/DB][?queue=NAME] or redis+unix:///path/to/socket
  --jobs N            runs at once (default: ${availableParallelism()}, the CPUs here)
  --lock-seconds N    BullMQ job lock and stalled-check interval (default ${DEFAULT_LOCK_MS / 1000}); a dead
                      worker's run is retried after about twice this
  --quiet             no line per run on stderr
  -h, --help          show this help

Exit status: 0 stopped by a signal; 2 bad usage.
`;

const HINT = 'tachyxx worker --help';

export async function workerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      queue: { type: 'string' },
      jobs: { type: 'string', short: 'j' },
      'lock-seconds': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
    HINT,
  );
  if (values.help) {
    process.stdout.write(WORKER_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, HINT);
  if (values.queue === undefined) throw new UsageError('missing --queue URL', HINT);
  const { parseQueueUrl, startQueueWorker } = await import('@tachyxx/sweep');
  let target;
  try {
    target = parseQueueUrl(values.queue);
  } catch (e) {
    throw new UsageError((e as Error).message, HINT);
  }
  const jobs = intOption('jobs', values.jobs, availableParallelism(), HINT, 1, 256);
  const lockMs = intOption('lock-seconds', values['lock-seconds'], DEFAULT_LOCK_MS / 1000, HINT, 1, 3600) * 1000;
  const log = values.quiet ? undefined : (l: string) => process.stderr.write(`${l}\n`);
  const w = await startQueueWorker({ target, jobs, lockMs, log });
  process.stderr.write(`tachyxx worker: taking runs from ${target.display} queue '${target.name}' (${jobs} at once)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stderr.write(`tachyxx worker: stopping after ${w.completed()} runs\n`);
  await w.close();
  return 0;
}
