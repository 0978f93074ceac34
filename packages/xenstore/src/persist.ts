/**
 * Optional persistence: the committed tree as JSON in a file, loaded at start and saved (debounced)
 * after changes, atomically (write a temporary file, then rename), so a restarted xenstored keeps
 * its data. Connections, watches and open transactions are not persisted, as in C xenstored.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Xenstored } from './xenstored.js';

export class XsPersistence {
  private timer: NodeJS.Timeout | undefined;
  saves = 0;

  constructor(
    readonly xs: Xenstored,
    readonly file: string,
    readonly debounceMs = 50,
  ) {}

  /** Loads the file if it exists (true), leaving the store untouched if the file is bad (throws). */
  load(): boolean {
    if (!existsSync(this.file)) return false;
    this.xs.importTree(JSON.parse(readFileSync(this.file, 'utf8')));
    return true;
  }

  /** Hooks into the store: every commit schedules a save. */
  start(): this {
    this.xs.onCommit = () => this.schedule();
    return this;
  }

  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save();
    }, this.debounceMs);
  }

  save(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.xs.exportTree()));
    renameSync(tmp, this.file);
    this.saves++;
  }

  /** Saves pending changes now and stops listening. */
  stop(): void {
    if (this.timer) this.save();
    this.xs.onCommit = undefined;
  }
}
