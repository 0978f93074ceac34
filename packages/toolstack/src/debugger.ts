// `debug-attach` / `debug-detach`: a gdb stub for one domain inside the host daemon (issue 16 §2,
// what Xen's gdbsx does for a dom0 debugger). The HostRunner stays the only thing that runs the
// host: the DomainTarget is driven (`driver`), it gets every run's outcome (`hostRan`), and while
// gdb holds the domain in all-stop the runner runs nothing (simulated time stops for the whole
// host, as QEMU's gdbstub); with `othersRun` the domain is paused and the other domains run on.
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DomainTarget, GdbServer, type GdbAddress } from '@tachyxx/gdbstub';
import { ToolstackError } from './protocol.js';
import type { Toolstack } from './toolstack.js';
import type { HostRunStop } from '@tachyxx/hypervisor';

/** Longest Unix socket path (sun_path is 108 bytes with the NUL, Linux `UNIX_PATH_MAX`). */
export const MAX_UNIX_PATH = 107;

/**
 * Parse a `debug-attach` listen address: `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT` or
 * `unix:/ABSOLUTE/PATH` (a path that does not exist yet). Anything else is refused: the stub gives
 * whoever connects the domain's memory and registers, so it never listens beyond this machine.
 */
export function parseListen(spec: string): GdbAddress {
  if (spec.startsWith('unix:')) {
    const path = spec.slice(5);
    if (!isAbsolute(path)) throw new ToolstackError('EINVAL', `listen ${spec}: the socket path must be absolute`);
    if (Buffer.byteLength(path) > MAX_UNIX_PATH) throw new ToolstackError('EINVAL', `listen ${spec}: the socket path is longer than ${MAX_UNIX_PATH} bytes`);
    if (existsSync(path)) throw new ToolstackError('EEXIST', `listen ${spec}: ${path} exists (the daemon does not remove it)`);
    return { kind: 'unix', path };
  }
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d{1,5})$/.exec(spec);
  if (m === null) throw new ToolstackError('EINVAL', `listen ${spec}: only 127.0.0.1:PORT, localhost:PORT, [::1]:PORT or unix:PATH (the stub never listens beyond this machine)`);
  const port = Number(m[2]);
  if (port > 65535) throw new ToolstackError('EINVAL', `listen ${spec}: ${port} is not a TCP port (0-65535)`);
  return { kind: 'tcp', host: m[1] === '[::1]' ? '::1' : m[1] === 'localhost' ? '127.0.0.1' : m[1]!, port };
}

interface Active {
  domid: number;
  name: string;
  target: DomainTarget;
  server: GdbServer;
  listen: string;
  othersRun: boolean;
}

export interface DebugInfo {
  domid: number;
  name: string;
  /** What gdb connects to: `127.0.0.1:PORT` or the socket path (`target remote ...`). */
  listen: string;
  othersRun: boolean;
}

/** The host's debugger: at most one domain at a time (the CPUs' debug hooks and breakpoints are host-wide). */
export class Debuggers {
  private active: Active | undefined;
  /** An attach between its checks and its listen (listen is asynchronous). */
  private attaching: number | undefined;

  constructor(private readonly ts: Toolstack) {}

  /** The run loop must run nothing now (gdb holds a domain in all-stop). */
  get holdsHost(): boolean { return this.active?.target.holdsHost ?? false; }

  /** The run loop's `host.run` outcome (a breakpoint, a step, the domain's end). */
  hostRan(why: HostRunStop): void {
    this.active?.target.hostRan(why);
  }

  info(): DebugInfo | undefined {
    const a = this.active;
    return a === undefined ? undefined : { domid: a.domid, name: a.name, listen: a.listen, othersRun: a.othersRun };
  }

  async attach(domid: number, listen: string, othersRun: boolean): Promise<DebugInfo> {
    const r = this.ts.records.rec(domid);
    if (this.ts.closed) throw new ToolstackError('EBUSY', 'the host is shutting down');
    const busy = this.active?.domid ?? this.attaching;
    if (busy !== undefined) {
      const who = busy === domid ? `domain ${domid} (${r.name}) already has a debugger` : `domain ${busy} has the host's debugger (one at a time)`;
      throw new ToolstackError('EBUSY', `${who}; xl debug --detach ${busy} first`);
    }
    if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `domain ${domid} (${r.name}) is shut down`);
    const addr = parseListen(listen);
    this.attaching = domid;
    const target = new DomainTarget(this.ts.host, r.d, { othersRun });
    target.driver = { wake: () => this.ts.onWork() };
    const server = new GdbServer(target, { log: (l) => this.ts.log(`(d0) debug d${domid}: ${l}`) });
    let where: string;
    try {
      where = await server.listen(addr);
    } catch (e) {
      target.dispose();
      await server.close();
      throw new ToolstackError(addr.kind === 'tcp' && /EADDRINUSE/.test((e as Error).message) ? 'EBUSY' : 'EINVAL', `listen ${listen}: ${(e as Error).message}`);
    } finally {
      this.attaching = undefined;
    }
    if (r.d.shutdownCode !== null || this.ts.records.get(domid) !== r || this.ts.closed) {
      // destroyed (or the host closed) while the socket was being opened
      target.dispose();
      await server.close();
      throw new ToolstackError('ESRCH', `domain ${domid} went away while the debugger was starting`);
    }
    const a: Active = { domid, name: r.name, target, server, listen: where, othersRun };
    this.active = a;
    target.onFinished = (ev) => {
      this.ts.log(`(d0) debug d${domid}: ${ev.message}`);
      void this.end(a);
    };
    target.runFree();
    this.ts.log(`(d0) debug d${domid}: gdb stub listening on ${where}${othersRun ? ' (other domains run while it is held)' : ''}`);
    return this.info()!;
  }

  /** `debug-detach`: close the stub; a connected gdb is dropped and the domain runs on. */
  async detach(domid: number): Promise<DebugInfo> {
    const a = this.active;
    if (a === undefined || a.domid !== domid) throw new ToolstackError('EINVAL', `domain ${domid} has no debugger attached`);
    const info = this.info()!;
    await this.end(a);
    return info;
  }

  /** The domain was destroyed: its stub closes. */
  domainGone(domid: number): void {
    const a = this.active;
    if (a !== undefined && a.domid === domid) void this.end(a);
  }

  /** The daemon stops: close the stub. */
  close(): Promise<void> {
    return this.active === undefined ? Promise.resolve() : this.end(this.active);
  }

  private async end(a: Active): Promise<void> {
    if (this.active !== a) return;
    this.active = undefined;
    a.target.onFinished = undefined;
    a.target.dispose();
    this.ts.onWork(); // the run loop may run again
    await a.server.close();
    this.ts.log(`(d0) debug d${a.domid}: debugger closed`);
  }
}
