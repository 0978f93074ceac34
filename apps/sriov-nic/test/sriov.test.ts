// The SR-IOV capability as the NIC carries it: VFs appear with VF Enable, at PF RID + offset +
// (n-1) * stride, with BARs carved from the VF BARs; PF FLR and VF disable take them away.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_MSE, PCI_SRIOV_CTRL_VFE, PCI_SRIOV_NUM_VF, PCI_SRIOV_VF_OFFSET, PCI_SRIOV_VF_STRIDE, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_INITIAL_VF, PCI_SRIOV_VF_DID, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, parseTopology } from '@tachyxx/pcie';
import { NIC_VF_DEVICE_ID, REG, STATUS_RSTD, VF_BAR0_SIZE } from '../src/index.js';
import { rig } from './harness.js';

describe('sriov-nic: the SR-IOV capability', () => {
  it('TotalVFs / InitialVFs / offset 0x80 / stride 2 / VF device id; no VF before VF Enable', () => {
    const { nic, pcie } = rig();
    const c = nic.sriov.offset;
    expect(nic.cs.get16(c + PCI_SRIOV_TOTAL_VF)).toBe(8);
    expect(nic.cs.get16(c + PCI_SRIOV_INITIAL_VF)).toBe(8);
    expect(nic.cs.get16(c + PCI_SRIOV_VF_OFFSET)).toBe(0x80);
    expect(nic.cs.get16(c + PCI_SRIOV_VF_STRIDE)).toBe(2);
    expect(nic.cs.get16(c + PCI_SRIOV_VF_DID)).toBe(NIC_VF_DEVICE_ID);
    expect(pcie.listed().map((f) => f.fn.name)).toEqual(['0/rp0', '0/rp0/sriov-nic']);
  });

  it('VF Enable with NumVFs n: n VFs at RID PF + 0x80 + (n-1)*2, BAR0 = VF BAR0 + (n-1)*16 KiB, registers live', () => {
    const r = rig('sriov-nic', { numvfs: 8 });
    const pfRid = r.nic.rid;
    expect(r.nic.vfs.map((v) => v!.rid)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((n) => pfRid + 0x80 + 2 * n));
    const base = r.nic.sriov.vfBarBase(0);
    for (const vf of r.nic.vfs) {
      const b0 = vf!.decodedBars().find((b) => b.bar === 0)!;
      expect(b0.addr).toBe(base + (vf!.vfIndex - 1) * VF_BAR0_SIZE);
      expect(r.pcie.bus.read(b0.addr + REG.STATUS, 4)).toBe(true);
      expect(r.pcie.bus.value.lo & STATUS_RSTD).toBe(STATUS_RSTD); // the PF driver set it up
    }
    // Config reads through ECAM reach each VF.
    const v3 = r.nic.vfs[2]!;
    expect(r.ecam.read(0, v3.rid >> 8, v3.rid & 0xff, 0, 4)).toBe((NIC_VF_DEVICE_ID << 16 | 0x1234) >>> 0);
  });

  it('VF MSE off: VFs exist in config space but their BARs do not decode', () => {
    const r = rig('sriov-nic', { numvfs: 2 });
    const c = r.nic.sriov.offset, a = r.nic.vfs[0]!.decodedBars()[0]!.addr;
    r.ecam.write(0, r.nic.busNumber, r.nic.devfn, c + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE);
    expect(r.nic.vfs[0]).not.toBeNull();
    expect(r.pcie.bus.read(a, 4)).toBe(false);
  });

  it('NumVFs written while VF Enable is set changes nothing; VF disable and PF FLR remove every VF', () => {
    const r = rig('sriov-nic', { numvfs: 4 });
    const c = r.nic.sriov.offset, b = r.nic.busNumber, df = r.nic.devfn;
    r.ecam.write(0, b, df, c + PCI_SRIOV_NUM_VF, 2, 2);
    expect(r.nic.numVFs).toBe(4);
    expect(r.ecam.read(0, b, df, c + PCI_SRIOV_NUM_VF, 2)).toBe(4);
    expect(r.pf.setNumVfs(2)).toBe(-16); // Linux: disable before enabling a different number (-EBUSY)
    expect(r.pf.setNumVfs(9)).toBe(-34); // above TotalVFs: -ERANGE
    const vfRid = r.nic.vfs[0]!.rid;
    expect(r.pf.setNumVfs(0)).toBe(0);
    expect(r.nic.vfs.every((v) => v === null)).toBe(true);
    expect(r.ecam.read(0, vfRid >> 8, vfRid & 0xff, 0, 4)).toBe(0xffffffff);
    expect(r.pf.setNumVfs(3)).toBe(0);
    r.ecam.write(0, b, df, r.nic.pcieCap + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    expect(r.nic.numVFs).toBe(0);
    expect(r.ecam.read(0, b, df, c + PCI_SRIOV_CTRL, 2) & (PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE)).toBe(0);
  });

  it('property: for any TotalVFs 1..64 and NumVFs <= TotalVFs, the VFs sit at PF + 0x80 + (n-1)*2 and their BAR0s do not overlap', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 64 }), (total, want) => {
      const n = Math.min(want, total);
      const r = rig(`sriov-nic(vfs=${total})`);
      expect(r.pf.setNumVfs(n)).toBe(0);
      const rids = r.nic.vfs.filter((v) => v !== null).map((v) => v!.rid);
      expect(rids).toEqual(Array.from({ length: n }, (_, i) => r.nic.rid + 0x80 + 2 * i));
      const addrs = r.nic.vfs.filter((v) => v !== null).map((v) => v!.decodedBars()[0]!.addr).sort((x, y) => x - y);
      for (let i = 1; i < addrs.length; i++) expect(addrs[i]! - addrs[i - 1]!).toBe(VF_BAR0_SIZE);
      for (const v of r.nic.vfs) if (v) expect(r.pcie.bus.read(v.decodedBars()[0]!.addr, 4)).toBe(true);
    }), { numRuns: 25 });
  });

  it('topology parameters are checked at config time (the message names the parameter)', () => {
    expect(() => parseTopology('sriov-nic(vfs=65)')).toThrow(/vfs=65 is not in 1\.\.64/);
    expect(() => parseTopology('sriov-nic(queue=100)')).toThrow(/queue=100 is not a power of two/);
    expect(() => parseTopology('sriov-nic(switch=hub)')).toThrow(/switch=hub: veb or vepa/);
    expect(() => parseTopology('sriov-nic(color=red)')).toThrow(/sriov-nic has no parameter 'color'/);
    expect(() => parseTopology('edu(vfs=1)')).toThrow(/edu has no parameter 'vfs' \(it takes: none\)/);
    expect(parseTopology('sriov-nic(vfs=4, switch=vepa)').channels[0]![0]).toEqual({ kind: 'device', model: 'sriov-nic', params: { vfs: '4', switch: 'vepa' } });
  });
});
