import { describe, expect, it } from 'vitest';
import {
  Bridge, ecamAccess, EDU_BAR0_SIZE, EDU_ID_VALUE, EDU_MSIX_BAR_SIZE, parseTopology, PCI_COMMAND, PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI, PCI_MEMORY_BASE, PCI_MEMORY_LIMIT, PCI_SECONDARY_BUS, PCI_SUBORDINATE_BUS,
} from '../src/index.js';
import { host, mmio32 } from './helpers.js';

describe('topology and enumeration', () => {
  it('the default topology is one channel with a root port and edu behind it, reachable after enumeration', () => {
    const { pcie, bus } = host();
    expect(pcie.channels.length).toBe(1);
    const ecam = ecamAccess(bus, (s) => pcie.channels[s]!.ecamBase);
    // Before enumeration only bus 0 (the root port) answers.
    expect(ecam.read(0, 0, 0, 0, 4)).toBe(0x000c1b36);
    expect(ecam.read(0, 1, 0, 0, 4)).toBe(0xffffffff);
    const found = pcie.enumerate();
    expect(found.map((f) => [f.bus, f.devfn, f.vendorId.toString(16), f.deviceId.toString(16)])).toEqual([[0, 0, '1b36', 'c'], [1, 0, '1234', '11e8']]);
    expect(found[0]!.secondary).toBe(1);
    expect(found[0]!.subordinate).toBe(1);
    const edu = found[1]!;
    expect(edu.bars.map((b) => [b.bar, b.size])).toEqual([[0, EDU_BAR0_SIZE], [2, EDU_MSIX_BAR_SIZE]]);
    const ss = pcie.channels[0]!;
    for (const b of edu.bars) {
      expect(b.addr % b.size).toBe(0); // naturally aligned
      expect(b.addr).toBeGreaterThanOrEqual(ss.mmioBase);
      expect(b.addr + b.size).toBeLessThanOrEqual(ss.mmioBase + ss.mmioSize);
    }
    // The root port's window covers both BARs, and the BARs decode: edu's id register answers.
    const win = found[0]!.window!;
    expect(win.base).toBeLessThanOrEqual(edu.bars[0]!.addr);
    expect(win.limit).toBeGreaterThanOrEqual(edu.bars[1]!.addr + EDU_MSIX_BAR_SIZE - 1);
    expect(mmio32(bus, edu.bars[0]!.addr)).toBe(EDU_ID_VALUE);
    // Endpoint: memory on, bus master left to the driver; bridge: both on.
    expect(ecam.read(0, 1, 0, PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(PCI_COMMAND_MEMORY);
    expect(ecam.read(0, 0, 0, PCI_COMMAND, 2) & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    expect(pcie.find('0/rp0/edu')!.rid).toBe(0x100);
  });

  it('BARs stop decoding when Memory Space, D0 or an upstream window goes away, and come back', () => {
    const { pcie, bus } = host();
    const [, edu] = pcie.enumerate();
    const ecam = ecamAccess(bus, (s) => pcie.channels[s]!.ecamBase);
    const bar0 = edu!.bars[0]!.addr;
    expect(bus.read(bar0, 4)).toBe(true);
    ecam.write(0, 1, 0, PCI_COMMAND, 2, 0);
    expect(bus.read(bar0, 4)).toBe(false);
    ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    expect(bus.read(bar0, 4)).toBe(true);
    const base = ecam.read(0, 0, 0, PCI_MEMORY_BASE, 2), limit = ecam.read(0, 0, 0, PCI_MEMORY_LIMIT, 2);
    ecam.write(0, 0, 0, PCI_MEMORY_LIMIT, 2, 0); // the root port's window closes (base > limit)
    expect(bus.read(bar0, 4)).toBe(false);
    ecam.write(0, 0, 0, PCI_MEMORY_LIMIT, 2, limit);
    expect(base).toBeLessThanOrEqual(limit);
    expect(bus.read(bar0, 4)).toBe(true);
    // D3hot: the function answers config requests only.
    const pm = pcie.find('0/rp0/edu')!.pmCap + 4;
    ecam.write(0, 1, 0, pm, 2, 3);
    expect(bus.read(bar0, 4)).toBe(false);
    ecam.write(0, 1, 0, pm, 2, 0);
    expect(bus.read(bar0, 4)).toBe(true);
    // Moving the BAR moves the region.
    ecam.write(0, 1, 0, 0x10, 4, bar0 + EDU_BAR0_SIZE * 4);
    expect(bus.read(bar0, 4)).toBe(false);
    expect(pcie.rc.decodedRegions().some((r) => r.addr === bar0 + EDU_BAR0_SIZE * 4)).toBe(false); // outside the window: not routed
  });

  it('switches, several channels and empty ports: bus numbers are assigned depth first per segment', () => {
    const { pcie } = host('edu, switch(edu, -, edu-ari); -, edu');
    const found = pcie.enumerate();
    const seg0 = found.filter((f) => f.segment === 0).map((f) => `${f.bus}:${f.devfn >> 3}.${f.devfn & 7}${f.bridge ? `[${f.secondary}-${f.subordinate}]` : ''}`);
    expect(seg0).toEqual(['0:0.0[1-1]', '1:0.0', '0:1.0[2-6]', '2:0.0[3-6]', '3:0.0[4-4]', '4:0.0', '3:1.0[5-5]', '3:2.0[6-6]', '6:0.0']);
    const seg1 = found.filter((f) => f.segment === 1).map((f) => `${f.bus}:${f.devfn >> 3}.${f.devfn & 7}`);
    expect(seg1).toEqual(['0:0.0', '0:1.0', '2:0.0']);
    expect(pcie.channels[1]!.mmioBase).toBe(pcie.channels[0]!.mmioBase + pcie.channels[0]!.mmioSize);
    // Every endpoint's BAR0 decodes, at distinct addresses.
    const regions = pcie.rc.decodedRegions();
    expect(regions.length).toBe(4 * 2);
    expect(new Set(regions.map((r) => r.addr)).size).toBe(8);
    // The downstream port above edu-ari got ARI forwarding; the others did not.
    const dp2 = pcie.find('0/rp1/sw/dp2') as Bridge;
    expect(dp2.ariForwardingEnabled).toBe(true);
    expect((pcie.find('0/rp1/sw/dp0') as Bridge).ariForwardingEnabled).toBe(false);
    expect(dp2.cs.get16(dp2.pcieCap + PCI_EXP_DEVCTL2) & PCI_EXP_DEVCTL2_ARI).toBe(PCI_EXP_DEVCTL2_ARI);
    expect(pcie.find('0/rp1/sw/dp2/edu-ari')!.rid).toBe(0x600);
  });

  it('a link carries only device 0 unless ARI forwarding is on', () => {
    const { pcie, bus } = host();
    pcie.enumerate();
    const ecam = ecamAccess(bus, (s) => pcie.channels[s]!.ecamBase);
    expect(ecam.read(0, 1, 0, 0, 2)).toBe(0x1234);
    expect(ecam.read(0, 1, 8, 0, 2)).toBe(0xffff); // device 1 on the link: nothing
    expect(ecam.read(0, 2, 0, 0, 2)).toBe(0xffff); // bus beyond the subordinate
    ecam.write(0, 0, 0, PCI_SECONDARY_BUS, 1, 0); // unassign: the bus disappears
    expect(ecam.read(0, 1, 0, 0, 2)).toBe(0xffff);
    ecam.write(0, 0, 0, PCI_SECONDARY_BUS, 1, 1);
    ecam.write(0, 0, 0, PCI_SUBORDINATE_BUS, 1, 1);
    expect(ecam.read(0, 1, 0, 0, 2)).toBe(0x1234);
    expect(pcie.channels[0]!.stats.unsupportedConfig).toBeGreaterThan(0);
  });

  it('parses topology strings and names the column of a mistake', () => {
    expect(parseTopology('edu').channels).toEqual([[{ kind: 'device', model: 'edu' }]]);
    expect(parseTopology(' switch( edu , - ) ; edu-ari ').channels).toEqual([
      [{ kind: 'switch', ports: [{ kind: 'device', model: 'edu' }, { kind: 'empty' }] }], [{ kind: 'device', model: 'edu-ari' }],
    ]);
    expect(parseTopology('').channels).toEqual([]);
    expect(() => parseTopology('edu, nic')).toThrow(/unknown device model 'nic' at column 6/);
    expect(() => parseTopology('switch(edu')).toThrow(/expected '\)'/);
    expect(() => parseTopology('edu;;')).toThrow(/expected a device model/);
    expect(() => parseTopology(Array(33).fill('-').join(','))).toThrow(/more than 32 ports/);
  });
});

describe('passthrough hooks', () => {
  it('mapBars maps every page of the decoded BARs through the P2M callback; owner defaults to dom0', () => {
    const { pcie } = host();
    const [, e] = pcie.enumerate();
    const edu = pcie.find('0/rp0/edu')!;
    expect(edu.owner).toBe(0);
    const mapped: [number, number][] = [];
    const n = edu.mapBars((gfn, mfn) => { mapped.push([gfn, mfn]); return true; }, (ma) => ma - 0x4000_0000 + 0x1000_0000);
    expect(n).toBe(256 + 1); // 1 MiB BAR0 + 4 KiB BAR2
    expect(mapped[0]).toEqual([0x10000, e!.bars[0]!.addr / 4096]);
    expect(mapped.at(-1)).toEqual([(e!.bars[1]!.addr - 0x4000_0000 + 0x1000_0000) / 4096, e!.bars[1]!.addr / 4096]);
  });
});
