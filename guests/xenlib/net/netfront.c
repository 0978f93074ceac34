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

/* Grant references: the two ring pages, then one per TX and RX buffer (2 grant frames). */
#define NF_TX_RING_REF GNTTAB_NR_RESERVED_ENTRIES
#define NF_RX_RING_REF (NF_TX_RING_REF + 1)
#define NF_TX_REF0 (NF_RX_RING_REF + 1)
#define NF_RX_REF0 (NF_TX_REF0 + NETFRONT_RING_SLOTS)
#define NF_GRANT_FRAMES 2
_Static_assert(NF_RX_REF0 + NETFRONT_RING_SLOTS <= NF_GRANT_FRAMES * 512, "grant refs fit the table");
_Static_assert(NET_TX_RING_SIZE == NETFRONT_RING_SLOTS && NET_RX_RING_SIZE == NETFRONT_RING_SLOTS, "one-page rings");

struct netfront {
	struct netdev nd;
	struct xenbus_front fe;
	struct netif_tx_front_ring tx;
	struct netif_rx_front_ring rx;
	evtchn_port_t tx_port, rx_port; /* equal unless split */
	int split, sg, connected, broken;
	uint16_t tx_free[NETFRONT_RING_SLOTS]; /* stack of free TX buffer ids */
	unsigned tx_nfree;
	int tx_resv; /* a TX buffer handed out by nf_tx_buffer and not sent yet, or -1 */
	uint8_t tx_inuse[NETFRONT_RING_SLOTS];
	volatile uint64_t events;
	struct netfront_stats st;
};

static struct netfront nf0;
static struct netif_tx_sring tx_sring __attribute__((aligned(4096)));
static struct netif_rx_sring rx_sring __attribute__((aligned(4096)));
static uint8_t tx_buf[NETFRONT_RING_SLOTS][4096] __attribute__((aligned(4096)));
static uint8_t rx_buf[NETFRONT_RING_SLOTS][4096] __attribute__((aligned(4096)));
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
static void nf_tx_gc(struct netfront *nf)
{
	RING_IDX prod;
	do {
		prod = nf->tx.sring->rsp_prod;
		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&nf->tx, prod)) {
			printf("netfront: bogus tx rsp_prod %u (rsp_cons %u)\n", prod, nf->tx.rsp_cons);
			nf->broken = 1;
			return;
		}
		for (RING_IDX i = nf->tx.rsp_cons; i != prod; i++) {
			struct netif_tx_response r;
			RING_COPY_RESPONSE(&nf->tx, i, &r);
			if (r.status == NETIF_RSP_NULL) continue; /* an extra_info slot (we send none) */
			if (r.id >= NETFRONT_RING_SLOTS || !nf->tx_inuse[r.id]) {
				/* Linux: "Response has incorrect id", the device is broken */
				printf("netfront: tx response with bad id %u\n", r.id);
				nf->broken = 1;
				nf->tx.rsp_cons = i + 1;
				return;
			}
			nf->tx_inuse[r.id] = 0;
			nf->tx_free[nf->tx_nfree++] = r.id;
			if (r.status == NETIF_RSP_DROPPED) nf->st.tx_dropped++;
			else if (r.status != NETIF_RSP_OKAY) nf->st.tx_err_status++;
		}
		nf->tx.rsp_cons = prod;
		nf->tx.sring->rsp_event = prod + ((nf->tx.sring->req_prod - prod) >> 1) + 1;
		xen_mb();
	} while (prod != nf->tx.sring->rsp_prod);
}

static void nf_tx_push(struct netfront *nf)
{
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->tx, notify);
	if (notify) {
		nf->st.notify_tx++;
		xen_evtchn_send(nf->tx_port);
	}
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
	if (id < 0 || (const uint8_t *)frame != tx_buf[id] + NETDEV_TX_ALIGN || len < 14 || len > 4096 - NETDEV_TX_ALIGN ||
	    !nf->connected || nf->broken || RING_FREE_REQUESTS(&nf->tx) < 1)
		return nf_send_slots(d, frame, len, flags);
	nf->tx_resv = -1;
	nf->st.tx_inplace++;
	nf->tx_inuse[id] = 1;
	struct netif_tx_request *rq = RING_GET_REQUEST(&nf->tx, nf->tx.req_prod_pvt++);
	rq->gref = NF_TX_REF0 + id;
	rq->offset = NETDEV_TX_ALIGN;
	rq->id = (uint16_t)id;
	rq->size = (uint16_t)len;
	/* CHECKSUM_PARTIAL: Linux's xennet_start_xmit sets csum_blank | data_validated */
	rq->flags = flags & NETDEV_TX_CSUM_BLANK ? NETTXF_csum_blank | NETTXF_data_validated : 0;
	nf->st.tx_packets++;
	nf->st.tx_bytes += len;
	nf->st.tx_slots++;
	if (!(flags & NETDEV_TX_MORE)) nf_tx_push(nf);
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
	if (nf->tx_nfree < need || RING_FREE_REQUESTS(&nf->tx) < nslots) nf_tx_gc(nf);
	if (nf->tx_nfree < need || RING_FREE_REQUESTS(&nf->tx) < nslots) {
		nf->st.tx_ring_full++;
		nf_tx_push(nf); /* whatever a batch left unpushed must go, or nothing will free up */
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
		nf->tx_inuse[id] = 1;
		struct netif_tx_request *rq = RING_GET_REQUEST(&nf->tx, nf->tx.req_prod_pvt++);
		rq->gref = NF_TX_REF0 + id;
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
	if (!(flags & NETDEV_TX_MORE)) nf_tx_push(nf);
	return 0;
}

/* ---- RX ----------------------------------------------------------------------------------- */

/* Posts a buffer in every free request slot (slot i <-> buffer i & 255). */
static void nf_rx_refill(struct netfront *nf)
{
	RING_IDX want = nf->rx.rsp_cons + NETFRONT_RING_SLOTS;
	if (nf->rx.req_prod_pvt == want) return;
	for (RING_IDX j = nf->rx.req_prod_pvt; j != want; j++) {
		struct netif_rx_request *rq = RING_GET_REQUEST(&nf->rx, j);
		rq->id = (uint16_t)(j & (NETFRONT_RING_SLOTS - 1));
		rq->gref = NF_RX_REF0 + (j & (NETFRONT_RING_SLOTS - 1));
	}
	nf->rx.req_prod_pvt = want;
	int notify;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&nf->rx, notify);
	if (notify) {
		nf->st.notify_rx++;
		xen_evtchn_send(nf->rx_port);
	}
}

/* One packet starting at rsp_cons, if all of its slots are there (else 0: wait for the rest).
 * Returns 1 and *len/*flags/*data (NULL when it was bad and is dropped), consuming its slots. */
static int nf_rx_one(struct netfront *nf, RING_IDX prod, const uint8_t **data, uint32_t *len, uint32_t *flags)
{
	RING_IDX i = nf->rx.rsp_cons;
	uint32_t total = 0;
	unsigned slots = 0;
	int err = 0;
	const uint8_t *single = 0;
	uint16_t first_flags = 0;
	for (;;) {
		if (i == prod) return 0;
		struct netif_rx_response r;
		RING_COPY_RESPONSE(&nf->rx, i, &r); /* one read of the shared slot */
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
				single = rx_buf[buf] + r.offset; /* one slot: hand the buffer up in place */
			else
				netdev_copy(rx_frame + total, rx_buf[buf] + r.offset, (uint32_t)r.status);
			total += (uint32_t)r.status;
		}
		/* extra_info slots follow the first response (Linux's xennet_get_extras) */
		if (slots == 1 && (r.flags & NETRXF_extra_info)) {
			struct netif_extra_info ex;
			do {
				if (i == prod) return 0;
				memcpy(&ex, (const void *)RING_GET_RESPONSE(&nf->rx, i), sizeof ex);
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
	nf->rx.rsp_cons = i;
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
__attribute__((aligned(2048))) static int nf_poll(struct netdev *d, netdev_rx_fn fn, void *arg, unsigned budget)
{
	struct netfront *nf = d->priv;
	if (!nf->connected || nf->broken) return -NETDEV_EIO;
	nf_tx_gc(nf);
	int n = 0;
	while ((unsigned)n < budget) {
		RING_IDX prod = nf->rx.sring->rsp_prod;
		xen_rmb();
		if (RING_RESPONSE_PROD_OVERFLOW(&nf->rx, prod)) {
			printf("netfront: bogus rx rsp_prod %u (rsp_cons %u)\n", prod, nf->rx.rsp_cons);
			nf->broken = 1;
			return -NETDEV_EIO;
		}
		const uint8_t *data;
		uint32_t len, flags;
		if (nf->rx.rsp_cons == prod || !nf_rx_one(nf, prod, &data, &len, &flags)) {
			/* nothing (complete) left: ask for an event on the next response, then look again */
			nf->rx.sring->rsp_event = nf->rx.rsp_cons + 1;
			xen_mb();
			if (nf->rx.sring->rsp_prod != prod) continue;
			break;
		}
		if (data) {
			fn(arg, data, len, flags);
			n++;
		}
		if ((RING_IDX)(nf->rx.rsp_cons - nf->rx.req_prod_pvt + NETFRONT_RING_SLOTS) >= NETFRONT_RING_SLOTS / 2)
			nf_rx_refill(nf); /* keep the backend fed while a burst is handled */
	}
	nf_rx_refill(nf);
	if (nf->broken) return -NETDEV_EIO;
	return n;
}

static int nf_has_work(struct netfront *nf)
{
	return nf->rx.sring->rsp_prod != nf->rx.rsp_cons || nf->tx.sring->rsp_prod != nf->tx.rsp_cons;
}

static void nf_wait(struct netdev *d, uint64_t deadline)
{
	struct netfront *nf = d->priv;
	uint64_t k = nf->events;
	nf->st.waits++;
	/* ask for an event on the next RX response and the next TX completion (a poll that ended on
	 * its budget left rsp_event behind), then look once more: RING_FINAL_CHECK_FOR_RESPONSES */
	nf->rx.sring->rsp_event = nf->rx.rsp_cons + 1;
	nf->tx.sring->rsp_event = nf->tx.rsp_cons + 1;
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

int netfront_open(unsigned devid, struct netdev **out)
{
	struct netfront *nf = &nf0;
	char buf[32];
	if (nf->connected) return -NF_EINVAL; /* one vif per program */
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

	r = xen_gnttab_setup(NF_GRANT_FRAMES);
	if (r < 0) { printf("netfront: grant table setup -> %ld\n", r); return (int)r; }
	memset(&tx_sring, 0, sizeof tx_sring);
	memset(&rx_sring, 0, sizeof rx_sring);
	XEN_FRONT_RING_INIT(&nf->tx, &tx_sring, 4096);
	XEN_FRONT_RING_INIT(&nf->rx, &rx_sring, 4096);
	uint16_t be = nf->fe.backend_id;
	xen_gnttab_grant(NF_TX_RING_REF, be, (uintptr_t)&tx_sring >> 12, 0);
	xen_gnttab_grant(NF_RX_RING_REF, be, (uintptr_t)&rx_sring >> 12, 0);
	for (unsigned i = 0; i < NETFRONT_RING_SLOTS; i++) {
		xen_gnttab_grant(NF_TX_REF0 + i, be, (uintptr_t)tx_buf[i] >> 12, 1);
		xen_gnttab_grant(NF_RX_REF0 + i, be, (uintptr_t)rx_buf[i] >> 12, 0);
		nf->tx_free[i] = (uint16_t)(NETFRONT_RING_SLOTS - 1 - i);
		nf->tx_inuse[i] = 0;
	}
	nf->tx_nfree = NETFRONT_RING_SLOTS;
	nf->tx_resv = -1;

	long p = xen_evtchn_alloc_unbound(be);
	if (p < 0) { printf("netfront: alloc_unbound -> %ld\n", p); return (int)p; }
	nf->tx_port = nf->rx_port = (evtchn_port_t)p;
	if (nf->split) {
		p = xen_evtchn_alloc_unbound(be);
		if (p < 0) { printf("netfront: alloc_unbound -> %ld\n", p); return (int)p; }
		nf->rx_port = (evtchn_port_t)p;
	}
	xen_evtchn_set_handler(nf->tx_port, nf_event, nf);
	xen_evtchn_set_handler(nf->rx_port, nf_event, nf);

	/* talk_to_netback's keys (single queue: flat, no queue-N/) */
	xenbus_front_write_ulong(&nf->fe, "tx-ring-ref", NF_TX_RING_REF);
	xenbus_front_write_ulong(&nf->fe, "rx-ring-ref", NF_RX_RING_REF);
	if (nf->split) {
		xenbus_front_write_ulong(&nf->fe, "event-channel-tx", nf->tx_port);
		xenbus_front_write_ulong(&nf->fe, "event-channel-rx", nf->rx_port);
	} else {
		xenbus_front_write_ulong(&nf->fe, "event-channel", nf->tx_port);
	}
	xenbus_front_write(&nf->fe, "request-rx-copy", "1");
	xenbus_front_write(&nf->fe, "feature-rx-notify", "1");
	xenbus_front_write(&nf->fe, "feature-sg", "1");
	nf->rx.req_prod_pvt = 0;
	nf->rx.rsp_cons = 0;
	nf->connected = 1;
	nf_rx_refill(nf); /* xennet_connect posts the RX buffers before it goes Connected */
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
	xen_evtchn_close(nf->tx_port);
	if (nf->split) xen_evtchn_close(nf->rx_port);
	long ended = xen_gnttab_end_access(NF_TX_RING_REF) | xen_gnttab_end_access(NF_RX_RING_REF);
	for (unsigned i = 0; i < NETFRONT_RING_SLOTS; i++)
		ended |= xen_gnttab_end_access(NF_TX_REF0 + i) | xen_gnttab_end_access(NF_RX_REF0 + i);
	if (r < 0) return (int)r;
	return ended ? -16 /* EBUSY: the backend still maps a page */ : 0;
}

const struct netfront_stats *netfront_stats(struct netdev *d) { return &((struct netfront *)d->priv)->st; }
int netfront_split_evtchn(struct netdev *d) { return ((struct netfront *)d->priv)->split; }
const char *netfront_backend(struct netdev *d) { return ((struct netfront *)d->priv)->fe.backend; }
