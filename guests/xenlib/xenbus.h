/* xenbus.h - a synchronous xenstore client over the ring page start_info advertises
 * (header-only, allocation-free, one request at a time; include from a single .c file).
 *
 * start_info.store_mfn is the ring's guest frame number on Tachyxx (translated guests name
 * their own frames, as HVM_PARAM_STORE_PFN on HVM/Arm), store_evtchn the port to xenstored.
 * Protocol: struct xenstore_domain_interface (xs_wire.h): the guest produces requests into
 * req[1024] (req_prod) and consumes replies / watch events from rsp[1024] (rsp_cons), notifying
 * the store port after either. Replies are matched in order; watch events that arrive while a
 * request is outstanding are queued (XENBUS_WATCH_QUEUE slots) for xenbus_wait_watch().
 *
 *     xenbus_init();
 *     char v[64]; long n = xenbus_read("name", v, sizeof v);    // relative: /local/domain/<id>/
 *     xenbus_write("data/key", "value");
 *     xenbus_watch("data/key", "tok");  xenbus_wait_watch(path, 64, tok, 16);
 *
 * Errors are -errno (xenstored's names mapped back: ENOENT -> -2, EACCES -> -13, ...). */
#ifndef TACHYXX_XENLIB_XENBUS_H
#define TACHYXX_XENLIB_XENBUS_H
#include "evtchn.h"

enum xsd_sockmsg_type {
	XS_CONTROL, XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH, XS_TRANSACTION_START,
	XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE, XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR, XS_RM,
	XS_SET_PERMS, XS_WATCH_EVENT, XS_ERROR, XS_IS_DOMAIN_INTRODUCED, XS_RESUME, XS_SET_TARGET,
	/* 20 (XS_RESTRICT) was removed */
	XS_RESET_WATCHES = XS_SET_TARGET + 2, XS_DIRECTORY_PART,
	XS_TYPE_COUNT,       /* Xen 4.17's number of types */
	XS_INVALID = 0xffff, /* never a valid type */
};
enum xs_watch_type { XS_WATCH_PATH = 0, XS_WATCH_TOKEN };
struct xsd_sockmsg { uint32_t type, req_id, tx_id, len; };

#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096
#define XENSTORE_ABS_PATH_MAX 3072
#define XENSTORE_REL_PATH_MAX 2048
#define XENSTORE_SERVER_FEATURE_RECONNECTION 1
#define XENSTORE_SERVER_FEATURE_ERROR        2
#define XENSTORE_CONNECTED 0
#define XENSTORE_RECONNECT 1
#define XENSTORE_ERROR_NONE    0
#define XENSTORE_ERROR_COMM    1
#define XENSTORE_ERROR_RINGIDX 2
#define XENSTORE_ERROR_PROTO   3
#define MASK_XENSTORE_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))
struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];
	char rsp[XENSTORE_RING_SIZE];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
	uint32_t server_features, connection, error;
};
_Static_assert(__builtin_offsetof(struct xenstore_domain_interface, error) == 2072, "xenstore_domain_interface layout");

#ifndef XENBUS_WATCH_QUEUE
#define XENBUS_WATCH_QUEUE 8
#endif
#define XENBUS_WATCH_MAX 256

static volatile struct xenstore_domain_interface *xb_intf;
static evtchn_port_t xb_port;
static uint32_t xb_req_id;
static struct { uint32_t len; char data[XENBUS_WATCH_MAX]; } xb_watchq[XENBUS_WATCH_QUEUE];
static unsigned xb_wq_head, xb_wq_tail;
static volatile uint64_t xb_kicks;

static const char *const xb_errnames[] = {
	"EPERM", "ENOENT", 0, 0, "EIO", 0, "E2BIG", 0, 0, 0, "EAGAIN", "ENOMEM", "EACCES", 0, 0, "EBUSY",
	"EEXIST", 0, 0, 0, "EISDIR", "EINVAL", 0, 0, 0, 0, 0, "ENOSPC", 0, "EROFS", 0, 0, 0, 0, 0, 0,
	"ENOSYS", "ENOTEMPTY",
};
/* "ENOENT" for -2 etc. (for printing). */
static inline const char *xenbus_strerror(long err)
{
	long e = -err;
	if (e == 106) return "EISCONN";
	if (e == 38) return "ENOSYS";
	if (e == 39) return "ENOTEMPTY";
	if (e >= 1 && e <= 36 && xb_errnames[e - 1]) return xb_errnames[e - 1];
	return "E?";
}
static inline long xb_errno(const char *name)
{
	if (!strcmp(name, "EISCONN")) return -106;
	if (!strcmp(name, "ENOSYS")) return -38;
	if (!strcmp(name, "ENOTEMPTY")) return -39;
	for (unsigned i = 0; i < ARRAY_SIZE(xb_errnames); i++)
		if (xb_errnames[i] && !strcmp(xb_errnames[i], name)) return -(long)(i + 1);
	return -XEN_EINVAL;
}

static void xb_handler(evtchn_port_t port, void *arg) { xb_kicks++; }

/* 0, or -1 when there is no store (bare, or a host without xenstore). */
static inline int xenbus_init(void)
{
	if (!boot_start_info || !boot_start_info->store_mfn || !boot_start_info->store_evtchn) return -1;
	if (!(csr_read(CSR_SIE) & SIE_SEIE) && xen_evtchn_init() < 0) return -1;
	xb_intf = (volatile struct xenstore_domain_interface *)(uintptr_t)(boot_start_info->store_mfn << 12);
	xb_port = boot_start_info->store_evtchn;
	xen_evtchn_set_handler(xb_port, xb_handler, 0);
	return 0;
}

static inline evtchn_port_t xenbus_port(void) { return xb_port; }

static inline void xb_write_bytes(const void *data, uint32_t len)
{
	const char *p = data;
	while (len) {
		uint32_t prod = xb_intf->req_prod;
		xen_wait_until((uint32_t)(xb_intf->req_prod - xb_intf->req_cons) < XENSTORE_RING_SIZE);
		uint32_t space = XENSTORE_RING_SIZE - (prod - xb_intf->req_cons);
		uint32_t contig = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(prod);
		uint32_t n = len < space ? len : space;
		if (n > contig) n = contig;
		memcpy((char *)xb_intf->req + MASK_XENSTORE_IDX(prod), p, n);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		xb_intf->req_prod = prod + n;
		p += n;
		len -= n;
		xen_evtchn_send(xb_port);
	}
}

/* Reads len bytes of the response stream into dst (NULL: discard). */
static inline void xb_read_bytes(void *dst, uint32_t len)
{
	char *p = dst;
	while (len) {
		xen_wait_until(xb_intf->rsp_prod != xb_intf->rsp_cons);
		uint32_t cons = xb_intf->rsp_cons;
		uint32_t avail = xb_intf->rsp_prod - cons;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		uint32_t contig = XENSTORE_RING_SIZE - MASK_XENSTORE_IDX(cons);
		uint32_t n = len < avail ? len : avail;
		if (n > contig) n = contig;
		if (p) {
			memcpy(p, (const char *)xb_intf->rsp + MASK_XENSTORE_IDX(cons), n);
			p += n;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		xb_intf->rsp_cons = cons + n;
		len -= n;
		xen_evtchn_send(xb_port);
	}
}

static inline uint32_t xb_strnlen(const char *s, uint32_t max)
{
	uint32_t n = 0;
	while (n < max && s[n]) n++;
	return n;
}

/* Payload of `len` bytes into dst (NUL-terminated, truncated to cap - 1; cap 0 = discard). */
static inline void xb_read_payload(char *dst, uint32_t cap, uint32_t len)
{
	uint32_t keep = cap ? (len < cap - 1 ? len : cap - 1) : 0;
	xb_read_bytes(dst, keep);
	xb_read_bytes(0, len - keep);
	if (cap) dst[keep] = 0;
}

/* A watch event's payload: queued, or dropped when the queue is full. */
static inline void xb_queue_watch(uint32_t len)
{
	if (xb_wq_tail - xb_wq_head < XENBUS_WATCH_QUEUE) {
		unsigned slot = xb_wq_tail++ % XENBUS_WATCH_QUEUE;
		uint32_t keep = len < XENBUS_WATCH_MAX ? len : XENBUS_WATCH_MAX;
		xb_read_bytes(xb_watchq[slot].data, keep);
		xb_read_bytes(0, len - keep);
		xb_watchq[slot].len = keep;
	} else {
		xb_read_bytes(0, len);
	}
}

/* One request: the arguments are NUL-terminated strings sent with their NULs, except the last
 * when `last_raw` (XS_WRITE's value). Returns the reply's payload length, or -errno. */
static inline long xenbus_request(uint32_t type, uint32_t tx, const char *const *args, unsigned nargs, int last_raw,
				  char *reply, uint32_t cap)
{
	if (!xb_intf) return -XEN_EINVAL;
	if (xb_intf->error) return -5; /* EIO: xenstored stopped talking to us */
	struct xsd_sockmsg h = { type, ++xb_req_id, tx, 0 };
	for (unsigned i = 0; i < nargs; i++) h.len += strlen(args[i]) + (last_raw && i == nargs - 1 ? 0 : 1);
	if (h.len > XENSTORE_PAYLOAD_MAX) return -7; /* E2BIG */
	xb_write_bytes(&h, sizeof h);
	for (unsigned i = 0; i < nargs; i++) xb_write_bytes(args[i], strlen(args[i]) + (last_raw && i == nargs - 1 ? 0 : 1));
	char errbuf[16];
	for (;;) {
		struct xsd_sockmsg r;
		xb_read_bytes(&r, sizeof r);
		uint32_t len = r.len > XENSTORE_PAYLOAD_MAX ? XENSTORE_PAYLOAD_MAX : r.len;
		if (r.type == XS_WATCH_EVENT) {
			xb_queue_watch(len);
			continue;
		}
		if (r.type == XS_ERROR) {
			xb_read_payload(errbuf, sizeof errbuf, len);
			return xb_errno(errbuf);
		}
		xb_read_payload(reply, cap, len);
		return (long)len;
	}
}

static inline long xenbus_read(const char *path, char *buf, uint32_t cap)
{
	const char *a[] = { path };
	return xenbus_request(XS_READ, 0, a, 1, 0, buf, cap);
}
/* XS_WRITE inside transaction `tx` (0: none). */
static inline long xenbus_write_tx(uint32_t tx, const char *path, const char *value)
{
	const char *a[] = { path, value };
	long r = xenbus_request(XS_WRITE, tx, a, 2, 1, 0, 0);
	return r < 0 ? r : 0;
}
static inline long xenbus_write(const char *path, const char *value) { return xenbus_write_tx(0, path, value); }

/* XS_TRANSACTION_START: the new transaction's id in *tx (the reply is its decimal string). */
static inline long xenbus_transaction_start(uint32_t *tx)
{
	const char *a[] = { "" };
	char buf[16];
	long r = xenbus_request(XS_TRANSACTION_START, 0, a, 1, 0, buf, sizeof buf - 1);
	if (r < 0) return r;
	buf[r < (long)sizeof buf ? r : (long)sizeof buf - 1] = 0;
	uint32_t v = 0;
	int any = 0;
	for (const char *c = buf; *c >= '0' && *c <= '9'; c++, any = 1) v = v * 10 + (uint32_t)(*c - '0');
	if (!any || v == 0) return -XEN_EINVAL;
	*tx = v;
	return 0;
}
/* XS_TRANSACTION_END: commit ("T") or abort ("F"); -EAGAIN when a commit conflicted (start again). */
static inline long xenbus_transaction_end(uint32_t tx, int abort)
{
	const char *a[] = { abort ? "F" : "T" };
	long r = xenbus_request(XS_TRANSACTION_END, tx, a, 1, 0, 0, 0);
	return r < 0 ? r : 0;
}
static inline long xenbus_mkdir(const char *path)
{
	const char *a[] = { path };
	long r = xenbus_request(XS_MKDIR, 0, a, 1, 0, 0, 0);
	return r < 0 ? r : 0;
}
static inline long xenbus_rm(const char *path)
{
	const char *a[] = { path };
	long r = xenbus_request(XS_RM, 0, a, 1, 0, 0, 0);
	return r < 0 ? r : 0;
}
/* Children as NUL-separated names in buf; returns the payload length. */
static inline long xenbus_directory(const char *path, char *buf, uint32_t cap)
{
	const char *a[] = { path };
	return xenbus_request(XS_DIRECTORY, 0, a, 1, 0, buf, cap);
}
/* perms: "b1", "r2", ... (the first is the owner and everyone else's access). */
static inline long xenbus_set_perms(const char *path, const char *const *perms, unsigned n)
{
	const char *a[8];
	if (n > 7) return -XEN_EINVAL;
	a[0] = path;
	for (unsigned i = 0; i < n; i++) a[i + 1] = perms[i];
	long r = xenbus_request(XS_SET_PERMS, 0, a, n + 1, 0, 0, 0);
	return r < 0 ? r : 0;
}
static inline long xenbus_watch(const char *path, const char *token)
{
	const char *a[] = { path, token };
	long r = xenbus_request(XS_WATCH, 0, a, 2, 0, 0, 0);
	return r < 0 ? r : 0;
}
static inline long xenbus_unwatch(const char *path, const char *token)
{
	const char *a[] = { path, token };
	long r = xenbus_request(XS_UNWATCH, 0, a, 2, 0, 0, 0);
	return r < 0 ? r : 0;
}

/* Blocks for the next watch event: copies its path and token (NUL-terminated). Returns 0. */
static inline long xenbus_wait_watch(char *path, uint32_t pcap, char *token, uint32_t tcap)
{
	if (!xb_intf) return -XEN_EINVAL;
	while (xb_wq_head == xb_wq_tail) {
		struct xsd_sockmsg r;
		if (xb_intf->error) return -5;
		xb_read_bytes(&r, sizeof r);
		uint32_t len = r.len > XENSTORE_PAYLOAD_MAX ? XENSTORE_PAYLOAD_MAX : r.len;
		if (r.type == XS_WATCH_EVENT) xb_queue_watch(len);
		else xb_read_payload(0, 0, len); /* a stray reply: ignore */
	}
	unsigned slot = xb_wq_head++ % XENBUS_WATCH_QUEUE;
	const char *d = xb_watchq[slot].data;
	uint32_t len = xb_watchq[slot].len, plen = xb_strnlen(d, len);
	uint32_t n = plen < pcap - 1 ? plen : pcap - 1;
	memcpy(path, d, n);
	path[n] = 0;
	const char *t = plen < len ? d + plen + 1 : d + len;
	uint32_t tlen = xb_strnlen(t, len - (uint32_t)(t - d));
	n = tlen < tcap - 1 ? tlen : tcap - 1;
	memcpy(token, t, n);
	token[n] = 0;
	return 0;
}

#endif
