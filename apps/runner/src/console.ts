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
  return { write, flush };
}

/** writeSync to stdout, retrying on EAGAIN (stdout may be a non-blocking pipe). */
let stdoutClosed = false;

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
