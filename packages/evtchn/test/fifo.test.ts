// The FIFO ABI's own rules: control blocks and event-array pages, priorities and queue order,
// and what the 2-level variant says to FIFO commands.
import { describe, it, expect } from 'vitest';
import { EVTCHN_FIFO_LINK_BITS, EVTCHN_FIFO_LINK_MASK, Errno, EvtchnInitControl } from '@tachyxx/abi';
import { ARG, ARRAY_GFN, BAD, CB_GFN, DOMID_SELF, makeGuests } from './harness.js';

const PENDING = 2 ** 31, LINKED = 1 << 29;

describe('the fifo variant', () => {
  function fifoGuests() {
    const r = makeGuests('fifo', 2);
    return r;
  }

  it('switches a domain to FIFO with init_control (link_bits 17) and refuses bad control blocks', () => {
    const { ev, guests: [a] } = fifoGuests();
    expect(ev.abi(a!.domid)).toBe('2-level');
    expect(a!.initControl(5)).toBe(-Errno.ENOENT);
    expect(a!.initControl(0, CB_GFN, 4)).toBe(-Errno.EINVAL); // not 8-byte aligned
    expect(a!.initControl(0, CB_GFN, 4096 - 64)).toBe(-Errno.EINVAL); // crosses the page
    expect(a!.initControl(0, 0x10)).toBe(-Errno.EINVAL); // not guest memory
    expect(ev.abi(a!.domid)).toBe('2-level');
    expect(a!.call(11, EvtchnInitControl, {}, BAD)).toBe(-Errno.EFAULT);
    expect(a!.initControl(0)).toBe(0);
    expect(a!.out(EvtchnInitControl, 'link_bits', ARG)).toBe(EVTCHN_FIFO_LINK_BITS);
    expect(ev.abi(a!.domid)).toBe('fifo');
    expect(a!.initControl(0)).toBe(-Errno.EINVAL); // already has one
    expect(a!.initControl(1, CB_GFN + 1, 8)).toBe(0);
  });

  it('expand_array needs FIFO, a guest page, and stops at 128 pages (131072 ports)', () => {
    const { guests: [a] } = fifoGuests();
    expect(a!.expandArray(ARRAY_GFN)).toBe(-Errno.EOPNOTSUPP);
    a!.initControl(0);
    expect(a!.expandArray(0x10)).toBe(-Errno.EINVAL);
    for (let i = 0; i < 128; i++) expect(a!.expandArray(ARRAY_GFN + i)).toBe(0);
    expect(a!.expandArray(ARRAY_GFN)).toBe(-Errno.ENOSPC);
  });

  it('lets a domain use ports beyond 4096 after the switch, up to its limit', () => {
    const { ev, guests: [a] } = fifoGuests();
    ev.setMaxEventChannels(a!.domid, 5000);
    for (let i = 1; i <= 4095; i++) a!.bindIpi(0);
    expect(a!.bindIpi(0)).toBe(-Errno.ENOSPC); // 2-level: 4096 ports
    a!.initControl(0);
    expect(a!.bindIpi(0)).toBe(4096);
  });

  it('keeps events that arrive before their event-array page and raises them on expand_array', () => {
    const { guests: [a, b] } = fifoGuests();
    a!.initControl(0);
    const pa = a!.allocUnbound(DOMID_SELF, b!.domid);
    const pb = b!.bindInterdomain(a!.domid, pa);
    b!.send(pb);
    expect(a!.upcallPending(0)).toBe(false);
    expect(a!.expandArray(ARRAY_GFN)).toBe(0);
    expect(a!.word(pa) & PENDING).not.toBe(0);
    expect(a!.head(0, 7)).toBe(pa);
    expect(a!.ready(0)).toBe(1 << 7);
    expect(a!.upcallPending(0)).toBe(true);
  });

  it('carries 2-level pending events over the switch to FIFO', () => {
    const { guests: [a] } = fifoGuests();
    const pi = a!.bindIpi(0);
    a!.send(pi);
    expect(a!.pending2l(pi)).toBe(true);
    a!.initControl(0);
    a!.expandArray(ARRAY_GFN);
    expect(a!.word(pi) & PENDING).not.toBe(0);
    expect(a!.head(0, 7)).toBe(pi);
  });

  it('queues by priority (0 first) and in send order within a priority, linking through the event words', () => {
    const { guests: [a] } = fifoGuests();
    a!.initControl(0);
    a!.expandArray(ARRAY_GFN);
    const [p1, p2, p3, p4] = [a!.bindIpi(0), a!.bindIpi(0), a!.bindIpi(0), a!.bindIpi(0)];
    expect(a!.setPriority(p3!, 2)).toBe(0);
    expect(a!.setPriority(p4!, 15)).toBe(0);
    expect(a!.setPriority(p4!, 16)).toBe(-Errno.EINVAL);
    expect(a!.setPriority(100_000, 1)).toBe(-Errno.EINVAL);
    expect(a!.setPriority(50, 1)).toBe(-Errno.EACCES); // free port
    for (const p of [p4!, p2!, p3!, p1!]) a!.send(p);
    expect(a!.ready(0)).toBe((1 << 2) | (1 << 7) | (1 << 15));
    expect(a!.head(0, 2)).toBe(p3);
    expect(a!.head(0, 7)).toBe(p2);
    expect(a!.word(p2!) & EVTCHN_FIFO_LINK_MASK).toBe(p1); // p2 -> p1
    expect(a!.word(p1!) & LINKED).not.toBe(0);
    expect(a!.head(0, 15)).toBe(p4);
    // the guest drains the highest priority first
    const local = { head: [] as number[] };
    const order: number[] = [];
    for (let prio = 0; prio < 16; prio++) for (let p; (p = a!.consume(0, prio, local));) order.push(p);
    expect(order).toEqual([p3, p2, p1, p4]);
    expect(a!.ready(0)).toBe(0);
    // after the drain a new event starts a fresh queue at HEAD
    a!.send(p1!);
    expect(a!.head(0, 7)).toBe(p1);
  });

  it('does not link a masked event; unmask links it and raises the upcall', () => {
    const { guests: [a] } = fifoGuests();
    a!.initControl(0);
    a!.expandArray(ARRAY_GFN);
    const p = a!.bindIpi(0);
    a!.setWord(p, 1 << 30);
    a!.send(p);
    expect(a!.word(p) >>> 0).toBe((PENDING | (1 << 30)) >>> 0);
    expect(a!.ready(0)).toBe(0);
    expect(a!.unmask(p)).toBe(0);
    expect(a!.word(p) & LINKED).not.toBe(0);
    expect(a!.head(0, 7)).toBe(p);
    expect(a!.upcallPending(0)).toBe(true);
  });

  it('drops events for a vCPU without a control block', () => {
    const { guests: [a] } = fifoGuests();
    a!.initControl(0);
    a!.expandArray(ARRAY_GFN);
    const p = a!.bindIpi(1);
    a!.send(p);
    expect(a!.word(p)).toBe(0);
    expect(a!.upcallPending(1)).toBe(false);
  });

  it('reset returns the domain to the 2-level ABI', () => {
    const { ev, guests: [a] } = fifoGuests();
    a!.initControl(0);
    expect(ev.abi(a!.domid)).toBe('fifo');
    expect(a!.reset()).toBe(0);
    expect(ev.abi(a!.domid)).toBe('2-level');
    expect(a!.initControl(0)).toBe(0);
  });
});

describe('the 2-level variant', () => {
  it('offers no FIFO: init_control and expand_array are -EOPNOTSUPP, set_priority -ENOSYS', () => {
    const { ev, guests: [a] } = makeGuests('2-level', 1);
    expect(a!.initControl(0)).toBe(-Errno.EOPNOTSUPP);
    expect(a!.expandArray(ARRAY_GFN)).toBe(-Errno.EOPNOTSUPP);
    const p = a!.bindIpi(0);
    expect(a!.setPriority(p, 3)).toBe(-Errno.ENOSYS);
    expect(a!.setPriority(100_000, 3)).toBe(-Errno.EINVAL);
    expect(ev.abi(a!.domid)).toBe('2-level');
    for (let i = 2; i <= 1023; i++) a!.bindIpi(0);
    expect(a!.bindIpi(0)).toBe(-Errno.ENOSPC);
  });

  it('answers unknown commands with ENOSYS and bind_pirq of a pirq nobody permitted with EPERM', () => {
    const { guests: [a] } = makeGuests('2-level', 1);
    expect(a!.call(15, { size: 4 }, {})).toBe(-Errno.ENOSYS);
    expect(a!.call(2, { size: 12 }, {})).toBe(-Errno.EPERM); // Xen: !pirq_access_permitted for a PV guest
  });
});
