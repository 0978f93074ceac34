/* nettest - unit tests of the guests' network stack (guests/xenlib/net/net.c), pure code: runs
 * bare on Tachyxx and under qemu-riscv64 (tools/test/qemu-diff.test.ts compares both and needs
 * exit 0; tools/test/net-stack.test.ts also runs it). Known-answer vectors:
 *   - RFC 1071 section 3's example bytes (sum 0xddf2);
 *   - the IPv4 header of Wikipedia's "IPv4 header checksum" example (0xb861);
 *   - frames captured from Linux 6.x on lo with an AF_PACKET socket: an ICMP echo request and
 *     the kernel's echo reply (IP 0x21c0 / 0x61bf, ICMP 0xa879), and a UDP datagram the kernel
 *     left CHECKSUM_PARTIAL (0xfe2a = the folded pseudo-header sum; the full checksum is
 *     0x00b9, computed independently in Python).
 * Then two stacks over an in-memory link: ARP, ping, UDP, MTU, fragments, bad checksums,
 * Ethernet padding, csum_blank, ARP give-up. Every check prints one line; any failure makes
 * main return 1 (SHUTDOWN_crash / exit 1). */
#include "tachyxx.h"
#include "net.h"

static int fails, checks;
#define CHECK(cond, ...)                                              \
	do {                                                          \
		checks++;                                             \
		if (cond) printf("ok   ");                            \
		else { printf("FAIL "); fails++; }                    \
		printf(__VA_ARGS__);                                  \
		printf("\n");                                         \
	} while (0)

static int unhex(const char *h, uint8_t *out)
{
	int n = 0;
	for (; h[0] && h[1]; h += 2) {
		int hi = h[0] <= '9' ? h[0] - '0' : h[0] - 'a' + 10, lo = h[1] <= '9' ? h[1] - '0' : h[1] - 'a' + 10;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return n;
}

/* Captured on lo (Ethernet addresses all zero). */
static const char cap_echo_req[] = "0000000000000000000000000800450000341b074000400121c07f0000017f0000010800a07912340001101112131415161718191a1b1c1d1e1f2021222324252627";
static const char cap_echo_rep[] = "0000000000000000000000000800450000341b080000400161bf7f0000017f0000010000a87912340001101112131415161718191a1b1c1d1e1f2021222324252627";
static const char cap_udp[] = "00000000000000000000000008004500002b16104000401126b07f0000017f0000019cfc9c400017fe2a68656c6c6f2c207461636879787821";

/* ---- an in-memory link: two netdevs, each send lands in the peer's queue ----------------- */
#define LQ 8
struct link_dev {
	struct netdev nd;
	struct link_dev *peer;
	uint8_t q[LQ][1600];
	uint16_t qlen[LQ];
	uint8_t qflags[LQ];
	unsigned head, tail;
	uint32_t sent_flags; /* the flags of the last send */
};
static uint64_t fake_now = 1000;

static int link_send(struct netdev *d, const void *frame, uint32_t len, uint32_t flags)
{
	struct link_dev *l = d->priv, *p = l->peer;
	if (len > sizeof p->q[0]) return -NETDEV_EMSGSIZE;
	if (p->tail - p->head >= LQ) return -NETDEV_EAGAIN;
	unsigned s = p->tail++ % LQ;
	memcpy(p->q[s], frame, len);
	p->qlen[s] = (uint16_t)len;
	/* what a backend does with csum_blank: passes it on as NETRXF_csum_blank (RX flag) */
	p->qflags[s] = (flags & NETDEV_TX_CSUM_BLANK) ? NETDEV_RX_CSUM_BLANK : 0;
	l->sent_flags = flags;
	return 0;
}
static int link_poll(struct netdev *d, netdev_rx_fn fn, void *arg, unsigned budget)
{
	struct link_dev *l = d->priv;
	int n = 0;
	while (l->head != l->tail && budget--) {
		unsigned s = l->head++ % LQ;
		fn(arg, l->q[s], l->qlen[s], l->qflags[s]);
		n++;
	}
	return n;
}
static void link_wait(struct netdev *d, uint64_t deadline)
{
	struct link_dev *l = d->priv;
	if (l->head == l->tail && deadline > fake_now) fake_now = deadline; /* sleeping moves the clock */
}
static uint64_t link_now(struct netdev *d) { return fake_now; }
static const struct netdev_ops link_ops = { link_send, link_poll, link_wait, link_now };

static struct link_dev la, lb;
static struct net_stack A, B;

static void link_setup(void)
{
	memset(&la, 0, sizeof la);
	memset(&lb, 0, sizeof lb);
	static const uint8_t ma[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x01 }, mb[6] = { 0x00, 0x16, 0x3e, 0x00, 0x00, 0x02 };
	la.nd = (struct netdev){ &link_ops, { 0 }, 1500, "linka", &la };
	lb.nd = (struct netdev){ &link_ops, { 0 }, 1500, "linkb", &lb };
	memcpy(la.nd.mac, ma, 6);
	memcpy(lb.nd.mac, mb, 6);
	la.peer = &lb;
	lb.peer = &la;
	net_init(&A, &la.nd, NET_IP(10, 0, 0, 1), NET_IP(255, 255, 255, 0), 0);
	net_init(&B, &lb.nd, NET_IP(10, 0, 0, 2), NET_IP(255, 255, 255, 0), 0);
}
static void pump(void)
{
	for (int i = 0; i < 8; i++) { net_poll(&A, 0); net_poll(&B, 0); }
}

/* ---- handlers ------------------------------------------------------------------------------ */
static struct { int n; uint32_t src; uint16_t id, seq; uint32_t len; int payload_ok; uint64_t stamp; } echo;
static void on_echo(void *arg, struct net_stack *ns, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *d, uint32_t len)
{
	echo.n++;
	echo.src = src;
	echo.id = id;
	echo.seq = seq;
	echo.len = len;
	echo.payload_ok = 1;
	for (uint32_t i = 8; i < len; i++) if (d[i] != (uint8_t)(0x10 + i - 8)) echo.payload_ok = 0;
	echo.stamp = len >= 8 ? (uint64_t)net_get32(d) << 32 | net_get32(d + 4) : 0;
}
static struct { int n; uint32_t src; uint16_t sport; uint32_t len; uint8_t data[1500]; } udp;
static void on_udp(void *arg, struct net_stack *ns, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *d, uint32_t len)
{
	udp.n++;
	udp.src = src;
	udp.sport = sport;
	udp.len = len;
	memcpy(udp.data, d, len < sizeof udp.data ? len : sizeof udp.data);
	if (arg) net_udp_send(ns, src, dport, sport, d, len); /* echo */
}

static uint8_t frame[2048];

static void checksum_vectors(void)
{
	static const uint8_t rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint32_t s = net_csum_add(0, rfc1071, 8);
	CHECK(net_csum_fold(s) == (uint16_t)~0xddf2, "RFC 1071 example: folded sum 0xddf2 (checksum %04x)", net_csum_fold(s));
	/* the same bytes summed in two pieces (odd split) give the same result only at even splits;
	 * an even split must match */
	CHECK(net_csum_fold(net_csum_add(net_csum_add(0, rfc1071, 4), rfc1071 + 4, 4)) == net_csum_fold(s), "RFC 1071 example summed in two halves");
	uint8_t odd[3] = { 0x12, 0x34, 0x56 };
	CHECK(net_csum_fold(net_csum_add(0, odd, 3)) == (uint16_t)~(0x1234 + 0x5600), "odd length pads the last byte with zero");
	uint8_t ff[4] = { 0xff, 0xff, 0xff, 0xff };
	CHECK(net_csum_fold(net_csum_add(0, ff, 4)) == 0, "all-ones data checksums to 0 (one's complement)");

	uint8_t hdr[20];
	unhex("450000730000400040110000c0a80001c0a800c7", hdr);
	uint16_t c = net_csum_fold(net_csum_add(0, hdr, 20));
	CHECK(c == 0xb861, "IPv4 header (Wikipedia example): checksum %04x, want b861", c);
	net_put16(hdr + 10, c);
	CHECK(net_csum_ok(net_csum_add(0, hdr, 20)), "IPv4 header with its checksum verifies");
	hdr[8] ^= 1;
	CHECK(!net_csum_ok(net_csum_add(0, hdr, 20)), "IPv4 header with a flipped TTL bit does not verify");

	int n = unhex(cap_echo_rep, frame);
	uint8_t *ip = frame + 14, *icmp = frame + 34;
	CHECK(net_csum_ok(net_csum_add(0, ip, 20)) && net_get16(ip + 10) == 0x61bf, "captured Linux echo reply: IP header checksum 61bf verifies");
	CHECK(net_csum_ok(net_csum_add(0, icmp, (uint32_t)n - 34)), "captured Linux echo reply: ICMP checksum a879 verifies");
	net_put16(icmp + 2, 0);
	c = net_csum_fold(net_csum_add(0, icmp, (uint32_t)n - 34));
	CHECK(c == 0xa879, "ICMP checksum recomputed over the captured reply: %04x, want a879", c);
	n = unhex(cap_echo_req, frame);
	net_put16(frame + 24, 0);
	c = net_csum_fold(net_csum_add(0, frame + 14, 20));
	CHECK(c == 0x21c0, "captured echo request: IP header checksum %04x, want 21c0", c);

	n = unhex(cap_udp, frame);
	uint32_t ps = net_pseudo_sum(NET_IP(127, 0, 0, 1), NET_IP(127, 0, 0, 1), IPPROTO_UDP, 23);
	CHECK((uint16_t)~net_csum_fold(ps) == 0xfe2a, "UDP pseudo-header sum = Linux's CHECKSUM_PARTIAL value fe2a (%04x)", (uint16_t)~net_csum_fold(ps));
	net_put16(frame + 40, 0);
	c = net_csum_fold(net_csum_add(ps, frame + 34, 23));
	CHECK(c == 0x00b9, "UDP full checksum of the captured datagram: %04x, want 00b9", c);
}

/* The plain RFC 1071 loop (big-endian 16-bit words, odd tail padded), as the reference. */
static uint16_t ref_csum(const uint8_t *p, uint32_t len)
{
	uint32_t s = 0;
	for (uint32_t i = 0; i + 1 < len; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1) s += (uint32_t)p[len - 1] << 8;
	while (s >> 16) s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void checksum_alignments(void)
{
	static uint8_t buf[1600] __attribute__((aligned(8)));
	uint32_t x = 12345;
	for (unsigned i = 0; i < sizeof buf; i++) { x = x * 1103515245u + 12345u; buf[i] = (uint8_t)(x >> 16); }
	for (unsigned i = 0; i < 16; i++) buf[700 + i] = 0xff; /* runs of ones: carries */
	unsigned bad = 0, n = 0;
	for (unsigned off = 0; off < 8; off++)
		for (unsigned len = 0; len <= 80; len++, n++)
			if (net_csum_fold(net_csum_add(0, buf + off, len)) != ref_csum(buf + off, len)) bad++;
	for (unsigned off = 0; off < 8; off++)
		for (unsigned len = 1400; len <= 1520; len += 7, n++)
			if (net_csum_fold(net_csum_add(0, buf + off, len)) != ref_csum(buf + off, len)) bad++;
	CHECK(bad == 0, "checksum = the plain RFC 1071 loop at every alignment 0..7, lengths 0..80 and 1400..1520 (%u cases, %u differ)", n, bad);
	uint32_t ps = net_pseudo_sum(NET_IP(10, 0, 0, 1), NET_IP(10, 0, 0, 2), IPPROTO_UDP, 1480);
	CHECK(net_csum_fold(net_csum_add(ps, buf + 2, 1480)) == net_csum_fold(net_csum_add(net_csum_add(ps, buf + 2, 600), buf + 602, 880)),
	      "a checksum summed in two even pieces equals the one-piece sum");
	uint8_t d[64];
	unsigned cbad = 0;
	for (unsigned so = 0; so < 8; so++)
		for (unsigned doff = 0; doff < 8; doff++)
			for (unsigned len = 0; len < 50; len += 7) {
				memset(d, 0xee, sizeof d);
				netdev_copy(d + doff, buf + so, len);
				if (memcmp(d + doff, buf + so, len) || (doff && d[doff - 1] != 0xee) || d[doff + len] != 0xee) cbad++;
			}
	CHECK(cbad == 0, "netdev_copy at every source/destination alignment copies exactly the bytes asked");
}

static void stack_vs_capture(void)
{
	/* a stack at 127.0.0.1 that learns 127.0.0.1 -> 00:00:00:00:00:00 from an ARP reply */
	static const uint8_t m[6] = { 0x02, 0, 0, 0, 0, 0x11 };
	link_setup();
	memcpy(la.nd.mac, m, 6);
	net_init(&A, &la.nd, NET_IP(127, 0, 0, 1), NET_IP(255, 0, 0, 0), 0);
	net_set_echo_handler(&A, on_echo, 0);
	int n = unhex(cap_echo_rep, frame);
	memcpy(frame, m, 6);
	memset(&echo, 0, sizeof echo);
	net_input(&A, frame, (uint32_t)n, 0);
	CHECK(echo.n == 1 && echo.id == 0x1234 && echo.seq == 1 && echo.len == 24 && echo.src == NET_IP(127, 0, 0, 1),
	      "the captured Linux echo reply reaches the echo handler (id %x seq %u, %u bytes)", echo.id, echo.seq, echo.len);
	frame[40] ^= 0x80;
	net_input(&A, frame, (uint32_t)n, 0);
	CHECK(echo.n == 1 && A.st.icmp_bad_csum == 1, "the same reply with a flipped payload bit is dropped (icmp_bad_csum %lu)", (unsigned long)A.st.icmp_bad_csum);

	net_udp_bind(&A, 40000, on_udp, 0);
	memset(&udp, 0, sizeof udp);
	n = unhex(cap_udp, frame);
	memcpy(frame, m, 6);
	net_input(&A, frame, (uint32_t)n, 0);
	CHECK(udp.n == 0 && A.st.udp_bad_csum == 1, "the captured CHECKSUM_PARTIAL datagram without csum_blank: bad checksum, dropped");
	net_input(&A, frame, (uint32_t)n, NETDEV_RX_CSUM_BLANK);
	CHECK(udp.n == 1 && udp.len == 15 && !memcmp(udp.data, "hello, tachyxx!", 15) && udp.sport == 40188,
	      "the same datagram flagged csum_blank is delivered (%u bytes from port %u)", udp.len, udp.sport);
	net_put16(frame + 40, 0x00b9);
	net_input(&A, frame, (uint32_t)n, 0);
	CHECK(udp.n == 2, "with its full checksum 00b9 it is delivered without flags");
	net_put16(frame + 40, 0);
	net_input(&A, frame, (uint32_t)n, 0);
	CHECK(udp.n == 3, "checksum 0 (none, RFC 768) is delivered");

	/* send the same datagram: headers must equal the kernel's (IP id and flags included) */
	uint8_t arp[60];
	memset(arp, 0, sizeof arp);
	memcpy(arp, m, 6);
	unhex("0806000108000604000200000000000", arp + 12); /* reply from 00:00:00:00:00:00 */
	net_put32(arp + 28, NET_IP(127, 0, 0, 1));
	net_put32(arp + 38, NET_IP(127, 0, 0, 1));
	net_input(&A, arp, 60, 0);
	CHECK(A.st.arp_replies_rx == 1, "ARP reply learnt");
	A.ip_id = 0x1610;
	int r = net_udp_send(&A, NET_IP(127, 0, 0, 1), 40188, 40000, "hello, tachyxx!", 15);
	n = unhex(cap_udp, frame);
	memcpy(frame + 6, m, 6);
	net_put16(frame + 40, 0x00b9);
	CHECK(r == 0 && lb.tail == 1 && lb.qlen[0] == 60 && !memcmp(lb.q[0], frame, (size_t)n) && lb.q[0][59] == 0 && lb.q[0][57] == 0,
	      "UDP send: the frame equals the capture (with checksum 00b9), padded to 60 bytes");
	A.tx_flags = NETDEV_TX_CSUM_BLANK;
	A.ip_id = 0x1610;
	r = net_udp_send(&A, NET_IP(127, 0, 0, 1), 40188, 40000, "hello, tachyxx!", 15);
	net_put16(frame + 40, 0xfe2a);
	CHECK(r == 0 && lb.tail == 2 && la.sent_flags == NETDEV_TX_CSUM_BLANK && !memcmp(lb.q[1], frame, (size_t)n),
	      "UDP send with csum_blank: Linux's partial checksum fe2a, the flag passed to the device");
}

static void pair_tests(void)
{
	char b1[16];
	link_setup();
	net_set_echo_handler(&A, on_echo, 0);
	memset(&echo, 0, sizeof echo);
	int r = net_ping_send(&A, NET_IP(10, 0, 0, 2), 7, 1, 0x123456789aull, 56);
	CHECK(r == 0 && A.st.arp_requests_tx == 1 && lb.tail == 1 && lb.qlen[0] == 60 && lb.q[0][12] == 0x08 && lb.q[0][13] == 0x06,
	      "ping to an unknown address: queued behind one ARP request (broadcast, 60 bytes)");
	pump();
	CHECK(B.st.arp_requests_rx == 1 && B.st.arp_replies_tx == 1 && A.st.arp_replies_rx == 1, "B answered the ARP request, A learnt B");
	CHECK(B.st.icmp_echo_rx == 1 && B.st.icmp_echo_replies_tx == 1, "B got the echo request and replied (without asking ARP: it learnt A from the request)");
	CHECK(B.st.arp_requests_tx == 0, "B sent no ARP request");
	CHECK(echo.n == 1 && echo.seq == 1 && echo.id == 7 && echo.len == 56 && echo.payload_ok && echo.stamp == 0x123456789aull,
	      "A got the echo reply: seq %u, %u bytes, payload and stamp intact", echo.seq, echo.len);
	uint8_t mac[6];
	CHECK(net_arp_lookup(&A, NET_IP(10, 0, 0, 2), mac) && mac[5] == 2, "A's ARP cache: 10.0.0.2 is 00:16:3e:00:00:02");

	/* UDP echo: B echoes on port 7 */
	net_udp_bind(&B, 7, on_udp, (void *)1);
	static struct { int n; } dummy;
	(void)dummy;
	CHECK(net_udp_bind(&B, 7, on_udp, 0) == -17, "binding a bound port: -EEXIST");
	uint8_t payload[1472];
	for (unsigned i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 7 + 3);
	net_udp_bind(&A, 5000, on_udp, 0);
	memset(&udp, 0, sizeof udp);
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, sizeof payload);
	pump();
	CHECK(r == 0 && B.st.udp_rx == 1 && udp.n == 2 && udp.len == 1472 && !memcmp(udp.data, payload, 1472) && udp.src == NET_IP(10, 0, 0, 2) && udp.sport == 7,
	      "UDP 1472 bytes (MTU 1500) A -> B port 7, echoed back intact");
	CHECK(net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 1473) == -NETDEV_EMSGSIZE, "UDP 1473 bytes: -EMSGSIZE (no fragmentation)");
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 1);
	CHECK(r == 0 && lb.qlen[(lb.tail - 1) % LQ] == 60, "UDP 1 byte: a 60-byte (padded) frame");
	memset(&udp, 0, sizeof udp);
	pump();
	CHECK(udp.n == 2 && udp.len == 1 && udp.data[0] == payload[0], "...and B took its length from UDP, not the padded frame");
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 9, payload, 10);
	pump();
	CHECK(B.st.udp_no_port == 1, "UDP to an unbound port: counted (udp_no_port)");

	/* hostile / malformed input */
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 100);
	lb.q[(lb.tail - 1) % LQ][14 + 6] |= 0x20; /* set MF: a fragment */
	uint64_t rx = B.st.udp_rx;
	pump();
	CHECK(B.st.udp_rx == rx && B.st.ip_fragments == 0 && B.st.ip_bad_csum == 1, "MF set without fixing the header checksum: bad IP checksum");
	memcpy(frame, lb.q[0], 60);
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 100);
	uint8_t *f = lb.q[(lb.tail - 1) % LQ], *ip = f + 14;
	ip[6] |= 0x20;
	net_put16(ip + 10, 0);
	net_put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
	pump();
	CHECK(B.st.udp_rx == rx && B.st.ip_fragments == 1, "a fragment (MF) is dropped and counted: no reassembly");
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 100);
	f = lb.q[(lb.tail - 1) % LQ];
	f[42 + 50] ^= 1;
	pump();
	CHECK(B.st.udp_rx == rx && B.st.udp_bad_csum == 1, "a UDP payload bit flipped: bad checksum, dropped");
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 100);
	f = lb.q[(lb.tail - 1) % LQ];
	f[5] = 0x99;
	pump();
	CHECK(B.st.rx_not_for_us == 1, "a frame for another MAC is ignored");
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 100);
	f = lb.q[(lb.tail - 1) % LQ];
	net_put16(f + 16, 2000); /* IP total length beyond the frame */
	pump();
	CHECK(B.st.ip_bad_header == 1, "an IP length beyond the frame: bad header");
	net_input(&B, frame, 10, 0);
	CHECK(B.st.rx_bad_eth == 1, "a 10-byte frame: bad Ethernet");

	/* csum_blank end to end */
	A.tx_flags = NETDEV_TX_CSUM_BLANK;
	rx = B.st.udp_rx;
	r = net_udp_send(&A, NET_IP(10, 0, 0, 2), 5000, 7, payload, 64);
	pump();
	CHECK(r == 0 && B.st.udp_rx == rx + 1 && udp.len == 64, "csum_blank datagram accepted by B (RX flag), echo back");
	A.tx_flags = 0;

	/* ARP give-up and routing */
	uint64_t t0 = fake_now;
	r = net_ping_send(&A, NET_IP(10, 0, 0, 9), 7, 2, 0, 8);
	for (int i = 0; i < 6; i++) { net_poll(&A, 0); net_poll(&B, 0); net_wait(&A, 0); }
	CHECK(r == 0 && A.st.arp_requests_tx == 1 + NET_ARP_TRIES && A.st.arp_unresolved == 1 && fake_now - t0 == NET_ARP_TRIES * NET_ARP_RETRANS_NS,
	      "ping to a silent address: %lu ARP requests 1 s apart, then given up (unresolved %lu)",
	      (unsigned long)(A.st.arp_requests_tx - 1), (unsigned long)A.st.arp_unresolved);
	CHECK(net_ping_send(&A, NET_IP(10, 0, 1, 2), 7, 3, 0, 8) == -101, "off-subnet without a gateway: -ENETUNREACH");
	uint32_t ipv, mask = 0;
	const char *end;
	CHECK(net_parse_ip("192.168.7.21/24 x", &ipv, &mask, &end) == 0 && ipv == NET_IP(192, 168, 7, 21) && mask == NET_IP(255, 255, 255, 0) && *end == ' ',
	      "parse 192.168.7.21/24 -> %s", net_ip_str(ipv, b1));
	CHECK(net_parse_ip("1.2.3", &ipv, 0, 0) < 0 && net_parse_ip("1.2.3.256", &ipv, 0, 0) < 0 && net_parse_ip("1.2.3.4/33", &ipv, &mask, 0) < 0,
	      "parse refuses 1.2.3, 1.2.3.256, /33");
}

int main(void)
{
	checksum_vectors();
	checksum_alignments();
	stack_vs_capture();
	pair_tests();
	printf("nettest: %s (%d checks, %d failed)\n", fails ? "FAIL" : "PASS", checks, fails);
	return fails ? 1 : 0;
}
