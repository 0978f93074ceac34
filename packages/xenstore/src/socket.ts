/**
 * The dom0 transport: a Unix socket server, one XsSocketConnection per client. Every socket
 * client is dom0 (privileged), as on a real host where only root reaches xenstored's socket.
 * Replies queued during one turn of the event loop go out in one write; a client that stops
 * reading stops being read (its input is paused), and one whose unread output passes the
 * connection limit (a watch flood) is dropped. Other clients never notice.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
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

  constructor(
    private readonly xs: Xenstored,
    readonly socket: Socket,
  ) {
    super(0);
    this.decoder = new XsDecoder((m) => this.xs.handle(this, m));
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
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

export class XsSocketServer {
  private server: Server | undefined;
  readonly clients = new Set<XsSocketConnection>();

  constructor(readonly xs: Xenstored) {}

  /** Listens on a Unix socket path. A stale socket file (nobody listening) is replaced. */
  async listen(path: string): Promise<void> {
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
      const conn = new XsSocketConnection(this.xs, socket);
      this.clients.add(conn);
      socket.on('close', () => this.clients.delete(conn));
      this.xs.attach(conn);
    });
    this.server = server;
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(path, () => {
        server.off('error', rej);
        res();
      });
    });
    this.path = path;
  }

  private path: string | undefined;

  /** Stops listening, drops every client and removes the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
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
