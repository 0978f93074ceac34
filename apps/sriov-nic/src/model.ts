// The `sriov-nic` PCIe device model: `topology: "sriov-nic"` or with parameters,
// `sriov-nic(vfs=4, queue=1024, switch=vepa, descNs=200, dmaBytesPerNs=4, switchNs=100)`.
import { deviceModels, registerDeviceModel, type DeviceModel } from '@tachyxx/pcie';
import { SriovNic, type SriovNicOptions } from './nic.js';
import { NIC_DEFAULT_QUEUE, NIC_DEFAULT_VFS, NIC_MAX_QUEUE, NIC_MAX_VFS } from './regs.js';
import { DEFAULT_NIC_COSTS } from './port.js';

export const SRIOV_NIC_PARAMS = ['vfs', 'queue', 'switch', 'descNs', 'dmaBytesPerNs', 'switchNs'] as const;

/** The options a topology's `sriov-nic(...)` parameters give; throws RangeError naming the bad one. */
export function nicOptionsFromParams(params: Readonly<Record<string, string>>): Omit<SriovNicOptions, 'timer' | 'name'> {
  const int = (k: string, dflt: number, lo: number, hi: number): number => {
    const s = params[k];
    if (s === undefined) return dflt;
    if (!/^\d+$/.test(s)) throw new RangeError(`${k}=${s} is not a whole number`);
    const n = Number(s);
    if (n < lo || n > hi) throw new RangeError(`${k}=${s} is not in ${lo}..${hi}`);
    return n;
  };
  const sw = params.switch ?? 'veb';
  if (sw !== 'veb' && sw !== 'vepa') throw new RangeError(`switch=${sw}: veb or vepa`);
  const queue = int('queue', NIC_DEFAULT_QUEUE, 8, NIC_MAX_QUEUE);
  if ((queue & (queue - 1)) !== 0) throw new RangeError(`queue=${queue} is not a power of two`);
  return {
    vfs: int('vfs', NIC_DEFAULT_VFS, 1, NIC_MAX_VFS),
    queue,
    switchMode: sw,
    costs: {
      descNs: int('descNs', DEFAULT_NIC_COSTS.descNs, 0, 1e9),
      dmaBytesPerNs: int('dmaBytesPerNs', DEFAULT_NIC_COSTS.dmaBytesPerNs, 1, 1e6),
      switchNs: int('switchNs', DEFAULT_NIC_COSTS.switchNs, 0, 1e9),
    },
  };
}

export const SRIOV_NIC_MODEL: DeviceModel = {
  name: 'sriov-nic',
  description: `SR-IOV Ethernet NIC: a PF and up to ${NIC_MAX_VFS} VFs (default ${NIC_DEFAULT_VFS}; First VF Offset 0x80, Stride 2 as igb)`,
  params: SRIOV_NIC_PARAMS,
  check(params) {
    try { nicOptionsFromParams(params); return null; } catch (e) { if (e instanceof RangeError) return e.message; throw e; }
  },
  create: (c) => new SriovNic({ name: c.name, timer: c.timer, ...nicOptionsFromParams(c.params) }),
};

/** Registers the model with @tachyxx/pcie (once per process; importing this package does it). */
export function registerSriovNicModel(): void {
  if (!deviceModels().some((m) => m.name === SRIOV_NIC_MODEL.name)) registerDeviceModel(SRIOV_NIC_MODEL);
}
registerSriovNicModel();
