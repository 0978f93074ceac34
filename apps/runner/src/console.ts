import { writeSync } from 'node:fs';

/** Buffers guest console bytes and writes them to stdout in large chunks. */
export function consoleSink() {
  const buf = Buffer.alloc(1 << 16);
  let n = 0;
  const flush = () => {
    if (n) writeAll(buf.subarray(0, n));
    n = 0;
  };
  // Complete lines reach the terminal at least every 50 ms of wall time, so a long-running guest
  // is seen live; bulk output still goes out in large writes.
  let lastFlush = 0;
  const write = (bytes: Uint8Array) => {
    if (n + bytes.length > buf.length) flush();
    if (bytes.length > buf.length) writeAll(bytes);
    else {
      buf.set(bytes, n);
      n += bytes.length;
    }
    if (bytes.includes(10)) {
      const now = performance.now();
      if (now - lastFlush >= 50) {
        flush();
        lastFlush = now;
      }
    }
  };
  /** Flushes what is buffered if the last flush is 50 ms old (called between run slices). */
  const tick = () => {
    if (n === 0) return;
    const now = performance.now();
    if (now - lastFlush >= 50) {
      flush();
      lastFlush = now;
    }
  };
  return { write, flush, tick };
}

/** The reader of stdout went away (EPIPE): further output is dropped; the run may stop. */
export function stdoutGone(): boolean {
  return stdoutClosed;
}

/**
 * Stops on SIGINT, SIGTERM and SIGHUP instead of dying with output still buffered: the handler
 * records the signal (the run loop checks it between slices, flushes and exits 128+signo).
 * Returns the current signal (or null) and an uninstall function.
 */
export function catchSignals(): { signal: () => NodeJS.Signals | null; done: () => void } {
  let got: NodeJS.Signals | null = null;
  const on = (s: NodeJS.Signals) => {
    // A second one means "now": flush what we have and go.
    if (got !== null) {
      process.exitCode = signalStatus(s);
      process.exit();
    }
    got = s;
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, on);
  return { signal: () => got, done: () => sigs.forEach((s) => process.off(s, on)) };
}

/** The shell's exit status for death by a signal: 128 + its number. */
export function signalStatus(s: NodeJS.Signals): number {
  return 128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15, SIGPIPE: 13 } as Record<string, number>)[s]!;
}

let stdoutClosed = false;

/** writeSync to stdout, retrying on EAGAIN (stdout may be a non-blocking pipe). */

export function writeAll(bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length && !stdoutClosed) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
    } catch (e) {
      // The reader went away (`tachyxx run ... | head`): drop the rest, as cat does, quietly.
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
        stdoutClosed = true;
        return;
      }
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
