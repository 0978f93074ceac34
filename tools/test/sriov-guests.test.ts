// Issue 14: real guests on the SR-IOV NIC, in process, as `tachyxx host --config
// examples/host-sriov.yaml` assembles the host (PCIe with the NIC, IOMMU, interrupt remapper,
// passthrough, pv-net, the PF driver with 8 VFs and its uplink on xenbr0).
//  - a VF domain (guests/ping-vf: guests/ping unchanged, over the C VF driver) and a PV-net domain
//    (guests/ping over netfront) ping each other across the PF uplink and the bridge;
//  - two VF domains exchange 2000 UDP datagrams with sequence checks (udpblast-vf), VEB: the
//    frames never leave the NIC;
//  - after the domain is destroyed the VF is reset (FLR): its rings are gone and a new domain
//    gets a clean VF that works.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sriovGuestsReady as ready, sriovHost } from './sriov-helpers.js';

describe.skipIf(!ready)('SR-IOV NIC with real guests', () => {
  it('a VF domain (ping over the VF driver) and a PV-net domain (ping over netfront) ping each other through the PF uplink', () => {
    const h = sriovHost();
    const vf = h.vfDomain('vf1', 'ping-vf', 'ip=10.0.0.1/24 peer=10.0.0.2 count=4', 1);
    const pv = h.vifDomain('pv', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=4');
    h.runAll([vf, pv]);
    const t = h.text(vf), u = h.text(pv);
    expect(t).toMatch(/ping: vf10\.0 02:5a:00:01:00:01 mtu 1500, 10\.0\.0\.1\/24 \(cmdline\), SR-IOV VF 0000:01:10\.0/);
    expect(t).toMatch(/4 packets transmitted, 4 received, 0% packet loss/);
    expect(u).toMatch(/4 packets transmitted, 4 received, 0% packet loss/);
    expect(vf.shutdownCode).toBe(0);
    expect(pv.shutdownCode).toBe(0);
    expect(h.drv.nic.stats.toUplink).toBeGreaterThan(0);
    expect(h.drv.nic.stats.fromUplink).toBeGreaterThan(0);
    expect(Object.values(h.a.host.stats.lookup('host.iommu.pciess0.faults')!.dump() as Record<string, number>).reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('two VF domains exchange 2000 UDP datagrams with sequence checks, switched inside the NIC (VEB)', () => {
    const h = sriovHost();
    const recv = h.vfDomain('recv', 'udpblast-vf', 'mode=recv ip=10.0.0.11/24 port=9000', 2);
    const send = h.vfDomain('send', 'udpblast-vf', 'mode=send ip=10.0.0.12/24 peer=10.0.0.11 port=9000 size=64 count=2000', 3);
    h.runAll([recv, send]);
    expect(h.text(recv)).toMatch(/udpblast: received 2000 of 2000, lost 0, duplicates 0, out of order 0, bad 0/);
    expect(recv.shutdownCode).toBe(0);
    expect(send.shutdownCode).toBe(0);
    expect(h.drv.nic.stats.switchedLocal).toBeGreaterThanOrEqual(2000);
  });

  it('after the VF domain is destroyed the VF is reset: rings gone, the PF re-arms it, a new domain gets a clean VF', () => {
    const h = sriovHost();
    const d1 = h.vfDomain('first', 'ping-vf', 'ip=10.0.0.1/24 peer=10.0.0.2 count=2 quiet=0', 1);
    const e1 = h.vfDomain('peer1', 'ping-vf', 'ip=10.0.0.2/24 peer=10.0.0.1 count=2 quiet=500', 2);
    h.runAll([d1, e1], 20e9);
    expect(h.text(d1)).toMatch(/2 packets transmitted, 2 received/);
    const vf = h.drv.nic.vfs[0]!;
    const port = h.drv.nic.ports[1]!;
    const oldRx = port.rdba;
    expect(oldRx).toBeGreaterThan(0);
    const flrs = vf.flrCount;
    h.host.destroyDomain(d1);
    h.host.destroyDomain(e1);
    h.host.queue.runUntil(h.host.clock.now); // the PF driver's interrupt (VF reset) runs in dom0
    expect(vf.flrCount).toBe(flrs + 1);
    expect([port.tdlen, port.rdlen, port.ctrl, port.tdba, port.rdba]).toEqual([0, 0, 0, 0, 0]);
    expect(vf.busMaster).toBe(false);
    expect(h.drv.stats.vfResets).toBeGreaterThanOrEqual(2);
    expect(h.drv.r32(0x4000 + 0x10) & 4).toBe(4); // VFCTRL.RSTD: the PF driver set VF 1 up again
    // A frame for VF 1 now reaches no ring (the old domain's RX ring is unreachable).
    const before = port.c.rxPkts;
    h.drv.nic.fromUplink(new Uint8Array([2, 0x5a, 0, 1, 0, 1, 2, 0, 0, 0, 0, 9, 0x88, 0xb5, ...new Array(46).fill(0)]));
    expect(port.c.rxPkts).toBe(before);
    expect(port.c.rxOff).toBeGreaterThan(0);
    const d2 = h.vfDomain('second', 'ping-vf', 'ip=10.0.0.1/24 peer=10.0.0.2 count=2 quiet=0', 1);
    const e2 = h.vfDomain('peer2', 'ping-vf', 'ip=10.0.0.2/24 peer=10.0.0.1 count=2 quiet=500', 2);
    h.runAll([d2, e2], 20e9);
    expect(h.text(d2)).toMatch(/2 packets transmitted, 2 received/);
    expect(d2.shutdownCode).toBe(0);
    expect(port.rdba).not.toBe(0);
  });

  it('VEPA: VF-to-VF traffic hairpins through the bridge port of the PF uplink, which pcap captures like a vif port', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sriov-pcap-'));
    const h = sriovHost({ topology: 'sriov-nic(vfs=4, switch=vepa)', pcapDir: dir });
    const recv = h.vfDomain('recv', 'udpblast-vf', 'mode=recv ip=10.0.0.11/24 port=9000', 1);
    const send = h.vfDomain('send', 'udpblast-vf', 'mode=send ip=10.0.0.12/24 peer=10.0.0.11 port=9000 size=64 count=500', 2);
    h.runAll([recv, send]);
    expect(h.text(recv)).toMatch(/udpblast: received 500 of 500, lost 0, duplicates 0, out of order 0, bad 0/);
    expect(h.drv.nic.stats.switchedLocal).toBe(0);
    expect(h.drv.nic.stats.toUplink).toBeGreaterThanOrEqual(500);
    expect(h.stat('host.pv-net.port.sriov01-00-0.framesIn')).toBeGreaterThanOrEqual(500);
    expect(h.stat('host.sriov-nic.pf0.toUplink')).toBe(h.drv.nic.stats.toUplink);
    const pcap = join(dir, 'sriov01.00.0.pcap');
    expect(existsSync(pcap)).toBe(true);
    const b = readFileSync(pcap);
    expect(b.readUInt32LE(0)).toBe(0xa1b23c4d); // nanosecond pcap, as the vif ports
    let n = 0;
    for (let off = 24; off + 16 <= b.length; off += 16 + b.readUInt32LE(off + 8)) n++;
    expect(n).toBeGreaterThanOrEqual(2 * 500); // each datagram in (from the NIC) and out (the hairpin)
  });
});
