/* netfront.c - the PV network frontend (see netfront.h). */
#include "tachyxx.h"
#include "gnttab.h"
#include "xenbus.h"
#include "io/ring.h"
#include "io/netif.h"
#include "xenbus_front.h"
#include "netfront.h"

#define NF_EIO 5
#define NF_ENODEV 19
#define NF_EINVAL 22
#define NF_EOPNOTSUPP 95

/* Grant references: the ring pages (queue q: 8 + 2q TX, 9 + 2q RX; one queue: 8 and 9 as before
 * multi-queue), then the nq * 256 TX buffers (buffer id i: NF_BUF0 + i; ids are global, a free
 * buffer may carry a frame on any queue: the backend copies from whatever gref names), then each
 * queue's 256 RX buffers. */
#define NF_TX_RING_REF(q) (GNTTAB_NR_RESERVED_ENTRIES + 2 * (q))
#define NF_RX_RING_REF(q) (GNTTAB_NR_RESERVED_ENTRIES + 2 * (q) + 1)
#define NF_BUF0 (GNTTAB_NR_RESERVED_ENTRIES + 2 * NETFRONT_MAX_QUEUES)
#define NF_TX_REF(id) (NF_BUF0 + (id))
#define NF_RX_REF(nq, q, i) (NF_BUF0 + ((nq) + (q)) * NETFRONT_RING_SLOTS + (i))
#define NF_GRANT_FRAMES(nq) ((NF_BUF0 + 2 * (nq) * NETFRONT_RING_SLOTS + 511) / 512)
_Static_assert(NF_GRANT_FRAMES(1) == 2, "one queue: 2 grant frames");
_Static_assert(NF_GRANT_FRAMES(NETFRONT_MAX_QUEUES) <= 32, "within gnttab_max_frames");
#define NF_TX_IDS (NETFRONT_MAX_QUEUES * NETFRONT_RING_SLOTS)
_Static_assert(NF_TX_IDS <= 65536, "TX ids fit a request's id");
_Static_assert(NET_TX_RING_SIZE == NETFRONT_RING_SLOTS && NET_RX_RING_SIZE == NETFRONT_RING_SLOTS, "one-page rings");

/* One queue (Linux's struct netfront_queue): a TX and an RX ring, their event channel(s). */
struct nf_queue {
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	evtchn_port_t tx_port, rx_port; /* equal unless split */
	unsigned index;
	uint8_t (*rxb)[4096]; /* this queue's RX buffers */
	grant_ref_t rx_ref0;  /* the grant of its buffer 0 */
	uint64_t tx_packets, rx_packets; /* several queues only (one: netfront_stats) */
};

struct netfront {
	struct netdev nd;
	struct xenbus_front fe;
	struct nf_queue q[NETFRONT_MAX_QUEUES];
	unsigned nq;
	int split, sg, connected, broken;
	unsigned tx_nfree;
	int tx_resv; /* a TX buffer handed out by nf_tx_buffer and not sent yet, or -1 */
	unsigned rx_next; /* the queue nf_poll looks at first (round robin) */
	volatile uint64_t events;
	struct netfront_stats st;
	/* the arrays last: the hot fields above stay within a load's 12-bit offset */
	uint16_t tx_free[NF_TX_IDS]; /* stack of free TX buffer ids (any queue) */
	uint8_t tx_inuse[NF_TX_IDS]; /* 0 free, else 1 + the queue whose ring carries it */
};

static struct netfront nf0;
/* one page each (an array of the bare structs would pack them closer than a page) */
static union { struct netif_tx_sring s; uint8_t page[4096]; } tx_sring[NETFRONT_MAX_QUEUES] __attribute__((aligned(4096)));
static union { struct netif_rx_sring s; uint8_t page[4096]; } rx_sring[NETFRONT_MAX_QUEUES] __attribute__((aligned(4096)));
_Static_assert(sizeof tx_sring[0] == 4096 && sizeof rx_sring[0] == 4096, "ring pages");
/* not zeroed at start (.noinit, guests/lib/link.ld): a TX buffer is written before it is sent,
 * an RX buffer by the backend before it is read */
static uint8_t tx_buf[NF_TX_IDS][4096] __attribute__((aligned(4096), section(".noinit.nf_tx_buf")));
static uint8_t rx_buf[NETFRONT_MAX_QUEUES][NETFRONT_RING_SLOTS][4096] __attribute__((aligned(4096), section(".noinit.nf_rx_buf")));
static uint8_t rx_frame[NETFRONT_MAX_FRAME]; /* multi-slot packets are reassembled here */
static int xs_ready;

static void nf_event(evtchn_port_t port, void *arg)
{
	struct netfront *nf = arg;
	nf->events++;
}

uint64_t netfront_now(void) { return read_time(); }

static int xs_init(void)
{
	if (!xs_ready) {
		if (xenbus_init() < 0) return -NF_ENODEV;
		xs_ready = 1;
	}
	return 0;
}
long netfront_xs_read(const char *path, char *buf, unsigned cap)
{
	int r = xs_init();
	return r < 0 ? r : xenbus_read(path, buf, cap);
}
long netfront_xs_write(const char *path, const char *value)
{
	int r = xs_init();
	return r < 0 ? r : xenbus_write(path, value);
}

/* ---- TX ----------------------------------------------------------------------------------- */

/* Collects TX responses; frees their buffers. Re-arms rsp_event halfway to the requests still
 * out, as Linux's xennet_tx_buf_gc, so a busy sender is not interrupted for every completion. */
static void nf_tx_gc_q(struct netfront *nf, struct nf_queue *q)
{
	RING_IDX prod;
	do {
		prod = q->tx.sring->rsp_prod;
		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&q->tx, prod)) {
			printf("netfront: bogus tx rsp_prod %u (rsp_cons %u) on queue %u\n", prod, q->tx.rsp_cons, q->index);
			nf->broken = 1;
			return;
		}
		for (RING_IDX i = q->tx.rsp_cons; i != prod; i++) {
			struct netif_tx_response r;
			RING_COPY_RESPONSE(&q->tx, i, &r);
			if (r.status == NETIF_RSP_NULL) continue; /* an extra_info slot (we send none) */
			/* an id this queue's ring does not carry (Linux checks the id against the queue's own
			 * tx_skbs: "Response has incorrect id"): the device is broken */
			if (r.id >= NF_TX_IDS || nf->tx_inuse[r.id] != q->index + 1) {
				printf("netfront: tx response with bad id %u on queue %u\n", r.id, q->index);
				nf->broken = 1;
				q->tx.rsp_cons = i + 1;
				return;
			}
			nf->tx_inuse[r.id] = 0;
			nf->tx_free[nf->tx_nfree++] = r.id;
			if (r.status == NETIF_RSP_DROPPED) nf->st.tx_dropped++;
			else if (r.status != NETIF_RSP_OKAY) nf->st.tx_err_status++;
		}
		q->tx.rsp_cons = prod;
		q->tx.sring->rsp_event = prod + ((q->tx.sring->req_prod - prod) >> 1) + 1;
		xen_mb();
	} while (prod != q->tx.sring->rsp_prod);
}

/* Not inlined: its callers' fast paths (nf_tx_buffer) stay free of its register saves. */
static __attribute__((noinline)) void nf_tx_gc(struct netfront *nf)
{
	if (nf->nq == 1) { nf_tx_gc_q(nf, &nf->q[0]); return; }
	for (unsigned k = 0; k < nf->nq; k++) nf_tx_gc_q(nf, &nf->q[k]);
}

static inline __attribute__((always_inline)) void nf_tx_push(struct netfront *nf, struct nf_queue *q)
{
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
	if (notify) {
		nf->st.notify_tx++;
		xen_evtchn_send(q->tx_port);
	}
}

/* Pushes what a batch (NETDEV_TX_MORE) left unpushed on every queue. */
static void nf_tx_push_all(struct netfront *nf)
{
	for (unsigned k = 0; k < nf->nq; k++) nf_tx_push(nf, &nf->q[k]);
}

/* The TX queue for a frame (Linux: skb_get_hash() picks the queue, xennet_select_queue). Here not
 * Linux's jhash/Toeplitz but FNV-1a over the IPv4 addresses and the TCP/UDP ports (else the
 * MACs): deterministic, so one flow stays on one queue and keeps its order. */
static __attribute__((noinline)) struct nf_queue *nf_pick(struct netfront *nf, const uint8_t *f, uint32_t len)
{
	uint32_t h = 0x811c9dc5u;
	uint32_t from = 0, to = 12, from2 = 0, to2 = 0;
	if (len >= 34 && f[12] == 0x08 && f[13] == 0x00) {
		from = 26;
		to = 34;
		uint32_t l4 = 14 + (uint32_t)(f[14] & 15) * 4;
		if ((f[23] == 6 || f[23] == 17) && l4 + 4 <= len) { from2 = l4; to2 = l4 + 4; }
	}
	for (uint32_t i = from; i < to; i++) h = (h ^ f[i]) * 0x01000193u;
	for (uint32_t i = from2; i < to2; i++) h = (h ^ f[i]) * 0x01000193u;
	return &nf->q[h % nf->nq];
}

/* The stack builds the next frame here (netdev_ops.tx_buffer): a free TX buffer taken off the
 * free stack until a send of a frame in it succeeds. One slot's worth at most. */
static uint8_t *nf_tx_buffer(struct netdev *d, uint32_t len)
{
	struct netfront *nf = d->priv;
	if (!nf->connected || nf->broken || len > 4096 - NETDEV_TX_ALIGN) return 0;
	if (nf->tx_resv < 0) {
		if (nf->tx_nfree == 0) nf_tx_gc(nf);
		if (nf->tx_nfree == 0) return 0;
		nf->tx_resv = nf->tx_free[--nf->tx_nfree];
	}
	return tx_buf[nf->tx_resv] + NETDEV_TX_ALIGN;
}

static __attribute__((noinline)) int nf_send_slots(struct netdev *d, const void *frame, uint32_t len, uint32_t flags);

/* A frame built in place in the buffer nf_tx_buffer handed out, one slot, a free request: one
 * request, no copy. Kept small (few registers to save); everything else is nf_send_slots. */
static int nf_send(struct netdev *d, const void *frame, uint32_t len, uint32_t flags)
{
	struct netfront *nf = d->priv;
	int id = nf->tx_resv;
	struct nf_queue *q = &nf->q[0];
	/* several queues take nf_send_slots (the flow hash picks the ring there) */
	if (id < 0 || (const uint8_t *)frame != tx_buf[id] + NETDEV_TX_ALIGN || len < 14 || len > 4096 - NETDEV_TX_ALIGN ||
	    !nf->connected || nf->broken || nf->nq != 1 || RING_FREE_REQUESTS(&q->tx) < 1)
		return nf_send_slots(d, frame, len, flags);
	nf->tx_resv = -1;
	nf->st.tx_inplace++;
	nf->tx_inuse[id] = 1;
	struct netif_tx_request *rq = RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++);
	rq->gref = NF_TX_REF(id);
	rq->offset = NETDEV_TX_ALIGN;
	rq->id = (uint16_t)id;
	rq->size = (uint16_t)len;
	/* CHECKSUM_PARTIAL: Linux's xennet_start_xmit sets csum_blank | data_validated */
	rq->flags = flags & NETDEV_TX_CSUM_BLANK ? NETTXF_csum_blank | NETTXF_data_validated : 0;
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	nf->st.tx_slots++;
	if (!(flags & NETDEV_TX_MORE)) nf_tx_push(nf, q);
	return 0;
}

/* Any frame: copied into free TX buffers (one slot per page, more_data), or sent from the
 * buffer nf_tx_buffer handed out when it was built there. */
static int nf_send_slots(struct netdev *d, const void *frame, uint32_t len, uint32_t flags)
{
	struct netfront *nf = d->priv;
	if (!nf->connected || nf->broken) return -NETDEV_EIO;
	if (len < 14 || len > XEN_NETIF_MAX_TX_SIZE) return -NETDEV_EMSGSIZE;
	/* the first slot starts at the frame's alignment mod 8 in its page (copies by words) */
	uint32_t off = (uint32_t)((uintptr_t)frame & 7);
	unsigned nslots = (off + len + 4095) / 4096;
	if (nslots > 1 && !nf->sg) return -NETDEV_EMSGSIZE; /* the backend takes one slot per packet */
	/* built in place in the buffer nf_tx_buffer handed out: no copy, that buffer's id */
	int inplace = nf->tx_resv >= 0 && (const uint8_t *)frame == tx_buf[nf->tx_resv] + NETDEV_TX_ALIGN && nslots == 1;
	unsigned need = inplace ? 0 : nslots;
	struct nf_queue *q = nf->nq == 1 ? &nf->q[0] : nf_pick(nf, frame, len);
	if (nf->tx_nfree < need || RING_FREE_REQUESTS(&q->tx) < nslots) nf_tx_gc(nf);
	if (nf->tx_nfree < need || RING_FREE_REQUESTS(&q->tx) < nslots) {
		nf->st.tx_ring_full++;
		nf_tx_push_all(nf); /* whatever a batch left unpushed must go, or nothing will free up */
		return -NETDEV_EAGAIN;
	}
	const uint8_t *p = frame;
	uint32_t left = len;
	for (unsigned k = 0; k < nslots; k++) {
		uint16_t id;
		uint32_t room = 4096 - off;
		uint32_t chunk = left < room ? left : room;
		if (inplace) {
			id = (uint16_t)nf->tx_resv;
			nf->tx_resv = -1;
			nf->st.tx_inplace++;
		} else {
			id = nf->tx_free[--nf->tx_nfree];
			netdev_copy(tx_buf[id] + off, p, chunk);
		}
		nf->tx_inuse[id] = (uint8_t)(q->index + 1);
		struct netif_tx_request *rq = RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++);
		rq->gref = NF_TX_REF(id);
		rq->offset = (uint16_t)off;
		rq->id = id;
		rq->size = (uint16_t)(k == 0 ? len : chunk); /* the first slot carries the packet's size */
		uint16_t f = k + 1 < nslots ? NETTXF_more_data : 0;
		/* CHECKSUM_PARTIAL: Linux's xennet_start_xmit sets csum_blank | data_validated */
		if (k == 0 && (flags & NETDEV_TX_CSUM_BLANK)) f |= NETTXF_csum_blank | NETTXF_data_validated;
		rq->flags = f;
		p += chunk;
		left -= chunk;
		off = 0;
	}
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	nf->st.tx_slots += nslots;
	if (nslots > 1) nf->st.tx_multislot++;
	q->tx_packets++;
	if (!(flags & NETDEV_TX_MORE)) nf_tx_push_all(nf);
	return 0;
}

/* ---- RX ----------------------------------------------------------------------------------- */

/* Posts a buffer in every free request slot of queue q (slot i <-> the queue's buffer i & 255). */
static void nf_rx_refill(struct netfront *nf, struct nf_queue *q)
{
	RING_IDX want = q->rx.rsp_cons + NETFRONT_RING_SLOTS;
	if (q->rx.req_prod_pvt == want) return;
	for (RING_IDX j = q->rx.req_prod_pvt; j != want; j++) {
		struct netif_rx_request *rq = RING_GET_REQUEST(&q->rx, j);
		rq->id = (uint16_t)(j & (NETFRONT_RING_SLOTS - 1));
		rq->gref = q->rx_ref0 + (j & (NETFRONT_RING_SLOTS - 1));
	}
	q->rx.req_prod_pvt = want;
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
	if (notify) {
		nf->st.notify_rx++;
		xen_evtchn_send(q->rx_port);
	}
}

/* One packet starting at rsp_cons, if all of its slots are there (else 0: wait for the rest).
 * Returns 1 and *len/*flags/*data (NULL when it was bad and is dropped), consuming its slots. */
static int nf_rx_one(struct netfront *nf, struct nf_queue *q, RING_IDX prod, const uint8_t **data, uint32_t *len, uint32_t *flags)
{
	RING_IDX i = q->rx.rsp_cons;
	uint32_t total = 0;
	unsigned slots = 0;
	int err = 0;
	const uint8_t *single = 0;
	uint16_t first_flags = 0;
	for (;;) {
		if (i == prod) return 0;
		struct netif_rx_response r;
		RING_COPY_RESPONSE(&q->rx, i, &r); /* one read of the shared slot */
		unsigned buf = i & (NETFRONT_RING_SLOTS - 1);
		i++;
		slots++;
		if (slots == 1) first_flags = r.flags;
		if (r.status < 0) {
			if (!err) nf->st.rx_err_status++;
			err = 1;
		} else if ((uint32_t)r.offset + (uint32_t)r.status > 4096) {
			/* Linux: "rx->offset: %u, size: %d" */
			if (!err) nf->st.rx_err_bounds++;
			err = 1;
		} else if (slots > NETFRONT_RX_MAX_SLOTS || total + (uint32_t)r.status > NETFRONT_MAX_FRAME) {
			if (!err) nf->st.rx_err_slots++;
			err = 1;
		} else if (!err) {
			if (slots == 1 && !(r.flags & NETRXF_more_data))
				single = q->rxb[buf] + r.offset; /* one slot: hand the buffer up in place */
			else
				netdev_copy(rx_frame + total, q->rxb[buf] + r.offset, (uint32_t)r.status);
			total += (uint32_t)r.status;
		}
		/* extra_info slots follow the first response (Linux's xennet_get_extras) */
		if (slots == 1 && (r.flags & NETRXF_extra_info)) {
			struct netif_extra_info ex;
			do {
				if (i == prod) return 0;
				memcpy(&ex, (const void *)RING_GET_RESPONSE(&q->rx, i), sizeof ex);
				i++;
				if (ex.type == XEN_NETIF_EXTRA_TYPE_NONE || ex.type >= XEN_NETIF_EXTRA_TYPE_MAX) {
					if (!err) nf->st.rx_err_extra++;
					err = 1;
				}
				/* GSO / hash extras: nothing to do for a stack without GSO or RSS */
			} while (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE);
		}
		if (!(r.flags & NETRXF_more_data)) break;
	}
	q->rx.rsp_cons = i;
	*len = total;
	*flags = (first_flags & NETRXF_csum_blank ? NETDEV_RX_CSUM_BLANK : 0) |
		 (first_flags & NETRXF_data_validated ? NETDEV_RX_DATA_VALIDATED : 0);
	*data = err ? 0 : single ? single : rx_frame;
	if (!err) {
		nf->st.rx_packets++;
		nf->st.rx_bytes += total;
		if (slots > 1) nf->st.rx_multislot++;
		if (first_flags & NETRXF_csum_blank) nf->st.rx_csum_blank++;
	}
	return 1;
}

/* Aligned (it is shorter than 2 KiB): its per-packet loop stays on one page (see net_csum_add in net.c). */
/* Up to `budget` packets from queue q's RX ring (Linux's xennet_poll, one NAPI context a queue). */
__attribute__((aligned(2048))) static int nf_poll_q(struct netfront *nf, struct nf_queue *q, netdev_rx_fn fn, void *arg, unsigned budget)
{
	int n = 0;
	while ((unsigned)n < budget) {
		RING_IDX prod = q->rx.sring->rsp_prod;
		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&q->rx, prod)) {
			printf("netfront: bogus rx rsp_prod %u (rsp_cons %u) on queue %u\n", prod, q->rx.rsp_cons, q->index);
			nf->broken = 1;
			return -NETDEV_EIO;
		}
		const uint8_t *data;
		uint32_t len, flags;
		if (q->rx.rsp_cons == prod || !nf_rx_one(nf, q, prod, &data, &len, &flags)) {
			/* nothing (complete) left: ask for an event on the next response, then look again */
			q->rx.sring->rsp_event = q->rx.rsp_cons + 1;
			xen_mb();
			if (q->rx.sring->rsp_prod != prod) continue;
			break;
		}
		if (data) {
			fn(arg, data, len, flags);
			n++;
		}
		if ((RING_IDX)(q->rx.rsp_cons - q->rx.req_prod_pvt + NETFRONT_RING_SLOTS) >= NETFRONT_RING_SLOTS / 2)
			nf_rx_refill(nf, q); /* keep the backend fed while a burst is handled */
	}
	nf_rx_refill(nf, q);
	if (nf->broken) return -NETDEV_EIO;
	return n;
}

/* RX is served on whichever queue the backend used (its flow hash): every queue, starting one
 * further each call so that no queue starves the others of the budget. */
static int nf_poll(struct netdev *d, netdev_rx_fn fn, void *arg, unsigned budget)
{
	struct netfront *nf = d->priv;
	if (!nf->connected || nf->broken) return -NETDEV_EIO;
	nf_tx_gc(nf);
	if (nf->nq == 1) return nf_poll_q(nf, &nf->q[0], fn, arg, budget);
	int n = 0;
	unsigned k0 = nf->rx_next;
	nf->rx_next = k0 + 1 == nf->nq ? 0 : k0 + 1;
	for (unsigned j = 0, k = k0; j < nf->nq; j++, k = k + 1 == nf->nq ? 0 : k + 1) {
		int m = nf_poll_q(nf, &nf->q[k], fn, arg, budget - (unsigned)n);
		if (m < 0) return m;
		nf->q[k].rx_packets += (unsigned)m;
		n += m;
	}
	return n;
}

static int nf_has_work(struct netfront *nf)
{
	for (unsigned k = 0; k < nf->nq; k++) {
		struct nf_queue *q = &nf->q[k];
		if (q->rx.sring->rsp_prod != q->rx.rsp_cons || q->tx.sring->rsp_prod != q->tx.rsp_cons) return 1;
	}
	return 0;
}

static void nf_wait(struct netdev *d, uint64_t deadline)
{
	struct netfront *nf = d->priv;
	uint64_t k = nf->events;
	nf->st.waits++;
	/* ask for an event on the next RX response and the next TX completion (a poll that ended on
	 * its budget left rsp_event behind), then look once more: RING_FINAL_CHECK_FOR_RESPONSES */
	for (unsigned j = 0; j < nf->nq; j++) {
		struct nf_queue *q = &nf->q[j];
		q->rx.sring->rsp_event = q->rx.rsp_cons + 1;
		q->tx.sring->rsp_event = q->tx.rsp_cons + 1;
	}
	xen_mb();
	if (nf_has_work(nf) || (deadline && read_time() >= deadline)) return;
	if (deadline) HYPERVISOR_set_timer_op(deadline); /* the time CSR is system time (ns) */
	xen_wait_until(nf->events != k || nf_has_work(nf) || nf->broken || (deadline && read_time() >= deadline));
	nf->st.events = nf->events;
}

static uint64_t nf_now(struct netdev *d) { return read_time(); }

static const struct netdev_ops nf_ops = { nf_send, nf_poll, nf_wait, nf_now, nf_tx_buffer };

/* ---- handshake ---------------------------------------------------------------------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++, s++) {
			char c = *s;
			int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (x < 0) return -NF_EINVAL;
			v = v * 16 + x;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':') return -NF_EINVAL;
	}
	return *s ? -NF_EINVAL : 0;
}

static long backend_flag(struct netfront *nf, const char *key)
{
	char path[160], buf[16];
	snprintf(path, sizeof path, "%s/%s", nf->fe.backend, key);
	if (xenbus_read(path, buf, sizeof buf) < 0) return 0;
	long v = xf_to_long(buf);
	return v < 0 ? 0 : v;
}

/* Writes one queue's keys in dir ("" = the frontend dir itself; Linux's
 * write_queue_xenstore_keys: tx-ring-ref, rx-ring-ref, then event-channel or -tx and -rx). */
static long nf_write_queue_keys(struct netfront *nf, struct nf_queue *q, const char *dir)
{
	char key[48];
	long r;
	snprintf(key, sizeof key, "%stx-ring-ref", dir);
	if ((r = xenbus_front_write_ulong(&nf->fe, key, NF_TX_RING_REF(q->index))) < 0) return r;
	snprintf(key, sizeof key, "%srx-ring-ref", dir);
	if ((r = xenbus_front_write_ulong(&nf->fe, key, NF_RX_RING_REF(q->index))) < 0) return r;
	if (nf->split) {
		snprintf(key, sizeof key, "%sevent-channel-tx", dir);
		if ((r = xenbus_front_write_ulong(&nf->fe, key, q->tx_port)) < 0) return r;
		snprintf(key, sizeof key, "%sevent-channel-rx", dir);
		return xenbus_front_write_ulong(&nf->fe, key, q->rx_port);
	}
	snprintf(key, sizeof key, "%sevent-channel", dir);
	return xenbus_front_write_ulong(&nf->fe, key, q->tx_port);
}

/* talk_to_netback's keys (in its transaction): one queue flat in the frontend dir (no queue-0/),
 * several as multi-queue-num-queues then queue-%u/ each; then the features. */
static long nf_write_keys(struct xenbus_front *fe, void *arg)
{
	struct netfront *nf = arg;
	long r;
	if (nf->nq == 1) {
		if ((r = nf_write_queue_keys(nf, &nf->q[0], "")) < 0) return r;
	} else {
		if ((r = xenbus_front_write_ulong(fe, "multi-queue-num-queues", nf->nq)) < 0) return r;
		for (unsigned k = 0; k < nf->nq; k++) {
			char dir[16];
			snprintf(dir, sizeof dir, "queue-%u/", k);
			if ((r = nf_write_queue_keys(nf, &nf->q[k], dir)) < 0) return r;
		}
	}
	if ((r = xenbus_front_write(fe, "request-rx-copy", "1")) < 0) return r;
	if ((r = xenbus_front_write(fe, "feature-rx-notify", "1")) < 0) return r;
	return xenbus_front_write(fe, "feature-sg", "1");
}

int netfront_open(unsigned devid, struct netdev **out) { return netfront_open_queues(devid, 1, out); }

int netfront_open_queues(unsigned devid, unsigned queues, struct netdev **out)
{
	struct netfront *nf = &nf0;
	char buf[32];
	if (nf->connected) return -NF_EINVAL; /* one vif per program */
	if (queues < 1 || queues > NETFRONT_MAX_QUEUES) return -NF_EINVAL;
	long r = xs_init();
	if (r < 0) return (int)r;
	r = xenbus_front_open(&nf->fe, "vif", devid);
	if (r < 0) return r == -XEN_ENOENT ? -NF_ENODEV : (int)r;
	nf->nd.ops = &nf_ops;
	nf->nd.priv = nf;
	snprintf(nf->nd.name, sizeof nf->nd.name, "eth%u", devid);
	/* Linux's xen_net_read_mac: the frontend's own "mac" node */
	if (xenbus_front_read(&nf->fe, "mac", buf, sizeof buf) < 0 || parse_mac(buf, nf->nd.mac) < 0) {
		printf("netfront: vif %u: no valid mac (\"%s\")\n", devid, buf);
		return -NF_EINVAL;
	}
	nf->nd.mtu = 1500;
	if (xenbus_front_read(&nf->fe, "mtu", buf, sizeof buf) >= 0) {
		long m = xf_to_long(buf);
		if (m >= 68 && m <= 65535) nf->nd.mtu = (uint16_t)m;
	}
	xenbus_front_switch(&nf->fe, XenbusStateInitialising);
	long s = xenbus_front_wait(&nf->fe, XenbusStateInitWait);
	if (s < 0) { printf("netfront: backend not in InitWait (%ld)\n", s); return -NF_EIO; }

	/* Linux: "backend does not support copying receive path" */
	if (!backend_flag(nf, "feature-rx-copy")) return -NF_EOPNOTSUPP;
	nf->split = backend_flag(nf, "feature-split-event-channels") == 1;
	nf->sg = backend_flag(nf, "feature-sg") == 1;
	if (!nf->sg && nf->nd.mtu > 1500) nf->nd.mtu = 1500; /* Linux: no SG, ETH_DATA_LEN at most */
	/* talk_to_netback: num_queues = min(multi-queue-max-queues (absent: 1), xennet_max_queues) */
	long maxq = backend_flag(nf, "multi-queue-max-queues");
	nf->nq = maxq < 1 ? 1 : (unsigned long)maxq < queues ? (unsigned)maxq : queues;

	r = xen_gnttab_setup(NF_GRANT_FRAMES(nf->nq));
	if (r < 0) { printf("netfront: grant table setup -> %ld\n", r); return (int)r; }
	uint16_t be = nf->fe.backend_id;
	nf->tx_nfree = 0;
	for (unsigned k = 0; k < nf->nq; k++) {
		struct nf_queue *q = &nf->q[k];
		q->index = k;
		q->tx_packets = q->rx_packets = 0;
		q->rxb = rx_buf[k];
		q->rx_ref0 = NF_RX_REF(nf->nq, k, 0);
		memset(&tx_sring[k], 0, sizeof tx_sring[k]);
		memset(&rx_sring[k], 0, sizeof rx_sring[k]);
		XEN_FRONT_RING_INIT(&q->tx, &tx_sring[k].s, 4096);
		XEN_FRONT_RING_INIT(&q->rx, &rx_sring[k].s, 4096);
		xen_gnttab_grant(NF_TX_RING_REF(k), be, (uintptr_t)&tx_sring[k] >> 12, 0);
		xen_gnttab_grant(NF_RX_RING_REF(k), be, (uintptr_t)&rx_sring[k] >> 12, 0);
		for (unsigned i = 0; i < NETFRONT_RING_SLOTS; i++) {
			unsigned id = k * NETFRONT_RING_SLOTS + i;
			xen_gnttab_grant(NF_TX_REF(id), be, (uintptr_t)tx_buf[id] >> 12, 1);
			xen_gnttab_grant(NF_RX_REF(nf->nq, k, i), be, (uintptr_t)rx_buf[k][i] >> 12, 0);
			nf->tx_inuse[id] = 0;
		}
	}
	/* the free stack pops id 0 first (one queue: as before multi-queue) */
	for (unsigned id = 0; id < nf->nq * NETFRONT_RING_SLOTS; id++) nf->tx_free[nf->tx_nfree++] = (uint16_t)(nf->nq * NETFRONT_RING_SLOTS - 1 - id);
	nf->tx_resv = -1;
	nf->rx_next = 0;

	/* setup_netfront per queue: one unbound port, or two when split */
	for (unsigned k = 0; k < nf->nq; k++) {
		struct nf_queue *q = &nf->q[k];
		long p = xen_evtchn_alloc_unbound(be);
		if (p < 0) { printf("netfront: alloc_unbound -> %ld\n", p); return (int)p; }
		q->tx_port = q->rx_port = (evtchn_port_t)p;
		if (nf->split) {
			p = xen_evtchn_alloc_unbound(be);
			if (p < 0) { printf("netfront: alloc_unbound -> %ld\n", p); return (int)p; }
			q->rx_port = (evtchn_port_t)p;
		}
		xen_evtchn_set_handler(q->tx_port, nf_event, nf);
		xen_evtchn_set_handler(q->rx_port, nf_event, nf);
	}

	r = xenbus_front_write_keys(&nf->fe, nf_write_keys, nf);
	if (r < 0) { printf("netfront: writing the device keys: %s\n", xenbus_strerror(r)); return (int)r; }
	nf->connected = 1;
	for (unsigned k = 0; k < nf->nq; k++) {
		nf->q[k].rx.req_prod_pvt = 0;
		nf->q[k].rx.rsp_cons = 0;
		nf_rx_refill(nf, &nf->q[k]); /* xennet_connect posts the RX buffers before it goes Connected */
	}
	r = xenbus_front_switch(&nf->fe, XenbusStateConnected);
	if (r < 0) { nf->connected = 0; return (int)r; }
	s = xenbus_front_wait(&nf->fe, XenbusStateConnected);
	if (s < 0) {
		printf("netfront: backend did not connect (%ld)\n", s);
		nf->connected = 0;
		return -NF_EIO;
	}
	*out = &nf->nd;
	return 0;
}

int netfront_close(struct netdev *d)
{
	struct netfront *nf = d->priv;
	if (!nf->connected) return -NF_EINVAL;
	nf_tx_gc(nf);
	long r = xenbus_front_close(&nf->fe);
	nf->connected = 0;
	long ended = 0;
	for (unsigned k = 0; k < nf->nq; k++) {
		struct nf_queue *q = &nf->q[k];
		xen_evtchn_close(q->tx_port);
		if (nf->split) xen_evtchn_close(q->rx_port);
		ended |= xen_gnttab_end_access(NF_TX_RING_REF(k)) | xen_gnttab_end_access(NF_RX_RING_REF(k));
		for (unsigned i = 0; i < NETFRONT_RING_SLOTS; i++)
			ended |= xen_gnttab_end_access(NF_TX_REF(k * NETFRONT_RING_SLOTS + i)) | xen_gnttab_end_access(NF_RX_REF(nf->nq, k, i));
	}
	if (r < 0) return (int)r;
	return ended ? -16 /* EBUSY: the backend still maps a page */ : 0;
}

const struct netfront_stats *netfront_stats(struct netdev *d) { return &((struct netfront *)d->priv)->st; }
int netfront_split_evtchn(struct netdev *d) { return ((struct netfront *)d->priv)->split; }
const char *netfront_backend(struct netdev *d) { return ((struct netfront *)d->priv)->fe.backend; }
unsigned netfront_queues(struct netdev *d) { return ((struct netfront *)d->priv)->nq; }
int netfront_queue_packets(struct netdev *d, unsigned q, uint64_t *tx, uint64_t *rx)
{
	struct netfront *nf = d->priv;
	if (q >= nf->nq) return -NF_EINVAL;
	*tx = nf->nq == 1 ? nf->st.tx_packets : nf->q[q].tx_packets;
	*rx = nf->nq == 1 ? nf->st.rx_packets : nf->q[q].rx_packets;
	return 0;
}
