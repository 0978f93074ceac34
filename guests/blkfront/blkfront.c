/* blkfront - a PV block frontend for Tachyxx's pv-blk backend (packages/pv-blk): walks the XenBus
 * handshake for vbd xvda (guests/xenlib/xenbus_front.h), shares a one-page blkif ring and 11 data
 * pages through grants, then:
 *   - writes a pattern with 11-segment WRITE requests (88 sectors each) at several places, one
 *     WRITE_BARRIER with partial segments, and the disk's last page;
 *   - FLUSH_DISKCACHE (no segments);
 *   - reads everything back into cleared pages and checks it;
 *   - a READ that runs past the end (expects BLKIF_RSP_ERROR) and a DISCARD (not offered: expects
 *     BLKIF_RSP_EOPNOTSUPP);
 * prints a deterministic summary and closes. The byte at disk offset o is pattern(o), so the host
 * can check the image file afterwards. */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "io/ring.h"
#include "io/blkif.h"
#include "xenbus_front.h"

#define XVDA 51712 /* (202 << 8) | (0 << 4): xen-vbd-interface(7) */
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define DATA_REF0 (RING_REF + 1)
#define NPAGES BLKIF_MAX_SEGMENTS_PER_REQUEST
#define NWRITES 6
#define WRITE_STRIDE 200 /* sectors between the starts of the big writes */

static struct blkif_sring sring __attribute__((aligned(4096)));
static uint8_t data[NPAGES][4096] __attribute__((aligned(4096)));
static struct blkif_front_ring front;
static volatile uint64_t kicks;
static evtchn_port_t port;
static uint64_t next_id = 1;
static void on_event(evtchn_port_t p, void *arg) { kicks++; }

static uint8_t pattern(uint64_t off) { return (uint8_t)((off >> 9) * 7 + (off & 511) * 13 + 0x5a); }

static long connect(struct xenbus_front *fe)
{
	long s = xenbus_front_wait(fe, XenbusStateInitWait);
	if (s < 0) { printf("backend not in InitWait (%ld)\n", s); return -1; }
	XEN_FRONT_RING_INIT(&front, &sring, 4096);
	xen_gnttab_grant(RING_REF, fe->backend_id, (uintptr_t)&sring >> 12, 0);
	for (unsigned i = 0; i < NPAGES; i++) xen_gnttab_grant(DATA_REF0 + i, fe->backend_id, (uintptr_t)data[i] >> 12, 0);
	long p = xen_evtchn_alloc_unbound(fe->backend_id);
	if (p < 0) { printf("alloc_unbound -> %ld\n", p); return -1; }
	port = (evtchn_port_t)p;
	xen_evtchn_set_handler(port, on_event, 0);
	xenbus_front_write_ulong(fe, "ring-ref", RING_REF);
	xenbus_front_write_ulong(fe, "event-channel", port);
	xenbus_front_write(fe, "protocol", "arm-abi");
	xenbus_front_switch(fe, XenbusStateInitialised);
	s = xenbus_front_wait(fe, XenbusStateConnected);
	if (s < 0) { printf("backend did not connect (%ld)\n", s); return -1; }
	xenbus_front_switch(fe, XenbusStateConnected);
	printf("connected: ring of %u entries\n", RING_SIZE(&front));
	return 0;
}

/* One request, waited for: `nseg` segments over data pages 0.., each [first, last]. Returns the
 * response status, or -100 on a protocol error (wrong id/op, bogus rsp_prod). */
static long io(uint8_t op, uint64_t sector, unsigned nseg, uint8_t first, uint8_t last)
{
	struct blkif_request *rq = RING_GET_REQUEST(&front, front.req_prod_pvt++);
	uint64_t id = next_id++;
	rq->operation = op;
	rq->nr_segments = (uint8_t)nseg;
	rq->handle = 0;
	rq->id = id;
	rq->sector_number = sector;
	for (unsigned i = 0; i < nseg; i++) {
		rq->seg[i].gref = DATA_REF0 + i;
		rq->seg[i].first_sect = first;
		rq->seg[i].last_sect = last;
	}
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
	if (notify) xen_evtchn_send(port);
	for (;;) {
		uint64_t k = kicks;
		RING_IDX prod = front.sring->rsp_prod;
		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&front, prod)) { printf("bogus rsp_prod from the backend\n"); return -100; }
		if (front.rsp_cons != prod) {
			struct blkif_response r;
			RING_COPY_RESPONSE(&front, front.rsp_cons, &r);
			front.rsp_cons++;
			int more;
			RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
			(void)more;
			if (r.id != id || r.operation != op) { printf("response id %lu op %u, wanted %lu op %u\n", (unsigned long)r.id, r.operation, (unsigned long)id, op); return -100; }
			return r.status;
		}
		int more;
		RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
		if (!more) xen_wait_until(kicks != k || front.sring->rsp_prod != front.rsp_cons);
	}
}

/* Fills pages 0..nseg-1 so that segment i [first,last] holds the pattern of its disk sectors. */
static void fill(uint64_t sector, unsigned nseg, uint8_t first, uint8_t last)
{
	uint64_t off = sector * 512;
	for (unsigned i = 0; i < nseg; i++)
		for (unsigned b = first * 512u; b < (last + 1u) * 512u; b++) data[i][b] = pattern(off++);
}

/* Counts bytes of pages 0..nseg-1 [first,last] that do not hold the pattern of their sectors. */
static unsigned long check(uint64_t sector, unsigned nseg, uint8_t first, uint8_t last)
{
	unsigned long bad = 0;
	uint64_t off = sector * 512;
	for (unsigned i = 0; i < nseg; i++)
		for (unsigned b = first * 512u; b < (last + 1u) * 512u; b++) bad += data[i][b] != pattern(off++);
	return bad;
}

static void clear(void)
{
	for (unsigned i = 0; i < NPAGES; i++)
		for (unsigned b = 0; b < 4096; b++) data[i][b] = 0xee;
}

int main(void)
{
	struct xenbus_front fe;
	char buf[32];
	if (xenbus_init() < 0) { printf("no xenstore\n"); return 1; }
	long r = xenbus_front_open(&fe, "vbd", XVDA);
	if (r < 0) { printf("no vbd xvda (%s)\n", xenbus_strerror(r)); return 1; }
	if (connect(&fe) < 0) return 1;
	char path[128];
	snprintf(path, sizeof path, "%s/sectors", fe.backend);
	if (xenbus_read(path, buf, sizeof buf) < 0) { printf("no sectors\n"); return 1; }
	long sectors = xf_to_long(buf);
	snprintf(path, sizeof path, "%s/feature-flush-cache", fe.backend);
	long flush = xenbus_read(path, buf, sizeof buf) < 0 ? 0 : xf_to_long(buf);
	printf("xvda: %ld sectors of 512 bytes, flush %ld\n", sectors, flush);
	if (sectors < NWRITES * WRITE_STRIDE + 16 || flush != 1) { printf("blkfront: FAIL disk too small or no flush\n"); return 1; }

	long fails = 0, written = 0;
	/* Big writes: 11 full pages, 88 sectors each. */
	for (unsigned w = 0; w < NWRITES; w++) {
		uint64_t s = (uint64_t)w * WRITE_STRIDE;
		fill(s, NPAGES, 0, 7);
		long st = io(BLKIF_OP_WRITE, s, NPAGES, 0, 7);
		if (st != BLKIF_RSP_OKAY) { printf("write at %lu -> %ld\n", (unsigned long)s, st); fails++; }
		written += NPAGES * 8;
	}
	/* A barrier with partial segments: sectors 1..6 of 3 pages, 18 sectors at 100. */
	fill(100, 3, 1, 6);
	long st = io(BLKIF_OP_WRITE_BARRIER, 100, 3, 1, 6);
	if (st != BLKIF_RSP_OKAY) { printf("barrier -> %ld\n", st); fails++; }
	written += 18;
	/* The disk's last page. */
	fill((uint64_t)sectors - 8, 1, 0, 7);
	st = io(BLKIF_OP_WRITE, (uint64_t)sectors - 8, 1, 0, 7);
	if (st != BLKIF_RSP_OKAY) { printf("last page -> %ld\n", st); fails++; }
	written += 8;
	st = io(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0);
	printf("wrote %ld sectors; flush -> %ld\n", written, st);
	if (st != BLKIF_RSP_OKAY) fails++;

	/* Read back. */
	unsigned long bad = 0;
	for (unsigned w = 0; w < NWRITES; w++) {
		uint64_t s = (uint64_t)w * WRITE_STRIDE;
		clear();
		st = io(BLKIF_OP_READ, s, NPAGES, 0, 7);
		if (st != BLKIF_RSP_OKAY) { printf("read at %lu -> %ld\n", (unsigned long)s, st); fails++; }
		bad += check(s, NPAGES, 0, 7);
	}
	clear();
	st = io(BLKIF_OP_READ, 100, 3, 1, 6);
	if (st != BLKIF_RSP_OKAY) fails++;
	bad += check(100, 3, 1, 6);
	clear();
	st = io(BLKIF_OP_READ, (uint64_t)sectors - 8, 1, 0, 7);
	if (st != BLKIF_RSP_OKAY) fails++;
	bad += check((uint64_t)sectors - 8, 1, 0, 7);
	printf("read back: %lu bad bytes\n", bad);

	long past = io(BLKIF_OP_READ, (uint64_t)sectors - 4, 1, 0, 7);
	printf("read past the end -> %ld\n", past);
	long disc = io(BLKIF_OP_DISCARD, 0, 0, 0, 0);
	printf("discard -> %ld\n", disc);

	r = xenbus_front_close(&fe);
	xen_evtchn_close(port);
	long ended = 0;
	for (unsigned i = 0; i < NPAGES; i++) ended |= xen_gnttab_end_access(DATA_REF0 + i);
	ended |= xen_gnttab_end_access(RING_REF);
	printf("closed (%s); grants ended -> %s\n", r < 0 ? "error" : "ok", ended == 0 ? "ok" : "still in use");
	int ok = fails == 0 && bad == 0 && past == BLKIF_RSP_ERROR && disc == BLKIF_RSP_EOPNOTSUPP && r >= 0 && ended == 0;
	printf("%s\n", ok ? "blkfront: PASS" : "blkfront: FAIL");
	return ok ? 0 : 1;
}
