/* sriovvf.h - a driver for a virtual function of the Tachyxx SR-IOV NIC (apps/sriov-nic, register
 * interface in docs/sriov-nic.md) passed through to this domain (xl.cfg pci = ['BB:DD.F']), as a
 * struct netdev (netdev.h) under the same IPv4 stack as netfront. Source: sriovvf.c (with net.c;
 * cflags -Iguests/xenlib -Iguests/xenlib/net). The hypervisor is not in its data path: the VF
 * DMAs the rings and buffers of this domain through the IOMMU and its MSI-X vectors arrive as
 * event-channel upcalls (pirqs) through the interrupt remapper.
 *
 * Probe: config space through physdev_op (passthrough's pciback-filtered access), the first
 * function with ids 1234:5a11 on buses 0-3 (every devfn: VFs sit at function numbers 0x80 +
 * (n-1)*2, ARI). BAR0 (registers) and BAR3 (MSI-X) as the toolstack mapped them; three MSI-X
 * entries -> pirqs -> event channels (TX done, RX, mailbox); Bus Master on. Then the mailbox:
 * VF_RESET -> the PF driver answers ACK|CTS with our MAC (igb's e1000_reset_hw_vf handshake).
 * Rings: SRIOVVF_RING descriptors each way, 2 KiB buffers in this domain's memory (device
 * address = guest-physical address). The device does no checksum offload: a CSUM_BLANK send is
 * completed in software here.
 *
 * netfront_now is the stack clock the example programs call: netapp.h maps it to sriovvf_now in
 * the VF build (the programs' sources are unchanged). */
#ifndef TACHYXX_NET_SRIOVVF_H
#define TACHYXX_NET_SRIOVVF_H
#include <stdint.h>
#include "netdev.h"

#define SRIOVVF_RING 128   /* descriptors per ring (the NIC's default queue is 256) */
#define SRIOVVF_BUF 2048   /* the NIC's RX_BUF_SIZE */

struct sriovvf_stats {
	uint64_t rx_packets, rx_bytes, rx_errors, tx_packets, tx_bytes, tx_errors, tx_ring_full;
	uint64_t irq_tx, irq_rx, irq_mbx, waits;
};

/* Probes and brings up the first VF assigned to this domain: 0 and the netdev, or -errno
 * (-19 no VF assigned, -5 the PF did not answer the mailbox / the device failed). */
int sriovvf_open(struct netdev **out);
/* TX/RX off, Bus Master off, MSI-X off. 0. */
int sriovvf_close(struct netdev *dev);
const struct sriovvf_stats *sriovvf_stats(struct netdev *dev);
/* "0000:01:10.2" */
const char *sriovvf_bdf(struct netdev *dev);
uint64_t sriovvf_now(void);

#endif
