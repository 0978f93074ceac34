/**
 * The coarse-event bus (RxJS). It carries things that happen at most thousands of times per
 * simulated second: domain lifecycle, vCPU schedule in/out, traps taken, hypercalls, console
 * output, TLB flushes, shutdown. Nothing per instruction, per TLB lookup or per memory access ever
 * goes on it: the hot path bumps plain counters that the stats tree reads. Publishers that would
 * build a payload check `hasSubscribers(topic)` first.
 *
 * Delivery is synchronous, in subscription order, at the simulated time of the publish; every
 * standard payload carries that `time` (ns). One bus per simulation (TOKENS.Bus), never global.
 */
import { map, Observable, Subject, type OperatorFunction } from 'rxjs';

/** A named topic whose payloads have type T. Declare once, as a constant: `defineTopic<Foo>('foo')`. */
export interface Topic<T> {
  readonly name: string;
  /** Type marker only; never set. */
  readonly __payload?: T;
}

export function defineTopic<T>(name: string): Topic<T> {
  return Object.freeze({ name });
}

export class EventBus {
  // Keyed by name, not by object, so a topic declared by two copies of a package is one topic.
  private readonly subjects = new Map<string, Subject<unknown>>();
  private completed = false;

  /** Delivers `payload` to the topic's current subscribers (nothing happens without any). */
  publish<T>(topic: Topic<T>, payload: T): void {
    const s = this.subjects.get(topic.name);
    if (s !== undefined && s.observed) s.next(payload);
  }

  /** The topic's events from now on. Completes when the bus does (end of the simulation). */
  on<T>(topic: Topic<T>): Observable<T> {
    let s = this.subjects.get(topic.name);
    if (!s) {
      s = new Subject<unknown>();
      if (this.completed) s.complete();
      this.subjects.set(topic.name, s);
    }
    return s.asObservable() as Observable<T>;
  }

  /** Whether anyone listens: check it before building a payload that costs something. */
  hasSubscribers(topic: Topic<unknown>): boolean {
    return this.subjects.get(topic.name)?.observed ?? false;
  }

  /** Ends the simulation's event streams: aggregators flush their last window and subscriptions end. */
  complete(): void {
    this.completed = true;
    for (const s of this.subjects.values()) s.complete();
  }
}

// ---- Sampling and aggregation helpers (RxJS operators) -------------------------------------

/** Passes one event in every `n` (the n-th, 2n-th, ...), deterministically. */
export function sampleEvery<T>(n: number): OperatorFunction<T, T> {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`sampleEvery needs a positive integer, got ${n}`);
  return (source) =>
    new Observable<T>((sub) => {
      let seen = 0;
      return source.subscribe({
        next(v) {
          if (++seen === n) {
            seen = 0;
            sub.next(v);
          }
        },
        error: (e) => sub.error(e),
        complete: () => sub.complete(),
      });
    });
}

export type Counts = Record<string, number>;

/** Counts `events` by key (a pure helper for windows). */
export function tally<T>(events: readonly T[], key: (e: T) => string | number): Counts {
  const counts: Counts = {};
  for (const e of events) {
    const k = String(key(e));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** Running counts by key: emits a fresh snapshot after every event (take `last()` for totals). */
export function countBy<T>(key: (e: T) => string | number): OperatorFunction<T, Counts> {
  return (source) =>
    new Observable<Counts>((sub) => {
      const counts: Counts = {};
      return source.subscribe({
        next(e) {
          const k = String(key(e));
          counts[k] = (counts[k] ?? 0) + 1;
          sub.next({ ...counts });
        },
        error: (err) => sub.error(err),
        complete: () => sub.complete(),
      });
    });
}

/** Events that fell in the simulated-time window [start, end). */
export interface SimWindow<T> {
  start: number;
  end: number;
  events: T[];
}

export interface WindowOptions<T> {
  /** The event's simulated time in ns (default: `event.time`). */
  timeOf?: (e: T) => number;
  /** Also emit windows with no events between two non-empty ones (default false). */
  emitEmpty?: boolean;
}

/**
 * Groups events into consecutive windows of `periodNs` simulated nanoseconds, aligned to 0.
 * A window is emitted when an event past its end arrives, and the last one when the source
 * completes (`bus.complete()`). Event times must not decrease.
 */
export function windowBySimTime<T>(periodNs: number, options: WindowOptions<T> = {}): OperatorFunction<T, SimWindow<T>> {
  if (!Number.isSafeInteger(periodNs) || periodNs < 1) throw new RangeError(`window period must be a positive integer of ns, got ${periodNs}`);
  const timeOf = options.timeOf ?? ((e: T) => (e as { time: number }).time);
  return (source) =>
    new Observable<SimWindow<T>>((sub) => {
      let current: SimWindow<T> | undefined;
      return source.subscribe({
        next(e) {
          const t = timeOf(e);
          const start = Math.floor(t / periodNs) * periodNs;
          if (current && start < current.start) {
            sub.error(new Error(`event time ${t} ns is before the current window [${current.start}, ${current.end})`));
            return;
          }
          if (current && start !== current.start) {
            sub.next(current);
            if (options.emitEmpty) {
              for (let s = current.end; s < start; s += periodNs) sub.next({ start: s, end: s + periodNs, events: [] });
            }
            current = undefined;
          }
          current ??= { start, end: start + periodNs, events: [] };
          current.events.push(e);
        },
        error: (err) => sub.error(err),
        complete() {
          if (current) sub.next(current);
          sub.complete();
        },
      });
    });
}

/** Counts per key per simulated-time window: `bus.on(HYPERCALL).pipe(countPerWindow(NS_PER_MS, (h) => h.op))`. */
export function countPerWindow<T>(
  periodNs: number,
  key: (e: T) => string | number,
  options: WindowOptions<T> = {},
): OperatorFunction<T, { start: number; end: number; counts: Counts }> {
  const windows = windowBySimTime<T>(periodNs, options);
  const counted = map((w: SimWindow<T>) => ({ start: w.start, end: w.end, counts: tally(w.events, key) }));
  return (source) => source.pipe(windows, counted);
}
