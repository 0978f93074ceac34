/**
 * The toolstack's domain records (libxl's view of each domU: its config, build spec, console
 * buffer, waiters) and the lookups every part of the toolstack shares: a domain argument by name
 * or id, a record by domid, whether a name is taken, the domains an op selects.
 */
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { ToolstackError, type ErrorCode } from './protocol.js';
import type { BuildSpec } from './domain-config.js';
import type { LogFile } from './consoles.js';

export const XEN_VERSION = { major: 4, minor: 17, extra: '-tachyxx' } as const;
export const DOM0_NAME = 'Domain-0';
export const DOM0_UUID = '00000000-0000-0000-0000-000000000000';

/** Per-connection state the ops need (streams, top's previous sample). */
export interface OpContext {
  /** Sends a stream event line for request `id`. Returns false when the client is gone. */
  send(id: number | string, ev: Record<string, unknown>): boolean;
  /** Registers a stream's close function (detach / disconnect call it). */
  addStream(id: number | string, close: () => void): void;
  endStream(id: number | string): void;
  topPrev?: Map<number, { cpuNs: number; simNs: number }>;
}

/** An attached console client (the `console` op's stream). */
export interface ConsoleSink {
  data(bytes: Buffer): void;
  end(reason: string, extra?: Record<string, unknown>): void;
}

export interface DomRecord {
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

/** What the toolstack keeps of dom0 (it has no Vcpu objects: its vCPUs are this code). */
export interface Dom0Info {
  vcpus: number;
  maxVcpus: number;
  targetMemkb: number;
  maxMemkb: number;
  weight: number;
  cap: number;
  hard: (number[] | null)[];
  soft: (number[] | null)[];
}

export interface DomainEvent {
  kind: 'created' | 'shutdown' | 'destroyed' | 'restarted' | 'renamed' | 'paused' | 'unpaused';
  domid: number;
  name: string;
  [k: string]: unknown;
}

/** A Xen errno (positive) as the protocol's error code. */
export function errnoCode(errno: number): ErrorCode {
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

/** Frames to MiB, rounded down (xl's Mem column). */
export const mib = (frames: number) => Math.floor(frames / 256);

/** The domU records by domid, and the lookups on them. */
export class DomainRecords {
  private readonly byId = new Map<number, DomRecord>();

  get size(): number { return this.byId.size; }
  get(domid: number): DomRecord | undefined { return this.byId.get(domid); }
  has(domid: number): boolean { return this.byId.has(domid); }
  set(r: DomRecord): void { this.byId.set(r.d.domid, r); }
  delete(domid: number): void { this.byId.delete(domid); }
  values(): IterableIterator<DomRecord> { return this.byId.values(); }
  ids(): IterableIterator<number> { return this.byId.keys(); }

  /** The domid `args[key]` names (an id or a name, Domain-0 included); ESRCH when none. */
  domainArg(args: Record<string, unknown>, key = 'domain'): number {
    const v = args[key];
    if (v === undefined || v === null || v === '') throw new ToolstackError('EINVAL', `${key}: a domain name or id is required`);
    const s = String(v);
    let domid: number | undefined;
    if (/^\d+$/.test(s)) {
      const id = Number(s);
      if (id === 0 || this.byId.has(id)) domid = id;
    } else if (s === DOM0_NAME) domid = 0;
    else for (const r of this.byId.values()) if (r.name === s) domid = r.d.domid;
    if (domid === undefined) throw new ToolstackError('ESRCH', `${s} is an invalid domain identifier (rc=-6)`);
    return domid;
  }

  /** The record of a domU; EPERM for dom0 (which has none). */
  rec(domid: number): DomRecord {
    const r = this.byId.get(domid);
    if (!r) throw new ToolstackError('EPERM', 'this operation is not allowed on Domain-0');
    return r;
  }

  nameTaken(name: string): boolean {
    if (name === DOM0_NAME) return true;
    for (const r of this.byId.values()) if (r.name === name) return true;
    return false;
  }

  /** The domids an op selects: `domains` (a list), `domain`, else dom0 and every domU by id. */
  selected(a: Record<string, unknown>): number[] {
    const list = a.domains;
    if (Array.isArray(list) && list.length) return list.map((x) => this.domainArg({ domain: x }));
    if (a.domain !== undefined) return [this.domainArg(a)];
    return [0, ...[...this.byId.keys()].sort((x, y) => x - y)];
  }
}
