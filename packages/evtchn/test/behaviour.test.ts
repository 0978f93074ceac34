// The same behaviour under both ABIs: the 2-level bitmaps in shared_info, and the FIFO event
// words and queues in pages the guest registered (the `fifo` variant, after init_control).
import { describe, it, expect } from 'vitest';
import { Errno, EvtchnStat, Virq } from '@tachyxx/abi';
import { ARRAY_GFN, BAD, DOMID_SELF, makeGuests, type Guest } from './harness.js';
import { NR_PIRQS_DOMU, type EvtchnVariant } from '@tachyxx/evtchn';

interface View {
  setup(g: Guest): void;
  pending(g: Guest, port: number): boolean;
  mask(g: Guest, port: number, on: boolean): void;
  /** The upcall is raised on `vcpu` for `port` (selector / READY bit set, evtchn_upcall_pending). */
  raised(g: Guest, vcpu: number, port: number): boolean;
  /** The guest handled everything: clear pending state and acknowledge the upcall. */
  consumeAll(g: Guest, vcpu: number): void;
}

const views: Record<EvtchnVariant, View> = {
  '2-level': {
    setup() {},
    pending: (g, p) => g.pending2l(p),
    mask: (g, p, on) => g.setMask2l(p, on),
    raised: (g, v, p) => g.upcallPending(v) && g.selector(v, p >> 6),
    consumeAll(g, v) {
      for (let p = 1; p < 64; p++) g.clearPending2l(p);
      g.ackUpcall(v);
    },
  },
  fifo: {
    setup(g) {
      expect(g.initControl(0)).toBe(0);
      expect(g.initControl(1)).toBe(0);
      expect(g.expandArray(ARRAY_GFN)).toBe(0);
    },
    pending: (g, p) => (g.word(p) & 2 ** 31) !== 0,
    mask: (g, p, on) => g.setWord(p, on ? g.word(p) | (1 << 30) : g.word(p) & ~(1 << 30)),
    raised: (g, v) => g.upcallPending(v) && g.ready(v) !== 0,
    consumeAll(g, v) {
      for (let prio = 0; prio < 16; prio++) {
        const local = { head: [] as number[] };
        while (g.consume(v, prio, local)) { /* drain */ }
      }
      g.ackUpcall(v);
    },
  },
};

describe.each(['2-level', 'fifo'] as const)('event channels (%s)', (variant) => {
  const view = views[variant];
  function setup(opts: { max?: number } = {}) {
    const r = makeGuests(variant, 3, opts);
    for (const g of r.guests) view.setup(g);
    return r;
  }
  /** a <-> b connected: returns [port in a, port in b]. */
  function connect(a: Guest, b: Guest): [number, number] {
    const pa = a.allocUnbound(DOMID_SELF, b.domid);
    expect(pa).toBeGreaterThan(0);
    const pb = b.bindInterdomain(a.domid, pa);
    expect(pb).toBeGreaterThan(0);
    view.consumeAll(b, 0); // the bind's conservative event on b's port
    return [pa, pb];
  }

  it('connects two domains: an interdomain send marks the peer pending and raises its upcall', () => {
    const { guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    expect(view.pending(a!, pa)).toBe(false);
    expect(a!.upcallPending(0)).toBe(false);
    expect(b!.send(pb)).toBe(0);
    expect(view.pending(a!, pa)).toBe(true);
    expect(view.raised(a!, 0, pa)).toBe(true);
    expect(a!.vcpu(0).upcallPending).toBe(true);
    // and the sender's own bitmaps are untouched
    expect(view.pending(b!, pb)).toBe(false);
    view.consumeAll(a!, 0);
    expect(a!.send(pa)).toBe(0);
    expect(view.pending(b!, pb)).toBe(true);
    expect(view.raised(b!, 0, pb)).toBe(true);
  });

  it('raises a conservative event on the binding side, as Xen does', () => {
    const { guests: [a, b] } = setup();
    const pa = a!.allocUnbound(DOMID_SELF, b!.domid);
    const pb = b!.bindInterdomain(a!.domid, pa);
    expect(view.pending(b!, pb)).toBe(true);
    expect(view.pending(a!, pa)).toBe(false);
  });

  it('reports every state through EVTCHNOP_status', () => {
    const { guests: [a, b] } = setup();
    const pu = a!.allocUnbound(DOMID_SELF, b!.domid);
    expect(a!.status(DOMID_SELF, pu)).toMatchObject({ status: EvtchnStat.unbound, vcpu: 0, dom: b!.domid });
    const pb = b!.bindInterdomain(a!.domid, pu);
    expect(a!.status(DOMID_SELF, pu)).toMatchObject({ status: EvtchnStat.interdomain, dom: b!.domid, port: pb });
    const pv = a!.bindVirq(Virq.timer, 1);
    expect(a!.status(a!.domid, pv)).toMatchObject({ status: EvtchnStat.virq, vcpu: 1, virq: Virq.timer });
    const pi = a!.bindIpi(1);
    expect(a!.status(DOMID_SELF, pi)).toMatchObject({ status: EvtchnStat.ipi, vcpu: 1 });
    expect(a!.status(DOMID_SELF, 40)).toMatchObject({ status: EvtchnStat.closed });
    expect(a!.status(DOMID_SELF, 0)).toMatchObject({ status: EvtchnStat.closed });
    expect(a!.status(DOMID_SELF, 100_000)).toBe(-Errno.EINVAL);
    expect(a!.status(b!.domid, pb)).toBe(-Errno.EPERM);
    expect(a!.status(999, 1)).toBe(-Errno.ESRCH);
    expect(a!.call(5, { size: 24, dom: { offset: 0, size: 2 } }, {}, BAD)).toBe(-Errno.EFAULT);
  });

  it('refuses bad alloc_unbound / bind_interdomain requests with Xen errnos', () => {
    const { guests: [a, b, c] } = setup();
    expect(a!.allocUnbound(999, b!.domid)).toBe(-Errno.ESRCH);
    expect(a!.allocUnbound(b!.domid, a!.domid)).toBe(-Errno.EPERM);
    expect(a!.allocUnbound(0, a!.domid)).toBe(-Errno.EPERM);
    const pa = a!.allocUnbound(DOMID_SELF, b!.domid);
    expect(c!.bindInterdomain(a!.domid, pa)).toBe(-Errno.EINVAL); // allocated for b, not c
    expect(b!.bindInterdomain(999, pa)).toBe(-Errno.ESRCH);
    expect(b!.bindInterdomain(a!.domid, 200_000)).toBe(-Errno.EINVAL);
    expect(b!.bindInterdomain(a!.domid, 50)).toBe(-Errno.EINVAL); // free port
    expect(b!.bindInterdomain(a!.domid, 0)).toBe(-Errno.EINVAL); // reserved port
    const pb = b!.bindInterdomain(a!.domid, pa);
    expect(pb).toBeGreaterThan(0);
    expect(b!.bindInterdomain(a!.domid, pa)).toBe(-Errno.EINVAL); // already bound
    // OUT pointers are checked before any side effect
    const before = a!.host === b!.host ? b!.d : null;
    expect(before).not.toBeNull();
    expect(b!.call(6, { size: 8 }, {}, BAD)).toBe(-Errno.EFAULT);
    expect(a!.call(0, { size: 12 }, {}, BAD)).toBe(-Errno.EFAULT);
  });

  it('gives -ENOSPC at the per-domain port limit (xl max_event_channels) and lets the toolstack raise it', () => {
    const { ev, guests: [a, b] } = setup();
    expect(ev.maxEventChannels(a!.domid)).toBe(1023);
    expect(ev.setMaxEventChannels(a!.domid, 3)).toBe(0);
    expect([1, 2, 3].map(() => a!.allocUnbound(DOMID_SELF, b!.domid))).toEqual([1, 2, 3]);
    expect(a!.allocUnbound(DOMID_SELF, b!.domid)).toBe(-Errno.ENOSPC);
    expect(a!.bindIpi(0)).toBe(-Errno.ENOSPC);
    expect(a!.bindVirq(Virq.timer, 0)).toBe(-Errno.ENOSPC);
    expect(b!.bindInterdomain(a!.domid, 1)).toBeGreaterThan(0); // b has room
    expect(ev.setMaxEventChannels(a!.domid, 4)).toBe(0);
    expect(a!.allocUnbound(DOMID_SELF, b!.domid)).toBe(4);
    expect(ev.setMaxEventChannels(999, 4)).toBe(-Errno.ESRCH);
    // a port freed is reused first
    expect(a!.close(2)).toBe(0);
    expect(a!.bindIpi(0)).toBe(2);
  });

  it('allocates up to the default limit of 1023 ports and then -ENOSPC', () => {
    const { guests: [a] } = setup();
    let last = 0;
    for (let i = 0; i < 1023; i++) last = a!.bindIpi(0);
    expect(last).toBe(1023);
    expect(a!.bindIpi(0)).toBe(-Errno.ENOSPC);
  });

  it('sends: unbound ports drop silently; free, reserved, VIRQ and out-of-range ports are -EINVAL', () => {
    const { guests: [a, b] } = setup();
    const pu = a!.allocUnbound(DOMID_SELF, b!.domid);
    expect(a!.send(pu)).toBe(0);
    expect(view.pending(a!, pu)).toBe(false);
    expect(a!.send(0)).toBe(-Errno.EINVAL);
    expect(a!.send(30)).toBe(-Errno.EINVAL);
    expect(a!.send(1 << 20)).toBe(-Errno.EINVAL);
    expect(a!.send(a!.bindVirq(Virq.timer))).toBe(-Errno.EINVAL);
    expect(a!.call(4, { size: 4 }, {}, BAD)).toBe(-Errno.EFAULT);
  });

  it('a domain cannot send on, close or unmask another domain\'s ports (ports are per domain)', () => {
    const { guests: [a, b, c] } = setup();
    const [pa] = connect(a!, b!);
    // c's port numbers are its own: pa is free in c
    expect(c!.send(pa)).toBe(-Errno.EINVAL);
    expect(c!.close(pa)).toBe(-Errno.EINVAL);
    expect(view.pending(a!, pa)).toBe(false);
    expect(a!.status(DOMID_SELF, pa)).toMatchObject({ status: EvtchnStat.interdomain });
  });

  it('closing one end leaves the other unbound for the closer; sends are then dropped, and it can rebind', () => {
    const { guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    expect(b!.close(pb)).toBe(0);
    expect(a!.status(DOMID_SELF, pa)).toMatchObject({ status: EvtchnStat.unbound, dom: b!.domid });
    expect(b!.status(DOMID_SELF, pb)).toMatchObject({ status: EvtchnStat.closed });
    expect(a!.send(pa)).toBe(0);
    expect(b!.close(pb)).toBe(-Errno.EINVAL);
    expect(b!.close(0)).toBe(-Errno.EINVAL);
    expect(b!.close(100_000)).toBe(-Errno.EINVAL);
    const pb2 = b!.bindInterdomain(a!.domid, pa);
    expect(pb2).toBe(pb);
    view.consumeAll(b!, 0);
    expect(a!.send(pa)).toBe(0);
    expect(view.pending(b!, pb2)).toBe(true);
  });

  it('close clears a pending event so a re-bound port starts clean', () => {
    const { guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    view.mask(a!, pa, true);
    b!.send(pb);
    expect(view.pending(a!, pa)).toBe(true);
    expect(a!.close(pa)).toBe(0);
    expect(view.pending(a!, pa)).toBe(false);
  });

  it('keeps a masked port pending without an upcall, and delivers it on EVTCHNOP_unmask', () => {
    const { guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    view.mask(a!, pa, true);
    expect(b!.send(pb)).toBe(0);
    expect(view.pending(a!, pa)).toBe(true);
    expect(a!.upcallPending(0)).toBe(false);
    expect(a!.unmask(pa)).toBe(0);
    expect(view.raised(a!, 0, pa)).toBe(true);
    expect(a!.unmask(100_000)).toBe(-Errno.EINVAL);
    expect(a!.unmask(33)).toBe(0); // a valid free port: nothing happens
  });

  it('delivers a second send to a still-pending port only once', () => {
    const { ev, guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    const before = ev.stats.domain(a!.domid).deliveries.value;
    b!.send(pb);
    b!.send(pb);
    expect(ev.stats.domain(a!.domid).deliveries.value - before).toBe(1);
    expect(ev.stats.domain(b!.domid).sends.value).toBe(2);
    expect(view.pending(a!, pa)).toBe(true);
  });

  it('binds VIRQs per vCPU with Xen errnos (EEXIST, EINVAL, ENOENT, EBUSY for global VIRQs of dom0)', () => {
    const { ev, guests: [a] } = setup();
    const t0 = a!.bindVirq(Virq.timer, 0);
    expect(t0).toBeGreaterThan(0);
    expect(a!.bindVirq(Virq.timer, 0)).toBe(-Errno.EEXIST);
    expect(a!.bindVirq(Virq.timer, 1)).toBeGreaterThan(0); // per vCPU
    expect(a!.bindVirq(Virq.debug, 1)).toBeGreaterThan(0);
    expect(a!.bindVirq(24, 0)).toBe(-Errno.EINVAL);
    expect(a!.bindVirq(Virq.timer, 7)).toBe(-Errno.ENOENT);
    expect(a!.bindVirq(Virq.console, 1)).toBe(-Errno.EINVAL); // global: vCPU 0 only
    expect(a!.bindVirq(Virq.console, 0)).toBe(-Errno.EBUSY); // dom0 handles it
    expect(ev.setGlobalVirqHandler(a!.domid, Virq.console)).toBe(0);
    const pc = a!.bindVirq(Virq.console, 0);
    expect(pc).toBeGreaterThan(0);
    expect(ev.sendGlobalVirq(Virq.console)).toBe(true);
    expect(view.pending(a!, pc)).toBe(true);
    expect(ev.setGlobalVirqHandler(a!.domid, Virq.timer)).toBe(-Errno.EINVAL);
    // a global VIRQ may move to another vCPU, a per-vCPU one may not
    expect(a!.bindVcpu(pc, 1)).toBe(0);
    expect(a!.bindVcpu(t0, 1)).toBe(-Errno.EINVAL);
    // closing a VIRQ port frees the binding
    expect(a!.close(t0)).toBe(0);
    expect(a!.bindVirq(Virq.timer, 0)).toBeGreaterThan(0);
  });

  it('delivers VIRQ_TIMER through the host timer (set_timer_op) to the bound port', () => {
    const { host, ev, guests: [a] } = setup();
    const pt = a!.bindVirq(Virq.timer, 0);
    const deadline = host.clock.now + 50_000;
    expect(host.hypercalls.dispatch(a!.vcpu(0), 15, { a0: deadline, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 })).toBe(0);
    host.queue.runUntil(deadline + 1);
    expect(view.pending(a!, pt)).toBe(true);
    expect(view.raised(a!, 0, pt)).toBe(true);
    expect(ev.stats.domain(a!.domid).virqs.value).toBe(1);
    // the debug VIRQ from the TypeScript side, on vCPU 1
    const pd = a!.bindVirq(Virq.debug, 1);
    expect(ev.sendVirq(a!.domid, Virq.debug, 1)).toBe(true);
    expect(view.pending(a!, pd)).toBe(true);
    expect(ev.sendVirq(a!.domid, Virq.debug, 0)).toBe(false); // not bound on vCPU 0
  });

  it('IPIs go to the bound vCPU; bind_vcpu moves an interdomain port to another vCPU', () => {
    const { guests: [a, b] } = setup();
    const pi = a!.bindIpi(1);
    expect(a!.send(pi)).toBe(0);
    expect(view.raised(a!, 1, pi)).toBe(true);
    expect(a!.upcallPending(0)).toBe(false);
    expect(a!.bindIpi(5)).toBe(-Errno.ENOENT);
    const [pa, pb] = connect(a!, b!);
    expect(a!.bindVcpu(pa, 1)).toBe(0);
    view.consumeAll(a!, 1);
    b!.send(pb);
    expect(view.raised(a!, 1, pa)).toBe(true);
    expect(a!.upcallPending(0)).toBe(false);
    expect(a!.bindVcpu(pa, 9)).toBe(-Errno.ENOENT);
    expect(a!.bindVcpu(100_000, 1)).toBe(-Errno.EINVAL);
    expect(a!.bindVcpu(pi, 0)).toBe(-Errno.EINVAL); // IPIs cannot move
  });

  it('binds a permitted pirq (EVTCHNOP_bind_pirq) and send_guest_pirq raises it on its vCPU', () => {
    const { ev, guests: [a, b] } = setup();
    expect(a!.bindPirq(5)).toBe(-Errno.EPERM); // not permitted (no PHYSDEVOP_map_pirq yet)
    expect(a!.bindPirq(-1)).toBe(-Errno.EINVAL);
    expect(a!.bindPirq(NR_PIRQS_DOMU)).toBe(-Errno.EINVAL);
    expect(ev.permitPirq(a!.domid, 5)).toBe(0);
    expect(ev.permitPirq(a!.domid, NR_PIRQS_DOMU)).toBe(-Errno.EINVAL);
    const port = a!.bindPirq(5);
    expect(port).toBeGreaterThan(0);
    expect(a!.bindPirq(5)).toBe(-Errno.EEXIST);
    expect(ev.pirqPort(a!.domid, 5)).toBe(port);
    const st = a!.status(DOMID_SELF, port);
    expect(typeof st === 'object' && [st.status, st.pirq]).toEqual([EvtchnStat.pirq, 5]);
    expect(ev.sendPirq(a!.domid, 5)).toBe(true);
    expect(view.raised(a!, 0, port)).toBe(true);
    expect(ev.sendPirq(b!.domid, 5)).toBe(false); // b has no such binding
    view.consumeAll(a!, 0);
    expect(a!.bindVcpu(port, 1)).toBe(0); // pirqs may move (pirq_set_affinity)
    ev.sendPirq(a!.domid, 5);
    expect(view.raised(a!, 1, port)).toBe(true);
    expect(a!.upcallPending(0)).toBe(false);
    expect(a!.close(port)).toBe(0);
    expect(ev.sendPirq(a!.domid, 5)).toBe(false);
    expect(a!.bindPirq(5)).toBeGreaterThan(0); // bindable again
    expect(ev.permitPirq(a!.domid, 5, false)).toBe(0); // revoked: the port is closed
    expect(ev.pirqPort(a!.domid, 5)).toBe(0);
  });

  it('reset closes every port (the peer becomes unbound) and needs the target paused or itself', () => {
    const { host, ev, guests: [a, b, c] } = setup();
    const [pa] = connect(a!, b!);
    b!.bindIpi(0);
    b!.bindVirq(Virq.timer, 0);
    expect(c!.reset(b!.domid)).toBe(-Errno.EPERM);
    expect(b!.reset(999)).toBe(-Errno.ESRCH);
    expect(b!.reset(DOMID_SELF, true)).toBe(-Errno.EBUSY); // reset_cont with no reset in progress
    expect(b!.reset()).toBe(0);
    expect(ev.activePorts(b!.domid)).toBe(0);
    expect(ev.abi(b!.domid)).toBe('2-level');
    expect(a!.status(DOMID_SELF, pa)).toMatchObject({ status: EvtchnStat.unbound, dom: b!.domid });
    expect(b!.bindVirq(Virq.timer, 0)).toBeGreaterThan(0);
    void host;
  });

  it('wakes a vCPU polling a (masked) port when it becomes pending (SCHEDOP_poll)', () => {
    const { guests: [a, b] } = setup();
    const [pa, pb] = connect(a!, b!);
    view.mask(a!, pa, true);
    const v = a!.vcpu(0);
    expect(a!.poll([pa])).toBe(0);
    expect(v.blocked).toBe(true);
    b!.send(pb);
    expect(v.blocked).toBe(false);
    expect(a!.upcallPending(0)).toBe(false); // masked: woken by the poll, not an upcall
    // already pending: returns at once without blocking
    expect(a!.poll([pa])).toBe(0);
    expect(v.blocked).toBe(false);
    expect(a!.poll([77])).toBe(-Errno.EINVAL);
    expect(a!.poll([100_000])).toBe(-Errno.EINVAL);
  });

  it('runs a dom0 TypeScript endpoint: guest -> handler, dom0 notify -> guest pending', () => {
    const { ev, guests: [a] } = setup();
    const seen: number[] = [];
    const p0 = ev.bindUnbound(a!.domid, (port) => seen.push(port));
    expect(p0).toBeGreaterThan(0);
    const pa = a!.bindInterdomain(0, p0);
    expect(pa).toBeGreaterThan(0);
    view.consumeAll(a!, 0);
    expect(a!.send(pa)).toBe(0);
    expect(seen).toEqual([p0]);
    expect(ev.notify(p0)).toBe(0);
    expect(view.pending(a!, pa)).toBe(true);
    expect(view.raised(a!, 0, pa)).toBe(true);
    // toolstack style: a guest port for dom0, then dom0 binds it (one conservative event)
    const g = ev.allocUnbound(a!.domid, 0);
    const seen2: number[] = [];
    const q0 = ev.bindInterdomain(a!.domid, g, (port) => seen2.push(port));
    expect(q0).toBeGreaterThan(0);
    expect(seen2).toEqual([q0]);
    a!.send(g);
    expect(seen2).toEqual([q0, q0]);
    // the guest closes: dom0's end becomes unbound for it
    expect(a!.close(g)).toBe(0);
    expect(ev.status(0, q0)).toMatchObject({ state: 'unbound', remoteDomid: a!.domid });
    expect(ev.unbind(q0)).toBe(0);
    expect(ev.notify(q0)).toBe(-Errno.EINVAL);
  });

  it('destroying a domain unbinds its peers', () => {
    const { host, ev, guests: [a, b] } = setup();
    const [pa] = connect(a!, b!);
    host.destroyDomain(b!.d);
    expect(ev.status(a!.domid, pa)).toMatchObject({ state: 'unbound', remoteDomid: b!.domid });
    expect(a!.send(pa)).toBe(0);
  });

  it('counts send -> handler latency in cycles when the target vCPU next runs', () => {
    const { host, ev, guests: [a, b] } = setup();
    const [, pb] = connect(a!, b!);
    host.queue.runUntil(host.clock.now + 1000);
    b!.send(pb);
    const lat = ev.stats.domain(a!.domid).latency;
    expect(lat.count).toBe(0);
    host.unpauseDomain(a!.d);
    host.run({ untilNs: host.clock.now + 5_000_000 });
    expect(lat.count).toBe(1);
    expect(lat.max).toBeGreaterThanOrEqual(0);
    expect(host.stats.dump()).toHaveProperty(['host', 'evtchn', 'total']);
  });
});
