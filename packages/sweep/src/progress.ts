// The progress display: runs done / running / failed / cached and an ETA. On a TTY one line
// rewritten in place on every run started or finished (cache hits: at most every 200 ms), failed
// runs printed above it; elsewhere a plain line per simulated run.
export interface ProgressCounts {
  total: number;
  done: number;
  running: number;
  failed: number;
  cached: number;
}

export interface ProgressSink {
  write(s: string): void;
  readonly isTTY?: boolean;
}

/** Minimum wall time between two redraws of the TTY line for cache hits (ms). */
export const PROGRESS_REDRAW_MS = 200;

export class Progress {
  private readonly c: ProgressCounts;
  private readonly t0 = performance.now();
  /** Wall seconds of runs actually simulated (not cached), for the ETA. */
  private simulated = 0;
  private lastDraw = 0;

  constructor(
    total: number,
    private readonly out: ProgressSink | null,
  ) {
    this.c = { total, done: 0, running: 0, failed: 0, cached: 0 };
  }

  get counts(): Readonly<ProgressCounts> {
    return this.c;
  }

  started(): void {
    this.c.running++;
    // forced: the line must show the run that replaced a finished one (finished() drew before it)
    this.draw(true);
  }

  finished(id: string, o: { status: 'ok' | 'failed'; reason: string }, cached: boolean): void {
    if (!cached) this.c.running--;
    this.c.done++;
    if (cached) this.c.cached++;
    else this.simulated++;
    if (o.status === 'failed') this.c.failed++;
    if (this.out && !this.out.isTTY && !cached) {
      this.out.write(`[${this.c.done}/${this.c.total}] ${o.status === 'ok' ? 'ok    ' : 'FAILED'} ${id}${o.status === 'failed' ? `: ${o.reason}` : ''}\n`);
    } else if (this.out?.isTTY && o.status === 'failed') {
      this.out.write(`\r\x1b[KFAILED ${id}: ${o.reason}\n`);
    }
    // cached runs arrive in bulk at the start: throttled; simulated ones: every time
    this.draw(!cached);
  }

  /** Seconds left, from the mean time per simulated run and the concurrency; null before the first. */
  eta(): number | null {
    if (!this.simulated) return null;
    const elapsed = (performance.now() - this.t0) / 1000;
    const perRun = elapsed / this.simulated;
    return (this.c.total - this.c.done) * perRun;
  }

  line(): string {
    const eta = this.eta();
    const c = this.c;
    return `sweep: ${c.done}/${c.total} done, ${c.running} running, ${c.failed} failed, ${c.cached} cached${eta === null || c.done === c.total ? '' : `, ETA ${formatDuration(eta)}`}`;
  }

  private draw(force: boolean): void {
    if (!this.out?.isTTY) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < PROGRESS_REDRAW_MS) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[K${this.line()}`);
  }

  /** One line (e.g. how many runs came from the cache), above the TTY progress line. */
  note(line: string): void {
    if (!this.out) return;
    this.out.write(this.out.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
    this.draw(true);
  }

  end(): void {
    if (this.out?.isTTY) this.out.write(`\r\x1b[K${this.line()}\n`);
    else this.out?.write(`${this.line()}\n`);
  }
}

export function formatDuration(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.ceil(s - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
