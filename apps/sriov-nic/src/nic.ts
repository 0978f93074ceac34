/**
 * The SR-IOV NIC: a physical function (`SriovNic`, the PCIe endpoint the topology creates) and
 * up to TotalVFs virtual functions (`NicVf`) that appear on the PF's bus when its driver sets VF
 * Enable in the SR-IOV capability (PCIe r4.0 9.3.3.3.1), each at routing ID PF + First VF Offset
 * + (n-1) * VF Stride, with BARs carved from the PF's VF BARs (VF n's BAR i = VF BAR i base +
 * (n-1) * size, decoded while VF Memory Space Enable is set).
 *
 * Inside: one Port per function (rings, interrupts, counters: port.ts), a PF <-> VF mailbox per
 * VF (16 shared words, REQ/ACK/STS bits as igb's), and an L2 switch between the ports and the
 * PF's uplink: VEB (frames between functions stay inside; unknown unicast goes out) or VEPA
 * (every frame from a function goes out of the uplink; what comes back is delivered, except
 * group frames back to their source: 802.1Qbg's reflective relay).
 */
import type { MmioHandler, MmioValue } from '@tachyxx/isa';
import {
  Endpoint, SriovCapability, PCI_COMMAND, PCI_COMMAND_MEMORY, PCI_BASE_ADDRESS_0, PCI_SRIOV_NUM_VF, PCI_SRIOV_CAP_SIZEOF,
  type DeviceTimer, type PciBus, type PcieSubsystem,
} from '@tachyxx/pcie';
import { DEFAULT_NIC_COSTS, Port, type NicCosts, type PortHost } from './port.js';
import {
  ICR_LSC, ICR_MBX, ICR_VFLR, MBX_WORDS, MSIX_BAR, MSIX_BAR_SIZE, MSIX_PBA_OFFSET, NIC_CLASS, NIC_DEFAULT_QUEUE, NIC_DEFAULT_VFS, NIC_MAX_QUEUE, NIC_MAX_VFS,
  NIC_PF_DEVICE_ID, NIC_REVISION, NIC_VECTORS, NIC_VENDOR_ID, NIC_VF_DEVICE_ID, NIC_VF_OFFSET, NIC_VF_STRIDE, PF_BAR0_SIZE, PF_MBX_BASE,
  PF_MBX_STRIDE, PF_VFCFG_BASE, PF_VFCFG_STRIDE, PFMAILBOX, PFMB_ACK, PFMB_STS, PFMB_VFACK, PFMB_VFREQ, PFMBMEM, RAH_AV, REG, VF_BAR0_SIZE,
  VFCFG, VFCTRL_LINK, VFCTRL_RSTD, VFCTRL_SPOOFCHK, VFMB_ACK, VFMB_PFACK, VFMB_PFSTS, VFMB_REQ, VFMB_RSTD,
} from './regs.js';
import { macFromRegs, macToRah, macToRal } from './mac.js';

export type SwitchMode = 'veb' | 'vepa';
/** PF register: VFs reset since last cleared (bit k-1 = VF k), write 1 to clear. */
export const REG_VFLRE = 0x003c;

export interface SriovNicOptions {
  name?: string;
  timer: DeviceTimer;
  /** TotalVFs (1..64, default 8). */
  vfs?: number;
  /** Most descriptors per ring (power of two, 8..4096; default 256). */
  queue?: number;
  /** Initial switch mode (the PF driver may change it: SWMODE). */
  switchMode?: SwitchMode;
  costs?: Partial<NicCosts>;
}

export interface NicStats {
  /** Frames switched between two functions inside the NIC (VEB). */
  switchedLocal: number;
  /** Frames sent out of the uplink. */
  toUplink: number;
  /** Frames received from the uplink. */
  fromUplink: number;
  /** Frames from the uplink no function wanted. */
  uplinkNoMatch: number;
  /** Frames refused at a function's TX: spoofed source MAC, VLAN tag on a port-VLAN VF. */
  spoofed: number;
  vlanRefused: number;
  /** Frames with no uplink to leave by (none attached or carrier off). */
  uplinkDown: number;
  /** Mailbox requests (accepted) and drops (one still pending: a flood). */
  mbxRequests: number;
  mbxDrops: number;
  vfEnables: number;
  vfResets: number;
}

interface Mailbox {
  readonly mem: Uint32Array;
  vfReq: boolean;   // a VF request waits for the PF (PFMAILBOX.VFREQ)
  pfAcked: boolean; // the PF read the VF's last request (VFMAILBOX.PFACK)
  pfSts: boolean;   // a PF message waits for the VF (VFMAILBOX.PFSTS)
  vfAcked: boolean; // the VF read the PF's last message (PFMAILBOX.VFACK)
}

/** A frame on the NIC's uplink. */
export type UplinkSink = (frame: Uint8Array) => void;

const VLAN_TPID = 0x8100;

export class SriovNic extends Endpoint implements PortHost {
  readonly sriov: SriovCapability;
  readonly timer: DeviceTimer;
  readonly costs: NicCosts;
  readonly totalVFs: number;
  readonly maxQueue: number;
  /** ports[0] = the PF, ports[k] = VF k (1-based, TotalVFs of them). */
  readonly ports: Port[] = [];
  /** VF k's PCIe function while VFs are enabled (index k-1). */
  readonly vfs: (NicVf | null)[];
  readonly mailboxes: Mailbox[];
  readonly stats: NicStats = { switchedLocal: 0, toUplink: 0, fromUplink: 0, uplinkNoMatch: 0, spoofed: 0, vlanRefused: 0, uplinkDown: 0, mbxRequests: 0, mbxDrops: 0, vfEnables: 0, vfResets: 0 };
  switchMode: SwitchMode;
  /** The uplink (a pv-net bridge port), or null: frames for it are dropped (counted). */
  uplink: UplinkSink | null = null;
  uplinkCarrier = true;
  /** Dom0's PF driver takes the PF's interrupt here (run after the device's current operation), instead of MSI-X. */
  onPfInterrupt: (() => void) | null = null;
  private pfIrqPending = false;
  private mbvficr = 0;
  private mbvfack = 0;
  private vflre = 0;
  private enabledVfs = 0;
  private readonly regs: MmioHandler;

  constructor(o: SriovNicOptions) {
    const total = o.vfs ?? NIC_DEFAULT_VFS;
    if (!Number.isInteger(total) || total < 1 || total > NIC_MAX_VFS) throw new RangeError(`sriov-nic vfs ${total} not in 1..${NIC_MAX_VFS}`);
    const queue = o.queue ?? NIC_DEFAULT_QUEUE;
    if (!Number.isInteger(queue) || queue < 8 || queue > NIC_MAX_QUEUE || (queue & (queue - 1)) !== 0) throw new RangeError(`sriov-nic queue ${queue} is not a power of two in 8..${NIC_MAX_QUEUE}`);
    super(o.name ?? 'sriov-nic', {
      identity: { vendorId: NIC_VENDOR_ID, deviceId: NIC_PF_DEVICE_ID, revision: NIC_REVISION, classCode: NIC_CLASS, subsystemId: 0x0001 },
      bars: [{ size: PF_BAR0_SIZE }, null, null, { size: MSIX_BAR_SIZE }],
      pcie: { flr: true, linkSpeed: 3, linkWidth: 4 },
      msix: { vectors: NIC_VECTORS, tableBar: MSIX_BAR, tableOffset: 0, pbaBar: MSIX_BAR, pbaOffset: MSIX_PBA_OFFSET },
      // ARI: the VFs' function numbers (0x80 and up) need ARI forwarding in the port above.
      ari: { nextFunction: 0 },
    });
    this.timer = o.timer;
    this.costs = Object.freeze({ ...DEFAULT_NIC_COSTS, ...o.costs });
    for (const [k, v] of Object.entries(this.costs)) if (!Number.isFinite(v) || v < 0 || (k === 'dmaBytesPerNs' && v === 0)) throw new RangeError(`sriov-nic cost ${k}: ${v}`);
    this.totalVFs = total;
    this.maxQueue = queue;
    this.switchMode = o.switchMode ?? 'veb';
    this.sriov = new SriovCapability(this.cs, {
      totalVFs: total, firstVfOffset: NIC_VF_OFFSET, vfStride: NIC_VF_STRIDE, vfDeviceId: NIC_VF_DEVICE_ID,
      vfBars: [{ size: VF_BAR0_SIZE }, { size: 0 }, { size: 0 }, { size: MSIX_BAR_SIZE }],
    });
    for (let k = 0; k <= total; k++) this.ports.push(new Port(k, this, queue));
    this.ports[0]!.fn = this;
    this.ports[0]!.ready = true;
    this.vfs = new Array<NicVf | null>(total).fill(null);
    this.mailboxes = Array.from({ length: total }, () => ({ mem: new Uint32Array(MBX_WORDS), vfReq: false, pfAcked: false, pfSts: false, vfAcked: false }));
    this.seal();
    const self = this;
    this.regs = {
      read(off: number, size: number, out: MmioValue): void { self.pfRead(off, size, out); },
      write(off: number, size: number, lo: number): void { self.pfWrite(off, size, lo >>> 0); },
    };
  }

  get pf(): Port { return this.ports[0]!; }
  /** VFs instantiated now (VF Enable set). */
  get numVFs(): number { return this.enabledVfs; }

  protected deviceBar(bar: number): MmioHandler {
    if (bar === 0) return this.regs;
    return ZERO; // the rest of BAR3 around the MSI-X table and PBA
  }

  // ---------------------------------------------------------------- SR-IOV control

  protected override afterConfigWrite(off: number, size: number): void {
    const c = this.sriov.offset;
    if (off < c + PCI_SRIOV_CAP_SIZEOF && off + size > c) {
      this.syncVfs();
      this.host?.configChanged(); // VF BARs / VF MSE
    }
  }

  protected override resetDevice(): void {
    // PF FLR: the SR-IOV control is back to reset (VF Enable clear): every VF goes.
    this.syncVfs();
    this.pf.reset();
    this.pf.ready = true;
    this.mbvficr = 0; this.mbvfack = 0; this.vflre = 0;
  }

  /** Creates or removes the VFs to match VF Enable / NumVFs (NumVFs is taken when VF Enable goes 0 -> 1). */
  private syncVfs(): void {
    const want = this.sriov.vfEnabled ? Math.min(this.sriov.numVFs, this.totalVFs) : 0;
    if (want === this.enabledVfs && (want === 0 || this.vfs[0] !== null)) return;
    if (this.enabledVfs > 0 && want !== 0 && this.sriov.vfEnabled && this.vfs[0] !== null) {
      // NumVFs written while VF Enable is set: no effect (PCIe r4.0 9.3.3.7: undefined; we keep the VFs).
      this.cs.set16(this.sriov.offset + PCI_SRIOV_NUM_VF, this.enabledVfs);
      return;
    }
    for (let k = 1; k <= this.totalVFs; k++) this.removeVf(k);
    this.enabledVfs = 0;
    if (want === 0) return;
    const ss = this.host as unknown as PcieSubsystem | null;
    const bus = this.bus as PciBus | null;
    if (ss === null || bus === null) return;
    for (let k = 1; k <= want; k++) {
      const vf = new NicVf(this, k);
      const rid = this.sriov.vfRid(this.rid, k);
      if ((rid >>> 8) !== this.busNumber) throw new Error(`${this.name}: VF ${k} RID ${rid.toString(16)} is off the PF's bus`);
      ss.attach(vf, bus, rid & 0xff);
      this.vfs[k - 1] = vf;
      this.ports[k]!.fn = vf;
    }
    this.enabledVfs = want;
    this.stats.vfEnables++;
  }

  private removeVf(k: number): void {
    const vf = this.vfs[k - 1];
    if (vf === null || vf === undefined) return;
    const bus = this.bus as PciBus | null;
    if (bus !== null && bus.functions.get(vf.devfn) === vf) bus.functions.delete(vf.devfn);
    vf.host = null;
    vf.bus = null;
    this.vfs[k - 1] = null;
    this.vfReset(k);
    this.ports[k]!.fn = null;
  }

  /** VF k was reset (its FLR, VF disable): queues and mailbox cleared, the PF driver told (VFLRE). */
  vfReset(k: number): void {
    const p = this.ports[k]!;
    p.reset();
    p.ready = false;
    const m = this.mailboxes[k - 1]!;
    m.mem.fill(0); m.vfReq = false; m.pfAcked = false; m.pfSts = false; m.vfAcked = false;
    this.mbvficr &= ~(1 << (k - 1));
    this.vflre |= 1 << (k - 1);
    this.stats.vfResets++;
    this.pf.raise(ICR_VFLR);
  }

  // ---------------------------------------------------------------- PF registers

  private pfRead(off: number, size: number, out: MmioValue): void {
    out.lo = 0; out.hi = 0;
    if (size !== 4 || (off & 3) !== 0) { out.lo = -1; return; }
    if (this.pf.readReg(off, out)) return;
    let v = 0;
    if (off === REG.MBVFICR) v = this.mbvficr;
    else if (off === REG.MBVFACK) v = this.mbvfack;
    else if (off === REG.SWMODE) v = this.switchMode === 'vepa' ? 1 : 0;
    else if (off === REG.NUMVFS) v = this.enabledVfs;
    else if (off === REG.UPLINK) v = this.uplink !== null && this.uplinkCarrier ? 1 : 0;
    else if (off === REG_VFLRE) v = this.vflre;
    else if (off >= PF_MBX_BASE && off < PF_MBX_BASE + this.totalVFs * PF_MBX_STRIDE) {
      const k = Math.floor((off - PF_MBX_BASE) / PF_MBX_STRIDE) + 1, r = (off - PF_MBX_BASE) % PF_MBX_STRIDE;
      const m = this.mailboxes[k - 1]!;
      if (r === PFMAILBOX) v = (m.vfReq ? PFMB_VFREQ : 0) | (m.vfAcked ? PFMB_VFACK : 0);
      else if (r >= PFMBMEM && r < PFMBMEM + 4 * MBX_WORDS) v = m.mem[(r - PFMBMEM) >>> 2]!;
    } else if (off >= PF_VFCFG_BASE && off < PF_VFCFG_BASE + this.totalVFs * PF_VFCFG_STRIDE) {
      const k = Math.floor((off - PF_VFCFG_BASE) / PF_VFCFG_STRIDE) + 1, r = (off - PF_VFCFG_BASE) % PF_VFCFG_STRIDE;
      const p = this.ports[k]!;
      switch (r) {
        case VFCFG.RAL: v = macToRal(p.mac); break;
        case VFCFG.RAH: v = macToRah(p.mac) | (p.mac !== 0 ? RAH_AV : 0); break;
        case VFCFG.VLAN: v = p.vlan; break;
        case VFCFG.RATE: v = p.rateMbps; break;
        case VFCFG.CTRL: v = (p.linkAllowed ? VFCTRL_LINK : 0) | (p.spoofCheck ? VFCTRL_SPOOFCHK : 0) | (p.ready ? VFCTRL_RSTD : 0); break;
        case VFCFG.TXPKTS: v = p.c.txPkts; break;
        case VFCFG.RXPKTS: v = p.c.rxPkts; break;
        case VFCFG.DROPS: v = p.c.txDrop + p.c.rxDrop + p.c.dmaErr; break;
      }
    } else { out.lo = -1; return; }
    out.lo = v | 0;
  }

  private pfWrite(off: number, size: number, v: number): void {
    if (size !== 4 || (off & 3) !== 0) return;
    const pf = this.pf;
    switch (off) {
      case REG.RAL: pf.mac = macFromRegs(v, macToRah(pf.mac)); return;
      case REG.RAH: pf.mac = macFromRegs(macToRal(pf.mac), v); return;
      case REG.VLAN: pf.vlan = v & 0xfff; return;
      case REG.MBVFICR: this.mbvficr &= ~v; return;
      case REG.MBVFACK: this.mbvfack &= ~v; return;
      case REG.SWMODE: this.switchMode = (v & 1) !== 0 ? 'vepa' : 'veb'; return;
      case REG_VFLRE: this.vflre &= ~v; return;
      default: break;
    }
    if (pf.writeReg(off, v)) return;
    if (off >= PF_MBX_BASE && off < PF_MBX_BASE + this.totalVFs * PF_MBX_STRIDE) {
      const k = Math.floor((off - PF_MBX_BASE) / PF_MBX_STRIDE) + 1, r = (off - PF_MBX_BASE) % PF_MBX_STRIDE;
      const m = this.mailboxes[k - 1]!;
      if (r === PFMAILBOX) {
        if ((v & PFMB_ACK) !== 0 && m.vfReq) { m.vfReq = false; m.pfAcked = true; this.mbvficr &= ~(1 << (k - 1)); }
        if ((v & PFMB_STS) !== 0 && this.vfs[k - 1] !== null) {
          m.pfSts = true; m.vfAcked = false;
          this.ports[k]!.raise(ICR_MBX);
        }
      } else if (r >= PFMBMEM && r < PFMBMEM + 4 * MBX_WORDS) m.mem[(r - PFMBMEM) >>> 2] = v;
      return;
    }
    if (off >= PF_VFCFG_BASE && off < PF_VFCFG_BASE + this.totalVFs * PF_VFCFG_STRIDE) {
      const k = Math.floor((off - PF_VFCFG_BASE) / PF_VFCFG_STRIDE) + 1, r = (off - PF_VFCFG_BASE) % PF_VFCFG_STRIDE;
      const p = this.ports[k]!;
      switch (r) {
        case VFCFG.RAL: p.mac = macFromRegs(v, macToRah(p.mac)); break;
        case VFCFG.RAH: p.mac = macFromRegs(macToRal(p.mac), v); break;
        case VFCFG.VLAN: p.vlan = v & 0xfff; break;
        case VFCFG.RATE: p.rateMbps = v; break;
        case VFCFG.CTRL: {
          const wasUp = this.linkUp(p);
          p.linkAllowed = (v & VFCTRL_LINK) !== 0;
          p.spoofCheck = (v & VFCTRL_SPOOFCHK) !== 0;
          p.ready = (v & VFCTRL_RSTD) !== 0;
          if (this.linkUp(p) !== wasUp) p.raise(ICR_LSC);
          break;
        }
      }
    }
  }

  // ---------------------------------------------------------------- VF mailbox side (called by NicVf)

  vfMailboxRead(k: number): number {
    const m = this.mailboxes[k - 1]!;
    return (m.pfSts ? VFMB_PFSTS : 0) | (m.pfAcked ? VFMB_PFACK : 0) | (this.ports[k]!.ready ? VFMB_RSTD : 0);
  }

  vfMailboxWrite(k: number, v: number): void {
    const m = this.mailboxes[k - 1]!;
    if ((v & VFMB_ACK) !== 0 && m.pfSts) { m.pfSts = false; m.vfAcked = true; this.mbvfack |= 1 << (k - 1); }
    if ((v & VFMB_REQ) !== 0) {
      const p = this.ports[k]!;
      if (m.vfReq) { p.c.mbxDrop++; this.stats.mbxDrops++; return; } // the PF has not taken the last one: a flood is dropped here
      m.vfReq = true; m.pfAcked = false;
      this.stats.mbxRequests++;
      this.mbvficr |= 1 << (k - 1);
      this.pf.raise(ICR_MBX);
    }
  }

  // ---------------------------------------------------------------- switch

  pfIrq(): boolean {
    const h = this.onPfInterrupt;
    if (h === null) return false;
    if (!this.pfIrqPending) {
      this.pfIrqPending = true;
      this.timer.after(0, () => { this.pfIrqPending = false; h(); });
    }
    return true;
  }

  linkUp(p: Port): boolean {
    const up = this.uplink !== null && this.uplinkCarrier;
    if (p.isPf) return up;
    // VEB: VFs reach each other without an uplink; VEPA needs it.
    return p.linkAllowed && p.ready && (up || this.switchMode === 'veb');
  }

  /** Sets the uplink's carrier; every function whose link changes gets a link-change interrupt. */
  setUplinkCarrier(on: boolean): void {
    const before = this.ports.map((p) => this.linkUp(p));
    this.uplinkCarrier = on;
    this.ports.forEach((p, i) => { if (this.linkUp(p) !== before[i]) p.raise(ICR_LSC); });
  }

  /** A frame a function transmitted: anti-spoofing and port VLAN, then the switch (after switchNs). */
  transmit(from: Port, frame: Uint8Array): void {
    if (frame.length < 14) return;
    const tagged = ((frame[12]! << 8) | frame[13]!) === VLAN_TPID;
    if (!from.isPf && from.spoofCheck && macOf(frame, 6) !== from.mac) { from.c.txDrop++; this.stats.spoofed++; return; }
    let f = frame;
    if (from.vlan !== 0) {
      if (tagged) { from.c.txDrop++; this.stats.vlanRefused++; return; } // a port-VLAN function may not choose its own VLAN
      f = insertTag(frame, from.vlan);
    }
    this.timer.after(this.costs.switchNs, () => this.forwardFrom(from, f));
  }

  private forwardFrom(from: Port, f: Uint8Array): void {
    if (this.switchMode === 'vepa') { this.toUplink(f); return; }
    const dst = macOf(f, 0), group = (f[0]! & 1) !== 0, vid = vidOf(f);
    if (!group) {
      for (const p of this.ports) {
        if (p !== from && p.mac === dst && p.vlan === vid && p.fn !== null) { this.stats.switchedLocal++; this.deliver(p, f); return; }
      }
      this.toUplink(f);
      return;
    }
    for (const p of this.ports) if (p !== from && p.fn !== null && p.vlan === vid) { this.stats.switchedLocal++; this.deliver(p, f); }
    this.toUplink(f);
  }

  private toUplink(f: Uint8Array): void {
    if (this.uplink === null || !this.uplinkCarrier) { this.stats.uplinkDown++; return; }
    this.stats.toUplink++;
    this.uplink(f);
  }

  /** A frame from the uplink: to the function(s) whose MAC and VLAN it matches. */
  fromUplink(f: Uint8Array): void {
    if (f.length < 14 || !this.uplinkCarrier) return;
    this.stats.fromUplink++;
    const dst = macOf(f, 0), group = (f[0]! & 1) !== 0, vid = vidOf(f), src = macOf(f, 6);
    let hit = false;
    for (const p of this.ports) {
      if (p.fn === null || p.vlan !== vid) continue;
      if (group) {
        if (this.switchMode === 'vepa' && p.mac === src) continue; // reflective relay: not back to its source
        hit = true; this.deliver(p, f);
      } else if (p.mac === dst) { hit = true; this.deliver(p, f); break; }
    }
    if (!hit) this.stats.uplinkNoMatch++;
  }

  private deliver(p: Port, f: Uint8Array): void {
    p.receive(p.vlan !== 0 ? stripTag(f) : f);
  }
}

/**
 * A virtual function: a PCIe function with its own config space (VF header: BARs read 0,
 * Memory Space is the PF's VF MSE, as PCIe r4.0 9.3.4.1), its own MSI-X and FLR, and its Port.
 * Vendor / Device ID read the real ids, as QEMU's VFs do (igbvf: PCI_VENDOR_ID_INTEL /
 * E1000_DEV_ID_82576_VF; real hardware reads FFFFh there and Linux fills them from the PF).
 */
export class NicVf extends Endpoint {
  private readonly regs: MmioHandler;

  constructor(readonly pfDev: SriovNic, readonly vfIndex: number) {
    super(`${pfDev.name}/vf${vfIndex}`, {
      identity: { vendorId: NIC_VENDOR_ID, deviceId: NIC_VF_DEVICE_ID, revision: NIC_REVISION, classCode: NIC_CLASS, subsystemId: 0x0001 },
      bars: [{ size: VF_BAR0_SIZE }, null, null, { size: MSIX_BAR_SIZE }],
      pcie: { flr: true, linkSpeed: 3, linkWidth: 4 },
      msix: { vectors: NIC_VECTORS, tableBar: MSIX_BAR, tableOffset: 0, pbaBar: MSIX_BAR, pbaOffset: MSIX_PBA_OFFSET },
      pm: false,
    });
    // The VF header's BARs are read-only zero (its BARs are the PF's VF BARs) and Memory Space
    // is read-only zero (VF MSE in the PF decides).
    for (let o = PCI_BASE_ADDRESS_0; o < PCI_BASE_ADDRESS_0 + 24; o += 4) { this.cs.set32(o, 0); this.cs.setWmask(o, 4, 0); }
    this.cs.setWmask(PCI_COMMAND, 2, this.cs.wmask[PCI_COMMAND]! & ~PCI_COMMAND_MEMORY | (this.cs.wmask[PCI_COMMAND + 1]! << 8));
    this.seal();
    const self = this;
    this.regs = {
      read(off: number, size: number, out: MmioValue): void { self.vfRead(off, size, out); },
      write(off: number, size: number, lo: number): void { self.vfWrite(off, size, lo >>> 0); },
    };
  }

  get port(): Port { return this.pfDev.ports[this.vfIndex]!; }

  override decodedBars(): { bar: number; addr: number; size: number }[] {
    const s = this.pfDev.sriov;
    if (!s.vfEnabled || !s.vfMemoryEnabled || this.host === null) return [];
    const out: { bar: number; addr: number; size: number }[] = [];
    for (const [bar, size] of [[0, VF_BAR0_SIZE], [MSIX_BAR, MSIX_BAR_SIZE]] as const) {
      const base = s.vfBarBase(bar);
      if (base !== 0) out.push({ bar, addr: base + (this.vfIndex - 1) * size, size });
    }
    return out;
  }

  protected deviceBar(bar: number): MmioHandler {
    return bar === 0 ? this.regs : ZERO;
  }

  protected override resetDevice(): void {
    this.pfDev.vfReset(this.vfIndex);
  }

  private vfRead(off: number, size: number, out: MmioValue): void {
    out.lo = 0; out.hi = 0;
    if (size !== 4 || (off & 3) !== 0) { out.lo = -1; return; }
    if (this.port.readReg(off, out)) return;
    if (off === REG.VFMAILBOX) { out.lo = this.pfDev.vfMailboxRead(this.vfIndex); return; }
    if (off >= REG.VFMBMEM && off < REG.VFMBMEM + 4 * MBX_WORDS) { out.lo = this.pfDev.mailboxes[this.vfIndex - 1]!.mem[(off - REG.VFMBMEM) >>> 2]! | 0; return; }
    out.lo = -1;
  }

  private vfWrite(off: number, size: number, v: number): void {
    if (size !== 4 || (off & 3) !== 0) return;
    // MAC and VLAN are the PF's to set: a VF asks through the mailbox.
    if (off === REG.RAL || off === REG.RAH || off === REG.VLAN) return;
    if (this.port.writeReg(off, v)) return;
    if (off === REG.VFMAILBOX) { this.pfDev.vfMailboxWrite(this.vfIndex, v); return; }
    if (off >= REG.VFMBMEM && off < REG.VFMBMEM + 4 * MBX_WORDS) this.pfDev.mailboxes[this.vfIndex - 1]!.mem[(off - REG.VFMBMEM) >>> 2] = v;
  }
}

const ZERO: MmioHandler = { read: (_o, _s, out) => { out.lo = 0; out.hi = 0; }, write: () => {} };

export function macOf(f: Uint8Array, o: number): number {
  return ((f[o]! * 0x10000 + f[o + 1]! * 0x100 + f[o + 2]!) * 0x1000000) + (f[o + 3]! * 0x10000 + f[o + 4]! * 0x100 + f[o + 5]!);
}

/** The frame's VLAN id (0 = untagged). */
function vidOf(f: Uint8Array): number {
  return f.length >= 18 && ((f[12]! << 8) | f[13]!) === VLAN_TPID ? ((f[14]! << 8) | f[15]!) & 0xfff : 0;
}

function insertTag(f: Uint8Array, vid: number): Uint8Array {
  const o = new Uint8Array(f.length + 4);
  o.set(f.subarray(0, 12), 0);
  o[12] = 0x81; o[13] = 0x00; o[14] = (vid >>> 8) & 0x0f; o[15] = vid & 0xff;
  o.set(f.subarray(12), 16);
  return o;
}

function stripTag(f: Uint8Array): Uint8Array {
  const o = new Uint8Array(f.length - 4);
  o.set(f.subarray(0, 12), 0);
  o.set(f.subarray(16), 12);
  return o;
}

