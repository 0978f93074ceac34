/**
 * Reading the files an xl.cfg names (kernel, ramdisk, device tree) without letting them take the
 * host down: only regular files (a FIFO, /dev/zero or a directory is refused), opened
 * O_NONBLOCK (opening a FIFO never waits for a writer), at most `maxBytes` (checked with fstat
 * before anything is read, and again while reading: a file that grows is refused too). The async
 * version reads in chunks, so the daemon's event loop keeps serving while a large kernel loads.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ToolstackError } from './protocol.js';

/** libxenguest's limit on a kernel or ramdisk (XC_DOM_DECOMPRESS_MAX, 1 GiB). */
export const MAX_IMAGE_BYTES = 1 << 30;

const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);
const CHUNK = 1 << 20;

function fail(what: string, path: string, e: unknown): never {
  if (e instanceof ToolstackError) throw e;
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, not a file' : (e as Error).message;
  throw new ToolstackError(code === 'ENOENT' ? 'ENOENT' : 'EINVAL', `${what} ${path}: ${why}`);
}

function kindOf(st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function checkStat(what: string, path: string, st: { size: number; isFile(): boolean } & Parameters<typeof kindOf>[0], maxBytes: number): number {
  if (!st.isFile()) throw new ToolstackError('EINVAL', `${what} ${path}: is ${kindOf(st)}, not a regular file`);
  if (st.size > maxBytes) throw new ToolstackError('EINVAL', `${what} ${path}: ${st.size} bytes is more than the limit of ${maxBytes} bytes`);
  return st.size;
}

/** Opens `path` (never blocking on a FIFO), runs `fn` on it, closes it; every failure is a ToolstackError naming `what` and `path`. */
async function withImageFile<T>(path: string, what: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
  let fh: FileHandle;
  try {
    fh = await open(path, OPEN_FLAGS);
  } catch (e) {
    fail(what, path, e);
  }
  try {
    return await fn(fh);
  } catch (e) {
    fail(what, path, e);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Reads a regular file of at most `maxBytes`, asynchronously. Throws ToolstackError naming `what` and `path`. */
export function readImageFile(path: string, what: string, maxBytes = MAX_IMAGE_BYTES): Promise<Uint8Array> {
  return withImageFile(path, what, async (fh) => {
    const size = checkStat(what, path, await fh.stat(), maxBytes);
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const { bytesRead } = await fh.read(buf, off, Math.min(CHUNK, size - off), off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off < size) throw new ToolstackError('EINVAL', `${what} ${path}: shrank while being read (${off} of ${size} bytes)`);
    const { bytesRead: more } = await fh.read(new Uint8Array(1), 0, 1, size);
    if (more > 0) throw new ToolstackError('EINVAL', `${what} ${path}: grew while being read`);
    return buf;
  });
}

/** The same checks without reading: returns the size (a ramdisk Tachyxx does not load yet). */
export function checkImageFile(path: string, what: string, maxBytes = MAX_IMAGE_BYTES): Promise<number> {
  return withImageFile(path, what, async (fh) => checkStat(what, path, await fh.stat(), maxBytes));
}

/** Synchronous readImageFile, for CLIs that read one image before anything runs (`tachyxx run`). */
export function readImageFileSync(path: string, what: string, maxBytes = MAX_IMAGE_BYTES): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    fail(what, path, e);
  }
  try {
    const size = checkStat(what, path, fstatSync(fd), maxBytes);
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, Math.min(CHUNK, size - off), off);
      if (n === 0) break;
      off += n;
    }
    if (off < size) throw new ToolstackError('EINVAL', `${what} ${path}: shrank while being read (${off} of ${size} bytes)`);
    return buf;
  } catch (e) {
    fail(what, path, e);
  } finally {
    closeSync(fd);
  }
}
