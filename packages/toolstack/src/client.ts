/**
 * The client side of the control protocol, light enough for `xl` (`@tachyxx/toolstack/client`
 * loads only node:net, node:path, protocol.ts and @tachyxx/core/socket-dir: no simulator, no DI,
 * no RxJS): where the host listens, and ControlClient, the JSON-lines request/reply/stream
 * client that HostClient (tests, tools) and xl's Host both are.
 */
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { checkSocketOwner, secureSocketDir, SocketDirError } from '@tachyxx/core/socket-dir';
import { isErrorCode, LineSplitter, MAX_REPLY_LINE, PROTOCOL_VERSION, ToolstackError, type ErrorCode } from './protocol.js';

/**
 * Where the host listens (`tachyxx host` and `xl` share it): `TACHYXX_HOST` if set, else
 * `$XDG_RUNTIME_DIR/tachyxx/host.sock`, `/run/tachyxx/host.sock` as root, else
 * `/tmp/tachyxx-<uid>/host.sock`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TACHYXX_HOST) return env.TACHYXX_HOST;
  const uid = process.getuid?.() ?? 1000;
  if (uid === 0) return '/run/tachyxx/host.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tachyxx', 'host.sock');
  return join('/tmp', `tachyxx-${uid}`, 'host.sock');
}

/** The client-side check before connecting to `path` (as tmux's client does): throws ToolstackError EACCES. */
export function checkSocketPath(path: string): void {
  try {
    secureSocketDir(dirname(path));
    checkSocketOwner(path);
  } catch (e) {
    if (e instanceof SocketDirError && e.code !== 'ENOENT') throw new ToolstackError('EACCES', e.message);
    if (!(e instanceof SocketDirError)) throw e;
  }
}

/** Connects a Unix socket; resolves once connected, rejects with the socket's error. */
export function connectSocket(path: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect(path);
    s.once('connect', () => {
      s.off('error', rej);
      res(s);
    });
    s.once('error', rej);
  });
}

export type StreamListener = (ev: Record<string, unknown>) => void;

/** How a client reports failures: an error reply, and the connection lost with requests waiting. */
export interface ClientErrors {
  reply(code: ErrorCode, message: string): Error;
  /** `cause`: the socket's error, or null when the host closed the connection. */
  lost(cause: Error | null): Error;
}

/**
 * An error reply's code and message as the client reports them: a code this protocol does not
 * know (a newer or broken host) becomes EIO with the received code in the message.
 */
function replyError(e: { code?: unknown; message?: unknown } | undefined, fallback: string): [ErrorCode, string] {
  const message = typeof e?.message === 'string' ? e.message : fallback;
  if (isErrorCode(e?.code)) return [e.code, message];
  return ['EIO', typeof e?.code === 'string' ? `${e.code.slice(0, 32)}: ${message}` : message];
}

const TOOLSTACK_ERRORS: ClientErrors = {
  reply: (code, message) => new ToolstackError(code, message),
  lost: (cause) => cause ?? new Error('connection to the host closed'),
};

/**
 * A control-protocol connection: `call(op, args)` resolves with the result or rejects with
 * `errors.reply(code, message)`; streams deliver their event lines to a listener until `end`; a
 * connection-level error reply (id null: a limit reached, a line too long) fails every waiting
 * request; a reply line over MAX_REPLY_LINE ends the connection.
 */
export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, { res: (v: any) => void; rej: (e: Error) => void }>();
  private readonly listeners = new Map<number | string, StreamListener>();
  private closedErr: Error | null = null;
  /** Called when the connection drops. */
  onClose: (() => void) | null = null;

  protected constructor(readonly socket: Socket, private readonly errors: ClientErrors = TOOLSTACK_ERRORS) {
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
      const err = errors.lost(this.closedErr);
      for (const p of this.pending.values()) p.rej(err);
      this.pending.clear();
      this.onClose?.();
    });
  }

  private onLine(line: string): void {
    let m: Record<string, unknown> & { id: number | string };
    try {
      m = JSON.parse(line);
    } catch {
      return;
    }
    if (m === null || typeof m !== 'object') return;
    if (m.id === null && m.ok === false) {
      // A connection-level error (limit reached, line too long): fail every waiting request with it.
      const e = m.error as { code?: unknown; message?: unknown } | undefined;
      const err = this.errors.reply(...replyError(e, 'the host refused the connection'));
      for (const p of this.pending.values()) p.rej(err);
      this.pending.clear();
      return;
    }
    if (typeof m.event === 'string') {
      this.listeners.get(m.id)?.(m);
      if (m.event === 'end') this.listeners.delete(m.id);
      return;
    }
    const p = this.pending.get(m.id as number);
    if (!p) return;
    this.pending.delete(m.id as number);
    if (m.ok) p.res(m.result);
    else {
      p.rej(this.errors.reply(...replyError(m.error as { code?: unknown; message?: unknown } | undefined, 'the host reported an error')));
    }
  }

  /** Sends a request; resolves with its result. */
  call<T = any>(op: string, args: Record<string, unknown> = {}, onEvent?: StreamListener): Promise<T> {
    const id = this.nextId++;
    if (onEvent) this.listeners.set(id, onEvent);
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { res, rej });
      this.socket.write(JSON.stringify({ id, op, args, v: PROTOCOL_VERSION }) + '\n');
    });
  }

  /** Like call, returning the request id too (to `detach` a stream later). */
  stream<T = any>(op: string, args: Record<string, unknown>, onEvent: StreamListener): { id: number; result: Promise<T> } {
    const id = this.nextId;
    return { id, result: this.call<T>(op, args, onEvent) };
  }

  close(): void {
    this.onClose = null;
    this.socket.end();
    this.socket.destroy();
  }
}

/** A control-protocol client for tests and tools: `await HostClient.connect(path)`, then `call(op, args)` (rejects with ToolstackError). */
export class HostClient extends ControlClient {
  /** Connects to `path`, after the trust check of its directory (checkSocketPath). */
  static async connect(path: string): Promise<HostClient> {
    checkSocketPath(path);
    return new HostClient(await connectSocket(path));
  }
}
