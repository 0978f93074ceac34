/**
 * The control socket: a Unix socket (mode 0600 in a 0700 directory) serving the JSON-lines
 * protocol of protocol.ts (the client side is client.ts).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { secureSocketDir, listenPrivateSocket, SocketDirError } from '@tachyxx/core';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { LineSplitter, LineTooLongError, MAX_REQUEST_LINE, ToolstackError, validateRequest, type ErrorCode, type Reply } from './protocol.js';
import type { OpContext, Toolstack } from './toolstack.js';

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
      s.on('data', (d: Buffer) => {
        try {
          split.push(d);
        } catch {
          finish({ state: 'live' });
        }
      });
      s.once('close', () => finish({ state: 'live' }));
    });
  });
}

/**
 * Makes sure `dir` can hold the socket: created mode 0700 when missing, else it must pass the
 * trust check (@tachyxx/core's secureSocketDir: a directory, not a symlink, owned by us, no
 * group/other write). Throws ToolstackError EACCES naming the directory otherwise.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    secureSocketDir(dir, { create: true });
  } catch (e) {
    if (e instanceof SocketDirError) throw new ToolstackError('EACCES', e.message);
    throw e;
  }
}

/**
 * Listens on `path` with mode 0600 (umask while binding, then chmod), in a directory that passes
 * the trust check. Refuses a path a live host (or anyone) answers on, or that is not a socket;
 * removes a stale one.
 */
export async function listenPrivate(server: Server, path: string): Promise<void> {
  ensurePrivateDir(dirname(path));
  const probe = await probeSocket(path);
  if (probe.state === 'live') throw new ToolstackError('EBUSY', `${path} is in use by a running host${probe.pid ? ` (pid ${probe.pid})` : ''}: stop it first (or use --socket for another host)`);
  if (probe.state === 'other') throw new ToolstackError('EEXIST', `${path} exists and is not a socket: not touching it`);
  if (probe.state === 'stale') unlinkSync(path);
  await listenPrivateSocket(server, path);
}

/** Limits of the control socket (docs/limits.md). */
export interface ControlServerOptions {
  /** Connections served at once (default 256). At the limit, a new connection first evicts the oldest that never sent a request, else the oldest idle one; else it is refused with an EBUSY line. */
  maxConnections?: number;
  /** A connection must send its first complete request within this many ms (default 10 000). */
  handshakeMs?: number;
  /** A connection with no request in flight and no stream is closed after this many ms (default 300 000). */
  idleMs?: number;
  /** Requests of one connection in flight at once (default 128); more get EBUSY. */
  maxInFlight?: number;
  /** Longest request line in bytes (default MAX_REQUEST_LINE, 1 MiB). */
  maxRequestLine?: number;
  /** Unsent reply bytes above which the connection's input is paused until the client reads (default 16 MiB). */
  maxBacklog?: number;
  /** How often the timeouts are checked (ms, default 1000). */
  sweepMs?: number;
}

export const CONTROL_DEFAULTS: Required<ControlServerOptions> = {
  maxConnections: 256,
  handshakeMs: 10_000,
  idleMs: 300_000,
  maxInFlight: 128,
  maxRequestLine: MAX_REQUEST_LINE,
  maxBacklog: 16 << 20,
  sweepMs: 1000,
};

class Conn implements OpContext {
  private readonly streams = new Map<number | string, () => void>();
  topPrev?: Map<number, { cpuNs: number; simNs: number }>;
  closed = false;
  /** Complete request lines received. */
  requests = 0;
  inFlight = 0;
  lastActive = performance.now();
  readonly since = performance.now();
  paused = false;
  /** Stream events queued for a request whose reply is not sent yet. */
  private readonly pendingReply = new Map<number | string, string[]>();
  constructor(readonly socket: Socket, private readonly maxBacklog: number) {}

  get idle(): boolean {
    return this.inFlight === 0 && this.streams.size === 0;
  }

  private out(line: string): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(line);
    // A client that does not read its replies stops being read (the backlog stays bounded).
    if (!this.paused && this.socket.writableLength > this.maxBacklog) {
      this.paused = true;
      this.socket.pause();
      this.socket.once('drain', () => {
        this.paused = false;
        if (!this.closed) this.socket.resume();
      });
    }
  }

  write(obj: unknown): boolean {
    if (this.closed || this.socket.destroyed) return false;
    this.out(JSON.stringify(obj) + '\n');
    return true;
  }
  beginRequest(id: number | string): void { this.pendingReply.set(id, []); }
  reply(r: Reply): void {
    let line: string;
    try {
      line = JSON.stringify(r) + '\n';
    } catch (e) {
      // A result that cannot be serialized is this request's failure, nobody else's.
      line = JSON.stringify({ id: r.id, ok: false, error: { code: 'EIO', message: `internal error: the reply cannot be sent: ${(e as Error).message}` } }) + '\n';
    }
    this.out(line);
    const q = r.id === null ? undefined : this.pendingReply.get(r.id);
    if (r.id !== null) this.pendingReply.delete(r.id);
    if (q) for (const l of q) this.out(l);
  }
  send(id: number | string, ev: Record<string, unknown>): boolean {
    if (this.closed || this.socket.destroyed) return false;
    // Keep a slow console client from growing our memory: drop output past 4 MiB unread.
    if (ev.event === 'console' && this.socket.writableLength > 4 << 20) return true;
    let line: string;
    try {
      line = JSON.stringify({ id, ...ev }) + '\n';
    } catch {
      return true;
    }
    const q = this.pendingReply.get(id);
    if (q) q.push(line);
    else this.out(line);
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
  /** Sends a last error line and closes the connection. */
  drop(code: ErrorCode, message: string): void {
    if (!this.closed && !this.socket.destroyed) this.socket.end(JSON.stringify({ id: null, ok: false, error: { code, message } }) + '\n');
    this.close();
    // end() flushes the line; a peer that never reads is cut off soon after.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.streams.values()) {
      try {
        c();
      } catch {
        /* a stream's close must not stop the others */
      }
    }
    this.streams.clear();
  }
}

/** JSON of the arguments, cut to `max` characters, for a log line. */
function argsForLog(args: unknown, max = 200): string {
  let s: string;
  try {
    s = JSON.stringify(args) ?? String(args);
  } catch {
    s = '(unprintable)';
  }
  return s.length > max ? `${s.slice(0, max)}...(${s.length} chars)` : s;
}

export class ControlServer {
  private server: Server | null = null;
  private readonly conns = new Set<Conn>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly o: Required<ControlServerOptions>;
  path: string | null = null;
  /** Counts since start (host-counts, tests): connections refused at the limit, evicted, timed out, and ops that threw unexpectedly. */
  readonly stats = { accepted: 0, refused: 0, evicted: 0, timedOut: 0, internalErrors: 0, tooLong: 0 };

  constructor(private readonly ts: Toolstack, opts: ControlServerOptions = {}) {
    this.o = { ...CONTROL_DEFAULTS, ...opts };
  }

  get connections(): number {
    return this.conns.size;
  }

  async listen(path: string): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    server.on('error', (e) => this.ts.log(`(d0) host: control socket error: ${e.message}`));
    await listenPrivate(server, path);
    this.server = server;
    this.path = path;
    this.sweeper = setInterval(() => this.sweep(), this.o.sweepMs);
    this.sweeper.unref();
  }

  private oldest(pred: (c: Conn) => boolean): Conn | undefined {
    let best: Conn | undefined;
    for (const c of this.conns) if (pred(c) && (!best || c.since < best.since)) best = c;
    return best;
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {});
    this.ts.onIo();
    if (this.conns.size >= this.o.maxConnections) {
      // At the limit: make room from a connection that holds a slot without using it, so that
      // a flood of silent (or idle) connections cannot lock xl out; else refuse this one.
      const victim = this.oldest((c) => c.requests === 0) ?? this.oldest((c) => c.idle);
      if (victim) {
        this.stats.evicted++;
        this.conns.delete(victim);
        victim.drop('EBUSY', `closed: the host is at its limit of ${this.o.maxConnections} connections and this one was ${victim.requests === 0 ? 'silent' : 'idle'}`);
      } else {
        this.stats.refused++;
        if (this.stats.refused === 1 || this.stats.refused % 1000 === 0) this.ts.log(`(d0) host: control socket at its limit of ${this.o.maxConnections} connections: refusing new ones (${this.stats.refused} so far)`);
        socket.end(JSON.stringify({ id: null, ok: false, error: { code: 'EBUSY', message: `the host is at its limit of ${this.o.maxConnections} connections (all busy): try again later` } }) + '\n');
        setTimeout(() => socket.destroy(), 1000).unref();
        return;
      }
    }
    this.stats.accepted++;
    const c = new Conn(socket, this.o.maxBacklog);
    this.conns.add(c);
    const split = new LineSplitter((line) => this.onLine(c, line), this.o.maxRequestLine);
    socket.on('data', (d: Buffer) => {
      if (c.closed) return;
      this.ts.onIo();
      try {
        split.push(d);
      } catch (e) {
        split.stop();
        if (e instanceof LineTooLongError) this.stats.tooLong++;
        const te = e instanceof ToolstackError ? e : new ToolstackError('EIO', `internal error: ${(e as Error)?.message ?? String(e)}`);
        if (!(e instanceof ToolstackError)) this.ts.log(`(d0) host: internal error reading a request: ${(e as Error)?.stack ?? String(e)}`);
        this.conns.delete(c);
        c.drop(te.code, te.message);
      }
    });
    socket.on('close', () => {
      c.close();
      this.conns.delete(c);
    });
  }

  /** Closes connections past their handshake or idle time. */
  private sweep(): void {
    const now = performance.now();
    for (const c of [...this.conns]) {
      if (c.requests === 0 && now - c.since > this.o.handshakeMs) {
        this.stats.timedOut++;
        this.conns.delete(c);
        c.drop('EPROTO', `closed: no request within ${this.o.handshakeMs} ms of connecting`);
      } else if (c.requests > 0 && c.idle && now - c.lastActive > this.o.idleMs) {
        this.stats.timedOut++;
        this.conns.delete(c);
        c.drop('EPROTO', `closed: idle for ${this.o.idleMs} ms`);
      }
    }
  }

  private onLine(c: Conn, line: string): void {
    c.requests++;
    c.lastActive = performance.now();
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return c.reply({ id: null, ok: false, error: { code: 'EPROTO', message: 'request is not valid JSON' } });
    }
    const rawId = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as { id?: unknown }).id : undefined;
    const replyId = typeof rawId === 'number' && Number.isFinite(rawId) ? rawId : typeof rawId === 'string' && rawId.length <= 256 ? rawId : null;
    let req: ReturnType<typeof validateRequest>;
    try {
      req = validateRequest(raw);
    } catch (e) {
      const te = e instanceof ToolstackError ? e : new ToolstackError('EPROTO', String(e));
      return c.reply({ id: replyId, ok: false, error: { code: te.code, message: te.message } });
    }
    const { id, op, args } = req;
    if (op === 'detach') {
      const ok = c.detach(args.stream as number | string);
      return c.reply(ok ? { id, ok: true, result: { stream: args.stream } } : { id, ok: false, error: { code: 'ENOENT', message: `no stream ${String(args.stream)}` } });
    }
    if (c.inFlight >= this.o.maxInFlight) {
      return c.reply({ id, ok: false, error: { code: 'EBUSY', message: `too many requests in flight on this connection (at most ${this.o.maxInFlight}): wait for replies` } });
    }
    c.inFlight++;
    c.beginRequest(id);
    const done = (r: Reply) => {
      c.inFlight--;
      c.lastActive = performance.now();
      c.reply(r);
    };
    // The guard: whatever the op does (throws synchronously, rejects, returns something that
    // cannot be serialized), only this request fails; the daemon and other clients go on.
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(this.ts.op(op, args, c, id));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (result) => done({ id, ok: true, result: result ?? {} }),
      (e: unknown) => {
        if (e instanceof ToolstackError) return done({ id, ok: false, error: { code: e.code, message: e.message } });
        this.stats.internalErrors++;
        try {
          this.ts.log(`(d0) host: internal error in op '${op}' args ${argsForLog(args)}: ${(e as Error)?.stack ?? String(e)}`);
        } catch {
          /* logging must not take the daemon down either */
        }
        done({ id, ok: false, error: { code: 'EIO', message: `internal error in ${op}: ${(e as Error)?.message ?? String(e)}` } });
      },
    ).catch(() => {});
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
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
