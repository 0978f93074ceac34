/* console.h - the PV console ring from a domU (Xen's public/io/console.h, hvc_xen's side):
 * start_info.console.domU.mfn is the ring page's guest frame number on Tachyxx (as store_mfn),
 * .evtchn the port to xenconsoled. `in` carries input (dom0 produces), `out` output (we produce).
 *
 *     xen_console_init();                        // 0, or -1 without a ring (bare, or no console)
 *     xen_console_write(buf, n);                 // blocks while `out` is full
 *     n = xen_console_read(buf, max);            // blocks until at least one byte arrived
 *
 * Uses evtchn.h (xen_wait_until). Include from a single .c file (static state). */
#ifndef TACHYXX_XENLIB_CONSOLE_H
#define TACHYXX_XENLIB_CONSOLE_H
#include "evtchn.h"

#include "io/console.h"
_Static_assert(__builtin_offsetof(struct xencons_interface, out_prod) == 3084, "xencons_interface layout");

static volatile struct xencons_interface *xc_intf;
static evtchn_port_t xc_port;
static volatile uint64_t xc_kicks;

static void xc_handler(evtchn_port_t port, void *arg) { xc_kicks++; }

static inline int xen_console_init(void)
{
	if (!boot_start_info || !boot_start_info->console_mfn || !boot_start_info->console_evtchn) return -1;
	if (!(csr_read(CSR_SIE) & SIE_SEIE) && xen_evtchn_init() < 0) return -1;
	xc_intf = (volatile struct xencons_interface *)(uintptr_t)(boot_start_info->console_mfn << 12);
	xc_port = boot_start_info->console_evtchn;
	xen_evtchn_set_handler(xc_port, xc_handler, 0);
	return 0;
}

static inline evtchn_port_t xen_console_port(void) { return xc_port; }

/* Writes all n bytes (waits for room). Returns n. */
static inline long xen_console_write(const void *data, uint32_t n)
{
	const char *p = data;
	uint32_t left = n;
	while (left) {
		xen_wait_until((uint32_t)(xc_intf->out_prod - xc_intf->out_cons) < sizeof(xc_intf->out));
		XENCONS_RING_IDX prod = xc_intf->out_prod;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		uint32_t sent = 0;
		while (left && (uint32_t)(prod - xc_intf->out_cons) < sizeof(xc_intf->out)) {
			xc_intf->out[MASK_XENCONS_IDX(prod, xc_intf->out)] = *p++;
			prod++;
			left--;
			sent++;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		xc_intf->out_prod = prod;
		if (sent) xen_evtchn_send(xc_port);
	}
	return (long)n;
}

/* Reads up to max bytes (at least one: waits for input). Returns the count. */
static inline long xen_console_read(void *dst, uint32_t max)
{
	char *p = dst;
	if (!max) return 0;
	xen_wait_until(xc_intf->in_prod != xc_intf->in_cons);
	XENCONS_RING_IDX cons = xc_intf->in_cons, prod = xc_intf->in_prod;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t got = 0;
	while (got < max && cons != prod) {
		p[got++] = xc_intf->in[MASK_XENCONS_IDX(cons, xc_intf->in)];
		cons++;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	xc_intf->in_cons = cons;
	xen_evtchn_send(xc_port);
	return (long)got;
}

/* Reads one line into buf, NUL-terminated, and returns its length. A line ends at '\n', '\r' (a
 * raw terminal's Enter) or "\r\n" (not part of the line). Longer lines are cut at max - 1 bytes
 * (the rest comes as the next line). */
static inline long xen_console_readline(char *buf, uint32_t max)
{
	static char xc_buf[256];
	static uint32_t xc_have, xc_pos;
	static int xc_after_cr;
	uint32_t n = 0;
	while (n + 1 < max) {
		if (xc_pos == xc_have) {
			xc_have = (uint32_t)xen_console_read(xc_buf, sizeof xc_buf);
			xc_pos = 0;
		}
		char c = xc_buf[xc_pos++];
		int after_cr = xc_after_cr;
		xc_after_cr = c == '\r';
		if (c == '\n' && after_cr && n == 0) continue; /* the '\n' of "\r\n" */
		if (c == '\n' || c == '\r') break;
		buf[n++] = c;
	}
	buf[n] = 0;
	return (long)n;
}
#endif
