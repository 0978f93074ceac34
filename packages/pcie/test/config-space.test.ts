import { describe, expect, it } from 'vitest';
import {
  addAcsCapability, addAriCapability, ConfigSpace, Endpoint, PCI_ACS_CTRL, PCI_ACS_RR, PCI_ACS_SV, PCI_CAP_ID_EXP, PCI_CAP_ID_MSIX,
  PCI_CAP_ID_PM, PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_SRIOV, PCI_SRIOV_BAR, PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE,
  PCI_SRIOV_NUM_VF, PCI_SRIOV_TOTAL_VF, PCI_SRIOV_VF_DID, SriovCapability, UNCLAIMED, PCI_STATUS, PCI_BASE_ADDRESS_0,
} from '../src/index.js';
import type { MmioHandler } from '@tachyxx/isa';

class TestDev extends Endpoint {
  constructor() {
    super('test', {
      identity: { vendorId: 0x1af4, deviceId: 0x1234, classCode: 0x020000 },
      bars: [{ size: 0x4000, is64: true }, null, { size: 256 }, { size: 2 ** 33, is64: true, prefetch: true }],
      msix: { vectors: 64, tableBar: 0, tableOffset: 0x2000, pbaBar: 0, pbaOffset: 0x3000 },
    });
    this.seal();
  }
  protected deviceBar(): MmioHandler { return UNCLAIMED; }
}

describe('config space', () => {
  it('header fields are read-only; command is writable only in its defined bits', () => {
    const d = new TestDev();
    d.configWrite(0, 4, 0);
    expect(d.configRead(0, 4)).toBe(0x12341af4);
    d.configWrite(4, 2, 0xffff);
    expect(d.configRead(4, 2)).toBe(0x0546); // memory, master, parity, SERR, INTx disable (no I/O space)
    d.configWrite(0x08, 4, 0);
    expect(d.configRead(0x08, 4) >>> 8).toBe(0x020000);
  });

  it('BAR sizing: all ones reads back ~(size-1) | flags, 32- and 64-bit, above 4 GiB too', () => {
    const d = new TestDev();
    const size = (i: number) => { d.configWrite(PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff); return d.configRead(PCI_BASE_ADDRESS_0 + 4 * i, 4); };
    expect(size(0)).toBe(0xffffc004); // 16 KiB, 64-bit
    expect(size(1)).toBe(0xffffffff); // its upper half
    expect(size(2)).toBe(0xffffff00); // 256 B, 32-bit
    expect(size(3)).toBe(0x0000000c); // 8 GiB: no low address bits, 64-bit prefetchable
    expect(size(4)).toBe(0xfffffffe); // upper half: 2^33
    expect(size(5)).toBe(0);
    d.configWrite(PCI_BASE_ADDRESS_0 + 8, 4, 0x4000_0123);
    expect(d.configRead(PCI_BASE_ADDRESS_0 + 8, 4)).toBe(0x4000_0100);
  });

  it('capability lists link standard and extended capabilities as software walks them', () => {
    const d = new TestDev();
    addAriCapability(d.cs, 0);
    const acs = addAcsCapability(d.cs, PCI_ACS_SV | PCI_ACS_RR);
    const sriov = new SriovCapability(d.cs, { totalVFs: 8, firstVfOffset: 0x80, vfStride: 2, vfDeviceId: 0x10ca, vfBars: [{ size: 0x4000, is64: true }, { size: 0x4000 }] });
    expect(d.configRead(PCI_STATUS, 2) & 0x10).toBe(0x10);
    const caps: number[] = [];
    for (let off = d.configRead(0x34, 1); off !== 0; off = d.configRead(off + 1, 1)) caps.push(d.configRead(off, 1));
    expect(caps).toEqual([PCI_CAP_ID_EXP, PCI_CAP_ID_PM, PCI_CAP_ID_MSIX]);
    const ext: number[] = [];
    for (let off = 0x100; off !== 0; off = d.configRead(off, 4) >>> 20) ext.push(d.configRead(off, 4) & 0xffff);
    expect(ext).toEqual([PCI_EXT_CAP_ID_ARI, PCI_EXT_CAP_ID_ACS, PCI_EXT_CAP_ID_SRIOV]);
    // ACS control: only capable bits are writable
    d.configWrite(acs + PCI_ACS_CTRL, 2, 0xffff);
    expect(d.configRead(acs + PCI_ACS_CTRL, 2)).toBe(PCI_ACS_SV | PCI_ACS_RR);
    // SR-IOV: RO identity, RW NumVFs / control, VF BAR sizing, VF RIDs
    const s = sriov.offset;
    expect(d.configRead(s + PCI_SRIOV_TOTAL_VF, 2)).toBe(8);
    d.configWrite(s + PCI_SRIOV_TOTAL_VF, 2, 99);
    expect(d.configRead(s + PCI_SRIOV_TOTAL_VF, 2)).toBe(8);
    expect(d.configRead(s + PCI_SRIOV_VF_DID, 2)).toBe(0x10ca);
    d.configWrite(s + PCI_SRIOV_NUM_VF, 2, 4);
    d.configWrite(s + PCI_SRIOV_CTRL, 2, PCI_SRIOV_CTRL_VFE | 0xffe0);
    expect(sriov.numVFs).toBe(4);
    expect(sriov.vfEnabled).toBe(true);
    expect(d.configRead(s + PCI_SRIOV_CTRL, 2) & 0xffe0).toBe(0);
    d.configWrite(s + PCI_SRIOV_BAR, 4, 0xffffffff);
    expect(d.configRead(s + PCI_SRIOV_BAR, 4)).toBe(0xffffc004);
    d.configWrite(s + PCI_SRIOV_BAR + 8, 4, 0xffffffff);
    expect(d.configRead(s + PCI_SRIOV_BAR + 8, 4)).toBe(0xffffc000);
    expect(sriov.vfRid(0x0100, 1)).toBe(0x0180);
    expect(sriov.vfRid(0x0100, 3)).toBe(0x0184);
    expect(sriov.systemPageSize).toBe(4096);
  });

  it('RW1C bits clear on 1 and ignore 0; reset restores sealed values', () => {
    const cs = new ConfigSpace();
    cs.set16(6, 0xf900);
    cs.setW1cmask(6, 2, 0xf900);
    cs.seal();
    cs.write(6, 2, 0x0100);
    expect(cs.get16(6)).toBe(0xf800);
    cs.write(6, 2, 0);
    expect(cs.get16(6)).toBe(0xf800);
    cs.reset();
    expect(cs.get16(6)).toBe(0xf900);
  });
});
