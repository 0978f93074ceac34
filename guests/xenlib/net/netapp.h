/* netapp.h - start-up shared by the network example guests (ping, udpecho, udpblast): the
 * configuration, one vif through netfront, the stack.
 *
 * Configuration: the kernel command line (xl.cfg `extra = "..."`, start_info.cmd_line), a list
 * of key=value words, e.g. extra = "ip=10.0.0.1/24 peer=10.0.0.2 count=4". When the command
 * line has no ip=, the vif's `ip` key that the toolstack writes into the backend directory
 * (xl.cfg vif = [ 'ip=10.0.0.1' ], /local/domain/0/backend/vif/D/0/ip) is used, with a /24
 * mask. Keys every program takes: ip=A[/prefix] (address), gw=G (gateway, default none),
 * vif=N (device, default 0). Include from the program's single .c file. */
#ifndef TACHYXX_NET_NETAPP_H
#define TACHYXX_NET_NETAPP_H
#include "tachyxx.h"
#include "net.h"
#ifdef NETAPP_SRIOV_VF
/* The VF build (guests/<prog>-vf): the same program over an SR-IOV VF passed through to the
 * domain (sriovvf.c) instead of a vif; the address comes from the command line only. */
#include "sriovvf.h"
#define netfront_now sriovvf_now
#else
#include "netfront.h"
#endif

/* The value of key= on the command line into buf (1 found, 0 not). */
static int netapp_arg(const char *key, char *buf, unsigned cap)
{
	const char *s = boot_start_info ? boot_start_info->cmd_line : "";
	unsigned kl = (unsigned)strlen(key);
	while (*s) {
		while (*s == ' ') s++;
		const char *w = s;
		while (*s && *s != ' ') s++;
		if ((unsigned)(s - w) > kl && !strncmp(w, key, kl) && w[kl] == '=') {
			unsigned n = (unsigned)(s - w) - kl - 1;
			if (n >= cap) n = cap - 1;
			memcpy(buf, w + kl + 1, n);
			buf[n] = 0;
			return 1;
		}
	}
	return 0;
}

static unsigned long netapp_ulong(const char *key, unsigned long dflt)
{
	char b[24];
	if (!netapp_arg(key, b, sizeof b)) return dflt;
	unsigned long v = 0;
	const char *p = b;
	if (*p < '0' || *p > '9') { printf("bad %s=%s (a number), using %lu\n", key, b, dflt); return dflt; }
	while (*p >= '0' && *p <= '9') v = v * 10 + (unsigned long)(*p++ - '0');
	return v;
}

/* An address argument: 1 and *ip, 0 absent, -1 malformed (printed). */
static int netapp_ip(const char *key, uint32_t *ip, uint32_t *mask)
{
	char b[32];
	if (!netapp_arg(key, b, sizeof b)) return 0;
	const char *end;
	if (net_parse_ip(b, ip, mask, &end) < 0 || *end) { printf("bad %s=%s (want a.b.c.d%s)\n", key, b, mask ? "[/prefix]" : ""); return -1; }
	return 1;
}

static struct net_stack netapp_ns;
static struct netdev *netapp_dev;

/* The stack on netapp_dev with gw= from the command line; prints the start of the "up" line
 * (device, MAC, MTU, address/prefix and where it came from). 0 or -1 (printed). */
static int netapp_stack_up(const char *prog, uint32_t ip, uint32_t mask, const char *src)
{
	uint32_t gw = 0;
	if (netapp_ip("gw", &gw, 0) < 0) return -1;
	net_init(&netapp_ns, netapp_dev, ip, mask, gw);
	const uint8_t *m = netapp_dev->mac;
	char b1[16];
	int prefix = 0;
	for (uint32_t x = mask; x & 0x80000000u; x <<= 1) prefix++;
	printf("%s: %s %02x:%02x:%02x:%02x:%02x:%02x mtu %u, %s/%d (%s)", prog, netapp_dev->name,
	       m[0], m[1], m[2], m[3], m[4], m[5], netapp_dev->mtu, net_ip_str(ip, b1), prefix, src);
	return 0;
}

#ifdef NETAPP_SRIOV_VF
static int netapp_up(const char *prog)
{
	int r = sriovvf_open(&netapp_dev);
	if (r < 0) { printf("%s: sriovvf_open -> %d (pci = ['BB:DD.F'] with an assignable VF)\n", prog, r); return -1; }
	uint32_t ip = 0, mask = NET_IP(255, 255, 255, 0);
	int have = netapp_ip("ip", &ip, &mask);
	if (have <= 0) { if (!have) printf("%s: give ip=a.b.c.d/nn in extra=\n", prog); return -1; }
	if (netapp_stack_up(prog, ip, mask, "cmdline") < 0) return -1;
	printf(", SR-IOV VF %s, MSI-X as event channels\n", sriovvf_bdf(netapp_dev));
	return 0;
}
#else
/* Brings the vif and the stack up; prints one line. 0 or -1 (printed). */
static int netapp_up(const char *prog)
{
	unsigned vif = (unsigned)netapp_ulong("vif", 0);
	unsigned long queues = netapp_ulong("queues", 1);
	if (queues < 1 || queues > NETFRONT_MAX_QUEUES) { printf("%s: queues=%lu outside 1..%u\n", prog, queues, NETFRONT_MAX_QUEUES); return -1; }
	int r = netfront_open_queues(vif, (unsigned)queues, &netapp_dev);
	if (r < 0) { printf("%s: vif %u: netfront_open -> %d\n", prog, vif, r); return -1; }
	uint32_t ip = 0, mask = NET_IP(255, 255, 255, 0);
	const char *src = "cmdline";
	int have = netapp_ip("ip", &ip, &mask);
	if (have < 0) return -1;
	if (!have) {
		char path[160], b[64];
		snprintf(path, sizeof path, "%s/ip", netfront_backend(netapp_dev));
		const char *end;
		/* libxl: "ip" may list several addresses separated by spaces; the first is ours */
		if (netfront_xs_read(path, b, sizeof b) < 0 || net_parse_ip(b, &ip, &mask, &end) < 0 || (*end && *end != ' ')) {
			printf("%s: no address: give ip=a.b.c.d/nn in extra= or ip= in the vif spec\n", prog);
			return -1;
		}
		src = "vif ip";
	}
	if (netapp_stack_up(prog, ip, mask, src) < 0) return -1;
	printf(", event channels %s", netfront_split_evtchn(netapp_dev) ? "split" : "shared");
	if (netfront_queues(netapp_dev) > 1 || queues > 1) printf(", %u of %lu queues", netfront_queues(netapp_dev), queues);
	printf("\n");
	return 0;
}
#endif

/* Polls until now >= deadline (serving the stack meanwhile) or `*done` (if given) is set. */
static void netapp_run_until(uint64_t deadline, volatile int *done)
{
	for (;;) {
		net_poll(&netapp_ns, 0);
		if ((done && *done) || netfront_now() >= deadline) return;
		net_wait(&netapp_ns, deadline);
	}
}

/* Time as "12.345 ms". */
static const char *netapp_ms(uint64_t ns, char buf[24])
{
	snprintf(buf, 24, "%lu.%03lu ms", (unsigned long)(ns / 1000000), (unsigned long)(ns / 1000 % 1000));
	return buf;
}

#ifdef NETAPP_SRIOV_VF
static void netapp_down(const char *prog)
{
	const struct sriovvf_stats *s = sriovvf_stats(netapp_dev);
	const struct net_stats *n = &netapp_ns.st;
	printf("%s: vf rx %lu pkts (%lu errors) tx %lu pkts (%lu errors, %lu ring-full); irqs tx %lu rx %lu mbx %lu; "
	       "stack: arp req %lu/%lu rep %lu/%lu, bad csum ip %lu icmp %lu udp %lu\n", prog,
	       (unsigned long)s->rx_packets, (unsigned long)s->rx_errors, (unsigned long)s->tx_packets, (unsigned long)s->tx_errors,
	       (unsigned long)s->tx_ring_full, (unsigned long)s->irq_tx, (unsigned long)s->irq_rx, (unsigned long)s->irq_mbx,
	       (unsigned long)n->arp_requests_tx, (unsigned long)n->arp_requests_rx,
	       (unsigned long)n->arp_replies_tx, (unsigned long)n->arp_replies_rx, (unsigned long)n->ip_bad_csum,
	       (unsigned long)n->icmp_bad_csum, (unsigned long)n->udp_bad_csum);
	sriovvf_close(netapp_dev);
}
#else
static void netapp_down(const char *prog)
{
	const struct netfront_stats *s = netfront_stats(netapp_dev);
	const struct net_stats *n = &netapp_ns.st;
	printf("%s: netfront rx %lu pkts (%lu multi-slot, %lu bad) tx %lu pkts (%lu multi-slot, %lu errors, %lu ring-full, %lu built in place); "
	       "stack: arp req %lu/%lu rep %lu/%lu, bad csum ip %lu icmp %lu udp %lu\n", prog,
	       (unsigned long)s->rx_packets, (unsigned long)s->rx_multislot,
	       (unsigned long)(s->rx_err_status + s->rx_err_bounds + s->rx_err_slots + s->rx_err_extra),
	       (unsigned long)s->tx_packets, (unsigned long)s->tx_multislot, (unsigned long)(s->tx_err_status + s->tx_dropped),
	       (unsigned long)s->tx_ring_full, (unsigned long)s->tx_inplace, (unsigned long)n->arp_requests_tx, (unsigned long)n->arp_requests_rx,
	       (unsigned long)n->arp_replies_tx, (unsigned long)n->arp_replies_rx, (unsigned long)n->ip_bad_csum,
	       (unsigned long)n->icmp_bad_csum, (unsigned long)n->udp_bad_csum);
	if (netfront_queues(netapp_dev) > 1) {
		printf("%s: netfront queues (tx/rx pkts):", prog);
		for (unsigned q = 0; q < netfront_queues(netapp_dev); q++) {
			uint64_t t, x;
			netfront_queue_packets(netapp_dev, q, &t, &x);
			printf(" %u: %lu/%lu", q, (unsigned long)t, (unsigned long)x);
		}
		printf("\n");
	}
	int r = netfront_close(netapp_dev);
	if (r < 0) printf("%s: netfront_close -> %d\n", prog, r);
}
#endif

#endif
