/* vchan.h - a vchan-like byte channel on one shared page + an interdomain event channel, and
 * the demo's deterministic message stream (guests/vchan-server, guests/vchan-client and the
 * TypeScript peer in packages/grant/src/vchan.ts implement the same layout and stream).
 *
 * Page layout (4096 bytes, granted by the server, mapped by the client):
 *     0   u32 s2c_prod, s2c_cons     server -> client ring indexes (free-running)
 *     8   u32 c2s_prod, c2s_cons     client -> server
 *   1024  u8  s2c[1024]              data, index & 1023
 *   2048  u8  c2s[1024]
 * The producer writes data, then (after a fence) prod; the consumer reads, then cons; either
 * side notifies the peer's port after producing or consuming.
 *
 * xenstore rendezvous under the server's /local/domain/<S>/data/vchan/ :
 *   state  "waiting" (server, everyone may write) -> "ready" (server) -> "connected" (client)
 *          -> "closed" (client, after unmapping)
 *   client  the client's domid (written by the client; everyone may write)
 *   ring-ref, event-channel   grant ref of the page and the server's port (readable by the client)
 *
 * Stream: message i of direction d (0 = s2c, 1 = c2s) is a frame [u16 len][u16 seq][len bytes],
 * len = 1 + h % 200, byte j = (h >> (8 * (j & 3))) ^ j, h = vchan_hash(d, i). Checksums are
 * FNV-1a 32 over the payload bytes. */
#ifndef TACHYXX_XENLIB_VCHAN_H
#define TACHYXX_XENLIB_VCHAN_H
#include "tachyxx.h"

#define VCHAN_RING 1024u
struct vchan_idx { uint32_t prod, cons; };
struct vchan_page {
	struct vchan_idx s2c, c2s;
	uint8_t _pad[VCHAN_RING - 16];
	uint8_t s2c_data[VCHAN_RING];
	uint8_t c2s_data[VCHAN_RING];
};
_Static_assert(__builtin_offsetof(struct vchan_page, s2c_data) == 1024, "vchan layout");
_Static_assert(__builtin_offsetof(struct vchan_page, c2s_data) == 2048, "vchan layout");

static inline uint32_t vchan_ring_write(volatile struct vchan_idx *x, volatile uint8_t *data, const uint8_t *src, uint32_t len)
{
	uint32_t prod = x->prod, cons = x->cons;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t used = prod - cons;
	if (used > VCHAN_RING) return 0; /* a broken peer: write nothing */
	uint32_t n = VCHAN_RING - used;
	if (n > len) n = len;
	for (uint32_t i = 0; i < n; i++) data[(prod + i) & (VCHAN_RING - 1)] = src[i];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	x->prod = prod + n;
	return n;
}

static inline uint32_t vchan_ring_read(volatile struct vchan_idx *x, volatile const uint8_t *data, uint8_t *dst, uint32_t len)
{
	uint32_t prod = x->prod, cons = x->cons;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t avail = prod - cons;
	if (avail > VCHAN_RING) return 0;
	uint32_t n = avail < len ? avail : len;
	for (uint32_t i = 0; i < n; i++) dst[i] = data[(cons + i) & (VCHAN_RING - 1)];
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	x->cons = cons + n;
	return n;
}

/* ---- the demo stream ---------------------------------------------------------------------- */

static inline uint32_t vchan_hash(uint32_t dir, uint32_t i)
{
	uint32_t h = (dir + 1) * 0x9E3779B9u ^ (i * 0x85EBCA6Bu);
	h ^= h >> 16;
	h *= 0x7FEB352Du;
	h ^= h >> 15;
	return h;
}
static inline uint32_t vchan_fnv(uint32_t f, uint8_t b) { return (f ^ b) * 16777619u; }
#define VCHAN_FNV_INIT 2166136261u

struct vchan_tx { uint32_t dir, msg, off, len, bytes, fnv; uint8_t frame[4 + 256]; };
struct vchan_rx { uint32_t dir, msg, have, bytes, fnv, bad; uint8_t frame[4 + 256]; };

static inline void vchan_stream_init(struct vchan_tx *tx, struct vchan_rx *rx, uint32_t txdir)
{
	memset(tx, 0, sizeof *tx);
	memset(rx, 0, sizeof *rx);
	tx->dir = txdir;
	rx->dir = txdir ^ 1;
	tx->fnv = rx->fnv = VCHAN_FNV_INIT;
}

/* Sends as much of messages [msg, n) as the ring takes; returns bytes written. */
static inline uint32_t vchan_tx_pump(struct vchan_tx *tx, uint32_t n, volatile struct vchan_idx *x, volatile uint8_t *data)
{
	uint32_t total = 0;
	while (tx->msg < n) {
		if (tx->off == tx->len) {
			uint32_t h = vchan_hash(tx->dir, tx->msg), len = 1 + h % 200;
			tx->frame[0] = len & 0xff; tx->frame[1] = len >> 8;
			tx->frame[2] = tx->msg & 0xff; tx->frame[3] = (tx->msg >> 8) & 0xff;
			for (uint32_t j = 0; j < len; j++) {
				uint8_t b = (uint8_t)((h >> (8 * (j & 3))) ^ j);
				tx->frame[4 + j] = b;
				tx->fnv = vchan_fnv(tx->fnv, b);
			}
			tx->bytes += len;
			tx->off = 0;
			tx->len = 4 + len;
		}
		uint32_t w = vchan_ring_write(x, data, tx->frame + tx->off, tx->len - tx->off);
		if (!w) break;
		total += w;
		tx->off += w;
		if (tx->off == tx->len) { tx->msg++; tx->off = tx->len = 0; }
	}
	return total;
}

/* Consumes everything available, checking every frame; returns bytes read. */
static inline uint32_t vchan_rx_pump(struct vchan_rx *rx, volatile struct vchan_idx *x, volatile const uint8_t *data)
{
	uint32_t total = 0;
	for (;;) {
		uint32_t need = rx->have < 4 ? 4 : 4u + (rx->frame[0] | (uint32_t)rx->frame[1] << 8);
		if (need > sizeof rx->frame) { rx->bad++; need = sizeof rx->frame; }
		uint32_t r = vchan_ring_read(x, data, rx->frame + rx->have, need - rx->have);
		if (!r) break;
		total += r;
		rx->have += r;
		if (rx->have < 4 || rx->have < need || need == 4) continue;
		uint32_t len = need - 4, h = vchan_hash(rx->dir, rx->msg);
		if ((rx->frame[2] | (uint32_t)rx->frame[3] << 8) != (rx->msg & 0xffff) || len != 1 + h % 200) rx->bad++;
		for (uint32_t j = 0; j < len; j++) {
			uint8_t b = rx->frame[4 + j];
			if (b != (uint8_t)((h >> (8 * (j & 3))) ^ j)) rx->bad++;
			rx->fnv = vchan_fnv(rx->fnv, b);
		}
		rx->bytes += len;
		rx->msg++;
		rx->have = 0;
	}
	return total;
}

/* ---- event-channel check shared by both programs ------------------------------------------- */
#ifdef TACHYXX_XENLIB_EVTCHN_H
static volatile uint64_t vchan_ipi_hits;
static void vchan_ipi_handler(evtchn_port_t port, void *arg) { vchan_ipi_hits++; }
/* Masking on the ABI in use: an IPI sent to a masked port stays pending and undelivered; unmask
 * (EVTCHNOP_unmask because it is pending) delivers it once. Prints one line. */
static inline int vchan_check_masked_ipi(void)
{
	long p = xen_evtchn_bind_ipi(0);
	if (p <= 0) { printf("masked IPI: bind_ipi -> %ld\n", p); return -1; }
	evtchn_port_t port = (evtchn_port_t)p;
	xen_evtchn_set_handler(port, vchan_ipi_handler, 0);
	/* the bind may not raise anything; drain whatever is there */
	xen_evtchn_mask(port);
	xen_evtchn_send(port);
	int held = xen_evtchn_is_pending(port) && vchan_ipi_hits == 0;
	xen_irq_enable(); /* a (wrong) upcall would run here */
	csr_set(CSR_SIE, SIE_SEIE);
	for (int i = 0; i < 100; i++) __asm__ volatile("nop");
	held = held && vchan_ipi_hits == 0;
	xen_evtchn_unmask(port);
	xen_wait_until(vchan_ipi_hits != 0);
	int once = vchan_ipi_hits == 1 && !xen_evtchn_is_pending(port);
	xen_evtchn_set_handler(port, 0, 0);
	xen_evtchn_close(port);
	printf("masked IPI: %s while masked, %s on unmask\n", held ? "held" : "DELIVERED", once ? "delivered once" : "NOT delivered once");
	return held && once ? 0 : -1;
}
#endif

#endif
