// The stub's listening socket: TCP (loopback by default) or a Unix socket; one gdb at a time.
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync } from 'node:fs';
import { GdbSession } from './session.js';
import type { SliceTarget } from './slice-target.js';

export type GdbAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** Parse `--gdb [HOST:]PORT` or `--gdb unix:PATH`; throws an Error naming the problem. */
export function parseGdbAddress(spec: string): GdbAddress {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (path === '') throw new Error(`--gdb ${spec}: no socket path after 'unix:'`);
    return { kind: 'unix', path };
  }
  const i = spec.lastIndexOf(':');
  const host = i < 0 ? '127.0.0.1' : spec.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const portText = i < 0 ? spec : spec.slice(i + 1);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new Error(`--gdb ${spec}: '${portText}' is not a TCP port (0-65535); use [HOST:]PORT or unix:PATH`);
  }
  if (host === '') throw new Error(`--gdb ${spec}: empty host before ':'`);
  return { kind: 'tcp', host, port: Number(portText) };
}

export interface GdbServerOptions {
  log?: (line: string) => void;
}

export class GdbServer {
  private server: Server | undefined;
  private socket: Socket | undefined;
  private session: GdbSession | undefined;
  private unixPath: string | undefined;
  /** Resolves at the first connection (for --gdb-wait). */
  readonly connected: Promise<void>;
  private resolveConnected!: () => void;

  constructor(private readonly target: SliceTarget, private readonly o: GdbServerOptions = {}) {
    this.connected = new Promise((r) => { this.resolveConnected = r; });
  }

  /** Listen; resolves with the address gdb should use (`target remote ...`). */
  listen(addr: GdbAddress): Promise<string> {
    const server = createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        const a = server.address();
        resolve(addr.kind === 'unix' ? addr.path : typeof a === 'object' && a ? `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : String(a));
      };
      if (addr.kind === 'unix') {
        if (existsSync(addr.path)) unlinkSync(addr.path); // a stale socket of an earlier run
        this.unixPath = addr.path;
        server.listen(addr.path, done);
      } else server.listen(addr.port, addr.host, done);
    });
  }

  private accept(s: Socket): void {
    if (this.socket !== undefined) {
      // one debugger at a time (as gdbserver / QEMU)
      s.end();
      this.o.log?.('gdbstub: refused a second connection (a gdb is attached)');
      return;
    }
    s.setNoDelay(true);
    this.socket = s;
    const t = this.target;
    const session = new GdbSession(t, {
      send: (d) => { if (!s.destroyed) s.write(Buffer.from(d, 'latin1')); },
      close: () => s.end(),
      log: this.o.log,
    });
    this.session = session;
    if (!t.exited) session.setInitialStop(t.pause());
    this.o.log?.(`gdbstub: gdb connected from ${s.remoteAddress ?? 'unix socket'}`);
    s.on('data', (b) => session.receive(b));
    s.on('error', () => {});
    s.on('close', () => {
      this.socket = undefined;
      this.session = undefined;
      // gone without D or k: detach (breakpoints go, the guest runs on)
      if (!session.isClosed && !t.exited) t.detach();
      this.o.log?.('gdbstub: gdb disconnected');
    });
    this.resolveConnected();
  }

  get activeSession(): GdbSession | undefined { return this.session; }

  /** Stop listening and drop the connection (after the guest finished). */
  close(): Promise<void> {
    this.socket?.end();
    return new Promise((r) => {
      if (this.server === undefined) return r();
      this.server.close(() => {
        if (this.unixPath !== undefined && existsSync(this.unixPath)) { try { unlinkSync(this.unixPath); } catch { /* gone */ } }
        r();
      });
      // a connected gdb keeps the server open: let it go after the W reply was flushed
      setTimeout(() => this.socket?.destroy(), 200).unref();
    });
  }
}
