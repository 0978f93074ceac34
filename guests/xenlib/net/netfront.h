/* netfront.h - a PV network frontend (Xen's io/netif.h) for Tachyxx guests, as a struct netdev
 * (netdev.h) for the stack in net.h. Source: netfront.c (add it to a program's guest.json
 * "sources" with net.c; cflags -Iguests/xenlib -Iguests/xenlib/net).
 *
 * The handshake follows Linux's xen-netfront (talk_to_netback / xennet_connect): Initialising;
 * backend InitWait; read the backend's features; one TX and one RX ring page; one event channel,
 * or event-channel-tx + event-channel-rx when the backend offers feature-split-event-channels;
 * keys tx-ring-ref, rx-ring-ref, event-channel(-tx/-rx), request-rx-copy = 1,
 * feature-rx-notify = 1, feature-sg = 1; Connected; backend Connected. No GSO (no
 * feature-gso-tcpv4/6 written), IPv4 checksum offload both ways (csum_blank).
 *
 * Multi-queue (netfront_open_queues): min(asked, the backend's multi-queue-max-queues, absent = 1)
 * queues, each a TX and an RX ring and its event channel(s). One queue writes the keys above flat
 * in the frontend dir, exactly as without multi-queue; several write multi-queue-num-queues, then
 * per queue queue-%u/tx-ring-ref, rx-ring-ref, event-channel(-tx/-rx) (Linux's talk_to_netback /
 * write_queue_xenstore_keys). TX picks a queue by a flow hash (FNV-1a of the IPv4 addresses and
 * TCP/UDP ports, not Linux's skb_get_hash); RX is served on whichever queue the backend used.
 *
 * Buffers: 256 TX and 256 RX pages per queue (one per ring slot), granted once at connect (TX read-only,
 * RX writable) and reused: the backend grant-copies to and from them. RX slot i always posts
 * buffer i & 255 (responses land in their request's slot; the id is not trusted, as Linux).
 * Frames larger than a page use several slots (NETTXF_more_data / NETRXF_more_data).
 *
 * netfront.c holds the program's only copy of xenlib's event-channel, xenbus and grant state
 * (those headers are include-once): a program that uses netfront reaches xenstore through
 * netfront_xs_read/write below, not by including xenbus.h itself. */
#ifndef TACHYXX_NET_NETFRONT_H
#define TACHYXX_NET_NETFRONT_H
#include <stdint.h>
#include "netdev.h"

/* Limits (docs/limits.md). */
#define NETFRONT_RING_SLOTS 256        /* one-page rings: io/netif.h's __CONST_RING_SIZE */
#define NETFRONT_RX_MAX_SLOTS 18       /* XEN_NETIF_NR_SLOTS_MIN: more is a backend bug (Linux: "Too many slots") */
#define NETFRONT_MAX_FRAME (14 + 65535) /* XEN_NETIF_MAX_TX_SIZE plus the Ethernet header */
/* Queues a frontend asks for at most (Linux: xennet_max_queues, default = online CPUs, here 4 =
 * netback's default multi-queue-max-queues); 2 MiB of buffers each (static). */
#define NETFRONT_MAX_QUEUES 4

struct netfront_stats {
	uint64_t rx_packets, rx_bytes, rx_multislot, rx_csum_blank;
	uint64_t rx_err_status;     /* a response with status < 0 (NETIF_RSP_ERROR/DROPPED) */
	uint64_t rx_err_bounds;     /* offset + size beyond the page */
	uint64_t rx_err_slots;      /* more than NETFRONT_RX_MAX_SLOTS slots, or a frame > NETFRONT_MAX_FRAME */
	uint64_t rx_err_extra;      /* an unknown extra_info type */
	uint64_t tx_packets, tx_bytes, tx_slots, tx_multislot;
	uint64_t tx_err_status, tx_dropped; /* NETIF_RSP_ERROR / NETIF_RSP_DROPPED responses */
	uint64_t tx_ring_full;      /* sends refused with -EAGAIN */
	uint64_t tx_inplace;        /* frames sent from the buffer tx_buffer handed out (no copy) */
	uint64_t notify_tx, notify_rx, events, waits;
};

/* Connects vif `devid` (device/vif/<devid>): 0 and the netdev, or -errno (-19 no such vif or no
 * xenstore, -95 backend without feature-rx-copy, -5 the backend closed, -22 bad mac). */
int netfront_open(unsigned devid, struct netdev **out);
/* The same with up to `queues` queues (1..NETFRONT_MAX_QUEUES, else -22). */
int netfront_open_queues(unsigned devid, unsigned queues, struct netdev **out);
/* Queues in use (1 unless both sides asked for more). */
unsigned netfront_queues(struct netdev *dev);
/* Packets queue q sent and received (0, or -22 for no such queue). */
int netfront_queue_packets(struct netdev *dev, unsigned q, uint64_t *tx, uint64_t *rx);
/* Closing -> backend Closing/Closed -> Closed, grants ended. 0 or -errno. */
int netfront_close(struct netdev *dev);
const struct netfront_stats *netfront_stats(struct netdev *dev);
/* 1 when the backend offered feature-split-event-channels (two ports in use). */
int netfront_split_evtchn(struct netdev *dev);
/* The backend's directory (e.g. /local/domain/0/backend/vif/3/0). */
const char *netfront_backend(struct netdev *dev);
/* xenstore access for programs that use netfront (relative paths: /local/domain/<self>/...). */
long netfront_xs_read(const char *path, char *buf, unsigned cap);
long netfront_xs_write(const char *path, const char *value);
/* Simulated time (ns), the clock netdev deadlines use. */
uint64_t netfront_now(void);

#endif
