// Hypercall dispatch (Xen's hypercall table, xen/include/hypercall-defs.c): one row per Xen
// hypercall number, filled by the packages that implement it. Unknown numbers get -ENOSYS.
// Handlers validate every pointer (-EFAULT) and value (Xen's errno) and never throw for guest
// input; a handler that throws anyway is a hypervisor bug that costs only the calling domain
// (Xen's domain_crash), never the host: see `onHandlerError`.
//
// Long hypercalls (batches of grant ops, memory_op extents) are preemptible as in Xen: a
// handler charges the simulated cost of its work (`charge`), asks `preemptCheck()` between
// items (Xen's hypercall_preempt_check) and, when told to stop, returns
// `createContinuation(a0, ...)` (Xen's hypercall_create_continuation): the host writes the new
// arguments into the guest's registers and leaves its pc on the ecall, so the guest re-executes
// the call later and sees one call.
import { Errno, hypercallArgTypes, hypercallName, type HypercallArgType } from '@tachyxx/abi';
import type { StatGroup } from '@tachyxx/core';

/**
 * Arguments a0..a5 as numbers (exact below 2^53; pointers and counts always are). A handler sees
 * them as its row's argument types say (HypercallRowOptions.argTypes): an `int` or `unsigned int`
 * argument is its register's low 32 bits, as Xen's C prototype takes it.
 */
export interface HypercallArgs {
  readonly a0: number; readonly a1: number; readonly a2: number;
  readonly a3: number; readonly a4: number; readonly a5: number;
}

/** Returns >= 0 or -errno, or HYPERCALL_CONTINUATION (from createContinuation). `V` is the caller's vCPU type. */
export type HypercallHandler<V> = (vcpu: V, args: HypercallArgs) => number;

/**
 * What a handler returns after `createContinuation`: never a Xen result (Xen's results are
 * -4095..2^63), so it cannot be confused with one.
 */
export const HYPERCALL_CONTINUATION = -0x7fff_ffff_ffff;

/**
 * Items a preemptible hypercall handles at most per invocation, whatever their cost (the bound
 * on wall time per invocation when costs are configured tiny). Xen has no count: it preempts when
 * a softirq is pending; this is the deterministic stand-in next to the cycle budget.
 */
export const HYPERCALL_PREEMPT_MAX_ITEMS = 4096;

/** Hypercall numbers 0..63: Xen's NR_hypercalls (64, xen/arch/arm/include/asm/config.h). */
export const HYPERCALL_SLOTS = 64;

interface Row<V> { name: string; handler: HypercallHandler<V>; calls: number; leafArgs: number; argKinds: number }

/**
 * How each argument reaches the handler, 2 bits per argument (a0 in bits 0-1 ... a5 in bits
 * 10-11): ARG_KIND_LONG as read (64 bits: unsigned long, s_time_t, pointers), ARG_KIND_INT its
 * low 32 bits as signed (C `int`), ARG_KIND_UINT its low 32 bits unsigned (C `unsigned int`):
 * Xen's prototypes (xen/include/hypercall-defs.c) convert the 64-bit register the same way.
 */
export const ARG_KIND_LONG = 0;
export const ARG_KIND_INT = 1;
export const ARG_KIND_UINT = 2;

const KIND_OF: Record<HypercallArgType, number> = { long: ARG_KIND_LONG, ptr: ARG_KIND_LONG, int: ARG_KIND_INT, uint: ARG_KIND_UINT };

/** The argument types as HypercallTable's 2-bit-per-argument kinds. */
export function encodeArgKinds(types: readonly HypercallArgType[]): number {
  let k = 0;
  types.forEach((t, i) => { k |= KIND_OF[t] << (2 * i); });
  return k;
}

/** `x` (an argument as a number) as a handler of kind `kind` takes it (the C conversion). */
function convertArg(x: number, kind: number): number {
  return kind === ARG_KIND_INT ? x | 0 : kind === ARG_KIND_UINT ? x >>> 0 : x;
}

type MutableArgs = { -readonly [K in keyof HypercallArgs]: number };

/** How a handler may be called (register). */
export interface HypercallRowOptions {
  /**
   * The handler is a leaf taking this many arguments (a0..): it touches no CPU or vCPU state
   * (no context switch, block, yield, trap injection, register or CSR access: it computes its
   * result from its arguments, guest memory and domain state), so the host may run it without
   * the architectural trap to PL1 (TrapDispatch.fastHypercall), with only these arguments read
   * from the registers (the others are 0). It may still charge, yield with a continuation, or
   * fail. The count is the Xen prototype's (xen/include/hypercall-defs.c).
   */
  leafArgs?: number;
  /**
   * The C types of the handler's arguments (Xen's prototype): `int`/`uint` arguments reach the
   * handler as their register's low 32 bits (signed/unsigned), `long`/`ptr` (and any argument
   * past the list) as all 64. Default: @tachyxx/abi's HypercallArgTypes for `nr`, else all `long`.
   */
  argTypes?: readonly HypercallArgType[];
}

/**
 * A call's cycle budget given to dispatch as its source (the host's trap dispatch): asked on
 * the call's first preemptCheck only, so a call that never asks (the null hypercall) costs
 * nothing for it. The answer must not depend on when it is asked.
 */
export interface HypercallBudgetSource { hypercallBudgetCycles(): number }

/** Called when a handler throws: crash the caller's domain, log. Returns the value for a0. */
export type HypercallErrorHook<V> = (vcpu: V, nr: number, name: string, args: HypercallArgs, error: unknown) => number;

export class HypercallTable<V> {
  /** Rows by hypercall number: a dense array of HYPERCALL_SLOTS (no holes: one elements kind). */
  private readonly rows: (Row<V> | undefined)[] = Array.from({ length: HYPERCALL_SLOTS }, () => undefined);
  /** Calls to numbers nobody registered (by number). */
  readonly unknown = new Map<number, number>();
  /** Handlers that threw (by hypercall name). */
  readonly failures = new Map<string, number>();
  /** Set by the host: what happens when a handler throws (default: -EFAULT, nothing else). */
  onHandlerError: HypercallErrorHook<V> | null = null;

  // The call in progress (one at a time: the simulator is single-threaded).
  private chargedCycles = 0;
  private budgetCycles = Infinity;
  /** The call's budget source, not asked yet (else null). */
  private budgetSource: HypercallBudgetSource | null = null;
  private items = 0;
  private contArgs: number[] | null = null;

  private stats: StatGroup | null = null;

  /**
   * Mounts the call counts in the stats tree (`host.hypervisor.hypercalls.<name>`): one stat per
   * registered hypercall, read at dump time, plus one per unknown number on its first call.
   */
  setStats(group: StatGroup): void {
    if (this.stats) throw new Error('hypercall stats are already mounted');
    this.stats = group;
    for (const r of this.rows) if (r) this.mountRow(r);
    for (const nr of this.unknown.keys()) this.mountUnknown(nr);
  }

  private mountRow(r: Row<V>): void {
    this.stats?.sampled(r.name, 'count', `${r.name} calls`, () => r.calls);
  }

  private mountUnknown(nr: number): void {
    const name = hypercallName(nr);
    if (this.stats && !this.stats.lookup(name)) this.stats.sampled(name, 'count', `calls to unregistered hypercall ${nr} (-ENOSYS)`, () => this.unknown.get(nr) ?? 0);
  }

  /** Registers the handler of hypercall `nr` (see HypercallRowOptions for `opts`). */
  register(nr: number, handler: HypercallHandler<V>, name = hypercallName(nr), opts: HypercallRowOptions = {}): void {
    if (!Number.isInteger(nr) || nr < 0 || nr >= HYPERCALL_SLOTS) throw new RangeError(`hypercall number ${nr} out of range`);
    if (this.rows[nr]) throw new Error(`hypercall ${nr} (${this.rows[nr]!.name}) is already registered`);
    const leafArgs = opts.leafArgs ?? -1;
    if (!Number.isInteger(leafArgs) || leafArgs < -1 || leafArgs > 6) throw new RangeError(`hypercall ${nr} (${name}): leafArgs ${leafArgs} is not 0..6`);
    const types = opts.argTypes ?? hypercallArgTypes(nr);
    if (types) {
      if (types.length > 6) throw new RangeError(`hypercall ${nr} (${name}): ${types.length} argument types, at most 6`);
      for (const t of types) if (!(t in KIND_OF)) throw new RangeError(`hypercall ${nr} (${name}): argument type '${t}' is not int, uint, long or ptr`);
      if (leafArgs >= 0 && leafArgs !== types.length) throw new RangeError(`hypercall ${nr} (${name}): leafArgs ${leafArgs} but the prototype has ${types.length} arguments`);
    }
    const row = { name, handler, calls: 0, leafArgs, argKinds: types ? encodeArgKinds(types) : 0 };
    this.rows[nr] = row;
    this.kindsByNr[nr] = row.argKinds;
    if (leafArgs >= 0) this.leafByNr[nr] = leafArgs | (row.argKinds << 3);
    this.mountRow(row);
  }

  /**
   * Runs hypercall `nr`. `budget` is the work (cycles) the call may do before `preemptCheck`
   * says stop, or where to ask for it when it is needed (default: no limit but
   * HYPERCALL_PREEMPT_MAX_ITEMS). Read `charged` and `continuation` afterwards. `converted`: the
   * caller has already converted `args` as the row's argument types say (argKinds: the host, from
   * the register halves), so dispatch passes them on as they are.
   */
  dispatch(vcpu: V, nr: number, args: HypercallArgs, budget: number | HypercallBudgetSource = Infinity, converted = false): number {
    this.chargedCycles = 0;
    if (typeof budget === 'number') { this.budgetCycles = budget; this.budgetSource = null; } else this.budgetSource = budget;
    this.items = 0;
    this.contArgs = null;
    this.nested = false;
    const row = this.rowFor(nr);
    if (!row) return -Errno.ENOSYS;
    row.calls++;
    try {
      return row.handler(vcpu, converted || row.argKinds === 0 ? args : convertArgs(row.argKinds, args, this.callArgs));
    } catch (e) {
      this.contArgs = null;
      this.nested = false;
      this.failures.set(row.name, (this.failures.get(row.name) ?? 0) + 1);
      return this.onHandlerError ? this.onHandlerError(vcpu, nr, row.name, args, e) : -Errno.EFAULT;
    }
  }

  /** The numbers of the hypercalls with a leaf handler (HypercallRowOptions.leafArgs). */
  leafNumbers(): number[] {
    const out: number[] = [];
    this.rows.forEach((r, nr) => { if (r !== undefined && r.leafArgs >= 0) out.push(nr); });
    return out;
  }

  /**
   * The argument kinds of hypercall `nr` (ARG_KIND_*, 2 bits per argument; 0 for all `long` or
   * an unknown number): a caller reading registers may convert from the register halves itself
   * (exact above 2^53); dispatch then passes the arguments on as they are.
   */
  argKinds(nr: number): number {
    return nr >= 0 && nr < HYPERCALL_SLOTS ? this.kindsByNr[nr] ?? 0 : 0;
  }

  /** argKinds by hypercall number 0..HYPERCALL_SLOTS - 1 (0 for a free slot): read-only for callers. */
  readonly kindsByNr = new Int32Array(HYPERCALL_SLOTS);
  /**
   * By hypercall number 0..HYPERCALL_SLOTS - 1, for the host's fast path (one load per call):
   * a leaf's `leafArgs | argKinds << 3`, -1 for a row that is not a leaf or a free slot.
   * Read-only for callers (the same array for the table's life).
   */
  readonly leafByNr = new Int32Array(HYPERCALL_SLOTS).fill(-1);

  /** The argument count of hypercall `nr` when its handler is a leaf (HypercallRowOptions), else -1. */
  leafArgs(nr: number): number {
    const row = nr >= 0 && nr < HYPERCALL_SLOTS ? this.rows[nr] : undefined;
    return row === undefined ? -1 : row.leafArgs;
  }

  /** The handler row of hypercall `nr`, or undefined after counting an unknown number (-ENOSYS). */
  private rowFor(nr: number) {
    const row = nr >= 0 && nr < this.rows.length ? this.rows[nr] : undefined;
    if (row) return row;
    const n = this.unknown.get(nr);
    this.unknown.set(nr, (n ?? 0) + 1);
    if (n === undefined) this.mountUnknown(nr);
    return undefined;
  }

  // Where converted arguments go when a conversion changes one (the top-level call's, a nested
  // call's: a multicall inside a multicall is -EINVAL, so one level of nesting).
  private readonly callArgs: MutableArgs = { a0: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };
  private readonly nestedArgs: MutableArgs = { a0: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };

  /** True while a call runs inside another (multicall): handlers must take arguments from `args`, not registers. */
  nested = false;

  /**
   * Runs hypercall `nr` inside the call in progress (a multicall entry, Xen's
   * arch_do_multicall_call): the same budget, charges and item count; its continuation, if it
   * yields, in `continuation`. A handler that throws fails the outer call (the domain crashes).
   */
  dispatchNested(vcpu: V, nr: number, args: HypercallArgs): number {
    this.contArgs = null;
    const row = this.rowFor(nr);
    if (!row) return -Errno.ENOSYS;
    row.calls++;
    const was = this.nested;
    this.nested = true;
    try {
      return row.handler(vcpu, row.argKinds === 0 ? args : convertArgs(row.argKinds, args, this.nestedArgs));
    } finally {
      this.nested = was;
    }
  }

  /** Adds `cycles` of simulated work to the call in progress. */
  charge(cycles: number): void { this.chargedCycles += cycles; }

  /** Cycles charged by the last (or current) call. */
  get charged(): number { return this.chargedCycles; }

  /**
   * Xen's hypercall_preempt_check(), asked before each item after the first: true when the call
   * has used its cycle budget (an event is due on this pCPU, or the per-invocation bound) or
   * handled HYPERCALL_PREEMPT_MAX_ITEMS items.
   */
  preemptCheck(): boolean {
    if (this.budgetSource !== null) { this.budgetCycles = this.budgetSource.hypercallBudgetCycles(); this.budgetSource = null; }
    return ++this.items >= HYPERCALL_PREEMPT_MAX_ITEMS || this.chargedCycles >= this.budgetCycles;
  }

  /**
   * Xen's hypercall_create_continuation: the call is to be re-executed with these arguments
   * (the ones not given keep their values). Return its result from the handler.
   */
  createContinuation(...args: number[]): number {
    this.contArgs = args;
    return HYPERCALL_CONTINUATION;
  }

  /** The new arguments of the last call when it returned HYPERCALL_CONTINUATION, else null. */
  get continuation(): readonly number[] | null { return this.contArgs; }

  /** Calls per hypercall name (registered and unknown), for stats. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.rows) if (r && r.calls) out[r.name] = r.calls;
    for (const [nr, n] of this.unknown) out[hypercallName(nr)] = (out[hypercallName(nr)] ?? 0) + n;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
  }
}

/**
 * `a` as the handler takes it (`kinds`: HypercallRowOptions.argTypes encoded): `a` itself when no
 * conversion changes a value (allocation-free), else `out` filled with the converted values.
 */
function convertArgs(kinds: number, a: HypercallArgs, out: MutableArgs): HypercallArgs {
  const a0 = convertArg(a.a0, kinds & 3), a1 = convertArg(a.a1, (kinds >> 2) & 3), a2 = convertArg(a.a2, (kinds >> 4) & 3);
  const a3 = convertArg(a.a3, (kinds >> 6) & 3), a4 = convertArg(a.a4, (kinds >> 8) & 3), a5 = convertArg(a.a5, (kinds >> 10) & 3);
  if (a0 === a.a0 && a1 === a.a1 && a2 === a.a2 && a3 === a.a3 && a4 === a.a4 && a5 === a.a5) return a;
  out.a0 = a0; out.a1 = a1; out.a2 = a2; out.a3 = a3; out.a4 = a4; out.a5 = a5;
  return out;
}
