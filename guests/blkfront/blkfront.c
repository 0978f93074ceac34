/* blkfront - a PV block frontend for Tachyxx's pv-blk backend (packages/pv-blk): walks the XenBus
 * handshake for vbd xvda (guests/xenlib/xenbus_front.h), shares a one-page blkif ring and 11 data
 * pages through grants, then:
 *   - writes a pattern with 11-segment WRITE requests (88 sectors each) at several places, one
 *     WRITE_BARRIER with partial segments, and the disk's last page;
 *   - FLUSH_DISKCACHE (no segments);
 *   - reads everything back into cleared pages and checks it;
 *   - a READ that runs past the end (expects BLKIF_RSP_ERROR);
 *   - with feature-max-indirect-segments >= 32: a 32-segment INDIRECT WRITE (256 sectors at 1200)
 *     through one indirect page, read back by an INDIRECT READ;
 *   - with feature-discard: 16 sectors written at 2000, DISCARDed, read back as zeros (the file's
 *     hole); a secure discard (not offered) gets BLKIF_RSP_EOPNOTSUPP; without it, a DISCARD gets
 *     BLKIF_RSP_EOPNOTSUPP;
 *   - it asks for feature-persistent (its data pages stay granted for the whole connection);
 * prints a deterministic summary and closes. The byte at disk offset o is pattern(o) where it
 * wrote (zeros where it discarded), so the host can check the image file afterwards. */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "io/ring.h"
#include "io/blkif.h"
#include "xenbus_front.h"

#define XVDA 51712 /* (202 << 8) | (0 << 4): xen-vbd-interface(7) */
#define RING_ORDER 2 /* a 4-page ring (128 slots) when the backend offers max-ring-page-order >= 2 */
#define RING_PAGES (1u << RING_ORDER)
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES /* RING_REF + i: page i */
#define DATA_REF0 (RING_REF + RING_PAGES)
#define NPAGES 32 /* data pages: 11 for a direct request, 32 for an indirect one */
#define IND_REF (DATA_REF0 + NPAGES)
#define NSEG BLKIF_MAX_SEGMENTS_PER_REQUEST
#define IND_SECTOR 1200
#define DISCARD_SECTOR 2000
#define MIN_SECTORS 2100
#define NWRITES 6
#define WRITE_STRIDE 200 /* sectors between the starts of the big writes */

static union { struct blkif_sring s; uint8_t pages[RING_PAGES][4096]; } ring_mem __attribute__((aligned(4096)));
static unsigned ring_pages = 1;
static uint8_t data[NPAGES][4096] __attribute__((aligned(4096)));
static struct blkif_request_segment ind[SEGS_PER_INDIRECT_FRAME] __attribute__((aligned(4096)));
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
	/* blkfront's talk_to_blkback: a multi-page ring when the backend offers one. */
	char path[128], buf[16];
	snprintf(path, sizeof path, "%s/max-ring-page-order", fe->backend);
	long max_order = xenbus_read(path, buf, sizeof buf) < 0 ? 0 : xf_to_long(buf);
	ring_pages = max_order >= RING_ORDER ? RING_PAGES : 1;
	XEN_FRONT_RING_INIT(&front, &ring_mem.s, 4096 * ring_pages);
	for (unsigned i = 0; i < ring_pages; i++) xen_gnttab_grant(RING_REF + i, fe->backend_id, ((uintptr_t)ring_mem.pages[i]) >> 12, 0);
	for (unsigned i = 0; i < NPAGES; i++) xen_gnttab_grant(DATA_REF0 + i, fe->backend_id, (uintptr_t)data[i] >> 12, 0);
	xen_gnttab_grant(IND_REF, fe->backend_id, (uintptr_t)ind >> 12, 1); /* the backend only reads it */
	long p = xen_evtchn_alloc_unbound(fe->backend_id);
	if (p < 0) { printf("alloc_unbound -> %ld\n", p); return -1; }
	port = (evtchn_port_t)p;
	xen_evtchn_set_handler(port, on_event, 0);
	if (ring_pages == 1) xenbus_front_write_ulong(fe, "ring-ref", RING_REF);
	else {
		xenbus_front_write_ulong(fe, "ring-page-order", RING_ORDER);
		for (unsigned i = 0; i < ring_pages; i++) {
			char key[16];
			snprintf(key, sizeof key, "ring-ref%u", i);
			xenbus_front_write_ulong(fe, key, RING_REF + i);
		}
	}
	xenbus_front_write_ulong(fe, "event-channel", port);
	xenbus_front_write(fe, "protocol", "arm-abi");
	/* Persistent grants: the data pages stay granted (read-write) until the device closes. */
	xenbus_front_write(fe, "feature-persistent", "1");
	xenbus_front_switch(fe, XenbusStateInitialised);
	s = xenbus_front_wait(fe, XenbusStateConnected);
	if (s < 0) { printf("backend did not connect (%ld)\n", s); return -1; }
	xenbus_front_switch(fe, XenbusStateConnected);
	printf("connected: ring of %u pages, %u entries\n", ring_pages, RING_SIZE(&front));
	return 0;
}

/* Publishes the request at req_prod_pvt - 1 and waits for its response. Returns the status, or
 * -100 on a protocol error (wrong id/op, bogus rsp_prod). */
static long push_and_wait(uint64_t id, uint8_t rsp_op)
{
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
			if (r.id != id || r.operation != rsp_op) { printf("response id %lu op %u, wanted %lu op %u\n", (unsigned long)r.id, r.operation, (unsigned long)id, rsp_op); return -100; }
			return r.status;
		}
		int more;
		RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
		if (!more) xen_wait_until(kicks != k || front.sring->rsp_prod != front.rsp_cons);
	}
}

/* One request, waited for: `nseg` segments over data pages 0.., each [first, last]. */
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
	return push_and_wait(id, op);
}

/* An INDIRECT READ/WRITE of `nseg` full data pages, its segments in the indirect page. */
static long io_indirect(uint8_t op, uint64_t sector, unsigned nseg)
{
	for (unsigned i = 0; i < nseg; i++) { ind[i].gref = DATA_REF0 + i; ind[i].first_sect = 0; ind[i].last_sect = 7; }
	xen_wmb();
	struct blkif_request_indirect *rq = (struct blkif_request_indirect *)RING_GET_REQUEST(&front, front.req_prod_pvt++);
	uint64_t id = next_id++;
	rq->operation = BLKIF_OP_INDIRECT;
	rq->indirect_op = op;
	rq->nr_segments = (uint16_t)nseg;
	rq->id = id;
	rq->sector_number = sector;
	rq->handle = 0;
	for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) rq->indirect_grefs[i] = 0;
	rq->indirect_grefs[0] = IND_REF;
	return push_and_wait(id, op); /* Linux answers with the indirect_op */
}

static long io_discard(uint64_t sector, uint64_t nr, uint8_t flag)
{
	struct blkif_request_discard *rq = (struct blkif_request_discard *)RING_GET_REQUEST(&front, front.req_prod_pvt++);
	uint64_t id = next_id++;
	rq->operation = BLKIF_OP_DISCARD;
	rq->flag = flag;
	rq->handle = 0;
	rq->id = id;
	rq->sector_number = sector;
	rq->nr_sectors = nr;
	return push_and_wait(id, BLKIF_OP_DISCARD);
}

static long backend_ulong(struct xenbus_front *fe, const char *key)
{
	char path[128], buf[32];
	snprintf(path, sizeof path, "%s/%s", fe->backend, key);
	return xenbus_read(path, buf, sizeof buf) < 0 ? 0 : xf_to_long(buf);
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
	if (sectors < MIN_SECTORS || flush != 1) { printf("blkfront: FAIL disk too small or no flush\n"); return 1; }
	long max_ind = backend_ulong(&fe, "feature-max-indirect-segments");
	long discard = backend_ulong(&fe, "feature-discard");
	printf("features: indirect %ld, persistent %ld, discard %ld\n", max_ind, backend_ulong(&fe, "feature-persistent"), discard);

	long fails = 0, written = 0;
	/* Big writes: 11 full pages, 88 sectors each. */
	for (unsigned w = 0; w < NWRITES; w++) {
		uint64_t s = (uint64_t)w * WRITE_STRIDE;
		fill(s, NSEG, 0, 7);
		long st = io(BLKIF_OP_WRITE, s, NSEG, 0, 7);
		if (st != BLKIF_RSP_OKAY) { printf("write at %lu -> %ld\n", (unsigned long)s, st); fails++; }
		written += NSEG * 8;
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
		st = io(BLKIF_OP_READ, s, NSEG, 0, 7);
		if (st != BLKIF_RSP_OKAY) { printf("read at %lu -> %ld\n", (unsigned long)s, st); fails++; }
		bad += check(s, NSEG, 0, 7);
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

	/* Round the ring more than once: slots that straddle two ring pages, and the index wrap. */
	unsigned long laps_bad = 0;
	long laps_fail = 0;
	for (unsigned i = 0; i < 2 * RING_SIZE(&front) + 3; i++) {
		clear();
		uint64_t s = (uint64_t)(i % NWRITES) * WRITE_STRIDE;
		if (io(BLKIF_OP_READ, s, 1, 0, 0) != BLKIF_RSP_OKAY) laps_fail++;
		laps_bad += check(s, 1, 0, 0);
	}
	printf("%u requests round the ring: %ld failed, %lu bad bytes\n", 2 * RING_SIZE(&front) + 3, laps_fail, laps_bad);
	fails += laps_fail;
	bad += laps_bad;

	long past = io(BLKIF_OP_READ, (uint64_t)sectors - 4, 1, 0, 7);
	printf("read past the end -> %ld\n", past);
	int ind_ok = 1, disc_ok = 1;
	if (max_ind >= NPAGES) {
		fill(IND_SECTOR, NPAGES, 0, 7);
		long w = io_indirect(BLKIF_OP_WRITE, IND_SECTOR, NPAGES);
		clear();
		long rd = io_indirect(BLKIF_OP_READ, IND_SECTOR, NPAGES);
		unsigned long ib = check(IND_SECTOR, NPAGES, 0, 7);
		printf("indirect: write %d segments -> %ld, read -> %ld, %lu bad bytes\n", NPAGES, w, rd, ib);
		ind_ok = w == BLKIF_RSP_OKAY && rd == BLKIF_RSP_OKAY && ib == 0;
	}
	if (discard == 1) {
		fill(DISCARD_SECTOR, 2, 0, 7);
		long w = io(BLKIF_OP_WRITE, DISCARD_SECTOR, 2, 0, 7);
		long d = io_discard(DISCARD_SECTOR, 16, 0);
		long sec = io_discard(DISCARD_SECTOR, 16, BLKIF_DISCARD_SECURE);
		clear();
		long rd = io(BLKIF_OP_READ, DISCARD_SECTOR, 2, 0, 7);
		unsigned long nz = 0;
		for (unsigned i = 0; i < 2; i++) for (unsigned b = 0; b < 4096; b++) nz += data[i][b] != 0;
		printf("discard -> %ld (secure -> %ld), then %lu non-zero bytes\n", d, sec, nz);
		disc_ok = w == BLKIF_RSP_OKAY && d == BLKIF_RSP_OKAY && sec == BLKIF_RSP_EOPNOTSUPP && rd == BLKIF_RSP_OKAY && nz == 0;
	} else {
		long d = io_discard(0, 8, 0);
		printf("discard -> %ld\n", d);
		disc_ok = d == BLKIF_RSP_EOPNOTSUPP;
	}

	r = xenbus_front_close(&fe);
	xen_evtchn_close(port);
	long ended = 0;
	for (unsigned i = 0; i < NPAGES; i++) ended |= xen_gnttab_end_access(DATA_REF0 + i);
	ended |= xen_gnttab_end_access(IND_REF);
	for (unsigned i = 0; i < ring_pages; i++) ended |= xen_gnttab_end_access(RING_REF + i);
	printf("closed (%s); grants ended -> %s\n", r < 0 ? "error" : "ok", ended == 0 ? "ok" : "still in use");
	int ok = fails == 0 && bad == 0 && past == BLKIF_RSP_ERROR && ind_ok && disc_ok && r >= 0 && ended == 0;
	printf("%s\n", ok ? "blkfront: PASS" : "blkfront: FAIL");
	return ok ? 0 : 1;
}
