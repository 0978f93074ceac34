/**
 * Capability builders: each lays out one capability in a ConfigSpace with its read-only values
 * and its writable / RW1C bits, per the PCI Express Base Specification r4.0 section 7 (register
 * names as in Linux's include/uapi/linux/pci_regs.h, which lspci also decodes).
 */
import type { ConfigSpace } from './config-space.js';

// ---- standard capability IDs (pci_regs.h PCI_CAP_ID_*) ----
export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_CAP_ID_MSIX = 0x11;
// ---- extended capability IDs (PCI_EXT_CAP_ID_*) ----
export const PCI_EXT_CAP_ID_ACS = 0x0d;
export const PCI_EXT_CAP_ID_ARI = 0x0e;
export const PCI_EXT_CAP_ID_SRIOV = 0x10;

// ---- PCI Express capability (offsets from its start) ----
export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_DEVSTA = 0x0a;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKCTL = 0x10;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTCTL = 0x18;
export const PCI_EXP_SLTSTA = 0x1a;
export const PCI_EXP_RTCTL = 0x1c;
export const PCI_EXP_RTCAP = 0x1e;
export const PCI_EXP_RTSTA = 0x20;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_DEVCTL2 = 0x28;
export const PCI_EXP_LNKCAP2 = 0x2c;
export const PCI_EXP_LNKCTL2 = 0x30;
export const PCI_EXP_LNKSTA2 = 0x32;
/** Size of a version 2 PCI Express capability structure. */
export const PCI_EXP_CAP_SIZEOF = 0x3c;

export const PCI_EXP_DEVCAP_FLR = 1 << 28;
export const PCI_EXP_DEVCTL_BCR_FLR = 0x8000;
export const PCI_EXP_DEVCAP2_ARI = 0x20;
export const PCI_EXP_DEVCTL2_ARI = 0x20;

/** PCI Express Capabilities register, Device/Port Type (bits 7:4). */
export const PCI_EXP_TYPE = {
  endpoint: 0x0,
  'root-port': 0x4,
  upstream: 0x5,
  downstream: 0x6,
} as const;
export type PcieType = keyof typeof PCI_EXP_TYPE;

export interface PcieCapOptions {
  type: PcieType;
  /** Function Level Reset capable (endpoints). */
  flr?: boolean;
  /** ARI Forwarding Supported (root and downstream ports). */
  ariForwarding?: boolean;
  /** Link: maximum speed (1 = 2.5, 2 = 5, 3 = 8, 4 = 16 GT/s) and width (lanes). */
  linkSpeed?: number;
  linkWidth?: number;
  /** Port number (Link Capabilities bits 31:24). */
  port?: number;
  /** Physical slot number for a port with a slot (Slot Implemented). */
  slot?: number;
}

/** The PCI Express capability (id 0x10, version 2, 0x3c bytes). Returns its offset. */
export function addPcieCapability(cs: ConfigSpace, o: PcieCapOptions): number {
  const c = cs.addCapability(PCI_CAP_ID_EXP, PCI_EXP_CAP_SIZEOF);
  const isPort = o.type !== 'endpoint' && o.type !== 'upstream';
  const speed = o.linkSpeed ?? 3, width = o.linkWidth ?? 4;
  const slot = isPort && o.slot !== undefined;
  cs.set16(c + PCI_EXP_FLAGS, 2 | (PCI_EXP_TYPE[o.type] << 4) | (slot ? 0x100 : 0));
  // DevCap: Max_Payload 256 B (1), Extended Tag (bit 5), Role-Based Error Reporting (bit 15), FLR.
  cs.set32(c + PCI_EXP_DEVCAP, 1 | 0x20 | 0x8000 | (o.flr === true && o.type === 'endpoint' ? PCI_EXP_DEVCAP_FLR : 0));
  // DevCtl: error reporting enables 3:0, relaxed ordering 4, MPS 7:5, ext tag 8, no snoop 11, MRRS 14:12.
  cs.set16(c + PCI_EXP_DEVCTL, 0x2810); // relaxed ordering, no snoop, MRRS 512 B (PCIe reset values)
  cs.setWmask(c + PCI_EXP_DEVCTL, 2, 0x79ff);
  // DevSta: correctable/non-fatal/fatal/unsupported request detected are RW1C.
  cs.setW1cmask(c + PCI_EXP_DEVSTA, 2, 0x000f);
  // LnkCap: speed 3:0, width 9:4, ASPM L0s+L1 11:10, DLL Link Active Reporting (ports, bit 20), port 31:24.
  cs.set32(c + PCI_EXP_LNKCAP, speed | (width << 4) | (3 << 10) | (isPort ? 1 << 20 : 0) | ((o.port ?? 0) << 24));
  // LnkCtl: ASPM 1:0, RCB 3, (ports: link disable 4, retrain 5), common clock 6, ext synch 7.
  cs.setWmask(c + PCI_EXP_LNKCTL, 2, isPort ? 0x00cb : 0x00cb & ~0x30);
  // LnkSta: current speed, negotiated width, slot clock (12), DLL link active (13, ports).
  cs.set16(c + PCI_EXP_LNKSTA, speed | (width << 4) | 0x1000 | (isPort ? 0x2000 : 0));
  if (slot) {
    cs.set32(c + PCI_EXP_SLTCAP, ((o.slot ?? 0) & 0x1fff) << 19);
    cs.set16(c + PCI_EXP_SLTSTA, 0x40); // Presence Detect State: a card is present
  }
  if (o.type === 'root-port') {
    cs.setWmask(c + PCI_EXP_RTCTL, 2, 0x001f); // system error on errors, PME interrupt enable
    cs.setW1cmask(c + PCI_EXP_RTSTA, 4, 0x00010000); // PME status
  }
  // DevCap2: completion timeout ranges A-D (0xf), timeout disable (bit 4), ARI forwarding (ports).
  cs.set32(c + PCI_EXP_DEVCAP2, 0x1f | (isPort && o.ariForwarding === true ? PCI_EXP_DEVCAP2_ARI : 0));
  cs.setWmask(c + PCI_EXP_DEVCTL2, 2, 0x001f | (isPort && o.ariForwarding === true ? PCI_EXP_DEVCTL2_ARI : 0));
  // LnkCap2: supported speeds vector (bits 7:1) up to `speed`.
  cs.set32(c + PCI_EXP_LNKCAP2, ((1 << speed) - 1) << 1);
  cs.set16(c + PCI_EXP_LNKCTL2, speed);
  cs.setWmask(c + PCI_EXP_LNKCTL2, 2, 0x000f);
  return c;
}

// ---- power management (id 0x01, 8 bytes; PCI PM 1.2) ----
export const PCI_PM_PMC = 0x02;
export const PCI_PM_CTRL = 0x04;
export const PCI_PM_CTRL_STATE_MASK = 0x0003;
export const PCI_PM_CTRL_NO_SOFT_RESET = 0x0008;

/** Power management capability: version 3, D0/D3hot only, No_Soft_Reset set. Returns its offset. */
export function addPmCapability(cs: ConfigSpace): number {
  const c = cs.addCapability(PCI_CAP_ID_PM, 8);
  cs.set16(c + PCI_PM_PMC, 3);
  cs.set16(c + PCI_PM_CTRL, PCI_PM_CTRL_NO_SOFT_RESET);
  cs.setWmask(c + PCI_PM_CTRL, 2, PCI_PM_CTRL_STATE_MASK);
  return c;
}

// ---- MSI-X (id 0x11, 12 bytes) ----
export const PCI_MSIX_FLAGS = 0x02;
export const PCI_MSIX_TABLE = 0x04;
export const PCI_MSIX_PBA = 0x08;
export const PCI_MSIX_FLAGS_QSIZE = 0x07ff;
export const PCI_MSIX_FLAGS_MASKALL = 0x4000;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;
/** At most 2048 vectors (Table Size is 11 bits). */
export const MSIX_MAX_VECTORS = 2048;
export const PCI_MSIX_ENTRY_SIZE = 16;

export interface MsixCapOptions {
  vectors: number;
  tableBar: number;
  tableOffset: number;
  pbaBar: number;
  pbaOffset: number;
}

/** MSI-X capability: Table Size, Table / PBA BIR and offsets read-only; Enable and Function Mask writable. */
export function addMsixCapability(cs: ConfigSpace, o: MsixCapOptions): number {
  if (!Number.isInteger(o.vectors) || o.vectors < 1 || o.vectors > MSIX_MAX_VECTORS) throw new RangeError(`MSI-X vectors ${o.vectors} not in 1..${MSIX_MAX_VECTORS}`);
  if ((o.tableOffset & 7) !== 0 || (o.pbaOffset & 7) !== 0) throw new RangeError('MSI-X table and PBA offsets are 8-byte aligned (their BIR takes bits 2:0)');
  const c = cs.addCapability(PCI_CAP_ID_MSIX, 12);
  cs.set16(c + PCI_MSIX_FLAGS, o.vectors - 1);
  cs.setWmask(c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  cs.set32(c + PCI_MSIX_TABLE, (o.tableOffset | o.tableBar) >>> 0);
  cs.set32(c + PCI_MSIX_PBA, (o.pbaOffset | o.pbaBar) >>> 0);
  return c;
}

// ---- ARI (0x000e, 8 bytes) ----
export const PCI_ARI_CAP = 0x04;
export const PCI_ARI_CTRL = 0x06;

/** ARI capability: Next Function Number (the next function of this device in ARI numbering, 0 = last). */
export function addAriCapability(cs: ConfigSpace, nextFunction: number): number {
  const c = cs.addExtCapability(PCI_EXT_CAP_ID_ARI, 1, 8);
  cs.set16(c + PCI_ARI_CAP, (nextFunction & 0xff) << 8);
  return c;
}

// ---- ACS (0x000d, 8 bytes without an egress control vector) ----
export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_CTRL = 0x06;
export const PCI_ACS_SV = 0x01;
export const PCI_ACS_TB = 0x02;
export const PCI_ACS_RR = 0x04;
export const PCI_ACS_CR = 0x08;
export const PCI_ACS_UF = 0x10;
export const PCI_ACS_EC = 0x20;
export const PCI_ACS_DT = 0x40;

/** ACS capability with the given capability bits; each control bit is writable where capable. */
export function addAcsCapability(cs: ConfigSpace, caps = PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF): number {
  const c = cs.addExtCapability(PCI_EXT_CAP_ID_ACS, 1, 8);
  const bits = caps & 0x5f; // no egress control (it needs a vector)
  cs.set16(c + PCI_ACS_CAP, bits);
  cs.setWmask(c + PCI_ACS_CTRL, 2, bits);
  return c;
}

// ---- SR-IOV (0x0010, 64 bytes; offsets per PCIe r4.0 9.3.3) ----
export const PCI_SRIOV_CAP = 0x04;
export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_STATUS = 0x0a;
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_FUNC_LINK = 0x12;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a;
export const PCI_SRIOV_SUP_PGSIZE = 0x1c;
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
export const PCI_SRIOV_BAR = 0x24;
export const PCI_SRIOV_VFM = 0x3c;
export const PCI_SRIOV_CAP_SIZEOF = 0x40;
export const PCI_SRIOV_CTRL_VFE = 0x01;
export const PCI_SRIOV_CTRL_VFM = 0x02;
export const PCI_SRIOV_CTRL_INTR = 0x04;
export const PCI_SRIOV_CTRL_MSE = 0x08;
export const PCI_SRIOV_CTRL_ARI = 0x10;

export interface SriovOptions {
  totalVFs: number;
  /** InitialVFs (default = totalVFs). */
  initialVFs?: number;
  firstVfOffset: number;
  vfStride: number;
  vfDeviceId: number;
  /** Per-VF BAR sizes (bytes, power of two >= 16, 0 = unimplemented), up to 6 slots; a 64-bit BAR takes two. */
  vfBars?: readonly { size: number; is64?: boolean; prefetch?: boolean }[];
  /** Supported page sizes (bit n = 2^(n+12) bytes); default 0x553 (4K, 8K, 64K, 256K, 1M, 4M) as most devices. */
  supportedPageSizes?: number;
  /** Function Dependency Link (default 0). */
  funcLink?: number;
}

/**
 * A reusable SR-IOV extended capability: the structure and its register semantics (what a PF
 * exposes). It does not create VFs: the owner reads `vfEnabled` / `numVFs` / the VF BARs after
 * writes (`SriovCapability.view`) and instantiates its VFs (the NIC issue).
 */
export class SriovCapability {
  readonly offset: number;
  readonly vfBarSizes: number[] = [0, 0, 0, 0, 0, 0];

  constructor(private readonly cs: ConfigSpace, readonly options: SriovOptions) {
    const o = options;
    if (!Number.isInteger(o.totalVFs) || o.totalVFs < 0 || o.totalVFs > 0xffff) throw new RangeError(`SR-IOV TotalVFs ${o.totalVFs}`);
    const c = cs.addExtCapability(PCI_EXT_CAP_ID_SRIOV, 1, PCI_SRIOV_CAP_SIZEOF);
    this.offset = c;
    cs.set32(c + PCI_SRIOV_CAP, 0);
    cs.setWmask(c + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI);
    cs.setW1cmask(c + PCI_SRIOV_STATUS, 2, 0x1);
    cs.set16(c + PCI_SRIOV_INITIAL_VF, o.initialVFs ?? o.totalVFs);
    cs.set16(c + PCI_SRIOV_TOTAL_VF, o.totalVFs);
    cs.setWmask(c + PCI_SRIOV_NUM_VF, 2, 0xffff);
    cs.set8(c + PCI_SRIOV_FUNC_LINK, o.funcLink ?? 0);
    cs.set16(c + PCI_SRIOV_VF_OFFSET, o.firstVfOffset);
    cs.set16(c + PCI_SRIOV_VF_STRIDE, o.vfStride);
    cs.set16(c + PCI_SRIOV_VF_DID, o.vfDeviceId);
    cs.set32(c + PCI_SRIOV_SUP_PGSIZE, o.supportedPageSizes ?? 0x553);
    cs.set32(c + PCI_SRIOV_SYS_PGSIZE, 1);
    cs.setWmask(c + PCI_SRIOV_SYS_PGSIZE, 4, o.supportedPageSizes ?? 0x553);
    let slot = 0;
    for (const b of o.vfBars ?? []) {
      if (slot >= 6) throw new RangeError('SR-IOV: more VF BARs than 6 slots');
      if (b.size !== 0) setupMemoryBar(cs, c + PCI_SRIOV_BAR + 4 * slot, b.size, b.is64 === true, b.prefetch === true);
      this.vfBarSizes[slot] = b.size;
      slot += b.is64 === true ? 2 : 1;
    }
  }

  /** The current register values a PF model acts on. */
  get vfEnabled(): boolean { return (this.cs.get16(this.offset + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE) !== 0; }
  get vfMemoryEnabled(): boolean { return (this.cs.get16(this.offset + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_MSE) !== 0; }
  get numVFs(): number { return this.cs.get16(this.offset + PCI_SRIOV_NUM_VF); }
  get systemPageSize(): number { return 4096 * this.cs.get32(this.offset + PCI_SRIOV_SYS_PGSIZE); }
  /** Routing ID of VF `n` (1-based) of the PF at `pfRid`: PF + First VF Offset + (n-1) * Stride. */
  vfRid(pfRid: number, n: number): number {
    return (pfRid + this.cs.get16(this.offset + PCI_SRIOV_VF_OFFSET) + (n - 1) * this.cs.get16(this.offset + PCI_SRIOV_VF_STRIDE)) & 0xffff;
  }
  /** Base address of VF BAR `i` (the VFs' BAR i regions follow each other, one per VF). */
  vfBarBase(i: number): number {
    return barAddress(this.cs, this.offset + PCI_SRIOV_BAR + 4 * i);
  }
}

// ---- BARs (shared by the type 0 header and the SR-IOV VF BARs) ----
export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;

/**
 * Lays out a memory BAR at config offset `off`: the type bits read-only, address bits above the
 * size writable (so writing all ones reads back ~(size-1) | flags: BAR sizing). A 64-bit BAR
 * takes the next dword as its upper half, all writable.
 */
export function setupMemoryBar(cs: ConfigSpace, off: number, size: number, is64: boolean, prefetch: boolean): void {
  if (!Number.isInteger(size) || size < 16 || size > 2 ** 40 || !Number.isInteger(Math.log2(size))) throw new RangeError(`BAR size ${size} is not a power of two >= 16`);
  if (!is64 && size > 2 ** 31) throw new RangeError(`BAR size ${size} needs a 64-bit BAR`);
  cs.set32(off, (is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) | (prefetch ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0));
  const lowMask = size >= 2 ** 32 ? 0 : (~(size - 1) & 0xfffffff0) >>> 0;
  cs.setWmask(off, 4, lowMask);
  if (is64) cs.setWmask(off + 4, 4, size > 2 ** 32 ? (~(size / 2 ** 32 - 1)) >>> 0 : 0xffffffff);
}

/** The address a memory BAR at `off` holds (64-bit BARs include their upper dword). */
export function barAddress(cs: ConfigSpace, off: number): number {
  const lo = cs.get32(off);
  const lowAddr = (lo & 0xfffffff0) >>> 0;
  if ((lo & 0x6) === PCI_BASE_ADDRESS_MEM_TYPE_64) return cs.get32(off + 4) * 2 ** 32 + lowAddr;
  return lowAddr;
}
