/**
 * A transaction, xenstored's generation-based way: reads see the live tree and remember each
 * node's generation (or its absence) at first access; writes go to an overlay. TRANSACTION_END
 * "T" commits only if every accessed node still has the generation it had (else EAGAIN), then
 * applies the overlay and fires the watches the transaction queued.
 */
import type { XsNode } from './node.js';

export const ABSENT = -1;

export interface QueuedWatch {
  path: string;
  node: XsNode | undefined;
  exact: boolean;
}

export class Transaction {
  /** path -> the transaction's version, or null if deleted in it. */
  readonly overlay = new Map<string, XsNode | null>();
  /** path -> generation at first access (ABSENT if the node did not exist). */
  readonly accessed = new Map<string, number>();
  /** owner domid -> change in node count. */
  readonly entryDelta = new Map<number, number>();
  readonly watches: QueuedWatch[] = [];
  createdNodes = false;
  /** An op inside it failed internally: its commit answers EIO. */
  failed = false;
  constructor(
    readonly id: number,
    /** Nodes it may access (quota "transaction-nodes"; Infinity for dom0). */
    readonly nodeLimit = Infinity,
  ) {}
}
