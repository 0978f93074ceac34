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
  | 'ENOSYS' // unknown op
  | 'EPROTO' // malformed request or newer protocol
  | 'EIO'; // internal failure

export class ToolstackError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
    this.name = 'ToolstackError';
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

/** Every op the host serves (`hello` lists them too). */
export const OPS = [
  'hello', 'create', 'list', 'destroy', 'shutdown', 'reboot', 'pause', 'unpause', 'rename', 'domid', 'domname',
  'console', 'console-input', 'detach', 'events', 'vcpu-list', 'vcpu-pin', 'vcpu-set', 'mem-set', 'mem-max', 'info', 'dmesg',
  'uptime', 'sched-credit', 'cpupool-list', 'cpupool-create', 'cpupool-destroy', 'cpupool-cpu-add',
  'cpupool-cpu-remove', 'cpupool-migrate', 'cpupool-numa-split', 'top', 'host-counts', 'stats',
] as const;
export type OpName = (typeof OPS)[number];

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

// ---- line framing ----------------------------------------------------------------------------

/** Splits a byte stream into lines; calls `onLine` for each complete one. */
export class LineSplitter {
  private buf = '';
  constructor(private readonly onLine: (line: string) => void, private readonly maxLine = 16 << 20) {}
  push(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (line.trim()) this.onLine(line);
    }
    if (this.buf.length > this.maxLine) throw new ToolstackError('EPROTO', `request line longer than ${this.maxLine} bytes`);
  }
}
