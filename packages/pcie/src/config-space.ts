/**
 * A function's 4 KiB PCI Express configuration space: the bytes, which bits software may write
 * (`wmask`), which are write-1-to-clear (`w1cmask`), and the capability lists (QEMU's
 * PCIDevice config / wmask / w1cmask, hw/pci/pci.c pci_default_write_config). The device model
 * sets up values and masks; guest writes go through `write`, which never touches read-only bits.
 *
 * Offsets and values are plain numbers; reads of 4 bytes are unsigned.
 */

/** Size of the configuration space of a PCI Express function (PCIe r4.0 section 7.2.2). */
export const CONFIG_SPACE_SIZE = 4096;
/** Start of the extended configuration space (extended capabilities). */
export const EXT_CONFIG_START = 0x100;

// Header registers (PCI Local Bus 3.0 / PCIe r4.0 7.5.1), common to type 0 and type 1.
export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;
// Type 1 (bridge) header.
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_IO_BASE = 0x1c;
export const PCI_SEC_STATUS = 0x1e;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_MEMORY_LIMIT = 0x22;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_PREF_MEMORY_LIMIT = 0x26;
export const PCI_PREF_BASE_UPPER32 = 0x28;
export const PCI_PREF_LIMIT_UPPER32 = 0x2c;
export const PCI_BRIDGE_CONTROL = 0x3e;

export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_SERR = 0x100;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS_INTERRUPT = 0x08;
export const PCI_STATUS_CAP_LIST = 0x10;
/** Status bits software clears by writing 1 (parity, aborts, SERR). */
export const PCI_STATUS_W1C = 0xf900;

export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_MULTI_FUNCTION = 0x80;

export class ConfigSpace {
  readonly bytes = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Bits software may write (the rest are read-only or hardware-owned). */
  readonly wmask = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Bits software clears by writing 1 (RW1C). */
  readonly w1cmask = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Offset of the last standard capability (0 = none yet). */
  private lastCap = 0;
  private nextCap = 0x40;
  /** Offset of the last extended capability (-1 = none yet). */
  private lastExt = -1;
  private nextExt = EXT_CONFIG_START;
  private resetBytes: Uint8Array | null = null;

  get8(off: number): number { return this.bytes[off]!; }
  get16(off: number): number { return this.bytes[off]! | (this.bytes[off + 1]! << 8); }
  get32(off: number): number { return (this.get16(off) | (this.get16(off + 2) << 16)) >>> 0; }
  /** Device-side stores (no masks). */
  set8(off: number, v: number): void { this.bytes[off] = v & 0xff; }
  set16(off: number, v: number): void { this.set8(off, v); this.set8(off + 1, v >>> 8); }
  set32(off: number, v: number): void { this.set16(off, v); this.set16(off + 2, v >>> 16); }
  /** Sets the writable bits of `size` bytes at `off` (little-endian mask). */
  setWmask(off: number, size: number, mask: number): void {
    for (let i = 0; i < size; i++) this.wmask[off + i] = (mask >>> (8 * i)) & 0xff;
  }
  setW1cmask(off: number, size: number, mask: number): void {
    for (let i = 0; i < size; i++) this.w1cmask[off + i] = (mask >>> (8 * i)) & 0xff;
  }

  /** A software read of 1, 2 or 4 bytes (little-endian, unsigned). */
  read(off: number, size: number): number {
    if (size === 1) return this.get8(off);
    if (size === 2) return this.get16(off);
    return this.get32(off);
  }

  /**
   * A software write: writable bits take `value`, RW1C bits set in `value` clear, the rest stay.
   * Returns nothing; the function model reacts to the change (BARs, command, FLR) afterwards.
   */
  write(off: number, size: number, value: number): void {
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const v = (value >>> (8 * i)) & 0xff;
      const wm = this.wmask[o]!, w1c = this.w1cmask[o]!;
      this.bytes[o] = ((this.bytes[o]! & ~wm) | (v & wm)) & ~(v & w1c);
    }
  }

  /**
   * Appends a standard capability of `length` bytes with `id` to the list at 0x34 (dword aligned,
   * below 0x100) and returns its offset. Sets Status.CapabilitiesList.
   */
  addCapability(id: number, length: number): number {
    const off = this.nextCap;
    if (off + length > EXT_CONFIG_START) throw new RangeError(`capability 0x${id.toString(16)} of ${length} bytes does not fit below 0x100`);
    this.set8(off, id);
    this.set8(off + 1, 0);
    if (this.lastCap === 0) this.set8(PCI_CAPABILITY_LIST, off);
    else this.set8(this.lastCap + 1, off);
    this.lastCap = off;
    this.nextCap = (off + length + 3) & ~3;
    this.set16(PCI_STATUS, this.get16(PCI_STATUS) | PCI_STATUS_CAP_LIST);
    return off;
  }

  /** Appends an extended capability (header: id 15:0, version 19:16, next 31:20) at 0x100 and up. */
  addExtCapability(id: number, version: number, length: number): number {
    const off = this.nextExt;
    if (off + length > CONFIG_SPACE_SIZE) throw new RangeError(`extended capability 0x${id.toString(16)} does not fit`);
    this.set32(off, (id & 0xffff) | ((version & 0xf) << 16));
    if (this.lastExt >= 0) this.set32(this.lastExt, (this.get32(this.lastExt) & 0xfffff) | (off << 20));
    this.lastExt = off;
    this.nextExt = (off + length + 3) & ~3;
    return off;
  }

  /** Offset of the first standard capability with `id`, or 0 (walks the list as software does). */
  findCapability(id: number): number {
    if ((this.get16(PCI_STATUS) & PCI_STATUS_CAP_LIST) === 0) return 0;
    let off = this.get8(PCI_CAPABILITY_LIST) & ~3;
    for (let n = 0; off >= 0x40 && n < 48; n++) {
      if (this.get8(off) === id) return off;
      off = this.get8(off + 1) & ~3;
    }
    return 0;
  }

  /** Offset of the extended capability with `id`, or 0. */
  findExtCapability(id: number): number {
    let off = EXT_CONFIG_START;
    for (let n = 0; off >= EXT_CONFIG_START && n < 1024; n++) {
      const h = this.get32(off);
      if (h === 0) return 0;
      if ((h & 0xffff) === id) return off;
      off = (h >>> 20) & ~3;
    }
    return 0;
  }

  /** Records the current bytes as the reset state (call when the model is built). */
  seal(): void {
    this.resetBytes = this.bytes.slice();
  }

  /** Restores the reset state of bytes [from, to) (FLR / hot reset). */
  reset(from = 0, to = CONFIG_SPACE_SIZE): void {
    if (this.resetBytes === null) throw new Error('ConfigSpace.reset before seal');
    this.bytes.set(this.resetBytes.subarray(from, to), from);
  }
}
