/**
 * xl's side of the host control socket (packages/toolstack's JSON-lines protocol). Written here
 * with type-only imports from @tachyxx/toolstack so that an xl process does not load the
 * simulator: every xl command starts in a few tens of milliseconds.
 */
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { ErrorCode } from '@tachyxx/toolstack';
import { LineSplitter, MAX_REPLY_LINE } from '@tachyxx/toolstack/protocol';
import { checkSocketOwner, secureSocketDir, SocketDirError } from '@tachyxx/core/socket-dir';

export const PROTOCOL_VERSION = 1;

/** A failure the host reported (`code` is an errno name, as libxl's). */
export class HostOpError extends Error {
  override readonly name = 'HostOpError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** No host answers on the socket (not started, stopped, or a stale socket). */
export class NoHostError extends Error {
  override readonly name = 'NoHostError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      `xl: cannot reach a Tachyxx host at ${path} (${reason}).\n` +
        `Start one with 'tachyxx host --detach' (it listens there by default), or point TACHYXX_HOST at a running host's socket.`,
    );
  }
}

/**
 * Where the host listens — the same rule as `tachyxx host`: `TACHYXX_HOST` if set, else
 * `$XDG_RUNTIME_DIR/tachyxx/host.sock`, `/run/tachyxx/host.sock` as root, else
 * `/tmp/tachyxx-<uid>/host.sock`.
 */
export function hostSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TACHYXX_HOST) return env.TACHYXX_HOST;
  const uid = process.getuid?.() ?? 1000;
  if (uid === 0) return '/run/tachyxx/host.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tachyxx', 'host.sock');
  return join('/tmp', `tachyxx-${uid}`, 'host.sock');
}

/** The socket's directory (or the socket) fails the trust check: xl will not talk through it. */
export class UntrustedSocketError extends Error {
  override readonly name = 'UntrustedSocketError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(
      `xl: not connecting to ${path}: ${reason}.\n` +
        `Only a directory you own that nobody else can write to is safe for the host socket (as for tmux and ssh-agent): ` +
        `fix it (chmod 700 / chown), or point TACHYXX_HOST at a socket in a private directory.`,
    );
  }
}

type Listener = (ev: Record<string, unknown>) => void;

export class Host {
  private nextId = 1;
  private readonly pending = new Map<number, { res: (v: any) => void; rej: (e: Error) => void }>();
  private readonly listeners = new Map<number, Listener>();
  private closedErr: Error | null = null;
  /** Called when the connection drops while streams are open. */
  onClose: (() => void) | null = null;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    // Scans each chunk once; a reply line over MAX_REPLY_LINE (64 MiB) ends the connection.
    const split = new LineSplitter((line) => this.onLine(line), MAX_REPLY_LINE);
    socket.on('data', (d: Buffer) => {
      try {
        split.push(d);
      } catch (e) {
        this.closedErr = e as Error;
        socket.destroy();
      }
    });
    socket.on('error', (e) => (this.closedErr = e));
    socket.on('close', () => {
      const err = this.closedErr ?? new Error('the host closed the connection');
      for (const p of this.pending.values()) p.rej(new HostOpError('EIO', `lost the connection to the host at ${path}: ${err.message}`));
      this.pending.clear();
      this.onClose?.();
    });
  }

  /** Connects after the trust check of the socket's directory (the tmux rule: ours, no group/other write, not a symlink). */
  static connect(path = hostSocketPath()): Promise<Host> {
    try {
      secureSocketDir(dirname(path));
      checkSocketOwner(path);
    } catch (e) {
      if (e instanceof SocketDirError && e.code === 'ENOENT') return Promise.reject(new NoHostError(path, 'no such socket directory: no host is running'));
      if (e instanceof SocketDirError) return Promise.reject(new UntrustedSocketError(path, e.message));
      return Promise.reject(e);
    }
    return new Promise((res, rej) => {
      const s = connect(path);
      s.once('connect', () => {
        s.off('error', onErr);
        res(new Host(s, path));
      });
      const onErr = (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'ENOENT' ? 'no such socket: no host is running'
          : e.code === 'ECONNREFUSED' ? 'connection refused: the host is not running (stale socket)'
          : e.code === 'EACCES' ? 'permission denied: the socket belongs to another user'
          : e.message;
        rej(new NoHostError(path, why));
      };
      s.once('error', onErr);
    });
  }

  private onLine(line: string): void {
    let m: Record<string, unknown> & { id: number };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m === null || typeof m !== 'object') return;
    if (m.id === null && m.ok === false) {
      // A connection-level error (limit reached, line too long): fail every waiting request with it.
      const e = m.error as { code: ErrorCode; message: string };
      const msg = typeof e?.message === 'string' ? e.message : 'the host refused the connection';
      for (const p of this.pending.values()) p.rej(new HostOpError(typeof e?.code === 'string' ? e.code : 'EIO', msg));
      this.pending.clear();
      return;
    }
    if (typeof m.event === 'string') {
      this.listeners.get(m.id)?.(m);
      if (m.event === 'end') this.listeners.delete(m.id);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.res(m.result);
    else {
      const e = m.error as { code: ErrorCode; message: string };
      p.rej(new HostOpError(e.code, e.message));
    }
  }

  /** One request; resolves with its result, rejects with a HostOpError. */
  call<T = any>(op: string, args: Record<string, unknown> = {}, onEvent?: Listener): Promise<T> {
    const id = this.nextId++;
    if (onEvent) this.listeners.set(id, onEvent);
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { res, rej });
      this.socket.write(JSON.stringify({ id, op, args, v: PROTOCOL_VERSION }) + '\n');
    });
  }

  /** A streaming request (console, events): its id (for `detach`) and its reply. */
  stream<T = any>(op: string, args: Record<string, unknown>, onEvent: Listener): { id: number; result: Promise<T> } {
    const id = this.nextId;
    return { id, result: this.call<T>(op, args, onEvent) };
  }

  close(): void {
    this.onClose = null;
    this.socket.end();
    this.socket.destroy();
  }
}

export { parseMemKb, MAX_MEMKB } from '@tachyxx/toolstack/units';
