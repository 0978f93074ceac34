/* net.c - the guests' minimal IPv4 stack (see net.h). */
#include "tachyxx.h"
#include "net.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the checksum sums native little-endian words");
#define TXF(ns) ((ns)->txbuf + NET_TX_ALIGN)

#define NET_ENETUNREACH 101 /* Xen ENETUNREACH */
static const uint8_t eth_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- checksum ----------------------------------------------------------------------------- */

/* RFC 1071 section 2 (B): the one's complement sum is byte-order independent, so sum native
 * (little-endian) 64-bit words and swap the folded result; an odd start address is handled as
 * Linux's lib/checksum.c do_csum does (first byte high, swap at the end). */
/* Aligned to 512 bytes (it is shorter): its loops never straddle a 4 KiB page, so Tachyxx's JIT,
 * whose regions end at a page boundary, runs each loop inside one region instead of leaving and
 * re-entering it every iteration (a 1472-byte datagram: ~180 fewer region entries). */
__attribute__((aligned(512))) uint32_t net_csum_add(uint32_t sum, const void *data, uint32_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	int odd = (uintptr_t)p & 1;
	if (odd && len) {
		acc += (uint64_t)p[0] << 8;
		p++;
		len--;
	}
	while (len >= 2 && ((uintptr_t)p & 7)) {
		acc += *(const uint16_t *)p;
		p += 2;
		len -= 2;
	}
	while (len >= 32) { /* unrolled: 4 words, each split into 32-bit halves (no carry lost) */
		const uint64_t *w = (const uint64_t *)p;
		uint64_t a = w[0], b = w[1], c = w[2], d = w[3];
		acc += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32);
		acc += (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t a = *(const uint64_t *)p;
		acc += (a & 0xffffffffu) + (a >> 32);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += *(const uint16_t *)p;
		p += 2;
		len -= 2;
	}
	if (len) acc += p[0];
	while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
	uint32_t le = (uint32_t)acc;
	if (odd) le = ((le >> 8) & 0xff) | ((le & 0xff) << 8);
	uint32_t be = ((le >> 8) & 0xff) | ((le & 0xff) << 8); /* little-endian words -> network order */
	uint64_t s = (uint64_t)sum + be;
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

/* The folded, complemented sum of an IP header of `hl` bytes (Linux's ip_fast_csum): a
 * 2-aligned header (as frames keep it) is summed by native 16-bit words without
 * net_csum_add's alignment steps; anything else goes through net_csum_add. */
static uint16_t ip_hdr_csum(const uint8_t *p, uint32_t hl)
{
	if (((uintptr_t)p & 1) != 0) return net_csum_fold(net_csum_add(0, p, hl));
	const uint16_t *w = (const uint16_t *)p;
	uint32_t acc;
	if (hl == IP_HLEN) /* no options: ten words, unrolled */
		acc = (uint32_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7] + w[8] + w[9];
	else
		for (acc = 0; hl >= 2; hl -= 2, w++) acc += *w; /* at most 30 words: no overflow */
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = ((acc >> 8) & 0xff) | ((acc & 0xff) << 8); /* little-endian words -> network order */
	return (uint16_t)~acc;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int net_csum_ok(uint32_t sum) { return net_csum_fold(sum) == 0; }

uint32_t net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return s;
}

/* ---- addresses ---------------------------------------------------------------------------- */

int net_parse_ip(const char *s, uint32_t *ip, uint32_t *mask, const char **end)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		if (*s < '0' || *s > '9') return -22;
		uint32_t o = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			o = o * 10 + (uint32_t)(*s++ - '0');
			if (++digits > 3 || o > 255) return -22;
		}
		v = (v << 8) | o;
		if (i < 3 && *s++ != '.') return -22;
	}
	if (*s == '/') {
		s++;
		uint32_t p = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') { p = p * 10 + (uint32_t)(*s++ - '0'); digits++; }
		if (!digits || p > 32) return -22;
		if (mask) *mask = p ? ~0u << (32 - p) : 0;
	}
	*ip = v;
	if (end) *end = s;
	return 0;
}

const char *net_ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

/* ---- set-up ------------------------------------------------------------------------------- */

void net_init(struct net_stack *ns, struct netdev *dev, uint32_t ip, uint32_t mask, uint32_t gw)
{
	memset(ns, 0, __builtin_offsetof(struct net_stack, txbuf));
	ns->dev = dev;
	ns->ip = ip;
	ns->mask = mask;
	ns->gw = gw;
	ns->ip_id = 1;
}

int net_udp_bind(struct net_stack *ns, uint16_t port, net_udp_fn fn, void *arg)
{
	if (!port || !fn) return -22;
	int slot = -1;
	for (int i = 0; i < NET_UDP_SOCKS; i++) {
		if (ns->udp[i].port == port) return -17;
		if (!ns->udp[i].port && slot < 0) slot = i;
	}
	if (slot < 0) return -28;
	ns->udp[slot].port = port;
	ns->udp[slot].fn = fn;
	ns->udp[slot].arg = arg;
	return 0;
}

void net_set_echo_handler(struct net_stack *ns, net_echo_fn fn, void *arg)
{
	ns->echo_fn = fn;
	ns->echo_arg = arg;
}

uint64_t net_now(struct net_stack *ns) { return ns->dev->ops->now_ns ? ns->dev->ops->now_ns(ns->dev) : 0; }

/* ---- Ethernet and ARP --------------------------------------------------------------------- */

static int eth_xmit(struct net_stack *ns, const uint8_t *frame, uint32_t len, uint32_t flags)
{
	int r = ns->dev->ops->send(ns->dev, frame, len, flags);
	if (r == 0) {
		ns->st.tx_frames++;
		ns->st.tx_bytes += len;
	} else if (r == -NETDEV_EAGAIN) {
		ns->st.tx_busy++;
	} else {
		ns->st.tx_errors++;
	}
	return r;
}

static struct net_arp_entry *arp_find(struct net_stack *ns, uint32_t ip)
{
	struct net_arp_entry *h = &ns->arp[ns->arp_hint];
	if (h->state && h->ip == ip) return h; /* the last one found: a stream's next hop */
	for (int i = 0; i < NET_ARP_CACHE; i++)
		if (ns->arp[i].state && ns->arp[i].ip == ip) {
			ns->arp_hint = (uint8_t)i;
			return &ns->arp[i];
		}
	return 0;
}

static inline int mac_eq(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

/* A MAC address copy inline (memcpy of 6 bytes at any alignment is a call and a byte loop). */
static inline void mac_copy(uint8_t *d, const uint8_t *s)
{
	d[0] = s[0]; d[1] = s[1]; d[2] = s[2]; d[3] = s[3]; d[4] = s[4]; d[5] = s[5];
}

/* A free entry, else the least recently stamped one (an incomplete one's queue is dropped). */
static struct net_arp_entry *arp_alloc(struct net_stack *ns, uint32_t ip)
{
	struct net_arp_entry *victim = 0;
	for (int i = 0; i < NET_ARP_CACHE; i++) {
		struct net_arp_entry *e = &ns->arp[i];
		if (!e->state) { victim = e; break; }
		if (!victim || e->stamp < victim->stamp) victim = e;
	}
	if (victim->state == 1) ns->st.arp_unresolved += victim->nqueued ? victim->nqueued : 1;
	memset(victim, 0, sizeof *victim);
	victim->ip = ip;
	return victim;
}

int net_arp_lookup(struct net_stack *ns, uint32_t ip, uint8_t mac[6])
{
	struct net_arp_entry *e = arp_find(ns, ip);
	if (!e || e->state != 2 || ns->now - e->stamp > NET_ARP_TTL_NS) return 0;
	mac_copy(mac, e->mac);
	return 1;
}

static void arp_send(struct net_stack *ns, uint16_t op, const uint8_t *tha, uint32_t tip, const uint8_t *eth_dst)
{
	uint8_t f[60]; /* 42 bytes of ARP over Ethernet, padded to the 60-byte minimum */
	memset(f, 0, sizeof f);
	mac_copy(f, eth_dst);
	mac_copy(f + 6, ns->dev->mac);
	net_put16(f + 12, ETH_P_ARP);
	uint8_t *a = f + ETH_HLEN;
	net_put16(a, 1);          /* htype Ethernet */
	net_put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	net_put16(a + 6, op);
	mac_copy(a + 8, ns->dev->mac);
	net_put32(a + 14, ns->ip);
	mac_copy(a + 18, tha);
	net_put32(a + 24, tip);
	if (eth_xmit(ns, f, sizeof f, 0) == 0) {
		if (op == 1) ns->st.arp_requests_tx++;
		else ns->st.arp_replies_tx++;
	}
}

static void arp_request(struct net_stack *ns, struct net_arp_entry *e)
{
	static const uint8_t zero[6];
	e->stamp = ns->now;
	e->tries++;
	arp_send(ns, 1, zero, e->ip, eth_bcast);
}

/* Learns ip -> mac; sends what waited for it. */
static void arp_learn(struct net_stack *ns, struct net_arp_entry *e, const uint8_t *mac)
{
	mac_copy(e->mac, mac);
	e->state = 2;
	e->stamp = ns->now;
	e->tries = 0;
	unsigned n = e->nqueued;
	e->nqueued = 0;
	unsigned slot = (unsigned)(e - ns->arp);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *f = ns->arpq[slot][i];
		mac_copy(f, mac);
		eth_xmit(ns, f, e->qlen[i], e->qflags[i]);
	}
}

static void arp_input(struct net_stack *ns, const uint8_t *a, uint32_t len)
{
	if (len < 28 || net_get16(a) != 1 || net_get16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
		ns->st.arp_bad++;
		return;
	}
	uint16_t op = net_get16(a + 6);
	const uint8_t *sha = a + 8;
	uint32_t spa = net_get32(a + 14), tpa = net_get32(a + 24);
	if (op != 1 && op != 2) { ns->st.arp_bad++; return; }
	if (op == 1) ns->st.arp_requests_rx++;
	else ns->st.arp_replies_rx++;
	if (sha[0] & 1 || spa == 0) return; /* a multicast sender or an ARP probe: nothing to learn */
	/* RFC 826's merge: update an existing entry; create one only when we are the target */
	struct net_arp_entry *e = arp_find(ns, spa);
	if (tpa != ns->ip) {
		if (e) arp_learn(ns, e, sha);
		return;
	}
	if (!e) e = arp_alloc(ns, spa);
	arp_learn(ns, e, sha);
	if (op == 1) arp_send(ns, 2, sha, spa, sha);
}

/* Ethernet header, then out or onto the ARP queue of the next hop. f: the frame (TXF(ns), or
 * the device's buffer from tx_buffer). */
static int ip_xmit(struct net_stack *ns, uint8_t *f, uint32_t dst, uint32_t len, uint32_t flags)
{
	mac_copy(f + 6, ns->dev->mac);
	net_put16(f + 12, ETH_P_IP);
	if (dst == 0xffffffffu || (ns->mask != 0xffffffffu && dst == (ns->ip | ~ns->mask))) {
		mac_copy(f, eth_bcast);
		return eth_xmit(ns, f, len, flags);
	}
	uint32_t hop = dst;
	if ((dst & ns->mask) != (ns->ip & ns->mask)) {
		if (!ns->gw) return -NET_ENETUNREACH;
		hop = ns->gw;
	}
	struct net_arp_entry *e = arp_find(ns, hop);
	if (e && e->state == 2 && ns->now - e->stamp <= NET_ARP_TTL_NS) {
		mac_copy(f, e->mac);
		return eth_xmit(ns, f, len, flags);
	}
	if (!e) e = arp_alloc(ns, hop);
	if (e->state == 2) { /* stale: ask again, keep sending to the old address meanwhile */
		mac_copy(f, e->mac);
		e->state = 1;
		e->tries = 0;
		arp_request(ns, e);
		return eth_xmit(ns, f, len, flags);
	}
	if (len > NET_ARPQ_FRAME || e->nqueued >= NET_ARP_QUEUE) {
		if (!e->state) { e->state = 1; arp_request(ns, e); }
		return -NETDEV_EAGAIN;
	}
	unsigned slot = (unsigned)(e - ns->arp);
	memcpy(ns->arpq[slot][e->nqueued], f, len);
	e->qlen[e->nqueued] = (uint16_t)len;
	e->qflags[e->nqueued] = (uint8_t)flags;
	e->nqueued++;
	if (!e->state) { e->state = 1; arp_request(ns, e); }
	return 0;
}

/* ---- IPv4 --------------------------------------------------------------------------------- */

/* Fills the IP header for `plen` payload bytes already at f + 34 and sends frame f. */
static int ip_output(struct net_stack *ns, uint8_t *f, uint32_t dst, uint8_t proto, uint32_t plen, uint32_t flags)
{
	if (IP_HLEN + plen > ns->dev->mtu) return -NETDEV_EMSGSIZE; /* no fragmentation */
	uint8_t *ip = f + ETH_HLEN;
	ip[0] = 0x45;
	ip[1] = 0;
	net_put16(ip + 2, (uint16_t)(IP_HLEN + plen));
	net_put16(ip + 4, ns->ip_id++);
	net_put16(ip + 6, 0x4000); /* DF */
	ip[8] = NET_IP_TTL;
	ip[9] = proto;
	net_put16(ip + 10, 0);
	net_put32(ip + 12, ns->ip);
	net_put32(ip + 16, dst);
	net_put16(ip + 10, ip_hdr_csum(ip, IP_HLEN));
	uint32_t len = ETH_HLEN + IP_HLEN + plen;
	if (len < 60) { /* Ethernet minimum: pad with zeros (not counted in the IP length) */
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return ip_xmit(ns, f, dst, len, flags);
}

/* Aligned (it is shorter than 1 KiB) so that its payload copy loop stays on one page (see net_csum_add). */
__attribute__((aligned(1024))) int net_udp_send(struct net_stack *ns, uint32_t dst, uint16_t sport, uint16_t dport, const void *data, uint32_t len)
{
	if (len > 65535 - IP_HLEN - UDP_HLEN || IP_HLEN + UDP_HLEN + len > ns->dev->mtu) return -NETDEV_EMSGSIZE;
	ns->now = net_now(ns);
	/* build the frame where the device sends it from when it offers that (no copy there) */
	uint32_t flen = ETH_HLEN + IP_HLEN + UDP_HLEN + len;
	uint8_t *f = ns->dev->ops->tx_buffer ? ns->dev->ops->tx_buffer(ns->dev, flen < 60 ? 60 : flen) : 0;
	if (!f) f = TXF(ns);
	uint8_t *u = f + ETH_HLEN + IP_HLEN;
	uint16_t ulen = (uint16_t)(UDP_HLEN + len);
	net_put16(u, sport);
	net_put16(u + 2, dport);
	net_put16(u + 4, ulen);
	net_put16(u + 6, 0);
	netdev_copy(u + UDP_HLEN, data, len);
	uint32_t ps = net_pseudo_sum(ns->ip, dst, IPPROTO_UDP, ulen);
	uint32_t flags = ns->tx_flags & NETDEV_TX_MORE;
	if (ns->tx_flags & NETDEV_TX_CSUM_BLANK) {
		/* CHECKSUM_PARTIAL as Linux leaves it: the folded pseudo-header sum, uncomplemented */
		net_put16(u + 6, (uint16_t)~net_csum_fold(ps));
		flags |= NETDEV_TX_CSUM_BLANK;
	} else {
		uint16_t c = net_csum_fold(net_csum_add(ps, u, ulen));
		net_put16(u + 6, c ? c : 0xffff); /* RFC 768: a computed 0 is sent as all ones */
	}
	int r = ip_output(ns, f, dst, IPPROTO_UDP, ulen, flags);
	if (r == 0) ns->st.udp_tx++;
	return r;
}

static int icmp_output(struct net_stack *ns, uint32_t dst, uint32_t len)
{
	uint8_t *m = TXF(ns) + ETH_HLEN + IP_HLEN;
	net_put16(m + 2, 0);
	net_put16(m + 2, net_csum_fold(net_csum_add(0, m, len)));
	return ip_output(ns, TXF(ns), dst, IPPROTO_ICMP, len, 0);
}

int net_ping_send(struct net_stack *ns, uint32_t dst, uint16_t id, uint16_t seq, uint64_t stamp, uint32_t len)
{
	if (len < 8) len = 8;
	if (IP_HLEN + ICMP_HLEN + len > ns->dev->mtu) return -NETDEV_EMSGSIZE;
	ns->now = net_now(ns);
	uint8_t *m = TXF(ns) + ETH_HLEN + IP_HLEN;
	m[0] = ICMP_ECHO;
	m[1] = 0;
	net_put16(m + 4, id);
	net_put16(m + 6, seq);
	net_put32(m + 8, (uint32_t)(stamp >> 32));
	net_put32(m + 12, (uint32_t)stamp);
	for (uint32_t i = 8; i < len; i++) m[ICMP_HLEN + i] = (uint8_t)(0x10 + i - 8); /* ping(8)'s pattern */
	return icmp_output(ns, dst, ICMP_HLEN + len);
}

static void icmp_input(struct net_stack *ns, uint32_t src, const uint8_t *m, uint32_t len, uint32_t rxflags)
{
	if (len < ICMP_HLEN || (!(rxflags & NETDEV_RX_DATA_VALIDATED) && !net_csum_ok(net_csum_add(0, m, len)))) {
		ns->st.icmp_bad_csum++;
		return;
	}
	if (m[0] == ICMP_ECHO && m[1] == 0) {
		ns->st.icmp_echo_rx++;
		if (IP_HLEN + len > ns->dev->mtu) return;
		uint8_t *r = TXF(ns) + ETH_HLEN + IP_HLEN;
		memcpy(r, m, len);
		r[0] = ICMP_ECHOREPLY;
		if (icmp_output(ns, src, len) == 0) ns->st.icmp_echo_replies_tx++;
	} else if (m[0] == ICMP_ECHOREPLY && m[1] == 0) {
		ns->st.icmp_echo_replies_rx++;
		if (ns->echo_fn) ns->echo_fn(ns->echo_arg, ns, src, net_get16(m + 4), net_get16(m + 6), m + ICMP_HLEN, len - ICMP_HLEN);
	} else {
		ns->st.icmp_other++;
	}
}

static void udp_input(struct net_stack *ns, uint32_t src, uint32_t dst, const uint8_t *u, uint32_t len, uint32_t rxflags)
{
	if (len < UDP_HLEN) { ns->st.udp_bad++; return; }
	uint16_t ulen = net_get16(u + 4);
	if (ulen < UDP_HLEN || ulen > len) { ns->st.udp_bad++; return; }
	if (net_get16(u + 6) != 0 && !(rxflags & (NETDEV_RX_CSUM_BLANK | NETDEV_RX_DATA_VALIDATED)) &&
	    !net_csum_ok(net_csum_add(net_pseudo_sum(src, dst, IPPROTO_UDP, ulen), u, ulen))) {
		ns->st.udp_bad_csum++;
		return;
	}
	uint16_t dport = net_get16(u + 2);
	for (int i = 0; i < NET_UDP_SOCKS; i++) {
		if (ns->udp[i].port == dport) {
			ns->st.udp_rx++;
			ns->udp[i].fn(ns->udp[i].arg, ns, src, net_get16(u), dport, u + UDP_HLEN, ulen - UDP_HLEN);
			return;
		}
	}
	ns->st.udp_no_port++; /* Linux would answer ICMP port unreachable; this stack only counts */
}

static void ip_input(struct net_stack *ns, const uint8_t *ip, uint32_t len, uint32_t rxflags)
{
	if (len < IP_HLEN || ip[0] >> 4 != 4) { ns->st.ip_bad_header++; return; }
	uint32_t hl = (ip[0] & 15) * 4u, tot = net_get16(ip + 2);
	if (hl < IP_HLEN || hl > len || tot < hl || tot > len) { ns->st.ip_bad_header++; return; }
	if (ip_hdr_csum(ip, hl) != 0) { ns->st.ip_bad_csum++; return; }
	if (net_get16(ip + 6) & 0x3fff) { ns->st.ip_fragments++; return; } /* MF or an offset: no reassembly */
	uint32_t src = net_get32(ip + 12), dst = net_get32(ip + 16);
	if (dst != ns->ip && dst != 0xffffffffu && dst != (ns->ip | ~ns->mask)) { ns->st.ip_not_for_us++; return; }
	/* frames may carry Ethernet padding past the IP packet: use the IP length */
	if (ip[9] == IPPROTO_ICMP) icmp_input(ns, src, ip + hl, tot - hl, rxflags);
	else if (ip[9] == IPPROTO_UDP) udp_input(ns, src, dst, ip + hl, tot - hl, rxflags);
	else ns->st.rx_unknown_proto++;
}

void net_input(struct net_stack *ns, const uint8_t *f, uint32_t len, uint32_t rxflags)
{
	ns->st.rx_frames++;
	ns->st.rx_bytes += len;
	if (len < ETH_HLEN) { ns->st.rx_bad_eth++; return; }
	if (!mac_eq(f, ns->dev->mac) && !mac_eq(f, eth_bcast)) { ns->st.rx_not_for_us++; return; }
	uint16_t type = net_get16(f + 12);
	if (type == ETH_P_ARP) arp_input(ns, f + ETH_HLEN, len - ETH_HLEN);
	else if (type == ETH_P_IP) ip_input(ns, f + ETH_HLEN, len - ETH_HLEN, rxflags);
	else ns->st.rx_unknown_proto++;
}

static void net_rx_cb(void *arg, const uint8_t *frame, uint32_t len, uint32_t flags)
{
	net_input((struct net_stack *)arg, frame, len, flags);
}

/* ARP retransmission and give-up (Linux's neigh timer: retrans_time x mcast_solicit). */
static void arp_timers(struct net_stack *ns)
{
	for (int i = 0; i < NET_ARP_CACHE; i++) {
		struct net_arp_entry *e = &ns->arp[i];
		if (e->state != 1 || ns->now - e->stamp < NET_ARP_RETRANS_NS) continue;
		if (e->tries >= NET_ARP_TRIES) {
			ns->st.arp_unresolved += e->nqueued ? e->nqueued : 1;
			memset(e, 0, sizeof *e);
		} else {
			arp_request(ns, e);
		}
	}
}

int net_poll(struct net_stack *ns, unsigned budget)
{
	ns->now = net_now(ns);
	int n = ns->dev->ops->poll(ns->dev, net_rx_cb, ns, budget ? budget : 64);
	ns->now = net_now(ns);
	arp_timers(ns);
	return n;
}

void net_wait(struct net_stack *ns, uint64_t deadline)
{
	for (int i = 0; i < NET_ARP_CACHE; i++) {
		struct net_arp_entry *e = &ns->arp[i];
		if (e->state != 1) continue;
		uint64_t t = e->stamp + NET_ARP_RETRANS_NS;
		if (!deadline || t < deadline) deadline = t;
	}
	ns->dev->ops->wait(ns->dev, deadline);
}
