// Hostile VF drivers (issue 14): a domain holding a VF of the SR-IOV NIC programs it to attack —
// the test drives the VF's registers as the attacker's driver would (BARs, its own rings in its
// own memory, its MSI-X table: all reachable by the domain after pci = [...]) — while two victim
// VF domains run udpblast (2000 datagrams with sequence checks) and a bystander domain sits
// paused. Checked: every attack is refused and counted (IOMMU faults, blocked MSIs, dropped
// mailbox requests); the victims finish with nothing lost, the bystander's memory is unchanged,
// the PF driver goes on (a new VF domain completes its mailbox handshake).
import { describe, expect, it } from 'vitest';
import { GUEST_RAM_BASE } from '@tachyxx/abi';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { PCI_COMMAND, PCI_COMMAND_MASTER, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE } from '@tachyxx/pcie';
import { CTRL_RXEN, CTRL_TXEN, DESC_SIZE, ICR_MBX, ICR_RXDW, ICR_TXDW, REG, STA_DD, STA_ERR, TX_CMD_EOP, TX_CMD_RS, VFMB_REQ, macOf } from '@tachyxx/sriov-nic';
import { image, sriovGuestsReady, sriovHost } from '../test/sriov-helpers.js';

const PAGE = 4096;
type H = ReturnType<typeof sriovHost>;
const maOf = (d: Domain<Vcpu>, gpa: number) => d.p2m!.lookup(Math.floor(gpa / PAGE)) * PAGE + (gpa % PAGE);

/** Victims: a udpblast pair on VF 2 and VF 3; a paused bystander; the attacker on VF 1. */
function scene(h: H) {
  const recv = h.vfDomain('recv', 'udpblast-vf', 'mode=recv ip=10.0.0.11/24 port=9000', 2);
  const send = h.vfDomain('send', 'udpblast-vf', 'mode=send ip=10.0.0.12/24 peer=10.0.0.11 port=9000 size=64 count=2000', 3);
  const bystander = h.host.createDomain({ name: 'bystander', image: image('hello'), memoryMiB: 4, paused: true });
  const attacker = h.vfDomain('attacker', 'hello', '', 1);
  const vf = h.drv.nic.vfs[0]!;
  const bars = vf.decodedBars();
  const bar0 = bars.find((b) => b.bar === 0)!.addr, bar3 = bars.find((b) => b.bar === 3)!.addr;
  const bus = h.pt.pcie.bus;
  const r32 = (off: number) => { bus.read(bar0 + off, 4); return bus.value.lo >>> 0; };
  const w32 = (off: number, v: number) => { bus.write(bar0 + off, 4, v | 0, 0); };
  // The attacker's driver: bus master (the filtered config space allows it), rings in its own memory.
  vf.configWrite(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
  const txRing = GUEST_RAM_BASE + 0x40_0000, rxRing = txRing + PAGE;
  const desc = (ring: number, i: number, addr: number, len: number, cmd: number) => {
    const b = new Uint8Array(DESC_SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(0, addr % 2 ** 32, true); v.setUint32(4, Math.floor(addr / 2 ** 32), true); v.setUint16(8, len, true); b[10] = cmd;
    expect(attacker.access.write(ring + i * DESC_SIZE, b)).toBeGreaterThanOrEqual(0);
  };
  const sta = (ring: number, i: number) => { const b = new Uint8Array(1); attacker.access.read(ring + i * DESC_SIZE + 12, b); return b[0]!; };
  w32(REG.TDBAL, txRing); w32(REG.TDBAH, 0); w32(REG.TDLEN, 32);
  w32(REG.RDBAL, rxRing); w32(REG.RDBAH, 0); w32(REG.RDLEN, 32);
  w32(REG.IMS, ICR_TXDW | ICR_RXDW | ICR_MBX);
  const snap = () => h.host.machine.mem.readBytes(maOf(bystander, GUEST_RAM_BASE), 16 * PAGE);
  return { recv, send, bystander, attacker, vf, bar3, r32, w32, desc, sta, txRing, rxRing, snap, bus };
}

function victimsFinished(h: H, s: ReturnType<typeof scene>) {
  h.runAll([s.recv, s.send], 30e9);
  expect(h.text(s.recv)).toMatch(/udpblast: received 2000 of 2000, lost 0, duplicates 0, out of order 0, bad 0/);
  expect(s.recv.shutdownCode).toBe(0);
  expect(s.send.shutdownCode).toBe(0);
}

const faults = (h: H) => Object.values(h.a.host.stats.lookup('host.iommu.pciess0.faults')!.dump() as Record<string, number>).reduce((x, y) => x + y, 0);

describe.skipIf(!sriovGuestsReady)('hostile VF drivers on the SR-IOV NIC', () => {
  it('descriptors pointing outside the domain: IOMMU faults, counted, no byte written; the victims lose nothing', () => {
    const h = sriovHost();
    const s = scene(h);
    const before = s.snap();
    // Targets: the bystander's machine addresses used as device addresses, a GPA past the
    // attacker's RAM, the ECAM window, address 0.
    const targets = [maOf(s.bystander, GUEST_RAM_BASE), maOf(s.bystander, GUEST_RAM_BASE + 5 * PAGE), GUEST_RAM_BASE + 0x4000_0000, 0x4_0000_0000, 0];
    h.host.unpauseDomain(s.recv); h.host.unpauseDomain(s.send);
    h.host.run({ untilNs: h.host.clock.now + 1_000_000 });
    const f0 = faults(h);
    // TX: frames "from" memory the attacker does not own.
    targets.forEach((t, i) => s.desc(s.txRing, i, t, 64, TX_CMD_EOP | TX_CMD_RS));
    s.w32(REG.CTRL, CTRL_TXEN | CTRL_RXEN);
    s.w32(REG.TDT, targets.length);
    // RX: buffers in memory the attacker does not own, then frames for it from the uplink.
    targets.forEach((t, i) => s.desc(s.rxRing, i, t, 0, 0));
    s.w32(REG.RDT, targets.length);
    h.host.run({ untilNs: h.host.clock.now + 1_000_000 });
    const mac = h.drv.macs[1]!; // the attacker VF's MAC, set by the PF driver
    for (let i = 0; i < targets.length; i++) {
      const f = new Uint8Array(60);
      for (let b = 0; b < 6; b++) f[b] = Math.floor(mac / 2 ** (8 * (5 - b))) % 256;
      f.set([2, 0, 0, 0, 0, 0x42], 6); f[12] = 0x88; f[13] = 0xb5; f.fill(0xee, 14);
      expect(macOf(f, 0)).toBe(mac);
      h.drv.nic.fromUplink(f);
    }
    h.host.run({ untilNs: h.host.clock.now + 1_000_000 });
    for (let i = 0; i < targets.length; i++) {
      expect(s.sta(s.txRing, i) & (STA_DD | STA_ERR)).toBe(STA_DD | STA_ERR);
      expect(s.sta(s.rxRing, i) & (STA_DD | STA_ERR)).toBe(STA_DD | STA_ERR);
    }
    expect(s.r32(REG.DMAERR)).toBe(2 * targets.length);
    expect(s.r32(REG.TXPKTS)).toBe(0);
    expect(s.r32(REG.RXPKTS)).toBe(0);
    expect(faults(h) - f0).toBeGreaterThanOrEqual(2 * targets.length - 1); // address 0 and the ECAM window may fault as "no RAM" (a master abort) instead
    // A ring base outside the domain: the queue stops itself.
    s.w32(REG.CTRL, 0); s.w32(REG.TDBAL, maOf(s.bystander, GUEST_RAM_BASE)); s.w32(REG.CTRL, CTRL_TXEN); s.w32(REG.TDT, 1);
    h.host.run({ untilNs: h.host.clock.now + 1_000_000 });
    expect(s.r32(REG.STATUS) & 4).toBe(4);
    expect(s.snap()).toEqual(before);
    victimsFinished(h, s);
    expect(s.snap()).toEqual(before);
    expect(h.stat('host.passthrough.devices.iommuFaults')).toBeGreaterThan(0);
  });

  it('an MSI-X table aimed at another VF interrupt (or nowhere): blocked by the remapper and counted; victims unaffected', () => {
    const h = sriovHost();
    const s = scene(h);
    h.host.unpauseDomain(s.recv); h.host.unpauseDomain(s.send);
    // Copy the receiver's RX vector message (its IRTE handle) into the attacker's three entries,
    // as soon as the receiver has mapped its MSI-X (the victims are still mid-run afterwards).
    const victimVf = h.drv.nic.vfs[1]!;
    for (let i = 0; i < 10_000 && !(victimVf.msix!.enabled && h.drv.nic.ports[2]!.rxEnabled); i++) h.host.run({ untilNs: h.host.clock.now + 20_000 });
    expect(h.drv.nic.ports[2]!.rxEnabled).toBe(true);
    const vbar3 = victimVf.decodedBars().find((b) => b.bar === 3)!.addr;
    const rd = (a: number) => { s.bus.read(a, 4); return s.bus.value.lo >>> 0; };
    const vaddr = rd(vbar3 + 16), vdata = rd(vbar3 + 16 + 8);
    expect(vaddr >>> 20).toBe(0xfee);
    for (let e = 0; e < 3; e++) {
      s.bus.write(s.bar3 + 16 * e, 4, e === 2 ? 0xfee0_0010 | (0x7fff << 5) : vaddr, 0); // entry 2: a handle nobody has
      s.bus.write(s.bar3 + 16 * e + 4, 4, 0, 0);
      s.bus.write(s.bar3 + 16 * e + 8, 4, vdata, 0);
      s.bus.write(s.bar3 + 16 * e + 12, 4, 0, 0);
    }
    s.vf.configWrite(s.vf.msix!.cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
    const wrong0 = h.stat('host.irq-remap.pciess0.wrongDevice'), unmapped0 = h.stat('host.irq-remap.pciess0.unmapped');
    // Make the attacker's VF raise TX (vector 0) and mailbox (vector 2) interrupts, many times.
    for (let i = 0; i < 50; i++) {
      s.desc(s.txRing, i % 32, GUEST_RAM_BASE + 0x50_0000, 60, TX_CMD_EOP | TX_CMD_RS);
      s.w32(REG.CTRL, CTRL_TXEN); s.w32(REG.TDT, (i + 1) % 32);
      h.host.run({ untilNs: h.host.clock.now + 50_000 });
      s.w32(REG.ICR, 0xffffffff);
      s.w32(REG.VFMBMEM, 0x77); s.w32(REG.VFMAILBOX, VFMB_REQ);
      h.host.run({ untilNs: h.host.clock.now + 50_000 });
      s.w32(REG.ICR, 0xffffffff);
    }
    expect(h.stat('host.irq-remap.pciess0.wrongDevice') - wrong0).toBeGreaterThanOrEqual(50);
    expect(h.stat('host.irq-remap.pciess0.unmapped') - unmapped0).toBeGreaterThanOrEqual(1);
    expect(s.recv.shutdownCode).toBeNull(); // the attack ran while the victims did
    victimsFinished(h, s);
  });

  it('mailbox flood: requests beyond one pending are dropped by the device, the PF answers at most its rate; the victims still get their MAC', () => {
    const h = sriovHost();
    const s = scene(h);
    const answered0 = h.drv.stats.mbxAnswered;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 100; i++) { s.w32(REG.VFMBMEM, 0x10); s.w32(REG.VFMAILBOX, VFMB_REQ); }
      h.host.queue.runUntil(h.host.clock.now); // dom0's PF driver takes what reached it
    }
    expect(h.drv.nic.stats.mbxDrops).toBeGreaterThanOrEqual(40 * 99);
    expect(s.r32(REG.MBXDROP)).toBeGreaterThanOrEqual(40 * 99);
    // Paced requests (one at a time, each taken): the PF driver stops answering after MBX_RATE_PER_S.
    for (let i = 0; i < 1100; i++) { s.w32(REG.VFMAILBOX, VFMB_REQ); h.host.queue.runUntil(h.host.clock.now); }
    expect(h.drv.stats.mbxRateLimited).toBeGreaterThan(0);
    expect(h.drv.stats.mbxAnswered - answered0).toBeLessThanOrEqual(1000);
    // The victims open their VFs now: their VF_RESET is answered (per-VF limits), the UDP run is clean.
    victimsFinished(h, s);
    expect(h.text(s.recv)).toMatch(/udpblast: vf10\.2 02:5a:00:01:00:02/);
  });
});
