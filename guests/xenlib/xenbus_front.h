/* xenbus_front.h - the frontend's half of the XenBus handshake (Linux's xenbus_probe_frontend +
 * xenbus_switch_state / xenbus_watch_otherend), over xenbus.h's xenstore client:
 *
 *     struct xenbus_front fe;
 *     xenbus_front_open(&fe, "echo", 0);              // device/echo/0: backend path, backend-id
 *     xenbus_front_wait(&fe, XenbusStateInitWait);      // the backend probed the device
 *     ... grant the ring, alloc_unbound(fe.backend_id), write ring-ref / event-channel ...
 *     xenbus_front_switch(&fe, XenbusStateInitialised);
 *     xenbus_front_wait(&fe, XenbusStateConnected);
 *     xenbus_front_switch(&fe, XenbusStateConnected);
 *     ... use the ring ...
 *     xenbus_front_close(&fe);                          // Closing, backend Closing/Closed, Closed
 *
 * xenbus_front_wait returns the backend state once it reaches `want`, or (< 0) the backend's
 * state negated when it went to Closing/Closed instead (the device was shut: the frontend's error
 * path), or a xenstore -errno. States are io/xenbus.h's. Include from a single .c file. */
#ifndef TACHYXX_XENLIB_XENBUS_FRONT_H
#define TACHYXX_XENLIB_XENBUS_FRONT_H
#include "xenbus.h"
#include "io/xenbus.h"

struct xenbus_front {
	char dir[64];       /* device/KIND/N (relative: /local/domain/<self>/device/KIND/N) */
	char backend[96];   /* the backend's directory */
	uint16_t backend_id;
	char token[16];
	uint32_t tx;        /* the transaction xenbus_front_write joins (0: none; xenbus_front_write_keys) */
};

static inline long xf_to_long(const char *s)
{
	long v = 0;
	int any = 0;
	for (; *s >= '0' && *s <= '9'; s++, any = 1) v = v * 10 + (*s - '0');
	return any ? v : -1;
}

/* Reads a key of the device dir into buf; < 0 when missing. */
static inline long xenbus_front_read(struct xenbus_front *fe, const char *key, char *buf, uint32_t cap)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", fe->dir, key);
	long r = xenbus_read(path, buf, cap);
	if (r < 0) buf[0] = 0;
	return r;
}

static inline long xenbus_front_write(struct xenbus_front *fe, const char *key, const char *value)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", fe->dir, key);
	return xenbus_write_tx(fe->tx, path, value);
}

static inline long xenbus_front_write_ulong(struct xenbus_front *fe, const char *key, unsigned long v)
{
	char buf[24];
	snprintf(buf, sizeof buf, "%lu", v);
	return xenbus_front_write(fe, key, buf);
}

/* The backend's state (XenbusStateUnknown when its node is missing or unreadable). */
static inline int xenbus_front_backend_state(struct xenbus_front *fe)
{
	char path[128], buf[16];
	snprintf(path, sizeof path, "%s/state", fe->backend);
	if (xenbus_read(path, buf, sizeof buf) < 0) return XenbusStateUnknown;
	long s = xf_to_long(buf);
	return s < 0 ? XenbusStateUnknown : (int)s;
}

/* Finds device/KIND/N, reads backend and backend-id, watches the backend's state node. */
static inline long xenbus_front_open(struct xenbus_front *fe, const char *kind, unsigned devid)
{
	char buf[16], path[128];
	snprintf(fe->dir, sizeof fe->dir, "device/%s/%u", kind, devid);
	fe->tx = 0;
	snprintf(fe->token, sizeof fe->token, "fe%u", devid);
	long r = xenbus_front_read(fe, "backend", fe->backend, sizeof fe->backend);
	if (r < 0) return r;
	r = xenbus_front_read(fe, "backend-id", buf, sizeof buf);
	if (r < 0) return r;
	long id = xf_to_long(buf);
	if (id < 0 || id > 0x7fef) return -XEN_EINVAL;
	fe->backend_id = (uint16_t)id;
	snprintf(path, sizeof path, "%s/state", fe->backend);
	return xenbus_watch(path, fe->token);
}

/* Linux's talk_to_netback / talk_to_blkback: the device keys `write_keys` writes (with
 * xenbus_front_write, which joins the transaction) go in one xenstore transaction, started again
 * while the commit answers EAGAIN (another writer changed what it touched), so the backend never
 * reads half of them. A write that fails aborts it. 0 or < 0 (the first error). */
static inline long xenbus_front_write_keys(struct xenbus_front *fe, long (*write_keys)(struct xenbus_front *, void *), void *arg)
{
	for (int tries = 0; tries < 16; tries++) {
		uint32_t tx;
		long r = xenbus_transaction_start(&tx);
		if (r < 0) return r;
		fe->tx = tx;
		r = write_keys(fe, arg);
		fe->tx = 0;
		if (r < 0) { xenbus_transaction_end(tx, 1); return r; }
		r = xenbus_transaction_end(tx, 0);
		if (r != -11) return r; /* -EAGAIN: again */
	}
	return -11;
}

/* xenbus_switch_state: writes our state node. */
static inline long xenbus_front_switch(struct xenbus_front *fe, int state)
{
	return xenbus_front_write_ulong(fe, "state", (unsigned long)state);
}

/* Blocks (on watch events) until the backend is in `want`; see the header comment. */
static inline long xenbus_front_wait(struct xenbus_front *fe, int want)
{
	char path[128], tok[16];
	for (;;) {
		int s = xenbus_front_backend_state(fe);
		if (s == want) return s;
		if ((s == XenbusStateClosing || s == XenbusStateClosed) && want != XenbusStateClosing && want != XenbusStateClosed)
			return -s;
		long r = xenbus_wait_watch(path, sizeof path, tok, sizeof tok);
		if (r < 0) return r;
	}
}

/* The frontend's close: Closing, wait for the backend to close, Closed (xenbus_frontend_closed). */
static inline long xenbus_front_close(struct xenbus_front *fe)
{
	long r = xenbus_front_switch(fe, XenbusStateClosing);
	if (r < 0) return r;
	int s;
	while ((s = xenbus_front_backend_state(fe)) != XenbusStateClosing && s != XenbusStateClosed) {
		char path[128], tok[16];
		r = xenbus_wait_watch(path, sizeof path, tok, sizeof tok);
		if (r < 0) return r;
	}
	return xenbus_front_switch(fe, XenbusStateClosed);
}

#endif
