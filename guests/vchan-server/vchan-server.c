/* vchan-server - grants a ring page and offers an event channel to whichever domain writes its
 * domid to /local/domain/<self>/data/vchan/client, then exchanges VCHAN_MSGS checked messages
 * each way (guests/xenlib/vchan.h). Output is domain-independent except the line naming the
 * event-channel ABI (FIFO on a `fifo` host, 2-level where init_control is refused). */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "vchan.h"

#ifndef VCHAN_MSGS
#define VCHAN_MSGS 300
#endif
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES

static struct vchan_page page __attribute__((aligned(4096)));
static volatile uint64_t kicks;
static void on_event(evtchn_port_t port, void *arg) { kicks++; }

static long read_str(const char *path, char *buf, uint32_t cap)
{
	long r = xenbus_read(path, buf, cap);
	if (r < 0) buf[0] = 0;
	return r;
}

int main(void)
{
	char self[16], buf[64], tok[16], path[96];
	if (xenbus_init() < 0) { printf("no xenstore\n"); return 1; }
	xen_evtchn_print_abi();
	if (vchan_check_masked_ipi() < 0) return 1;
	read_str("domid", self, sizeof self);
	const char *everyone_rw[] = { 0 };
	char own_b[16];
	snprintf(own_b, sizeof own_b, "b%s", self);
	everyone_rw[0] = own_b;
	/* rendezvous nodes the client may write */
	xenbus_write("data/vchan/client", "");
	xenbus_set_perms("data/vchan/client", everyone_rw, 1);
	xenbus_watch("data/vchan/client", "client");
	xenbus_watch("data/vchan/state", "state");
	xenbus_write("data/vchan/state", "waiting");
	xenbus_set_perms("data/vchan/state", everyone_rw, 1);
	printf("waiting for a client in data/vchan/client\n");
	while (read_str("data/vchan/client", buf, sizeof buf) <= 0) xenbus_wait_watch(path, sizeof path, tok, sizeof tok);
	long peer = 0;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++) peer = peer * 10 + (*p - '0');
	printf("client is %s\n", peer == 0 ? "dom0" : "a domU");

	/* grant the page, offer a port, publish */
	xen_gnttab_grant(RING_REF, (uint16_t)peer, (uintptr_t)&page >> 12, 0);
	long port = xen_evtchn_alloc_unbound((uint16_t)peer);
	if (port < 0) { printf("alloc_unbound -> %ld\n", port); return 1; }
	xen_evtchn_set_handler((evtchn_port_t)port, on_event, 0);
	char v[16], perm_n[16], perm_r[16];
	snprintf(perm_n, sizeof perm_n, "n%s", self);
	snprintf(perm_r, sizeof perm_r, "r%ld", peer);
	const char *client_reads[] = { perm_n, perm_r };
	snprintf(v, sizeof v, "%u", RING_REF);
	xenbus_write("data/vchan/ring-ref", v);
	xenbus_set_perms("data/vchan/ring-ref", client_reads, 2);
	snprintf(v, sizeof v, "%ld", port);
	xenbus_write("data/vchan/event-channel", v);
	xenbus_set_perms("data/vchan/event-channel", client_reads, 2);
	xenbus_write("data/vchan/state", "ready");
	printf("granted ring ref %u, offered a port, state ready\n", RING_REF);

	struct vchan_tx tx;
	struct vchan_rx rx;
	vchan_stream_init(&tx, &rx, 0);
	uint64_t sends = 0, waits = 0;
	for (;;) {
		uint64_t k = kicks;
		uint32_t moved = vchan_tx_pump(&tx, VCHAN_MSGS, &page.s2c, page.s2c_data);
		moved += vchan_rx_pump(&rx, &page.c2s, page.c2s_data);
		if (moved) { xen_evtchn_send((evtchn_port_t)port); sends++; }
		if (tx.msg == VCHAN_MSGS && rx.msg == VCHAN_MSGS && page.s2c.cons == page.s2c.prod) break;
		if (!moved) { waits++; xen_wait_until(kicks != k); }
	}
	printf("sent %u messages, %u bytes, fnv %08x\n", tx.msg, tx.bytes, tx.fnv);
	printf("received %u messages, %u bytes, fnv %08x, %s\n", rx.msg, rx.bytes, rx.fnv,
	       rx.bad ? "CORRUPT" : "in order and intact");
	while (read_str("data/vchan/state", buf, sizeof buf) < 0 || strcmp(buf, "closed")) xenbus_wait_watch(path, sizeof path, tok, sizeof tok);
	long e = xen_gnttab_end_access(RING_REF);
	printf("client closed; end access to the ring -> %s\n", e == 0 ? "ok" : "busy");
	xen_evtchn_close((evtchn_port_t)port);
	printf("done\n");
	console_flush();
	return rx.bad ? 1 : 0;
}
