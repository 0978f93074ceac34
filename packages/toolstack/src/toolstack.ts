/**
 * The dom0 toolstack of a Tachyxx host (libxl + xenconsoled + the xl daemon side): builds domains
 * from libxl domain_configs, carries out their on_poweroff / on_reboot / on_crash / on_watchdog
 * actions, keeps their consoles and the host log, and answers every control-protocol op.
 *
 * Dom0 is domain 0 of the Host's domain table (memory owned, P2M built) with no Vcpu objects:
 * its vCPUs are this TypeScript code, listed as blocked in vcpu-list.
 */
import { MAX_MEMKB, parseMemKb } from './units.js';
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_RAM_BASE, PAGE_SIZE, ShutdownReason, shutdownReasonName } from '@tachyxx/abi';
import { type HostConfig, type PluginRegistry } from '@tachyxx/core';
import { ImageError } from '@tachyxx/isa';
import { HostError, type AssembledHost, type Domain, type Host, type Vcpu } from '@tachyxx/hypervisor';
import { SchedError, DEFAULT_POOL, DEFAULT_WEIGHT, SCHED_VARIANTS, type SchedVariant } from '@tachyxx/sched';
import type { EventChannels, EvtchnComponent } from '@tachyxx/evtchn';
import type { GrantComponent, GrantTables } from '@tachyxx/grant';
import { Xenstored, type ConsoleComponent, type ConsoleRings, connectLocal, createDomainLayout, domainPath, vmPath, type XenstoreComponent, type XsClient } from '@tachyxx/xenstore';
import { assembleToolstackHost, TOOLSTACK_EVENT } from './assembly.js';
import { ToolstackError, type ErrorCode, type ListEntry, type OpName, type VcpuEntry, OPS, PROTOCOL_NAME, PROTOCOL_VERSION, validateArgs } from './protocol.js';
import { MAX_IMAGE_BYTES, checkImageFile, readImageFile } from './image-file.js';
import { toBuildSpec, type BuildSpec, type ShutdownAction } from './domain-config.js';
import { formatCpuList, parseCpuList, type CpuTopology } from './cpulist.js';

export const XEN_VERSION = { major: 4, minor: 17, extra: '-tachyxx' } as const;
export const DOM0_NAME = 'Domain-0';
const DOM0_UUID = '00000000-0000-0000-0000-000000000000';
const CONSOLE_BUFFER = 64 * 1024;
const HOST_LOG_LINES = 10_000;

/**
 * xenconsoled's rate limit (tools/console/daemon/io.c): RATE_LIMIT_ALLOWANCE = 30 ring events
 * per RATE_LIMIT_PERIOD = 200 ms per domain, each event draining at most the 2 KiB output ring
 * (XENCONS_RING_SIZE): 30 x 2048 bytes per 200 ms, about 300 KiB/s. Bytes past the allowance are
 * dropped and counted (xenconsoled stops reading the ring instead; here console_io output has no
 * ring to leave it in), and reported in the host log once per period that dropped any.
 */
export const CONSOLE_RATE_DEFAULT = { bytes: 30 * 2048, periodMs: 200 } as const;
/** Console and host log files rotate past this size (bytes), keeping LOG_KEEP_DEFAULT old copies (NAME.1, NAME.2). */
export const LOG_MAX_BYTES_DEFAULT = 16 << 20;
export const LOG_KEEP_DEFAULT = 2;

export interface ToolstackOptions {
  /** The host config (components it leaves out get the toolstack's defaults: see TOOLSTACK_COMPONENTS). */
  config: HostConfig;
  /** Every plugin the config may select (the toolstack's own are added when missing). */
  registry: PluginRegistry;
  /** Dom0's memory (MiB) and vCPUs; default the host config's `dom0`, else 256 MiB (at most a quarter of RAM) and 1 vCPU. */
  dom0?: { memoryMiB: number; vcpus: number };
  /** Console logs (guest-<name>.log) and the host log (hypervisor.log) go here; none when absent. */
  logDir?: string;
  /** Core files of coredump-* actions go here (default logDir/dump, else none written). */
  dumpDir?: string;
  /** A restart comes at least this long (wall ms) after the previous start of the same domain (crash loops). Default 200. */
  restartDelayMs?: number;
  /** Extra host-log sink (the daemon's stderr in the foreground). */
  onLog?: (line: string) => void;
  /** Per-domain console rate limit (default CONSOLE_RATE_DEFAULT); bytes 0 = unlimited. */
  consoleRate?: { bytes: number; periodMs: number };
  /** Log files rotate past this many bytes (default LOG_MAX_BYTES_DEFAULT, 16 MiB); 0 = never. */
  logMaxBytes?: number;
  /** Rotated copies kept per log (default LOG_KEEP_DEFAULT, 2); 0 = the log restarts empty. */
  logKeep?: number;
  /** Wall clock in ms for the console rate limit (default performance.now; tests inject one). */
  wallNow?: () => number;
}

/** An append-only log file that rotates past a size: NAME -> NAME.1 -> ... -> NAME.<keep>. */
class LogFile {
  private fd: number;
  private size: number;
  constructor(readonly path: string, private readonly maxBytes: number, private readonly keep: number) {
    this.fd = openSync(path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }
  write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) {
      if (this.maxBytes > 0 && this.size >= this.maxBytes) this.rotate();
      const n = this.maxBytes > 0 ? Math.min(b.length - off, this.maxBytes - this.size) : b.length - off;
      writeAllFd(this.fd, b.subarray(off, off + n));
      this.size += n;
      off += n;
    }
  }
  private rotate(): void {
    closeSync(this.fd);
    if (this.keep > 0) {
      for (let i = this.keep - 1; i >= 1; i--) {
        try {
          renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
        } catch {
          /* no such copy yet */
        }
      }
      renameSync(this.path, `${this.path}.1`);
      this.fd = openSync(this.path, 'a', 0o600);
    } else this.fd = openSync(this.path, 'w', 0o600);
    this.size = 0;
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Per-connection state the ops need (streams, top's previous sample). */
export interface OpContext {
  /** Sends a stream event line for request `id`. Returns false when the client is gone. */
  send(id: number | string, ev: Record<string, unknown>): boolean;
  /** Registers a stream's close function (detach / disconnect call it). */
  addStream(id: number | string, close: () => void): void;
  endStream(id: number | string): void;
  topPrev?: Map<number, { cpuNs: number; simNs: number }>;
}

interface ConsoleSink {
  data(bytes: Buffer): void;
  end(reason: string, extra?: Record<string, unknown>): void;
}

interface DomRecord {
  d: Domain<Vcpu>;
  name: string;
  uuid: string;
  config: Record<string, unknown>;
  spec: BuildSpec;
  image: Uint8Array;
  targetMemkb: number;
  maxMemkb: number;
  availVcpus: number;
  /** Shutdown seen and its action started. */
  handled: boolean;
  startedWall: number;
  firstConsoleWall: number | null;
  console: Buffer[];
  consoleBytes: number;
  pendingLog: Buffer[];
  logFd: LogFile | null;
  /** Console rate limit: the current period's end (wall ms), bytes let through, bytes dropped (this period, and in all). */
  rate: { periodEnd: number; used: number; dropped: number; droppedTotal: number };
  sinks: Set<ConsoleSink>;
  waiters: ((r: Record<string, unknown>) => void)[];
  restarts: number;
}

export interface DomainEvent {
  kind: 'created' | 'shutdown' | 'destroyed' | 'restarted' | 'renamed' | 'paused' | 'unpaused';
  domid: number;
  name: string;
  [k: string]: unknown;
}

const REASON_KEY: Record<string, keyof BuildSpec['actions'] | null> = {
  poweroff: 'poweroff', reboot: 'reboot', crash: 'crash', watchdog: 'watchdog', soft_reset: 'soft_reset', suspend: null,
};

function errnoCode(errno: number): ErrorCode {
  switch (errno) {
    case 3: return 'ESRCH';
    case 12: return 'ENOMEM';
    case 17: return 'EEXIST';
    case 16: return 'EBUSY';
    case 2: return 'ENOENT';
    case 1: return 'EPERM';
    default: return 'EINVAL';
  }
}

const mib = (frames: number) => Math.floor(frames / 256);

export class Toolstack {
  readonly host: Host;
  readonly xs: Xenstored;
  readonly evtchn: EventChannels;
  readonly grants: GrantTables;
  readonly dom0: Domain<Vcpu>;
  readonly topo: CpuTopology;
  readonly config: HostConfig;
  readonly bootWall = Date.now();
  private readonly dom0Info: { vcpus: number; maxVcpus: number; targetMemkb: number; maxMemkb: number; weight: number; cap: number; hard: (number[] | null)[]; soft: (number[] | null)[] };
  private readonly records = new Map<number, DomRecord>();
  private readonly xsc: XsClient;
  private readonly hostLog: string[] = [];
  private hostLogPending: string[] = [];
  private hostLogFd: LogFile | null = null;
  private readonly consoleRate: { bytes: number; periodMs: number };
  private readonly wallNow: () => number;
  private readonly hostLogSinks = new Set<(line: string) => void>();
  private readonly poolDisplay = new Map<string, string>();
  private readonly opts: ToolstackOptions;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  /** Called when something may have become runnable (the run loop wakes up). */
  onWork: () => void = () => {};
  /** Called when a client connects or sends a request (the run loop gives the event loop a few turns). */
  onIo: () => void = () => {};
  private seq = 0;
  private closed = false;
  private readonly consoleRings: ConsoleRings;
  /** The assembled host (its components, container and bus). */
  readonly assembled: AssembledHost;

  constructor(opts: ToolstackOptions) {
    this.opts = opts;
    this.consoleRate = opts.consoleRate ?? CONSOLE_RATE_DEFAULT;
    this.wallNow = opts.wallNow ?? (() => performance.now());
    if (!(Number.isSafeInteger(this.consoleRate.bytes) && this.consoleRate.bytes >= 0 && Number.isSafeInteger(this.consoleRate.periodMs) && this.consoleRate.periodMs > 0)) {
      throw new ToolstackError('EINVAL', `consoleRate: bytes must be an integer >= 0 and periodMs an integer > 0, got ${JSON.stringify(this.consoleRate)}`);
    }
    // One assembly: the host and every selected component (evtchn, grant, xenstore with its
    // store rings, the console rings whose output joins console_io's), in dependency order.
    const assembled = assembleToolstackHost(opts.config, opts.registry, {
      console: (d, bytes) => this.onConsole(d, bytes),
      log: (line) => this.log(line),
    });
    this.assembled = assembled;
    this.config = assembled.config;
    if (opts.logDir) {
      mkdirSync(opts.logDir, { recursive: true, mode: 0o700 });
      this.hostLogFd = this.openLog('hypervisor.log');
    }
    this.host = assembled.host;
    this.evtchn = assembled.component<EvtchnComponent>('evtchn').channels;
    this.grants = assembled.component<GrantComponent>('grant').tables;
    // xenstored comes from the xenstore component (its stats at host.xenstore, watches on the bus);
    // the toolstack adds libxl's entries.
    this.xs = assembled.component<XenstoreComponent>('xenstore').xs;
    this.consoleRings = assembled.component<ConsoleComponent>('console').rings;
    this.xsc = connectLocal(this.xs, 0);
    this.topo = { pcpus: this.config.pcpus, nodes: this.host.machine.numa.nodes.map((n) => n.pcpus) };

    const d0 = opts.dom0 ?? this.config.dom0 ?? { memoryMiB: Math.min(256, Math.max(1, Math.floor(this.config.memoryMiB / 4))), vcpus: 1 };
    const created = this.host.domains.create({ name: DOM0_NAME, domid: 0, memoryMiB: d0.memoryMiB });
    if (typeof created === 'number') throw new ToolstackError('ENOMEM', `cannot build dom0 with ${d0.memoryMiB} MiB (host memory ${this.config.memoryMiB} MiB): error ${created}`);
    this.dom0 = created;
    this.dom0Info = {
      vcpus: d0.vcpus, maxVcpus: d0.vcpus, targetMemkb: d0.memoryMiB * 1024, maxMemkb: d0.memoryMiB * 1024, weight: DEFAULT_WEIGHT, cap: 0,
      hard: Array.from({ length: d0.vcpus }, () => null), soft: Array.from({ length: d0.vcpus }, () => null),
    };
    // Dom0's xenstore entries (xen-init-dom0), and the roots every domain's entries hang under,
    // so that a domain's create + destroy leaves the node count where it was.
    this.xsc.transaction((tx) => {
      const dom = domainPath(0);
      this.xsc.write(`${dom}/name`, DOM0_NAME, tx);
      this.xsc.write(`${dom}/domid`, '0', tx);
      this.xsc.write(`${dom}/memory/target`, String(this.dom0Info.targetMemkb), tx);
      this.xsc.write(`${dom}/memory/static-max`, String(this.dom0Info.maxMemkb), tx);
      for (let i = 0; i < d0.vcpus; i++) this.xsc.write(`${dom}/cpu/${i}/availability`, 'online', tx);
      this.xsc.mkdir('/vm', tx);
      this.xsc.mkdir('/libxl', tx);
    });
    this.log(`(XEN) Xen version ${XEN_VERSION.major}.${XEN_VERSION.minor}${XEN_VERSION.extra} (Tachyxx)`);
    this.log(`(XEN) ${this.config.pcpus} pCPU(s), ${this.config.memoryMiB} MiB, ${this.topo.nodes.length} NUMA node(s), scheduler ${this.host.sched.getPool(DEFAULT_POOL).variant}`);
    this.log(`(XEN) Dom0: ${d0.memoryMiB} MiB, ${d0.vcpus} vCPU(s) (the TypeScript toolstack)`);
  }

  // =============================================================================================
  // Logs and consoles
  // =============================================================================================

  private openLog(name: string): LogFile {
    return new LogFile(join(this.opts.logDir!, name), this.opts.logMaxBytes ?? LOG_MAX_BYTES_DEFAULT, this.opts.logKeep ?? LOG_KEEP_DEFAULT);
  }

  log(line: string): void {
    this.hostLog.push(line);
    if (this.hostLog.length > HOST_LOG_LINES) this.hostLog.splice(0, this.hostLog.length - HOST_LOG_LINES);
    if (this.hostLogFd !== null) this.hostLogPending.push(line);
    this.opts.onLog?.(line);
    for (const s of this.hostLogSinks) s(line);
  }

  private onConsole(d: Domain<Vcpu>, bytes: Uint8Array): void {
    const r = this.records.get(d.domid);
    if (!r || r.d !== d) return;
    let take = bytes.length;
    if (this.consoleRate.bytes > 0) {
      const rt = r.rate;
      const now = this.wallNow();
      if (now >= rt.periodEnd) this.endRatePeriod(r, now);
      take = Math.max(0, Math.min(take, this.consoleRate.bytes - rt.used));
      rt.used += take;
      rt.dropped += bytes.length - take;
      if (take === 0) return;
    }
    const b = Buffer.from(bytes.subarray(0, take));
    r.firstConsoleWall ??= performance.now();
    r.console.push(b);
    r.consoleBytes += b.length;
    while (r.consoleBytes > CONSOLE_BUFFER && r.console.length > 1) r.consoleBytes -= r.console.shift()!.length;
    if (r.logFd !== null) r.pendingLog.push(b);
    for (const s of r.sinks) s.data(b);
  }

  /** Closes a console rate period: reports what it dropped (one host-log line), starts the next. */
  private endRatePeriod(r: DomRecord, now: number): void {
    const rt = r.rate;
    if (rt.dropped > 0) {
      rt.droppedTotal += rt.dropped;
      this.log(`(d0) xenconsoled: domain ${r.d.domid} '${r.name}': console output over the rate limit (${this.consoleRate.bytes} bytes per ${this.consoleRate.periodMs} ms): ${rt.dropped} bytes dropped (${rt.droppedTotal} in all)`);
    }
    rt.used = 0;
    rt.dropped = 0;
    rt.periodEnd = now + this.consoleRate.periodMs;
  }

  /** Console bytes of a domain dropped by the rate limit so far (reported ones and the current period's). */
  consoleDropped(domid: number): number {
    const r = this.records.get(domid);
    return r ? r.rate.droppedTotal + r.rate.dropped : 0;
  }

  /** Writes pending console and host-log output to the log files (once per run slice). */
  flushLogs(): void {
    const now = this.wallNow();
    for (const r of this.records.values()) {
      if (r.rate.dropped > 0 && now >= r.rate.periodEnd) this.endRatePeriod(r, now);
      if (r.logFd !== null && r.pendingLog.length) {
        r.logFd.write(Buffer.concat(r.pendingLog));
        r.pendingLog.length = 0;
      }
    }
    if (this.hostLogFd !== null && this.hostLogPending.length) {
      this.hostLogFd.write(Buffer.from(this.hostLogPending.join('\n') + '\n'));
      this.hostLogPending = [];
    }
  }

  /** Toolstack domain events go on the host's bus (TOOLSTACK_EVENT): `xl` streams subscribe. */
  private emit(ev: DomainEvent): void {
    const bus = this.host.bus;
    if (bus.hasSubscribers(TOOLSTACK_EVENT)) bus.publish(TOOLSTACK_EVENT, { time: this.host.clock.now, ...ev });
  }

  // =============================================================================================
  // Lookups
  // =============================================================================================

  private domainArg(args: Record<string, unknown>, key = 'domain'): number {
    const v = args[key];
    if (v === undefined || v === null || v === '') throw new ToolstackError('EINVAL', `${key}: a domain name or id is required`);
    const s = String(v);
    let domid: number | undefined;
    if (/^\d+$/.test(s)) {
      const id = Number(s);
      if (id === 0 || this.records.has(id)) domid = id;
    } else if (s === DOM0_NAME) domid = 0;
    else for (const r of this.records.values()) if (r.name === s) domid = r.d.domid;
    if (domid === undefined) throw new ToolstackError('ESRCH', `${s} is an invalid domain identifier (rc=-6)`);
    return domid;
  }

  private rec(domid: number): DomRecord {
    const r = this.records.get(domid);
    if (!r) throw new ToolstackError('EPERM', 'this operation is not allowed on Domain-0');
    return r;
  }

  private nameTaken(name: string): boolean {
    if (name === DOM0_NAME) return true;
    for (const r of this.records.values()) if (r.name === name) return true;
    return false;
  }

  /** Number of domUs. */
  get domainCount(): number { return this.records.size; }

  // =============================================================================================
  // Build
  // =============================================================================================

  /** Builds a domain from a libxl domain_config (xl create). */
  async create(config: unknown, opts: { paused?: boolean } = {}): Promise<{ domid: number; name: string; uuid: string; warnings: string[] }> {
    const spec = toBuildSpec(config, this.topo);
    // The files the config names: regular files only, at most the domain's memory (and
    // libxenguest's 1 GiB), read without blocking the daemon (a FIFO or /dev/zero is refused).
    const limit = Math.min(MAX_IMAGE_BYTES, spec.memoryMiB * 1024 * 1024);
    if (spec.ramdisk) await checkImageFile(spec.ramdisk, 'ramdisk', limit);
    const dt = (config as { b_info?: { device_tree?: unknown } }).b_info?.device_tree;
    if (typeof dt === 'string' && dt !== '') await checkImageFile(dt, 'device_tree', limit);
    const image = await readImageFile(spec.kernel, 'kernel', limit);
    const r = this.build(spec, image, JSON.parse(JSON.stringify(config)) as Record<string, unknown>, { paused: opts.paused ?? false, uuid: spec.uuid });
    for (const w of spec.warnings) this.log(`(d0) xl: warning: ${spec.name}: ${w}`);
    return { domid: r.d.domid, name: r.name, uuid: r.uuid, warnings: spec.warnings };
  }

  private build(spec: BuildSpec, image: Uint8Array, config: Record<string, unknown>, o: { paused: boolean; uuid: string | null; restarts?: number }): DomRecord {
    if (this.closed) throw new ToolstackError('EBUSY', 'the host is shutting down');
    if (this.nameTaken(spec.name)) throw new ToolstackError('EEXIST', `Domain with name "${spec.name}" already exists.`);
    if (spec.pool !== null) this.poolInternal(spec.pool);
    // Guest RAM plus its P2M tables and special pages (a few frames per 2 MiB).
    const need = spec.memoryMiB * 256 + 16 + Math.ceil(spec.memoryMiB / 2);
    const free = this.host.machine.freeFrames();
    if (need > free) throw new ToolstackError('ENOMEM', `not enough memory: domain '${spec.name}' needs ${spec.memoryMiB} MiB, the host has ${mib(free)} MiB free`);
    const internalName = this.host.domains.getByName(spec.name) ? `${spec.name}#${++this.seq}` : spec.name;
    let d: Domain<Vcpu>;
    try {
      d = this.host.createDomain({
        name: internalName,
        image,
        file: spec.kernel,
        memoryMiB: spec.memoryMiB,
        maxMemoryMiB: spec.maxMemoryMiB,
        vcpus: spec.vcpus,
        maxVcpus: spec.maxVcpus,
        cmdline: spec.cmdline,
        weight: spec.weight,
        cap: spec.cap,
        cpus: spec.hardAll ?? undefined,
        paused: true,
      });
    } catch (e) {
      if (e instanceof HostError) throw new ToolstackError(errnoCode(e.errno), e.message.replace(/^cannot create domain '[^']*': not enough free memory$/, `not enough memory for domain '${spec.name}' (${spec.memoryMiB} MiB)`));
      if (e instanceof ImageError) throw new ToolstackError('EINVAL', `kernel: ${e.message}`);
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
    const uuid = o.uuid ?? d.uuid;
    const r: DomRecord = {
      d, name: spec.name, uuid, config, spec, image,
      targetMemkb: spec.memoryMiB * 1024, maxMemkb: spec.maxMemoryMiB * 1024, availVcpus: spec.vcpus,
      handled: false, startedWall: performance.now(), firstConsoleWall: null,
      console: [], consoleBytes: 0, pendingLog: [], logFd: null, sinks: new Set(), waiters: [], restarts: o.restarts ?? 0,
      rate: { periodEnd: this.wallNow() + this.consoleRate.periodMs, used: 0, dropped: 0, droppedTotal: 0 },
    };
    try {
      const now = this.host.clock.now;
      if (spec.pool !== null) {
        const internal = this.poolInternal(spec.pool);
        if (internal !== DEFAULT_POOL) this.host.sched.moveDomain(d.domid, internal, now);
      }
      d.vcpus.forEach((v, i) => {
        const hard = spec.hardAll ? undefined : spec.hard[i];
        const soft = spec.soft[i];
        if (hard !== undefined && hard !== null) this.host.sched.setAffinity(v.sched, { hard }, now);
        if (soft !== null && soft !== undefined) this.host.sched.setAffinity(v.sched, { soft }, now);
      });
      if (spec.maxGrantFrames !== null && this.grants.setMaxGrantFrames(d.domid, spec.maxGrantFrames) < 0) throw new ToolstackError('EINVAL', `max_grant_frames: ${spec.maxGrantFrames} is out of range`);
      if (spec.maxEventChannels !== null && this.evtchn.setMaxEventChannels(d.domid, spec.maxEventChannels) < 0) throw new ToolstackError('EINVAL', `max_event_channels: ${spec.maxEventChannels} is out of range`);
      this.writeXenstore(r);
      if (this.opts.logDir) r.logFd = this.openLog(`guest-${spec.name}.log`);
    } catch (e) {
      this.host.destroyDomain(d);
      this.removeXenstore(d.domid, uuid, d.uuid);
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
    this.records.set(d.domid, r);
    this.log(`(d0) xl: built domain ${d.domid} '${spec.name}' (${spec.type}, ${spec.memoryMiB} MiB, ${spec.vcpus}/${spec.maxVcpus} vCPUs, pool ${this.poolName(this.host.sched.domain(d.domid).pool)})`);
    this.emit({ kind: 'created', domid: d.domid, name: r.name });
    if (!o.paused) {
      this.host.unpauseDomain(d);
      this.onWork();
    }
    return r;
  }

  private writeXenstore(r: DomRecord): void {
    const d = r.d;
    // attachXenstore wrote the layout under the hypervisor's name and UUID: ours win.
    if (d.uuid !== r.uuid && this.xsc.exists(vmPath(d.uuid))) this.xsc.rm(vmPath(d.uuid));
    const dom = createDomainLayout(this.xsc, { domid: d.domid, name: r.name, uuid: r.uuid });
    const c = this.xsc;
    c.transaction((tx) => {
      c.write(`${dom}/memory/static-max`, String(r.maxMemkb), tx);
      c.write(`${dom}/memory/target`, String(r.targetMemkb), tx);
      for (let i = 0; i < r.spec.maxVcpus; i++) c.write(`${dom}/cpu/${i}/availability`, i < r.availVcpus ? 'online' : 'offline', tx);
      c.write(`${dom}/console/type`, 'xenconsoled', tx);
      c.write(`${dom}/console/limit`, String(CONSOLE_BUFFER), tx);
      c.write(`${vmPath(r.uuid)}/image/ostype`, 'linux', tx);
      c.write(`${vmPath(r.uuid)}/image/kernel`, r.spec.kernel, tx);
      c.write(`${vmPath(r.uuid)}/image/cmdline`, r.spec.cmdline, tx);
      c.write(`${vmPath(r.uuid)}/start_time`, (Date.now() / 1000).toFixed(2), tx);
      c.write(`/libxl/${d.domid}/type`, r.spec.type, tx);
    });
    if (!this.xs.domains.has(d.domid)) this.xs.addDomain(d.domid, undefined);
  }

  private removeXenstore(domid: number, uuid: string, hvUuid?: string): void {
    for (const p of [domainPath(domid), vmPath(uuid), ...(hvUuid ? [vmPath(hvUuid)] : []), `/libxl/${domid}`]) {
      if (this.xsc.exists(p)) this.xsc.rm(p);
    }
    if (this.xs.domains.has(domid)) this.xs.releaseDomain(domid);
  }

  // =============================================================================================
  // Lifecycle
  // =============================================================================================

  /** Called after every run slice: carries out the actions of domains that shut down. */
  afterSlice(): void {
    for (const r of [...this.records.values()]) {
      if (r.handled || r.d.shutdownCode === null) continue;
      r.handled = true;
      this.onShutdown(r);
    }
    this.flushLogs();
  }

  private onShutdown(r: DomRecord): void {
    const d = r.d;
    const reason = shutdownReasonName(d.shutdownCode!);
    const key = REASON_KEY[reason];
    const action: ShutdownAction = key ? r.spec.actions[key] : 'preserve';
    this.xs.domainShutdown(d.domid);
    this.log(`(d0) xl: domain ${d.domid} '${r.name}' has shut down, reason ${reason}${d.crashMessage ? ` (${d.crashMessage})` : ''}; action ${action}`);
    this.emit({ kind: 'shutdown', domid: d.domid, name: r.name, reason, action });
    const done = (extra: Record<string, unknown> = {}) => {
      const res = { domid: d.domid, name: r.name, reason, action, ...extra };
      for (const w of r.waiters.splice(0)) w(res);
    };
    let core: string | null = null;
    if (action === 'coredump-destroy' || action === 'coredump-restart') core = this.coredump(r, reason);
    switch (action) {
      case 'destroy':
      case 'coredump-destroy':
        this.destroyRecord(r, 'shutdown');
        return done(core ? { core } : {});
      case 'preserve':
        for (const s of [...r.sinks]) s.end('shutdown', { reason });
        r.sinks.clear();
        return done();
      case 'restart':
      case 'coredump-restart':
      case 'soft-reset': {
        // A crash loop restarts at most every restartDelayMs; meanwhile the domain stays shut
        // down (listed, destroyable: a destroy cancels the restart).
        const wait = (this.opts.restartDelayMs ?? 200) - (performance.now() - r.startedWall);
        if (wait <= 0) return this.restart(r, reason, done, core);
        const t = setTimeout(() => {
          this.restartTimers.delete(t);
          if (this.records.get(d.domid) === r && !this.closed) this.restart(r, reason, done, core);
        }, wait);
        this.restartTimers.add(t);
        return;
      }
      case 'rename-restart': {
        const renameRestart = () => {
          // xl's preserve_domain: the old domain stays, renamed NAME--<UTC time>, with a new UUID.
          const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace(/(\d{8}T\d{4})\d{2}Z/, '$1Z');
          let newName = `${r.name}--${stamp}`;
          for (let i = 2; this.nameTaken(newName); i++) newName = `${r.name}--${stamp}-${i}`;
          const oldName = r.name;
          const { spec, image, config } = r;
          this.renameRecord(r, newName);
          for (const s of [...r.sinks]) s.end('shutdown', { reason });
          r.sinks.clear();
          this.restartFrom({ ...spec, name: oldName }, image, config, r.uuid, r.restarts, r.startedWall, reason, done, d.domid, null, true);
        };
        const wait = (this.opts.restartDelayMs ?? 200) - (performance.now() - r.startedWall);
        if (wait <= 0) return renameRestart();
        const t = setTimeout(() => {
          this.restartTimers.delete(t);
          if (this.records.get(d.domid) === r && !this.closed) renameRestart();
        }, wait);
        this.restartTimers.add(t);
        return;
      }
    }
  }

  private restart(r: DomRecord, reason: string, done: (extra?: Record<string, unknown>) => void, core: string | null): void {
    const { spec, image, config, uuid, restarts, startedWall } = r;
    const sinks = [...r.sinks];
    r.sinks.clear();
    const oldDomid = r.d.domid;
    this.destroyRecord(r, 'restart', undefined, sinks);
    // The rebuilt domain gets a new domid: the hypervisor hands ids out from a rover, as Xen does.
    this.restartFrom(spec, image, config, uuid, restarts, startedWall, reason, done, oldDomid, core, false, sinks);
  }

  private restartFrom(spec: BuildSpec, image: Uint8Array, config: Record<string, unknown>, uuid: string, restarts: number, startedWall: number,
    reason: string, done: (extra?: Record<string, unknown>) => void, oldDomid: number, core: string | null, newUuid: boolean, sinks: ConsoleSink[] = [],
    release: () => void = () => {}): void {
    const go = () => {
      if (this.closed) return release();
      try {
        const nr = this.build(spec, image, config, { paused: false, uuid: newUuid ? null : uuid, restarts: restarts + 1 });
        this.log(`(d0) xl: domain ${oldDomid} '${spec.name}' restarted as domain ${nr.d.domid}`);
        this.emit({ kind: 'restarted', domid: nr.d.domid, name: nr.name, oldDomid, reason });
        for (const s of sinks) s.end('restarted', { newDomid: nr.d.domid });
        done({ newDomid: nr.d.domid, ...(core ? { core } : {}) });
      } catch (e) {
        this.log(`(d0) xl: cannot restart domain '${spec.name}': ${(e as Error).message}`);
        for (const s of sinks) s.end('destroyed');
        done({ error: (e as Error).message });
      } finally {
        release();
      }
    };
    void startedWall;
    go();
  }

  private coredump(r: DomRecord, reason: string): string | null {
    const dir = this.opts.dumpDir ?? (this.opts.logDir ? join(this.opts.logDir, 'dump') : null);
    if (!dir) return null;
    const d = r.d;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '')}-${r.name}.${d.domid}.core`);
      const pages = Math.min(d.totPages, r.spec.memoryMiB * 256);
      const header = {
        format: 'tachyxx-core/1', domid: d.domid, name: r.name, uuid: r.uuid, reason, crash: d.crashMessage,
        simNs: this.host.clock.now,
        vcpus: d.vcpus.map((v) => ({
          id: v.id, online: v.online, level: v.ctx.level, pc: hex64(v.ctx.pcLo, v.ctx.pcHi),
          x: Array.from({ length: 32 }, (_, i) => hex64(v.ctx.x[2 * i]!, v.ctx.x[2 * i + 1]!)),
        })),
        memory: { gpa: GUEST_RAM_BASE, bytes: pages * PAGE_SIZE, note: 'guest RAM follows the header line, byte for byte from gpa' },
      };
      const fd = openSync(file, 'w', 0o600);
      try {
        writeAllFd(fd, Buffer.from(JSON.stringify(header) + '\n'));
        const page = new Uint8Array(PAGE_SIZE * 64);
        for (let off = 0; off < pages * PAGE_SIZE; off += page.length) {
          const n = Math.min(page.length, pages * PAGE_SIZE - off);
          const view = page.subarray(0, n);
          if (d.access.read(GUEST_RAM_BASE + off, view) < 0) view.fill(0);
          writeAllFd(fd, view);
        }
      } finally {
        closeSync(fd);
      }
      this.log(`(d0) xl: core of domain ${d.domid} '${r.name}' written to ${file}`);
      return file;
    } catch (e) {
      this.log(`(d0) xl: cannot write the core of domain ${d.domid}: ${(e as Error).message}`);
      return null;
    }
  }

  /** Destroys a domU: every frame, port, grant and xenstore entry it had is released. */
  private destroyRecord(r: DomRecord, why: string, _x?: unknown, keepSinks: ConsoleSink[] = []): void {
    const d = r.d;
    this.flushLogs();
    for (const s of [...r.sinks]) if (!keepSinks.includes(s)) s.end('destroyed');
    r.sinks.clear();
    this.records.delete(d.domid);
    this.host.destroyDomain(d);
    this.removeXenstore(d.domid, r.uuid, d.uuid);
    r.logFd?.close();
    r.logFd = null;
    this.log(`(d0) xl: domain ${d.domid} '${r.name}' destroyed (${why})`);
    this.emit({ kind: 'destroyed', domid: d.domid, name: r.name, why });
    if (why !== 'shutdown' && why !== 'restart') {
      for (const w of r.waiters.splice(0)) w({ domid: d.domid, name: r.name, reason: 'destroyed', action: 'destroy' });
    }
  }

  private renameRecord(r: DomRecord, name: string): void {
    const old = r.name;
    r.name = name;
    r.config = { ...r.config, c_info: { ...(r.config.c_info as object), name } };
    const dom = domainPath(r.d.domid);
    if (this.xsc.exists(dom)) this.xsc.write(`${dom}/name`, name);
    if (this.xsc.exists(vmPath(r.uuid))) this.xsc.write(`${vmPath(r.uuid)}/name`, name);
    this.emit({ kind: 'renamed', domid: r.d.domid, name, oldName: old });
  }

  // =============================================================================================
  // The run loop's view
  // =============================================================================================

  /** Some vCPU could run now. */
  anyRunnable(): boolean {
    for (const r of this.records.values()) {
      const d = r.d;
      if (d.shutdownCode !== null || d.pauseCount > 0) continue;
      for (const v of d.vcpus) if (v.online && !v.blocked) return true;
    }
    return false;
  }

  /** Some blocked vCPU has a timer that will wake it. */
  anyTimerPending(): boolean {
    for (const r of this.records.values()) {
      const d = r.d;
      if (d.shutdownCode !== null || d.pauseCount > 0) continue;
      for (const v of d.vcpus) if (v.online && (v.singleshot.scheduled || v.periodic.scheduled || v.stimecmpWake.scheduled)) return true;
    }
    return false;
  }

  /** Stops restarts and closes the log files. */
  close(): void {
    this.closed = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.flushLogs();
    for (const r of this.records.values()) {
      for (const s of [...r.sinks]) s.end('host-shutdown');
      r.logFd?.close();
      r.logFd = null;
    }
    this.hostLogFd?.close();
    this.assembled.close();
    this.hostLogFd = null;
  }

  // =============================================================================================
  // Ops
  // =============================================================================================

  /** Runs one control-protocol op. Throws ToolstackError for xl-style failures. */
  async op(op: string, args: Record<string, unknown>, ctx: OpContext, id: number | string): Promise<unknown> {
    // Never trust the client: the op must exist and its arguments have the right shape (the
    // server checked the request already; in-process callers get the same checks).
    if (!(OPS as readonly string[]).includes(op)) throw new ToolstackError('ENOSYS', `unknown op '${String(op).slice(0, 64)}' (known: ${OPS.join(', ')})`);
    const a = validateArgs(op as OpName, args);
    try {
      return await this.dispatch(op, a, ctx, id);
    } catch (e) {
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
  }

  private async dispatch(op: string, a: Record<string, unknown>, ctx: OpContext, id: number | string): Promise<unknown> {
    switch (op) {
      case 'hello':
        return { protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION, ops: OPS, pid: process.pid, xen_version: this.xenVersion() };
      case 'create': {
        if (a.config === undefined) throw new ToolstackError('EINVAL', 'create: args.config (a libxl domain_config) is required');
        return await this.create(a.config, { paused: a.paused === true });
      }
      case 'list':
        return { domains: this.list(a) };
      case 'destroy': {
        const domid = this.domainArg(a);
        const r = this.rec(domid);
        this.destroyRecord(r, 'destroy');
        return { domid, name: r.name };
      }
      case 'shutdown':
      case 'reboot':
        return this.shutdownOp(op, a);
      case 'pause':
      case 'unpause': {
        const domid = this.domainArg(a);
        const r = this.rec(domid);
        if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `domain ${domid} has shut down`);
        if (op === 'pause') this.host.pauseDomain(r.d);
        else {
          if (r.d.pauseCount === 0) throw new ToolstackError('EINVAL', `domain ${domid} is not paused`);
          this.host.unpauseDomain(r.d);
          this.onWork();
        }
        this.emit({ kind: op === 'pause' ? 'paused' : 'unpaused', domid, name: r.name });
        return { domid, name: r.name, paused: r.d.pauseCount > 0 };
      }
      case 'rename': {
        const domid = this.domainArg(a);
        const r = this.rec(domid);
        const name = String(a.name ?? '');
        if (!/^[^/\s]{1,64}$/.test(name) || /^\d+$/.test(name)) throw new ToolstackError('EINVAL', `invalid domain name '${name}'`);
        if (name !== r.name && this.nameTaken(name)) throw new ToolstackError('EEXIST', `Domain with name "${name}" already exists.`);
        this.renameRecord(r, name);
        return { domid, name };
      }
      case 'domid':
        return { domid: this.domainArg(a, 'name') };
      case 'domname': {
        const domid = this.domainArg(a, 'domid');
        return { name: domid === 0 ? DOM0_NAME : this.rec(domid).name };
      }
      case 'console':
        return this.consoleOp(a, ctx, id);
      case 'console-input':
        return this.consoleInput(a);
      case 'events': {
        let sub: { unsubscribe(): void } | null = null;
        sub = this.host.bus.on(TOOLSTACK_EVENT).subscribe(({ time: _time, ...ev }) => {
          if (!ctx.send(id, { event: 'domain', ...ev })) sub?.unsubscribe();
        });
        ctx.addStream(id, () => sub?.unsubscribe());
        return { stream: id };
      }
      case 'vcpu-list':
        return { vcpus: this.vcpuList(a) };
      case 'vcpu-pin':
        return this.vcpuPin(a);
      case 'vcpu-set':
        return this.vcpuSet(a);
      case 'mem-set':
      case 'mem-max':
        return this.memOp(op, a);
      case 'info':
        return { info: this.info() };
      case 'dmesg': {
        const lines = [...this.hostLog];
        if (a.clear === true) this.hostLog.length = 0;
        return { lines };
      }
      case 'uptime':
        return { domains: this.uptime(a) };
      case 'sched-credit':
        return this.schedCredit(a);
      case 'cpupool-list':
        return { pools: this.poolList(a) };
      case 'cpupool-create':
      case 'cpupool-destroy':
      case 'cpupool-cpu-add':
      case 'cpupool-cpu-remove':
      case 'cpupool-migrate':
      case 'cpupool-numa-split':
        return this.poolOp(op, a);
      case 'top':
        return this.top(ctx);
      case 'host-counts':
        return this.counts();
      case 'stats':
        return this.host.statsJson();
      default:
        throw new ToolstackError('ENOSYS', `unknown op '${op}' (known: ${OPS.join(', ')})`);
    }
  }

  xenVersion(): string {
    return `${XEN_VERSION.major}.${XEN_VERSION.minor}${XEN_VERSION.extra}`;
  }

  /** Exact resource counts (the create/destroy leak test compares them). */
  counts(): { freeFrames: number; xenstoreNodes: number; domains: number; evtchnPorts: number; grantTables: number } {
    let ports = 0;
    let grants = 0;
    for (const d of this.host.domains.list()) {
      ports += this.evtchn.activePorts(d.domid);
      if (this.grants.tableInfo(d.domid)) grants++;
    }
    return { freeFrames: this.host.machine.freeFrames(), xenstoreNodes: this.xs.size, domains: this.host.domains.size, evtchnPorts: ports, grantTables: grants };
  }

  private selected(a: Record<string, unknown>): number[] {
    const list = a.domains;
    if (Array.isArray(list) && list.length) return list.map((x) => this.domainArg({ domain: x }));
    if (a.domain !== undefined) return [this.domainArg(a)];
    return [0, ...[...this.records.keys()].sort((x, y) => x - y)];
  }

  private stateOf(r: DomRecord): { letters: string; status: string } {
    const d = r.d;
    const vs = d.vcpus.filter((v) => v.online);
    const running = vs.some((v) => v.runstate === 'running');
    const blocked = vs.length > 0 && vs.every((v) => v.blocked) && !running;
    const paused = d.pauseCount > 0 && d.shutdownCode === null;
    const crashed = d.shutdownCode === ShutdownReason.crash;
    const shut = d.shutdownCode !== null && !crashed;
    const dying = d.isDying;
    const letters = `${running && !paused && d.shutdownCode === null ? 'r' : '-'}${blocked && !paused && d.shutdownCode === null ? 'b' : '-'}${paused ? 'p' : '-'}${shut ? 's' : '-'}${crashed ? 'c' : '-'}${dying ? 'd' : '-'}`;
    const status = dying ? 'dying' : crashed ? 'crashed' : shut ? 'shutdown' : paused ? 'paused' : running ? 'running' : blocked ? 'blocked' : 'runnable';
    return { letters, status };
  }

  private cpuNs(d: Domain<Vcpu>, now: number): number {
    let t = 0;
    for (const v of d.vcpus) t += v.runstateTimes(now).running;
    return t;
  }

  list(a: Record<string, unknown> = {}): ListEntry[] {
    const now = this.host.clock.now;
    return this.selected(a).map((domid) => {
      if (domid === 0) {
        const i = this.dom0Info;
        return {
          name: DOM0_NAME, domid: 0, uuid: DOM0_UUID, memMiB: mib(this.dom0.totPages), memkb: this.dom0.totPages * 4, maxMemkb: i.maxMemkb,
          targetMemkb: i.targetMemkb, vcpus: i.vcpus, maxVcpus: i.maxVcpus, state: 'r-----', timeSec: 0, status: 'running',
          shutdownReason: null, pool: this.poolName(DEFAULT_POOL),
          ...(a.long ? { config: { c_info: { type: 'pv', name: DOM0_NAME, uuid: DOM0_UUID }, b_info: { max_vcpus: i.maxVcpus, max_memkb: i.maxMemkb, target_memkb: i.targetMemkb } } } : {}),
        };
      }
      const r = this.rec(domid);
      const d = r.d;
      const st = this.stateOf(r);
      return {
        name: r.name, domid, uuid: r.uuid, memMiB: mib(d.totPages), memkb: d.totPages * 4, maxMemkb: r.maxMemkb, targetMemkb: r.targetMemkb,
        vcpus: d.vcpus.filter((v) => v.online).length, maxVcpus: d.vcpus.length, state: st.letters, timeSec: this.cpuNs(d, now) / 1e9,
        status: st.status, shutdownReason: d.shutdownReason, pool: this.poolName(this.host.sched.domain(domid).pool),
        ...(a.long ? { config: { ...r.config, c_info: { ...(r.config.c_info as object), name: r.name, uuid: r.uuid } } } : {}),
      };
    });
  }

  private async shutdownOp(op: 'shutdown' | 'reboot', a: Record<string, unknown>): Promise<unknown> {
    const targets = a.all === true ? [...this.records.keys()] : [this.domainArg(a)];
    const reason = op === 'reboot' ? ShutdownReason.reboot : ShutdownReason.poweroff;
    const waits: Promise<Record<string, unknown>>[] = [];
    const out: Record<string, unknown>[] = [];
    for (const domid of targets) {
      const r = this.rec(domid);
      const d = r.d;
      if (d.shutdownCode !== null) {
        if (a.all === true) continue;
        throw new ToolstackError('EINVAL', `domain ${domid} has already shut down`);
      }
      // xl writes control/shutdown; a guest with a PV control driver acts on it (it advertises
      // control/feature-poweroff). Tachyxx guests have none yet: the host shuts them down, as
      // SCHEDOP_remote_shutdown would.
      const dom = domainPath(domid);
      this.xsc.write(`${dom}/control/shutdown`, op === 'reboot' ? 'reboot' : 'poweroff');
      const pv = this.xsc.tryRead(`${dom}/control/feature-${op === 'reboot' ? 'reboot' : 'poweroff'}`) === '1';
      if (a.wait === true) waits.push(new Promise((res) => r.waiters.push(res)));
      if (!pv) this.host.shutdownDomain(d, reason, `shutdown by the toolstack: ${op === 'reboot' ? 'reboot' : 'poweroff'}`);
      out.push({ domid, name: r.name, pvControl: pv });
    }
    // The action runs at once (the domain is already stopped); a PV guest's takes a slice.
    this.afterSlice();
    this.onWork();
    if (a.wait === true) return { domains: await Promise.all(waits) };
    return { domains: out };
  }

  /** Typed bytes for a domain's PV console ring (xenconsoled's input side). */
  private consoleInput(a: Record<string, unknown>): unknown {
    const domid = this.domainArg(a);
    if (domid === 0) throw new ToolstackError('EINVAL', 'console-input: dom0 has no console ring');
    const r = this.rec(domid);
    if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `domain ${domid} has shut down`);
    if (typeof a.data !== 'string') throw new ToolstackError('EINVAL', 'console-input: args.data (base64) is required');
    const bytes = Buffer.from(a.data, 'base64');
    const n = this.consoleRings.input(domid, bytes);
    if (n < 0) throw new ToolstackError('EIO', `domain ${domid} has no working console ring`);
    this.onWork();
    return { domid, name: r.name, accepted: n };
  }

  private consoleOp(a: Record<string, unknown>, ctx: OpContext, id: number | string): unknown {
    const domid = this.domainArg(a);
    const replay = a.replay !== false;
    if (domid === 0) {
      // Dom0's console is the hypervisor's: the host log.
      if (replay) for (const l of this.hostLog) ctx.send(id, { event: 'console', data: Buffer.from(l + '\n').toString('base64') });
      const sink = (line: string) => {
        if (!ctx.send(id, { event: 'console', data: Buffer.from(line + '\n').toString('base64') })) this.hostLogSinks.delete(sink);
      };
      this.hostLogSinks.add(sink);
      ctx.addStream(id, () => this.hostLogSinks.delete(sink));
      return { domid: 0, name: DOM0_NAME, stream: id };
    }
    const r = this.rec(domid);
    if (r.d.shutdownCode !== null && r.handled) throw new ToolstackError('EINVAL', `domain ${domid} has shut down: no console to attach to`);
    const sink: ConsoleSink = {
      data: (b) => {
        if (!ctx.send(id, { event: 'console', data: b.toString('base64') })) r.sinks.delete(sink);
      },
      end: (reason, extra) => {
        ctx.send(id, { event: 'end', reason, ...extra });
        ctx.endStream(id);
      },
    };
    // Sent after the ok reply (the server flushes the reply before stream events of this id).
    queueMicrotask(() => {
      if (replay) for (const b of r.console) sink.data(b);
      r.sinks.add(sink);
    });
    ctx.addStream(id, () => r.sinks.delete(sink));
    return { domid, name: r.name, stream: id };
  }

  private vcpuList(a: Record<string, unknown>): VcpuEntry[] {
    const now = this.host.clock.now;
    const out: VcpuEntry[] = [];
    const P = this.topo.pcpus;
    for (const domid of this.selected(a)) {
      if (domid === 0) {
        const i = this.dom0Info;
        for (let n = 0; n < i.maxVcpus; n++) {
          out.push({ name: DOM0_NAME, domid: 0, vcpu: n, cpu: n < i.vcpus ? (i.hard[n]?.[0] ?? n % P) : null, state: n < i.vcpus ? '-b-' : '--p', timeSec: 0, hard: formatCpuList(i.hard[n], P), soft: formatCpuList(i.soft[n], P) });
        }
        continue;
      }
      const r = this.rec(domid);
      const d = r.d;
      for (const v of d.vcpus) {
        const running = v.runstate === 'running' && d.shutdownCode === null;
        const paused = d.pauseCount > 0 || d.shutdownCode !== null;
        out.push({
          name: r.name, domid, vcpu: v.id, cpu: v.online ? v.sched.processor : null,
          state: `${running ? 'r' : '-'}${v.online && v.blocked ? 'b' : '-'}${!v.online || paused ? 'p' : '-'}`,
          timeSec: v.runstateTimes(now).running / 1e9, hard: formatCpuList(v.sched.hard, P), soft: formatCpuList(v.sched.soft, P),
        });
      }
    }
    return out;
  }

  private vcpuPin(a: Record<string, unknown>): unknown {
    const domid = this.domainArg(a);
    const P = this.topo.pcpus;
    const parse = (v: unknown, what: string): number[] | null | undefined => {
      if (v === undefined || v === null || v === '-') return undefined;
      if (v === 'all') return null;
      const l = parseCpuList(v as string | number[], this.topo, what);
      return l.length === P ? null : l;
    };
    const hard = parse(a.hard, 'hard affinity');
    const soft = parse(a.soft, 'soft affinity');
    if (hard === undefined && soft === undefined) throw new ToolstackError('EINVAL', 'vcpu-pin: give a hard affinity, a soft affinity, or both');
    const which = a.vcpu === undefined || a.vcpu === 'all' ? 'all' : Number(a.vcpu);
    if (domid === 0) {
      const i = this.dom0Info;
      const ids = which === 'all' ? [...i.hard.keys()] : [which];
      // Every id is checked before anything changes.
      for (const n of ids) if (!Number.isInteger(n) || n < 0 || n >= i.maxVcpus) throw new ToolstackError('EINVAL', `vcpu-pin: Domain-0 has no vCPU ${String(which)} (it has ${i.maxVcpus})`);
      for (const n of ids) {
        if (hard !== undefined) i.hard[n] = hard;
        if (soft !== undefined) i.soft[n] = soft;
      }
      return { domid, vcpus: ids };
    }
    const r = this.rec(domid);
    const vs = which === 'all' ? r.d.vcpus : r.d.vcpus.filter((v) => v.id === which);
    if (vs.length === 0) throw new ToolstackError('EINVAL', `vcpu-pin: domain ${domid} has no vCPU ${String(a.vcpu)} (it has ${r.d.vcpus.length})`);
    const now = this.host.clock.now;
    // All or nothing: a vCPU the scheduler refuses (no pCPU of the affinity in its pool) puts
    // back the affinities already changed.
    const before = vs.map((v) => ({ v, hard: v.sched.hard ? [...v.sched.hard] : null, soft: v.sched.soft ? [...v.sched.soft] : null }));
    const done: typeof before = [];
    try {
      for (const b of before) {
        const aff: { hard?: number[] | null; soft?: number[] | null } = {};
        if (hard !== undefined) aff.hard = hard;
        if (soft !== undefined) aff.soft = soft;
        this.host.sched.setAffinity(b.v.sched, aff, now);
        done.push(b);
      }
    } catch (e) {
      for (const b of done) this.host.sched.setAffinity(b.v.sched, { hard: b.hard, soft: b.soft }, now);
      throw e;
    }
    this.onWork();
    return { domid, vcpus: vs.map((v) => v.id) };
  }

  private vcpuSet(a: Record<string, unknown>): unknown {
    const domid = this.domainArg(a);
    const n = a.count === undefined ? NaN : Number(a.count);
    const max = domid === 0 ? this.dom0Info.maxVcpus : this.rec(domid).spec.maxVcpus;
    if (!Number.isInteger(n) || n < 1) throw new ToolstackError('EINVAL', `vcpu-set: invalid vCPU count '${String(a.count)}'`);
    if (n > max) throw new ToolstackError('EINVAL', `You cannot set vcpus greater than the maximum (${max}) of this domain`);
    // Like libxl_set_vcpuonline: cpu/<n>/availability in xenstore; the guest's hotplug code acts.
    const c = this.xsc;
    c.transaction((tx) => {
      for (let i = 0; i < max; i++) c.write(`${domainPath(domid)}/cpu/${i}/availability`, i < n ? 'online' : 'offline', tx);
    });
    if (domid === 0) this.dom0Info.vcpus = n;
    else this.rec(domid).availVcpus = n;
    return { domid, avail: n, max };
  }

  private memOp(op: 'mem-set' | 'mem-max', a: Record<string, unknown>): unknown {
    const domid = this.domainArg(a);
    const kb = a.memkb !== undefined ? Number(a.memkb) : parseMemKb(a.mem);
    const given = String(a.memkb ?? a.mem).slice(0, 32);
    if (!Number.isSafeInteger(kb) || kb <= 0) throw new ToolstackError('EINVAL', `${op}: invalid memory size '${given}'`);
    if (kb > MAX_MEMKB) throw new ToolstackError('EINVAL', `${op}: memory size '${given}' is out of range (at most ${MAX_MEMKB} KiB)`);
    const info = domid === 0 ? this.dom0Info : this.rec(domid);
    const dom = domainPath(domid);
    if (op === 'mem-set') {
      if (kb > info.maxMemkb) throw new ToolstackError('EINVAL', `memory_dynamic_max must be less than or equal to memory_static_max (target ${kb} KiB > maxmem ${info.maxMemkb} KiB)`);
      info.targetMemkb = kb;
      this.xsc.write(`${dom}/memory/target`, String(kb));
      return { domid, targetMemkb: kb };
    }
    if (kb < info.targetMemkb) throw new ToolstackError('EINVAL', `memory_static_max must be greater than or equal to memory_dynamic_max (maxmem ${kb} KiB < target ${info.targetMemkb} KiB)`);
    const d = domid === 0 ? this.dom0 : this.rec(domid).d;
    const pages = Math.ceil(kb / 4);
    if (pages < d.totPages) throw new ToolstackError('EINVAL', `mem-max: ${kb} KiB is below the ${d.totPages * 4} KiB the domain has`);
    d.maxPages = pages;
    info.maxMemkb = kb;
    this.xsc.write(`${dom}/memory/static-max`, String(kb));
    return { domid, maxMemkb: kb };
  }

  info(): [string, string][] {
    const c = this.config;
    const pool0 = this.host.sched.getPool(DEFAULT_POOL);
    let freeCpus = 0;
    for (let p = 0; p < c.pcpus; p++) if (!this.host.sched.poolOfPcpu(p)) freeCpus++;
    const nodes = this.topo.nodes.length;
    const up = (Date.now() - this.bootWall) / 1000;
    return [
      ['host', 'tachyxx'],
      ['release', `tachyxx-${XEN_VERSION.major}.${XEN_VERSION.minor}`],
      ['version', '#1 SMP Tachyxx'],
      ['machine', 'tachy-v1 (rv64ima)'],
      ['nr_cpus', String(c.pcpus)],
      ['max_cpu_id', String(c.pcpus - 1)],
      ['nr_nodes', String(nodes)],
      ['cores_per_socket', String(Math.max(1, Math.floor(c.pcpus / nodes)))],
      ['threads_per_core', '1'],
      ['cpu_mhz', c.cpu.freqMHz.toFixed(3)],
      ['hw_caps', '00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000'],
      ['virt_caps', 'pv'],
      ['total_memory', String(Math.floor(this.host.machine.totalFrames / 256))],
      ['free_memory', String(mib(this.host.machine.freeFrames()))],
      ['sharing_freed_memory', '0'],
      ['sharing_used_memory', '0'],
      ['outstanding_claims', '0'],
      ['free_cpus', String(freeCpus)],
      ['xen_major', String(XEN_VERSION.major)],
      ['xen_minor', String(XEN_VERSION.minor)],
      ['xen_extra', XEN_VERSION.extra],
      ['xen_version', this.xenVersion()],
      ['xen_caps', 'xen-3.0-tachyxx'],
      ['xen_scheduler', pool0.variant],
      ['xen_pagesize', String(PAGE_SIZE)],
      ['platform_params', `virt_start=0x${GUEST_RAM_BASE.toString(16)}`],
      ['xen_changeset', 'tachyxx'],
      ['xen_commandline', `dom0_mem=${this.dom0Info.targetMemkb / 1024}M dom0_max_vcpus=${this.dom0Info.maxVcpus}`],
      ['cc_compiler', `node ${process.version}`],
      ['cc_compile_by', 'tachyxx'],
      ['cc_compile_domain', 'tachyxx'],
      ['cc_compile_date', new Date(this.bootWall).toUTCString()],
      ['build_id', '0'],
      ['xend_config_format', '4'],
      ['sim_time_ns', String(this.host.clock.now)],
      ['uptime_wall_s', up.toFixed(1)],
    ];
  }

  private uptime(a: Record<string, unknown>): { name: string; domid: number; uptimeSec: number }[] {
    const now = this.host.clock.now;
    return this.selected(a).map((domid) => domid === 0
      ? { name: DOM0_NAME, domid, uptimeSec: now / 1e9 }
      : { name: this.rec(domid).name, domid, uptimeSec: (now - this.rec(domid).d.createdAt) / 1e9 });
  }

  private schedCredit(a: Record<string, unknown>): unknown {
    const set = a.weight !== undefined || a.cap !== undefined;
    const num = (v: unknown, what: string) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new ToolstackError('EINVAL', `sched-credit: invalid ${what} '${String(v)}'`);
      return n;
    };
    if (set) {
      if (a.domain === undefined) throw new ToolstackError('EINVAL', 'sched-credit: setting weight or cap needs a domain (-d)');
      const domid = this.domainArg(a);
      const p: { weight?: number; cap?: number } = {};
      if (a.weight !== undefined) p.weight = num(a.weight, 'weight');
      if (a.cap !== undefined) p.cap = num(a.cap, 'cap');
      if (p.weight !== undefined && (p.weight < 1 || p.weight > 65535)) throw new ToolstackError('EINVAL', `sched-credit: weight ${p.weight} is out of range 1..65535`);
      if (p.cap !== undefined && (p.cap < 0 || p.cap > 100 * this.topo.pcpus)) throw new ToolstackError('EINVAL', `sched-credit: cap ${p.cap} is out of range 0..${100 * this.topo.pcpus}`);
      if (domid === 0) Object.assign(this.dom0Info, p);
      else this.host.sched.setDomainParams(domid, p);
    }
    const rows = this.selected(a).map((domid) => {
      const pr = domid === 0 ? { weight: this.dom0Info.weight, cap: this.dom0Info.cap } : this.host.sched.domainParams(domid);
      return { name: domid === 0 ? DOM0_NAME : this.rec(domid).name, domid, weight: pr.weight, cap: pr.cap };
    });
    return { pool: this.poolName(DEFAULT_POOL), domains: rows };
  }

  // ---- cpupools ----------------------------------------------------------------------------------

  private poolName(internal: string): string {
    return this.poolDisplay.get(internal) ?? internal;
  }

  private poolInternal(name: string): string {
    for (const [k, v] of this.poolDisplay) if (v === name) return k;
    if (this.host.sched.poolNames().includes(name) && !this.poolDisplay.has(name)) return name;
    throw new ToolstackError('ENOENT', `cpupool '${name}' does not exist`);
  }

  private poolList(a: Record<string, unknown>): unknown[] {
    const names = this.host.sched.poolNames().filter((n) => a.pool === undefined || this.poolName(n) === a.pool);
    if (a.pool !== undefined && names.length === 0) throw new ToolstackError('ENOENT', `cpupool '${String(a.pool)}' does not exist`);
    return names.map((n) => {
      const p = this.host.sched.getPool(n);
      return {
        name: this.poolName(n), cpus: p.cpus.length, cpuList: formatCpuList(p.cpus, this.topo.pcpus), sched: p.variant, active: true,
        domains: p.domains.size + (n === DEFAULT_POOL ? 1 : 0),
      };
    });
  }

  /**
   * Runs a cpupool change all-or-nothing: the checks come first (so the usual errors change
   * nothing), and if the scheduler still refuses a step, every pCPU goes back to the pool it was
   * in and pools created on the way are removed. An error changes nothing.
   */
  private poolTxn<T>(fn: () => T): T {
    const s = this.host.sched;
    const P = this.topo.pcpus;
    const before = Array.from({ length: P }, (_, c) => s.poolOfPcpu(c)?.name ?? null);
    const pools = new Set(s.poolNames());
    const display = new Map(this.poolDisplay);
    try {
      return fn();
    } catch (e) {
      const now = this.host.clock.now;
      try {
        const moved: number[] = [];
        for (let c = 0; c < P; c++) if ((s.poolOfPcpu(c)?.name ?? null) !== before[c]) moved.push(c);
        // Out of the pools they were moved into first (those are new or gained them), then back.
        for (const c of moved) if (s.poolOfPcpu(c) && !pools.has(s.poolOfPcpu(c)!.name)) s.movePcpu(c, null, now);
        for (const c of moved) if ((s.poolOfPcpu(c)?.name ?? null) !== before[c]) s.movePcpu(c, before[c]!, now);
        for (const n of s.poolNames()) if (!pools.has(n)) s.destroyPool(n);
        this.poolDisplay.clear();
        for (const [k, v] of display) this.poolDisplay.set(k, v);
      } catch (re) {
        // The undo itself failed: an invariant of the scheduler is broken. Say so loudly.
        this.log(`(XEN) BUG: cpupool rollback failed after '${(e as Error).message}': ${(re as Error).stack ?? String(re)}`);
        throw new ToolstackError('EIO', `cpupool state may be inconsistent: rollback failed (${(re as Error).message})`);
      }
      throw e;
    }
  }

  private poolOp(op: string, a: Record<string, unknown>): unknown {
    const s = this.host.sched;
    const now = this.host.clock.now;
    const cpusOf = (v: unknown) => {
      if (v === undefined || v === null) throw new ToolstackError('EINVAL', `${op}: args.cpus (a CPU list) is required`);
      return parseCpuList(v as string | number[], this.topo, 'cpus');
    };
    const poolArg = (v: unknown) => {
      if (typeof v !== 'string' || v === '') throw new ToolstackError('EINVAL', `${op}: a cpupool name is required`);
      return this.poolInternal(v);
    };
    switch (op) {
      case 'cpupool-create': {
        const name = typeof a.name === 'string' ? a.name : '';
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new ToolstackError('EINVAL', `cpupool-create: invalid pool name '${name.slice(0, 64)}' (1-64 of A-Z a-z 0-9 _ . -)`);
        if ([...s.poolNames()].some((n) => this.poolName(n) === name || n === name)) throw new ToolstackError('EEXIST', `cpupool '${name}' already exists`);
        const sched = (a.sched === undefined || a.sched === null ? s.getPool(DEFAULT_POOL).variant : String(a.sched)) as SchedVariant;
        if (!SCHED_VARIANTS.includes(sched)) throw new ToolstackError('EINVAL', `cpupool-create: unknown scheduler '${String(sched).slice(0, 32)}' (allowed: ${SCHED_VARIANTS.join(', ')})`);
        const cpus = a.cpus === undefined || a.cpus === null ? [] : cpusOf(a.cpus);
        for (const c of cpus) if (s.poolOfPcpu(c)) throw new ToolstackError('EBUSY', `cpupool-create: pCPU ${c} is not free (it is in cpupool '${this.poolName(s.poolOfPcpu(c)!.name)}'; remove it first with cpupool-cpu-remove)`);
        this.poolTxn(() => {
          s.createPool(name, sched);
          for (const c of cpus) s.movePcpu(c, name, now);
        });
        this.log(`(d0) xl: cpupool '${name}' created (${sched}, cpus ${formatCpuList(cpus, this.topo.pcpus)})`);
        return { name, sched, cpus };
      }
      case 'cpupool-destroy': {
        const shown = String(a.pool ?? a.name ?? '');
        const internal = poolArg(a.pool ?? a.name);
        const pool = s.getPool(internal);
        // Xen's cpupool_destroy: Pool-0 never, a pool with domains is busy. Checked before any
        // pCPU leaves it (libxl_cpupool_destroy removes the pCPUs, then destroys).
        if (internal === DEFAULT_POOL) throw new ToolstackError('EBUSY', `cpupool '${shown}' is the host's default pool (Pool-0) and cannot be destroyed`);
        if (pool.domains.size > 0) throw new ToolstackError('EBUSY', `cpupool '${shown}' still has ${pool.domains.size} domain(s): migrate or destroy them first`);
        this.poolTxn(() => {
          for (const c of [...pool.cpus]) s.movePcpu(c, null, now);
          s.destroyPool(internal);
        });
        this.poolDisplay.delete(internal);
        return { name: shown };
      }
      case 'cpupool-cpu-add':
      case 'cpupool-cpu-remove': {
        const internal = poolArg(a.pool);
        const cpus = cpusOf(a.cpus);
        const pool = s.getPool(internal);
        if (op === 'cpupool-cpu-add') {
          for (const c of cpus) {
            const from = s.poolOfPcpu(c);
            if (from && from.name !== internal) throw new ToolstackError('EBUSY', `pCPU ${c} is in cpupool '${this.poolName(from.name)}': remove it first`);
          }
        } else {
          for (const c of cpus) if (s.poolOfPcpu(c)?.name !== internal) throw new ToolstackError('EINVAL', `pCPU ${c} is not in cpupool '${String(a.pool)}'`);
          const left = pool.cpus.filter((c) => !cpus.includes(c));
          if (left.length === 0 && pool.domains.size > 0) throw new ToolstackError('EBUSY', `cpupool '${String(a.pool)}' would have no pCPU left for its ${pool.domains.size} domain(s)`);
        }
        this.poolTxn(() => {
          for (const c of cpus) s.movePcpu(c, op === 'cpupool-cpu-add' ? internal : null, now);
        });
        this.onWork();
        return { pool: a.pool, cpus };
      }
      case 'cpupool-migrate': {
        const domid = this.domainArg(a);
        if (domid === 0) throw new ToolstackError('EPERM', 'Domain-0 stays in Pool-0');
        // SchedCore.moveDomain puts the domain back in its pool when the new one refuses it.
        s.moveDomain(domid, poolArg(a.pool), now);
        this.onWork();
        return { domid, pool: a.pool };
      }
      case 'cpupool-numa-split': {
        const nodes = this.topo.nodes;
        if (nodes.length < 2) throw new ToolstackError('EINVAL', 'cpupool-numa-split: the host has only one NUMA node');
        if (s.poolNames().length > 1) throw new ToolstackError('EBUSY', 'cpupool-numa-split: only Pool-0 may exist');
        const variant = s.getPool(DEFAULT_POOL).variant;
        // Like xl: Pool-0 keeps node 0's pCPUs and is renamed Pool-node0; each other node gets its
        // own pool Pool-node<N> (domains in Pool-0 stay there).
        const created: string[] = [];
        this.poolTxn(() => {
          for (let n = 1; n < nodes.length; n++) {
            const name = `Pool-node${n}`;
            s.createPool(name, variant);
            for (const c of nodes[n]!) {
              s.movePcpu(c, null, now);
              s.movePcpu(c, name, now);
            }
            created.push(name);
          }
        });
        this.poolDisplay.set(DEFAULT_POOL, 'Pool-node0');
        this.onWork();
        return { pools: ['Pool-node0', ...created] };
      }
    }
    throw new ToolstackError('ENOSYS', op);
  }

  private top(ctx: OpContext): unknown {
    const now = this.host.clock.now;
    const prev = (ctx.topPrev ??= new Map());
    const total = this.host.machine.totalFrames * 4;
    const rows = this.list().map((e) => {
      let cpuNs = 0;
      if (e.domid !== 0) cpuNs = this.cpuNs(this.rec(e.domid).d, now);
      const p = prev.get(e.domid);
      const created = e.domid === 0 ? 0 : this.rec(e.domid).d.createdAt;
      const dt = p ? now - p.simNs : now - created;
      const pct = dt > 0 ? (100 * (cpuNs - (p?.cpuNs ?? 0))) / dt : 0;
      prev.set(e.domid, { cpuNs, simNs: now });
      return {
        name: e.name, domid: e.domid, state: e.state, cpuSec: cpuNs / 1e9, cpuPct: Math.round(pct * 10) / 10, memKiB: e.memkb,
        memPct: Math.round((1000 * e.memkb) / total) / 10, maxMemKiB: e.maxMemkb, maxMemPct: Math.round((1000 * e.maxMemkb) / total) / 10,
        vcpus: e.vcpus, nets: 0, netTxKiB: 0, netRxKiB: 0, vbds: 0, ssid: 0,
      };
    });
    for (const k of [...prev.keys()]) if (k !== 0 && !this.records.has(k)) prev.delete(k);
    return {
      simNs: now, wallMs: Date.now(), domains: rows,
      summary: {
        total: rows.length, running: rows.filter((r) => r.state[0] === 'r').length, blocked: rows.filter((r) => r.state[1] === 'b').length,
        paused: rows.filter((r) => r.state[2] === 'p').length, crashed: rows.filter((r) => r.state[4] === 'c').length,
        memTotalKiB: total, memFreeKiB: this.host.machine.freeFrames() * 4, cpus: this.topo.pcpus, cpuMHz: this.config.cpu.freqMHz,
      },
    };
  }
}


function hex64(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

function writeAllFd(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}
