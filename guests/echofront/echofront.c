/* echofront - a PV frontend for Tachyxx's xenbus `echo` test device (packages/xenbus): walks the
 * XenBus handshake with the dom0 backend (guests/xenlib/xenbus_front.h), shares a one-page echo
 * ring through a grant, streams ECHO_ROUNDS x ECHO_BATCH checked requests, checks that a bad op
 * gets -EINVAL, closes, re-initialises and connects a second time, then closes for good and ends
 * its grant (which only succeeds when the backend unmapped the ring). */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "io/ring.h"
#include "io/echo.h"
#include "xenbus_front.h"

#ifndef ECHO_ROUNDS
#define ECHO_ROUNDS 40
#endif
#define ECHO_BATCH 50
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES

static struct echo_sring sring __attribute__((aligned(4096)));
static struct echo_front_ring front;
static volatile uint64_t kicks;
static evtchn_port_t port;
static void on_event(evtchn_port_t p, void *arg) { kicks++; }

static uint32_t value_of(uint64_t id) { return (uint32_t)(id * 2654435761u); }

/* Grants the ring, offers a port, publishes them, waits for Connected (Linux's talk_to_backend). */
static long connect(struct xenbus_front *fe)
{
	long s = xenbus_front_wait(fe, XenbusStateInitWait);
	if (s < 0) { printf("backend not in InitWait (%ld)\n", s); return -1; }
	XEN_FRONT_RING_INIT(&front, &sring, 4096);
	xen_gnttab_grant(RING_REF, fe->backend_id, (uintptr_t)&sring >> 12, 0);
	long p = xen_evtchn_alloc_unbound(fe->backend_id);
	if (p < 0) { printf("alloc_unbound -> %ld\n", p); return -1; }
	port = (evtchn_port_t)p;
	xen_evtchn_set_handler(port, on_event, 0);
	xenbus_front_write_ulong(fe, "ring-ref", RING_REF);
	xenbus_front_write_ulong(fe, "event-channel", port);
	xenbus_front_switch(fe, XenbusStateInitialised);
	s = xenbus_front_wait(fe, XenbusStateConnected);
	if (s < 0) { printf("backend did not connect (%ld)\n", s); return -1; }
	xenbus_front_switch(fe, XenbusStateConnected);
	printf("connected: ring of %u entries\n", RING_SIZE(&front));
	return 0;
}

/* Sends n requests of `op` from id `first`, waits for all n answers; returns how many were right. */
static long exchange(uint64_t first, unsigned n, uint32_t op, int32_t want_status)
{
	unsigned sent = 0, got = 0, good = 0;
	while (got < n) {
		uint64_t k = kicks;
		while (sent < n && !RING_FULL(&front)) {
			struct echo_request *rq = RING_GET_REQUEST(&front, front.req_prod_pvt++);
			rq->id = first + sent;
			rq->op = op;
			rq->value = value_of(first + sent);
			sent++;
		}
		int notify;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
		if (notify) xen_evtchn_send(port);
		int more;
		do {
			RING_IDX prod = front.sring->rsp_prod;
			xen_rmb();
			if (RING_RESPONSE_PROD_OVERFLOW(&front, prod)) { printf("bogus rsp_prod from the backend\n"); return -1; }
			for (; front.rsp_cons != prod; front.rsp_cons++, got++) {
				struct echo_response r;
				RING_COPY_RESPONSE(&front, front.rsp_cons, &r);
				uint32_t want = want_status ? 0 : ~value_of(r.id);
				if (r.id == first + got && r.status == want_status && r.value == want) good++;
			}
			RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
		} while (more);
		if (got < n && sent == got) continue;
		if (got < n) xen_wait_until(kicks != k || front.sring->rsp_prod != front.rsp_cons);
	}
	return good;
}

static long finish(struct xenbus_front *fe)
{
	long r = xenbus_front_close(fe);
	xen_evtchn_close(port);
	int s = xenbus_front_backend_state(fe);
	long e = xen_gnttab_end_access(RING_REF);
	printf("closed (%s); backend %s; grant ended -> %s\n", r < 0 ? "error" : "ok",
	       s == XenbusStateClosed ? "Closed" : "not Closed", e == 0 ? "ok" : "still mapped");
	return r < 0 || s != XenbusStateClosed || e != 0 ? -1 : 0;
}

int main(void)
{
	struct xenbus_front fe;
	if (xenbus_init() < 0) { printf("no xenstore\n"); return 1; }
	long r = xenbus_front_open(&fe, "echo", 0);
	if (r < 0) { printf("no echo device (%s)\n", xenbus_strerror(r)); return 1; }
	printf("echo device: backend in domain %u\n", fe.backend_id);
	if (connect(&fe) < 0) return 1;
	long good = 0;
	for (unsigned i = 0; i < ECHO_ROUNDS; i++) {
		long g = exchange((uint64_t)i * ECHO_BATCH, ECHO_BATCH, ECHO_OP_ECHO, 0);
		if (g < 0) return 1;
		good += g;
	}
	printf("echo: %ld of %u answers right\n", good, ECHO_ROUNDS * ECHO_BATCH);
	long bad = exchange(1000000, 3, 99, -22);
	printf("unknown op: %ld of 3 answered -EINVAL\n", bad);
	if (finish(&fe) < 0) return 1;

	/* Re-initialise: the backend goes back to InitWait and serves a fresh ring. */
	xenbus_front_switch(&fe, XenbusStateInitialising);
	if (connect(&fe) < 0) return 1;
	long again = exchange(0, ECHO_BATCH, ECHO_OP_ECHO, 0);
	printf("after reconnect: %ld of %u answers right\n", again, ECHO_BATCH);
	if (finish(&fe) < 0) return 1;
	int ok = good == ECHO_ROUNDS * ECHO_BATCH && bad == 3 && again == ECHO_BATCH;
	printf("%s\n", ok ? "echofront: PASS" : "echofront: FAIL");
	return ok ? 0 : 1;
}
