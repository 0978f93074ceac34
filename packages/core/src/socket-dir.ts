// The trust check for a directory that holds a Unix socket (the host's control socket,
// xenstored's socket), shared by servers and clients. A light entry (`@tachyxx/core/socket-dir`,
// no DI or bus) so that an xl process stays small.
//
// Rule, as tmux (make_label / client socket check) and ssh-agent apply it: the directory is
// lstat'ed (a symlink is refused, never followed), it must be a directory owned by the current
// uid, and nobody else may write to it (mode & 0o022 == 0). Anyone who can write to the
// directory can replace the socket and capture what clients send through it.
import { lstatSync, mkdirSync, type Stats } from 'node:fs';

/** Why a socket directory is not trusted; `code` is the errno name a C tool would report. */
export class SocketDirError extends Error {
  override readonly name = 'SocketDirError';
  constructor(
    readonly dir: string,
    readonly code: 'EACCES' | 'ENOTDIR' | 'ENOENT' | 'ELOOP',
    reason: string,
  ) {
    super(`${dir}: ${reason}`);
  }
}

export interface SecureSocketDirOptions {
  /** Create the directory (and missing parents) with mode 0700 when it does not exist. Default false. */
  create?: boolean;
  /** The uid that must own it (default: process.getuid()). */
  uid?: number;
}

/** Mode bits that let someone other than the owner write (and so replace a socket). */
const FOREIGN_WRITE = 0o022;

/**
 * Checks that `dir` is safe to hold (or to reach) a Unix socket through: a real directory (not
 * a symlink), owned by the current uid, not group- or world-writable. With `create`, a missing
 * directory is made with mode 0700 first. Throws SocketDirError naming the directory, the owner
 * or mode found, and what to do. Returns the lstat of the directory.
 */
export function secureSocketDir(dir: string, opts: SecureSocketDirOptions = {}): Stats {
  const uid = opts.uid ?? process.getuid?.();
  let st: Stats;
  try {
    st = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new SocketDirError(dir, 'EACCES', `cannot inspect the socket directory: ${(e as Error).message}`);
    if (!opts.create) throw new SocketDirError(dir, 'ENOENT', 'the socket directory does not exist');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = lstatSync(dir);
  }
  if (st.isSymbolicLink()) throw new SocketDirError(dir, 'ELOOP', 'the socket directory is a symbolic link: refusing to follow it (use the real directory)');
  if (!st.isDirectory()) throw new SocketDirError(dir, 'ENOTDIR', 'the socket directory is not a directory');
  // No uids (Windows): nothing more to check.
  if (uid === undefined) return st;
  if (st.uid !== uid) {
    throw new SocketDirError(dir, 'EACCES', `the socket directory is owned by uid ${st.uid}, not by you (uid ${uid}): another user could replace the socket; refusing to use it`);
  }
  if ((st.mode & FOREIGN_WRITE) !== 0) {
    throw new SocketDirError(dir, 'EACCES', `the socket directory has mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}: group or others can write to it and replace the socket; refusing to use it (chmod 700 it)`);
  }
  return st;
}

/**
 * Checks a socket file found in a trusted directory before connecting: it must be a socket
 * owned by the current uid (or by root, which may serve any user). Throws SocketDirError.
 */
export function checkSocketOwner(path: string, opts: { uid?: number } = {}): void {
  const uid = opts.uid ?? process.getuid?.();
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return; // missing: the connect reports it
  }
  if (st.isSymbolicLink()) throw new SocketDirError(path, 'ELOOP', 'the socket is a symbolic link: refusing to follow it');
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new SocketDirError(path, 'EACCES', `the socket is owned by uid ${st.uid}, not by you (uid ${uid}) or root: refusing to talk through it`);
  }
}
