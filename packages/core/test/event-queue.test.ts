import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventQueue, Rng, SimClock, SimEvent } from '../src/index.js';

function queue() {
  return new EventQueue(new SimClock(1000));
}

describe('the event queue', () => {
  it('runs events in time order, and same-time events in scheduling order', () => {
    const q = queue();
    const log: string[] = [];
    q.at(20, 'b', () => log.push('b@20'));
    q.at(10, 'a', () => log.push('a@10'));
    q.at(20, 'c', () => log.push('c@20'));
    q.at(10, 'd', (now) => log.push(`d@${now}`));
    expect(q.nextDeadline()).toBe(10);
    expect(q.runUntil(100)).toBe(4);
    expect(log).toEqual(['a@10', 'd@10', 'b@20', 'c@20']);
    expect(q.clock.now).toBe(100);
    expect(q.nextDeadline()).toBe(Infinity);
  });

  it('runs events that events schedule, up to the deadline', () => {
    const q = queue();
    let ticks = 0;
    const tick = new SimEvent('tick', (now) => {
      ticks++;
      q.schedule(tick, now + 10);
    });
    q.schedule(tick, 0);
    q.runUntil(95);
    expect(ticks).toBe(10);
    expect(tick.when).toBe(100);
    expect(q.clock.now).toBe(95);
  });

  it('cancels and reschedules reusable events', () => {
    const q = queue();
    const log: string[] = [];
    const a = new SimEvent('a', () => log.push('a'));
    const b = new SimEvent('b', () => log.push('b'));
    q.schedule(a, 5);
    q.schedule(b, 6);
    expect(q.cancel(a)).toBe(true);
    expect(q.cancel(a)).toBe(false);
    expect(a.scheduled).toBe(false);
    q.reschedule(b, 3);
    q.reschedule(a, 3);
    expect(() => q.schedule(a, 4)).toThrow(/already scheduled/);
    q.runUntil(10);
    expect(log).toEqual(['b', 'a']);
  });

  it('refuses to schedule in the past', () => {
    const q = queue();
    q.runUntil(50);
    expect(() => q.at(49, 'late', () => {})).toThrow(RangeError);
  });

  it('stops after the current event when asked', () => {
    const q = queue();
    q.at(1, 'x', () => {});
    q.at(2, 'stop', () => q.requestStop());
    q.at(3, 'y', () => {});
    expect(q.runUntil(10)).toBe(2);
    expect(q.clock.now).toBe(2);
    expect(q.size).toBe(1);
  });

  it('holds a running event back at its own (time, seq): the run stops, and goes on in the same order', () => {
    const run = (hold: boolean) => {
      const q = queue();
      const log: string[] = [];
      let ready = !hold;
      q.at(5, 'a', () => log.push('a'));
      const io = q.at(5, 'io', () => { if (!ready) { ready = true; q.holdBack(io); log.push('held'); return; } log.push('io'); });
      q.at(5, 'b', () => log.push('b'));
      q.at(6, 'c', () => log.push('c'));
      while (q.runUntil(10) && q.clock.now < 10) { /* a held event ended the run early: run again */ }
      return log.filter((x) => x !== 'held');
    };
    expect(run(true)).toEqual(run(false));
    expect(run(true)).toEqual(['a', 'io', 'b', 'c']);
    const q = queue();
    const ev = q.at(3, 'x', () => {});
    expect(() => q.holdBack(ev)).toThrow(/only a running event/);
  });

  it('orders any mix of schedules and cancels like a stable sort by time', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('schedule' as const), time: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('cancel' as const), index: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = queue();
        const fired: number[] = [];
        const events: SimEvent[] = [];
        const expected: Array<{ id: number; time: number; order: number }> = [];
        ops.forEach((o, order) => {
          if (o.kind === 'schedule') {
            const id = events.length;
            const ev = new SimEvent(`e${id}`, () => fired.push(id));
            events.push(ev);
            q.schedule(ev, o.time);
            expected.push({ id, time: o.time, order });
          } else if (events.length) {
            const ev = events[o.index % events.length]!;
            if (q.cancel(ev)) expected.splice(expected.findIndex((x) => x.id === events.indexOf(ev)), 1);
          }
        });
        expect(q.size).toBe(expected.length);
        q.runUntil(Infinity);
        expect(fired).toEqual(expected.sort((x, y) => x.time - y.time || x.order - y.order).map((x) => x.id));
      }),
      { numRuns: 300 },
    );
  });

  it('replays the same sequence from the same seed', () => {
    function simulate(seed: number): string {
      const q = queue();
      const rng = new Rng(seed);
      const log: string[] = [];
      const workers = Array.from({ length: 4 }, (_, i) => {
        const ev: SimEvent = new SimEvent(`w${i}`, (now) => {
          log.push(`${now}:${i}`);
          q.schedule(ev, now + 1 + rng.nextInt(20));
        });
        return ev;
      });
      workers.forEach((w) => q.schedule(w, rng.nextInt(5)));
      q.runUntil(1000);
      return log.join(',');
    }
    expect(simulate(42)).toBe(simulate(42));
    expect(simulate(42)).not.toBe(simulate(43));
  });
});
