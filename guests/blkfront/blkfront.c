/* blkfront - a PV block frontend for Tachyxx's pv-blk backend (packages/pv-blk): walks the XenBus
 * handshake for vbd xvda through xenlib's blkfront.h (the ring, handshake and request code the
 * other block guests use), shares a blkif ring (4 pages when the backend offers
 * max-ring-page-order >= 2, as many as it offers below that) and 32 data pages through grants, then:
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
#include "blkfront.h"

#define XVDA 51712 /* (202 << 8) | (0 << 4): xen-vbd-interface(7) */
#define RING_PAGES 4 /* at most a 4-page ring (128 slots), up to the backend's max-ring-page-order */
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
static uint8_t data[NPAGES][4096] __attribute__((aligned(4096)));
static struct blkif_request_segment ind[SEGS_PER_INDIRECT_FRAME] __attribute__((aligned(4096)));
static struct blkfront vbd;

static uint8_t pattern(uint64_t off) { return (uint8_t)((off >> 9) * 7 + (off & 511) * 13 + 0x5a); }

/* One request, waited for: `nseg` segments over data pages 0.., each [first, last]. Returns the
 * status, or -100 on a protocol error (wrong id/op, bogus rsp_prod). */
static long io(uint8_t op, uint64_t sector, unsigned nseg, uint8_t first, uint8_t last)
{
	struct blkif_request_segment seg[NSEG];
	for (unsigned i = 0; i < nseg; i++) {
		seg[i].gref = DATA_REF0 + i;
		seg[i].first_sect = first;
		seg[i].last_sect = last;
	}
	return blkfront_rw(&vbd, op, sector, nseg, seg);
}

/* An INDIRECT READ/WRITE of `nseg` full data pages, its segments in the indirect page. */
static long io_indirect(uint8_t op, uint64_t sector, unsigned nseg)
{
	for (unsigned i = 0; i < nseg; i++) { ind[i].gref = DATA_REF0 + i; ind[i].first_sect = 0; ind[i].last_sect = 7; }
	xen_wmb();
	grant_ref_t ir = IND_REF;
	uint64_t id = blkfront_queue_indirect(&vbd, op, sector, nseg, &ir, 1);
	blkfront_push(&vbd);
	return blkfront_wait_one(&vbd, id, op); /* Linux answers with the indirect_op */
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
	if (xenbus_init() < 0) { printf("no xenstore\n"); return 1; }
	if (blkfront_open(&vbd, XVDA, &ring_mem, RING_PAGES, RING_REF) < 0) return 1;
	/* Persistent grants: the data pages stay granted (read-write) until the device closes. */
	for (unsigned i = 0; i < NPAGES; i++) xen_gnttab_grant(DATA_REF0 + i, vbd.fe.backend_id, (uintptr_t)data[i] >> 12, 0);
	xen_gnttab_grant(IND_REF, vbd.fe.backend_id, (uintptr_t)ind >> 12, 1); /* the backend only reads it */
	printf("connected: ring of %u pages, %u entries\n", vbd.ring_pages, RING_SIZE(&vbd.ring));
	if (vbd.sectors == 0) { printf("no sectors\n"); return 1; }
	long sectors = (long)vbd.sectors;
	printf("xvda: %ld sectors of 512 bytes, flush %ld\n", sectors, vbd.flush);
	if (sectors < MIN_SECTORS || vbd.flush != 1) { printf("blkfront: FAIL disk too small or no flush\n"); return 1; }
	long max_ind = vbd.max_indirect;
	long discard = vbd.discard;
	printf("features: indirect %ld, persistent %ld, discard %ld\n", max_ind, vbd.persistent, discard);

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
	st = blkfront_flush(&vbd);
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
	for (unsigned i = 0; i < 2 * RING_SIZE(&vbd.ring) + 3; i++) {
		clear();
		uint64_t s = (uint64_t)(i % NWRITES) * WRITE_STRIDE;
		if (io(BLKIF_OP_READ, s, 1, 0, 0) != BLKIF_RSP_OKAY) laps_fail++;
		laps_bad += check(s, 1, 0, 0);
	}
	printf("%u requests round the ring: %ld failed, %lu bad bytes\n", 2 * RING_SIZE(&vbd.ring) + 3, laps_fail, laps_bad);
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
		long d = blkfront_discard(&vbd, DISCARD_SECTOR, 16, 0);
		long sec = blkfront_discard(&vbd, DISCARD_SECTOR, 16, BLKIF_DISCARD_SECURE);
		clear();
		long rd = io(BLKIF_OP_READ, DISCARD_SECTOR, 2, 0, 7);
		unsigned long nz = 0;
		for (unsigned i = 0; i < 2; i++) for (unsigned b = 0; b < 4096; b++) nz += data[i][b] != 0;
		printf("discard -> %ld (secure -> %ld), then %lu non-zero bytes\n", d, sec, nz);
		disc_ok = w == BLKIF_RSP_OKAY && d == BLKIF_RSP_OKAY && sec == BLKIF_RSP_EOPNOTSUPP && rd == BLKIF_RSP_OKAY && nz == 0;
	} else {
		long d = blkfront_discard(&vbd, 0, 8, 0);
		printf("discard -> %ld\n", d);
		disc_ok = d == BLKIF_RSP_EOPNOTSUPP;
	}

	/* blkfront_close: Closing/Closed, the event channel, the ring's grants (< 0: a xenstore error,
	 * or -1 for a ring grant still mapped); then the data pages'. Ending a ring grant again tells
	 * which: 0 once ended, -16 while the backend still has it mapped. */
	long c = blkfront_close(&vbd);
	long ring_ended = 0, ended = 0;
	for (unsigned i = 0; i < vbd.ring_pages; i++) ring_ended |= xen_gnttab_end_access(RING_REF + i);
	for (unsigned i = 0; i < NPAGES; i++) ended |= xen_gnttab_end_access(DATA_REF0 + i);
	ended |= xen_gnttab_end_access(IND_REF) | ring_ended;
	long r = c < 0 && (c != -1 || ring_ended == 0) ? c : 0;
	printf("closed (%s); grants ended -> %s\n", r < 0 ? "error" : "ok", ended == 0 ? "ok" : "still in use");
	int ok = fails == 0 && bad == 0 && past == BLKIF_RSP_ERROR && ind_ok && disc_ok && r >= 0 && ended == 0;
	printf("%s\n", ok ? "blkfront: PASS" : "blkfront: FAIL");
	return ok ? 0 : 1;
}
