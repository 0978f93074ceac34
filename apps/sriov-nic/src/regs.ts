/**
 * The register interface of the Tachyxx SR-IOV NIC (ours; docs/sriov-nic.md). Its shape follows
 * Intel's 82576 as QEMU's igb model has it (hw/net/igb.c, igbvf.c, igb_core.c): SR-IOV
 * capability with First VF Offset 0x80 and VF Stride 2, 8 VFs by default, BAR0 registers +
 * BAR3 MSI-X per function, a 16-word mailbox memory per VF shared by the PF and the VF, the
 * mailbox message numbers and ACK/NACK/CTS flags of igb's e1000_mbx.h. The register offsets and
 * the descriptor layout are our own (simpler than the 82576's).
 */

// ---- identity (PCI IDs: the QEMU vendor id 0x1234 the edu device uses; our device ids) ----
export const NIC_VENDOR_ID = 0x1234;
export const NIC_PF_DEVICE_ID = 0x5a10;
export const NIC_VF_DEVICE_ID = 0x5a11;
export const NIC_CLASS = 0x020000; // network controller, Ethernet
export const NIC_REVISION = 0x01;

// ---- SR-IOV layout (igb: IGB_VF_OFFSET 0x80, IGB_VF_STRIDE 2, IGB_MAX_VF_FUNCTIONS 8) ----
export const NIC_VF_OFFSET = 0x80;
export const NIC_VF_STRIDE = 2;
export const NIC_DEFAULT_VFS = 8;
/** Most VFs: VF n's function number 0x80 + (n-1)*2 must stay on the PF's bus (<= 0xff). */
export const NIC_MAX_VFS = 64;

// ---- BARs (igb: BAR0 128 KiB, MSI-X BAR3 16 KiB; igbvf: BAR0 16 KiB, BAR3 16 KiB) ----
export const PF_BAR0_SIZE = 128 << 10;
export const VF_BAR0_SIZE = 16 << 10;
export const MSIX_BAR = 3;
export const MSIX_BAR_SIZE = 16 << 10;
export const MSIX_PBA_OFFSET = 0x2000;
/** MSI-X vectors per function: TX done, RX, mailbox / link. */
export const NIC_VECTORS = 3;
export const VEC_TX = 0;
export const VEC_RX = 1;
export const VEC_MBX = 2;

// ---- registers of every function (BAR0) ----
export const REG = {
  CTRL: 0x0000,     // RW: RST (self-clearing), TXEN, RXEN
  STATUS: 0x0004,   // RO: LU (link up), RSTD (the PF has set this function up), TXERR / RXERR (queue stopped by a DMA fault)
  RAL: 0x0008,      // MAC bytes 0-3 (VF: read-only, set by the PF)
  RAH: 0x000c,      // MAC bytes 4-5 in bits 15:0
  VLAN: 0x0010,     // port VLAN id (0 = none; VF: read-only, set by the PF)
  MTU: 0x0014,      // RO 1500
  RXBUF: 0x0018,    // RO: bytes of one RX buffer (2048)
  ICR: 0x0020,      // interrupt causes, write 1 to clear
  IMS: 0x0024,      // interrupt enable mask
  MBVFICR: 0x0028,  // PF: VFs with a mailbox request pending (bit k-1 = VF k), write 1 to clear
  MBVFACK: 0x002c,  // PF: VFs that read a PF message (ack), write 1 to clear
  SWMODE: 0x0030,   // PF: 0 VEB, 1 VEPA
  NUMVFS: 0x0034,   // PF: VFs enabled now (RO)
  UPLINK: 0x0038,   // PF: bit 0 uplink carrier (RO)
  // counters (RO)
  TXPKTS: 0x0040, TXBYTES: 0x0044, RXPKTS: 0x0048, RXBYTES: 0x004c,
  TXDROP: 0x0050,   // refused by the switch: spoofed source, VLAN, MTU
  RXDROP: 0x0054,   // no RX descriptor / buffer too small
  DMAERR: 0x0058,   // DMA faults (IOMMU, master abort, bus master off)
  MBXDROP: 0x005c,  // mailbox requests dropped (one still pending)
  TXRATE: 0x0060,   // VF: its rate limit in Mbit/s (RO; the PF sets it)
  // TX queue
  TDBAL: 0x0100, TDBAH: 0x0104, TDLEN: 0x0108, TDH: 0x0110, TDT: 0x0118,
  // RX queue
  RDBAL: 0x0200, RDBAH: 0x0204, RDLEN: 0x0208, RDH: 0x0210, RDT: 0x0218,
  // VF side of the mailbox
  VFMAILBOX: 0x0300,
  VFMBMEM: 0x0340, // 16 x u32, shared with the PF's PFMBMEM of this VF
} as const;

export const CTRL_RST = 1 << 0;
export const CTRL_TXEN = 1 << 1;
export const CTRL_RXEN = 1 << 2;
export const STATUS_LU = 1 << 0;
export const STATUS_RSTD = 1 << 1;
export const STATUS_TXERR = 1 << 2;
export const STATUS_RXERR = 1 << 3;
export const ICR_TXDW = 1 << 0;
export const ICR_RXDW = 1 << 1;
export const ICR_MBX = 1 << 2;
export const ICR_LSC = 1 << 3;
/** PF only: a VF was reset (FLR or VF disable): its driver state is gone (igb's VFLR event). */
export const ICR_VFLR = 1 << 4;
export const NIC_MTU = 1500;
export const RX_BUF_SIZE = 2048;

// VFMAILBOX (igb's E1000_V2PMAILBOX_* bits: REQ 1, ACK 2, VFU 4, PFU 8, PFSTS 16, PFACK 32, RSTI 64, RSTD 128)
export const VFMB_REQ = 1 << 0;   // W: the message in VFMBMEM is for the PF
export const VFMB_ACK = 1 << 1;   // W: the VF read the PF's message
export const VFMB_PFSTS = 1 << 4; // R: a PF message waits in VFMBMEM (cleared by ACK)
export const VFMB_PFACK = 1 << 5; // R: the PF read our request (cleared by the next REQ)
export const VFMB_RSTD = 1 << 7;  // R: the PF finished setting this VF up

// ---- PF: per-VF mailbox (0x1000 + (k-1)*0x80) and per-VF configuration (0x4000 + (k-1)*0x20) ----
export const PF_MBX_BASE = 0x1000;
export const PF_MBX_STRIDE = 0x80;
export const PFMAILBOX = 0x00; // +0: W STS (send PFMBMEM to the VF), ACK (read its request); R VFREQ, VFACK
export const PFMBMEM = 0x40;   // +0x40: the shared 16 words
export const PFMB_STS = 1 << 0;
export const PFMB_ACK = 1 << 1;
export const PFMB_VFREQ = 1 << 4;
export const PFMB_VFACK = 1 << 5;
export const PF_VFCFG_BASE = 0x4000;
export const PF_VFCFG_STRIDE = 0x20;
export const VFCFG = {
  RAL: 0x00, RAH: 0x04, // RAH bit 31: AV (the PF assigned this MAC: the VF cannot change it)
  VLAN: 0x08,           // port VLAN id (0 none)
  RATE: 0x0c,           // TX rate limit, Mbit/s (0 = line rate)
  CTRL: 0x10,           // LINK (the VF's link may be up), SPOOFCHK, RSTD
  TXPKTS: 0x14, RXPKTS: 0x18, DROPS: 0x1c, // the VF's counters (RO)
} as const;
export const RAH_AV = 1 << 31;
export const VFCTRL_LINK = 1 << 0;
export const VFCTRL_SPOOFCHK = 1 << 1;
export const VFCTRL_RSTD = 1 << 2;

// ---- mailbox messages (igb's e1000_mbx.h / e1000_vf mailbox) ----
export const MBX_VF_RESET = 0x01;
export const MBX_VF_SET_MAC_ADDR = 0x02;
export const MBX_VF_SET_VLAN = 0x04;
/** Ours (igb has no such message): the VF asks for its link state; the reply's word 1 bit 0 = up. */
export const MBX_VF_GET_LINK = 0x10;
export const MBX_PF_CONTROL_MSG = 0x0100; // PF -> VF: link changed (word 1 bit 0 = up)
export const MBX_MSGTYPE_ACK = 0x80000000;
export const MBX_MSGTYPE_NACK = 0x40000000;
export const MBX_MSGTYPE_CTS = 0x20000000;
export const MBX_WORDS = 16;

// ---- descriptors (16 bytes, little-endian) ----
export const DESC_SIZE = 16;
/** TX: [0..7] buffer address, [8..9] length, [10] CMD, [12] STA. RX: [0..7] buffer (RX_BUF_SIZE bytes), device writes [8..9] length, [12] STA. */
export const TX_CMD_EOP = 1 << 0;
export const TX_CMD_RS = 1 << 1;
export const STA_DD = 1 << 0;
export const STA_EOP = 1 << 1;
export const STA_ERR = 1 << 2;
/** Most descriptors per ring (the 82576's TDLEN allows 4096 x 16 B... ours: a power of two <= this). */
export const NIC_MAX_QUEUE = 4096;
export const NIC_DEFAULT_QUEUE = 256;
