/**
 * The discrete-event queue (gem5's EventQueue): a binary heap of reusable `SimEvent`s ordered by
 * (time, scheduling sequence), so events at the same time run in the order they were scheduled
 * and a run is deterministic. Scheduling allocates nothing once an event object exists: keep one
 * `SimEvent` per recurring thing (a vCPU's timer, the periodic tick) and reschedule it.
 */
import type { SimClock } from './clock.js';

export type EventAction = (now: number) => void;

export class SimEvent {
  /** @internal time it is scheduled for */
  time = 0;
  /** @internal scheduling sequence, the tie-breaker */
  seq = 0;
  /** @internal position in the heap, -1 when not scheduled */
  heapIndex = -1;

  constructor(
    readonly name: string,
    public action: EventAction,
  ) {}

  get scheduled(): boolean {
    return this.heapIndex >= 0;
  }

  /** The time it is scheduled for (meaningful only while `scheduled`). */
  get when(): number {
    return this.time;
  }
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];
  private nextSeq = 0;
  private stopRequested = false;

  constructor(readonly clock: SimClock) {}

  get size(): number {
    return this.heap.length;
  }

  /** The time of the earliest scheduled event, or Infinity when none is. */
  nextDeadline(): number {
    return this.heap.length ? this.heap[0]!.time : Infinity;
  }

  /** Schedules `ev` at absolute time `time` (ns, >= now). Scheduling a scheduled event throws: use reschedule. */
  schedule(ev: SimEvent, time: number): void {
    if (ev.heapIndex >= 0) throw new Error(`event '${ev.name}' is already scheduled at ${ev.time} ns`);
    if (!Number.isSafeInteger(time) || time < this.clock.now) throw new RangeError(`event '${ev.name}' scheduled at ${time} ns, before now (${this.clock.now} ns) or not an integer`);
    ev.time = time;
    ev.seq = this.nextSeq++;
    ev.heapIndex = this.heap.length;
    this.heap.push(ev);
    this.siftUp(ev.heapIndex);
  }

  /** Schedules `ev` `delay` ns from now. */
  scheduleIn(ev: SimEvent, delay: number): void {
    this.schedule(ev, this.clock.now + delay);
  }

  /** Moves `ev` to `time`, scheduling it if it is not (it then runs after events already at `time`). */
  reschedule(ev: SimEvent, time: number): void {
    if (ev.heapIndex >= 0) this.cancel(ev);
    this.schedule(ev, time);
  }

  /** A convenience for one-off events: creates and schedules a SimEvent. */
  at(time: number, name: string, action: EventAction): SimEvent {
    const ev = new SimEvent(name, action);
    this.schedule(ev, time);
    return ev;
  }

  /** Unschedules `ev`; returns false if it was not scheduled. */
  cancel(ev: SimEvent): boolean {
    const i = ev.heapIndex;
    if (i < 0) return false;
    const last = this.heap.pop()!;
    if (last !== ev) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.siftDown(i);
      this.siftUp(last.heapIndex);
    }
    ev.heapIndex = -1;
    return true;
  }

  /** Makes the running `runUntil` return after the current event (e.g. on shutdown). */
  requestStop(): void {
    this.stopRequested = true;
  }

  /**
   * From inside `ev`'s own action: puts `ev` back at the (time, seq) it just ran with, as if it had
   * not run, and makes the running `runUntil` return. For an event whose work waits on something
   * outside simulated time (host file I/O that has not finished): when the run goes on, the same
   * event runs first again, in the same order among the events of its time, so a run that had to
   * wait and one that did not see the same sequence.
   */
  holdBack(ev: SimEvent): void {
    if (ev.heapIndex >= 0) throw new Error(`event '${ev.name}' is scheduled: only a running event can be held back`);
    if (ev.time !== this.clock.now) throw new Error(`event '${ev.name}' (${ev.time} ns) is not the one running now (${this.clock.now} ns)`);
    ev.heapIndex = this.heap.length;
    this.heap.push(ev);
    this.siftUp(ev.heapIndex);
    this.stopRequested = true;
  }

  /** Runs the earliest event, advancing the clock to its time; false when the queue is empty. */
  runNext(): boolean {
    const ev = this.heap[0];
    if (!ev) return false;
    this.cancel(ev);
    this.clock.advanceTo(ev.time);
    ev.action(ev.time);
    return true;
  }

  /**
   * Runs every event due at or before `time` in (time, seq) order, including events they schedule,
   * then advances the clock to `time` (unless `requestStop` was called, or `time` is Infinity:
   * then the clock stays at the last event). Returns the number of events run.
   */
  runUntil(time: number): number {
    this.stopRequested = false;
    let n = 0;
    while (this.heap.length && this.heap[0]!.time <= time) {
      this.runNext();
      n++;
      if (this.stopRequested) {
        this.stopRequested = false;
        return n;
      }
    }
    if (time !== Infinity) this.clock.advanceTo(time);
    return n;
  }

  private less(a: SimEvent, b: SimEvent): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const ev = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pe = heap[parent]!;
      if (!this.less(ev, pe)) break;
      heap[i] = pe;
      pe.heapIndex = i;
      i = parent;
    }
    heap[i] = ev;
    ev.heapIndex = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const ev = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(heap[r]!, heap[l]!) ? r : l;
      const ce = heap[c]!;
      if (!this.less(ce, ev)) break;
      heap[i] = ce;
      ce.heapIndex = i;
      i = c;
    }
    heap[i] = ev;
    ev.heapIndex = i;
  }
}
