/* blkbench - block I/O benchmark for pv-blk (issue 11; `pnpm bench:io`, tools/bench-io-blk.mjs):
 * on vbd xvda, through xenlib's blkfront.h (a 4-page ring, persistent grants, indirect requests
 * above 11 segments), runs workloads of `ops` requests each and prints one line per workload:
 *   blkbench: <name> bs=<bytes> qd=<depth> ops=<n> ns=<simulated ns> errors=<n>
 * between `blkbench: begin <name>` and the result (the host stamps both with wall time).
 * Workloads: 4 KiB random read/write at queue depth 1 and 32; 64 KiB sequential read/write (one
 * INDIRECT request of 16 segments) and 1 MiB sequential read/write (one INDIRECT request of 256
 * segments, blkback's MAX_INDIRECT_SEGMENTS, in one indirect page) at depth 1 and 32. Offsets of
 * random ones come from a fixed LCG (the same run every time).
 * Every one of the QD slots has its own 1 MiB of granted pages (32 MiB, 8192 grants: the domain
 * needs ~40 MiB and a grant table of 17 frames); a request of n segments uses its slot's first n.
 * blkback keeps at most 1056 grants persistently mapped (Linux's xen_blkif_max_pgrants), so the
 * 1 MiB workloads at depth 32 use grant copy for the pages beyond those, as Linux's blkback
 * maps them per request once its pool is full. */
#include "blkfront.h"

#define XVDA 51712
#define QD 32
#define SEGS 256 /* 1 MiB: MAX_INDIRECT_SEGMENTS, one indirect page (SEGS_PER_INDIRECT_FRAME is 512) */
#define RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define DATA_REF0 (RING_REF + 4)
#define IND_REF0 (DATA_REF0 + QD * SEGS)
#define GRANT_FRAMES ((IND_REF0 + QD + 511) / 512) /* 512 v1 entries a frame: 17 */
_Static_assert(SEGS <= SEGS_PER_INDIRECT_FRAME, "one indirect page a request");

static union { struct blkif_sring s; uint8_t p[4][4096]; } ring __attribute__((aligned(4096)));
static uint8_t data[QD][SEGS][4096] __attribute__((aligned(4096)));
static struct blkif_request_segment ind[QD][SEGS_PER_INDIRECT_FRAME] __attribute__((aligned(4096)));
static struct blkfront b;
static uint64_t lcg = 0x2545F4914F6CDD1Dull;
static uint64_t next_rand(void) { lcg = lcg * 6364136223846793005ull + 1442695040888963407ull; return lcg >> 17; }

/* Queues one request of `bs` bytes at byte offset `off` using buffer slot `slot`. */
static void queue_one(uint8_t op, uint64_t off, unsigned bs, unsigned slot)
{
	uint64_t id;
	unsigned nseg = bs / 4096;
	if (nseg <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		struct blkif_request *rq = blkfront_next(&b, &id);
		rq->operation = op;
		rq->nr_segments = (uint8_t)nseg;
		rq->handle = 0;
		rq->id = id | ((uint64_t)slot << 48);
		rq->sector_number = off / 512;
		for (unsigned i = 0; i < nseg; i++) {
			rq->seg[i].gref = DATA_REF0 + slot * SEGS + i;
			rq->seg[i].first_sect = 0;
			rq->seg[i].last_sect = 7;
		}
		return;
	}
	for (unsigned i = 0; i < nseg; i++) { ind[slot][i].gref = DATA_REF0 + slot * SEGS + i; ind[slot][i].first_sect = 0; ind[slot][i].last_sect = 7; }
	xen_wmb();
	grant_ref_t ir = IND_REF0 + slot;
	struct blkif_request_indirect *rq = (struct blkif_request_indirect *)blkfront_next(&b, &id);
	rq->operation = BLKIF_OP_INDIRECT;
	rq->indirect_op = op;
	rq->nr_segments = (uint16_t)nseg;
	rq->id = id | ((uint64_t)slot << 48);
	rq->sector_number = off / 512;
	rq->handle = 0;
	for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) rq->indirect_grefs[i] = i ? 0 : ir;
}

static void run(const char *name, uint8_t op, unsigned bs, unsigned qd, unsigned ops, int random)
{
	uint64_t blocks = b.sectors * 512 / bs, seq = 0;
	unsigned free_slot[QD], nfree = 0, issued = 0, done = 0, errors = 0;
	for (unsigned i = 0; i < qd; i++) free_slot[nfree++] = i;
	printf("blkbench: begin %s\n", name);
	uint64_t t0 = read_time();
	while (done < ops) {
		while (issued < ops && nfree > 0 && blkfront_free(&b) > 0) {
			uint64_t blk = random ? next_rand() % blocks : seq++ % blocks;
			queue_one(op, blk * bs, bs, free_slot[--nfree]);
			issued++;
		}
		blkfront_push(&b);
		struct blkif_response r;
		if (blkfront_wait(&b, &r) < 0) { printf("blkbench: FAIL bogus ring\n"); return; }
		do {
			if (r.status != BLKIF_RSP_OKAY) errors++;
			free_slot[nfree++] = (unsigned)(r.id >> 48);
			done++;
		} while (blkfront_poll(&b, &r) > 0);
	}
	uint64_t ns = read_time() - t0;
	printf("blkbench: %s bs=%u qd=%u ops=%u ns=%lu errors=%u\n", name, bs, qd, ops, (unsigned long)ns, errors);
}

int main(void)
{
	if (xenbus_init() < 0) { printf("blkbench: no xenstore\n"); return 1; }
	if (xen_gnttab_setup(GRANT_FRAMES) != 0) { printf("blkbench: FAIL grant table of %d frames\n", GRANT_FRAMES); return 1; }
	if (blkfront_open(&b, XVDA, &ring, 4, RING_REF) < 0) return 1;
	if (b.max_indirect < SEGS) { printf("blkbench: FAIL needs feature-max-indirect-segments >= %d\n", SEGS); return 1; }
	for (unsigned s = 0; s < QD; s++)
		for (unsigned i = 0; i < SEGS; i++) {
			for (unsigned k = 0; k < 4096; k += 64) data[s][i][k] = (uint8_t)(s + i + k);
			xen_gnttab_grant(DATA_REF0 + s * SEGS + i, b.fe.backend_id, (uintptr_t)data[s][i] >> 12, 0);
		}
	for (unsigned s = 0; s < QD; s++) xen_gnttab_grant(IND_REF0 + s, b.fe.backend_id, (uintptr_t)ind[s] >> 12, 1);
	printf("blkbench: %lu sectors, ring of %u pages (%u slots), indirect %ld, persistent %ld\n", (unsigned long)b.sectors, b.ring_pages, RING_SIZE(&b.ring), b.max_indirect, b.persistent);
	run("warmup", BLKIF_OP_READ, 4096, 8, 2000, 1); /* the JITs (the guest's code, blkback's) warm up */
	run("randread-4k-qd1", BLKIF_OP_READ, 4096, 1, 2000, 1);
	run("randread-4k-qd32", BLKIF_OP_READ, 4096, 32, 20000, 1);
	run("randwrite-4k-qd1", BLKIF_OP_WRITE, 4096, 1, 2000, 1);
	run("randwrite-4k-qd32", BLKIF_OP_WRITE, 4096, 32, 20000, 1);
	run("seqread-64k-qd1", BLKIF_OP_READ, 65536, 1, 500, 0);
	run("seqread-64k-qd32", BLKIF_OP_READ, 65536, 32, 4000, 0);
	run("seqwrite-64k-qd1", BLKIF_OP_WRITE, 65536, 1, 500, 0);
	run("seqwrite-64k-qd32", BLKIF_OP_WRITE, 65536, 32, 4000, 0);
	run("seqread-1m-qd1", BLKIF_OP_READ, 1 << 20, 1, 64, 0);
	run("seqread-1m-qd32", BLKIF_OP_READ, 1 << 20, 32, 256, 0);
	run("seqwrite-1m-qd1", BLKIF_OP_WRITE, 1 << 20, 1, 64, 0);
	run("seqwrite-1m-qd32", BLKIF_OP_WRITE, 1 << 20, 32, 256, 0);
	long f = blkfront_flush(&b);
	long c = blkfront_close(&b);
	printf("blkbench: flush -> %ld, close -> %ld\n", f, c);
	printf("blkbench: done\n");
	return f != 0 || c != 0;
}
