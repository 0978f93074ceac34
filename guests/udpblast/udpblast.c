/* udpblast - UDP throughput over a PV vif. Command line (xl.cfg extra=, see netapp.h):
 *   mode=send|recv  (default recv)
 *   ip=A[/nn]       our address (or the vif's ip= key)
 *   peer=B          the receiver (send mode)
 *   port=P          the receiver's port (default 9000)
 *   size=S          UDP payload bytes, 24..mtu-28 (default 64)
 *   count=N         datagrams (default 10000; at most 4194304)
 *   rate=R          datagrams per simulated second (default 0: as fast as the ring allows)
 *   csum=blank      leave UDP checksums to the backend (NETTXF_csum_blank), default full
 *   flows=K         (send) spread DATA over K flows, source ports 9001..9001+K-1 (datagram seq
 *                   from port 9001 + seq % K), 1..64 (default 1): with queues=N (netapp.h) the
 *                   flow hashes put them on several queues
 *   echo=1          (send) the peer is an echo server (guests/udpecho): the echoed HELLO is the
 *                   answer, every DATA must come back intact; no END/REPORT
 * Protocol (payload): magic "UBLS", a type word, a 64-bit sequence number, then data. The
 * sender says HELLO until the receiver answers (up to 10 s), sends DATA 0..N-1, then END (with
 * N) until the receiver's REPORT comes back. The receiver checks magic, sequence numbers
 * (duplicates, out of order, lost = N - distinct) and the last 8 pattern bytes of each datagram
 * (the UDP checksum covers the rest), and prints the count and the rate between its first and
 * last DATA in simulated time. Both print one summary line ("udpblast: ...") and power off
 * (exit 0 when nothing was lost or bad). */
#include "netapp.h"

#define MAGIC 0x55424c53u
enum { HELLO = 1, HELLO_ACK, DATA, END, REPORT };
#define HDR 16
#define MAX_COUNT (1u << 22)

static uint8_t seen[MAX_COUNT / 8];
static uint8_t pkt[65536];

struct report { uint64_t distinct, dup, ooo, bad, first, last, total; };
static struct {
	struct report r;
	uint64_t max_seq;
	int any, ended, reported;
	uint32_t sender, size;
	uint16_t sport;
} rx;
static struct { int acked, reported, echo; uint64_t echoed, echo_bad; struct report r; } tx;

static void put_hdr(uint8_t *p, uint32_t type, uint64_t seq)
{
	net_put32(p, MAGIC);
	net_put32(p + 4, type);
	net_put32(p + 8, (uint32_t)(seq >> 32));
	net_put32(p + 12, (uint32_t)seq);
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)net_get32(p) << 32 | net_get32(p + 4); }
static uint8_t pat(uint64_t seq, uint32_t i) { return (uint8_t)(seq * 131 + i); }

static void send_ctl(struct net_stack *ns, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t type, uint64_t seq, const struct report *r)
{
	uint8_t b[HDR + 7 * 8];
	put_hdr(b, type, seq);
	uint32_t len = HDR;
	if (r) {
		const uint64_t *v = &r->distinct;
		for (int i = 0; i < 7; i++) { net_put32(b + HDR + 8 * i, (uint32_t)(v[i] >> 32)); net_put32(b + HDR + 8 * i + 4, (uint32_t)v[i]); }
		len += 7 * 8;
	}
	for (int tries = 0; net_udp_send(ns, dst, sport, dport, b, len) == -NETDEV_EAGAIN && tries < 1000; tries++)
		ns->dev->ops->poll(ns->dev, 0, 0, 0);
}

static void on_recv(void *arg, struct net_stack *ns, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *d, uint32_t len)
{
	if (len < HDR || net_get32(d) != MAGIC) { rx.r.bad++; return; }
	uint32_t type = net_get32(d + 4);
	uint64_t seq = get64(d + 8);
	if (type == HELLO) {
		send_ctl(ns, src, dport, sport, HELLO_ACK, 0, 0);
	} else if (type == DATA) {
		uint64_t now = netfront_now();
		if (seq >= MAX_COUNT) { rx.r.bad++; return; }
		for (uint32_t i = len >= HDR + 8 ? len - 8 : HDR; i < len; i++)
			if (d[i] != pat(seq, i)) { rx.r.bad++; return; }
		if (seen[seq / 8] & (1u << (seq % 8))) { rx.r.dup++; return; }
		seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		if (!rx.any) { rx.any = 1; rx.r.first = now; }
		else if (seq < rx.max_seq) rx.r.ooo++;
		if (seq > rx.max_seq) rx.max_seq = seq;
		rx.r.last = now;
		rx.r.distinct++;
		rx.size = len;
	} else if (type == END) {
		rx.r.total = seq;
		rx.ended = 1;
		rx.sender = src;
		rx.sport = sport;
		send_ctl(ns, src, dport, sport, REPORT, 0, &rx.r);
		rx.reported++;
	} else {
		rx.r.bad++;
	}
}

static void on_send_side(void *arg, struct net_stack *ns, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *d, uint32_t len)
{
	if (len < HDR || net_get32(d) != MAGIC) return;
	uint32_t type = net_get32(d + 4);
	if (tx.echo) {
		uint64_t seq = get64(d + 8);
		if (type == HELLO) tx.acked = 1;
		else if (type == DATA && seq < MAX_COUNT) {
			for (uint32_t i = len >= HDR + 8 ? len - 8 : HDR; i < len; i++)
				if (d[i] != pat(seq, i)) { tx.echo_bad++; return; }
			if (seen[seq / 8] & (1u << (seq % 8))) { tx.echo_bad++; return; }
			seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
			tx.echoed++;
		}
		return;
	}
	if (type == HELLO_ACK) tx.acked = 1;
	else if (type == REPORT && len >= HDR + 56) {
		uint64_t *v = &tx.r.distinct;
		for (int i = 0; i < 7; i++) v[i] = get64(d + HDR + 8 * i);
		tx.reported = 1;
	}
}

/* "1.234 Mpps" style: value * 1e9 / dt_ns with 3 decimals, in units of `unit`. */
static void print_rate(const char *what, uint64_t n, uint64_t dt, uint64_t unit, const char *uname)
{
	uint64_t milli = dt ? (n * 1000ull / unit) * 1000000000ull / dt : 0; /* careful with overflow */
	printf("%s%lu.%03lu %s", what, (unsigned long)(milli / 1000), (unsigned long)(milli % 1000), uname);
}

static void rates(uint64_t pkts, uint64_t size, uint64_t dt)
{
	char t[24];
	printf(" in %s simulated:", netapp_ms(dt, t));
	print_rate(" ", pkts, dt, 1000, "kpps");
	print_rate(", ", pkts * size * 8, dt, 1000000, "Mbit/s payload");
}

static int do_send(void)
{
	char b1[16];
	uint32_t peer;
	if (netapp_ip("peer", &peer, 0) != 1) { printf("udpblast: mode=send needs peer=a.b.c.d\n"); return 1; }
	unsigned long port = netapp_ulong("port", 9000), size = netapp_ulong("size", 64), count = netapp_ulong("count", 10000);
	unsigned long rate = netapp_ulong("rate", 0);
	char cs[16];
	if (netapp_arg("csum", cs, sizeof cs) && !strcmp(cs, "blank")) netapp_ns.tx_flags |= NETDEV_TX_CSUM_BLANK;
	tx.echo = netapp_ulong("echo", 0) == 1;
	unsigned long flows = netapp_ulong("flows", 1);
	if (flows < 1 || flows > 64) { printf("udpblast: flows=%lu outside 1..64\n", flows); return 1; }
	if (flows > 1 && tx.echo) { printf("udpblast: flows= needs a receiver, not echo=1\n"); return 1; }
	if (size < HDR + 8 || size + 28 > netapp_dev->mtu) { printf("udpblast: size=%lu outside %u..%u\n", size, HDR + 8, netapp_dev->mtu - 28); return 1; }
	if (count == 0 || count > MAX_COUNT) { printf("udpblast: count=%lu outside 1..%u\n", count, MAX_COUNT); return 1; }
	struct net_stack *ns = &netapp_ns;
	net_udp_bind(ns, 9001, on_send_side, 0);
	uint64_t t0 = netfront_now();
	for (int i = 0; i < 50 && !tx.acked; i++) {
		send_ctl(ns, peer, 9001, (uint16_t)port, HELLO, 0, 0);
		netapp_run_until(netfront_now() + 200000000ull, &tx.acked);
	}
	if (!tx.acked) { printf("udpblast: no receiver at %s:%lu (10 s)\n", net_ip_str(peer, b1), port); return 1; }
	char t[24];
	printf("udpblast: receiver %s:%lu up after %s; sending %lu x %lu bytes%s", net_ip_str(peer, b1), port,
	       netapp_ms(netfront_now() - t0, t), count, size, ns->tx_flags & NETDEV_TX_CSUM_BLANK ? " (csum_blank)" : "");
	if (flows > 1) printf(" over %lu flows", flows);
	printf("\n");
	for (uint32_t i = HDR; i < size; i++) pkt[i] = 0;
	uint64_t start = netfront_now(), busy = 0;
	for (uint64_t seq = 0; seq < count; seq++) {
		if (rate) {
			uint64_t due = start + seq * 1000000000ull / rate;
			if (netfront_now() < due) netapp_run_until(due, 0);
		}
		put_hdr(pkt, DATA, seq);
		for (uint32_t i = size >= HDR + 8 ? (uint32_t)size - 8 : HDR; i < size; i++) pkt[i] = pat(seq, i);
		/* batch: push every 32 datagrams and at the end (Linux's xmit_more) */
		int last = seq + 1 == count || (seq & 31) == 31 || rate;
		ns->tx_flags = (ns->tx_flags & ~NETDEV_TX_MORE) | (last ? 0 : NETDEV_TX_MORE);
		int r;
		uint16_t sport = (uint16_t)(flows == 1 ? 9001 : 9001 + seq % flows);
		while ((r = net_udp_send(ns, peer, sport, (uint16_t)port, pkt, (uint32_t)size)) == -NETDEV_EAGAIN) {
			busy++;
			if (net_poll(ns, 0) < 0) break;
			net_wait(ns, 0); /* until TX completions free slots */
		}
		if (r < 0) { printf("udpblast: send %lu -> %d\n", (unsigned long)seq, r); return 1; }
		if ((seq & 63) == 63) net_poll(ns, 0);
	}
	ns->tx_flags &= ~NETDEV_TX_MORE;
	uint64_t dt = netfront_now() - start;
	printf("udpblast: sent %lu datagrams (ring full %lu times)", count, (unsigned long)busy);
	rates(count, size, dt);
	printf("\n");
	if (tx.echo) {
		uint64_t until = netfront_now() + 2000000000ull;
		while (tx.echoed < count && netfront_now() < until) netapp_run_until(netfront_now() + 10000000ull, 0);
		printf("udpblast: %lu of %lu echoed back, %lu bad\n", (unsigned long)tx.echoed, count, (unsigned long)tx.echo_bad);
		return tx.echoed == count && !tx.echo_bad ? 0 : 1;
	}
	for (int i = 0; i < 50 && !tx.reported; i++) {
		send_ctl(ns, peer, 9001, (uint16_t)port, END, count, 0);
		netapp_run_until(netfront_now() + 200000000ull, &tx.reported);
	}
	if (!tx.reported) { printf("udpblast: no report from the receiver\n"); return 1; }
	uint64_t lost = tx.r.total - tx.r.distinct;
	printf("udpblast: receiver reports %lu of %lu received, %lu lost, %lu bad\n", (unsigned long)tx.r.distinct,
	       (unsigned long)tx.r.total, (unsigned long)lost, (unsigned long)tx.r.bad);
	return lost || tx.r.bad || tx.r.dup ? 1 : 0;
}

static int do_recv(void)
{
	unsigned long port = netapp_ulong("port", 9000);
	net_udp_bind(&netapp_ns, (uint16_t)port, on_recv, 0);
	printf("udpblast: receiving on port %lu\n", port);
	while (!rx.ended) {
		if (net_poll(&netapp_ns, 0) < 0) { printf("udpblast: device failed\n"); return 1; }
		if (!rx.ended) net_wait(&netapp_ns, 0);
	}
	/* answer repeated ENDs until the sender has been quiet for 500 ms */
	uint64_t last = netfront_now();
	uint64_t frames = netapp_ns.st.rx_frames;
	while (netfront_now() < last + 500000000ull) {
		netapp_run_until(netfront_now() + 50000000ull, 0);
		if (netapp_ns.st.rx_frames != frames) { frames = netapp_ns.st.rx_frames; last = netfront_now(); }
	}
	uint64_t lost = rx.r.total - rx.r.distinct;
	printf("udpblast: received %lu of %lu, lost %lu, duplicates %lu, out of order %lu, bad %lu",
	       (unsigned long)rx.r.distinct, (unsigned long)rx.r.total, (unsigned long)lost, (unsigned long)rx.r.dup,
	       (unsigned long)rx.r.ooo, (unsigned long)rx.r.bad);
	if (rx.r.distinct > 1) rates(rx.r.distinct - 1, rx.size, rx.r.last - rx.r.first);
	printf("\n");
	return lost || rx.r.bad || rx.r.dup ? 1 : 0;
}

int main(void)
{
	char mode[8] = "recv";
	netapp_arg("mode", mode, sizeof mode);
	if (strcmp(mode, "send") && strcmp(mode, "recv")) { printf("udpblast: mode=%s (send or recv)\n", mode); return 1; }
	if (netapp_up("udpblast") < 0) return 1;
	int r = !strcmp(mode, "send") ? do_send() : do_recv();
	netapp_down("udpblast");
	return r;
}
