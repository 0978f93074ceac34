/**
 * The dom0 transport: a Unix socket server, one XsSocketConnection per client. Every socket
 * client is dom0 (privileged), as on a real host where only root reaches xenstored's socket.
 * Replies queued during one turn of the event loop go out in one write; a client that stops
 * reading stops being read (its input is paused), and one whose unread output passes the
 * connection limit (a watch flood) is dropped. Other clients never notice.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { secureSocketDir } from '@tachyxx/core';
import { XsDecoder } from './codec.js';
import { XsConnection } from './connection.js';
import type { Xenstored } from './xenstored.js';

/** Unread output above which the connection's input is paused. */
const PAUSE_AT = 256 * 1024;

export class XsSocketConnection extends XsConnection {
  readonly kind = 'socket' as const;
  private readonly decoder: XsDecoder;
  private flushScheduled = false;
  private paused = false;
  /** Sent at least one byte (a client past its handshake). */
  spoke = false;
  readonly since = performance.now();

  constructor(
    private readonly xs: Xenstored,
    readonly socket: Socket,
  ) {
    super(0);
    this.decoder = new XsDecoder((m) => this.xs.handle(this, m));
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.spoke = true;
      const err = this.decoder.push(chunk);
      if (err) this.xs.drop(this, `protocol error: message of ${err.len} bytes`);
    });
    socket.on('drain', () => this.flush());
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.clearOut();
      this.xs.detach(this);
    });
  }

  /** Output still queued while the kernel buffer is full: the client is not reading. */
  override overflowing(limit: number): boolean {
    return this.outBytes > limit && this.socket.writableNeedDrain;
  }

  protected transmit(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.closed) return;
    if (!this.socket.writableNeedDrain && this.queued > 0) {
      const parts: Uint8Array[] = [];
      let bytes = 0;
      for (let item = this.shiftOut(); item; item = bytes < 1 << 20 ? this.shiftOut() : undefined) {
        parts.push(item.bytes);
        bytes += item.bytes.length;
      }
      this.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
      if (this.queued > 0 && !this.socket.writableNeedDrain) this.transmit();
    }
    const backlog = this.outBytes + this.socket.writableLength;
    if (!this.paused && backlog > PAUSE_AT) {
      this.paused = true;
      this.socket.pause();
    } else if (this.paused && backlog <= PAUSE_AT / 2) {
      this.paused = false;
      this.socket.resume();
    }
  }

  shutdown(reason: string): void {
    this.closed = true;
    this.dropReason ??= reason;
    this.clearOut();
    this.socket.destroy();
  }
}

/** Limits of the dom0 socket (docs/limits.md). */
export interface XsSocketServerOptions {
  /**
   * Clients served at once (default 512). C xenstored has no limit of its own but the fd limit
   * (XENSTORED_MAX_OPEN_FDS, default unlimited = fs.nr_open); a flood of connections must not
   * take the daemon's fds (or the host daemon's, which shares the process). At the limit a new
   * client evicts the oldest one that has sent nothing yet, else it is refused (closed at once).
   */
  maxConnections?: number;
  /** A client that sends nothing for this long after connecting is closed (ms, default 10 000). */
  handshakeMs?: number;
  /** Where limit events are reported (the host log). */
  log?: (line: string) => void;
  /** Called on every connection and every chunk read (the host's run loop then yields to I/O). */
  onIo?: () => void;
}

export class XsSocketServer {
  private server: Server | undefined;
  readonly clients = new Set<XsSocketConnection>();
  private readonly maxConnections: number;
  private readonly handshakeMs: number;
  private readonly log: (line: string) => void;
  private readonly onIo: () => void;
  private sweeper: NodeJS.Timeout | undefined;
  /** Connections refused at the limit, evicted for a newer one, and closed for saying nothing. */
  readonly stats = { refused: 0, evicted: 0, timedOut: 0 };

  constructor(readonly xs: Xenstored, opts: XsSocketServerOptions = {}) {
    this.maxConnections = opts.maxConnections ?? 512;
    this.handshakeMs = opts.handshakeMs ?? 10_000;
    this.log = opts.log ?? (() => {});
    this.onIo = opts.onIo ?? (() => {});
  }

  private admit(socket: Socket): boolean {
    if (this.clients.size < this.maxConnections) return true;
    let victim: XsSocketConnection | undefined;
    for (const c of this.clients) if (!c.spoke && (!victim || c.since < victim.since)) victim = c;
    if (victim) {
      this.stats.evicted++;
      this.clients.delete(victim);
      victim.shutdown('evicted: connection limit reached and it sent nothing');
      return true;
    }
    this.stats.refused++;
    if (this.stats.refused === 1 || this.stats.refused % 1000 === 0) this.log(`(d0) xenstored: at its limit of ${this.maxConnections} socket connections: refusing new ones (${this.stats.refused} so far)`);
    socket.destroy();
    return false;
  }

  /**
   * Listens on a Unix socket path, mode 0600, in a directory that passes the trust check
   * (@tachyxx/core's secureSocketDir: created 0700 when missing; else ours, not a symlink, no
   * group/other write). A stale socket file (nobody listening) is replaced.
   */
  async listen(path: string): Promise<void> {
    secureSocketDir(dirname(path), { create: true });
    if (existsSync(path)) {
      const alive = await new Promise<boolean>((res) => {
        const s = connect(path);
        s.once('connect', () => {
          s.destroy();
          res(true);
        });
        s.once('error', () => res(false));
      });
      if (alive) throw new Error(`${path}: another xenstored is listening there`);
      unlinkSync(path);
    }
    const server = createServer((socket) => {
      socket.on('error', () => {});
      this.onIo();
      if (!this.admit(socket)) return;
      const conn = new XsSocketConnection(this.xs, socket);
      socket.on('data', () => this.onIo());
      this.clients.add(conn);
      socket.on('close', () => this.clients.delete(conn));
      this.xs.attach(conn);
    });
    this.server = server;
    server.on('error', (e) => this.log(`(d0) xenstored: socket error: ${e.message}`));
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
    this.path = path;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const c of [...this.clients]) {
        if (!c.spoke && now - c.since > this.handshakeMs) {
          this.stats.timedOut++;
          this.clients.delete(c);
          c.shutdown(`sent nothing within ${this.handshakeMs} ms`);
        }
      }
    }, Math.min(1000, this.handshakeMs));
    this.sweeper.unref();
  }

  private path: string | undefined;

  /** Stops listening, drops every client and removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const c of this.clients) c.socket.destroy();
    await new Promise<void>((res) => server.close(() => res()));
    if (this.path && existsSync(this.path)) {
      try {
        unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    }
  }
}
