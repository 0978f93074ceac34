// Reading an xl.cfg (or xlcpupool.cfg) file without hanging or exhausting xl: a regular file only
// (a FIFO, /dev/zero or a directory is refused), opened O_NONBLOCK (a FIFO never blocks the
// open), at most MAX_CONFIG_BYTES (checked by fstat before reading and while reading).
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/** Largest config file xl reads (docs/limits.md); real ones are a few KiB. */
export const MAX_CONFIG_BYTES = 1 << 20;

/** Reads `path` as UTF-8; throws an Error whose message says why (for "Failed to read config file: ..."). */
export function readConfigText(path: string, maxBytes = MAX_CONFIG_BYTES): string {
  return readConfigBytes(path, maxBytes).toString('utf8');
}

/** The bytes of `path` under the same checks as readConfigText (a sweep hashes them for its cache key). */
export function readConfigBytes(path: string, maxBytes = MAX_CONFIG_BYTES): Buffer {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      const kind = st.isDirectory() ? 'a directory' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() ? 'a character device' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new Error(`is ${kind}, not a regular file`);
    }
    if (st.size > maxBytes) throw new Error(`${st.size} bytes is more than the limit of ${maxBytes} bytes for a config file`);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let off = 0;
    for (;;) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
      if (off > maxBytes) throw new Error(`grew past the limit of ${maxBytes} bytes for a config file while being read`);
      if (off === buf.length) break;
    }
    return buf.subarray(0, off);
  } finally {
    closeSync(fd);
  }
}
