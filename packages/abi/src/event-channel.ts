/**
 * Xen's event-channel ABI (xen/include/public/event_channel.h), 64-bit layouts. Hypercall
 * `event_channel_op(cmd, arg)`: a0 = EVTCHNOP_*, a1 = guest-physical address of the command's
 * struct. Each field is marked `in` (the guest fills it) or `out` (the hypervisor writes it back
 * after success). Numbers only: `@tachyxx/evtchn` implements them.
 */

/** event_channel_op sub-commands (`EVTCHNOP_*`). reset_cont is Xen-internal (a continuation). */
export const EvtchnOp = {
  bind_interdomain: 0, bind_virq: 1, bind_pirq: 2, close: 3, send: 4, status: 5, alloc_unbound: 6,
  bind_ipi: 7, bind_vcpu: 8, unmask: 9, reset: 10, init_control: 11, expand_array: 12,
  set_priority: 13, reset_cont: 14,
} as const;
export type EvtchnOpName = keyof typeof EvtchnOp;

/** `evtchn_status.status` (`EVTCHNSTAT_*`). */
export const EvtchnStat = { closed: 0, unbound: 1, interdomain: 2, pirq: 3, virq: 4, ipi: 5 } as const;

type Dir = 'in' | 'out';
const f = <D extends Dir>(offset: number, size: number, dir: D) => ({ offset, size, dir }) as const;

/** struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; } */
export const EvtchnAllocUnbound = { size: 8, dom: f(0, 2, 'in'), remote_dom: f(2, 2, 'in'), port: f(4, 4, 'out') } as const;
/** struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; } */
export const EvtchnBindInterdomain = { size: 12, remote_dom: f(0, 2, 'in'), remote_port: f(4, 4, 'in'), local_port: f(8, 4, 'out') } as const;
/** struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; } */
export const EvtchnBindVirq = { size: 12, virq: f(0, 4, 'in'), vcpu: f(4, 4, 'in'), port: f(8, 4, 'out') } as const;
/** struct evtchn_bind_pirq { uint32_t pirq; uint32_t flags; evtchn_port_t port; } */
export const EvtchnBindPirq = { size: 12, pirq: f(0, 4, 'in'), flags: f(4, 4, 'in'), port: f(8, 4, 'out') } as const;
/** struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; } */
export const EvtchnBindIpi = { size: 8, vcpu: f(0, 4, 'in'), port: f(4, 4, 'out') } as const;
/** struct evtchn_close { evtchn_port_t port; } */
export const EvtchnClose = { size: 4, port: f(0, 4, 'in') } as const;
/** struct evtchn_send { evtchn_port_t port; } */
export const EvtchnSend = { size: 4, port: f(0, 4, 'in') } as const;
/**
 * struct evtchn_status { domid_t dom; evtchn_port_t port; uint32_t status; uint32_t vcpu;
 * union { struct { domid_t dom; } unbound; struct { domid_t dom; evtchn_port_t port; } interdomain;
 * uint32_t pirq; uint32_t virq; } u; } — 24 bytes, the union at 16.
 */
export const EvtchnStatus = {
  size: 24,
  dom: f(0, 2, 'in'), port: f(4, 4, 'in'),
  status: f(8, 4, 'out'), vcpu: f(12, 4, 'out'),
  unbound_dom: f(16, 2, 'out'),
  interdomain_dom: f(16, 2, 'out'), interdomain_port: f(20, 4, 'out'),
  pirq: f(16, 4, 'out'), virq: f(16, 4, 'out'),
} as const;
/** struct evtchn_bind_vcpu { evtchn_port_t port; uint32_t vcpu; } */
export const EvtchnBindVcpu = { size: 8, port: f(0, 4, 'in'), vcpu: f(4, 4, 'in') } as const;
/** struct evtchn_unmask { evtchn_port_t port; } */
export const EvtchnUnmask = { size: 4, port: f(0, 4, 'in') } as const;
/** struct evtchn_reset { domid_t dom; } */
export const EvtchnReset = { size: 2, dom: f(0, 2, 'in') } as const;
/** struct evtchn_init_control { uint64_t control_gfn; uint32_t offset; uint32_t vcpu; uint8_t link_bits; uint8_t _pad[7]; } */
export const EvtchnInitControl = {
  size: 24, control_gfn: f(0, 8, 'in'), offset: f(8, 4, 'in'), vcpu: f(12, 4, 'in'), link_bits: f(16, 1, 'out'),
} as const;
/** struct evtchn_expand_array { uint64_t array_gfn; } */
export const EvtchnExpandArray = { size: 8, array_gfn: f(0, 8, 'in') } as const;
/** struct evtchn_set_priority { evtchn_port_t port; uint32_t priority; } */
export const EvtchnSetPriority = { size: 8, port: f(0, 4, 'in'), priority: f(4, 4, 'in') } as const;

/** 2-level ABI: 64 words of 64 bits (`EVTCHN_2L_NR_CHANNELS` with an 8-byte xen_ulong_t). */
export const EVTCHN_2L_NR_CHANNELS = 64 * 64;
/** Bits per pending/mask word and per evtchn_pending_sel bit (BITS_PER_EVTCHN_WORD). */
export const BITS_PER_EVTCHN_WORD = 64;

/** FIFO ABI. Priority 0 is the highest, 15 the lowest. */
export const EVTCHN_FIFO_PRIORITY_MAX = 0;
export const EVTCHN_FIFO_PRIORITY_DEFAULT = 7;
export const EVTCHN_FIFO_PRIORITY_MIN = 15;
export const EVTCHN_FIFO_MAX_QUEUES = EVTCHN_FIFO_PRIORITY_MIN + 1;
/** Bits of an `event_word_t`. */
export const EVTCHN_FIFO_PENDING = 31;
export const EVTCHN_FIFO_MASKED = 30;
export const EVTCHN_FIFO_LINKED = 29;
export const EVTCHN_FIFO_BUSY = 28;
export const EVTCHN_FIFO_LINK_BITS = 17;
export const EVTCHN_FIFO_LINK_MASK = (1 << EVTCHN_FIFO_LINK_BITS) - 1;
export const EVTCHN_FIFO_NR_CHANNELS = 1 << EVTCHN_FIFO_LINK_BITS;
/** Event words per 4 KiB event-array page, and the most pages an array may have. */
export const EVTCHN_FIFO_EVENT_WORDS_PER_PAGE = 4096 / 4;
export const EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES = EVTCHN_FIFO_NR_CHANNELS / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE;
/** struct evtchn_fifo_control_block { uint32_t ready; uint32_t _rsvd; uint32_t head[16]; } */
export const EvtchnFifoControlBlock = {
  size: 8 + 4 * EVTCHN_FIFO_MAX_QUEUES,
  ready: { offset: 0, size: 4 },
  head: { offset: 8, size: 4 * EVTCHN_FIFO_MAX_QUEUES },
} as const;

/** Number of VIRQs (`NR_VIRQS`); VIRQ_* values are `Virq` in vcpu.ts. */
export const NR_VIRQS = 24;
/** VIRQ_ARCH_0..7. */
export const VIRQ_ARCH_0 = 16;

/** struct sched_poll { XEN_GUEST_HANDLE(evtchn_port_t) ports; unsigned int nr_ports; uint64_t timeout; } */
export const SchedPoll = { size: 24, ports: { offset: 0, size: 8 }, nr_ports: { offset: 8, size: 4 }, timeout: { offset: 16, size: 8 } } as const;

/** xl's default `max_event_channels` (the highest port a domain may use). */
export const DEFAULT_MAX_EVENT_CHANNELS = 1023;
