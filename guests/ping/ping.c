/* ping - ICMP echo over a PV vif. Command line (xl.cfg extra=, see netapp.h):
 *   ip=A[/nn]      our address (or the vif's ip= key)
 *   peer=B         the address to ping (required)
 *   count=N        echo requests (default 4)
 *   size=S         payload bytes (default 56, as ping(8); up to mtu - 28)
 *   interval=MS    between requests, simulated ms (default 100)
 *   timeout=MS     wait for each reply (default 1000)
 *   quiet=MS       before powering off, keep answering until no echo request has arrived for
 *                  MS simulated ms (default 1500; 0: leave at once), at most 10 s: the peer
 *                  may still be pinging us
 * First it waits up to 10 s for the peer (an echo request every second until one is answered:
 * the peer's vif may connect later than ours), then sends the counted requests and prints
 * "S bytes from B: icmp_seq=i time=T" per reply and ping(8)'s summary, RTTs in simulated time.
 * Exit 0 (poweroff) when every counted request was answered, 1 (crash) otherwise. */
#include "netapp.h"

#define PING_ID 0x7478 /* "tx" */

static struct {
	uint16_t seq;
	int got;
	uint64_t rtt;
	uint32_t len;
	int corrupt;
} rep;

static void on_echo(void *arg, struct net_stack *ns, uint32_t src, uint16_t id, uint16_t seq, const uint8_t *d, uint32_t len)
{
	if (id != PING_ID || seq != rep.seq || rep.got) return; /* not ours, or a late duplicate */
	uint64_t stamp = (uint64_t)net_get32(d) << 32 | net_get32(d + 4);
	rep.rtt = netfront_now() - stamp;
	rep.len = len;
	rep.got = 1;
	for (uint32_t i = 8; i < len; i++) if (d[i] != (uint8_t)(0x10 + i - 8)) rep.corrupt = 1;
}

/* One request; waits for its reply until the deadline. 1 answered, 0 not. */
static int ping_once(uint32_t peer, uint16_t seq, uint32_t size, uint64_t timeout)
{
	rep.seq = seq;
	rep.got = 0;
	rep.corrupt = 0;
	uint64_t t0 = netfront_now(), deadline = t0 + timeout;
	int r;
	while ((r = net_ping_send(&netapp_ns, peer, PING_ID, seq, netfront_now(), size)) == -NETDEV_EAGAIN && netfront_now() < deadline) {
		net_poll(&netapp_ns, 0);
		net_wait(&netapp_ns, deadline);
	}
	if (r < 0) { printf("ping: send -> %d\n", r); return 0; }
	netapp_run_until(deadline, &rep.got);
	return rep.got;
}

int main(void)
{
	char b1[16], t1[24], t2[24], t3[24];
	uint32_t peer;
	if (netapp_ip("peer", &peer, 0) != 1) { printf("ping: give peer=a.b.c.d on the command line (extra=)\n"); return 1; }
	unsigned long count = netapp_ulong("count", 4), size = netapp_ulong("size", 56);
	uint64_t interval = netapp_ulong("interval", 100) * 1000000ull, timeout = netapp_ulong("timeout", 1000) * 1000000ull;
	uint64_t quiet = netapp_ulong("quiet", 1500) * 1000000ull;
	if (netapp_up("ping") < 0) return 1;
	net_set_echo_handler(&netapp_ns, on_echo, 0);
	if (size < 8 || size + 28 > netapp_dev->mtu) { printf("ping: size=%lu outside 8..%u (mtu - 28)\n", size, netapp_dev->mtu - 28); return 1; }

	uint64_t t0 = netfront_now();
	int up = 0;
	for (int i = 0; i < 10 && !up; i++) up = ping_once(peer, (uint16_t)(0x8000 + i), 8, 1000000000ull);
	if (!up) { printf("ping: %s does not answer (10 s)\n", net_ip_str(peer, b1)); netapp_down("ping"); return 1; }
	printf("PING %s: %lu data bytes; peer up after %s\n", net_ip_str(peer, b1), size, netapp_ms(netfront_now() - t0, t1));

	unsigned long received = 0, corrupt = 0;
	uint64_t min = ~0ull, max = 0, sum = 0, start = netfront_now();
	for (unsigned long i = 1; i <= count; i++) {
		uint64_t next = start + (i - 1) * interval;
		if (netfront_now() < next) netapp_run_until(next, 0);
		if (ping_once(peer, (uint16_t)i, (uint32_t)size, timeout)) {
			received++;
			if (rep.corrupt) corrupt++;
			if (rep.rtt < min) min = rep.rtt;
			if (rep.rtt > max) max = rep.rtt;
			sum += rep.rtt;
			printf("%u bytes from %s: icmp_seq=%lu time=%s%s\n", rep.len + 8, b1, i, netapp_ms(rep.rtt, t1), rep.corrupt ? " (payload corrupt)" : "");
		} else {
			printf("no reply from %s: icmp_seq=%lu (timeout %s)\n", b1, i, netapp_ms(timeout, t1));
		}
	}
	printf("--- %s ping statistics ---\n", b1);
	printf("%lu packets transmitted, %lu received, %lu%% packet loss\n", count, received, count ? (count - received) * 100 / count : 0);
	if (received)
		printf("rtt min/avg/max = %s / %s / %s (simulated time)\n", netapp_ms(min, t1), netapp_ms(sum / received, t2), netapp_ms(max, t3));
	if (quiet) {
		uint64_t cap = netfront_now() + 10000000000ull, last = netfront_now();
		uint64_t seen = netapp_ns.st.icmp_echo_rx;
		while (netfront_now() < last + quiet && netfront_now() < cap) {
			netapp_run_until(netfront_now() + 50000000ull, 0); /* 50 ms steps */
			if (netapp_ns.st.icmp_echo_rx != seen) { seen = netapp_ns.st.icmp_echo_rx; last = netfront_now(); }
		}
	}
	printf("answered %lu echo requests\n", (unsigned long)netapp_ns.st.icmp_echo_replies_tx);
	netapp_down("ping");
	return received == count && !corrupt ? 0 : 1;
}
