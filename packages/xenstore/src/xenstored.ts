/**
 * xenstored: the tree, permissions, watches, transactions, quotas and domains, driven by xs_wire
 * messages from any number of connections. Semantics follow C xenstored (tools/xenstored in Xen):
 * error names, which errors hide which (EACCES before ENOENT), when watches fire and for whom,
 * the `val >= quota` limits that apply to unprivileged domains only, and the reply ordering (an
 * event a request causes on its own connection is queued before the request's reply).
 *
 * Everything is synchronous and deterministic: `handle()` processes one message and queues its
 * reply (and any watch events) on the connections before returning.
 */
import {
  Errno,
  XsType,
  XS_TYPE_COUNT,
  XSD_ERRORS,
  XENSTORE_PAYLOAD_MAX,
  XENSTORE_REL_PATH_MAX,
  XS_DOMID_SELF,
  type XsdError,
} from '@tachyxx/abi';
import { defineTopic, XenError, type EventBus } from '@tachyxx/core';
import { encodeMessage, fromUtf8, oneArg, splitStrings, utf8, type XsMessage } from './codec.js';
import type { XsConnection } from './connection.js';
import { baseName, childPath, isChild, nodeSize, parentPath, type XsNode } from './node.js';
import { parsePerm, permFor, permToString, PERM_OWNER, PERM_READ, PERM_WRITE, type Asker, type Perm } from './perms.js';
import { XenstoreStats } from './stats.js';
import { ABSENT, Transaction } from './transaction.js';

/** Limits for unprivileged domains (dom0 has none). Defaults are C xenstored's. */
export interface XsQuotas {
  /** Nodes a domain may own (-N / quota "nodes"): ENOSPC when the count would reach it. */
  entriesPerDomain: number;
  /** Node size in bytes, header + perms + value + child names ("node-size"): ENOSPC. */
  nodeSize: number;
  /** Watches per domain ("watches"): ENOSPC. */
  watchesPerDomain: number;
  /** Open transactions per domain ("transactions"): ENOSPC. */
  transactionsPerDomain: number;
  /** Permission entries per node ("node-permissions"): ENOSPC. */
  permsPerNode: number;
  /** Path length below /local/domain/<id>/ ("path-max"): EINVAL. */
  pathLength: number;
  /** Nodes one transaction may access, read or written ("transaction-nodes"): ENOSPC. */
  nodesPerTransaction: number;
  /**
   * Replies and events of a domain's ring not yet copied into the ring ("outstanding"): at this
   * count xenstored stops taking the domain's requests until the guest reads.
   */
  outstandingPerDomain: number;
  /**
   * Not a xenstored quota: bytes of replies and events a connection may leave unread before it is
   * dropped (a client that floods itself with watch events and never reads).
   */
  outputBytesPerConnection: number;
}

export const DEFAULT_QUOTAS: Readonly<XsQuotas> = Object.freeze({
  entriesPerDomain: 1000,
  nodeSize: 2048,
  watchesPerDomain: 128,
  transactionsPerDomain: 10,
  permsPerNode: 5,
  pathLength: XENSTORE_REL_PATH_MAX,
  // domain.c quotas[ACC_TRANSNODES] = 1024, checked as domain_max_chk(trans->nodes + 1).
  nodesPerTransaction: 1024,
  // domain.c quotas[ACC_OUTST] = 20, checked in domain_can_read().
  outstandingPerDomain: 20,
  outputBytesPerConnection: 4 << 20,
});

/** A watch fired (published on the bus only when someone subscribes). */
export interface XenstoreWatchEvent {
  time: number;
  /** Domain of the connection the event goes to. */
  domid: number;
  /** Path as reported to the watcher (relative for relative watches). */
  path: string;
  token: string;
}
export const XENSTORE_WATCH = defineTopic<XenstoreWatchEvent>('xenstore.watch');

/** A guest's ring, as INTRODUCE binds it (see ring.ts). */
export interface DomainBinding {
  /** Called when the domain is released, to unbind its event channel and unmap its page. */
  close?(): void;
}

export interface IntroducedDomain {
  domid: number;
  /** Its connection (a ring), if it has one; dom0's socket clients are not listed here. */
  conn: XsConnection | undefined;
  port: number;
  gfn: number;
  binding: DomainBinding | undefined;
}

export interface XenstoredOptions {
  quotas?: Partial<XsQuotas>;
  bus?: EventBus;
  /** Simulated time for bus payloads (ns); 0 when absent. */
  now?: () => number;
  /**
   * Maps a domain's ring for a wire XS_INTRODUCE (domid, gfn, port). Return undefined if the page
   * can't be mapped (EINVAL). Without it, INTRODUCE records the domain without a ring (enough for
   * toolstacks that only talk over the socket).
   */
  introduceHook?: (xs: Xenstored, domid: number, gfn: number, port: number) => { conn: XsConnection; binding?: DomainBinding } | undefined | null;
  /** Called after every change of the committed tree (for persistence). */
  onCommit?: () => void;
  /** Where xenstored's own log lines go (an op that failed inside, a dropped connection); stderr by default. */
  log?: (line: string) => void;
}

/** One change of the committed tree: the node's new state, or null when it was removed. */
export type XsChange = readonly [path: string, node: XsNode | null];

/**
 * A durable log of the committed tree (XsPersistence): xenstored hands it every batch of changes
 * (one request, one committed transaction, one release) and holds every reply and watch event
 * queued meanwhile until the log calls `releaseOutput()` - nothing is acknowledged before it is
 * durable.
 */
export interface XsChangeLog {
  append(changes: readonly XsChange[], generation: number): void;
  /** Makes everything appended durable now (in-process callers need their reply synchronously). */
  syncNow(): void;
}

/**
 * An xenstored error: `code` is the errno name that goes on the wire (one of xsd_errors[]),
 * `errno` its number (Xen's public/errno.h, as every XenError carries). The message is the name
 * unless one is given.
 */
export class XsError extends XenError {
  override readonly name: string = 'XsError';
  constructor(
    readonly code: XsdError,
    message: string = code,
  ) {
    const errno = (Errno as Record<string, number | undefined>)[code];
    if (errno === undefined) throw new RangeError(`XsError: '${String(code).slice(0, 32)}' is not an xsd_errors[] name`);
    super(message, errno);
  }
}
/** A reply (key undefined) or a watch event waiting for the log. */
interface HeldOutput {
  conn: XsConnection;
  bytes: Uint8Array;
  key: string | undefined;
  special: boolean;
}

/** The internal failure path: not an Error, so no stack is captured on every ENOENT. */
class XsFail {
  constructor(readonly code: XsdError) {}
}
const fail = (e: XsdError): never => {
  throw new XsFail(e);
};

const VALID_CHARS = /^[A-Za-z0-9\-/_@]*$/;
const LOCAL_DOMAIN = /^\/local\/domain\/(\d{1,5})\//;
const SPECIAL_NODES = ['@releaseDomain', '@introduceDomain'] as const;
const NO_ARGS = new Uint8Array(0);
const OK = utf8('OK\0');

/** Flags of wire_funcs[]. */
const NOTID = 1;
const PRIV = 2;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export class Xenstored {
  readonly quotas: XsQuotas;
  readonly stats = new XenstoreStats();
  /** The committed tree, keyed by full path (special nodes by their @name). */
  private readonly nodes = new Map<string, XsNode>();
  /** owner domid -> nodes it owns. */
  private readonly entries = new Map<number, number>();
  private generation = 0;
  readonly connections = new Set<XsConnection>();
  readonly domains = new Map<number, IntroducedDomain>();
  private readonly bus: EventBus | undefined;
  private readonly now: () => number;
  /** Called after every change of the committed tree (persistence hooks in here). */
  onCommit: (() => void) | undefined;
  /** The durable log, when one is attached (`attachLog`). */
  private changeLog: XsChangeLog | undefined;
  /** Changes of the committed tree not yet handed to the log (path -> new node or null). */
  private readonly dirty = new Map<string, XsNode | null>();
  /** Output held until the log says it is durable; `heldBase` counts what was released before. */
  private held: HeldOutput[] = [];
  private heldBase = 0;
  private holding = false;
  readonly log: (line: string) => void;

  constructor(private readonly options: XenstoredOptions = {}) {
    this.quotas = { ...DEFAULT_QUOTAS, ...options.quotas };
    this.bus = options.bus;
    this.now = options.now ?? (() => 0);
    this.onCommit = options.onCommit;
    this.log = options.log ?? ((line) => process.stderr.write(`xenstored: ${line}\n`));
    this.reset();
  }

  /** Empties the tree back to xenstored's initial layout: /, /tool, /tool/xenstored and the special nodes. */
  reset(): void {
    this.nodes.clear();
    this.entries.clear();
    const perms: Perm[] = [{ id: 0, perm: 0 }];
    const mk = (path: string, children: string[]) => this.nodes.set(path, { value: NO_ARGS, perms, children, gen: ++this.generation });
    mk('/', ['tool']);
    mk('/tool', ['xenstored']);
    mk('/tool/xenstored', []);
    for (const s of SPECIAL_NODES) mk(s, []);
    this.entries.set(0, this.nodes.size);
    this.domains.set(0, { domid: 0, conn: undefined, port: 0, gfn: 0, binding: undefined });
  }

  // ---- Connections -------------------------------------------------------------------------

  attach(conn: XsConnection): void {
    this.connections.add(conn);
    this.stats.connectionsOpened.value++;
  }

  /** Forgets a connection: its watches and open transactions go with it. */
  detach(conn: XsConnection): void {
    if (!this.connections.delete(conn)) return;
    this.stats.txAborted.value += conn.transactions.size;
    conn.transactions.clear();
    conn.watches.length = 0;
  }

  /** Drops a misbehaving connection (protocol error, bad ring index, output overflow). */
  drop(conn: XsConnection, reason: string): void {
    if (conn.closed) return;
    this.stats.connectionsDropped.value++;
    conn.dropReason = reason;
    this.detach(conn);
    conn.shutdown(reason);
  }

  // ---- Message handling --------------------------------------------------------------------

  /** Handles one request from `conn` and queues the reply. Never throws for any input. */
  handle(conn: XsConnection, m: XsMessage): void {
    if (conn.closed) return;
    this.stats.requests.value++;
    this.stats.bytesIn.value += 16 + m.payload.length;
    const name = m.type < XS_TYPE_COUNT ? HANDLER_NAMES[m.type] : undefined;
    if (name) this.stats.ops[name]!.value++;
    else this.stats.unknownOps.value++;
    try {
      this.dispatch(conn, m);
    } catch (e) {
      if ((e instanceof XsFail || e instanceof XsError) && e.code in this.stats.errors) this.replyError(conn, m, e.code);
      else this.internalError(conn, m, e);
    }
    try {
      this.endChanges(conn);
      if (!conn.closed && conn.overflowing(this.quotas.outputBytesPerConnection)) this.drop(conn, 'output overflow');
    } catch (e) {
      this.log(`internal error after ${opName(m.type)} from ${describeConn(conn)}: ${errorText(e)}`);
    }
  }

  /**
   * An op failed in a way no client input should cause (a bug, or a hook that threw): the request
   * gets EIO (what C xenstored answers when its database fails), a transaction it ran in is marked
   * failed (its commit answers EIO), the line names the op and the connection, and nothing else
   * is touched: the other clients, this connection and xenstored go on.
   */
  private internalError(conn: XsConnection, m: XsMessage, e: unknown): void {
    this.stats.internalErrors.value++;
    this.log(`internal error in ${opName(m.type)} (req_id ${m.reqId >>> 0}, tx_id ${m.txId >>> 0}) from ${describeConn(conn)}: ${errorText(e)}`);
    const tx = m.txId !== 0 ? conn.transactions.get(m.txId) : undefined;
    if (tx) tx.failed = true;
    try {
      if (!conn.closed) this.replyError(conn, m, 'EIO');
    } catch (e2) {
      this.log(`could not answer ${describeConn(conn)}: ${errorText(e2)}; dropping it`);
      this.drop(conn, 'internal error');
    }
  }

  private reply(conn: XsConnection, m: XsMessage, type: number, payload: Uint8Array): void {
    if (payload.length > XENSTORE_PAYLOAD_MAX) return this.replyError(conn, m, 'E2BIG');
    const bytes = encodeMessage(type, m.reqId, m.txId, payload);
    this.stats.bytesOut.value += bytes.length;
    this.emit(conn, bytes);
  }

  private replyError(conn: XsConnection, m: XsMessage, errno: XsdError): void {
    this.stats.errorReplies.value++;
    this.stats.errors[errno]!.value++;
    const bytes = encodeMessage(XsType.ERROR, m.reqId, m.txId, utf8(`${errno}\0`));
    this.stats.bytesOut.value += bytes.length;
    this.emit(conn, bytes);
  }

  // ---- Output and the durable log ------------------------------------------------------------

  /** Queues a reply, or holds it while changes wait to be made durable. */
  private emit(conn: XsConnection, bytes: Uint8Array): void {
    if (this.holding) this.held.push({ conn, bytes, key: undefined, special: false });
    else conn.queueReply(bytes);
  }

  /**
   * Attaches a durable log: from now on every change of the committed tree is appended to it and
   * output is held until the log releases it.
   */
  attachLog(log: XsChangeLog | undefined): void {
    this.changeLog = log;
    if (!log) this.releaseOutput(Infinity, true);
  }

  /** Output queued so far (held or not): a mark for `releaseOutput`. */
  get outputMark(): number {
    return this.heldBase + this.held.length;
  }

  /**
   * Sends held output up to `mark` (an `outputMark` taken when the batch was appended); with
   * `all`, everything (nothing is waiting to become durable any more) and stops holding.
   */
  releaseOutput(mark: number, all: boolean): void {
    const n = all ? this.held.length : Math.max(0, Math.min(this.held.length, mark - this.heldBase));
    const items = this.held.splice(0, n);
    this.heldBase += n;
    if (all) this.holding = false;
    for (const h of items) {
      if (h.conn.closed) continue;
      if (h.key === undefined) h.conn.queueReply(h.bytes);
      else this.deliverEvent(h.conn, h.bytes, h.key, h.special);
      if (!h.conn.closed && h.conn.overflowing(this.quotas.outputBytesPerConnection)) this.drop(h.conn, 'output overflow');
    }
  }

  /** Records a change of the committed tree (for the log). */
  private setLive(path: string, node: XsNode | null): void {
    if (node) this.nodes.set(path, node);
    else this.nodes.delete(path);
    if (this.changeLog) {
      this.dirty.set(path, node);
      this.holding = true;
    }
  }

  /** Hands the changes made so far to the log as one record (one request, transaction or release). */
  private endChanges(conn?: XsConnection): void {
    if (!this.changeLog) return;
    if (this.dirty.size) {
      const changes = [...this.dirty];
      this.dirty.clear();
      this.changeLog.append(changes, this.generation);
    }
    // In-process callers read their reply as soon as handle() returns.
    if (conn?.kind === 'local' && this.holding) this.changeLog.syncNow();
  }

  private ack(conn: XsConnection, m: XsMessage): void {
    this.reply(conn, m, m.type, OK);
  }

  private dispatch(conn: XsConnection, m: XsMessage): void {
    const flags = m.type < XS_TYPE_COUNT ? HANDLER_FLAGS[m.type] : undefined;
    if (flags === undefined) fail('ENOSYS');
    if (flags! & PRIV && !conn.privileged) fail('EACCES');
    let tx: Transaction | undefined;
    if (!(flags! & NOTID) && m.txId !== 0) tx = conn.transactions.get(m.txId) ?? fail('ENOENT');
    const p = m.payload;
    switch (m.type) {
      case XsType.CONTROL:
        return this.doControl(conn, m);
      case XsType.DIRECTORY: {
        const node = this.getChecked(conn, tx, this.canonical(conn, oneArg(p), false), PERM_READ);
        return this.reply(conn, m, m.type, utf8(node.children.map((c) => `${c}\0`).join('')));
      }
      case XsType.DIRECTORY_PART:
        return this.doDirectoryPart(conn, tx, m);
      case XsType.READ: {
        const node = this.getChecked(conn, tx, this.canonical(conn, oneArg(p), false), PERM_READ);
        return this.reply(conn, m, m.type, node.value);
      }
      case XsType.GET_PERMS: {
        const node = this.getChecked(conn, tx, this.canonical(conn, oneArg(p), true), PERM_READ);
        return this.reply(conn, m, m.type, utf8(node.perms.map((x) => `${permToString(x)}\0`).join('')));
      }
      case XsType.WRITE: {
        const nul = p.indexOf(0);
        if (nul < 0) fail('EINVAL');
        const path = this.canonical(conn, fromUtf8(p.subarray(0, nul)), false);
        this.write(conn, tx, path, p.slice(nul + 1), false);
        return this.ack(conn, m);
      }
      case XsType.MKDIR:
        this.write(conn, tx, this.canonical(conn, oneArg(p), false), NO_ARGS, true);
        return this.ack(conn, m);
      case XsType.RM:
        this.rm(conn, tx, this.canonical(conn, oneArg(p), false));
        return this.ack(conn, m);
      case XsType.SET_PERMS:
        return this.doSetPerms(conn, tx, m);
      case XsType.WATCH:
        return this.doWatch(conn, m);
      case XsType.UNWATCH: {
        const v = splitStrings(p);
        if (v.length !== 2) fail('EINVAL');
        const path = this.canonical(conn, v[0], true);
        const i = conn.watches.findIndex((w) => w.node === path && w.token === v[1]);
        if (i < 0) fail('ENOENT');
        conn.watches.splice(i, 1);
        return this.ack(conn, m);
      }
      case XsType.TRANSACTION_START: {
        if (tx) fail('EBUSY');
        if (!conn.privileged && conn.transactions.size + 1 >= this.quotas.transactionsPerDomain) fail('ENOSPC');
        let id = conn.nextTxId;
        while (id === 0 || conn.transactions.has(id)) id = (id + 1) >>> 0;
        conn.nextTxId = (id + 1) >>> 0;
        conn.transactions.set(id, new Transaction(id, conn.privileged ? Infinity : this.quotas.nodesPerTransaction));
        this.stats.txStarted.value++;
        return this.reply(conn, m, m.type, utf8(`${id}\0`));
      }
      case XsType.TRANSACTION_END: {
        const arg = oneArg(p);
        if (arg !== 'T' && arg !== 'F') fail('EINVAL');
        if (!tx) fail('ENOENT');
        conn.transactions.delete(tx!.id);
        if (arg === 'T' && tx!.failed) {
          this.stats.txAborted.value++;
          fail('EIO');
        }
        if (arg === 'T') this.commit(conn, tx!);
        else this.stats.txAborted.value++;
        return this.ack(conn, m);
      }
      case XsType.INTRODUCE:
        return this.doIntroduce(conn, m);
      case XsType.RELEASE: {
        const domid = this.oneDomain(p);
        this.releaseDomain(domid);
        return this.ack(conn, m);
      }
      case XsType.RESUME:
        this.oneDomain(p);
        return this.ack(conn, m);
      case XsType.GET_DOMAIN_PATH:
        return this.reply(conn, m, m.type, utf8(`${domainPath(parseDomid(oneArg(p)))}\0`));
      case XsType.IS_DOMAIN_INTRODUCED: {
        const domid = parseDomid(oneArg(p));
        return this.reply(conn, m, m.type, utf8(domid === XS_DOMID_SELF || this.domains.has(domid) ? 'T\0' : 'F\0'));
      }
      case XsType.SET_TARGET: {
        // do_set_target(): two domids, both introduced (ENOENT) with a connection (EINVAL:
        // find_connected_domain()); dom0 and domains introduced without a ring have none here.
        const v = splitStrings(p);
        if (v.length < 2) fail('EINVAL');
        const domid = parseDomid(v[0]);
        const tdomid = parseDomid(v[1]);
        const d = this.ringDomain(domid);
        const t = this.ringDomain(tdomid);
        d.conn.target = t.domid;
        return this.ack(conn, m);
      }
      case XsType.RESET_WATCHES:
        conn.watches.length = 0;
        this.stats.txAborted.value += conn.transactions.size;
        conn.transactions.clear();
        return this.ack(conn, m);
      default:
        fail('ENOSYS');
    }
  }

  // ---- Paths and permissions ---------------------------------------------------------------

  /** canonicalize(): validates a client path and makes a relative one absolute. */
  canonical(conn: Asker, raw: string | undefined, allowSpecial: boolean): string {
    if (raw === undefined || !VALID_CHARS.test(raw) || (raw[0] === '@' && !allowSpecial)) fail('EINVAL');
    const name = raw![0] !== '/' && raw![0] !== '@' ? `${domainPath(conn.domid)}/${raw}` : raw!;
    if ((name.endsWith('/') && name !== '/') || name.includes('//')) fail('EINVAL');
    if (!conn.privileged) {
      const local = LOCAL_DOMAIN.exec(name);
      const off = local ? local[0].length : 0;
      if (name.length - off >= this.quotas.pathLength) fail('EINVAL');
    }
    return name;
  }

  private getNode(path: string, tx: Transaction | undefined): XsNode | undefined {
    if (tx) {
      const o = tx.overlay.get(path);
      if (o !== undefined) return o ?? undefined;
      const live = this.nodes.get(path);
      if (!tx.accessed.has(path)) this.access(tx, path, live);
      return live;
    }
    return this.nodes.get(path);
  }

  private putNode(path: string, node: XsNode, tx: Transaction | undefined): void {
    if (tx) {
      if (!tx.accessed.has(path)) this.access(tx, path, this.nodes.get(path));
      tx.overlay.set(path, node);
    } else this.setLive(path, node);
  }

  private deleteNode(path: string, tx: Transaction | undefined): void {
    if (tx) {
      if (!tx.accessed.has(path)) this.access(tx, path, this.nodes.get(path));
      tx.overlay.set(path, null);
    } else this.setLive(path, null);
  }

  /** access_node(): a transaction remembers a node's generation; ENOSPC past the transaction-nodes quota. */
  private access(tx: Transaction, path: string, live: XsNode | undefined): void {
    if (tx.accessed.size + 1 >= tx.nodeLimit) fail('ENOSPC');
    tx.accessed.set(path, live ? live.gen : ABSENT);
  }

  private entryCount(domid: number, tx: Transaction | undefined): number {
    return (this.entries.get(domid) ?? 0) + (tx?.entryDelta.get(domid) ?? 0);
  }

  private addEntries(domid: number, n: number, tx: Transaction | undefined): void {
    const m = tx ? tx.entryDelta : this.entries;
    m.set(domid, (m.get(domid) ?? 0) + n);
  }

  /** get_node() with its permission check: EACCES, or ENOENT only when the parents allow `perm`. */
  private getChecked(conn: Asker, tx: Transaction | undefined, path: string, perm: number): XsNode {
    const node = this.getNode(path, tx);
    if (node) {
      if ((permFor(conn, node.perms) & perm) !== perm) fail('EACCES');
      return node;
    }
    return fail(this.missingErrno(conn, tx, path, perm));
  }

  /** errno_from_parents(): ENOENT if the nearest existing ancestor grants any of `perm`, else EACCES. */
  private missingErrno(conn: Asker, tx: Transaction | undefined, path: string, perm: number): XsdError {
    let p = path;
    let anc: XsNode | undefined;
    do {
      p = parentPath(p);
      anc = this.getNode(p, tx);
    } while (!anc && p !== '/');
    return anc && permFor(conn, anc.perms) & perm ? 'ENOENT' : 'EACCES';
  }

  private newGen(): number {
    return ++this.generation;
  }

  // ---- Operations ----------------------------------------------------------------------------

  /** WRITE and MKDIR: modify the node, or create it and any missing parents (perms from the parent). */
  private write(conn: XsConnection, tx: Transaction | undefined, path: string, value: Uint8Array, mkdir: boolean): void {
    const node = this.getNode(path, tx);
    const checkSize = (v: Uint8Array, perms: readonly Perm[], children: readonly string[]) => {
      if (!conn.privileged && nodeSize(v, perms, children) >= this.quotas.nodeSize) fail('ENOSPC');
    };
    if (node) {
      if ((permFor(conn, node.perms) & PERM_WRITE) !== PERM_WRITE) fail('EACCES');
      if (mkdir) return;
      checkSize(value, node.perms, node.children);
      const updated: XsNode = { value, perms: node.perms, children: node.children, gen: this.newGen() };
      this.putNode(path, updated, tx);
      this.changed(tx);
      this.fireWatches(conn, tx, path, updated, false);
      return;
    }
    const errno = this.missingErrno(conn, tx, path, PERM_WRITE);
    if (errno !== 'ENOENT') fail(errno);
    // construct_node(): walk up to the nearest existing node, then create downwards.
    const missing: string[] = [path];
    let anc = parentPath(path);
    let ancNode = this.getNode(anc, tx);
    while (!ancNode) {
      missing.push(anc);
      anc = parentPath(anc);
      ancNode = this.getNode(anc, tx);
    }
    if (!conn.privileged && this.entryCount(conn.domid, tx) + missing.length >= this.quotas.entriesPerDomain) fail('ENOSPC');
    // Compute everything first so that a quota failure changes nothing.
    const writes: [string, XsNode][] = [];
    const parentChildren = [...ancNode.children, baseName(missing[missing.length - 1]!)];
    checkSize(ancNode.value, ancNode.perms, parentChildren);
    writes.push([anc, { value: ancNode.value, perms: ancNode.perms, children: parentChildren, gen: this.newGen() }]);
    let perms: readonly Perm[] = ancNode.perms;
    if (!conn.privileged) perms = [{ id: conn.domid, perm: perms[0]!.perm }, ...perms.slice(1)];
    for (let i = missing.length - 1; i >= 0; i--) {
      const p = missing[i]!;
      const children = i > 0 ? [baseName(missing[i - 1]!)] : [];
      const v = i === 0 ? value : NO_ARGS;
      checkSize(v, perms, children);
      writes.push([p, { value: v, perms, children, gen: this.newGen() }]);
    }
    for (const [p, n] of writes) this.putNode(p, n, tx);
    this.addEntries(perms[0]!.id, missing.length, tx);
    if (tx) tx.createdNodes = true;
    this.changed(tx);
    this.fireWatches(conn, tx, path, writes[writes.length - 1]![1], false);
  }

  private rm(conn: XsConnection, tx: Transaction | undefined, path: string): void {
    const node = this.getNode(path, tx);
    if (!node) {
      const errno = this.missingErrno(conn, tx, path, PERM_WRITE);
      if (errno !== 'ENOENT') fail(errno);
      // Didn't exist already? Fine, if the parent exists.
      if (this.getNode(parentPath(path), tx)) return;
      fail('ENOENT');
    }
    if ((permFor(conn, node!.perms) & PERM_WRITE) !== PERM_WRITE) fail('EACCES');
    if (path === '/') fail('EINVAL');
    const parent = parentPath(path);
    const parentNode = this.getNode(parent, tx);
    if (!parentNode) fail('EINVAL');
    // Delete bottom-up (xenstored's walk exit order); the root of the removal fires for its
    // whole subtree's watchers, every node below fires only for watches on itself.
    const visit = (p: string, n: XsNode) => {
      for (const c of n.children) {
        const cp = childPath(p, c);
        const cn = this.getNode(cp, tx);
        if (cn) visit(cp, cn);
      }
      this.deleteNode(p, tx);
      this.addEntries(n.perms[0]!.id, -1, tx);
      this.fireWatches(conn, tx, p, n, p !== path);
    };
    visit(path, node!);
    const name = baseName(path);
    this.putNode(parent, { value: parentNode!.value, perms: parentNode!.perms, children: parentNode!.children.filter((c) => c !== name), gen: this.newGen() }, tx);
    this.changed(tx);
  }

  private doSetPerms(conn: XsConnection, tx: Transaction | undefined, m: XsMessage): void {
    const v = splitStrings(m.payload);
    if (v.length < 2) fail('EINVAL');
    if (!conn.privileged && v.length - 1 >= this.quotas.permsPerNode) fail('ENOSPC');
    const perms: Perm[] = [];
    for (const s of v.slice(1)) perms.push(parsePerm(s) ?? fail('EINVAL'));
    const path = this.canonical(conn, v[0], true);
    const node = this.getChecked(conn, tx, path, PERM_WRITE | PERM_OWNER);
    if (!conn.privileged && perms[0]!.id !== node.perms[0]!.id) fail('EPERM');
    const updated: XsNode = { value: node.value, perms, children: node.children, gen: this.newGen() };
    this.addEntries(node.perms[0]!.id, -1, tx);
    this.addEntries(perms[0]!.id, 1, tx);
    this.putNode(path, updated, tx);
    this.changed(tx);
    this.fireWatches(conn, tx, path, updated, false, node.perms);
    this.ack(conn, m);
  }

  private doDirectoryPart(conn: XsConnection, tx: Transaction | undefined, m: XsMessage): void {
    const p = m.payload;
    let nuls = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === 0) nuls++;
    if (nuls !== 2) fail('EINVAL');
    const [path, offStr] = splitStrings(p);
    const node = this.getChecked(conn, tx, this.canonical(conn, path, false), PERM_READ);
    // C reads the offset with atoi() into an unsigned int (so "-5" is huge, "x" is 0); libxenstore
    // sends "%u". Here anything but a plain unsigned 32-bit decimal is EINVAL.
    const off = parseUint(offStr, 0xffffffff);
    const children = utf8(node.children.map((c) => `${c}\0`).join(''));
    const gen = utf8(`${node.gen}\0`);
    if (off >= children.length) return this.reply(conn, m, m.type, concat(gen, new Uint8Array(1)));
    // As many whole names as fit, then an empty string if the list ends here.
    const maxlen = XENSTORE_PAYLOAD_MAX - gen.length - 1;
    let len = 0;
    for (;;) {
      const end = children.indexOf(0, off + len);
      const sl = end - (off + len);
      if (len + sl >= maxlen) break;
      len += sl + 1;
      if (off + len === children.length) break;
    }
    const body = children.subarray(off, off + len);
    const last = off + len === children.length;
    this.reply(conn, m, m.type, concat(gen, body, last ? new Uint8Array(1) : NO_ARGS));
  }

  private doWatch(conn: XsConnection, m: XsMessage): void {
    const v = splitStrings(m.payload);
    if (v.length !== 2) fail('EINVAL');
    const raw = v[0]!;
    const relative = !raw.startsWith('/') && !raw.startsWith('@');
    const path = this.canonical(conn, raw, true);
    const token = v[1]!;
    if (conn.watches.some((w) => w.node === path && w.token === token)) fail('EEXIST');
    if (!conn.privileged && conn.watches.length + 1 >= this.quotas.watchesPerDomain) fail('ENOSPC');
    const watch = { node: path, token, prefixLen: relative ? domainPath(conn.domid).length + 1 : 0 };
    conn.watches.push(watch);
    this.ack(conn, m);
    // "We fire once up front: simplifies clients and restart."
    this.sendEvent(conn, path.slice(watch.prefixLen), token);
  }

  private doControl(conn: XsConnection, m: XsMessage): void {
    const v = splitStrings(m.payload);
    switch (v[0]) {
      case 'check':
        return this.ack(conn, m);
      case 'help':
        return this.reply(conn, m, m.type, utf8('check\nhelp\n\0'));
      default:
        fail('EINVAL');
    }
  }

  private doIntroduce(conn: XsConnection, m: XsMessage): void {
    const v = splitStrings(m.payload);
    if (v.length < 3) fail('EINVAL');
    const domid = parseDomid(v[0]);
    // libxenstore sends "%u" "%lu" "%u"; C ignores the gfn and takes atoi(port) > 0. Both must be
    // plain decimals here (a gfn below 2^53, a port of 1..2^32-1): EINVAL otherwise.
    const gfn = parseUint(v[1], Number.MAX_SAFE_INTEGER);
    const port = parseUint(v[2], 0xffffffff);
    if (port <= 0) fail('EINVAL');
    const existing = this.domains.get(domid);
    if (existing) {
      existing.port = port;
      return this.ack(conn, m);
    }
    let ring: { conn: XsConnection; binding?: DomainBinding } | undefined;
    if (this.options.introduceHook) {
      ring = this.options.introduceHook(this, domid, gfn, port) ?? undefined;
      if (!ring) fail('EINVAL');
    }
    this.addDomain(domid, ring?.conn, port, gfn, ring?.binding);
    this.ack(conn, m);
  }

  private oneDomain(p: Uint8Array): number {
    const domid = parseDomid(oneArg(p));
    if (domid === 0) fail('EINVAL');
    this.connectedDomain(domid);
    return domid;
  }

  /** find_connected_domain() for ops that need the domain's connection: ENOENT, or EINVAL without one. */
  private ringDomain(domid: number): IntroducedDomain & { conn: XsConnection } {
    const d = this.domains.get(domid) ?? fail('ENOENT');
    if (!d.conn || d.conn.closed) fail('EINVAL');
    return d as IntroducedDomain & { conn: XsConnection };
  }

  private connectedDomain(domid: number): IntroducedDomain {
    const d = this.domains.get(domid) ?? fail('ENOENT');
    if (domid !== 0 && !d.conn && this.options.introduceHook) fail('EINVAL');
    return d;
  }

  // ---- Domains -------------------------------------------------------------------------------

  /**
   * Records an introduced domain (and attaches its ring connection, if any) and fires
   * @introduceDomain. The programmatic form of XS_INTRODUCE.
   */
  addDomain(domid: number, conn: XsConnection | undefined, port = 0, gfn = 0, binding?: DomainBinding): IntroducedDomain {
    if (this.domains.has(domid)) throw new Error(`domain ${domid} is already introduced`);
    const d: IntroducedDomain = { domid, conn, port, gfn, binding };
    this.domains.set(domid, d);
    if (conn && !this.connections.has(conn)) this.attach(conn);
    if (domid !== 0) this.fireSpecial('@introduceDomain');
    return d;
  }

  /**
   * XS_RELEASE: forgets the domain, drops its connection (its watches first, so removing its
   * nodes later fires nothing for it), hands its nodes to dom0, removes it from every node's
   * permissions and fires @releaseDomain.
   */
  releaseDomain(domid: number): void {
    const d = this.domains.get(domid);
    if (!d || domid === 0) throw new XsError(domid === 0 ? 'EINVAL' : 'ENOENT');
    this.domains.delete(domid);
    if (d.conn) {
      d.conn.watches.length = 0;
      this.detach(d.conn);
      d.conn.shutdown('released');
    }
    d.binding?.close?.();
    let changed = false;
    for (const [path, n] of this.nodes) {
      if (!n.perms.some((x) => x.id === domid)) continue;
      const perms = n.perms.filter((x, i) => i === 0 || x.id !== domid);
      if (perms[0]!.id === domid) {
        perms[0] = { id: 0, perm: perms[0]!.perm };
        this.addEntries(domid, -1, undefined);
        this.addEntries(0, 1, undefined);
      }
      this.setLive(path, { ...n, perms, gen: this.newGen() });
      changed = true;
    }
    this.entries.delete(domid);
    if (changed) this.onCommit?.();
    this.fireSpecial('@releaseDomain');
    this.endChanges();
  }

  /** A domain died or shut down (VIRQ_DOM_EXC): xenstored fires @releaseDomain for the toolstack. */
  domainShutdown(domid: number): void {
    if (this.domains.has(domid)) this.fireSpecial('@releaseDomain');
  }

  // ---- Transactions --------------------------------------------------------------------------

  private commit(conn: XsConnection, tx: Transaction): void {
    for (const [path, gen] of tx.accessed) {
      const live = this.nodes.get(path);
      if ((live ? live.gen : ABSENT) !== gen) {
        this.stats.txConflicts.value++;
        fail('EAGAIN');
      }
    }
    if (tx.createdNodes && !conn.privileged) {
      for (const [domid, delta] of tx.entryDelta) {
        if (delta > 0 && (this.entries.get(domid) ?? 0) + delta >= this.quotas.entriesPerDomain) fail('ENOSPC');
      }
    }
    for (const [path, n] of tx.overlay) {
      this.setLive(path, n ? { value: n.value, perms: n.perms, children: n.children, gen: this.newGen() } : null);
    }
    for (const [domid, delta] of tx.entryDelta) this.entries.set(domid, (this.entries.get(domid) ?? 0) + delta);
    this.stats.txCommitted.value++;
    if (tx.overlay.size) this.onCommit?.();
    for (const w of tx.watches) this.fireWatches(conn, undefined, w.path, w.node, w.exact);
  }

  private changed(tx: Transaction | undefined): void {
    if (!tx) this.onCommit?.();
  }

  // ---- Watches -------------------------------------------------------------------------------

  /** fire_watches(): every connection that may see `path` gets one event per matching watch. */
  private fireWatches(conn: XsConnection | undefined, tx: Transaction | undefined, path: string, node: XsNode | undefined, exact: boolean, oldPerms?: readonly Perm[]): void {
    if (tx) {
      tx.watches.push({ path, node, exact });
      return;
    }
    void conn;
    for (const c of this.connections) {
      if (c.watches.length === 0 || c.closed) continue;
      let permitted: boolean | undefined;
      for (const w of c.watches) {
        if (exact ? path !== w.node : !isChild(path, w.node)) continue;
        permitted ??= this.watchPermitted(c, path, node, oldPerms);
        if (!permitted) break;
        this.sendEvent(c, path.slice(w.prefixLen), w.token);
      }
    }
  }

  /** The node (or its parent) must be readable, under the new or the old perms. */
  private watchPermitted(c: XsConnection, path: string, node: XsNode | undefined, oldPerms?: readonly Perm[]): boolean {
    if (c.privileged) return true;
    if (oldPerms && permFor(c, oldPerms) & PERM_READ) return true;
    const n = node ?? this.nodes.get(path);
    if (!n) return false;
    if (permFor(c, n.perms) & PERM_READ) return true;
    const parent = this.nodes.get(parentPath(path));
    return parent !== undefined && (permFor(c, parent.perms) & PERM_READ) !== 0;
  }

  private fireSpecial(name: '@introduceDomain' | '@releaseDomain'): void {
    const node = this.nodes.get(name)!;
    for (const c of this.connections) {
      if (c.closed || !c.watches.some((w) => w.node === name)) continue;
      if (!c.privileged && !(permFor(c, node.perms) & PERM_READ)) continue;
      for (const w of c.watches) if (w.node === name) this.sendEvent(c, name, w.token);
    }
  }

  private sendEvent(c: XsConnection, path: string, token: string): void {
    const key = `${path}\0${token}\0`;
    const payload = utf8(key);
    if (payload.length > XENSTORE_PAYLOAD_MAX) return;
    const bytes = encodeMessage(XsType.WATCH_EVENT, 0, 0, payload);
    if (this.holding) {
      this.held.push({ conn: c, bytes, key, special: path.startsWith('@') });
      return;
    }
    this.deliverEvent(c, bytes, key, path.startsWith('@'));
    if (c.overflowing(this.quotas.outputBytesPerConnection)) this.drop(c, 'output overflow');
  }

  private deliverEvent(c: XsConnection, bytes: Uint8Array, key: string, special: boolean): void {
    if (!c.queueEvent(bytes, key, special)) {
      this.stats.watchEventsDeduplicated.value++;
      return;
    }
    this.stats.watchEvents.value++;
    this.stats.bytesOut.value += bytes.length;
    if (this.bus?.hasSubscribers(XENSTORE_WATCH)) {
      const nul = key.indexOf('\0');
      this.bus.publish(XENSTORE_WATCH, { time: this.now(), domid: c.domid, path: key.slice(0, nul), token: key.slice(nul + 1, -1) });
    }
  }

  // ---- Direct access (dom0 TypeScript code, persistence, tests) ------------------------------

  /** The committed node at an absolute path, if any (no permission check). */
  peek(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  /** Number of nodes (special nodes included). */
  get size(): number {
    return this.nodes.size;
  }

  /** Nodes owned by `domid`. */
  entriesOf(domid: number): number {
    return this.entries.get(domid) ?? 0;
  }

  /** Every node as plain data, parents before children (for persistence and snapshots). */
  exportTree(): XsTreeJson {
    const nodes: XsTreeJson['nodes'] = [];
    const add = (path: string) => {
      const n = this.nodes.get(path);
      if (!n) return;
      nodes.push([path, Buffer.from(n.value).toString('base64'), n.perms.map(permToString), [...n.children]]);
      for (const c of n.children) add(childPath(path, c));
    };
    add('/');
    for (const s of SPECIAL_NODES) add(s);
    return { format: 'tachyxx-xenstore/1', generation: this.generation, nodes };
  }

  /** Replaces the tree with an exported one. Validates everything before touching the store. */
  importTree(json: unknown): void {
    const t = json as XsTreeJson;
    if (!t || typeof t !== 'object' || t.format !== 'tachyxx-xenstore/1' || !Array.isArray(t.nodes)) throw new Error('not a tachyxx-xenstore/1 tree');
    const nodes = new Map<string, XsNode>();
    const entries = new Map<number, number>();
    let gen = Number.isSafeInteger(t.generation) && t.generation > 0 ? t.generation : 1;
    for (const row of t.nodes) {
      if (!Array.isArray(row) || row.length !== 4) throw new Error('bad node row');
      const [path, b64, permStrs, children] = row;
      if (typeof path !== 'string' || !(path === '/' || /^(\/[A-Za-z0-9\-_@]+)+$/.test(path) || (SPECIAL_NODES as readonly string[]).includes(path))) throw new Error(`bad node path ${String(path)}`);
      if (typeof b64 !== 'string' || !Array.isArray(permStrs) || !Array.isArray(children) || permStrs.length === 0) throw new Error(`bad node ${path}`);
      const perms = permStrs.map((s) => (typeof s === 'string' ? parsePerm(s) : undefined));
      if (perms.some((x) => !x)) throw new Error(`bad perms on ${path}`);
      if (children.some((c) => typeof c !== 'string' || !/^[A-Za-z0-9\-_@]+$/.test(c))) throw new Error(`bad children of ${path}`);
      nodes.set(path, { value: new Uint8Array(Buffer.from(b64, 'base64')), perms: perms as Perm[], children: children as string[], gen: ++gen });
      const owner = perms[0]!.id;
      entries.set(owner, (entries.get(owner) ?? 0) + 1);
    }
    for (const need of ['/', ...SPECIAL_NODES]) if (!nodes.has(need)) throw new Error(`tree lacks ${need}`);
    for (const [path, n] of nodes) {
      if (path.startsWith('@')) continue;
      for (const c of n.children) if (!nodes.has(childPath(path, c))) throw new Error(`${path} lists a missing child ${c}`);
      if (path !== '/' && !nodes.get(parentPath(path))?.children.includes(baseName(path))) throw new Error(`${path} is not listed by its parent`);
    }
    this.nodes.clear();
    for (const [k, v] of nodes) this.nodes.set(k, v);
    this.entries.clear();
    for (const [k, v] of entries) this.entries.set(k, v);
    this.generation = gen;
  }
}

export interface XsTreeJson {
  format: 'tachyxx-xenstore/1';
  generation: number;
  /** [path, value (base64), perms ("n0", "r5"), child names] */
  nodes: [string, string, string[], string[]][];
}

/** wire_funcs[] flags by type; undefined: no handler (ENOSYS). */
const HANDLER_FLAGS: (number | undefined)[] = [];
const HANDLER_NAMES: (string | undefined)[] = [];
for (const [name, type] of Object.entries(XsType)) HANDLER_NAMES[type] = name;
for (const [type, flags] of [
  [XsType.CONTROL, PRIV],
  [XsType.DIRECTORY, 0],
  [XsType.READ, 0],
  [XsType.GET_PERMS, 0],
  [XsType.WATCH, NOTID],
  [XsType.UNWATCH, NOTID],
  [XsType.TRANSACTION_START, 0],
  [XsType.TRANSACTION_END, 0],
  [XsType.INTRODUCE, PRIV],
  [XsType.RELEASE, PRIV],
  [XsType.GET_DOMAIN_PATH, 0],
  [XsType.WRITE, 0],
  [XsType.MKDIR, 0],
  [XsType.RM, 0],
  [XsType.SET_PERMS, 0],
  [XsType.IS_DOMAIN_INTRODUCED, PRIV],
  [XsType.RESUME, PRIV],
  [XsType.SET_TARGET, PRIV],
  [XsType.RESET_WATCHES, 0],
  [XsType.DIRECTORY_PART, 0],
] as const) {
  HANDLER_FLAGS[type] = flags;
}

/**
 * parse_domid(): decimal, at most 65535; EINVAL otherwise. (C's strtoul() also takes leading
 * space, a sign and "" as 0; libxenstore only ever sends "%u", so those are EINVAL here.)
 */
function parseDomid(s: string | undefined): number {
  return parseUint(s, 65535);
}

/** A plain unsigned decimal (no sign, space, base prefix or trailing junk) up to `max`; EINVAL otherwise. */
function parseUint(s: string | undefined, max: number): number {
  if (s === undefined || !/^\d{1,16}$/.test(s)) fail('EINVAL');
  const n = Number(s);
  if (n > max) fail('EINVAL');
  return n;
}

/** The op's name for log lines. */
function opName(type: number): string {
  return (type < XS_TYPE_COUNT ? HANDLER_NAMES[type] : undefined) ?? `type ${type >>> 0}`;
}

function describeConn(c: XsConnection): string {
  return `${c.kind} connection #${c.serial} (domain ${c.domid})`;
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export { XSD_ERRORS };
