/* sriovvf.c - the SR-IOV NIC VF driver (see sriovvf.h; register interface docs/sriov-nic.md). */
#include "tachyxx.h"
#include "xen.h"
#include "evtchn.h"
#include "pcifront.h"
#include "io/ring.h"
#include "sriovvf.h"
#include "net.h"

#define VF_VENDOR 0x1234
#define VF_DEVICE 0x5a11
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_ENABLE 0x8000

/* registers (apps/sriov-nic/src/regs.ts) */
#define R_CTRL 0x0000
#define R_STATUS 0x0004
#define R_RAL 0x0008
#define R_RAH 0x000c
#define R_MTU 0x0014
#define R_ICR 0x0020
#define R_IMS 0x0024
#define R_TDBAL 0x0100
#define R_TDBAH 0x0104
#define R_TDLEN 0x0108
#define R_TDH 0x0110
#define R_TDT 0x0118
#define R_RDBAL 0x0200
#define R_RDBAH 0x0204
#define R_RDLEN 0x0208
#define R_RDT 0x0218
#define R_VFMAILBOX 0x0300
#define R_VFMBMEM 0x0340
#define CTRL_RST 1u
#define CTRL_TXEN 2u
#define CTRL_RXEN 4u
#define STATUS_RSTD 2u
#define STATUS_TXERR 4u
#define STATUS_RXERR 8u
#define ICR_TXDW 1u
#define ICR_RXDW 2u
#define ICR_MBX 4u
#define ICR_LSC 8u
#define VFMB_REQ 1u
#define VFMB_ACK 2u
#define VFMB_PFSTS 16u
#define MBX_VF_RESET 0x01u
#define MBX_ACK 0x80000000u
#define STA_DD 1u
#define STA_ERR 4u
#define TX_EOP 1u
#define TX_RS 2u

struct desc { uint64_t addr; uint16_t len; uint8_t cmd; uint8_t rsvd; uint8_t sta; uint8_t pad[3]; };
_Static_assert(sizeof(struct desc) == 16, "descriptor layout");

static struct vf {
	struct netdev dev;
	uintptr_t regs;
	unsigned bus, devfn;
	char bdf[16];
	volatile uint64_t events;
	unsigned tx_tail, tx_clean, rx_next;
	int broken;
	struct sriovvf_stats st;
} vf0;

static struct desc tx_ring[SRIOVVF_RING] __attribute__((aligned(4096)));
static struct desc rx_ring[SRIOVVF_RING] __attribute__((aligned(4096)));
static uint8_t tx_buf[SRIOVVF_RING][SRIOVVF_BUF] __attribute__((aligned(4096)));
static uint8_t rx_buf[SRIOVVF_RING][SRIOVVF_BUF] __attribute__((aligned(4096)));

static inline uint32_t rd(struct vf *v, unsigned off) { return *(volatile uint32_t *)(v->regs + off); }
static inline void wr(struct vf *v, unsigned off, uint32_t x) { *(volatile uint32_t *)(v->regs + off) = x; }

uint64_t sriovvf_now(void) { return read_time(); }

static void vf_irq(evtchn_port_t port, void *arg)
{
	(void)port;
	uintptr_t which = (uintptr_t)arg;
	if (which == 0) vf0.st.irq_tx++; else if (which == 1) vf0.st.irq_rx++; else vf0.st.irq_mbx++;
	vf0.events++;
}

/* Every devfn of buses 0-3: the first assigned function with the VF's ids. */
static int find_vf(unsigned *bus, unsigned *devfn)
{
	for (unsigned b = 0; b < 4; b++)
		for (unsigned df = 0; df < 256; df++) {
			long id = pci_conf_read(0, b, df, 0, 4);
			if (id < 0) continue; /* not ours (-ENODEV) */
			if ((id & 0xffff) == VF_VENDOR && ((uint32_t)id >> 16) == VF_DEVICE) { *bus = b; *devfn = df; return 0; }
		}
	return -1;
}

/* Sends a mailbox request and waits (up to 1 s) for the PF's reply: words into out[16]; 0 or -5. */
static int mbx_call(struct vf *v, const uint32_t *msg, unsigned n, uint32_t *out)
{
	for (unsigned i = 0; i < 16; i++) wr(v, R_VFMBMEM + 4 * i, i < n ? msg[i] : 0);
	wr(v, R_VFMAILBOX, VFMB_REQ);
	uint64_t deadline = read_time() + 1000000000ull;
	while (!(rd(v, R_VFMAILBOX) & VFMB_PFSTS)) {
		if (read_time() >= deadline) return -NETDEV_EIO;
		uint64_t k = v->events;
		HYPERVISOR_set_timer_op(deadline);
		xen_wait_until(v->events != k || (rd(v, R_VFMAILBOX) & VFMB_PFSTS) || read_time() >= deadline);
	}
	for (unsigned i = 0; i < 16; i++) out[i] = rd(v, R_VFMBMEM + 4 * i);
	wr(v, R_VFMAILBOX, VFMB_ACK);
	wr(v, R_ICR, ICR_MBX);
	return 0;
}

/* Software checksum for a CSUM_BLANK IPv4 UDP/TCP frame: the field holds the pseudo-header sum. */
static void fill_csum(uint8_t *f, uint32_t len)
{
	if (len < 34 || f[12] != 0x08 || f[13] != 0x00) return;
	uint32_t ihl = (uint32_t)(f[14] & 0xf) * 4, l4 = 14 + ihl;
	unsigned off = f[23] == 17 ? 6 : f[23] == 6 ? 16 : 0;
	if (!off || l4 + off + 2 > len) return;
	uint16_t c = net_csum_fold(net_csum_add(0, f + l4, len - l4));
	if (f[23] == 17 && c == 0) c = 0xffff;
	f[l4 + off] = (uint8_t)(c >> 8);
	f[l4 + off + 1] = (uint8_t)c;
}

static void tx_clean(struct vf *v)
{
	while (v->tx_clean != v->tx_tail) {
		volatile struct desc *d = &tx_ring[v->tx_clean];
		if (!(d->sta & STA_DD)) break;
		if (d->sta & STA_ERR) v->st.tx_errors++;
		v->tx_clean = (v->tx_clean + 1) % SRIOVVF_RING;
	}
}

static int vf_send(struct netdev *dev, const void *frame, uint32_t len, uint32_t flags)
{
	struct vf *v = dev->priv;
	if (v->broken) return -NETDEV_EIO;
	if (len > 14u + 4u + dev->mtu || len + 7 > SRIOVVF_BUF) return -NETDEV_EMSGSIZE;
	tx_clean(v);
	unsigned next = (v->tx_tail + 1) % SRIOVVF_RING;
	if (next == v->tx_clean) { v->st.tx_ring_full++; return -NETDEV_EAGAIN; }
	/* the frame starts at its own alignment mod 8 in the buffer, so the copy goes by words (as netfront) */
	uint8_t *b = tx_buf[v->tx_tail] + ((uintptr_t)frame & 7);
	netdev_copy(b, frame, len);
	if (flags & NETDEV_TX_CSUM_BLANK) fill_csum(b, len);
	struct desc *d = &tx_ring[v->tx_tail];
	d->addr = (uintptr_t)b;
	d->len = (uint16_t)len;
	d->cmd = TX_EOP | TX_RS;
	d->sta = 0;
	v->tx_tail = next;
	v->st.tx_packets++;
	v->st.tx_bytes += len;
	xen_mb();
	if (!(flags & NETDEV_TX_MORE)) wr(v, R_TDT, v->tx_tail);
	return 0;
}

static int vf_poll(struct netdev *dev, netdev_rx_fn fn, void *arg, unsigned budget)
{
	struct vf *v = dev->priv;
	wr(v, R_ICR, ICR_TXDW | ICR_RXDW | ICR_LSC); /* causes seen: the next one interrupts again */
	tx_clean(v);
	int n = 0;
	while ((unsigned)n < budget) {
		volatile struct desc *d = &rx_ring[v->rx_next];
		if (!(d->sta & STA_DD)) break;
		xen_mb();
		uint32_t len = d->len;
		if ((d->sta & STA_ERR) || len > SRIOVVF_BUF) v->st.rx_errors++;
		else {
			v->st.rx_packets++;
			v->st.rx_bytes += len;
			fn(arg, rx_buf[v->rx_next], len, 0);
			n++;
		}
		d->addr = (uintptr_t)rx_buf[v->rx_next];
		d->len = 0;
		d->sta = 0;
		xen_mb();
		wr(v, R_RDT, v->rx_next); /* this slot is the device's again */
		v->rx_next = (v->rx_next + 1) % SRIOVVF_RING;
	}
	/* A queue stopped by a DMA fault (STATUS.TXERR/RXERR): checked on idle polls only (an MMIO read
	 * is a PCIe round trip: 500 cycles here). */
	if (n == 0 && (rd(v, R_STATUS) & (STATUS_TXERR | STATUS_RXERR))) { v->broken = 1; return -NETDEV_EIO; }
	return n;
}

static int vf_has_work(struct vf *v)
{
	return (rx_ring[v->rx_next].sta & STA_DD) || (v->tx_clean != v->tx_tail && (tx_ring[v->tx_clean].sta & STA_DD));
}

static void vf_wait(struct netdev *dev, uint64_t deadline)
{
	struct vf *v = dev->priv;
	uint64_t k = v->events;
	v->st.waits++;
	wr(v, R_ICR, ICR_TXDW | ICR_RXDW);
	xen_mb();
	if (vf_has_work(v) || (deadline && read_time() >= deadline)) return;
	if (deadline) HYPERVISOR_set_timer_op(deadline);
	xen_wait_until(v->events != k || vf_has_work(v) || (deadline && read_time() >= deadline));
}

static uint64_t vf_now(struct netdev *dev) { (void)dev; return read_time(); }

static const struct netdev_ops vf_ops = { vf_send, vf_poll, vf_wait, vf_now };

int sriovvf_open(struct netdev **out)
{
	struct vf *v = &vf0;
	if (xen_evtchn_init() < 0) return -NETDEV_EIO;
	if (find_vf(&v->bus, &v->devfn) < 0) return -XEN_ENODEV;
	snprintf(v->bdf, sizeof v->bdf, "0000:%02x:%02x.%u", v->bus, v->devfn >> 3, v->devfn & 7);
	v->regs = (uintptr_t)pci_bar(0, v->bus, v->devfn, 0);
	unsigned cap = pci_find_cap(0, v->bus, v->devfn, PCI_CAP_ID_MSIX);
	if (!v->regs || !cap) return -NETDEV_EIO;
	uint32_t tbl = (uint32_t)pci_conf_read(0, v->bus, v->devfn, cap + 4, 4);
	uint64_t table = pci_bar(0, v->bus, v->devfn, tbl & 7) + (tbl & ~7u);
	for (unsigned e = 0; e < 3; e++) {
		long pirq = pci_map_msix(0, v->bus, v->devfn, e, table);
		if (pirq < 0) { printf("sriovvf: map_pirq entry %u -> %ld\n", e, pirq); return (int)pirq; }
		long port = xen_evtchn_bind_pirq((uint32_t)pirq);
		if (port < 0) { printf("sriovvf: bind_pirq %ld -> %ld\n", pirq, port); return (int)port; }
		xen_evtchn_set_handler((evtchn_port_t)port, vf_irq, (void *)(uintptr_t)e);
	}
	pci_conf_write(0, v->bus, v->devfn, cap + 2, 2, MSIX_ENABLE);
	pci_conf_write(0, v->bus, v->devfn, 0x04, 2, 0x2 | 0x4); /* Bus Master (Memory Space is the PF's VF MSE) */
	wr(v, R_CTRL, CTRL_RST);
	wr(v, R_IMS, ICR_TXDW | ICR_RXDW | ICR_MBX | ICR_LSC);
	/* The PF driver sets the VF up (RSTD), then answers VF_RESET with our MAC. */
	uint64_t deadline = read_time() + 1000000000ull;
	while (!(rd(v, R_STATUS) & STATUS_RSTD) && read_time() < deadline) {
		uint64_t t = read_time() + 1000000ull; /* 1 ms */
		HYPERVISOR_set_timer_op(t);
		xen_wait_until(read_time() >= t);
	}
	uint32_t msg = MBX_VF_RESET, rep[16];
	if (mbx_call(v, &msg, 1, rep) < 0 || (rep[0] & 0xffff) != MBX_VF_RESET || !(rep[0] & MBX_ACK)) return -NETDEV_EIO;
	for (int i = 0; i < 4; i++) v->dev.mac[i] = (uint8_t)(rep[1] >> (8 * i));
	v->dev.mac[4] = (uint8_t)rep[2];
	v->dev.mac[5] = (uint8_t)(rep[2] >> 8);
	v->dev.mtu = (uint16_t)rd(v, R_MTU);
	for (unsigned i = 0; i < SRIOVVF_RING; i++) {
		rx_ring[i].addr = (uintptr_t)rx_buf[i];
		rx_ring[i].len = 0;
		rx_ring[i].sta = 0;
		tx_ring[i].sta = 0;
	}
	xen_mb();
	wr(v, R_TDBAL, (uint32_t)(uintptr_t)tx_ring); wr(v, R_TDBAH, (uint32_t)((uint64_t)(uintptr_t)tx_ring >> 32)); wr(v, R_TDLEN, SRIOVVF_RING);
	wr(v, R_RDBAL, (uint32_t)(uintptr_t)rx_ring); wr(v, R_RDBAH, (uint32_t)((uint64_t)(uintptr_t)rx_ring >> 32)); wr(v, R_RDLEN, SRIOVVF_RING);
	wr(v, R_RDT, SRIOVVF_RING - 1);
	wr(v, R_CTRL, CTRL_TXEN | CTRL_RXEN);
	v->dev.ops = &vf_ops;
	v->dev.priv = v;
	snprintf(v->dev.name, sizeof v->dev.name, "vf%02x.%u", v->devfn >> 3, v->devfn & 7);
	*out = &v->dev;
	return 0;
}

int sriovvf_close(struct netdev *dev)
{
	struct vf *v = dev->priv;
	wr(v, R_CTRL, 0);
	wr(v, R_IMS, 0);
	pci_conf_write(0, v->bus, v->devfn, 0x04, 2, 0);
	return 0;
}

const struct sriovvf_stats *sriovvf_stats(struct netdev *dev) { return &((struct vf *)dev->priv)->st; }
const char *sriovvf_bdf(struct netdev *dev) { return ((struct vf *)dev->priv)->bdf; }
