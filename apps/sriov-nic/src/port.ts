/**
 * One function's data path inside the NIC (a "port" of its internal switch): the BAR0 registers
 * every function has, one TX and one RX descriptor ring in the owner's memory read and written
 * by DMA through the PCIeSS's IOMMU (`PciFunction.dmaRead` / `dmaWrite`), interrupt causes and
 * their MSI-X vectors, and the counters. The PF owns one Port for itself and one per possible VF;
 * a VF's Port outlives the VF's PCIe function (its admin MAC / VLAN / rate are PF state).
 */
import type { MmioValue } from '@tachyxx/isa';
import type { DeviceTimer, PciFunction } from '@tachyxx/pcie';
import {
  CTRL_RST, CTRL_RXEN, CTRL_TXEN, DESC_SIZE, ICR_LSC, ICR_MBX, ICR_VFLR, ICR_RXDW, ICR_TXDW, NIC_MTU, REG, RX_BUF_SIZE, STA_DD, STA_EOP,
  STA_ERR, STATUS_LU, STATUS_RSTD, STATUS_RXERR, STATUS_TXERR, TX_CMD_EOP, TX_CMD_RS, VEC_MBX, VEC_RX, VEC_TX,
} from './regs.js';
import { macToRah, macToRal } from './mac.js';

/** Simulated costs of the NIC's DMA engine and switch (variants: `sriov-nic(descNs=..., ...)`). */
export interface NicCosts {
  /** One descriptor fetch or write-back round trip, ns. */
  descNs: number;
  /** DMA bandwidth, bytes per ns (4 = PCIe 3.0 x4). */
  dmaBytesPerNs: number;
  /** One frame through the internal switch, ns. */
  switchNs: number;
}
export const DEFAULT_NIC_COSTS: NicCosts = Object.freeze({ descNs: 200, dmaBytesPerNs: 4, switchNs: 100 });

/** Largest frame a TX descriptor may carry: 1500 + Ethernet header + one VLAN tag. */
export const MAX_FRAME = NIC_MTU + 14 + 4;

export interface PortCounters {
  txPkts: number; txBytes: number; rxPkts: number; rxBytes: number;
  txDrop: number; rxDrop: number; dmaErr: number; mbxDrop: number;
  /** Frames offered while RX was off (not counted as drops: the function is down). */
  rxOff: number;
  /** MSI-X messages the port raised. */
  interrupts: number;
  /** IOMMU translation cycles of this port's DMA. */
  dmaCycles: number;
}

/** What a port needs from the NIC around it. */
export interface PortHost {
  readonly timer: DeviceTimer;
  readonly costs: NicCosts;
  /** A frame the port transmitted (into the switch). */
  transmit(from: Port, frame: Uint8Array): void;
  /** Link state the function sees. */
  linkUp(p: Port): boolean;
  /** The PF's interrupt when dom0's driver takes it directly; false: MSI-X as any function. */
  pfIrq(): boolean;
}

const PAGE_DESC = new Uint8Array(DESC_SIZE);

export class Port {
  /** The PCIe function serving this port now (a VF's is null while VFs are disabled). */
  fn: PciFunction | null = null;
  mac = 0;
  /** Port VLAN id (0 = none): tag inserted on TX, only this VLAN received (tag stripped). */
  vlan = 0;
  /** TX rate limit, Mbit/s (0 = line rate). */
  rateMbps = 0;
  /** Anti-spoofing: a TX frame's source MAC must be the port's. */
  spoofCheck = false;
  /** The PF has set this function up (STATUS.RSTD). */
  ready = false;
  /** VF: the PF allows its link up. */
  linkAllowed = true;
  ctrl = 0;
  errStatus = 0;
  icr = 0;
  ims = 0;
  tdba = 0; tdlen = 0; tdh = 0; tdt = 0;
  rdba = 0; rdlen = 0; rdh = 0; rdt = 0;
  readonly c: PortCounters = { txPkts: 0, txBytes: 0, rxPkts: 0, rxBytes: 0, txDrop: 0, rxDrop: 0, dmaErr: 0, mbxDrop: 0, rxOff: 0, interrupts: 0, dmaCycles: 0 };
  /** Bumped by reset: TX work scheduled before it is dropped. */
  private epoch = 0;
  private txBusy = false;
  /** Rate limiter: the earliest time the next frame may leave. */
  private nextTxAt = 0;
  private readonly desc = new Uint8Array(DESC_SIZE);
  private readonly buf = new Uint8Array(Math.max(MAX_FRAME, RX_BUF_SIZE));

  constructor(readonly index: number, private readonly host: PortHost, private readonly maxQueue: number) {}

  get isPf(): boolean { return this.index === 0; }
  get txEnabled(): boolean { return (this.ctrl & CTRL_TXEN) !== 0; }
  get rxEnabled(): boolean { return (this.ctrl & CTRL_RXEN) !== 0; }

  /** Function reset (CTRL.RST, FLR, VF disable): queues, interrupts and in-flight work gone; PF-owned settings stay. */
  reset(): void {
    this.epoch++;
    this.txBusy = false;
    this.nextTxAt = 0;
    this.ctrl = 0; this.errStatus = 0; this.icr = 0; this.ims = 0;
    this.tdba = 0; this.tdlen = 0; this.tdh = 0; this.tdt = 0;
    this.rdba = 0; this.rdlen = 0; this.rdh = 0; this.rdt = 0;
  }

  // ---------------------------------------------------------------- interrupts

  /** Sets interrupt causes; a cause that was clear and is enabled sends its vector. */
  raise(bits: number): void {
    const fresh = bits & ~this.icr;
    this.icr |= bits;
    this.fire(fresh & this.ims);
  }

  private fire(bits: number): void {
    const fn = this.fn;
    if (bits === 0 || fn === null || fn.msix === null) return;
    if (this.isPf && this.host.pfIrq()) { this.c.interrupts++; return; }
    if ((bits & ICR_TXDW) !== 0) { this.c.interrupts++; fn.signal(VEC_TX); }
    if ((bits & ICR_RXDW) !== 0) { this.c.interrupts++; fn.signal(VEC_RX); }
    if ((bits & (ICR_MBX | ICR_LSC)) !== 0) { this.c.interrupts++; fn.signal(VEC_MBX); }
  }

  // ---------------------------------------------------------------- registers

  /** Reads a common register; false when `off` is not one. */
  readReg(off: number, out: MmioValue): boolean {
    let v: number;
    switch (off) {
      case REG.CTRL: v = this.ctrl; break;
      case REG.STATUS: v = (this.host.linkUp(this) ? STATUS_LU : 0) | (this.ready ? STATUS_RSTD : 0) | this.errStatus; break;
      case REG.RAL: v = macToRal(this.mac); break;
      case REG.RAH: v = macToRah(this.mac); break;
      case REG.VLAN: v = this.vlan; break;
      case REG.MTU: v = NIC_MTU; break;
      case REG.RXBUF: v = RX_BUF_SIZE; break;
      case REG.ICR: v = this.icr; break;
      case REG.IMS: v = this.ims; break;
      case REG.TXPKTS: v = this.c.txPkts; break;
      case REG.TXBYTES: v = this.c.txBytes; break;
      case REG.RXPKTS: v = this.c.rxPkts; break;
      case REG.RXBYTES: v = this.c.rxBytes; break;
      case REG.TXDROP: v = this.c.txDrop; break;
      case REG.RXDROP: v = this.c.rxDrop; break;
      case REG.DMAERR: v = this.c.dmaErr; break;
      case REG.MBXDROP: v = this.c.mbxDrop; break;
      case REG.TXRATE: v = this.rateMbps; break;
      case REG.TDBAL: v = this.tdba % 2 ** 32; break;
      case REG.TDBAH: v = Math.floor(this.tdba / 2 ** 32); break;
      case REG.TDLEN: v = this.tdlen; break;
      case REG.TDH: v = this.tdh; break;
      case REG.TDT: v = this.tdt; break;
      case REG.RDBAL: v = this.rdba % 2 ** 32; break;
      case REG.RDBAH: v = Math.floor(this.rdba / 2 ** 32); break;
      case REG.RDLEN: v = this.rdlen; break;
      case REG.RDH: v = this.rdh; break;
      case REG.RDT: v = this.rdt; break;
      default: return false;
    }
    out.lo = v | 0;
    out.hi = 0;
    return true;
  }

  /** Writes a common register a function may write; false when `off` is not one. */
  writeReg(off: number, v: number): boolean {
    switch (off) {
      case REG.CTRL:
        if ((v & CTRL_RST) !== 0) { const keep = this.ready; this.reset(); this.ready = keep; return true; }
        this.ctrl = v & (CTRL_TXEN | CTRL_RXEN);
        if (this.txEnabled) this.kickTx();
        return true;
      case REG.ICR: this.icr &= ~v; return true;
      case REG.IMS: { const added = v & ~this.ims; this.ims = v & (ICR_TXDW | ICR_RXDW | ICR_MBX | ICR_LSC | ICR_VFLR); this.fire(this.icr & added); return true; }
      // A ring's base and length only change while its queue is off (as the 82576's TXDCTL.ENABLE).
      case REG.TDBAL: if (!this.txEnabled) this.tdba = Math.floor(this.tdba / 2 ** 32) * 2 ** 32 + ((v & ~0xf) >>> 0); return true;
      case REG.TDBAH: if (!this.txEnabled) this.tdba = (v >>> 0) * 2 ** 32 + (this.tdba % 2 ** 32); return true;
      case REG.TDLEN: if (!this.txEnabled) { this.tdlen = this.ringLen(v); this.tdh = 0; this.tdt = 0; } return true;
      case REG.TDT: if (this.tdlen > 0) { this.tdt = (v >>> 0) % this.tdlen; this.kickTx(); } return true;
      case REG.RDBAL: if (!this.rxEnabled) this.rdba = Math.floor(this.rdba / 2 ** 32) * 2 ** 32 + ((v & ~0xf) >>> 0); return true;
      case REG.RDBAH: if (!this.rxEnabled) this.rdba = (v >>> 0) * 2 ** 32 + (this.rdba % 2 ** 32); return true;
      case REG.RDLEN: if (!this.rxEnabled) { this.rdlen = this.ringLen(v); this.rdh = 0; this.rdt = 0; } return true;
      case REG.RDT: if (this.rdlen > 0) this.rdt = (v >>> 0) % this.rdlen; return true;
      default: return false;
    }
  }

  /** A ring length: a power of two in 8..maxQueue descriptors, else 0 (the ring is off). */
  private ringLen(v: number): number {
    v >>>= 0;
    return v >= 8 && v <= this.maxQueue && (v & (v - 1)) === 0 ? v : 0;
  }

  // ---------------------------------------------------------------- TX

  private kickTx(): void {
    if (this.txBusy || !this.txEnabled || this.tdlen === 0 || this.tdh === this.tdt || this.fn === null) return;
    this.txBusy = true;
    const epoch = this.epoch;
    const t = this.host.timer;
    t.after(Math.max(this.host.costs.descNs, this.nextTxAt - t.now()), () => { if (epoch === this.epoch) this.txStep(); });
  }

  /** Processes one TX descriptor (one frame: EOP is required), then schedules the next. */
  private txStep(): void {
    this.txBusy = false;
    const fn = this.fn;
    if (fn === null || !this.txEnabled || this.tdlen === 0 || this.tdh === this.tdt) return;
    const costs = this.host.costs, t = this.host.timer;
    const da = this.tdba + this.tdh * DESC_SIZE;
    const d = this.desc;
    let r = fn.dmaRead(da, d, 0, DESC_SIZE);
    this.c.dmaCycles += r.cycles;
    if (!r.ok) { this.queueFault(STATUS_TXERR); return; }
    const addr = rd64(d, 0), len = d[8]! | (d[9]! << 8), cmd = d[10]!;
    let sta = STA_DD, frame: Uint8Array | null = null, busNs = costs.descNs;
    if (len < 14 || len > MAX_FRAME || (cmd & TX_CMD_EOP) === 0) { sta |= STA_ERR; this.c.txDrop++; }
    else {
      r = fn.dmaRead(addr, this.buf, 0, len);
      this.c.dmaCycles += r.cycles;
      busNs += len / costs.dmaBytesPerNs + t.cyclesToNs(r.cycles);
      if (!r.ok) { sta |= STA_ERR; this.c.dmaErr++; }
      else frame = this.buf.slice(0, len);
    }
    // Write back the status byte (the descriptor's dword at +12).
    PAGE_DESC[0] = sta; PAGE_DESC[1] = 0; PAGE_DESC[2] = 0; PAGE_DESC[3] = 0;
    const w = fn.dmaWrite(da + 12, PAGE_DESC, 0, 4);
    this.c.dmaCycles += w.cycles;
    if (!w.ok) { this.queueFault(STATUS_TXERR); return; }
    this.tdh = (this.tdh + 1) % this.tdlen;
    if (frame !== null) {
      this.c.txPkts++;
      this.c.txBytes += len;
      if (this.rateMbps > 0) {
        // Token-bucket of depth one frame: the frame occupies the link for (len + preamble/IFG/FCS 24 B) * 8 bits at the rate.
        const wireNs = ((len + 24) * 8 * 1000) / this.rateMbps;
        this.nextTxAt = Math.max(t.now(), this.nextTxAt) + wireNs;
      }
      this.host.transmit(this, frame);
    }
    if ((cmd & TX_CMD_RS) !== 0 || (sta & STA_ERR) !== 0) this.raise(ICR_TXDW);
    if (this.tdh !== this.tdt) {
      this.txBusy = true;
      const epoch = this.epoch;
      t.after(Math.max(Math.ceil(busNs), Math.ceil(this.nextTxAt - t.now())), () => { if (epoch === this.epoch) this.txStep(); });
    }
  }

  /** A descriptor could not be read or written back: the queue stops (driver must reset it). */
  private queueFault(bit: number): void {
    this.c.dmaErr++;
    this.errStatus |= bit;
    this.ctrl &= bit === STATUS_TXERR ? ~CTRL_TXEN : ~CTRL_RXEN;
    this.raise(bit === STATUS_TXERR ? ICR_TXDW : ICR_RXDW);
  }

  // ---------------------------------------------------------------- RX

  /** A frame for this function (already filtered and with its VLAN tag stripped). */
  receive(frame: Uint8Array): void {
    const fn = this.fn;
    if (fn === null || !this.rxEnabled || this.rdlen === 0) { this.c.rxOff++; return; }
    if (this.rdh === this.rdt) { this.c.rxDrop++; return; }
    const da = this.rdba + this.rdh * DESC_SIZE;
    const d = this.desc;
    const r = fn.dmaRead(da, d, 0, DESC_SIZE);
    this.c.dmaCycles += r.cycles;
    if (!r.ok) { this.queueFault(STATUS_RXERR); return; }
    const addr = rd64(d, 0);
    let sta = STA_DD | STA_EOP, len = frame.length;
    if (len > RX_BUF_SIZE) { sta |= STA_ERR; len = 0; this.c.rxDrop++; }
    else {
      const w = fn.dmaWrite(addr, frame, 0, len);
      this.c.dmaCycles += w.cycles;
      if (!w.ok) { sta |= STA_ERR; len = 0; this.c.dmaErr++; }
    }
    d[8] = len & 0xff; d[9] = len >>> 8; d[10] = 0; d[11] = 0; d[12] = sta; d[13] = 0; d[14] = 0; d[15] = 0;
    const wb = fn.dmaWrite(da + 8, d, 8, 8);
    this.c.dmaCycles += wb.cycles;
    if (!wb.ok) { this.queueFault(STATUS_RXERR); return; }
    this.rdh = (this.rdh + 1) % this.rdlen;
    if (len > 0) { this.c.rxPkts++; this.c.rxBytes += len; }
    this.raise(ICR_RXDW);
  }
}

function rd64(b: Uint8Array, o: number): number {
  const lo = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  const hi = (b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16) | (b[o + 7]! << 24)) >>> 0;
  return hi * 2 ** 32 + lo;
}
