/* blkfront.h - a small blkif frontend for Tachyxx guests (io/blkif.h over xenbus_front.h), as
 * Linux's xen-blkfront talks to blkback:
 *   - the handshake for vbd `devid`: the backend's sectors/features read at InitWait, a
 *     multi-page ring when the backend offers max-ring-page-order (up to the caller's pages),
 *     feature-persistent asked for (the caller's data pages stay granted while connected);
 *   - requests are queued into the ring and pushed; responses taken as they come, so a caller
 *     can keep several in flight (queue depth) or wait for one (blkfront_wait_one);
 *   - flush, discard and indirect requests when the backend offers them;
 *   - several queues (multi-queue-num-queues, queue-N/ with each ring's refs and event channel)
 *     with blkfront_open_mq, up to what the backend offers (multi-queue-max-queues).
 * Usage:
 *   static union { struct blkif_sring s; uint8_t p[4][4096]; } ring __attribute__((aligned(4096)));
 *   struct blkfront b;
 *   if (blkfront_open(&b, 51712, &ring, 4, GNTTAB_NR_RESERVED_ENTRIES) < 0) ...
 *   xen_gnttab_grant(ref, b.fe.backend_id, gfn, 0);            // the caller's data pages
 *   long st = blkfront_rw(&b, BLKIF_OP_WRITE, sector, 1, &seg); // one request, waited for
 *   blkfront_close(&b);
 */
#ifndef TACHYXX_XENLIB_BLKFRONT_H
#define TACHYXX_XENLIB_BLKFRONT_H
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "io/ring.h"
#include "io/blkif.h"
#include "xenbus_front.h"

struct blkfront {
	struct xenbus_front fe;
	struct blkif_front_ring ring;
	evtchn_port_t port;
	grant_ref_t ring_ref0;
	unsigned ring_pages;
	uint64_t sectors;
	long flush, barrier, discard, max_indirect, persistent, readonly;
	volatile uint64_t kicks;
	uint64_t next_id;
	unsigned in_flight;
	unsigned queue, nr_queues;
};

static void blkfront_on_event(evtchn_port_t p, void *arg) { (void)p; ((struct blkfront *)arg)->kicks++; }

static inline long blkfront_backend_ulong(struct blkfront *b, const char *key, long dflt)
{
	char path[160], buf[32];
	snprintf(path, sizeof path, "%s/%s", b->fe.backend, key);
	return xenbus_read(path, buf, sizeof buf) < 0 ? dflt : xf_to_long(buf);
}

struct blkfront_keys { struct blkfront *b; unsigned nq, pages, order; };

/* talk_to_blkback's keys (in its transaction): ring-page-order and multi-queue-num-queues at the
 * top, each ring's nodes in the device directory (one queue) or under queue-N/, then protocol and
 * features. */
static long blkfront_write_keys(struct xenbus_front *fe, void *arg)
{
	const struct blkfront_keys *k = arg;
	long r;
	if (k->pages > 1 && (r = xenbus_front_write_ulong(fe, "ring-page-order", k->order)) < 0) return r;
	if (k->nq > 1 && (r = xenbus_front_write_ulong(fe, "multi-queue-num-queues", k->nq)) < 0) return r;
	for (unsigned q = 0; q < k->nq; q++) {
		const struct blkfront *x = &k->b[q];
		char key[40];
		const char *dir = "";
		char qdir[16];
		if (k->nq > 1) { snprintf(qdir, sizeof qdir, "queue-%u/", q); dir = qdir; }
		if (k->pages == 1) {
			snprintf(key, sizeof key, "%sring-ref", dir);
			if ((r = xenbus_front_write_ulong(fe, key, x->ring_ref0)) < 0) return r;
		} else {
			for (unsigned i = 0; i < k->pages; i++) {
				snprintf(key, sizeof key, "%sring-ref%u", dir, i);
				if ((r = xenbus_front_write_ulong(fe, key, x->ring_ref0 + i)) < 0) return r;
			}
		}
		snprintf(key, sizeof key, "%sevent-channel", dir);
		if ((r = xenbus_front_write_ulong(fe, key, x->port)) < 0) return r;
	}
	if ((r = xenbus_front_write(fe, "protocol", "arm-abi")) < 0) return r;
	return xenbus_front_write(fe, "feature-persistent", "1");
}

/* Opens vbd `devid` and connects `want` queues (fewer if the backend offers fewer): b[0..want-1]
 * get one ring each; `ring_mem` is want * `max_pages` page-aligned pages (max_pages 1, 2, 4, 8 or
 * 16 per ring), granted as refs ring_ref0.. in order. Returns the number of queues (>= 1), or a
 * negative value (printed). */
static inline long blkfront_open_mq(struct blkfront *b, unsigned want, unsigned devid, void *ring_mem, unsigned max_pages, grant_ref_t ring_ref0)
{
	struct xenbus_front *fe = &b[0].fe;
	long r = xenbus_front_open(fe, "vbd", devid);
	if (r < 0) { printf("blkfront: no vbd %u (%s)\n", devid, xenbus_strerror(r)); return r; }
	long s = xenbus_front_wait(fe, XenbusStateInitWait);
	if (s < 0) { printf("blkfront: backend not in InitWait (%ld)\n", s); return -1; }
	long order = blkfront_backend_ulong(&b[0], "max-ring-page-order", 0);
	long maxq = blkfront_backend_ulong(&b[0], "multi-queue-max-queues", 1);
	unsigned nq = want < 1 ? 1 : want;
	if ((long)nq > maxq) nq = maxq < 1 ? 1 : (unsigned)maxq;
	unsigned pages = 1, o = 0;
	while (pages < max_pages && (1l << order) > (long)pages) { pages <<= 1; o++; }
	for (unsigned q = 0; q < nq; q++) {
		struct blkfront *x = &b[q];
		if (q) x->fe = *fe;
		x->next_id = 1;
		x->in_flight = 0;
		x->kicks = 0;
		x->queue = q;
		x->nr_queues = nq;
		x->ring_pages = pages;
		x->ring_ref0 = ring_ref0 + q * max_pages;
		uint8_t *mem = (uint8_t *)ring_mem + (uint64_t)q * max_pages * 4096;
		XEN_FRONT_RING_INIT(&x->ring, (struct blkif_sring *)mem, 4096 * pages);
		for (unsigned i = 0; i < pages; i++) xen_gnttab_grant(x->ring_ref0 + i, fe->backend_id, ((uintptr_t)mem >> 12) + i, 0);
		long p = xen_evtchn_alloc_unbound(fe->backend_id);
		if (p < 0) { printf("blkfront: alloc_unbound -> %ld\n", p); return -1; }
		x->port = (evtchn_port_t)p;
		xen_evtchn_set_handler(x->port, blkfront_on_event, x);
	}
	struct blkfront_keys keys = { b, nq, pages, o };
	r = xenbus_front_write_keys(fe, blkfront_write_keys, &keys);
	if (r < 0) { printf("blkfront: writing the device keys: %s\n", xenbus_strerror(r)); return r; }
	xenbus_front_switch(fe, XenbusStateInitialised);
	s = xenbus_front_wait(fe, XenbusStateConnected);
	if (s < 0) { printf("blkfront: backend did not connect (%ld)\n", s); return -1; }
	xenbus_front_switch(fe, XenbusStateConnected);
	for (unsigned q = 0; q < nq; q++) {
		struct blkfront *x = &b[q];
		if (q) x->fe = *fe;
		x->sectors = (uint64_t)blkfront_backend_ulong(x, "sectors", 0);
		x->flush = blkfront_backend_ulong(x, "feature-flush-cache", 0);
		x->barrier = blkfront_backend_ulong(x, "feature-barrier", 0);
		x->discard = blkfront_backend_ulong(x, "feature-discard", 0);
		x->max_indirect = blkfront_backend_ulong(x, "feature-max-indirect-segments", 0);
		x->persistent = blkfront_backend_ulong(x, "feature-persistent", 0);
		x->readonly = (blkfront_backend_ulong(x, "info", 0) & VDISK_READONLY) != 0;
	}
	return nq;
}

/* Opens vbd `devid` with one queue: `ring_mem` is `max_pages` page-aligned pages. 0 or < 0. */
static inline long blkfront_open(struct blkfront *b, unsigned devid, void *ring_mem, unsigned max_pages, grant_ref_t ring_ref0)
{
	long n = blkfront_open_mq(b, 1, devid, ring_mem, max_pages, ring_ref0);
	return n < 0 ? n : 0;
}

/* Free request slots. */
static inline unsigned blkfront_free(struct blkfront *b) { return RING_FREE_REQUESTS(&b->ring); }

/* The next request slot (blkif_request; cast for discard/indirect); fill it, then blkfront_push. */
static inline struct blkif_request *blkfront_next(struct blkfront *b, uint64_t *id)
{
	struct blkif_request *rq = RING_GET_REQUEST(&b->ring, b->ring.req_prod_pvt++);
	*id = b->next_id++;
	b->in_flight++;
	return rq;
}

/* Publishes the queued requests; notifies the backend if it asked to be. */
static inline void blkfront_push(struct blkfront *b)
{
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&b->ring, notify);
	if (notify) xen_evtchn_send(b->port);
}

/* Takes one response if there is one: 1 (in *out), 0 (none), -1 (bogus rsp_prod). */
static inline int blkfront_poll(struct blkfront *b, struct blkif_response *out)
{
	RING_IDX prod = b->ring.sring->rsp_prod;
	xen_rmb();
	if (RING_RESPONSE_PROD_OVERFLOW(&b->ring, prod)) { printf("blkfront: bogus rsp_prod from the backend\n"); return -1; }
	if (b->ring.rsp_cons == prod) return 0;
	RING_COPY_RESPONSE(&b->ring, b->ring.rsp_cons, out);
	b->ring.rsp_cons++;
	b->in_flight--;
	return 1;
}

/* The backend is closing (xenstore spoke since `*xk`: a watch on its state, e.g. xl block-detach):
 * a closing backend answers nothing more. Updates *xk. */
static inline int blkfront_backend_closing(struct blkfront *b, uint64_t *xk)
{
	if (xb_kicks == *xk) return 0;
	int s = xenbus_front_backend_state(&b->fe);
	*xk = xb_kicks;
	return s == XenbusStateClosing || s == XenbusStateClosed;
}

/* Waits for a response (blocks the vCPU until the backend's event): 1, -1 (bogus rsp_prod), or
 * -2 (the backend is closing: no response will come). */
static inline int blkfront_wait(struct blkfront *b, struct blkif_response *out)
{
	uint64_t xk = xb_kicks;
	for (;;) {
		uint64_t k = b->kicks;
		int r = blkfront_poll(b, out);
		if (r != 0) return r;
		int more;
		RING_FINAL_CHECK_FOR_RESPONSES(&b->ring, more);
		if (more) continue;
		if (blkfront_backend_closing(b, &xk)) return -2;
		xen_wait_until(b->kicks != k || b->ring.sring->rsp_prod != b->ring.rsp_cons || xb_kicks != xk);
	}
}

/* Waits for the response to request `id`, `op` (nothing else in flight). Status, -100 (protocol
 * error) or -200 (the backend is closing). */
static inline long blkfront_wait_one(struct blkfront *b, uint64_t id, uint8_t op)
{
	struct blkif_response r;
	int w = blkfront_wait(b, &r);
	if (w == -2) return -200; /* the backend closed under us */
	if (w < 0) return -100;
	if (r.id != id || r.operation != op) { printf("blkfront: response id %lu op %u, wanted %lu op %u\n", (unsigned long)r.id, r.operation, (unsigned long)id, op); return -100; }
	return r.status;
}

/* One direct request (READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE), waited for. */
static inline long blkfront_rw(struct blkfront *b, uint8_t op, uint64_t sector, unsigned nseg, const struct blkif_request_segment *seg)
{
	uint64_t id;
	struct blkif_request *rq = blkfront_next(b, &id);
	rq->operation = op;
	rq->nr_segments = (uint8_t)nseg;
	rq->handle = 0;
	rq->id = id;
	rq->sector_number = sector;
	for (unsigned i = 0; i < nseg; i++) rq->seg[i] = seg[i];
	blkfront_push(b);
	return blkfront_wait_one(b, id, op);
}

/* FLUSH_DISKCACHE with no data, waited for. */
static inline long blkfront_flush(struct blkfront *b) { return blkfront_rw(b, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0); }

/* DISCARD of `nr` sectors at `sector`, waited for. */
static inline long blkfront_discard(struct blkfront *b, uint64_t sector, uint64_t nr, uint8_t flag)
{
	uint64_t id;
	struct blkif_request_discard *rq = (struct blkif_request_discard *)blkfront_next(b, &id);
	rq->operation = BLKIF_OP_DISCARD;
	rq->flag = flag;
	rq->handle = 0;
	rq->id = id;
	rq->sector_number = sector;
	rq->nr_sectors = nr;
	blkfront_push(b);
	return blkfront_wait_one(b, id, BLKIF_OP_DISCARD);
}

/* Queues an INDIRECT READ/WRITE of `nseg` segments already in the indirect page(s) `ind_refs`
 * (not waited for: the response has operation `op`). */
static inline uint64_t blkfront_queue_indirect(struct blkfront *b, uint8_t op, uint64_t sector, unsigned nseg, const grant_ref_t *ind_refs, unsigned nind)
{
	uint64_t id;
	struct blkif_request_indirect *rq = (struct blkif_request_indirect *)blkfront_next(b, &id);
	rq->operation = BLKIF_OP_INDIRECT;
	rq->indirect_op = op;
	rq->nr_segments = (uint16_t)nseg;
	rq->id = id;
	rq->sector_number = sector;
	rq->handle = 0;
	for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++) rq->indirect_grefs[i] = i < nind ? ind_refs[i] : 0;
	return id;
}

/* Closes the device (xenbus Closing/Closed), every queue's event channel and ring grants. 0 or < 0. */
static inline long blkfront_close_mq(struct blkfront *b, unsigned nq)
{
	long r = xenbus_front_close(&b[0].fe);
	long ended = 0;
	for (unsigned q = 0; q < nq; q++) {
		xen_evtchn_close(b[q].port);
		for (unsigned i = 0; i < b[q].ring_pages; i++) ended |= xen_gnttab_end_access(b[q].ring_ref0 + i);
	}
	return r < 0 ? r : ended != 0 ? -1 : 0;
}

static inline long blkfront_close(struct blkfront *b) { return blkfront_close_mq(b, 1); }

static inline uint64_t blkfront_kicks(struct blkfront *b, unsigned nq)
{
	uint64_t k = 0;
	for (unsigned q = 0; q < nq; q++) k += b[q].kicks;
	return k;
}

static inline int blkfront_any_response(struct blkfront *b, unsigned nq)
{
	for (unsigned q = 0; q < nq; q++) if (b[q].ring.sring->rsp_prod != b[q].ring.rsp_cons) return 1;
	return 0;
}

/* Waits for a response on any of the `nq` queues: 1 (in *out, its queue in *queue), -1, or -2
 * (the backend is closing). */
static inline int blkfront_wait_any(struct blkfront *b, unsigned nq, struct blkif_response *out, unsigned *queue)
{
	uint64_t xk = xb_kicks;
	for (;;) {
		uint64_t k = blkfront_kicks(b, nq);
		for (unsigned q = 0; q < nq; q++) {
			int r = blkfront_poll(&b[q], out);
			if (r != 0) { *queue = q; return r; }
		}
		int more = 0;
		for (unsigned q = 0; q < nq; q++) { int m; RING_FINAL_CHECK_FOR_RESPONSES(&b[q].ring, m); more |= m; }
		if (more) continue;
		if (blkfront_backend_closing(b, &xk)) return -2;
		xen_wait_until(blkfront_kicks(b, nq) != k || blkfront_any_response(b, nq) || xb_kicks != xk);
	}
}

#endif
