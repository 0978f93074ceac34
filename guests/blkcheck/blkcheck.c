/* blkcheck - writes a pattern over the whole of its disk xvda (any size from 1 MiB, a partial last
 * page included), flushing every MiB and at the end, reads it all back and verifies it; ends with
 * `blkcheck: ok ...`, or `blkcheck: FAIL ...` and a crash. Through xenlib's blkfront.h: a
 * multi-page ring and 64 KiB INDIRECT requests when the backend offers them (44 KiB direct ones
 * of 11 segments otherwise), up to 4 queues (as many as multi-queue-max-queues offers), 8
 * requests in flight spread over the queues. The 32-bit word w of sector s holds
 * pat(s, w), so the host can check the image afterwards. */
#include "blkfront.h"

#define XVDA 51712
#define QD 8
#define SEGS 16
#define NQ 4
#define RING_PAGES 4
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define DATA_REF0 (RING_REF + NQ * RING_PAGES)
#define IND_REF0 (DATA_REF0 + QD * SEGS)
#define FLUSH_EVERY 2048 /* sectors: 1 MiB */

static uint8_t rings[NQ * RING_PAGES][4096] __attribute__((aligned(4096)));
static uint32_t data[QD][SEGS * 1024] __attribute__((aligned(4096)));
static struct blkif_request_segment ind[QD][SEGS_PER_INDIRECT_FRAME] __attribute__((aligned(4096)));
static struct blkfront bq[NQ];
static unsigned nq;
static uint64_t slot_sector[QD];
static unsigned slot_n[QD];
static unsigned long bad, errors, requests;
static uint64_t first_bad = ~0ull;

static uint32_t pat(uint64_t s, unsigned w) { return (uint32_t)(s * 2654435761u) ^ (w * 0x9E3779B9u) ^ 0xb10c0c4eu; }

static void fill(unsigned slot, uint64_t sector, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned w = 0; w < 128; w++) data[slot][i * 128 + w] = pat(sector + i, w);
}

static void check(unsigned slot, uint64_t sector, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned w = 0; w < 128; w++)
			if (data[slot][i * 128 + w] != pat(sector + i, w)) { bad++; if (sector + i < first_bad) first_bad = sector + i; }
}

/* Queues a request of `n` sectors at `sector` from slot `slot`'s pages. */
static void queue(uint8_t op, uint64_t sector, unsigned n, unsigned slot, int indirect)
{
	struct blkfront *bp = &bq[slot % nq];
	unsigned nseg = (n + 7) / 8;
	uint64_t id;
	if (!indirect) {
		struct blkif_request *rq = blkfront_next(bp, &id);
		rq->operation = op;
		rq->nr_segments = (uint8_t)nseg;
		rq->handle = 0;
		rq->id = id | ((uint64_t)slot << 48);
		rq->sector_number = sector;
		for (unsigned i = 0; i < nseg; i++) {
			rq->seg[i].gref = DATA_REF0 + slot * SEGS + i;
			rq->seg[i].first_sect = 0;
			rq->seg[i].last_sect = (uint8_t)((n - i * 8 >= 8 ? 8 : n - i * 8) - 1);
		}
	} else {
		for (unsigned i = 0; i < nseg; i++) {
			ind[slot][i].gref = DATA_REF0 + slot * SEGS + i;
			ind[slot][i].first_sect = 0;
			ind[slot][i].last_sect = (uint8_t)((n - i * 8 >= 8 ? 8 : n - i * 8) - 1);
		}
		xen_wmb();
		grant_ref_t ir = IND_REF0 + slot;
		id = blkfront_queue_indirect(bp, op, sector, nseg, &ir, 1);
		((struct blkif_request_indirect *)RING_GET_REQUEST(&bp->ring, bp->ring.req_prod_pvt - 1))->id = id | ((uint64_t)slot << 48);
	}
	requests++;
}

static unsigned in_flight(void)
{
	unsigned n = 0;
	for (unsigned q = 0; q < nq; q++) n += bq[q].in_flight;
	return n;
}

/* One pass over the disk: WRITE (with flushes) or READ + verify. */
static int pass(uint8_t op, int indirect, unsigned chunk)
{
	unsigned free_slot[QD], nfree = 0;
	uint64_t sectors = bq[0].sectors;
	for (unsigned i = 0; i < QD; i++) free_slot[nfree++] = QD - 1 - i;
	uint64_t next = 0, since_flush = 0;
	while (next < sectors || in_flight()) {
		while (next < sectors && nfree > 0 && blkfront_free(&bq[free_slot[nfree - 1] % nq]) > 0 && !(op == BLKIF_OP_WRITE && since_flush >= FLUSH_EVERY)) {
			unsigned slot = free_slot[--nfree];
			unsigned n = sectors - next < chunk ? (unsigned)(sectors - next) : chunk;
			slot_sector[slot] = next;
			slot_n[slot] = n;
			if (op == BLKIF_OP_WRITE) fill(slot, next, n);
			queue(op, next, n, slot, indirect);
			next += n;
			since_flush += n;
		}
		if (in_flight() == 0) {
			/* Every write so far is answered: the flush (on queue 0) covers them all. */
			long st = blkfront_flush(&bq[0]);
			if (st != BLKIF_RSP_OKAY) { printf("blkcheck: FAIL flush -> %ld\n", st); return -1; }
			since_flush = 0;
			continue;
		}
		for (unsigned q = 0; q < nq; q++) blkfront_push(&bq[q]);
		struct blkif_response r;
		unsigned qi;
		if (blkfront_wait_any(bq, nq, &r, &qi) < 0) return -1;
		for (;;) {
			unsigned slot = (unsigned)(r.id >> 48);
			if (r.status != BLKIF_RSP_OKAY) { errors++; printf("blkcheck: request at sector %lu -> %d\n", (unsigned long)slot_sector[slot], r.status); }
			else if (op == BLKIF_OP_READ) check(slot, slot_sector[slot], slot_n[slot]);
			free_slot[nfree++] = slot;
			int got = 0;
			for (unsigned q = 0; q < nq && !got; q++) got = blkfront_poll(&bq[q], &r) > 0;
			if (!got) break;
		}
	}
	if (op == BLKIF_OP_WRITE) {
		long st = blkfront_flush(&bq[0]);
		if (st != BLKIF_RSP_OKAY) { printf("blkcheck: FAIL flush -> %ld\n", st); return -1; }
	}
	return 0;
}

int main(void)
{
	if (xenbus_init() < 0) { printf("blkcheck: FAIL no xenstore\n"); return 1; }
	long n = blkfront_open_mq(bq, NQ, XVDA, rings, RING_PAGES, RING_REF);
	if (n < 0) { printf("blkcheck: FAIL no disk xvda\n"); return 1; }
	nq = (unsigned)n;
	struct blkfront *b = &bq[0];
	if (b->sectors < 2048) { printf("blkcheck: FAIL disk of %lu sectors: at least 1 MiB (2048) needed\n", (unsigned long)b->sectors); return 1; }
	if (b->readonly || !b->flush) { printf("blkcheck: FAIL the disk must be writable with feature-flush-cache\n"); return 1; }
	int indirect = b->max_indirect >= SEGS;
	unsigned chunk = (indirect ? SEGS : BLKIF_MAX_SEGMENTS_PER_REQUEST) * 8;
	for (unsigned s = 0; s < QD; s++) {
		for (unsigned i = 0; i < SEGS; i++) xen_gnttab_grant(DATA_REF0 + s * SEGS + i, b->fe.backend_id, ((uintptr_t)data[s] >> 12) + i, 0);
		xen_gnttab_grant(IND_REF0 + s, b->fe.backend_id, (uintptr_t)ind[s] >> 12, 1);
	}
	printf("blkcheck: %lu sectors, %u queue%s, ring of %u pages, %s requests of %u sectors, persistent %ld\n", (unsigned long)b->sectors, nq, nq == 1 ? "" : "s", b->ring_pages, indirect ? "indirect" : "direct", chunk, b->persistent);
	if (pass(BLKIF_OP_WRITE, indirect, chunk) < 0) return 1;
	for (unsigned s = 0; s < QD; s++) for (unsigned w = 0; w < SEGS * 1024; w++) data[s][w] = 0xdeadbeef;
	if (pass(BLKIF_OP_READ, indirect, chunk) < 0) return 1;
	long c = blkfront_close_mq(bq, nq);
	if (bad || errors || c != 0) {
		printf("blkcheck: FAIL %lu bad words (first at sector %ld), %lu error responses, close -> %ld\n", bad, first_bad == ~0ull ? -1l : (long)first_bad, errors, c);
		return 1;
	}
	printf("blkcheck: ok (%lu sectors written, flushed, read back and verified in %lu requests over %u queue%s)\n", (unsigned long)b->sectors, requests, nq, nq == 1 ? "" : "s");
	return 0;
}
