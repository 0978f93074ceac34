/* net.h - a minimal IPv4 stack for Tachyxx guests over any struct netdev (netdev.h):
 * Ethernet II, ARP (RFC 826: requests, replies, a small cache, retransmission), IPv4 (RFC 791;
 * no fragmentation or reassembly: fragments received are dropped and counted, packets sent
 * carry DF and must fit the MTU, no options sent, options received skipped), ICMP echo request
 * and reply (RFC 792), UDP send/receive (RFC 768) and the Internet checksum (RFC 1071).
 * One interface, one address, no routing table: destinations outside ip/mask go to the gateway.
 *
 * Pure code (no hypercalls): the clock is passed in (`now` in ns), frames go through the netdev
 * ops, so the stack also runs under qemu-riscv64 (guests/nettest).
 *
 *     struct net_stack ns;  net_init(&ns, dev, NET_IP(10,0,0,1), NET_IP(255,255,255,0), 0);
 *     net_udp_bind(&ns, 7, on_udp, arg);
 *     net_udp_send(&ns, dst, 7, 7, data, len);      // -NETDEV_EAGAIN while ARP resolves
 *     for (;;) { net_poll(&ns); ...; net_wait(&ns, deadline); }
 *
 * Addresses are host-order uint32_t (NET_IP(a,b,c,d)); ports host order. */
#ifndef TACHYXX_NET_NET_H
#define TACHYXX_NET_NET_H
#include <stdint.h>
#include "netdev.h"

#define NET_IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define NET_MAX_FRAME (ETH_HLEN + 65535) /* the largest IPv4 packet plus its Ethernet header */
#define NET_TX_ALIGN NETDEV_TX_ALIGN

/* Limits (docs/limits.md). */
#define NET_ARP_CACHE 16                    /* entries; Linux's gc_thresh1 is 128 */
#define NET_ARP_TTL_NS 60000000000ull       /* 60 s: Linux's base_reachable_time (30 s) x 2, no NUD states */
#define NET_ARP_RETRANS_NS 1000000000ull    /* 1 s: Linux's neigh retrans_time */
#define NET_ARP_TRIES 3                     /* requests before giving up: Linux's mcast_solicit */
#define NET_ARP_QUEUE 4                     /* frames held per unresolved address (Linux: unres_qlen_bytes) */
#define NET_ARPQ_FRAME (ETH_HLEN + 1500)     /* bytes per queued frame */
#define NET_UDP_SOCKS 8
#define NET_IP_TTL 64                       /* Linux's ip_default_ttl */

struct net_stack;
/* A UDP datagram for a bound port: src address/port, payload; `flags` = the netdev RX flags. */
typedef void (*net_udp_fn)(void *arg, struct net_stack *ns, uint32_t src, uint16_t sport, uint16_t dport,
			   const uint8_t *data, uint32_t len);
/* An ICMP echo reply addressed to us. */
typedef void (*net_echo_fn)(void *arg, struct net_stack *ns, uint32_t src, uint16_t id, uint16_t seq,
			    const uint8_t *data, uint32_t len);

struct net_stats {
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	uint64_t rx_not_for_us, rx_bad_eth, rx_unknown_proto;
	uint64_t arp_requests_rx, arp_replies_rx, arp_requests_tx, arp_replies_tx, arp_bad, arp_unresolved;
	uint64_t ip_bad_header, ip_bad_csum, ip_fragments, ip_not_for_us;
	uint64_t icmp_bad_csum, icmp_echo_rx, icmp_echo_replies_tx, icmp_echo_replies_rx, icmp_other;
	uint64_t udp_bad, udp_bad_csum, udp_no_port, udp_rx, udp_tx;
	uint64_t tx_errors, tx_busy;
};

struct net_arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t state;        /* 0 free, 1 incomplete (request sent), 2 resolved */
	uint8_t tries;
	uint64_t stamp;       /* resolved: when learnt; incomplete: when the last request went out */
	uint16_t nqueued;
	uint16_t qlen[NET_ARP_QUEUE];
	uint8_t qflags[NET_ARP_QUEUE];
};

struct net_stack {
	struct netdev *dev;
	uint32_t ip, mask, gw;
	uint16_t ip_id;
	uint32_t tx_flags;      /* for UDP sends: NETDEV_TX_CSUM_BLANK (leave the checksum to the device),
				 * NETDEV_TX_MORE (batch: the caller clears it for the last one) */
	struct net_arp_entry arp[NET_ARP_CACHE];
	uint8_t arp_hint;       /* index of the entry arp_find returned last */
	struct { uint16_t port; net_udp_fn fn; void *arg; } udp[NET_UDP_SOCKS];
	net_echo_fn echo_fn;
	void *echo_arg;
	struct net_stats st;
	uint64_t now;           /* the clock at the last net_poll / send */
	/* frames are built at txbuf + NET_TX_ALIGN: UDP payload 8-byte aligned (14 + 20 + 8 + 6 = 48) */
	uint8_t txbuf[NET_MAX_FRAME + 8] __attribute__((aligned(8)));
	/* frames waiting for ARP, NET_ARP_QUEUE per cache entry, each up to NET_ARPQ_FRAME bytes
	 * (a larger frame to an unresolved address gets -NETDEV_EAGAIN: retry once resolved) */
	uint8_t arpq[NET_ARP_CACHE][NET_ARP_QUEUE][NET_ARPQ_FRAME];
};

/* ---- Internet checksum (RFC 1071) --------------------------------------------------------- */
/* The 32-bit one's-complement running sum of `len` bytes, big-endian 16-bit words (an odd last
 * byte is padded with zero), added to `sum`. */
uint32_t net_csum_add(uint32_t sum, const void *data, uint32_t len);
/* Folds to 16 bits and complements: the value that goes into a checksum field. */
uint16_t net_csum_fold(uint32_t sum);
/* The pseudo-header sum for UDP/TCP over IPv4 (addresses host order), not complemented. */
uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* 1 when a received UDP/ICMP/IP header checksums to 0xffff (valid), else 0. */
int net_csum_ok(uint32_t sum);

static inline uint16_t net_get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t net_get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static inline void net_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void net_put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* ---- the stack ---------------------------------------------------------------------------- */
void net_init(struct net_stack *ns, struct netdev *dev, uint32_t ip, uint32_t mask, uint32_t gw);
/* Binds a UDP port: 0, or -22 (EINVAL: port 0), -17 (EEXIST), -28 (ENOSPC: no free socket). */
int net_udp_bind(struct net_stack *ns, uint16_t port, net_udp_fn fn, void *arg);
void net_set_echo_handler(struct net_stack *ns, net_echo_fn fn, void *arg);

/* Sends a UDP datagram: 0 (sent, or queued behind an ARP request), -NETDEV_EMSGSIZE (does not
 * fit the MTU: no fragmentation), -NETDEV_EAGAIN (the device or the ARP queue is full),
 * -NETDEV_EIO. */
int net_udp_send(struct net_stack *ns, uint32_t dst, uint16_t sport, uint16_t dport, const void *data, uint32_t len);
/* Sends an ICMP echo request with `len` payload bytes (a pattern; the first 8 carry `stamp`). */
int net_ping_send(struct net_stack *ns, uint32_t dst, uint16_t id, uint16_t seq, uint64_t stamp, uint32_t len);

/* Processes one received Ethernet frame (what a netdev's poll hands up). */
void net_input(struct net_stack *ns, const uint8_t *frame, uint32_t len, uint32_t rxflags);
/* Polls the device (up to `budget` frames, 0 = 64) and runs ARP timers. Returns frames handled or
 * -NETDEV_EIO. */
int net_poll(struct net_stack *ns, unsigned budget);
/* Sleeps until the device has work or deadline_ns (0: none; ARP retransmission also bounds it). */
void net_wait(struct net_stack *ns, uint64_t deadline_ns);
uint64_t net_now(struct net_stack *ns);
/* Looks an address up in the ARP cache: 1 and the MAC when resolved. */
int net_arp_lookup(struct net_stack *ns, uint32_t ip, uint8_t mac[6]);

/* Parses "a.b.c.d" (optionally "/prefix"): 0 and the address (and mask when a prefix is given),
 * or -22. `end` (may be NULL) gets the first character not parsed. */
int net_parse_ip(const char *s, uint32_t *ip, uint32_t *mask, const char **end);
/* "a.b.c.d" into buf (16 bytes). */
const char *net_ip_str(uint32_t ip, char buf[16]);

#endif
