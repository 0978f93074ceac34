/**
 * MSI-X state of one function (PCIe r4.0 section 6.1.4 and 7.7.2): the table (16 bytes per
 * vector: Message Address, Message Upper Address, Message Data, Vector Control) and the Pending
 * Bit Array, both in a BAR; masking per vector and per function; pending bits set while masked and
 * delivered on unmask. Delivery is a memory write the PCIeSS's MsiRemapper receives.
 */
import type { MmioValue } from '@tachyxx/isa';
import type { ConfigSpace } from './config-space.js';
import { PCI_MSIX_ENTRY_SIZE, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_PBA, PCI_MSIX_TABLE } from './capabilities.js';

/** Vector Control bit 0: the vector is masked (set at reset). */
export const PCI_MSIX_ENTRY_CTRL_MASKBIT = 1;

export interface MsixSink {
  /** Delivers (addr, data) for this function; false when blocked (the remapper recorded it). */
  send(addr: number, data: number): boolean;
  /** Bus Master Enable: a function may not write MSI messages without it. */
  readonly busMaster: boolean;
}

export interface MsixStats {
  /** Messages sent and accepted. */
  sent: number;
  /** Messages the remapper refused. */
  blocked: number;
  /** notify() calls that found the vector masked / MSI-X off / bus mastering off (pending bit set). */
  pended: number;
}

export class Msix {
  readonly vectors: number;
  /** 4 dwords per vector. */
  readonly table: Uint32Array;
  readonly pba: Uint32Array;
  readonly tableBar: number;
  readonly tableOffset: number;
  readonly pbaBar: number;
  readonly pbaOffset: number;
  readonly stats: MsixStats = { sent: 0, blocked: 0, pended: 0 };

  constructor(private readonly cs: ConfigSpace, readonly cap: number, private readonly sink: MsixSink) {
    this.vectors = (cs.get16(cap + PCI_MSIX_FLAGS) & 0x7ff) + 1;
    const t = cs.get32(cap + PCI_MSIX_TABLE), p = cs.get32(cap + PCI_MSIX_PBA);
    this.tableBar = t & 7; this.tableOffset = (t & ~7) >>> 0;
    this.pbaBar = p & 7; this.pbaOffset = (p & ~7) >>> 0;
    this.table = new Uint32Array(this.vectors * 4);
    this.pba = new Uint32Array(Math.ceil(this.vectors / 32) + (Math.ceil(this.vectors / 32) & 1)); // qwords
    this.reset();
  }

  get tableSize(): number { return this.vectors * PCI_MSIX_ENTRY_SIZE; }
  get pbaSize(): number { return this.pba.length * 4; }
  get enabled(): boolean { return (this.cs.get16(this.cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE) !== 0; }
  get functionMasked(): boolean { return (this.cs.get16(this.cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_MASKALL) !== 0; }
  isMasked(v: number): boolean { return this.functionMasked || (this.table[v * 4 + 3]! & PCI_MSIX_ENTRY_CTRL_MASKBIT) !== 0; }
  isPending(v: number): boolean { return (this.pba[v >>> 5]! & (1 << (v & 31))) !== 0; }

  /** Reset state: every vector masked, address/data 0, nothing pending. */
  reset(): void {
    this.table.fill(0);
    for (let v = 0; v < this.vectors; v++) this.table[v * 4 + 3] = PCI_MSIX_ENTRY_CTRL_MASKBIT;
    this.pba.fill(0);
  }

  /**
   * The device signals vector `v`: sent now when MSI-X is enabled, the vector and function are
   * unmasked and bus mastering is on; otherwise its pending bit is set (PCIe 6.1.4.5).
   * Returns true when a message went out and was accepted.
   */
  notify(v: number): boolean {
    if (!Number.isInteger(v) || v < 0 || v >= this.vectors) throw new RangeError(`MSI-X vector ${v} of ${this.vectors}`);
    if (!this.enabled || this.isMasked(v) || !this.sink.busMaster) {
      this.pba[v >>> 5]! |= 1 << (v & 31);
      this.stats.pended++;
      return false;
    }
    return this.deliver(v);
  }

  /** Sends every pending vector that is now deliverable (after an unmask or enable). */
  flushPending(): void {
    if (!this.enabled || this.functionMasked || !this.sink.busMaster) return;
    for (let v = 0; v < this.vectors; v++) {
      if (this.isPending(v) && !this.isMasked(v)) {
        this.pba[v >>> 5]! &= ~(1 << (v & 31));
        this.deliver(v);
      }
    }
  }

  private deliver(v: number): boolean {
    const addr = this.table[v * 4 + 1]! * 2 ** 32 + this.table[v * 4]!;
    const ok = this.sink.send(addr, this.table[v * 4 + 2]!);
    if (ok) this.stats.sent++; else this.stats.blocked++;
    return ok;
  }

  // ---- BAR access (offsets relative to the table / PBA start) ----

  readTable(off: number, size: number, out: MmioValue): void {
    const i = off >>> 2;
    out.lo = this.table[i]! | 0;
    if (size === 8) out.hi = this.table[i + 1]! | 0;
    else if (size < 4) out.lo = (this.table[i]! >>> ((off & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }

  writeTable(off: number, size: number, lo: number, hi: number): void {
    const i = off >>> 2;
    if (size === 8) { this.writeDword(i, lo); this.writeDword(i + 1, hi); }
    else if (size === 4) this.writeDword(i, lo);
    else {
      const sh = (off & 3) * 8, mask = (size === 1 ? 0xff : 0xffff) << sh;
      this.writeDword(i, (this.table[i]! & ~mask) | ((lo << sh) & mask));
    }
    this.flushPending();
  }

  private writeDword(i: number, v: number): void {
    if ((i & 3) === 3) this.table[i] = v & PCI_MSIX_ENTRY_CTRL_MASKBIT; // Vector Control: only the mask bit is defined
    else if ((i & 3) === 0) this.table[i] = v & ~3; // Message Address is dword aligned (bits 1:0 RO 0)
    else this.table[i] = v >>> 0;
  }

  /** PBA reads; the PBA is read-only (writes are ignored, PCIe 7.7.2). */
  readPba(off: number, size: number, out: MmioValue): void {
    const i = off >>> 2;
    out.lo = this.pba[i]! | 0;
    if (size === 8) out.hi = this.pba[i + 1]! | 0;
    else if (size < 4) out.lo = (this.pba[i]! >>> ((off & 3) * 8)) & (size === 1 ? 0xff : 0xffff);
  }
}
