// The NIC's data path through a TypeScript VF driver: rings by DMA, MSI-X, the VEB/VEPA switch,
// MAC/VLAN filters set by the PF, the mailbox, the rate limit, DMA faults and VF reset.
import { describe, expect, it } from 'vitest';
import type { IoTranslator } from '@tachyxx/core';
import { PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR } from '@tachyxx/pcie';
import {
  MBX_MSGTYPE_ACK, MBX_MSGTYPE_CTS, MBX_MSGTYPE_NACK, MBX_PF_CONTROL_MSG, MBX_VF_GET_LINK, MBX_VF_RESET, MBX_VF_SET_MAC_ADDR, MBX_VF_SET_VLAN,
  REG, STA_DD, STA_ERR, STATUS_LU, STATUS_RSTD, STATUS_TXERR, VEC_MBX, VEC_RX, VEC_TX, VFMB_REQ, macToRah, macToRal, MBX_RATE_PER_S,
} from '../src/index.js';
import { BROADCAST, frame, msiData, RAM_BASE, rig, TsVf, type Rig } from './harness.js';

const AREA = (k: number) => RAM_BASE + 0x10_0000 * k;

function twoVfs(topology = 'sriov-nic', uplink?: (r: Rig) => void) {
  const r = rig(topology, { numvfs: 4 });
  uplink?.(r);
  const a = new TsVf(r, 1, AREA(1)).up(), b = new TsVf(r, 2, AREA(2)).up();
  return { r, a, b };
}

describe('sriov-nic data path', () => {
  it('VEB: a unicast frame from VF1 to VF2 is DMAed out of VF1 ring and into VF2 ring; TX done and RX MSI-X vectors fire', () => {
    const { r, a, b } = twoVfs();
    const f = frame(b.mac, a.mac, 7, 100);
    a.send(f);
    r.timer.run();
    expect(a.txDone(0) & (STA_DD | STA_ERR)).toBe(STA_DD);
    const got = b.poll();
    expect(got).toHaveLength(1);
    expect([...got[0]!]).toEqual([...f]);
    const msis = r.remapper.log.map((m) => ({ rid: m.rid, data: m.data }));
    expect(msis).toContainEqual({ rid: a.vf.rid, data: msiData(1, VEC_TX) });
    expect(msis).toContainEqual({ rid: b.vf.rid, data: msiData(2, VEC_RX) });
    expect(r.nic.stats.switchedLocal).toBe(1);
    expect(r.nic.stats.uplinkDown + r.nic.stats.toUplink).toBe(0);
    expect(a.r32(REG.TXPKTS)).toBe(1);
    expect(b.r32(REG.RXPKTS)).toBe(1);
  });

  it('an interrupt cause already pending does not send its vector again until the driver clears it (ICR)', () => {
    const { r, a, b } = twoVfs();
    for (let i = 0; i < 5; i++) a.send(frame(b.mac, a.mac, i));
    r.timer.run();
    const rx = r.remapper.log.filter((m) => m.rid === b.vf.rid && m.data === msiData(2, VEC_RX));
    expect(rx).toHaveLength(1);
    expect(b.poll()).toHaveLength(5);
    b.w32(REG.ICR, 0xffffffff);
    a.send(frame(b.mac, a.mac, 9));
    r.timer.run();
    expect(r.remapper.log.filter((m) => m.rid === b.vf.rid && m.data === msiData(2, VEC_RX))).toHaveLength(2);
  });

  it('broadcast reaches every other VF and the uplink, not the sender', () => {
    const out: Uint8Array[] = [];
    const { r, a, b } = twoVfs('sriov-nic', (r) => { r.nic.uplink = (f) => out.push(f); });
    const c = new TsVf(r, 3, AREA(3)).up();
    a.send(frame(BROADCAST, a.mac, 1));
    r.timer.run();
    expect(b.poll()).toHaveLength(1);
    expect(c.poll()).toHaveLength(1);
    expect(a.poll()).toHaveLength(0);
    expect(out).toHaveLength(1);
  });

  it('anti-spoofing: a source MAC that is not the VF own is dropped and counted', () => {
    const { r, a, b } = twoVfs();
    a.send(frame(b.mac, 0x02_00_00_00_00_99, 1));
    r.timer.run();
    expect(b.poll()).toHaveLength(0);
    expect(a.r32(REG.TXDROP)).toBe(1);
    expect(r.nic.stats.spoofed).toBe(1);
  });

  it('port VLAN: the PF puts VF1 and VF3 on VLAN 10; VF1 reaches VF3 (tag stripped), not VF2; the uplink sees the tag', () => {
    const out: Uint8Array[] = [];
    const { r, a, b } = twoVfs('sriov-nic', (r) => { r.nic.uplink = (f) => out.push(f); });
    const c = new TsVf(r, 3, AREA(3)).up();
    expect(r.pf.setVfVlan(1, 10)).toBe(0);
    expect(r.pf.setVfVlan(3, 10)).toBe(0);
    expect(a.r32(REG.VLAN)).toBe(10);
    a.send(frame(BROADCAST, a.mac, 1));
    r.timer.run();
    expect(b.poll()).toHaveLength(0);
    const got = c.poll();
    expect(got).toHaveLength(1);
    expect(got[0]![12]).toBe(0x88); // untagged on delivery
    expect(out).toHaveLength(1);
    expect([out[0]![12], out[0]![13], out[0]![15]]).toEqual([0x81, 0x00, 10]);
    // A port-VLAN VF may not send its own tag.
    const tagged = frame(BROADCAST, a.mac, 2);
    const t = new Uint8Array(tagged.length + 4); t.set(tagged.subarray(0, 12)); t.set([0x81, 0, 0, 20], 12); t.set(tagged.subarray(12), 16);
    a.send(t);
    r.timer.run();
    expect(r.nic.stats.vlanRefused).toBe(1);
  });

  it('VF registers for MAC and VLAN are read-only to the VF', () => {
    const { a } = twoVfs();
    const mac = a.mac;
    a.w32(REG.RAL, 0x11223344); a.w32(REG.VLAN, 5);
    expect(a.mac).toBe(mac);
    expect(a.r32(REG.VLAN)).toBe(0);
  });

  it('mailbox: RESET gets ACK|CTS with the MAC; SET_MAC is NACKed when the admin set the MAC, else applied; SET_VLAN; GET_LINK', () => {
    const { r, a } = twoVfs();
    const reset = a.ask([MBX_VF_RESET]);
    expect(reset[0]).toBe((MBX_VF_RESET | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS) >>> 0);
    expect([reset[1], reset[2]]).toEqual([macToRal(a.mac), macToRah(a.mac)]);
    const want = 0x02_11_22_33_44_55;
    expect(a.ask([MBX_VF_SET_MAC_ADDR, macToRal(want), macToRah(want)])[0]).toBe((MBX_VF_SET_MAC_ADDR | MBX_MSGTYPE_ACK | MBX_MSGTYPE_CTS) >>> 0);
    expect(a.mac).toBe(want);
    expect(r.pf.setVfMac(1, 0x02_aa_aa_aa_aa_01)).toBe(0);
    expect(a.ask([MBX_VF_SET_MAC_ADDR, macToRal(want), macToRah(want)])[0]).toBe((MBX_VF_SET_MAC_ADDR | MBX_MSGTYPE_NACK | MBX_MSGTYPE_CTS) >>> 0);
    expect(a.mac).toBe(0x02_aa_aa_aa_aa_01);
    expect(a.ask([MBX_VF_SET_MAC_ADDR, macToRal(BROADCAST), macToRah(BROADCAST)])[0]! & MBX_MSGTYPE_NACK).not.toBe(0);
    expect(a.ask([MBX_VF_SET_VLAN, 42])[0]! & MBX_MSGTYPE_ACK).not.toBe(0);
    expect(a.r32(REG.VLAN)).toBe(42);
    expect(a.ask([0x77])[0]! & MBX_MSGTYPE_NACK).not.toBe(0); // unknown message
    // No uplink: VEB keeps VF links up between VFs.
    expect(a.ask([MBX_VF_GET_LINK])[1]).toBe(0); // the PF's own link (uplink) is down
    expect(a.r32(REG.STATUS) & STATUS_LU).toBe(STATUS_LU);
    expect(r.remapper.log.some((m) => m.rid === a.vf.rid && m.data === msiData(1, VEC_MBX))).toBe(true);
    expect(r.pf.stats.mbxAnswered).toBeGreaterThanOrEqual(4);
  });

  it('link: the PF disables VF1 link: STATUS.LU drops and the VF gets a PF control message', () => {
    const { r, a } = twoVfs();
    expect(r.pf.setVfLink(1, false)).toBe(0);
    r.timer.run();
    expect(a.r32(REG.STATUS) & STATUS_LU).toBe(0);
    expect(a.r32(REG.VFMBMEM)).toBe(MBX_PF_CONTROL_MSG);
    expect(a.r32(REG.VFMBMEM + 4)).toBe(0);
  });

  it('mailbox flood: requests while one is pending are dropped by the device; the PF driver answers at most MBX_RATE_PER_S per second', () => {
    const { r, a, b } = twoVfs();
    for (let i = 0; i < 100; i++) { a.w32(REG.VFMBMEM, MBX_VF_GET_LINK); a.w32(REG.VFMAILBOX, VFMB_REQ); }
    expect(a.r32(REG.MBXDROP)).toBe(99);
    r.timer.run();
    // Now paced one at a time (each taken by the PF): the PF stops answering after its budget.
    for (let i = 0; i < MBX_RATE_PER_S + 50; i++) { a.w32(REG.VFMAILBOX, VFMB_REQ); r.timer.run(10); }
    expect(r.pf.stats.mbxRateLimited).toBeGreaterThanOrEqual(50);
    // VF2's mailbox and data path are unaffected.
    expect(b.ask([MBX_VF_RESET]).length).toBeGreaterThan(0);
  });

  it('rate limit: 100 Mbit/s on VF1 spaces 10 x 1000-byte frames at least (1000+24)*8*10 ns apart', () => {
    const { r, a, b } = twoVfs();
    expect(r.pf.setVfRate(1, 100)).toBe(0);
    expect(a.r32(REG.TXRATE)).toBe(100);
    const t0 = r.timer.now();
    for (let i = 0; i < 10; i++) a.send(frame(b.mac, a.mac, i, 986));
    r.timer.run();
    expect(b.poll()).toHaveLength(10);
    expect(r.timer.now() - t0).toBeGreaterThanOrEqual(9 * 1024 * 8 * 10);
    // Without the limit the same burst takes a few microseconds.
    expect(r.pf.setVfRate(1, 0)).toBe(0);
    r.timer.run(1e6); // the last limited frame's wire time passes
    const t1 = r.timer.now();
    for (let i = 0; i < 10; i++) a.send(frame(b.mac, a.mac, i, 986));
    r.timer.run();
    expect(r.timer.now() - t1).toBeLessThan(20_000);
  });

  it('VEPA: VF1 -> VF2 goes out of the uplink and comes back by the hairpin; a broadcast is not reflected to its source', () => {
    const out: Uint8Array[] = [];
    const { r, a, b } = twoVfs('sriov-nic(switch=vepa)', (r) => { r.nic.uplink = (f) => { out.push(f); r.timer.after(500, () => r.nic.fromUplink(f)); }; });
    a.send(frame(b.mac, a.mac, 1));
    r.timer.run();
    expect(out).toHaveLength(1);
    expect(b.poll()).toHaveLength(1);
    expect(r.nic.stats.switchedLocal).toBe(0);
    a.send(frame(BROADCAST, a.mac, 2));
    r.timer.run();
    expect(b.poll()).toHaveLength(1);
    expect(a.poll()).toHaveLength(0);
  });

  it('no RX descriptor: the frame is dropped and counted (RXDROP)', () => {
    const { r, a, b } = twoVfs();
    for (let i = 0; i < 20; i++) a.send(frame(b.mac, a.mac, i));
    r.timer.run();
    for (let i = 20; i < 40; i++) a.send(frame(b.mac, a.mac, i));
    r.timer.run();
    expect(b.poll()).toHaveLength(31); // 32-entry ring, one slot kept empty
    expect(b.r32(REG.RXDROP)).toBe(9);
    expect(a.r32(REG.TXPKTS)).toBe(40);
  });
});

/** An IOMMU stand-in: each requester may reach one window of RAM (its domain), anything else faults. */
class WindowTranslator implements IoTranslator {
  readonly windows = new Map<number, [number, number]>();
  faults: { rid: number; iova: number }[] = [];
  translate(rid: number, iova: number, _access: number, cost: { cycles: number }): number {
    cost.cycles = 2;
    const w = this.windows.get(rid);
    if (w === undefined || iova < w[0] || iova >= w[1]) { this.faults.push({ rid, iova }); return -1; }
    return iova;
  }
}

describe('sriov-nic DMA through the IOMMU, and VF reset', () => {
  it('a TX buffer outside the VF domain faults: DD|ERR, DMAERR counted, nothing sent; an RX buffer outside: nothing written', () => {
    const t = new WindowTranslator();
    const r = rig('sriov-nic', { translator: t, numvfs: 2 });
    const rid1 = r.nic.vfs[0]!.rid, rid2 = r.nic.vfs[1]!.rid;
    t.windows.set(rid1, [AREA(1), AREA(1) + 0x10_0000]);
    t.windows.set(rid2, [AREA(2), AREA(2) + 0x10_0000]);
    const a = new TsVf(r, 1, AREA(1)).up(), b = new TsVf(r, 2, AREA(2)).up();
    const victim = AREA(2) + 0x8_0000;
    r.mem.u8.fill(0x5a, victim - RAM_BASE, victim - RAM_BASE + 64);
    // VF1 transmits from VF2's memory (a buffer address it does not own).
    a.send(frame(b.mac, a.mac, 1), victim);
    r.timer.run();
    expect(a.txDone(0) & (STA_DD | STA_ERR)).toBe(STA_DD | STA_ERR);
    expect(a.r32(REG.DMAERR)).toBe(1);
    expect(b.poll()).toHaveLength(0);
    expect(t.faults.some((f) => f.rid === rid1 && f.iova === victim)).toBe(true);
    // VF1 posts an RX buffer in VF2's memory; a frame for VF1 arrives: the write faults, no byte lands.
    a.writeDesc(a.rxRing, 0, victim, 0, 0);
    b.send(frame(a.mac, b.mac, 2));
    r.timer.run();
    expect(a.r32(REG.DMAERR)).toBe(2);
    expect([...r.mem.u8.subarray(victim - RAM_BASE, victim - RAM_BASE + 64)].every((x) => x === 0x5a)).toBe(true);
    // A ring base outside: the queue stops (TXERR), VF2 goes on.
    a.w32(REG.CTRL, 0); a.w32(REG.TDBAL, victim); a.w32(REG.TDLEN, 32); a.w32(REG.CTRL, 6); a.w32(REG.TDT, 1);
    r.timer.run();
    expect(a.r32(REG.STATUS) & STATUS_TXERR).toBe(STATUS_TXERR);
    b.send(frame(BROADCAST, b.mac, 3));
    r.timer.run();
    expect(b.r32(REG.TXPKTS)).toBe(2);
  });

  it('VF FLR: rings and interrupts cleared, the PF driver restores MAC/VLAN (VFLRE), a frame for the VF touches no old buffer', () => {
    const r = rig('sriov-nic', { numvfs: 2 });
    const a = new TsVf(r, 1, AREA(1)).up(), b = new TsVf(r, 2, AREA(2)).up();
    expect(r.pf.setVfVlan(1, 0)).toBe(0);
    const mac = a.mac;
    const rxBuf0 = a.rxBufs - RAM_BASE;
    r.mem.u8.fill(0xee, rxBuf0, rxBuf0 + 128);
    const vf = a.vf;
    r.ecam.write(0, vf.rid >> 8, vf.rid & 0xff, vf.pcieCap + PCI_EXP_DEVCTL, 2, PCI_EXP_DEVCTL_BCR_FLR);
    expect(a.r32(REG.RDLEN)).toBe(0);
    expect(a.r32(REG.TDLEN)).toBe(0);
    expect(a.r32(REG.STATUS) & STATUS_RSTD).toBe(0);
    r.timer.run();
    expect(r.pf.stats.vfResets).toBe(1);
    expect(a.r32(REG.STATUS) & STATUS_RSTD).toBe(STATUS_RSTD);
    expect(a.mac).toBe(mac);
    b.send(frame(mac, b.mac, 1));
    r.timer.run();
    expect([...r.mem.u8.subarray(rxBuf0, rxBuf0 + 128)].every((x) => x === 0xee)).toBe(true);
    expect(r.nic.ports[1]!.c.rxOff).toBe(1);
  });
});
