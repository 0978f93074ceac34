/* udpecho - a UDP echo server (RFC 862 style) over a PV vif. Command line (xl.cfg extra=, see
 * netapp.h): ip=A[/nn], port=P (default 7), count=N (power off after N datagrams; 0 = never,
 * the default), idle=MS (power off after MS simulated ms without a datagram; 0 = never, the
 * default). Prints one line per datagram for the first 10, then a summary. */
#include "netapp.h"

static unsigned long echoed, failed;

static void on_udp(void *arg, struct net_stack *ns, uint32_t src, uint16_t sport, uint16_t dport, const uint8_t *d, uint32_t len)
{
	char b[16];
	int r;
	/* the reply may find the TX ring full: let completions come back and retry */
	for (int tries = 0; (r = net_udp_send(ns, src, dport, sport, d, len)) == -NETDEV_EAGAIN && tries < 100; tries++)
		ns->dev->ops->poll(ns->dev, 0, 0, 0);
	if (r == 0) echoed++;
	else failed++;
	if (echoed + failed <= 10) printf("udpecho: %u bytes from %s:%u echoed%s\n", len, net_ip_str(src, b), sport, r ? " (send failed)" : "");
}

int main(void)
{
	unsigned long port = netapp_ulong("port", 7), count = netapp_ulong("count", 0);
	uint64_t idle = netapp_ulong("idle", 0) * 1000000ull;
	if (port == 0 || port > 65535) { printf("udpecho: port=%lu outside 1..65535\n", port); return 1; }
	if (netapp_up("udpecho") < 0) return 1;
	net_udp_bind(&netapp_ns, (uint16_t)port, on_udp, 0);
	printf("udpecho: listening on port %lu\n", port);
	uint64_t last = netfront_now();
	unsigned long seen = 0;
	for (;;) {
		if (net_poll(&netapp_ns, 0) < 0) { printf("udpecho: device failed\n"); return 1; }
		if (echoed + failed != seen) { seen = echoed + failed; last = netfront_now(); }
		if (count && seen >= count) break;
		if (idle && netfront_now() >= last + idle) break;
		net_wait(&netapp_ns, idle ? last + idle : 0);
	}
	printf("udpecho: %lu datagrams echoed, %lu failed\n", echoed, failed);
	netapp_down("udpecho");
	return failed ? 1 : 0;
}
