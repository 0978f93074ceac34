// The guest's view of a passed-through function's config space, filtered with the rules of Linux's
// xen-pciback (drivers/xen/xen-pciback/conf_space.c, conf_space_header.c,
// conf_space_capability.c), which serves a PV guest's config access in Xen:
//   - reads pass through to the device, except the fields pciback emulates: the BARs (the guest
//     sees the guest-physical address its BAR is mapped at, or the size mask while sizing), the
//     expansion ROM (none is exposed: 0) and Interrupt Line (a per-guest value);
//   - writes: Command bits Memory Space, Bus Master and INTx Disable reach the device
//     (command_write: pci_enable_device / pci_set_master); with `permissive`, also
//     PCI_COMMAND_GUEST's other bits. A BAR write of all ones (a 32-bit write, flag bits
//     ignored) switches the BAR to sizing mode, any other value back to the address (bar_write:
//     nothing reaches the device, so the guest cannot move a BAR onto someone else's memory).
//     MSI-X Message Control: Enable and Function Mask (Linux pcifront asks pciback's
//     XEN_PCI_OP_enable_msix for this; the entries themselves are programmed by the hypervisor
//     in PHYSDEVOP_map_pirq). PM Control: the power state (pm_ctrl_write). Everything else is
//     read-only: the write is dropped and the call succeeds (xen_pcibk_config_write), unless
//     `permissive`, which lets writes outside the header and every capability through.
//   - never, even permissive: BARs, ROM, capability pointers and headers, the MSI-X table
//     location, and Device Control's Initiate FLR (a reset would undo the BAR assignment behind
//     the hypervisor's back; the toolstack resets the function itself on attach and detach).
import {
  PCI_CACHE_LINE_SIZE, PCI_CAP_ID_MSIX, PCI_CAP_ID_PM, PCI_CAPABILITY_LIST, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE,
  PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_INTERRUPT_LINE, PCI_MSIX_FLAGS,
  PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK, PCI_STATUS, PCI_STATUS_CAP_LIST,
  type Endpoint,
} from '@tachyxx/pcie';

const PCI_BASE_ADDRESS_0 = 0x10;
const PCI_ROM_ADDRESS = 0x30;
/** pciback's PCI_COMMAND_GUEST (conf_space_header.c): bits a guest controls in permissive mode. */
export const PCI_COMMAND_GUEST = PCI_COMMAND_MASTER | 0x08 /* SPECIAL */ | 0x10 /* INVALIDATE */ | 0x20 /* VGA_PALETTE */ | 0x80 /* WAIT */ | 0x200 /* FAST_BACK */;
/** Command bits a guest may always change (Memory Space, Bus Master, INTx Disable). */
export const PCI_COMMAND_ALLOWED = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;

/** A BAR as the guest sees it. */
export interface GuestBar {
  readonly bar: number;
  /** Guest-physical address it is mapped at. */
  readonly gpa: number;
  readonly size: number;
  readonly is64: boolean;
  readonly prefetch: boolean;
}

/** Counts of what the filter did (per assignment). */
export interface VconfigStats {
  reads: number;
  writes: number;
  /** Writes that reached the device (all or some of their bits). */
  passed: number;
  /** Writes dropped as read-only (or emulated without reaching the device). */
  dropped: number;
  barSizings: number;
}

export class VirtualConfig {
  private readonly sizing = [false, false, false, false, false, false];
  /** Per-slot: the BAR starting there, or (upper half of a 64-bit BAR) with `upper`. */
  private readonly slots: ({ b: GuestBar; upper: boolean } | null)[] = [null, null, null, null, null, null];
  private intLine = 0;
  readonly stats: VconfigStats = { reads: 0, writes: 0, passed: 0, dropped: 0, barSizings: 0 };
  /** [start, end) of every capability structure (standard and extended). */
  private readonly capRanges: [number, number][] = [];
  readonly msixCap: number;
  readonly pmCap: number;

  constructor(readonly fn: Endpoint, bars: readonly GuestBar[], readonly permissive: boolean) {
    for (const b of bars) {
      this.slots[b.bar] = { b, upper: false };
      if (b.is64 && b.bar < 5) this.slots[b.bar + 1] = { b, upper: true };
    }
    // Capability structures: each runs to the next one (sorted), the last to the end of its area.
    let msix = 0, pm = 0;
    const std: number[] = [];
    if ((fn.configRead(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) !== 0) {
      let p = fn.configRead(PCI_CAPABILITY_LIST, 1) & 0xfc;
      for (let n = 0; p >= 0x40 && n < 48; n++) {
        std.push(p);
        const id = fn.configRead(p, 1);
        if (id === PCI_CAP_ID_MSIX) msix = p;
        if (id === PCI_CAP_ID_PM) pm = p;
        p = fn.configRead(p + 1, 1) & 0xfc;
      }
    }
    std.sort((a, b) => a - b).forEach((p, i) => this.capRanges.push([p, std[i + 1] ?? 0x100]));
    const ext: number[] = [];
    for (let p = 0x100, n = 0; p >= 0x100 && n < 960; n++) {
      const h = fn.configRead(p, 4);
      if (h === 0 || h === -1 || h === 0xffffffff) break;
      ext.push(p);
      p = (h >>> 20) & 0xffc;
    }
    ext.sort((a, b) => a - b).forEach((p, i) => this.capRanges.push([p, ext[i + 1] ?? 0x1000]));
    this.msixCap = msix;
    this.pmCap = pm;
    this.intLine = fn.configRead(PCI_INTERRUPT_LINE, 1);
  }

  /** The guest's read of `len` (1, 2, 4) bytes at `reg` (aligned; checked by the caller). */
  read(reg: number, len: number): number {
    this.stats.reads++;
    const d = this.dword(reg & ~3);
    const shift = (reg & 3) * 8;
    return len === 4 ? d >>> 0 : (d >>> shift) & (len === 2 ? 0xffff : 0xff);
  }

  private dword(off: number): number {
    if (off >= PCI_BASE_ADDRESS_0 && off < PCI_BASE_ADDRESS_0 + 24) {
      const i = (off - PCI_BASE_ADDRESS_0) / 4;
      const s = this.slots[i];
      if (s === null || s === undefined) return 0;
      const b = s.b;
      const flags = (b.is64 ? 0x4 : 0) | (b.prefetch ? 0x8 : 0);
      if (this.sizing[i]) {
        // ~(size - 1) (size a power of two), split into its 32-bit halves.
        if (s.upper) return b.size <= 2 ** 32 ? 0xffffffff : (2 ** 32 - b.size / 2 ** 32) >>> 0;
        return (((b.size >= 2 ** 32 ? 0 : 2 ** 32 - b.size) | flags) >>> 0);
      }
      return s.upper ? Math.floor(b.gpa / 2 ** 32) >>> 0 : (((b.gpa % 2 ** 32) | flags) >>> 0);
    }
    if (off === PCI_ROM_ADDRESS) return 0;
    const hw = this.fn.configRead(off, 4) >>> 0;
    if (off === PCI_INTERRUPT_LINE) return ((hw & ~0xff) | this.intLine) >>> 0;
    return hw;
  }

  /**
   * The guest's write. Returns 0 always (pciback drops what it does not allow and succeeds); the
   * caller has checked `reg`/`len`. As pciback's conf_space.c, a write is split over the fields it
   * covers (a 32-bit write at a capability's start reaches its Message Control, a 32-bit write at
   * 0x3c its Interrupt Line), each field with its own rule; bytes of no field are dropped.
   */
  write(reg: number, len: number, value: number): number {
    const st = this.stats;
    st.writes++;
    value = len === 4 ? value >>> 0 : value & (len === 2 ? 0xffff : 0xff);
    const end = reg + len;
    const fn = this.fn;
    let passed = false;
    /** A 16-bit device register: only `allowed` bits of the covered bytes reach it. */
    const masked16 = (f: number, allowed: number): void => {
      const o = overlap(reg, len, value, f, 2);
      if (o === null) return;
      const a = allowed & o.mask;
      const cur = fn.configRead(f, 2);
      const next = (cur & ~a) | (o.bits & a);
      if (next !== cur || a !== 0) { if (next !== cur) fn.configWrite(f, 2, next); passed = true; }
    };
    masked16(PCI_COMMAND, this.permissive ? PCI_COMMAND_ALLOWED | PCI_COMMAND_GUEST : PCI_COMMAND_ALLOWED);
    const cls = overlap(reg, len, value, PCI_CACHE_LINE_SIZE, 1);
    if (cls !== null) { fn.configWrite(PCI_CACHE_LINE_SIZE, 1, cls.bits); passed = true; }
    if (reg >= PCI_BASE_ADDRESS_0 && reg < PCI_BASE_ADDRESS_0 + 24 && len === 4) {
      // bar_write: only a 32-bit write of all ones (ignoring the flag bits) means "size it".
      const i = (reg - PCI_BASE_ADDRESS_0) / 4;
      const s = this.slots[i];
      if (s) {
        const sizing = ((value | (s.upper ? 0 : 0xf)) >>> 0) === 0xffffffff;
        if (sizing) st.barSizings++;
        this.sizing[i] = sizing;
      }
    }
    const il = overlap(reg, len, value, PCI_INTERRUPT_LINE, 1);
    if (il !== null) this.intLine = il.bits; // emulated, never the device's
    if (this.msixCap !== 0) masked16(this.msixCap + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    if (this.pmCap !== 0) masked16(this.pmCap + PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK);
    if (this.permissive) {
      // Device Control: anything but Initiate FLR.
      if (fn.pcieCap !== 0) masked16(fn.pcieCap + PCI_EXP_DEVCTL, 0xffff & ~PCI_EXP_DEVCTL_BCR_FLR);
      if (reg >= 0x40 && !this.inCapability(reg, end)) { fn.configWrite(reg, len, value); passed = true; }
    }
    if (passed) st.passed++; else st.dropped++;
    return 0;
  }

  private inCapability(reg: number, end: number): boolean {
    return this.capRanges.some(([a, b]) => reg < b && end > a);
  }
}

/** The part of a write [reg, reg+len) of `value` that falls in field [f, f+flen): its bytes as `bits`, which bytes as `mask` (field-relative), or null. */
function overlap(reg: number, len: number, value: number, f: number, flen: number): { mask: number; bits: number } | null {
  const a = Math.max(reg, f), b = Math.min(reg + len, f + flen);
  if (a >= b) return null;
  let mask = 0, bits = 0;
  for (let o = a; o < b; o++) {
    mask |= 0xff << ((o - f) * 8);
    bits |= ((value >>> ((o - reg) * 8)) & 0xff) << ((o - f) * 8);
  }
  return { mask: mask >>> 0, bits: bits >>> 0 };
}
