// An in-process host daemon on a temporary socket, and a raw line client for hostile requests.
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, HostClient, HostRunner, type ControlServerOptions, type Toolstack, type ToolstackOptions } from '@tachyxx/toolstack';
import type { Plugin } from '@tachyxx/core';
import { makeToolstack } from './helpers.js';

export interface Daemon {
  ts: Toolstack;
  server: ControlServer;
  runner: HostRunner;
  path: string;
  dir: string;
  logs: string[];
  stop(): Promise<void>;
}

export async function startDaemon(opts: ControlServerOptions = {}, tsOpts: Partial<ToolstackOptions> = {}, host: Record<string, unknown> = {}, plugins: readonly Plugin<any>[] = []): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'tachyxx-ctl-'));
  const logs: string[] = [];
  const ts = makeToolstack(host, { onLog: (l) => logs.push(l), ...tsOpts }, plugins);
  const server = new ControlServer(ts, opts);
  const path = join(dir, 'host.sock');
  await server.listen(path);
  const runner = new HostRunner(ts, { paced: false });
  runner.start();
  return {
    ts, server, runner, path, dir, logs,
    async stop() {
      runner.stop();
      await server.close();
      ts.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client that writes raw bytes and collects the reply lines (parsed when JSON). */
export class RawClient {
  readonly lines: any[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private buf = '';
  constructor(readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const l = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        try {
          this.lines.push(JSON.parse(l));
        } catch {
          this.lines.push(l);
        }
      }
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => {});
  }
  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }
  static open(path: string): Promise<RawClient> {
    return new Promise((res, rej) => {
      const s = connect(path);
      s.once('connect', () => res(new RawClient(s)));
      s.once('error', rej);
    });
  }
  /** Waits until `n` lines arrived (or the connection closed, or `ms` passed). */
  async waitLines(n: number, ms = 5000): Promise<any[]> {
    const end = Date.now() + ms;
    while (this.lines.length < n && !this.closed && Date.now() < end) {
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
    return this.lines;
  }
  async waitClosed(ms = 5000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise<void>((r) => (this.waiters.push(r), setTimeout(r, 20)));
    return this.closed;
  }
  send(line: string): void {
    this.sock.write(line + '\n');
  }
  close(): void {
    this.sock.destroy();
  }
}

/** `list` through a fresh client, within `ms`. */
export async function listWithin(path: string, ms = 2000): Promise<{ names: string[]; ms: number }> {
  const t0 = performance.now();
  const c = await HostClient.connect(path);
  try {
    const r = await Promise.race([
      c.call<{ domains: { name: string }[] }>('list'),
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`list took more than ${ms} ms`)), ms)),
    ]);
    return { names: r.domains.map((d) => d.name), ms: performance.now() - t0 };
  } finally {
    c.close();
  }
}
