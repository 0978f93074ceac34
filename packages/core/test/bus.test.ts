import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  CONSOLE_OUTPUT,
  countBy,
  countPerWindow,
  defineTopic,
  EventBus,
  HYPERCALL,
  sampleEvery,
  windowBySimTime,
  type HypercallEvent,
  type ConsoleOutputEvent,
} from '../src/index.js';

const hc = (time: number, op: number): HypercallEvent => ({ time, pcpu: 0, domid: 1, vcpu: 0, weight: 1, op, cmd: -1, result: 0, cycles: 100 });

describe('the event bus', () => {
  it('delivers typed payloads to subscribers of a topic, synchronously', () => {
    const bus = new EventBus();
    const seen: string[] = [];
    bus.on(CONSOLE_OUTPUT).subscribe((e) => {
      expectTypeOf(e).toEqualTypeOf<ConsoleOutputEvent>();
      seen.push(`${e.domid}:${e.text}`);
    });
    // @ts-expect-error a console payload needs text
    bus.publish(CONSOLE_OUTPUT, { time: 0, domid: 3 });
    bus.publish(CONSOLE_OUTPUT, { time: 0, domid: 3, text: 'hello' });
    expect(seen).toEqual(['3:undefined', '3:hello']);
  });

  it('tells publishers whether a topic has subscribers', () => {
    const bus = new EventBus();
    expect(bus.hasSubscribers(HYPERCALL)).toBe(false);
    const sub = bus.on(HYPERCALL).subscribe();
    expect(bus.hasSubscribers(HYPERCALL)).toBe(true);
    expect(bus.hasSubscribers(CONSOLE_OUTPUT)).toBe(false);
    sub.unsubscribe();
    expect(bus.hasSubscribers(HYPERCALL)).toBe(false);
    expect(() => bus.publish(HYPERCALL, hc(0, 1))).not.toThrow();
  });

  it('treats topics with the same name as one topic', () => {
    const bus = new EventBus();
    const a = defineTopic<number>('test.n');
    const b = defineTopic<number>('test.n');
    const got: number[] = [];
    bus.on(a).subscribe((n) => got.push(n));
    bus.publish(b, 7);
    expect(got).toEqual([7]);
  });

  it('samples one event in n', async () => {
    const bus = new EventBus();
    const out = lastValueFrom(bus.on(HYPERCALL).pipe(sampleEvery(3), toArray()));
    for (let t = 0; t < 10; t++) bus.publish(HYPERCALL, hc(t, 0));
    bus.complete();
    expect((await out).map((e) => e.time)).toEqual([2, 5, 8]);
  });

  it('counts hypercalls by number', async () => {
    const bus = new EventBus();
    const totals = lastValueFrom(bus.on(HYPERCALL).pipe(countBy((h) => h.op)));
    [18, 29, 18, 18].forEach((op, t) => bus.publish(HYPERCALL, hc(t, op)));
    bus.complete();
    expect(await totals).toEqual({ '18': 3, '29': 1 });
  });

  it('aggregates over windows of simulated time and flushes the last one on completion', async () => {
    const bus = new EventBus();
    const windows = lastValueFrom(bus.on(HYPERCALL).pipe(countPerWindow(1000, (h) => h.op), toArray()));
    const withEmpty = lastValueFrom(bus.on(HYPERCALL).pipe(windowBySimTime(1000, { emitEmpty: true }), toArray()));
    for (const [t, op] of [[0, 18], [999, 18], [1000, 29], [3500, 18]] as const) bus.publish(HYPERCALL, hc(t, op));
    bus.complete();
    expect(await windows).toEqual([
      { start: 0, end: 1000, counts: { '18': 2 } },
      { start: 1000, end: 2000, counts: { '29': 1 } },
      { start: 3000, end: 4000, counts: { '18': 1 } },
    ]);
    expect((await withEmpty).map((w) => [w.start, w.events.length])).toEqual([[0, 2], [1000, 1], [2000, 0], [3000, 1]]);
  });

  it('rejects events that go back in simulated time within a window stream', async () => {
    const bus = new EventBus();
    const out = lastValueFrom(bus.on(HYPERCALL).pipe(windowBySimTime(10), toArray()));
    bus.publish(HYPERCALL, hc(25, 0));
    bus.publish(HYPERCALL, hc(5, 0));
    await expect(out).rejects.toThrow(/before the current window/);
  });
});
