// pv-net (issue 12 §5): hostile netif frontends against dom0's netback, next to a victim pair on
// the same bridge. Each attack ends with the attacker's vif disabled or its packets dropped with a
// counted reason; the victims keep exchanging frames and the host keeps answering (xenstore, a
// hypercall from another domain, simulated time moving).
import { describe, it, expect } from 'vitest';
import { NETIF_RSP_ERROR, NETIF_RSP_OKAY, XenbusState } from '@tachyxx/abi';
import {
  arpRequest, guestDomain, TX_REF0, TsNetFrontend, udp,
} from '../../packages/pv-net/test/helpers.js';
import { attackerAndVictims, IP, victimsFine } from './pvnet-helpers.js';

const setup = attackerAndVictims;

describe('hostile netif frontends vs netback', () => {
  it('wild req_prod (past the ring; going backwards): the vif is disabled, as "Impossible number of requests"', () => {
    for (const wild of [0x1000, 0xffff_fff0]) {
      const { h, x, a, b } = setup();
      x.publishTx(wild);
      expect(x.backendState()).toBe(XenbusState.Closing);
      expect(h.log.join('\n')).toMatch(/TX ring: .*; fatal error; disabling device/);
      expect(h.dom0xs.tryRead(`/local/domain/0/error/backend/vif/${x.d.domid}/0/error`)).toMatch(/^5 /);
      victimsFine(h, a, b, 1);
    }
  });

  it('wild RX req_prod: the vif is disabled when netback next looks at the RX ring', () => {
    const { h, x, a, b } = setup({ split: true });
    x.rxProd = 0x9000;
    x.postRx(1);
    expect(x.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/RX ring: /);
    victimsFine(h, a, b, 1);
  });

  it('bad grant refs and a grant of someone else\'s page: dropped (dropTxGrant), the other page never leaves', () => {
    const { h, x, a, b } = setup();
    // A third domain grants dom0 a page holding a secret; the attacker names that ref in its own requests.
    const c = guestDomain(h, 'bystander');
    const secret = new TextEncoder().encode('SECRET-PAGE-OF-C');
    c.access.write(0x8040_0000, secret);
    expect(h.gnt.grantForeignAccess(c.domid, 300, 0, 0x8040_0000 / 4096)).toBe(0);
    // ...and a ref of its own table granted to another domain (b), not to dom0.
    expect(h.gnt.grantForeignAccess(x.d.domid, 301, b.d.domid, 0x8032_0000 / 4096)).toBe(0);
    for (const [i, gref] of [300, 301, 9999, 0xffff_ffff].entries()) x.putTx(i, { gref, offset: 0, flags: 0, id: i, size: 60 });
    x.txProd = 4;
    x.publishTx(4);
    expect(x.takeTx()).toEqual([0, 1, 2, 3].map((id) => ({ id, status: NETIF_RSP_ERROR })));
    const s = h.net.vif(x.d.domid, 0)!.stats;
    expect(s.dropTxGrant.value).toBe(4);
    expect(s.txPackets.value).toBe(0);
    h.advance(1_000_000);
    expect(h.bridges.get('xenbr0')!.stats.frames.value).toBe(0);
    expect(x.backendState()).toBe(XenbusState.Connected); // not malicious by Linux's rules: dropped, not fatal
    victimsFine(h, a, b, 1);
  });

  it('RX buffers with bad grant refs: NETIF_RSP_ERROR in those slots (dropRxGrant); the vif stays up', () => {
    const { h, x, a, b } = setup({}, {});
    // The attacker posts buffers whose grefs it never granted (refs beyond its RX pages).
    for (let i = 0; i < 4; i++) {
      const v = new DataView(new ArrayBuffer(8));
      v.setUint16(0, i, true);
      v.setUint32(4, 5000 + i, true);
      x.d.access.write(0x8030_1000 + 64 + i * 8, new Uint8Array(v.buffer));
    }
    x.d.access.writeU32(0x8030_1000, 4);
    x.kick(x.rxPort);
    a.send(arpRequest(a.mac(), IP(1), IP(9)));
    h.advance(1_000_000);
    const s = h.net.vif(x.d.domid, 0)!.stats;
    expect(s.dropRxGrant.value).toBe(1);
    expect(x.backendState()).toBe(XenbusState.Connected);
    victimsFine(h, a, b, 2);
  });

  it('zero-length and 64 KiB packets: a 0-byte packet is dropped (dropTxRunt); 65535 bytes in 16 slots cross a 64 KiB-MTU bridge intact, and are dropped (dropMtu) at a 1500 port', () => {
    const { h, x, a, b } = setup({}, { mtu: 65535 });
    const big = new TsNetFrontend(h, guestDomain(h, 'bigrx')).add({ mtu: 65535 });
    big.connect();
    big.postRx(32);
    x.putTx(0, { gref: TX_REF0, offset: 0, flags: 0, id: 1, size: 0 });
    x.txProd = 1;
    x.publishTx(1);
    expect(x.takeTx()).toEqual([{ id: 1, status: NETIF_RSP_ERROR }]);
    expect(h.net.vif(x.d.domid, 0)!.stats.dropTxRunt.value).toBe(1);
    const payload = Uint8Array.from({ length: 65535 - 42 }, (_, i) => (i * 13) & 0xff);
    const frame = udp(big.mac(), x.mac(), IP(5), IP(6), 9, 9, payload);
    // udp() sized the IPv4 length field from a 16-bit total; the frame is 65535 bytes.
    expect(frame.length).toBe(65535);
    expect(x.queuePacket(frame)).toBe(16);
    x.publishTx(x.txProd);
    expect(x.takeTx().every((r) => r.status === NETIF_RSP_OKAY)).toBe(true);
    h.advance(10_000_000);
    const [p] = big.takeRx();
    expect(p!.statuses.length).toBe(16);
    expect(Buffer.from(p!.data).equals(Buffer.from(frame))).toBe(true);
    // Flooded to a and b too (unknown destination before learning): their 1500 MTU drops it.
    x.send(udp(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), x.mac(), IP(5), IP(255), 9, 9, payload));
    h.advance(10_000_000);
    const br = h.bridges.get('xenbr0')!;
    expect(br.port(a.name)!.stats.dropMtu.value).toBeGreaterThan(0);
    victimsFine(h, a, b, 3);
  });

  it('state flapping (Connected/Closing/Closed/Initialising x20 with traffic): no leaked mappings or ports; works at the end', () => {
    const { h, x, a, b } = setup();
    const maps0 = (h.gnt.statsJson() as { liveMappings: number }).liveMappings;
    for (let i = 0; i < 20; i++) {
      x.send(arpRequest(x.mac(), IP(3), IP(1)));
      x.setState(XenbusState.Closing);
      x.setState(i % 3 === 0 ? XenbusState.Connected : XenbusState.Closed); // a bare flap back is refused
      x.setState(XenbusState.Initialising);
      x.connect({ split: i % 2 === 0 });
      expect(x.backendState(), `round ${i}`).toBe(XenbusState.Connected);
      h.advance(100_000);
    }
    expect((h.gnt.statsJson() as { liveMappings: number }).liveMappings).toBe(maps0);
    expect(h.bridges.get('xenbr0')!.portNames().sort()).toEqual([x.name, a.name, b.name].sort());
    x.postRx(8);
    a.send(arpRequest(a.mac(), IP(1), IP(3)));
    h.advance(1_000_000);
    expect(x.takeRx().length).toBeGreaterThan(0);
    victimsFine(h, a, b, 4);
  });

  it('an RX ring never refilled: frames dropped (queue full, then drain timeout), carrier off at 60 s; the bridge and others go on', () => {
    const { h, x, a, b } = setup();
    const s = h.net.vif(x.d.domid, 0)!.stats;
    // The attacker speaks once, so the bridge learns its MAC (else frames to it flood every port).
    x.send(arpRequest(x.mac(), IP(3), IP(1)));
    h.advance(1_000_000);
    b.takeRx();
    b.postRx(1);
    // 700 KiB of frames at the attacker: more than XENVIF_RX_QUEUE_BYTES (512 KiB) waits.
    const f = udp(x.mac(), a.mac(), IP(1), IP(3), 1, 1, new Uint8Array(1400));
    for (let i = 0; i < 500; i++) { a.queuePacket(f, { page0: i % 20 }); if (i % 100 === 99) { a.publishTx(a.txProd); h.advance(1_000_000); a.takeTx(); } }
    expect(s.dropRxQueueFull.value).toBeGreaterThan(0);
    h.advance(11e9);
    expect(s.dropRxExpired.value).toBeGreaterThan(0);
    for (let t = 0; t < 7; t++) { a.send(f); h.advance(9e9); a.takeTx(); }
    expect(s.carrierOff.value).toBe(1);
    expect(h.bridges.get('xenbr0')!.port(x.name)!.carrier).toBe(false);
    victimsFine(h, a, b, 5);
  });
});

describe('hostile frames vs the bridge', () => {
  it('a flood of invented source MACs: the forwarding table stops at BRIDGE_FDB_MAX (counted); a TX flood beyond the backlog is dropped (counted); victims go on', async () => {
    const { BRIDGE_FDB_MAX, BRIDGE_BACKLOG } = await import('@tachyxx/pv-net');
    const { h, x, a, b } = setup();
    const br = h.bridges.get('xenbr0')!;
    // Frames addressed to the attacker itself (its MAC learned on its own port: dropped as local,
    // not flooded), so the victims see only what the bridge's limits let through.
    x.send(arpRequest(x.mac(), IP(3), IP(1)));
    h.advance(1_000_000);
    x.takeTx();
    const f = udp(x.mac(), x.mac(), IP(3), IP(3), 1, 1, new Uint8Array(18));
    let n = 0;
    // 10,000 frames, each from a new source MAC, 20 per ring publish (one TX page each; the bridge drains in between).
    for (let round = 0; round < 500; round++) {
      for (let i = 0; i < 20; i++) {
        const g = f.slice();
        g[6] = 0x02; g[7] = (n >> 24) & 0xff; g[8] = (n >> 16) & 0xff; g[9] = (n >> 8) & 0xff; g[10] = n & 0xff; g[11] = 0x55;
        n++;
        x.queuePacket(g, { page0: i % 20 });
      }
      x.publishTx(x.txProd);
      x.takeTx();
      h.advance(100_000);
    }
    expect(br.fdbSize).toBeLessThanOrEqual(BRIDGE_FDB_MAX);
    expect(br.stats.fdbFull.value).toBeGreaterThan(0);
    // A backlog burst: 4 x 250 frames published without letting simulated time pass, plus more.
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 250; i++) x.queuePacket(f, { page0: i % 20 });
      x.publishTx(x.txProd);
      x.takeTx();
    }
    expect(br.stats.dropBacklog.value).toBe(5 * 250 - BRIDGE_BACKLOG);
    h.advance(10_000_000);
    expect(br.stats.dropLocal.value).toBeGreaterThan(10_000);
    victimsFine(h, a, b, 9);
  });
});
