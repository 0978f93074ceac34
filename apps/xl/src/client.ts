/**
 * xl's side of the host control socket: @tachyxx/toolstack's ControlClient (its light `client`
 * entry: JSON-lines framing, the socket path rule, the trust check) with xl's errors. Only light
 * entries of @tachyxx/toolstack are imported so that an xl process does not load the simulator:
 * every xl command starts in a few tens of milliseconds.
 */
import type { Socket } from 'node:net';
import { dirname } from 'node:path';
import { ToolstackError, type ErrorCode } from '@tachyxx/toolstack/protocol';
import { TachyxxError } from '@tachyxx/core/errors';
import { ControlClient, connectSocket, defaultSocketPath } from '@tachyxx/toolstack/client';
import { checkSocketOwner, secureSocketDir, SocketDirError } from '@tachyxx/core/socket-dir';

export { PROTOCOL_VERSION } from '@tachyxx/toolstack/protocol';

/** A failure the host reported (`code` is an errno name, as libxl's; `errno` its number): the protocol's ToolstackError as xl reports it. */
export class HostOpError extends ToolstackError {
  override readonly name: string = 'HostOpError';
}

/** No host answers on the socket (not started, stopped, or a stale socket). */
export class NoHostError extends TachyxxError {
  override readonly name: string = 'NoHostError';
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

/** Where the host listens: the same rule as `tachyxx host` (TACHYXX_HOST, else a per-user default). */
export const hostSocketPath = defaultSocketPath;

/** The socket's directory (or the socket) fails the trust check: xl will not talk through it. */
export class UntrustedSocketError extends TachyxxError {
  override readonly name: string = 'UntrustedSocketError';
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

/** A connection to the host; requests reject with HostOpError, a lost connection with HostOpError EIO. */
export class Host extends ControlClient {
  private constructor(socket: Socket, readonly path: string) {
    super(socket, {
      reply: (code: ErrorCode, message: string) => new HostOpError(code, message),
      lost: (cause: Error | null) => new HostOpError('EIO', `lost the connection to the host at ${path}: ${cause?.message ?? 'the host closed the connection'}`),
    });
  }

  /** Connects after the trust check of the socket's directory (the tmux rule: ours, no group/other write, not a symlink). */
  static async connect(path = hostSocketPath()): Promise<Host> {
    try {
      secureSocketDir(dirname(path));
      checkSocketOwner(path);
    } catch (e) {
      if (e instanceof SocketDirError && e.code === 'ENOENT') throw new NoHostError(path, 'no such socket directory: no host is running');
      if (e instanceof SocketDirError) throw new UntrustedSocketError(path, e.message);
      throw e;
    }
    try {
      return new Host(await connectSocket(path), path);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        e.code === 'ENOENT' ? 'no such socket: no host is running'
        : e.code === 'ECONNREFUSED' ? 'connection refused: the host is not running (stale socket)'
        : e.code === 'EACCES' ? 'permission denied: the socket belongs to another user'
        : e.message;
      throw new NoHostError(path, why);
    }
  }
}

export { parseMemKb, MAX_MEMKB } from '@tachyxx/toolstack/units';
