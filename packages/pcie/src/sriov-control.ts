// dom0's control of SR-IOV physical functions, as the toolstack sees it: Linux's
// /sys/bus/pci/devices/BDF/sriov_numvfs and `ip link set PF vf N mac|vlan|max_tx_rate|state`.
// A device model's PF driver implements it (e.g. @tachyxx/sriov-nic); the toolstack depends on
// this interface only, so device models plug in without the toolstack knowing them.

/** One VF as `ip link show PF` lists it. */
export interface SriovVfReport {
  vf: number;
  bdf: string;
  mac: string;
  vlan: number;
  rateMbps: number;
  link: boolean;
  txPkts: number;
  rxPkts: number;
  drops: number;
}

/** A PF and its enabled VFs. */
export interface SriovPfReport {
  bdf: string;
  link: boolean;
  totalVfs: number;
  numVfs: number;
  /** Where VF-to-VF traffic turns: inside the NIC ('veb') or at the external switch ('vepa'). */
  switchMode: string;
  vfs: SriovVfReport[];
}

/** One PF's driver. Setters return 0 or a negative errno (-EINVAL for a bad VF or value). */
export interface SriovPfControl {
  readonly bdf: string;
  readonly numVfs: number;
  readonly totalVfs: number;
  report(): SriovPfReport;
  /** MAC as a 48-bit number, first octet most significant. */
  setVfMac(vf: number, mac: number): number;
  /** 802.1Q VLAN id, 0 clears. */
  setVfVlan(vf: number, vlan: number): number;
  /** Mbit/s, 0 = unlimited. */
  setVfRate(vf: number, mbps: number): number;
  setVfLink(vf: number, up: boolean): number;
}

/** The host component that owns the PF drivers (looked up by SRIOV_CONTROL_ID). */
export interface SriovHostControl {
  readonly drivers: readonly SriovPfControl[];
  driver(bdf: string): SriovPfControl | undefined;
  /** Enable n VFs on the PF at bdf (0 disables them); 0 or a negative errno (-EBUSY, -ERANGE). */
  setNumVfs(bdf: string, n: number): number;
}

/** The host component id under which an SriovHostControl is registered. */
export const SRIOV_CONTROL_ID = 'sriov-nic';
