// Capture: every frame crossing a bridge port lands in <port>.pcap (and <bridge>.pcap) in classic
// libpcap format with simulated-time timestamps; Debian's tshark reads and dissects them (ARP,
// ICMP echo request/reply, UDP). The frames come from in-process netif frontends driving a real
// host's rings. Without tshark the dissection test is SKIPPED with a visible reason.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NETTXF_csum_blank, XenbusState } from '@tachyxx/abi';
import { LINKTYPE_ETHERNET, PCAP_MAGIC_NS } from '@tachyxx/pv-net';
import { arpReply, arpRequest, guestDomain, icmpEcho, netHost, TsNetFrontend, udp } from './helpers.js';

const TSHARK = ['/usr/bin/tshark', '/usr/local/bin/tshark'].find((p) => existsSync(p));
if (!TSHARK) console.warn('pv-net pcap: tshark not found (Debian: DEBIAN_FRONTEND=noninteractive apt-get install -y tshark) - the tshark dissection test is SKIPPED');

const IP = (n: number) => [192, 168, 7, n];

/** Two domains on xenbr0 exchange ARP, a ping and a UDP datagram (csum_blank from a). */
function conversation(dir: string) {
  const h = netHost({ pcapDir: dir });
  const a = new TsNetFrontend(h, guestDomain(h, 'a')).add();
  const b = new TsNetFrontend(h, guestDomain(h, 'b')).add();
  a.connect();
  b.connect({ noCsum: true });
  expect([a.backendState(), b.backendState()]).toEqual([XenbusState.Connected, XenbusState.Connected]);
  a.postRx(16);
  b.postRx(16);
  const step = (f: TsNetFrontend, frame: Uint8Array, flags = 0) => {
    f.queuePacket(frame, { flags });
    f.publishTx(f.txProd);
    h.advance(1_000_000);
  };
  step(a, arpRequest(a.mac(), IP(1), IP(2)));
  step(b, arpReply(b.mac(), IP(2), a.mac(), IP(1)));
  step(a, icmpEcho(b.mac(), a.mac(), IP(1), IP(2), 8, 0x1234, 1));
  step(b, icmpEcho(a.mac(), b.mac(), IP(2), IP(1), 0, 0x1234, 1));
  step(a, udp(b.mac(), a.mac(), IP(1), IP(2), 40000, 7, new TextEncoder().encode('hello over netif')), NETTXF_csum_blank);
  expect(b.takeRx()).toHaveLength(3);
  expect(a.takeRx()).toHaveLength(2);
  return { h, a, b };
}

describe('pcap capture', () => {
  it('one file per port and per bridge, libpcap ns format, deterministic (simulated timestamps)', () => {
    const d1 = mkdtempSync(join(tmpdir(), 'pvnet-pcap-'));
    const d2 = mkdtempSync(join(tmpdir(), 'pvnet-pcap-'));
    const { a } = conversation(d1);
    conversation(d2);
    for (const f of [`${a.name}.pcap`, 'vif2.0.pcap', 'xenbr0.pcap']) {
      const x = readFileSync(join(d1, f));
      expect(x.equals(readFileSync(join(d2, f))), `${f} is the same on both runs`).toBe(true);
      expect(x.readUInt32LE(0)).toBe(PCAP_MAGIC_NS);
      expect([x.readUInt16LE(4), x.readUInt16LE(6), x.readUInt32LE(20)]).toEqual([2, 4, LINKTYPE_ETHERNET]);
    }
    // 5 frames entered the bridge; each port saw all 5 (its own in, the others out).
    const count = (f: string) => { const x = readFileSync(join(d1, f)); let n = 0; for (let o = 24; o < x.length; o += 16 + x.readUInt32LE(o + 8)) n++; return n; };
    expect([count('xenbr0.pcap'), count(`${a.name}.pcap`), count('vif2.0.pcap')]).toEqual([5, 5, 5]);
  });

  it('pcapOnly: only the named ports and bridges get files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvnet-pcap-'));
    const h = netHost({ pcapDir: dir, pcapOnly: ['vif2.0'] });
    const a = new TsNetFrontend(h, guestDomain(h, 'a')).add();
    const b = new TsNetFrontend(h, guestDomain(h, 'b')).add();
    a.connect();
    b.connect();
    b.postRx(4);
    a.send(arpRequest(a.mac(), IP(1), IP(2)));
    h.advance(1_000_000);
    expect(readdirSync(dir)).toEqual(['vif2.0.pcap']);
    expect(readFileSync(join(dir, 'vif2.0.pcap')).length).toBe(24 + 16 + 42);
  });

  it.skipIf(!TSHARK)('tshark dissects ARP, ICMP echo request/reply and UDP from a vif capture', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvnet-pcap-'));
    const { b } = conversation(dir);
    const r = spawnSync(TSHARK!, ['-r', join(dir, `${b.name}.pcap`), '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.time_epoch', '-e', 'frame.protocols', '-e', 'arp.opcode', '-e', 'icmp.type', '-e', 'udp.dstport', '-e', 'udp.checksum.status', '-o', 'udp.check_checksum:TRUE'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => l.split('|'));
    expect(rows.map((x) => x[1])).toEqual(['eth:ethertype:arp', 'eth:ethertype:arp', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:icmp:data', 'eth:ethertype:ip:udp:echo']);
    expect(rows.map((x) => x[2])).toEqual(['1', '2', '', '', '']);
    expect(rows.map((x) => x[3])).toEqual(['', '', '8', '0', '']);
    expect(rows[4]![4]).toBe('7');
    // b's port needs checksums: the csum_blank datagram was filled before it, and tshark agrees.
    expect(rows[4]![5]).toBe('1'); // PROTO_CHECKSUM_E_GOOD (0 bad, 2 unverified)
    // Simulated timestamps: the first frame well under a second into the run, 1 ms apart.
    const t = rows.map((x) => Number(x[0]));
    expect(t[0]!).toBeLessThan(1);
    expect(t[1]! - t[0]!).toBeCloseTo(0.001, 5);
  });
});
