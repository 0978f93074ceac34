/**
 * The PF driver: dom0's side of the NIC (the role Linux's igb plays for an 82576 PF). It talks to
 * the device only through config space (ECAM) and its BAR0 registers over the MMIO bus:
 *  - `setNumVfs(n)` = `echo n > /sys/bus/pci/devices/BDF/sriov_numvfs` (Linux sriov_numvfs_store:
 *    -EBUSY when VFs are enabled and n differs and is not 0, -ERANGE above TotalVFs, and ours:
 *    -EBUSY while a VF is assigned to a domain, as Linux's pci_vfs_assigned check in igb);
 *  - per-VF MAC, port VLAN, rate, link (`ip link set DEV vf N mac|vlan|max_tx_rate|state`);
 *  - answers the mailbox (igb_rcv_msg_from_vf): RESET -> ACK with the MAC (CTS), SET_MAC -> NACK
 *    when the administrator set the MAC, SET_VLAN -> NACK when a port VLAN is set, GET_LINK;
 *    requests beyond MBX_RATE_PER_S per VF per simulated second are acknowledged and dropped
 *    (counted), so a flooding VF costs dom0 a bounded amount of work;
 *  - a reset VF (FLR after `xl destroy`, VFLRE) gets its MAC / VLAN / link back (igb_vf_reset_event).
 */
import { ecamAccess, type ConfigAccess, type PcieHost, type PcieSubsystem, type SriovPfControl, type SriovPfReport, type SriovVfReport } from '@tachyxx/pcie';
import {
  PCI_COMMAND, PCI_COMMAND_MEMORY, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_TOTAL_VF, PCI_BASE_ADDRESS_0,
} from '@tachyxx/pcie';
import { macFromRegs, macString, macToRah, macToRal } from './mac.js';
import { REG_VFLRE, SriovNic } from './nic.js';
import {
  ICR_LSC, ICR_MBX, ICR_VFLR, MBX_MSGTYPE_ACK, MBX_MSGTYPE_CTS, MBX_MSGTYPE_NACK, MBX_PF_CONTROL_MSG, MBX_VF_GET_LINK, MBX_VF_RESET, MBX_VF_SET_MAC_ADDR,
  MBX_VF_SET_VLAN, MBX_WORDS, PF_MBX_BASE, PF_MBX_STRIDE, PF_VFCFG_BASE, PF_VFCFG_STRIDE, PFMAILBOX, PFMB_ACK, PFMB_STS, PFMBMEM, REG,
  VFCFG, VFCTRL_LINK, VFCTRL_RSTD, VFCTRL_SPOOFCHK,
} from './regs.js';

/** Mailbox requests the PF driver answers per VF per simulated second; the rest are dropped (counted). */
export const MBX_RATE_PER_S = 1000;
/** Xen errno values the driver returns (negative). */
const EBUSY = 16, EINVAL = 22, ERANGE = 34;

export interface PfDriverStats {
  mbxAnswered: number;
  mbxNacked: number;
  mbxRateLimited: number;
  vfResets: number;
  interrupts: number;
}

export interface VfAdmin {
  /** MAC set by the administrator (wins over the VF's SET_MAC). */
  mac: number | null;
  vlan: number;
  rateMbps: number;
  link: boolean;
}

export class PfDriver implements SriovPfControl {
  readonly cfg: ConfigAccess;
  readonly segment: number;
  readonly bus: number;
  readonly devfn: number;
  readonly bar0: number;
  readonly stats: PfDriverStats = { mbxAnswered: 0, mbxNacked: 0, mbxRateLimited: 0, vfResets: 0, interrupts: 0 };
  readonly admin: VfAdmin[];
  /** MAC each VF has now (admin, or what the VF asked for, or the default). */
  readonly macs: number[];
  private readonly window: { start: number; count: number }[];
  log: (line: string) => void = () => {};

  constructor(readonly pcie: PcieHost, readonly nic: SriovNic, private readonly now: () => number) {
    const ss = nic.host as unknown as PcieSubsystem;
    this.segment = ss.segment;
    this.bus = nic.busNumber;
    this.devfn = nic.devfn;
    this.cfg = ecamAccess(pcie.bus, (s) => pcie.channels[s]!.ecamBase);
    const lo = this.cfgRead(PCI_BASE_ADDRESS_0, 4);
    this.bar0 = (lo & 0xfffffff0) >>> 0;
    if (this.bar0 === 0 || (this.cfgRead(PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) === 0) throw new Error(`${this.bdf}: BAR0 not assigned or memory decoding off (enumerate first)`);
    const total = this.totalVfs;
    this.admin = Array.from({ length: total + 1 }, () => ({ mac: null, vlan: 0, rateMbps: 0, link: true }));
    this.macs = new Array<number>(total + 1).fill(0);
    this.window = Array.from({ length: total + 1 }, () => ({ start: 0, count: 0 }));
    // The PF's own MAC: locally administered, from the PF's RID.
    const pfMac = defaultMac(this.segment, this.bus, this.devfn, 0);
    this.w32(REG.RAL, macToRal(pfMac));
    this.w32(REG.RAH, macToRah(pfMac));
    // The PF's interrupt: the mailbox, VF resets and link changes come to this driver.
    nic.onPfInterrupt = () => this.interrupt();
    this.w32(REG.IMS, ICR_MBX | ICR_VFLR | ICR_LSC);
  }

  get bdf(): string {
    const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
    return `${h(this.segment, 4)}:${h(this.bus, 2)}:${h(this.devfn >> 3, 2)}.${this.devfn & 7}`;
  }
  private get sriov(): number { return this.nic.sriov.offset; }
  get totalVfs(): number { return this.cfgRead(this.sriov + PCI_SRIOV_TOTAL_VF, 2); }
  get numVfs(): number { return (this.cfgRead(this.sriov + PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE) !== 0 ? this.cfgRead(this.sriov + PCI_SRIOV_NUM_VF, 2) : 0; }

  private cfgRead(off: number, size: number): number { return this.cfg.read(this.segment, this.bus, this.devfn, off, size); }
  private cfgWrite(off: number, size: number, v: number): void { this.cfg.write(this.segment, this.bus, this.devfn, off, size, v); }
  r32(off: number): number {
    if (!this.pcie.bus.read(this.bar0 + off, 4)) return 0xffffffff;
    return this.pcie.bus.value.lo >>> 0;
  }
  w32(off: number, v: number): void { this.pcie.bus.write(this.bar0 + off, 4, v | 0, 0); }

  /**
   * `sriov_numvfs`: enables n VFs (0 disables them). 0 or a negative Xen errno. `assigned(k)`
   * says whether VF k is assigned to a domain now (passthrough).
   */
  setNumVfs(n: number, assigned: (k: number) => boolean = () => false): number {
    if (!Number.isInteger(n) || n < 0) return -EINVAL;
    if (n > this.totalVfs) return -ERANGE;
    const cur = this.numVfs;
    if (n === cur) return 0;
    for (let k = 1; k <= cur; k++) if (assigned(k)) return -EBUSY;
    if (cur !== 0 && n !== 0) return -EBUSY; // Linux: "%d VFs already enabled. Disable before enabling %d VFs"
    const ctrl = this.cfgRead(this.sriov + PCI_SRIOV_CTRL, 2);
    if (n === 0) {
      this.cfgWrite(this.sriov + PCI_SRIOV_CTRL, 2, ctrl & ~(PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE));
      this.log(`sriov-nic ${this.bdf}: VFs disabled`);
      return 0;
    }
    this.cfgWrite(this.sriov + PCI_SRIOV_NUM_VF, 2, n);
    this.cfgWrite(this.sriov + PCI_SRIOV_CTRL, 2, ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    for (let k = 1; k <= n; k++) this.configureVf(k);
    this.w32(REG_VFLRE, 0xffffffff); // the enables themselves are not resets to handle
    this.log(`sriov-nic ${this.bdf}: ${n} VFs enabled`);
    return 0;
  }

  /** The BDF of VF k (as lspci prints it). */
  vfBdf(k: number): string {
    const rid = this.nic.sriov.vfRid((this.bus << 8) | this.devfn, k);
    const h = (x: number, w: number) => x.toString(16).padStart(w, '0');
    return `${h(this.segment, 4)}:${h(rid >> 8, 2)}:${h((rid >> 3) & 0x1f, 2)}.${rid & 7}`;
  }

  /** Writes VF k's MAC, VLAN, rate and link into the device and marks it ready (RSTD). */
  private configureVf(k: number): void {
    const a = this.admin[k]!;
    const mac = a.mac ?? (this.macs[k] !== 0 ? this.macs[k]! : defaultMac(this.segment, this.bus, this.devfn, k));
    this.macs[k] = mac;
    const base = PF_VFCFG_BASE + (k - 1) * PF_VFCFG_STRIDE;
    this.w32(base + VFCFG.RAL, macToRal(mac));
    this.w32(base + VFCFG.RAH, macToRah(mac));
    this.w32(base + VFCFG.VLAN, a.vlan);
    this.w32(base + VFCFG.RATE, a.rateMbps);
    this.w32(base + VFCFG.CTRL, (a.link ? VFCTRL_LINK : 0) | VFCTRL_SPOOFCHK | VFCTRL_RSTD);
  }

  private checkVf(k: number): number {
    if (!Number.isInteger(k) || k < 1 || k > this.totalVfs) return -EINVAL;
    return 0;
  }

  /** `ip link set PF vf k mac M`. */
  setVfMac(k: number, mac: number): number {
    const e = this.checkVf(k); if (e) return e;
    if (mac === 0 || Math.floor(mac / 2 ** 40) % 2 === 1) return -EINVAL; // zero or multicast
    this.admin[k]!.mac = mac;
    this.macs[k] = mac;
    if (k <= this.numVfs) this.configureVf(k);
    return 0;
  }
  /** `ip link set PF vf k vlan V` (0 clears). */
  setVfVlan(k: number, vlan: number): number {
    const e = this.checkVf(k); if (e) return e;
    if (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094) return -EINVAL;
    this.admin[k]!.vlan = vlan;
    if (k <= this.numVfs) this.configureVf(k);
    return 0;
  }
  /** `ip link set PF vf k max_tx_rate R` (Mbit/s, 0 = none). */
  setVfRate(k: number, mbps: number): number {
    const e = this.checkVf(k); if (e) return e;
    if (!Number.isInteger(mbps) || mbps < 0 || mbps > 100_000) return -EINVAL;
    this.admin[k]!.rateMbps = mbps;
    if (k <= this.numVfs) this.configureVf(k);
    return 0;
  }
  /** `ip link set PF vf k state enable|disable`; the VF gets a link-change message. */
  setVfLink(k: number, up: boolean): number {
    const e = this.checkVf(k); if (e) return e;
    this.admin[k]!.link = up;
    if (k <= this.numVfs) { this.configureVf(k); this.sendToVf(k, [MBX_PF_CONTROL_MSG, up ? 1 : 0]); }
    return 0;
  }

  /** What `ip link show PF` prints per VF, and the PF's link. */
  report(): SriovPfReport {
    const n = this.numVfs;
    const vfs: SriovVfReport[] = [];
    for (let k = 1; k <= n; k++) {
      const base = PF_VFCFG_BASE + (k - 1) * PF_VFCFG_STRIDE;
      vfs.push({
        vf: k, bdf: this.vfBdf(k), mac: macString(macFromRegs(this.r32(base + VFCFG.RAL), this.r32(base + VFCFG.RAH))),
        vlan: this.r32(base + VFCFG.VLAN), rateMbps: this.r32(base + VFCFG.RATE), link: (this.r32(base + VFCFG.CTRL) & VFCTRL_LINK) !== 0,
        txPkts: this.r32(base + VFCFG.TXPKTS), rxPkts: this.r32(base + VFCFG.RXPKTS), drops: this.r32(base + VFCFG.DROPS),
      });
    }
    return { bdf: this.bdf, link: (this.r32(REG.STATUS) & 1) !== 0, totalVfs: this.totalVfs, numVfs: n, switchMode: this.r32(REG.SWMODE) === 1 ? 'vepa' : 'veb', vfs };
  }

  // ---------------------------------------------------------------- interrupt: mailbox, VF resets

  /** The PF's interrupt handler (dom0): VF resets first, then every pending mailbox request. */
  interrupt(): void {
    this.stats.interrupts++;
    const icr = this.r32(REG.ICR);
    this.w32(REG.ICR, icr);
    const vflre = this.r32(REG_VFLRE);
    if (vflre !== 0) {
      this.w32(REG_VFLRE, vflre);
      for (let k = 1; k <= this.numVfs; k++) if ((vflre >>> (k - 1)) & 1) { this.stats.vfResets++; this.configureVf(k); }
    }
    const req = this.r32(REG.MBVFICR);
    for (let k = 1; k <= this.numVfs; k++) if ((req >>> (k - 1)) & 1) this.serviceVf(k);
  }

  private serviceVf(k: number): void {
    const mb = PF_MBX_BASE + (k - 1) * PF_MBX_STRIDE;
    const msg: number[] = [];
    for (let i = 0; i < MBX_WORDS; i++) msg.push(this.r32(mb + PFMBMEM + 4 * i));
    this.w32(mb + PFMAILBOX, PFMB_ACK); // the request is taken (VFMAILBOX.PFACK)
    const w = this.window[k]!, now = this.now();
    if (now - w.start >= 1e9) { w.start = now; w.count = 0; }
    if (++w.count > MBX_RATE_PER_S) { this.stats.mbxRateLimited++; return; }
    const type = msg[0]! & 0xffff;
    const a = this.admin[k]!;
    switch (type) {
      case MBX_VF_RESET: {
        this.configureVf(k);
        const mac = this.macs[k]!;
        this.sendToVf(k, [MBX_VF_RESET | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS, macToRal(mac), macToRah(mac), a.vlan]);
        this.stats.mbxAnswered++;
        return;
      }
      case MBX_VF_SET_MAC_ADDR: {
        const mac = macFromRegs(msg[1]!, msg[2]!);
        if (a.mac !== null || mac === 0 || Math.floor(mac / 2 ** 40) % 2 === 1) { this.nack(k, type); return; }
        this.macs[k] = mac;
        this.configureVf(k);
        this.sendToVf(k, [type | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS]);
        this.stats.mbxAnswered++;
        return;
      }
      case MBX_VF_SET_VLAN: {
        const vid = msg[1]! & 0xfff;
        if (a.vlan !== 0 || vid > 4094) { this.nack(k, type); return; }
        a.vlan = vid;
        this.configureVf(k);
        this.sendToVf(k, [type | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS]);
        this.stats.mbxAnswered++;
        return;
      }
      case MBX_VF_GET_LINK:
        this.sendToVf(k, [type | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS, (this.r32(REG.STATUS) & 1) !== 0 && a.link ? 1 : 0]);
        this.stats.mbxAnswered++;
        return;
      default:
        this.nack(k, type);
    }
  }

  private nack(k: number, type: number): void {
    this.stats.mbxNacked++;
    this.sendToVf(k, [type | MBX_MSGTYPE_NACK | MBX_MSGTYPE_CTS]);
  }

  private sendToVf(k: number, words: number[]): void {
    const mb = PF_MBX_BASE + (k - 1) * PF_MBX_STRIDE;
    for (let i = 0; i < MBX_WORDS; i++) this.w32(mb + PFMBMEM + 4 * i, words[i] ?? 0);
    this.w32(mb + PFMAILBOX, PFMB_STS);
  }
}

/** A locally administered unicast MAC for function k (0 = the PF) of the PF at seg:bus:devfn: 02:5a:SS:BB:DF:kk. */
export function defaultMac(segment: number, bus: number, devfn: number, k: number): number {
  return [0x02, 0x5a, segment & 0xff, bus & 0xff, devfn & 0xff, k & 0xff].reduce((m, b) => m * 256 + b, 0);
}

/** Every SR-IOV NIC PF of a host. */
export function nicsOf(pcie: PcieHost): SriovNic[] {
  return pcie.endpoints.filter((e): e is SriovNic => e instanceof SriovNic);
}
