/**
 * One client of xenstored: a dom0 socket client, a guest's ring, or an in-process caller. It holds
 * the client's watches and open transactions and a bounded queue of replies and watch events that
 * the transport drains (`transmit`) as the client makes room.
 */
import type { Perm } from './perms.js';
import type { Transaction } from './transaction.js';

export interface Watch {
  /** Canonical (absolute or special) path. */
  node: string;
  token: string;
  /** Characters stripped from event paths: a relative watch reports relative paths. */
  prefixLen: number;
}

export type ConnectionKind = 'socket' | 'ring' | 'local';

export interface OutItem {
  bytes: Uint8Array;
  /** For a watch event: its payload as a string, so an identical pending event is not queued twice. */
  eventKey?: string;
}

let nextSerial = 1;

export abstract class XsConnection {
  abstract readonly kind: ConnectionKind;
  readonly serial = nextSerial++;
  readonly watches: Watch[] = [];
  readonly transactions = new Map<number, Transaction>();
  nextTxId = 1;
  /** SET_TARGET: this connection acts for that domain (a device-model stub domain). */
  target: number | undefined;
  closed = false;
  /** Why the connection was dropped, when it was. */
  dropReason: string | undefined;

  protected readonly out: OutItem[] = [];
  protected outHead = 0;
  outBytes = 0;
  private readonly pendingEvents = new Set<string>();

  constructor(readonly domid: number) {}

  /** dom0 (xenstored's priv_domid) may do anything; every other domain is subject to perms and quotas. */
  get privileged(): boolean {
    return this.domid === 0;
  }

  get asker(): { domid: number; privileged: boolean; target?: number } {
    return this;
  }

  /** Messages waiting for the transport. */
  get queued(): number {
    return this.out.length - this.outHead;
  }

  /** Queues a reply (never dropped). */
  queueReply(bytes: Uint8Array): void {
    if (this.closed) return;
    this.out.push({ bytes });
    this.outBytes += bytes.length;
    this.transmit();
  }

  /** Queues a watch event unless an identical one is still waiting (xenstored's rule). */
  queueEvent(bytes: Uint8Array, eventKey: string, special: boolean): boolean {
    if (this.closed) return false;
    if (!special && this.pendingEvents.has(eventKey)) return false;
    if (!special) this.pendingEvents.add(eventKey);
    this.out.push({ bytes, eventKey: special ? undefined : eventKey });
    this.outBytes += bytes.length;
    this.transmit();
    return true;
  }

  /** The next queued message, removed from the queue. */
  protected shiftOut(): OutItem | undefined {
    if (this.outHead >= this.out.length) return undefined;
    const item = this.out[this.outHead]!;
    this.out[this.outHead] = undefined as unknown as OutItem;
    this.outHead++;
    if (this.outHead > 1024 && this.outHead * 2 > this.out.length) {
      this.out.splice(0, this.outHead);
      this.outHead = 0;
    }
    this.outBytes -= item.bytes.length;
    if (item.eventKey !== undefined) this.pendingEvents.delete(item.eventKey);
    return item;
  }

  protected peekOut(): OutItem | undefined {
    return this.outHead < this.out.length ? this.out[this.outHead] : undefined;
  }

  protected clearOut(): void {
    this.out.length = 0;
    this.outHead = 0;
    this.outBytes = 0;
    this.pendingEvents.clear();
  }

  /** Whether unread output passed `limit` (the transport could not move it on). */
  overflowing(limit: number): boolean {
    return this.outBytes > limit;
  }

  /** Moves queued output to the transport as far as it has room. */
  protected abstract transmit(): void;

  /** Drops the transport (socket closed, ring ignored). Xenstored forgets the connection itself. */
  abstract shutdown(reason: string): void;
}

export type { Perm };
