// The result cache: one JSON file per run under OUT/cache/, named by the run's key (a hash of the
// simulator version, resolved config, workload bytes and options, seed and instruction limit).
// Written atomically (temp file + rename), so an interrupted sweep leaves only whole entries.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_FORMAT } from './expand.js';
import type { RunOutcome } from './execute.js';

export class ResultCache {
  constructor(readonly dir: string) {}

  private file(key: string): string {
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error(`bad cache key '${key}'`);
    return join(this.dir, key.slice(0, 2), `${key}.json`);
  }

  /** The cached outcome of run `key`, or undefined (absent, unreadable or from another format). */
  get(key: string): RunOutcome | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(key), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const v = JSON.parse(text) as { format?: number; outcome?: RunOutcome };
      if (v.format !== CACHE_FORMAT || !v.outcome || v.outcome.key !== key || !v.outcome.deterministic) return undefined;
      return v.outcome;
    } catch {
      return undefined; // a torn or foreign file: run again
    }
  }

  /** Stores a deterministic outcome; machine-dependent ones (timeouts, worker deaths) are not kept. */
  put(outcome: RunOutcome): boolean {
    if (!outcome.deterministic) return false;
    const file = this.file(outcome.key);
    mkdirSync(join(this.dir, outcome.key.slice(0, 2)), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: CACHE_FORMAT, outcome }));
    renameSync(tmp, file);
    return true;
  }
}
