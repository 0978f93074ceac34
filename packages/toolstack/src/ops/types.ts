// One control op: its argument shape (OP_ARGS, protocol.ts: the one list of ops and arguments)
// and its handler. Handlers get arguments the shape check has passed; ranges, names and state
// are theirs to check (ToolstackError with the errno name xl reports).
import { OP_ARGS, type OpName } from '../protocol.js';
import type { OpContext } from '../records.js';
import type { Toolstack } from '../toolstack.js';

export type OpArgs = Record<string, unknown>;
export type OpRun = (ts: Toolstack, a: OpArgs, ctx: OpContext, id: number | string) => unknown;

export interface OpEntry<K extends OpName = OpName> {
  readonly name: K;
  readonly args: (typeof OP_ARGS)[K];
  readonly run: OpRun;
}

/** A table of ops: each op name maps to its entry. */
export type OpTable<K extends OpName> = { readonly [P in K]: OpEntry<P> };

/** The entry of op `name` (its argument shape comes from OP_ARGS). */
export function op<K extends OpName>(name: K, run: OpRun): OpEntry<K> {
  return { name, args: OP_ARGS[name], run };
}
