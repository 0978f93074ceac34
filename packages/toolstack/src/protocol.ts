/**
 * The host daemon's control protocol (what `xl` speaks): JSON lines over a Unix socket.
 *
 * - Client -> host, one JSON object per line: `{"id": 1, "op": "list", "args": {...}}`
 *   (`id`: any number or string, echoed back; `args` optional; `v` optional protocol version,
 *   refused with EPROTO when newer than PROTOCOL_VERSION).
 * - Host -> client, one reply per request:
 *   `{"id": 1, "ok": true, "result": {...}}` or
 *   `{"id": 1, "ok": false, "error": {"code": "ESRCH", "message": "..."}}`.
 * - Streams (`console`, `events`): after the ok reply, the host sends event lines carrying the
 *   request's id: `{"id": 7, "event": "console", "data": "<base64>"}`,
 *   `{"id": 7, "event": "domain", ...}`, and finally `{"id": 7, "event": "end", "reason": "..."}`.
 *   `{"op": "detach", "args": {"stream": 7}}` (or closing the connection) ends a stream.
 * `console-input {domain, data: <base64>}` feeds bytes into the domain's PV console ring
 *   (result `{domid, name, accepted}`; bytes beyond a 64 KiB queue are refused).
 * Replies come in request order except for requests that wait (`shutdown`/`reboot` with `wait`),
 * which reply when done.
 */

import { XenError } from '@tachyxx/core/errors';

export const PROTOCOL_VERSION = 1;
export const PROTOCOL_NAME = 'tachyxx-host';

/** Error codes: errno names, as libxl/xl report them. */
export type ErrorCode =
  | 'ESRCH' // unknown domain
  | 'EEXIST' // duplicate name, pool exists
  | 'ENOMEM' // not enough memory
  | 'EINVAL' // bad argument / config value
  | 'ENOENT' // file not found, unknown pool
  | 'ENOTSUP' // asks for something Tachyxx does not do (hvm, ...)
  | 'EBUSY'
  | 'EPERM' // not allowed on this domain (dom0)
  | 'EACCES' // an untrusted socket directory
  | 'ENOSYS' // unknown op
  | 'EPROTO' // malformed request or newer protocol
  | 'EIO'; // internal failure

/**
 * Each code's errno number. A small table rather than @tachyxx/abi's Errno so that xl, which loads
 * this module, stays light (abi's entry pulls every struct layout); the toolstack's tests check it
 * against abi. Numbers are Xen's public/errno.h (x86 Linux's); ENOTSUP is EOPNOTSUPP (95) as on
 * Linux; EPROTO (71, x86 Linux) is the one code Xen's errno.h does not name.
 */
export const ERROR_CODE_ERRNO: Readonly<Record<ErrorCode, number>> = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EIO: 5,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSYS: 38,
  EPROTO: 71,
  ENOTSUP: 95,
});

/** True for the error codes this protocol defines (a reply from a newer host may carry others). */
export function isErrorCode(v: unknown): v is ErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODE_ERRNO, v);
}

/** A toolstack failure: `code` is the errno name on the wire (the reply's error.code), `errno` its number. */
export class ToolstackError extends XenError {
  override readonly name: string = 'ToolstackError';
  constructor(readonly code: ErrorCode, message: string) {
    const errno = ERROR_CODE_ERRNO[code];
    if (errno === undefined) throw new RangeError(`ToolstackError: unknown error code '${String(code).slice(0, 32)}'`);
    super(message, errno);
  }
}

export interface Request {
  id: number | string;
  op: string;
  args?: Record<string, unknown>;
  v?: number;
}

export type Reply =
  | { id: number | string | null; ok: true; result: unknown }
  | { id: number | string | null; ok: false; error: { code: ErrorCode; message: string } };

export interface StreamEvent {
  id: number | string;
  event: 'console' | 'domain' | 'end';
  [k: string]: unknown;
}

/**
 * Every op the host serves (`hello` lists them too), in OP_ARGS order: OP_ARGS (below) is the one
 * list of ops, with the arguments each takes; the toolstack's op table (ops/index.ts) has one
 * handler per name, checked by the compiler.
 */
export type OpName = keyof typeof OP_ARGS;

// ---- result shapes ---------------------------------------------------------------------------

/** One row of `list` (xl list: Name ID Mem VCPUs State Time(s)). */
export interface ListEntry {
  name: string;
  domid: number;
  uuid: string;
  /** Current memory in MiB (tot_pages / 256, rounded down) — xl's Mem column. */
  memMiB: number;
  memkb: number;
  maxMemkb: number;
  targetMemkb: number;
  /** Online vCPUs (xl's VCPUs column). */
  vcpus: number;
  maxVcpus: number;
  /** Six letters as xl prints them: r b p s c d or '-'. */
  state: string;
  /** CPU time in seconds (simulated). */
  timeSec: number;
  /** `running`, `blocked`, `paused`, `shutdown`, `crashed`, `dying`. */
  status: string;
  /** SHUTDOWN_* reason name when shut down. */
  shutdownReason: string | null;
  pool: string;
  /** The libxl domain_config it was built from (only with `long`). */
  config?: unknown;
}

/** One row of `xl block-list` (libxl_diskinfo: the frontend's state, event channel and ring-ref; -1 when absent). */
export interface BlockEntry {
  domid: number;
  devid: number;
  vdev: string;
  backendId: number;
  frontendId: number;
  state: number;
  evtch: number;
  rref: number;
  backend: string;
}

export interface VcpuEntry {
  name: string;
  domid: number;
  vcpu: number;
  /** pCPU, or null when offline ('-'). */
  cpu: number | null;
  /** Three letters as xl prints: r/-, b/-, p/-. */
  state: string;
  timeSec: number;
  /** xl's affinity strings: 'all', '0-3,5', ... */
  hard: string;
  soft: string;
}

// ---- limits ----------------------------------------------------------------------------------
//
// What one client may ask of the host. Values and what they follow are listed in docs/limits.md.

/**
 * Longest request line the host reads (bytes, without the newline). A longer one gets an EPROTO
 * reply and the connection is closed. The largest real request is `console-input` (a 64 KiB
 * queue, base64) or `create` (a domain_config of a few KiB); xenstored's whole message is 4 KiB
 * (XENSTORE_PAYLOAD_MAX).
 */
export const MAX_REQUEST_LINE = 1 << 20;
/** Longest reply/event line a client reads (bytes): `list -l`, `dmesg` and `stats` can be large. */
export const MAX_REPLY_LINE = 64 << 20;
/**
 * Deepest JSON nesting of a request (the request object is level 1, args 2, a domain_config 3).
 * libxl's domain_config is at most 6 deep; V8's JSON.stringify recurses, so an unbounded depth
 * overflows the stack when the value is sent back (`list -l`).
 */
export const MAX_REQUEST_DEPTH = 32;
/** Most items in a list argument (`domains`, a CPU list given as ids). */
export const MAX_LIST_ARG = 4096;
/** Longest string argument (a domain or pool name, a CPU list, a memory size), in characters. */
export const MAX_STRING_ARG = 4096;
/** Longest `console-input` data (base64 characters): the 64 KiB input queue, base64-encoded, with room. */
export const MAX_CONSOLE_INPUT_B64 = 128 * 1024;

// ---- line framing ----------------------------------------------------------------------------

/** A line longer than the splitter's limit: the peer is misbehaving (EPROTO). */
export class LineTooLongError extends ToolstackError {
  constructor(readonly limit: number) {
    super('EPROTO', `line longer than ${limit} bytes: closing the connection`);
  }
}

/**
 * Splits a byte stream into lines; calls `onLine` for each complete one (blank lines skipped).
 * Each chunk is scanned once (only the new bytes are searched for a newline, and a partial line
 * is kept as a list of chunks, joined once when its newline arrives), so a long line costs
 * linear time. A line (or an unterminated tail) longer than `maxLine` bytes throws
 * LineTooLongError; after that the splitter ignores its input.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private pending = 0;
  private dead = false;
  constructor(private readonly onLine: (line: string) => void, private readonly maxLine = MAX_REQUEST_LINE) {}

  push(chunk: Buffer | string): void {
    if (this.dead) return;
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const nl = b.indexOf(10, start);
      if (nl < 0) break;
      const piece = b.subarray(start, nl);
      start = nl + 1;
      if (this.pending + piece.length > this.maxLine) this.fail();
      const line = this.pending === 0 ? piece.toString('utf8') : Buffer.concat([...this.parts, piece], this.pending + piece.length).toString('utf8');
      this.parts = [];
      this.pending = 0;
      if (line.trim()) this.onLine(line);
      if (this.dead) return;
    }
    if (start < b.length) {
      const rest = b.subarray(start);
      if (this.pending + rest.length > this.maxLine) this.fail();
      this.parts.push(rest);
      this.pending += rest.length;
    }
  }

  /** Bytes of the partial line held. */
  get buffered(): number {
    return this.pending;
  }

  /** Stops delivering lines (the connection is being closed). */
  stop(): void {
    this.dead = true;
    this.parts = [];
    this.pending = 0;
  }

  private fail(): never {
    this.stop();
    throw new LineTooLongError(this.maxLine);
  }
}

// ---- request validation ------------------------------------------------------------------------

/** Nesting depth of a parsed JSON value, iteratively (never recurses), stopping past `limit`. */
export function jsonDepth(v: unknown, limit = Infinity): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return max;
}

type ArgKind = 'domain' | 'domains' | 'bool' | 'int' | 'name' | 'cpus' | 'config' | 'base64' | 'stream' | 'vcpu' | 'mem';

const DOMAIN_ARGS = { domain: 'domain', domains: 'domains' } as const;

/** Every op and the arguments it takes, with their JSON types (ranges are checked by the op itself). */
export const OP_ARGS = {
  hello: {},
  create: { config: 'config', paused: 'bool' },
  list: { ...DOMAIN_ARGS, long: 'bool' },
  destroy: { domain: 'domain' },
  shutdown: { domain: 'domain', all: 'bool', wait: 'bool' },
  reboot: { domain: 'domain', all: 'bool', wait: 'bool' },
  pause: { domain: 'domain' },
  unpause: { domain: 'domain' },
  rename: { domain: 'domain', name: 'name' },
  domid: { name: 'domain' },
  domname: { domid: 'domain' },
  console: { domain: 'domain', replay: 'bool' },
  'console-input': { domain: 'domain', data: 'base64' },
  detach: { stream: 'stream' },
  events: {},
  'vcpu-list': { ...DOMAIN_ARGS },
  'vcpu-pin': { domain: 'domain', vcpu: 'vcpu', hard: 'cpus', soft: 'cpus' },
  'vcpu-set': { domain: 'domain', count: 'int' },
  'mem-set': { domain: 'domain', memkb: 'int', mem: 'mem' },
  'mem-max': { domain: 'domain', memkb: 'int', mem: 'mem' },
  info: {},
  dmesg: { clear: 'bool' },
  uptime: { ...DOMAIN_ARGS },
  'sched-credit': { domain: 'domain', weight: 'int', cap: 'int' },
  'cpupool-list': { pool: 'name' },
  'cpupool-create': { name: 'name', sched: 'name', cpus: 'cpus' },
  'cpupool-destroy': { pool: 'name', name: 'name' },
  'cpupool-cpu-add': { pool: 'name', cpus: 'cpus' },
  'cpupool-cpu-remove': { pool: 'name', cpus: 'cpus' },
  'cpupool-migrate': { domain: 'domain', pool: 'name' },
  'cpupool-numa-split': {},
  top: {},
  'host-counts': {},
  stats: {},
  'debug-attach': { domain: 'domain', listen: 'name', othersRun: 'bool' },
  'debug-detach': { domain: 'domain' },
  'block-attach': { domain: 'domain', disk: 'config' },
  'block-list': { ...DOMAIN_ARGS },
  'block-detach': { domain: 'domain', vdev: 'name' },
  'network-list': { ...DOMAIN_ARGS },
  'network-attach': { domain: 'domain', nic: 'config' },
  'network-detach': { domain: 'domain', devid: 'int', mac: 'name' },
  'pci-dump': {},
  'pci-assignable-add': { bdf: 'name' },
  'pci-assignable-remove': { bdf: 'name' },
  'pci-assignable-list': {},
  'pci-attach': { domain: 'domain', pci: 'config' },
  'pci-detach': { domain: 'domain', bdf: 'name', force: 'bool' },
  'pci-list': { domain: 'domain' },
  'pci-sriov-numvfs': { bdf: 'name', numvfs: 'int' },
  'pci-sriov-list': { bdf: 'name' },
  'pci-sriov-vf': { bdf: 'name', vf: 'int', key: 'name', value: 'name' },
} as const satisfies Readonly<Record<string, Readonly<Record<string, ArgKind>>>>;

/** Every op the host serves, in OP_ARGS order. */
export const OPS: readonly OpName[] = Object.freeze(Object.keys(OP_ARGS) as OpName[]);

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const shortString = (x: unknown, max = MAX_STRING_ARG): x is string => typeof x === 'string' && x.length <= max;

function argProblem(kind: ArgKind, v: unknown): string | null {
  switch (kind) {
    case 'domain':
      return (shortString(v, 256) && v !== '') || (isInt(v) && v >= 0) ? null : 'a domain name or id (a non-empty string or an integer >= 0)';
    case 'domains':
      if (!Array.isArray(v) || v.length > MAX_LIST_ARG) return `a list of at most ${MAX_LIST_ARG} domain names or ids`;
      return v.every((x) => argProblem('domain', x) === null) ? null : `a list of domain names or ids`;
    case 'bool':
      return typeof v === 'boolean' ? null : 'true or false';
    case 'int':
      return isInt(v) || (typeof v === 'string' && /^\s*[+-]?\d{1,20}\s*$/.test(v)) ? null : 'an integer';
    case 'name':
      return shortString(v, 256) ? null : 'a string of at most 256 characters';
    case 'mem':
      return (shortString(v, 64)) || (typeof v === 'number' && Number.isFinite(v)) ? null : 'a memory size (a number with an optional b/k/m/g/t suffix)';
    case 'cpus':
      if (shortString(v) || (isInt(v) && v >= 0)) return null;
      if (Array.isArray(v) && v.length <= MAX_LIST_ARG && v.every((c) => isInt(c) && c >= 0)) return null;
      return `a CPU list (a string such as "0-3,^2", a pCPU id, or a list of at most ${MAX_LIST_ARG} ids)`;
    case 'config':
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'a libxl domain_config object';
    case 'base64':
      return shortString(v, MAX_CONSOLE_INPUT_B64) && /^[A-Za-z0-9+/=\s]*$/.test(v) ? null : `base64 text of at most ${MAX_CONSOLE_INPUT_B64} characters`;
    case 'stream':
      return isInt(v) || shortString(v, 256) ? null : 'a request id (number or string)';
    case 'vcpu':
      return v === 'all' || (isInt(v) && v >= 0) || (typeof v === 'string' && /^\d{1,10}$/.test(v)) ? null : "a vCPU number or 'all'";
  }
}

/**
 * Checks a parsed request line before any op sees it: the envelope (`id`, `op`, `args`, `v`), the
 * nesting depth, that the op exists, and that every argument is one the op takes, of the right
 * JSON type. Throws ToolstackError: EPROTO for a malformed envelope, ENOSYS for an unknown op,
 * EINVAL for a bad argument. Returns the request with `args` always an object.
 */
export function validateRequest(raw: unknown): Request & { args: Record<string, unknown>; op: OpName } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ToolstackError('EPROTO', 'expected {"id": number|string, "op": string, "args": {...}}');
  const r = raw as Record<string, unknown>;
  if (jsonDepth(raw, MAX_REQUEST_DEPTH) > MAX_REQUEST_DEPTH) throw new ToolstackError('EPROTO', `request nested deeper than ${MAX_REQUEST_DEPTH} levels`);
  if (!(typeof r.id === 'number' && Number.isFinite(r.id)) && !shortString(r.id, 256)) throw new ToolstackError('EPROTO', 'expected {"id": number|string, "op": string, "args": {...}}: id must be a number or a string of at most 256 characters');
  if (typeof r.op !== 'string') throw new ToolstackError('EPROTO', 'expected {"id": number|string, "op": string, "args": {...}}: op must be a string');
  if (r.v !== undefined && typeof r.v !== 'number') throw new ToolstackError('EPROTO', 'v (the protocol version) must be a number');
  if (typeof r.v === 'number' && r.v > PROTOCOL_VERSION) throw new ToolstackError('EPROTO', `protocol version ${r.v} is newer than this host's (${PROTOCOL_VERSION})`);
  for (const k of Object.keys(r)) if (k !== 'id' && k !== 'op' && k !== 'args' && k !== 'v') throw new ToolstackError('EPROTO', `unknown request field '${k.slice(0, 64)}' (allowed: id, op, args, v)`);
  const op = r.op;
  if (!(OPS as readonly string[]).includes(op)) throw new ToolstackError('ENOSYS', `unknown op '${op.slice(0, 64)}' (known: ${OPS.join(', ')})`);
  const args = validateArgs(op as OpName, r.args);
  return { id: r.id as number | string, op: op as OpName, args, ...(typeof r.v === 'number' ? { v: r.v } : {}) };
}

/**
 * Checks the arguments of `op` (an existing op): an object (or absent), nested at most
 * MAX_REQUEST_DEPTH - 1 levels, every key one the op takes, every value of the right JSON type.
 * Throws ToolstackError EINVAL; returns the arguments (an empty object when absent).
 */
export function validateArgs(op: OpName, raw: unknown): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ToolstackError('EINVAL', `${op}: args must be an object`);
  if (jsonDepth(raw, MAX_REQUEST_DEPTH) > MAX_REQUEST_DEPTH - 1) throw new ToolstackError('EINVAL', `${op}: args nested deeper than ${MAX_REQUEST_DEPTH - 1} levels`);
  const args = raw as Record<string, unknown>;
  const spec: Readonly<Record<string, ArgKind>> = OP_ARGS[op];
  for (const [k, v] of Object.entries(args)) {
    const kind = spec[k];
    if (kind === undefined) {
      const known = Object.keys(spec);
      throw new ToolstackError('EINVAL', `${op}: unknown argument '${k.slice(0, 64)}' (${known.length ? `known: ${known.join(', ')}` : 'it takes none'})`);
    }
    if (v === undefined || v === null) continue;
    const problem = argProblem(kind, v);
    if (problem) throw new ToolstackError('EINVAL', `${op}: argument '${k}' must be ${problem}, got ${describeJson(v)}`);
  }
  return args;
}

/** A short description of a JSON value for an error message (never its whole text). */
export function describeJson(v: unknown, max = 60): string {
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v !== null && typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}... (${s.length} characters)` : s;
}
