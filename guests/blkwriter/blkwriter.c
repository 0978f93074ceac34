/* blkwriter - writes numbered batches to its disk for ever, flushing after each (issue 11's kill
 * test, tools/hostile/pvblk-kill.test.ts): batch n writes BLOCKS 4 KiB blocks, block k at 4 KiB
 * slot (n * BLOCKS + k) % slots, every 8-byte word of it (n, k) as two little-endian u32; then a
 * FLUSH_DISKCACHE; when the flush says OKAY it prints `acked n`. The host is killed with SIGKILL
 * at a random moment; every block of every acknowledged batch must then be in the image (or a
 * later batch's block in its slot). Uses xenlib's blkfront.h (a 4-page ring, 8 writes in flight).
 * When the backend goes to Closing (xl block-detach), it closes its side, prints `blkwriter:
 * detached after N batches` and powers off. */
#include "blkfront.h"

#define XVDA 51712
#define BLOCKS 8
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define DATA_REF0 (RING_REF + 4)

static union { struct blkif_sring s; uint8_t p[4][4096]; } ring __attribute__((aligned(4096)));
static uint32_t data[BLOCKS][1024] __attribute__((aligned(4096)));

int main(void)
{
	struct blkfront b;
	if (xenbus_init() < 0) { printf("blkwriter: no xenstore\n"); return 1; }
	if (blkfront_open(&b, XVDA, &ring, 4, RING_REF) < 0) return 1;
	if (!b.flush) { printf("blkwriter: FAIL no feature-flush-cache\n"); return 1; }
	uint64_t slots = b.sectors / 8;
	printf("blkwriter: %lu slots, ring of %u pages\n", (unsigned long)slots, b.ring_pages);
	for (unsigned k = 0; k < BLOCKS; k++) xen_gnttab_grant(DATA_REF0 + k, b.fe.backend_id, (uintptr_t)data[k] >> 12, 0);
	for (uint32_t n = 1;; n++) {
		if (xenbus_front_backend_state(&b.fe) == XenbusStateClosing) {
		detached:;
			long r = blkfront_close(&b);
			printf("blkwriter: detached after %u batches (close -> %ld)\n", n - 1, r);
			return r < 0;
		}
		for (unsigned k = 0; k < BLOCKS; k++) {
			for (unsigned w = 0; w < 1024; w += 2) { data[k][w] = n; data[k][w + 1] = k; }
			uint64_t id;
			struct blkif_request *rq = blkfront_next(&b, &id);
			rq->operation = BLKIF_OP_WRITE;
			rq->nr_segments = 1;
			rq->handle = 0;
			rq->id = id;
			rq->sector_number = ((uint64_t)n * BLOCKS + k) % slots * 8;
			rq->seg[0].gref = DATA_REF0 + k;
			rq->seg[0].first_sect = 0;
			rq->seg[0].last_sect = 7;
		}
		blkfront_push(&b);
		/* All eight writes answered before the flush goes out (the flush covers completed writes). */
		while (b.in_flight) {
			struct blkif_response r;
			int w = blkfront_wait(&b, &r);
			if (w == -2) goto detached; /* the backend closed: the batch is not acknowledged */
			if (w < 0 || r.status != BLKIF_RSP_OKAY) { printf("blkwriter: FAIL write in batch %u -> %d\n", n, w < 0 ? w : r.status); return 1; }
		}
		long st = blkfront_flush(&b);
		if (st == -200) goto detached;
		if (st != BLKIF_RSP_OKAY) { printf("blkwriter: FAIL flush of batch %u -> %ld\n", n, st); return 1; }
		printf("acked %u\n", n);
	}
}
