// The FIFO ABI (Xen's event_fifo.c): an event word per port in event-array pages the guest
// registered (EVTCHNOP_expand_array), per-vCPU control blocks (EVTCHNOP_init_control) with a
// READY bit and a HEAD per priority, and hypervisor-side queue tails. Xen links an event onto the
// tail of its queue (the tail word's LINK field), or sets HEAD when the queue is empty, and raises
// the upcall when a queue becomes ready. The guest consumes from HEAD, clearing LINKED.
//
// The words live in guest memory and are read and written through the domain's GuestAccess on
// every operation (Xen maps the pages once; here a page the guest has since given away simply
// stops working, as if the word were missing). One JS thread: the BUSY bit never has to be
// held across a guest access, so set_link never retries.
import {
  EVTCHN_FIFO_BUSY, EVTCHN_FIFO_EVENT_WORDS_PER_PAGE, EVTCHN_FIFO_LINK_MASK, EVTCHN_FIFO_LINKED,
  EVTCHN_FIFO_MASKED, EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES, EVTCHN_FIFO_MAX_QUEUES, EVTCHN_FIFO_NR_CHANNELS,
  EVTCHN_FIFO_PENDING, EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHN_FIFO_PRIORITY_MIN, EvtchnFifoControlBlock, Errno, PAGE_SIZE,
} from '@tachyxx/abi';
import type { Channel, EvtchnDomain } from './channel.js';
import type { Delivery, PortOps } from './port-ops.js';

const PENDING = 2 ** EVTCHN_FIFO_PENDING; // bit 31: use arithmetic-safe constants and >>> 0
const MASKED = 1 << EVTCHN_FIFO_MASKED;
const LINKED = 1 << EVTCHN_FIFO_LINKED;
const BUSY = 1 << EVTCHN_FIFO_BUSY;

interface Queue { readonly priority: number; tail: number }

export class FifoVcpu {
  /** GPA of the control block, or -1 before init_control for this vCPU. */
  controlBlock = -1;
  readonly queues: Queue[] = Array.from({ length: EVTCHN_FIFO_MAX_QUEUES }, (_, priority) => ({ priority, tail: 0 }));
}

export class FifoDomain {
  /** GFNs of the event-array pages, in order. */
  readonly arrayPages: number[] = [];
  readonly vcpus: FifoVcpu[];
  constructor(nvcpus: number) { this.vcpus = Array.from({ length: nvcpus }, () => new FifoVcpu()); }
  get numEvtchns(): number { return this.arrayPages.length * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE; }
}

/** A writable guest page (map_guest_page): true when `gfn` may hold event words or a control block. */
export function guestPageWritable(d: EvtchnDomain, gfn: number): boolean {
  return Number.isInteger(gfn) && gfn >= 0 && gfn < 2 ** 53 / PAGE_SIZE && d.domain!.access.checkRange(gfn * PAGE_SIZE, PAGE_SIZE, true);
}

export class FifoOps implements PortOps {
  readonly name = 'fifo' as const;
  readonly maxEvtchns = EVTCHN_FIFO_NR_CHANNELS;
  constructor(private readonly deliver: Delivery) {}

  /** GPA of `port`'s event word, or -1 (evtchn_fifo_word_from_port returning NULL). */
  wordGpa(d: EvtchnDomain, port: number): number {
    const f = d.fifo;
    if (!f || port >= f.numEvtchns) return -1;
    return f.arrayPages[Math.floor(port / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE)]! * PAGE_SIZE + (port % EVTCHN_FIFO_EVENT_WORDS_PER_PAGE) * 4;
  }

  private read(d: EvtchnDomain, gpa: number): number { return gpa < 0 ? -1 : d.domain!.access.readU32(gpa); }
  private write(d: EvtchnDomain, gpa: number, w: number): void { d.domain!.access.writeU32(gpa, w >>> 0); }

  /** evtchn_fifo_set_link: link `port` after the tail word iff the tail is still LINKED. */
  private setLink(d: EvtchnDomain, tailGpa: number, port: number): boolean {
    const w = this.read(d, tailGpa);
    if (w < 0 || !(w & LINKED)) return false;
    this.write(d, tailGpa, ((w & ~(BUSY | EVTCHN_FIFO_LINK_MASK)) >>> 0) | port);
    return true;
  }

  setPending(d: EvtchnDomain, vcpuId: number, ch: Channel): void {
    const port = ch.port;
    const f = d.fifo!;
    const wordGpa = this.wordGpa(d, port);
    let w = this.read(d, wordGpa);
    if (w < 0) {
      // The event-array page is not there yet: remember, expand_array re-raises it.
      ch.pending = true;
      return;
    }
    const fv = f.vcpus[vcpuId];
    if (!fv || fv.controlBlock < 0) return; // no control block: the guest may not unmask yet, drop
    const q = fv.queues[ch.priority]!;
    let oldQ = f.vcpus[ch.lastVcpu]?.queues[ch.lastPriority] ?? q;
    const newlyPending = !(w & PENDING);
    w = (w | PENDING) >>> 0;
    let linked = true;
    if (!(w & MASKED) && !(w & LINKED)) {
      w = (w | LINKED) >>> 0;
      this.write(d, wordGpa, w);
      if (oldQ.tail === port) oldQ.tail = 0;
      if (oldQ !== q) {
        ch.lastVcpu = vcpuId;
        ch.lastPriority = q.priority;
        oldQ = q;
      }
      linked = false;
      if (q.tail) linked = this.setLink(d, this.wordGpa(d, q.tail), port);
      if (!linked) this.write(d, fv.controlBlock + EvtchnFifoControlBlock.head.offset + 4 * q.priority, port);
      q.tail = port;
    } else {
      this.write(d, wordGpa, w);
    }
    if (newlyPending) this.deliver.delivered(d);
    if (!linked) {
      const readyGpa = fv.controlBlock + EvtchnFifoControlBlock.ready.offset;
      const ready = this.read(d, readyGpa);
      if (ready >= 0 && !(ready & (1 << q.priority))) {
        this.write(d, readyGpa, ready | (1 << q.priority));
        this.deliver.markEventsPending(d, vcpuId);
      }
    }
    if (newlyPending) this.deliver.checkPollers(d, port);
  }

  clearPending(d: EvtchnDomain, ch: Channel): void {
    const gpa = this.wordGpa(d, ch.port);
    const w = this.read(d, gpa);
    if (w >= 0) this.write(d, gpa, (w & ~PENDING) >>> 0);
    ch.pending = false;
  }

  unmask(d: EvtchnDomain, ch: Channel): void {
    const gpa = this.wordGpa(d, ch.port);
    const w = this.read(d, gpa);
    if (w < 0) return;
    this.write(d, gpa, (w & ~MASKED) >>> 0);
    if (w & PENDING) this.setPending(d, ch.notifyVcpu, ch);
  }

  isPending(d: EvtchnDomain, ch: Channel): boolean {
    const w = this.read(d, this.wordGpa(d, ch.port));
    return w >= 0 && (w & PENDING) !== 0;
  }

  isMasked(d: EvtchnDomain, ch: Channel): boolean {
    const w = this.read(d, this.wordGpa(d, ch.port));
    return w < 0 || (w & MASKED) !== 0;
  }

  isBusy(d: EvtchnDomain, ch: Channel): boolean {
    const w = this.read(d, this.wordGpa(d, ch.port));
    return w >= 0 && (w & LINKED) !== 0;
  }

  setPriority(_d: EvtchnDomain, ch: Channel, priority: number): number {
    if (priority > EVTCHN_FIFO_PRIORITY_MIN) return -Errno.EINVAL;
    ch.priority = priority;
    return 0;
  }

  /**
   * EVTCHNOP_init_control. The first call switches the domain from 2-level to FIFO: every vCPU
   * gets empty queues, and ports pending in the 2-level bitmap stay pending (re-raised once their
   * event-array page is added).
   */
  initControl(d: EvtchnDomain, vcpuId: number, gfn: number, offset: number, twoLevelPending: (ch: Channel) => boolean): number {
    if (!d.vcpu(vcpuId)) return -Errno.ENOENT;
    if (offset > PAGE_SIZE - EvtchnFifoControlBlock.size) return -Errno.EINVAL;
    if (offset & 7) return -Errno.EINVAL;
    const first = !d.fifo;
    if (first) d.fifo = new FifoDomain(d.vcpus.length);
    const fv = d.fifo!.vcpus[vcpuId]!;
    let rc = 0;
    if (fv.controlBlock >= 0) rc = -Errno.EINVAL;
    else if (!guestPageWritable(d, gfn)) rc = -Errno.EINVAL;
    if (rc < 0) {
      if (first) d.fifo = null;
      return rc;
    }
    fv.controlBlock = gfn * PAGE_SIZE + offset;
    if (first) {
      const prev = d.ops.maxEvtchns;
      for (let port = 1; port < prev && port < d.channels.length; port++) {
        const ch = d.channels[port]!;
        if (twoLevelPending(ch)) ch.pending = true;
        ch.priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
      }
      d.ops = this;
    }
    return 0;
  }

  /** EVTCHNOP_expand_array: one more event-array page; re-raises events that waited for it. */
  expandArray(d: EvtchnDomain, gfn: number): number {
    const f = d.fifo;
    if (!f) return -Errno.EOPNOTSUPP;
    if (f.arrayPages.length >= EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES) return -Errno.ENOSPC;
    if (!guestPageWritable(d, gfn)) return -Errno.EINVAL;
    const first = f.numEvtchns;
    f.arrayPages.push(gfn);
    for (let port = first; port < f.numEvtchns && port < d.channels.length; port++) {
      const ch = d.channels[port]!;
      if (ch.pending) {
        ch.pending = false;
        this.setPending(d, ch.notifyVcpu, ch);
      }
    }
    return 0;
  }
}
