/**
 * In-process clients: dom0's TypeScript code (toolstack, backends) and tests talk to xenstored
 * without a socket. Requests are handled synchronously, so every call returns its reply.
 */
import { XsType, type XsdError } from '@tachyxx/abi';
import { fromUtf8, nulStrings, splitStrings, utf8, type XsMessage } from './codec.js';
import { XsConnection } from './connection.js';
import { XsError, type Xenstored } from './xenstored.js';
import { XSD_SOCKMSG } from '@tachyxx/abi';

export interface WatchEventData {
  path: string;
  token: string;
}

export class XsLocalConnection extends XsConnection {
  readonly kind = 'local' as const;
  private readonly replies: XsMessage[] = [];
  /** Watch events not yet taken (`takeEvents`), unless `onEvent` consumes them. */
  readonly events: WatchEventData[] = [];
  onEvent: ((e: WatchEventData) => void) | undefined;
  private reqId = 0;

  constructor(
    readonly xs: Xenstored,
    domid: number,
  ) {
    super(domid);
  }

  protected transmit(): void {
    for (let item = this.shiftOut(); item; item = this.shiftOut()) {
      const b = item.bytes;
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const m: XsMessage = {
        type: v.getUint32(XSD_SOCKMSG.type, true),
        reqId: v.getUint32(XSD_SOCKMSG.req_id, true),
        txId: v.getUint32(XSD_SOCKMSG.tx_id, true),
        payload: b.subarray(XSD_SOCKMSG.size),
      };
      if (m.type === XsType.WATCH_EVENT) {
        const [path = '', token = ''] = splitStrings(m.payload);
        if (this.onEvent) this.onEvent({ path, token });
        else this.events.push({ path, token });
      } else this.replies.push(m);
    }
  }

  /** Sends one request and returns its reply (an XS_ERROR reply is returned, not thrown). */
  request(type: number, payload: Uint8Array, txId = 0): XsMessage {
    const reqId = (this.reqId = (this.reqId + 1) >>> 0);
    this.xs.handle(this, { type, reqId, txId, payload });
    const r = this.replies.shift();
    if (!r) throw new Error(`xenstored sent no reply to request ${type}${this.closed ? ` (connection dropped: ${this.dropReason})` : ''}`);
    return r;
  }

  takeEvents(): WatchEventData[] {
    return this.events.splice(0);
  }

  shutdown(reason: string): void {
    this.closed = true;
    this.dropReason ??= reason;
  }

  /** Closes the connection (its watches and transactions go). */
  close(): void {
    this.closed = true;
    this.xs.detach(this);
  }
}

/** A typed client over a local connection; failures throw XsError (`code`: the wire errno name, `errno`: its number). */
export class XsClient {
  constructor(readonly conn: XsLocalConnection) {}

  private call(type: number, payload: Uint8Array, tx = 0): Uint8Array {
    const r = this.conn.request(type, payload, tx);
    if (r.type === XsType.ERROR) throw new XsError(fromUtf8(r.payload.subarray(0, r.payload.length - 1)) as XsdError);
    return r.payload;
  }

  readBytes(path: string, tx = 0): Uint8Array {
    return this.call(XsType.READ, nulStrings(path), tx);
  }
  read(path: string, tx = 0): string {
    return fromUtf8(this.readBytes(path, tx));
  }
  /** The value, or undefined when the node does not exist. */
  tryRead(path: string, tx = 0): string | undefined {
    try {
      return this.read(path, tx);
    } catch (e) {
      if (e instanceof XsError && e.code === 'ENOENT') return undefined;
      throw e;
    }
  }
  write(path: string, value: string | Uint8Array, tx = 0): void {
    const v = typeof value === 'string' ? utf8(value) : value;
    const p = utf8(`${path}\0`);
    const payload = new Uint8Array(p.length + v.length);
    payload.set(p);
    payload.set(v, p.length);
    this.call(XsType.WRITE, payload, tx);
  }
  mkdir(path: string, tx = 0): void {
    this.call(XsType.MKDIR, nulStrings(path), tx);
  }
  rm(path: string, tx = 0): void {
    this.call(XsType.RM, nulStrings(path), tx);
  }
  directory(path: string, tx = 0): string[] {
    return splitStrings(this.call(XsType.DIRECTORY, nulStrings(path), tx));
  }
  exists(path: string, tx = 0): boolean {
    try {
      this.call(XsType.READ, nulStrings(path), tx);
      return true;
    } catch (e) {
      if (e instanceof XsError && (e.code === 'ENOENT' || e.code === 'EACCES')) return false;
      throw e;
    }
  }
  getPerms(path: string, tx = 0): string[] {
    return splitStrings(this.call(XsType.GET_PERMS, nulStrings(path), tx));
  }
  setPerms(path: string, perms: string[], tx = 0): void {
    this.call(XsType.SET_PERMS, nulStrings(path, ...perms), tx);
  }
  watch(path: string, token: string): void {
    this.call(XsType.WATCH, nulStrings(path, token));
  }
  unwatch(path: string, token: string): void {
    this.call(XsType.UNWATCH, nulStrings(path, token));
  }
  transactionStart(): number {
    return Number(splitStrings(this.call(XsType.TRANSACTION_START, nulStrings('')))[0]);
  }
  /** Commits (true) or aborts; a conflict throws XsError('EAGAIN'). */
  transactionEnd(tx: number, commit = true): void {
    this.call(XsType.TRANSACTION_END, nulStrings(commit ? 'T' : 'F'), tx);
  }
  /** Runs `fn` in a transaction, retrying on EAGAIN (at most `tries` times). */
  transaction<T>(fn: (tx: number) => T, tries = 16): T {
    for (let i = 1; ; i++) {
      const tx = this.transactionStart();
      let out: T;
      try {
        out = fn(tx);
      } catch (e) {
        this.transactionEnd(tx, false);
        throw e;
      }
      try {
        this.transactionEnd(tx, true);
        return out;
      } catch (e) {
        if (!(e instanceof XsError && e.code === 'EAGAIN') || i >= tries) throw e;
      }
    }
  }
  introduce(domid: number, gfn: number, port: number): void {
    this.call(XsType.INTRODUCE, nulStrings(String(domid), String(gfn), String(port)));
  }
  release(domid: number): void {
    this.call(XsType.RELEASE, nulStrings(String(domid)));
  }
  getDomainPath(domid: number): string {
    return splitStrings(this.call(XsType.GET_DOMAIN_PATH, nulStrings(String(domid))))[0]!;
  }
  isDomainIntroduced(domid: number): boolean {
    return splitStrings(this.call(XsType.IS_DOMAIN_INTRODUCED, nulStrings(String(domid))))[0] === 'T';
  }
  resetWatches(): void {
    this.call(XsType.RESET_WATCHES, nulStrings(''));
  }
  takeEvents(): { path: string; token: string }[] {
    return this.conn.takeEvents();
  }
}

/** A new in-process connection of domain `domid` (0 = privileged) with a typed client on it. */
export function connectLocal(xs: Xenstored, domid = 0): XsClient {
  const conn = new XsLocalConnection(xs, domid);
  xs.attach(conn);
  return new XsClient(conn);
}
