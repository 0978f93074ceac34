// SR-IOV ops (Tachyxx; Linux's sysfs / iproute2 roles for dom0's PF driver, @tachyxx/sriov-nic):
// pci-sriov-numvfs = `echo N > /sys/bus/pci/devices/BDF/sriov_numvfs` (or cat it),
// pci-sriov-list = `ip link show PF` (the VF lines), pci-sriov-vf = `ip link set PF vf N ...`.
// Through @tachyxx/pcie's SriovHostControl: any device model's PF driver can stand behind it.
import { SRIOV_CONTROL_ID, type SriovHostControl, type SriovPfControl } from '@tachyxx/pcie';
import { macAt, parseMac } from '@tachyxx/pv-net';
import type { AssembledHost } from '@tachyxx/hypervisor';
import { ToolstackError, type ErrorCode } from '../protocol.js';
import { op, type OpArgs, type OpTable } from './types.js';

function sriovOf(assembled: AssembledHost): SriovHostControl {
  const c = assembled.components.get(SRIOV_CONTROL_ID) as (SriovHostControl & object) | undefined;
  if (!c) throw new ToolstackError('ENOTSUP', 'no SR-IOV PF driver on this host: select component sriov-nic (variant pf) with a sriov-nic in the PCIe topology (see examples/host-sriov.yaml)');
  return c;
}

function pfArg(cmd: string, assembled: AssembledHost, a: OpArgs): SriovPfControl {
  const bdf = String(a.bdf ?? '');
  const d = sriovOf(assembled).driver(bdf);
  if (!d) throw new ToolstackError('ENOENT', `${cmd}: ${bdf.slice(0, 64)} is not an SR-IOV physical function with a PF driver (xl pci-sriov-list lists them without an argument)`);
  return d;
}

const ERR: Readonly<Record<number, ErrorCode>> = { 16: 'EBUSY', 22: 'EINVAL', 34: 'EINVAL', 19: 'ENOENT' };
function check(cmd: string, rc: number, what: string): void {
  if (rc === 0) return;
  const why = rc === -16 ? 'device or resource busy (VFs enabled: set 0 first; or a VF is assigned to a domain)' : rc === -34 ? 'numerical result out of range (more than TotalVFs)' : 'invalid argument';
  throw new ToolstackError(ERR[-rc] ?? 'EIO', `${cmd}: ${what}: ${why} (${rc})`);
}

export const SRIOV_OPS: OpTable<'pci-sriov-numvfs' | 'pci-sriov-list' | 'pci-sriov-vf'> = {
  'pci-sriov-numvfs': op('pci-sriov-numvfs', (ts, a) => {
    const d = pfArg('pci-sriov-numvfs', ts.assembled, a);
    if (a.numvfs !== undefined) {
      const n = Number(a.numvfs);
      const comp = sriovOf(ts.assembled);
      check('pci-sriov-numvfs', comp.setNumVfs(d.bdf, n), `${d.bdf} numvfs ${n}`);
    }
    return { bdf: d.bdf, numvfs: d.numVfs, totalvfs: d.totalVfs };
  }),
  'pci-sriov-list': op('pci-sriov-list', (ts, a) => {
    const c = sriovOf(ts.assembled);
    const ds = a.bdf !== undefined && a.bdf !== '' ? [pfArg('pci-sriov-list', ts.assembled, a)] : c.drivers;
    return { pfs: ds.map((d) => d.report()) };
  }),
  'pci-sriov-vf': op('pci-sriov-vf', (ts, a) => {
    const d = pfArg('pci-sriov-vf', ts.assembled, a);
    const vf = Number(a.vf);
    const key = String(a.key ?? ''), value = String(a.value ?? '');
    let rc: number;
    switch (key) {
      case 'mac': {
        let m: number;
        try { m = macAt(parseMac(value), 0); } catch { m = -1; }
        if (m < 0) throw new ToolstackError('EINVAL', `pci-sriov-vf: mac ${value.slice(0, 32)} is not aa:bb:cc:dd:ee:ff`);
        rc = d.setVfMac(vf, m);
        break;
      }
      case 'vlan': rc = /^\d+$/.test(value) ? d.setVfVlan(vf, Number(value)) : -22; break;
      case 'max_tx_rate': rc = /^\d+$/.test(value) ? d.setVfRate(vf, Number(value)) : -22; break;
      case 'state':
        if (value !== 'enable' && value !== 'disable') throw new ToolstackError('EINVAL', 'pci-sriov-vf: state enable|disable');
        rc = d.setVfLink(vf, value === 'enable');
        break;
      default: throw new ToolstackError('EINVAL', `pci-sriov-vf: unknown setting '${key.slice(0, 32)}' (mac, vlan, max_tx_rate, state)`);
    }
    check('pci-sriov-vf', rc, `${d.bdf} vf ${vf} ${key} ${value.slice(0, 32)}`);
    return { bdf: d.bdf, vf };
  }),
};
