/* evtchn.h - event channels for Tachyxx guests (header-only, allocation-free, vCPU 0 only):
 * EVTCHNOP_* wrappers, the 2-level ABI (pending/mask bitmaps in shared_info) and the upcall:
 * the PL2 external interrupt (code 9) enters xen_trap_entry, which acknowledges
 * evtchn_upcall_pending, walks evtchn_pending_sel / evtchn_pending & ~evtchn_mask and calls the
 * handler registered for each pending port.
 *
 * The upcall line stays raised until the hypervisor next looks (block/poll), so the handler
 * disables sie.SEIE after dispatching; xen_wait_until() re-enables it around SCHEDOP_block:
 *
 *     xen_evtchn_init();                         // stvec, sie.SEIE, sstatus.SIE
 *     xen_evtchn_set_handler(port, fn, arg);     // fn(port, arg) runs in the upcall
 *     xen_wait_until(flag != 0);                 // block until an upcall made it true
 *
 * ABI: xen_evtchn_init() tries the FIFO ABI first (EVTCHNOP_init_control + expand_array,
 * evtchn_fifo.h) as Linux does, and stays 2-level when the hypervisor refuses (-EOPNOTSUPP from
 * Xen without CONFIG_EVTCHN_FIFO, i.e. the host's `2-level` variant, or -ENOSYS). Define
 * XEN_EVTCHN_2L_ONLY to skip the attempt. xen_evtchn_fifo() / xen_evtchn_abi_name() /
 * xen_evtchn_print_abi() say which one is in use. Mirrors packages/abi/src/event-channel.ts.
 * Include from a single .c file (static state). */
#ifndef TACHYXX_XENLIB_EVTCHN_H
#define TACHYXX_XENLIB_EVTCHN_H
#include "xen.h"

#define __HYPERVISOR_event_channel_op 32
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_bind_pirq        2
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_bind_ipi         7
#define EVTCHNOP_bind_vcpu        8
#define EVTCHNOP_unmask           9
#define EVTCHNOP_reset           10
#define EVTCHNOP_init_control    11
#define EVTCHNOP_expand_array    12
#define EVTCHNOP_set_priority    13
/* 14 (EVTCHNOP_reset_cont) is Xen-internal (#ifdef __XEN__) */
#define EVTCHN_2L_NR_CHANNELS (sizeof(uint64_t) * sizeof(uint64_t) * 64) /* xen_ulong_t: 64 bits on Arm */
#define EVTCHNSTAT_closed      0
#define EVTCHNSTAT_unbound     1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq        3
#define EVTCHNSTAT_virq        4
#define EVTCHNSTAT_ipi         5

#define CSR_STVEC  0x105
#define CSR_SCAUSE 0x142
#define CSR_SEPC   0x141
#define CSR_STVAL  0x143
#define SSTATUS_SIE (1ul << 1)
#define SIP_SEIP (1ul << 9)

typedef uint32_t evtchn_port_t;
struct evtchn_alloc_unbound { uint16_t dom, remote_dom; evtchn_port_t port; };
struct evtchn_bind_interdomain { uint16_t remote_dom; uint16_t _pad; evtchn_port_t remote_port; evtchn_port_t local_port; };
struct evtchn_port_arg { evtchn_port_t port; };
/* Xen's own op structs (public/event_channel.h); evtchn_port_arg above serves close/send/unmask. */
struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; };
struct evtchn_bind_pirq { uint32_t pirq; uint32_t flags; evtchn_port_t port; };
struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; };
struct evtchn_close { evtchn_port_t port; };
struct evtchn_send { evtchn_port_t port; };
struct evtchn_status {
	uint16_t dom;
	evtchn_port_t port;
	uint32_t status; /* EVTCHNSTAT_* */
	uint32_t vcpu;
	union {
		struct { uint16_t dom; } unbound;
		struct { uint16_t dom; evtchn_port_t port; } interdomain;
		uint32_t pirq;
		uint32_t virq;
	} u;
};
struct evtchn_bind_vcpu { evtchn_port_t port; uint32_t vcpu; };
struct evtchn_unmask { evtchn_port_t port; };
struct evtchn_reset { uint16_t dom; };
_Static_assert(sizeof(struct evtchn_alloc_unbound) == 8, "evtchn_alloc_unbound layout");
_Static_assert(sizeof(struct evtchn_bind_interdomain) == 12, "evtchn_bind_interdomain layout");

static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return hypercall6(__HYPERVISOR_event_channel_op, cmd, (long)arg, 0, 0, 0, 0);
}

/* ---- handler table (both ABIs dispatch through it) ------------------------------------------ */

#ifndef XEN_EVTCHN_MAX_PORTS
#define XEN_EVTCHN_MAX_PORTS 64 /* ports with a handler slot (higher ports are acknowledged only) */
#endif
typedef void (*xen_evtchn_handler_t)(evtchn_port_t port, void *arg);
static struct { xen_evtchn_handler_t fn; void *arg; } xen_evtchn_handlers[XEN_EVTCHN_MAX_PORTS];
/* Counts: upcalls taken and events dispatched (programs may print them). */
static volatile uint64_t xen_upcalls, xen_events;

static inline void xen_evtchn_dispatch(evtchn_port_t port)
{
	xen_events++;
	if (port < XEN_EVTCHN_MAX_PORTS && xen_evtchn_handlers[port].fn)
		xen_evtchn_handlers[port].fn(port, xen_evtchn_handlers[port].arg);
}

#include "evtchn_fifo.h"

/* The ABI in use: 0 = 2-level, 1 = FIFO; xen_evtchn_fifo_rc = init_control's result (0 or -errno,
 * 1 before xen_evtchn_init tried). */
static int xen_evtchn_abi_fifo;
static long xen_evtchn_fifo_rc = 1;
static inline int xen_evtchn_fifo(void) { return xen_evtchn_abi_fifo; }
static inline const char *xen_evtchn_abi_name(void) { return xen_evtchn_abi_fifo ? "FIFO" : "2-level"; }

/* A FIFO domain needs an event word for every port it uses: add event-array pages up to `port`. */
static inline long xen_evtchn_fifo_ensure(long port)
{
	if (port <= 0 || !xen_evtchn_abi_fifo) return port;
	long r = xen_evtchn_fifo_expand_to((evtchn_port_t)port);
	return r < 0 ? r : port;
}

/* Returns the new local port (>0) or -errno. */
static inline long xen_evtchn_alloc_unbound(uint16_t remote_dom)
{
	struct evtchn_alloc_unbound op = { DOMID_SELF, remote_dom, 0 };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
	return r < 0 ? r : xen_evtchn_fifo_ensure((long)op.port);
}
static inline long xen_evtchn_bind_interdomain(uint16_t remote_dom, evtchn_port_t remote_port)
{
	struct evtchn_bind_interdomain op = { remote_dom, 0, remote_port, 0 };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
	return r < 0 ? r : xen_evtchn_fifo_ensure((long)op.local_port);
}
/* An IPI port to vCPU `vcpu` of this domain (send on it raises it here). */
static inline long xen_evtchn_bind_ipi(uint32_t vcpu)
{
	struct { uint32_t vcpu; evtchn_port_t port; } op = { vcpu, 0 };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
	return r < 0 ? r : xen_evtchn_fifo_ensure((long)op.port);
}
static inline long xen_evtchn_send(evtchn_port_t port)
{
	struct evtchn_port_arg op = { port };
	return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}
static inline long xen_evtchn_close(evtchn_port_t port)
{
	struct evtchn_port_arg op = { port };
	return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}
/* Masking: the FIFO MASKED bit, or the 2-level mask bitmap. FIFO unmask clears MASKED and, when
 * an event became pending while masked, asks the hypervisor (EVTCHNOP_unmask) to link it; 2-level
 * unmask is always EVTCHNOP_unmask. */
static inline void xen_evtchn_mask(evtchn_port_t port)
{
	if (xen_evtchn_abi_fifo) { xen_evtchn_fifo_mask(port); return; }
	volatile struct shared_info *s = shared_info();
	if (s && port < 64 * 64) __atomic_fetch_or((uint64_t *)&s->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}
static inline long xen_evtchn_unmask(evtchn_port_t port)
{
	if (xen_evtchn_abi_fifo) return xen_evtchn_fifo_unmask(port);
	/* 2-level: the hypervisor test-and-clears the mask bit and raises a pending event (Linux's
	 * do_hypercall path; clearing the bit here first would leave it nothing to do) */
	struct evtchn_port_arg op = { port };
	return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}
static inline int xen_evtchn_is_pending(evtchn_port_t port)
{
	if (xen_evtchn_abi_fifo) return xen_evtchn_fifo_is_pending(port);
	volatile struct shared_info *s = shared_info();
	return s && port < 64 * 64 && ((s->evtchn_pending[port / 64] >> (port % 64)) & 1);
}

/* ---- upcall dispatch ---------------------------------------------------------------------- */

static inline void xen_evtchn_set_handler(evtchn_port_t port, xen_evtchn_handler_t fn, void *arg)
{
	xen_evtchn_fifo_ensure((long)port);
	if (port < XEN_EVTCHN_MAX_PORTS) {
		xen_evtchn_handlers[port].arg = arg;
		xen_evtchn_handlers[port].fn = fn;
	}
}

static inline void xen_irq_disable(void) { csr_clear(CSR_SSTATUS, SSTATUS_SIE); }
static inline void xen_irq_enable(void) { csr_set(CSR_SSTATUS, SSTATUS_SIE); }

/* The upcall: acknowledge evtchn_upcall_pending, then the FIFO queues or the 2-level scan (Xen's
 * evtchn_2l_handle_events, one vCPU). */
static void xen_evtchn_do_upcall(void)
{
	volatile struct shared_info *s = shared_info();
	volatile struct vcpu_info *vi = &s->vcpu_info[0];
	xen_upcalls++;
	vi->evtchn_upcall_pending = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (xen_evtchn_abi_fifo) {
		xen_evtchn_fifo_handle_events();
		return;
	}
	uint64_t sel;
	while ((sel = __atomic_exchange_n((uint64_t *)&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST)) != 0) {
		while (sel) {
			unsigned w = (unsigned)__builtin_ctzll(sel);
			sel &= sel - 1;
			uint64_t bits = s->evtchn_pending[w] & ~s->evtchn_mask[w];
			while (bits) {
				unsigned b = (unsigned)__builtin_ctzll(bits);
				bits &= bits - 1;
				evtchn_port_t port = w * 64 + b;
				__atomic_fetch_and((uint64_t *)&s->evtchn_pending[w], ~(1ull << b), __ATOMIC_SEQ_CST);
				xen_evtchn_dispatch(port);
			}
		}
	}
}

/* The trap vector (direct mode). Interrupt 9 = upcall; anything else is a guest bug: report and
 * crash the domain. */
__attribute__((interrupt("supervisor"), aligned(4), used)) static void xen_trap_entry(void)
{
	uint64_t cause = csr_read(CSR_SCAUSE);
	if (cause == ((1ull << 63) | 9)) {
		xen_evtchn_do_upcall();
		/* The line stays up until the hypervisor looks: stop taking it until xen_wait_until. */
		csr_clear(CSR_SIE, SIE_SEIE);
		return;
	}
	printf("xenlib: unexpected trap scause=%lx sepc=%lx stval=%lx\n", (unsigned long)cause,
	       (unsigned long)csr_read(CSR_SEPC), (unsigned long)csr_read(CSR_STVAL));
	console_flush();
	struct sched_shutdown sd = { SHUTDOWN_crash };
	HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
	for (;;) {}
}

/* Installs the vector and enables the upcall (vCPU 0), after selecting the ABI: FIFO when
 * init_control and the first expand_array succeed, else 2-level. Also stops Xen's default 10 ms
 * periodic timer (as Linux does), so a vCPU blocked waiting for events sleeps until one arrives.
 * Returns -1 bare (no shared_info), or when FIFO was switched on but has no event array. Once. */
static inline int xen_evtchn_init(void)
{
	static int done;
	volatile struct shared_info *s = shared_info();
	if (!s) return -1;
	if (done) return 0;
	done = 1;
#ifndef XEN_EVTCHN_2L_ONLY
	xen_evtchn_fifo_rc = xen_evtchn_fifo_init();
	if (xen_evtchn_fifo_rc < 0 && xen_fifo_link_bits) return -1; /* FIFO on, no event array */
	xen_evtchn_abi_fifo = xen_evtchn_fifo_rc == 0;
#endif
	HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, 0);
	csr_write(CSR_STVEC, (uintptr_t)xen_trap_entry);
	/* Arm layout: no evtchn_upcall_mask; the upcall is unmasked by sie.SEIE + sstatus.SIE */
	csr_set(CSR_SIE, SIE_SEIE);
	xen_irq_enable();
	return 0;
}

/* One line naming the ABI in use (and why, when FIFO was refused). */
static inline void xen_evtchn_print_abi(void)
{
	long rc = xen_evtchn_fifo_rc;
	if (xen_evtchn_abi_fifo)
		printf("event channels: FIFO ABI (control block, %u event-array page%s)\n", xen_fifo_pages, xen_fifo_pages == 1 ? "" : "s");
	else if (rc > 0)
		printf("event channels: 2-level ABI (FIFO not tried)\n");
	else
		printf("event channels: 2-level ABI (init_control -> %s, fell back)\n",
		       rc == -95 ? "-EOPNOTSUPP" : rc == -38 ? "-ENOSYS" : "refused");
}

/* Block until an upcall arrives (interrupts disabled around the check, so none is lost). */
static inline void xen_block_irqoff(void)
{
	csr_set(CSR_SIE, SIE_SEIE);
	HYPERVISOR_sched_op(SCHEDOP_block, 0);
}
/* Waits until `cond` holds, sleeping in SCHEDOP_block between upcalls. `cond` is evaluated with
 * interrupts disabled; handlers run between evaluations. */
#define xen_wait_until(cond)                                 \
	do {                                                 \
		for (;;) {                                   \
			xen_irq_disable();                   \
			if (cond) break;                     \
			xen_block_irqoff();                  \
			xen_irq_enable();                    \
		}                                            \
		xen_irq_enable();                            \
	} while (0)

#endif
