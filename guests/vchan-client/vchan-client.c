/* vchan-client - finds a vchan-server through xenstore (a domain whose data/vchan/state reads
 * "waiting"), announces itself, maps the granted ring, binds the offered port and exchanges
 * VCHAN_MSGS checked messages each way (guests/xenlib/vchan.h). */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "vchan.h"

#ifndef VCHAN_MSGS
#define VCHAN_MSGS 300
#endif
#define MAX_DOMID 64

static volatile uint64_t kicks;
static void on_event(evtchn_port_t port, void *arg) { kicks++; }

static long to_long(const char *s)
{
	long v = 0;
	for (; *s >= '0' && *s <= '9'; s++) v = v * 10 + (*s - '0');
	return v;
}

int main(void)
{
	char self[16], buf[64], path[96], tok[16], base[64];
	if (xenbus_init() < 0) { printf("no xenstore\n"); return 1; }
	xen_evtchn_print_abi();
	if (vchan_check_masked_ipi() < 0) return 1;
	xenbus_read("domid", self, sizeof self);
	long me = to_long(self), server = -1;
	for (int round = 0; round < 100000 && server < 0; round++) {
		for (long d = 1; d < MAX_DOMID && server < 0; d++) {
			if (d == me) continue;
			snprintf(path, sizeof path, "/local/domain/%ld/data/vchan/state", d);
			if (xenbus_read(path, buf, sizeof buf) > 0 && !strcmp(buf, "waiting")) server = d;
		}
		if (server < 0) HYPERVISOR_sched_op(SCHEDOP_yield, 0);
	}
	if (server < 0) { printf("no server found\n"); return 1; }
	printf("found a server waiting in xenstore\n");
	snprintf(base, sizeof base, "/local/domain/%ld/data/vchan", server);
	snprintf(path, sizeof path, "%s/state", base);
	xenbus_watch(path, "state");
	snprintf(path, sizeof path, "%s/client", base);
	long r = xenbus_write(path, self);
	printf("announced myself -> %s\n", r < 0 ? xenbus_strerror(r) : "ok");
	snprintf(path, sizeof path, "%s/state", base);
	while (xenbus_read(path, buf, sizeof buf) < 0 || strcmp(buf, "ready")) xenbus_wait_watch(buf, sizeof buf, tok, sizeof tok);
	snprintf(path, sizeof path, "%s/ring-ref", base);
	xenbus_read(path, buf, sizeof buf);
	grant_ref_t ref = (grant_ref_t)to_long(buf);
	snprintf(path, sizeof path, "%s/event-channel", base);
	xenbus_read(path, buf, sizeof buf);
	evtchn_port_t rport = (evtchn_port_t)to_long(buf);

	uint64_t gpa = xen_gnttab_map_window(0);
	grant_handle_t handle = 0;
	long st = xen_gnttab_map((uint16_t)server, ref, gpa, 0, &handle);
	printf("map grant ref %u -> %s\n", ref, st == 0 ? "ok" : "failed");
	if (st) return 1;
	long port = xen_evtchn_bind_interdomain((uint16_t)server, rport);
	printf("bind interdomain -> %s\n", port > 0 ? "ok" : "failed");
	if (port <= 0) return 1;
	xen_evtchn_set_handler((evtchn_port_t)port, on_event, 0);
	snprintf(path, sizeof path, "%s/state", base);
	xenbus_write(path, "connected");

	volatile struct vchan_page *page = (volatile struct vchan_page *)(uintptr_t)gpa;
	struct vchan_tx tx;
	struct vchan_rx rx;
	vchan_stream_init(&tx, &rx, 1);
	xen_evtchn_send((evtchn_port_t)port);
	for (;;) {
		uint64_t k = kicks;
		uint32_t moved = vchan_tx_pump(&tx, VCHAN_MSGS, &page->c2s, page->c2s_data);
		moved += vchan_rx_pump(&rx, &page->s2c, page->s2c_data);
		if (moved) xen_evtchn_send((evtchn_port_t)port);
		if (tx.msg == VCHAN_MSGS && rx.msg == VCHAN_MSGS && page->c2s.cons == page->c2s.prod) break;
		if (!moved) xen_wait_until(kicks != k);
	}
	printf("sent %u messages, %u bytes, fnv %08x\n", tx.msg, tx.bytes, tx.fnv);
	printf("received %u messages, %u bytes, fnv %08x, %s\n", rx.msg, rx.bytes, rx.fnv,
	       rx.bad ? "CORRUPT" : "in order and intact");
	st = xen_gnttab_unmap(gpa, handle);
	xen_evtchn_close((evtchn_port_t)port);
	printf("unmapped the ring -> %s\n", st == 0 ? "ok" : "failed");
	xenbus_write(path, "closed");
	printf("done\n");
	return rx.bad ? 1 : 0;
}
