/**
 * The dom0 toolstack of a Tachyxx host (libxl + xenconsoled + the xl daemon side): builds domains
 * from libxl domain_configs, carries out their on_poweroff / on_reboot / on_crash / on_watchdog
 * actions, keeps their consoles and the host log, and answers every control-protocol op.
 *
 * Dom0 is domain 0 of the Host's domain table (memory owned, P2M built) with no Vcpu objects:
 * its vCPUs are this TypeScript code, listed as blocked in vcpu-list.
 *
 * This class wires the parts, each in its own module: the host assembly (assembly.ts), the
 * domain builder (builder.ts), lifecycle actions (lifecycle.ts), consoles and logs
 * (consoles.ts), cpupools (cpupools.ts), the domain records and lookups (records.ts) and the op
 * table (ops/: one handler per op of protocol.ts's OP_ARGS).
 */
import { type HostConfig, type PluginRegistry } from '@tachyxx/core';
import type { AssembledHost, Domain, Host, Vcpu } from '@tachyxx/hypervisor';
import { SchedError, DEFAULT_POOL, DEFAULT_WEIGHT } from '@tachyxx/sched';
import type { EventChannels, EvtchnComponent } from '@tachyxx/evtchn';
import type { GrantComponent, GrantTables } from '@tachyxx/grant';
import { Xenstored, connectLocal, domainPath, type XenstoreComponent, type XsClient } from '@tachyxx/xenstore';
import type { ConsoleComponent } from '@tachyxx/xenbus';
import { assembleToolstackHost, TOOLSTACK_EVENT } from './assembly.js';
import { Debuggers } from './debugger.js';
import { ToolstackError, type ListEntry, type OpName, OPS, validateArgs } from './protocol.js';
import type { CpuTopology } from './cpulist.js';
import { Consoles } from './consoles.js';
import { Cpupools } from './cpupools.js';
import { DomainBuilder } from './builder.js';
import { Lifecycle } from './lifecycle.js';
import { DOM0_NAME, DomainRecords, XEN_VERSION, errnoCode, type Dom0Info, type DomainEvent, type OpContext } from './records.js';
import { hostCounts, hostInfo, listDomains, opEntry, xenVersion } from './ops/index.js';

export { XEN_VERSION, DOM0_NAME, type OpContext, type DomainEvent } from './records.js';
export { CONSOLE_RATE_DEFAULT, LOG_MAX_BYTES_DEFAULT, LOG_KEEP_DEFAULT } from './consoles.js';

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

export class Toolstack {
  readonly host: Host;
  readonly xs: Xenstored;
  /** Dom0's xenstore connection (libxl's). */
  readonly xsc: XsClient;
  readonly evtchn: EventChannels;
  readonly grants: GrantTables;
  readonly dom0: Domain<Vcpu>;
  readonly dom0Info: Dom0Info;
  readonly topo: CpuTopology;
  readonly config: HostConfig;
  readonly bootWall = Date.now();
  /** The assembled host (its components, container and bus). */
  readonly assembled: AssembledHost;
  // The parts (the op handlers in ops/ use them).
  readonly records = new DomainRecords();
  readonly consoles: Consoles;
  readonly pools: Cpupools;
  readonly builder: DomainBuilder;
  readonly lifecycle: Lifecycle;
  /** `debug-attach`: the gdb stub of one domain (debugger.ts). */
  readonly debug: Debuggers = new Debuggers(this);
  /** Called when something may have become runnable (the run loop wakes up). */
  onWork: () => void = () => {};
  /** Called when a client connects or sends a request (the run loop gives the event loop a few turns). */
  onIo: () => void = () => {};
  private isClosed = false;

  constructor(opts: ToolstackOptions) {
    this.consoles = new Consoles(this.records, opts);
    // One assembly: the host and every selected component (evtchn, grant, xenstore with its
    // store rings, the console rings whose output joins console_io's), in dependency order.
    const assembled = assembleToolstackHost(opts.config, opts.registry, {
      console: (d, bytes) => this.consoles.output(d, bytes),
      log: (line) => this.log(line),
    });
    this.assembled = assembled;
    this.config = assembled.config;
    this.consoles.openHostLog();
    this.host = assembled.host;
    this.evtchn = assembled.component<EvtchnComponent>('evtchn').channels;
    this.grants = assembled.component<GrantComponent>('grant').tables;
    // xenstored comes from the xenstore component (its stats at host.xenstore, watches on the bus);
    // the toolstack adds libxl's entries.
    this.xs = assembled.component<XenstoreComponent>('xenstore').xs;
    this.consoles.rings = assembled.component<ConsoleComponent>('console').rings;
    this.consoles.bus = this.host.bus;
    this.consoles.now = () => this.host.clock.now;
    // pv-net's uplinks wake the run loop when a frame comes in from the host's network.
    const net = assembled.components.get('pv-net') as { onIo?: () => void } | undefined;
    if (net) net.onIo = () => this.onIo();
    this.xsc = connectLocal(this.xs, 0);
    this.topo = { pcpus: this.config.pcpus, nodes: this.host.machine.numa.nodes.map((n) => n.pcpus) };
    this.pools = new Cpupools(this);
    this.builder = new DomainBuilder(this);
    this.lifecycle = new Lifecycle(this, opts);

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

  /** True once close() ran: no more builds or restarts. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** A line in the host log (xl dmesg, hypervisor.log, onLog). */
  log(line: string): void {
    this.consoles.log(line);
  }

  /** Console bytes of a domain dropped by the rate limit so far (reported ones and the current period's). */
  consoleDropped(domid: number): number {
    return this.consoles.dropped(domid);
  }

  /** Writes pending console and host-log output to the log files (once per run slice). */
  flushLogs(): void {
    this.consoles.flush();
  }

  /** Toolstack domain events go on the host's bus (TOOLSTACK_EVENT): `xl` streams subscribe. */
  emit(ev: DomainEvent): void {
    if (ev.kind === 'destroyed') this.debug.domainGone(ev.domid);
    const bus = this.host.bus;
    if (bus.hasSubscribers(TOOLSTACK_EVENT)) bus.publish(TOOLSTACK_EVENT, { time: this.host.clock.now, ...ev });
  }

  /** Number of domUs. */
  get domainCount(): number { return this.records.size; }

  /** Builds a domain from a libxl domain_config (xl create). */
  create(config: unknown, opts: { paused?: boolean } = {}): Promise<{ domid: number; name: string; uuid: string; warnings: string[] }> {
    return this.builder.create(config, opts);
  }

  /** Called after every run slice: carries out the actions of domains that shut down. */
  afterSlice(): void {
    this.lifecycle.handleShutdowns();
    this.flushLogs();
  }

  // ---- the run loop's view ----------------------------------------------------------------------

  /** Some vCPU could run now. */
  anyRunnable(): boolean {
    for (const r of this.records.values()) {
      const d = r.d;
      if (d.shutdownCode !== null || d.pauseCount > 0) continue;
      for (const v of d.vcpus) if (v.online && !v.blocked) return true;
    }
    return false;
  }

  /** Some blocked vCPU has a timer that will wake it, or device work in flight will. */
  anyTimerPending(): boolean {
    for (const r of this.records.values()) {
      const d = r.d;
      if (d.shutdownCode !== null || d.pauseCount > 0) continue;
      for (const v of d.vcpus) if (v.online && (v.singleshot.scheduled || v.periodic.scheduled || v.stimecmpWake.scheduled)) return true;
    }
    // Device work in flight (a vbd request completing) wakes its frontend by an event.
    return this.host.wakeSourcePending();
  }

  /** Stops restarts and closes the log files. */
  close(): void {
    this.isClosed = true;
    void this.debug.close();
    this.lifecycle.close();
    this.consoles.close();
    this.assembled.close();
  }

  // ---- ops --------------------------------------------------------------------------------------

  /** Runs one control-protocol op. Throws ToolstackError for xl-style failures. */
  async op(op: string, args: Record<string, unknown>, ctx: OpContext, id: number | string): Promise<unknown> {
    // Never trust the client: the op must exist and its arguments have the right shape (the
    // server checked the request already; in-process callers get the same checks).
    const entry = opEntry(op);
    if (!entry) throw new ToolstackError('ENOSYS', `unknown op '${String(op).slice(0, 64)}' (known: ${OPS.join(', ')})`);
    const a = validateArgs(op as OpName, args);
    try {
      return await entry.run(this, a, ctx, id);
    } catch (e) {
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
  }

  xenVersion(): string {
    return xenVersion();
  }

  /** Exact resource counts (the create/destroy leak test compares them). */
  counts(): { freeFrames: number; xenstoreNodes: number; domains: number; evtchnPorts: number; grantTables: number } {
    return hostCounts(this);
  }

  /** xl list's rows for the domains `a` selects (all by default). */
  list(a: Record<string, unknown> = {}): ListEntry[] {
    return listDomains(this, a);
  }

  /** xl info's rows. */
  info(): [string, string][] {
    return hostInfo(this);
  }
}
