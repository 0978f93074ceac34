/* evtchn_fifo.h - the FIFO event-channel ABI for Tachyxx guests (Linux's
 * drivers/xen/events/events_fifo.c, one vCPU). Included by evtchn.h; programs use the same
 * bind/send/wait API whichever ABI xen_evtchn_init() selected.
 *
 *   - control block: a static page registered with EVTCHNOP_init_control (GFN = GPA >> 12,
 *     offset 0, vCPU 0): READY (one bit per priority) and HEAD[16];
 *   - event array: static pages added with EVTCHNOP_expand_array, 1024 event words each; the
 *     first at init, more when a bound port needs them (xen_evtchn_fifo_ensure, called by the
 *     alloc/bind wrappers and xen_evtchn_set_handler). Words start 0 (unmasked, as 2-level's mask
 *     bitmap does here);
 *   - event word: PENDING(31) MASKED(30) LINKED(29) BUSY(28) LINK(16:0). The hypervisor links a
 *     newly pending, unmasked, unlinked event at the tail of its queue (the tail word's LINK, or
 *     HEAD when the queue was empty, then READY + upcall). The guest consumes from HEAD: it clears
 *     LINKED|LINK with one atomic AND (amoand.w: the old LINK is the next event; the host may write
 *     the word between two guest instructions, so a plain load/store would lose its update), then
 *     test-and-clears PENDING (amoand.w) unless MASKED and runs the handler.
 *
 * Mirrors packages/abi/src/event-channel.ts (EvtchnInitControl, EvtchnExpandArray,
 * EvtchnFifoControlBlock, EVTCHN_FIFO_*). */
#ifndef TACHYXX_XENLIB_EVTCHN_FIFO_H
#define TACHYXX_XENLIB_EVTCHN_FIFO_H

#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

#define EVTCHN_FIFO_PENDING 31
#define EVTCHN_FIFO_MASKED  30
#define EVTCHN_FIFO_LINKED  29
#define EVTCHN_FIFO_BUSY    28
#define EVTCHN_FIFO_LINK_BITS 17
#define EVTCHN_FIFO_LINK_MASK ((1u << EVTCHN_FIFO_LINK_BITS) - 1)
#define EVTCHN_FIFO_MAX_QUEUES 16
#define EVTCHN_FIFO_PRIORITY_MAX 0
#define EVTCHN_FIFO_PRIORITY_MIN 15
#define EVTCHN_FIFO_NR_CHANNELS (1 << EVTCHN_FIFO_LINK_BITS)
#define EVTCHN_FIFO_PRIORITY_DEFAULT 7
#define EVTCHN_FIFO_EVENT_WORDS_PER_PAGE 1024

#ifndef XEN_EVTCHN_FIFO_PAGES
#define XEN_EVTCHN_FIFO_PAGES 2 /* static event-array pages (1024 ports each) */
#endif

typedef uint32_t event_word_t;
struct evtchn_init_control { uint64_t control_gfn; uint32_t offset; uint32_t vcpu; uint8_t link_bits; uint8_t _pad[7]; };
struct evtchn_expand_array { uint64_t array_gfn; };
struct evtchn_set_priority { evtchn_port_t port; uint32_t priority; };
struct evtchn_fifo_control_block { uint32_t ready; uint32_t _rsvd; uint32_t head[EVTCHN_FIFO_MAX_QUEUES]; };
_Static_assert(sizeof(struct evtchn_init_control) == 24, "evtchn_init_control layout");
_Static_assert(__builtin_offsetof(struct evtchn_init_control, link_bits) == 16, "evtchn_init_control layout");
_Static_assert(sizeof(struct evtchn_expand_array) == 8, "evtchn_expand_array layout");
_Static_assert(__builtin_offsetof(struct evtchn_fifo_control_block, head) == 8, "control block layout");
_Static_assert(sizeof(struct evtchn_fifo_control_block) == 72, "control block layout");

static struct evtchn_fifo_control_block xen_fifo_cb __attribute__((aligned(4096)));
static event_word_t xen_fifo_array[XEN_EVTCHN_FIFO_PAGES][EVTCHN_FIFO_EVENT_WORDS_PER_PAGE] __attribute__((aligned(4096)));
static unsigned xen_fifo_pages;                        /* event-array pages registered */
static uint32_t xen_fifo_head[EVTCHN_FIFO_MAX_QUEUES]; /* where consumption resumes, per priority */
static unsigned xen_fifo_link_bits;                    /* init_control's answer */
/* Counts (programs may print them): event-array expansions, events consumed from the queues. */
static volatile uint64_t xen_fifo_expands, xen_fifo_consumed;

static inline long xen_fifo_nr_ports(void) { return (long)xen_fifo_pages * EVTCHN_FIFO_EVENT_WORDS_PER_PAGE; }
static inline volatile event_word_t *xen_fifo_word(evtchn_port_t port)
{
	if (port >= (evtchn_port_t)xen_fifo_nr_ports()) return 0;
	return &xen_fifo_array[port / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE][port % EVTCHN_FIFO_EVENT_WORDS_PER_PAGE];
}

/* Adds event-array pages until `port` has a word. 0, or -errno (-ENOSPC: out of static pages). */
static inline long xen_evtchn_fifo_expand_to(evtchn_port_t port)
{
	while (port >= (evtchn_port_t)xen_fifo_nr_ports()) {
		if (xen_fifo_pages >= XEN_EVTCHN_FIFO_PAGES) return -28; /* ENOSPC */
		struct evtchn_expand_array op = { (uintptr_t)xen_fifo_array[xen_fifo_pages] >> 12 };
		long r = hypercall6(32 /* event_channel_op */, EVTCHNOP_expand_array, (long)&op, 0, 0, 0, 0);
		if (r < 0) return r;
		xen_fifo_pages++;
		xen_fifo_expands++;
	}
	return 0;
}

/* EVTCHNOP_init_control for vCPU 0, then the first event-array page. 0, or -errno: -EOPNOTSUPP
 * (or -ENOSYS) from a hypervisor without FIFO, and the domain stays 2-level. */
static inline long xen_evtchn_fifo_init(void)
{
	struct evtchn_init_control ic = { (uintptr_t)&xen_fifo_cb >> 12, 0, 0, 0, { 0 } };
	long r = hypercall6(32, EVTCHNOP_init_control, (long)&ic, 0, 0, 0, 0);
	if (r < 0) return r;
	xen_fifo_link_bits = ic.link_bits;
	return xen_evtchn_fifo_expand_to(0);
}

/* consume_one_event: takes the event at the head of queue `q` (the cached head, else HEAD from
 * the control block), unlinks it, and returns its port (0: none). Clears q's bit in *ready when the
 * queue is now empty. */
static inline evtchn_port_t xen_fifo_consume_one(unsigned q, uint32_t *ready)
{
	uint32_t head = xen_fifo_head[q];
	if (!head) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		head = ((volatile struct evtchn_fifo_control_block *)&xen_fifo_cb)->head[q];
	}
	evtchn_port_t port = head;
	volatile event_word_t *w = xen_fifo_word(port);
	if (!port || !w) { /* an empty or bogus head: nothing more on this queue */
		xen_fifo_head[q] = 0;
		*ready &= ~(1u << q);
		return 0;
	}
	/* clear_linked: LINKED and LINK in one atomic step; the old LINK is the next event */
	uint32_t old = __atomic_fetch_and((event_word_t *)w, ~((1u << EVTCHN_FIFO_LINKED) | EVTCHN_FIFO_LINK_MASK), __ATOMIC_SEQ_CST);
	uint32_t next = old & EVTCHN_FIFO_LINK_MASK;
	if (!next) *ready &= ~(1u << q);
	xen_fifo_head[q] = next;
	xen_fifo_consumed++;
	return port;
}

/* The FIFO upcall body (evtchn_fifo_handle_events, one vCPU): queues in priority order (bit 0 =
 * priority 0 = highest), one event at a time, READY re-read after each. */
static void xen_evtchn_fifo_handle_events(void)
{
	uint32_t ready = __atomic_exchange_n(&xen_fifo_cb.ready, 0u, __ATOMIC_SEQ_CST);
	while (ready) {
		unsigned q = (unsigned)__builtin_ctz(ready);
		evtchn_port_t port = xen_fifo_consume_one(q, &ready);
		if (port) {
			event_word_t *w = (event_word_t *)xen_fifo_word(port);
			/* masked: stays PENDING for the unmask; otherwise test-and-clear PENDING (the ack) */
			if (!(__atomic_load_n(w, __ATOMIC_SEQ_CST) & (1u << EVTCHN_FIFO_MASKED)) &&
			    (__atomic_fetch_and(w, ~(1u << EVTCHN_FIFO_PENDING), __ATOMIC_SEQ_CST) & (1u << EVTCHN_FIFO_PENDING)))
				xen_evtchn_dispatch(port);
		}
		ready |= __atomic_exchange_n(&xen_fifo_cb.ready, 0u, __ATOMIC_SEQ_CST);
	}
}

static inline void xen_evtchn_fifo_mask(evtchn_port_t port)
{
	volatile event_word_t *w = xen_fifo_word(port);
	if (w) __atomic_fetch_or((event_word_t *)w, 1u << EVTCHN_FIFO_MASKED, __ATOMIC_SEQ_CST);
}
/* Clears MASKED; an event that became pending meanwhile needs EVTCHNOP_unmask (the hypervisor
 * links it then). Returns the hypercall's result, or 0. */
static inline long xen_evtchn_fifo_unmask(evtchn_port_t port)
{
	volatile event_word_t *w = xen_fifo_word(port);
	if (!w) return -XEN_EINVAL;
	uint32_t old = __atomic_fetch_and((event_word_t *)w, ~(1u << EVTCHN_FIFO_MASKED), __ATOMIC_SEQ_CST);
	if (old & (1u << EVTCHN_FIFO_PENDING)) {
		struct evtchn_port_arg op = { port };
		return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
	}
	return 0;
}
static inline int xen_evtchn_fifo_is_pending(evtchn_port_t port)
{
	volatile event_word_t *w = xen_fifo_word(port);
	return w && (*w >> EVTCHN_FIFO_PENDING) & 1;
}

#endif
