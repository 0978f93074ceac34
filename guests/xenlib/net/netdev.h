/* netdev.h - the interface between a network driver (netfront.c today; a future SR-IOV VF
 * driver) and the guests' network stack (net.c). A driver fills a struct netdev and its ops;
 * the stack only calls through it, so any driver can sit under the same stack.
 *
 *   send(dev, frame, len, flags)   queue one Ethernet frame (no FCS) for transmission.
 *                                  0, or -NETDEV_EAGAIN (no room: retry after poll/wait),
 *                                  -NETDEV_EMSGSIZE (larger than the device can carry),
 *                                  -NETDEV_EIO (the device is broken or disconnected).
 *                                  flags: NETDEV_TX_CSUM_BLANK = the L4 checksum field holds
 *                                  only the pseudo-header sum (Linux's CHECKSUM_PARTIAL); the
 *                                  device or its backend fills it. NETDEV_TX_MORE: another
 *                                  send follows at once (batching); the last one clears it.
 *   poll(dev, fn, arg, budget)     hand up to `budget` received frames to fn(arg, frame, len,
 *                                  rx flags) (frame valid only during the call), reclaim TX
 *                                  completions; returns the number of frames handed up, or
 *                                  -NETDEV_EIO. budget 0: only reclaim TX completions.
 *   wait(dev, deadline_ns)         sleep until the device has work (RX or TX completions) or the
 *                                  clock (now_ns) passes deadline_ns (0: no deadline).
 *   now_ns(dev)                    the clock the deadlines use (simulated ns on Tachyxx).
 * Errors are negative Xen errno values. */
#ifndef TACHYXX_NET_NETDEV_H
#define TACHYXX_NET_NETDEV_H
#include <stdint.h>

#define NETDEV_EIO      5  /* Xen EIO */
#define NETDEV_EAGAIN  11  /* Xen EAGAIN */
#define NETDEV_EMSGSIZE 90 /* Xen EMSGSIZE */

/* Frames start at 6 mod 8, so that the IP header and the UDP payload (14 + 20 + 8 + 6 = 48) are
 * 8-byte aligned */
#define NETDEV_TX_ALIGN 6u

#define NETDEV_TX_CSUM_BLANK 1u
#define NETDEV_TX_MORE 0x100u       /* more frames follow at once: the device may defer the kick (Linux's xmit_more) */
#define NETDEV_RX_CSUM_BLANK 1u     /* L4 checksum not filled in (a peer offloaded it): do not verify */
#define NETDEV_RX_DATA_VALIDATED 2u /* the checksum was verified below us */

/* Copies n bytes, by 64-bit words when source and destination share their alignment mod 8
 * (drivers and the stack keep frames that way), else by 32-bit words or bytes. */
static inline void netdev_copy(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	if ((((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
		while (n && ((uintptr_t)d & 7)) { *d++ = *s++; n--; }
		for (; n >= 32; n -= 32, d += 32, s += 32) {
			uint64_t a = ((const uint64_t *)s)[0], b = ((const uint64_t *)s)[1], c = ((const uint64_t *)s)[2], e = ((const uint64_t *)s)[3];
			((uint64_t *)d)[0] = a; ((uint64_t *)d)[1] = b; ((uint64_t *)d)[2] = c; ((uint64_t *)d)[3] = e;
		}
		for (; n >= 8; n -= 8, d += 8, s += 8) *(uint64_t *)d = *(const uint64_t *)s;
	} else if ((((uintptr_t)d ^ (uintptr_t)s) & 3) == 0) {
		while (n && ((uintptr_t)d & 3)) { *d++ = *s++; n--; }
		for (; n >= 4; n -= 4, d += 4, s += 4) *(uint32_t *)d = *(const uint32_t *)s;
	}
	while (n--) *d++ = *s++;
}

struct netdev;
typedef void (*netdev_rx_fn)(void *arg, const uint8_t *frame, uint32_t len, uint32_t flags);

struct netdev_ops {
	int (*send)(struct netdev *dev, const void *frame, uint32_t len, uint32_t flags);
	int (*poll)(struct netdev *dev, netdev_rx_fn fn, void *arg, unsigned budget);
	void (*wait)(struct netdev *dev, uint64_t deadline_ns);
	uint64_t (*now_ns)(struct netdev *dev);
	/* Optional (NULL: none). Where the next frame of up to `len` bytes may be built, at an address
	 * = 6 mod 8 (NETDEV_TX_ALIGN) inside memory the device transmits from: a send() of a frame built
	 * there moves no bytes (Linux's netfront grants the skb's own pages). NULL: build it anywhere
	 * (no buffer free now, or too long); send() copies. The buffer stays the caller's until a
	 * send() of a frame in it succeeds; asking again before that returns the same buffer. */
	uint8_t *(*tx_buffer)(struct netdev *dev, uint32_t len);
};

struct netdev {
	const struct netdev_ops *ops;
	uint8_t mac[6];
	uint16_t mtu;   /* largest IP packet (Ethernet payload) the link carries, 1500 by default */
	char name[16];
	void *priv;
};

#endif
