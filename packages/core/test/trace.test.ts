import { describe, expect, it } from 'vitest';
import { ChromeTraceExporter, defineTopic, EventBus, HYPERCALL, InstanceGroups, PCPU_COUNTERS, StatGroup, TLB_FLUSH, VCPU_SCHEDULE, DOMAIN_LIFECYCLE } from '../src/index.js';

describe('InstanceGroups', () => {
  it('mounts <prefix><index> on first use, keeps it, and dumps in first-use order', () => {
    const root = new StatGroup();
    const made: number[] = [];
    const cpus = new InstanceGroups(root, 'cpu', (i) => {
      made.push(i);
      const g = new StatGroup();
      g.counter('ticks', 'count', 'ticks');
      return g;
    });
    (cpus.get(1).lookup('ticks') as { value: number }).value = 5;
    cpus.get(0);
    expect(cpus.get(1)).toBe(cpus.get(1));
    expect(made).toEqual([1, 0]);
    expect(root.dump()).toEqual({ cpu1: { ticks: 5 }, cpu0: { ticks: 0 } });
    expect(cpus.entries().map(([i]) => i)).toEqual([1, 0]);
    expect(() => cpus.get(-1)).toThrow(RangeError);
    expect(() => new InstanceGroups(root, 'bad name', () => new StatGroup())).toThrow(/bad instance prefix/);
  });
});

describe('ChromeTraceExporter', () => {
  const SEND = defineTopic<{ time: number; domid: number; port: number }>('test.send');
  function feed(bus: EventBus) {
    bus.publish(DOMAIN_LIFECYCLE, { time: 0, domid: 1, kind: 'created', name: 'web' });
    bus.publish(VCPU_SCHEDULE, { time: 1000, pcpu: 0, domid: 1, vcpu: 0, kind: 'in' });
    bus.publish(HYPERCALL, { time: 1500, pcpu: 0, domid: 1, vcpu: 0, weight: 16, op: 29, cmd: 1, result: 0, cycles: 376 });
    bus.publish(SEND, { time: 1600, domid: 1, port: 3 });
    bus.publish(TLB_FLUSH, { time: 1700, pcpu: 0, scope: 'page', entries: 1 });
    bus.publish(TLB_FLUSH, { time: 1800, pcpu: 0, scope: 'vmid', vmid: 1, entries: 4 });
    bus.publish(PCPU_COUNTERS, { time: 2000, pcpu: 0, instructions: 10, cycles: 20, tlbMisses: 3, traps: 1 });
    bus.publish(PCPU_COUNTERS, { time: 3000, pcpu: 0, instructions: 20, cycles: 40, tlbMisses: 3, traps: 1 });
    bus.publish(VCPU_SCHEDULE, { time: 4000, pcpu: 0, domid: 1, vcpu: 0, kind: 'out', reason: 'blocked' });
    bus.publish(VCPU_SCHEDULE, { time: 5000, pcpu: 1, domid: 1, vcpu: 0, kind: 'in' });
  }
  const make = () => {
    const bus = new EventBus();
    const t = new ChromeTraceExporter(bus, {
      hypercallName: (op) => (op === 29 ? 'sched_op' : `hc${op}`),
      instants: [{ topic: SEND, name: (e) => `send ${e.port}`, domid: (e) => e.domid, time: (e) => e.time }],
    });
    feed(bus);
    return t;
  };

  it('draws vCPU slices per pCPU, instants, coarse flushes and changed counters; open slices end at the last time', () => {
    const t = make();
    const { traceEvents } = JSON.parse(t.toJSON()) as { traceEvents: Record<string, unknown>[] };
    const body = traceEvents.filter((e) => e.ph !== 'M');
    expect(body).toEqual([
      { ph: 'i', s: 't', pid: 2, tid: 1, ts: 0, name: 'created', cat: 'domain', args: {} },
      { ph: 'i', s: 't', pid: 1, tid: 0, ts: 1.5, name: 'sched_op', cat: 'hypercall', args: { domid: 1, vcpu: 0, cmd: 1, result: 0, weight: 16 } },
      { ph: 'i', s: 't', pid: 2, tid: 1, ts: 1.6, name: 'send 3', cat: 'test.send', args: {} },
      { ph: 'i', s: 't', pid: 1, tid: 0, ts: 1.8, name: 'tlb flush vmid', cat: 'mmu', args: { entries: 4 } },
      { ph: 'C', pid: 1, tid: 0, ts: 2, name: 'pCPU0 TLB misses', args: { misses: 3 } },
      { ph: 'X', pid: 1, tid: 0, ts: 1, dur: 3, name: 'd1v0', cat: 'vcpu', args: { domid: 1, vcpu: 0, reason: 'blocked' } },
      { ph: 'X', pid: 1, tid: 1, ts: 5, dur: 0, name: 'd1v0', cat: 'vcpu', args: { domid: 1, vcpu: 0, reason: 'end' } },
    ]);
    const names = traceEvents.filter((e) => e.name === 'thread_name').map((e) => (e.args as { name: string }).name);
    expect(names).toEqual(['pCPU 0', 'pCPU 1', 'd1 web']);
    expect(make().toJSON()).toBe(make().toJSON());
  });

  it('stops listening on stop()', () => {
    const bus = new EventBus();
    const t = new ChromeTraceExporter(bus);
    expect(bus.hasSubscribers(VCPU_SCHEDULE)).toBe(true);
    t.stop();
    expect(bus.hasSubscribers(VCPU_SCHEDULE)).toBe(false);
    expect(t.size).toBe(0);
  });
});
