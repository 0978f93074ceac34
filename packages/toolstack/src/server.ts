/**
 * The control socket: a Unix socket (mode 0600 in a 0700 directory) serving the JSON-lines
 * protocol of protocol.ts, and HostClient, the client side (for xl and tests).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { LineSplitter, PROTOCOL_VERSION, ToolstackError, type ErrorCode, type Reply, type Request } from './protocol.js';
import type { OpContext, Toolstack } from './toolstack.js';

/**
 * Where the host listens: `TACHYXX_HOST` if set, else `$XDG_RUNTIME_DIR/tachyxx/host.sock`,
 * `/run/tachyxx/host.sock` as root, else `/tmp/tachyxx-<uid>/host.sock`.
 */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TACHYXX_HOST) return env.TACHYXX_HOST;
  const uid = process.getuid?.() ?? 1000;
  if (uid === 0) return '/run/tachyxx/host.sock';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tachyxx', 'host.sock');
  return join('/tmp', `tachyxx-${uid}`, 'host.sock');
}

/** 'live' (someone answers; with its hello when it is a host), 'stale' (a dead socket file), 'absent', or 'other' (not a socket). */
export async function probeSocket(path: string, timeoutMs = 2000): Promise<{ state: 'live' | 'stale' | 'absent' | 'other'; pid?: number }> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return { state: 'absent' };
  }
  if (!st.isSocket()) return { state: 'other' };
  return new Promise((res) => {
    const s = connect(path);
    let done = false;
    const finish = (r: { state: 'live' | 'stale'; pid?: number }) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      res(r);
    };
    const t = setTimeout(() => finish({ state: 'live' }), timeoutMs);
    s.once('error', () => finish({ state: 'stale' }));
    s.once('connect', () => {
      s.write(JSON.stringify({ id: 0, op: 'hello' }) + '\n');
      const split = new LineSplitter((line) => {
        try {
          const m = JSON.parse(line) as { result?: { pid?: number } };
          finish({ state: 'live', pid: m.result?.pid });
        } catch {
          finish({ state: 'live' });
        }
      });
      s.setEncoding('utf8');
      s.on('data', (d: string) => split.push(d));
      s.once('close', () => finish({ state: 'live' }));
    });
  });
}

/** Creates `dir` (and parents) with mode 0700 when missing. */
export function ensurePrivateDir(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Listens on `path` with mode 0600 (umask while binding, then chmod). Refuses a path a live
 * host (or anyone) answers on, or that is not a socket; removes a stale one.
 */
export async function listenPrivate(server: Server, path: string): Promise<void> {
  ensurePrivateDir(dirname(path));
  const probe = await probeSocket(path);
  if (probe.state === 'live') throw new ToolstackError('EBUSY', `${path} is in use by a running host${probe.pid ? ` (pid ${probe.pid})` : ''}: stop it first (or use --socket for another host)`);
  if (probe.state === 'other') throw new ToolstackError('EEXIST', `${path} exists and is not a socket: not touching it`);
  if (probe.state === 'stale') unlinkSync(path);
  const old = process.umask(0o177);
  try {
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => {
        server.off('error', rej);
        res();
      });
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, 0o600);
}

class Conn implements OpContext {
  private readonly streams = new Map<number | string, () => void>();
  topPrev?: Map<number, { cpuNs: number; simNs: number }>;
  closed = false;
  /** Stream events queued for a request whose reply is not sent yet. */
  private readonly pendingReply = new Map<number | string, string[]>();
  constructor(readonly socket: Socket) {}

  write(obj: unknown): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.socket.write(JSON.stringify(obj) + '\n');
    return true;
  }
  beginRequest(id: number | string): void { this.pendingReply.set(id, []); }
  reply(r: Reply): void {
    this.write(r);
    const q = r.id === null ? undefined : this.pendingReply.get(r.id);
    if (r.id !== null) this.pendingReply.delete(r.id);
    if (q) for (const line of q) if (!this.closed && !this.socket.destroyed) this.socket.write(line);
  }
  send(id: number | string, ev: Record<string, unknown>): boolean {
    if (this.closed || this.socket.destroyed) return false;
    // Keep a slow console client from growing our memory: drop output past 4 MiB unread.
    if (ev.event === 'console' && this.socket.writableLength > 4 << 20) return true;
    const line = JSON.stringify({ id, ...ev }) + '\n';
    const q = this.pendingReply.get(id);
    if (q) q.push(line);
    else this.socket.write(line);
    return true;
  }
  addStream(id: number | string, close: () => void): void { this.streams.set(id, close); }
  endStream(id: number | string): void {
    const c = this.streams.get(id);
    this.streams.delete(id);
    c?.();
  }
  detach(id: number | string): boolean {
    if (!this.streams.has(id)) return false;
    this.endStream(id);
    this.send(id, { event: 'end', reason: 'detached' });
    return true;
  }
  close(): void {
    this.closed = true;
    for (const c of this.streams.values()) c();
    this.streams.clear();
  }
}

export class ControlServer {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  path: string | null = null;

  constructor(private readonly ts: Toolstack) {}

  async listen(path: string): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    await listenPrivate(server, path);
    this.server = server;
    this.path = path;
  }

  private accept(socket: Socket): void {
    const c = new Conn(socket);
    this.conns.add(c);
    socket.setEncoding('utf8');
    const split = new LineSplitter((line) => this.onLine(c, line));
    socket.on('data', (d: string) => {
      try {
        split.push(d);
      } catch (e) {
        c.reply({ id: null, ok: false, error: { code: 'EPROTO', message: (e as Error).message } });
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      c.close();
      this.conns.delete(c);
    });
  }

  private onLine(c: Conn, line: string): void {
    let req: Request;
    try {
      req = JSON.parse(line) as Request;
    } catch {
      return c.reply({ id: null, ok: false, error: { code: 'EPROTO', message: 'request is not valid JSON' } });
    }
    if (typeof req !== 'object' || req === null || typeof req.op !== 'string' || (typeof req.id !== 'number' && typeof req.id !== 'string')) {
      return c.reply({ id: (req as Request | null)?.id ?? null, ok: false, error: { code: 'EPROTO', message: 'expected {"id": number|string, "op": string, "args": {...}}' } });
    }
    if (req.v !== undefined && req.v > PROTOCOL_VERSION) {
      return c.reply({ id: req.id, ok: false, error: { code: 'EPROTO', message: `protocol version ${req.v} is newer than this host's (${PROTOCOL_VERSION})` } });
    }
    const args = req.args && typeof req.args === 'object' && !Array.isArray(req.args) ? req.args : {};
    if (req.op === 'detach') {
      const ok = c.detach(args.stream as number | string);
      return c.reply(ok ? { id: req.id, ok: true, result: { stream: args.stream } } : { id: req.id, ok: false, error: { code: 'ENOENT', message: `no stream ${String(args.stream)}` } });
    }
    c.beginRequest(req.id);
    this.ts.op(req.op, args, c, req.id).then(
      (result) => c.reply({ id: req.id, ok: true, result: result ?? {} }),
      (e: unknown) => {
        if (e instanceof ToolstackError) c.reply({ id: req.id, ok: false, error: { code: e.code, message: e.message } });
        else {
          this.ts.log(`(d0) host: internal error in ${req.op}: ${(e as Error)?.stack ?? String(e)}`);
          c.reply({ id: req.id, ok: false, error: { code: 'EIO', message: `internal error: ${(e as Error)?.message ?? String(e)}` } });
        }
      },
    );
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    for (const c of this.conns) {
      c.close();
      c.socket.destroy();
    }
    await new Promise<void>((res) => s.close(() => res()));
    if (this.path) {
      try {
        unlinkSync(this.path);
      } catch {
        /* gone */
      }
    }
  }
}

/** A control-protocol client: `await HostClient.connect(path)`, then `call(op, args)`. */
export class HostClient {
  private nextId = 1;
  private readonly pending = new Map<number, { res: (v: unknown) => void; rej: (e: Error) => void }>();
  private readonly listeners = new Map<number | string, (ev: Record<string, unknown>) => void>();
  private closedErr: Error | null = null;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    const split = new LineSplitter((line) => this.onLine(line));
    socket.on('data', (d: string) => split.push(d));
    socket.on('error', (e) => (this.closedErr = e));
    socket.on('close', () => {
      const err = this.closedErr ?? new Error('connection to the host closed');
      for (const p of this.pending.values()) p.rej(err);
      this.pending.clear();
    });
  }

  static connect(path: string): Promise<HostClient> {
    return new Promise((res, rej) => {
      const s = connect(path);
      s.once('connect', () => {
        s.off('error', rej);
        res(new HostClient(s));
      });
      s.once('error', rej);
    });
  }

  private onLine(line: string): void {
    const m = JSON.parse(line) as Record<string, unknown> & { id: number | string };
    if (typeof m.event === 'string') {
      this.listeners.get(m.id)?.(m);
      return;
    }
    const p = this.pending.get(m.id as number);
    if (!p) return;
    this.pending.delete(m.id as number);
    if (m.ok) p.res(m.result);
    else {
      const e = m.error as { code: ErrorCode; message: string };
      p.rej(new ToolstackError(e.code, e.message));
    }
  }

  /** Sends a request; resolves with its result, rejects with a ToolstackError. */
  call<T = any>(op: string, args: Record<string, unknown> = {}, onEvent?: (ev: Record<string, unknown>) => void): Promise<T> {
    const id = this.nextId++;
    if (onEvent) this.listeners.set(id, onEvent);
    return new Promise<T>((res, rej) => {
      this.pending.set(id, { res: res as (v: unknown) => void, rej });
      this.socket.write(JSON.stringify({ id, op, args, v: PROTOCOL_VERSION }) + '\n');
    });
  }

  /** Like call, returning the request id too (to `detach` a stream later). */
  stream<T = any>(op: string, args: Record<string, unknown>, onEvent: (ev: Record<string, unknown>) => void): { id: number; result: Promise<T> } {
    const id = this.nextId;
    return { id, result: this.call<T>(op, args, onEvent) };
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}
