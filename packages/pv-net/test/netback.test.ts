import { describe, it, expect } from 'vitest';
import {
  NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETRXF_csum_blank, NETRXF_data_validated, NETRXF_more_data, NETTXF_csum_blank,
  NETTXF_extra_info, NETTXF_more_data, XenbusState,
} from '@tachyxx/abi';
import { defaultMac, fillL4Checksum, VIF_FATAL, VIF_UP, vifSpecFromLibxl, type VifEvent } from '@tachyxx/pv-net';
import { arpReply, arpRequest, guestDomain, icmpEcho, netHost, TsNetFrontend, udp, type NetHost } from './helpers.js';

const IP = (n: number) => [10, 0, 0, n];

function vif(h: NetHost, name: string, spec: Parameters<TsNetFrontend['add']>[0] = {}, conn: Parameters<TsNetFrontend['connect']>[0] = {}) {
  const f = new TsNetFrontend(h, guestDomain(h, name)).add(spec);
  f.connect(conn);
  expect(f.backendState(), `${name} connected`).toBe(XenbusState.Connected);
  return f;
}

describe('netback: xenstore', () => {
  it('writes the features Linux netback writes for what is implemented, and nothing else; libxl keys in place', () => {
    const h = netHost();
    const f = new TsNetFrontend(h, guestDomain(h, 'g')).add({ bridge: 'xenbr0' });
    const be = f.backendDir();
    const rd = (k: string) => h.dom0xs.tryRead(`${be}/${k}`);
    expect(f.backendState()).toBe(XenbusState.InitWait);
    expect(rd('feature-sg')).toBe('1');
    expect(rd('feature-rx-copy')).toBe('1');
    expect(rd('feature-rx-flip')).toBe('0');
    expect(rd('feature-split-event-channels')).toBe('1');
    expect(rd('feature-ipv6-csum-offload')).toBe('1');
    expect(rd('multi-queue-max-queues')).toBe('4');
    expect(rd('hotplug-status')).toBe('connected');
    for (const k of ['feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-multicast-control', 'feature-dynamic-multicast-control', 'feature-ctrl-ring']) expect(rd(k), k).toBeUndefined();
    // libxl__set_xenstore_nic
    expect(rd('mac')).toBe(defaultMac(f.d.domid, 0));
    expect(rd('bridge')).toBe('xenbr0');
    expect(rd('handle')).toBe('0');
    expect(rd('type')).toBe('vif');
    expect(rd('mtu')).toBe('1500');
    expect(rd('script')).toBe('/etc/xen/scripts/vif-bridge');
    expect(rd('frontend-id')).toBe(String(f.d.domid));
    expect(rd('online')).toBe('1');
    expect(h.dom0xs.read(`${f.dir}/mac`)).toBe(rd('mac'));
    expect(h.dom0xs.read(`${f.dir}/handle`)).toBe('0');
    expect(h.dom0xs.read(`${f.dir}/mtu`)).toBe('1500');
    expect(h.dom0xs.read(`${f.dir}/backend-id`)).toBe('0');
    expect(h.dom0xs.getPerms(be)).toEqual(['n0', `r${f.d.domid}`]);
    expect(h.dom0xs.getPerms(f.dir)).toEqual([`n${f.d.domid}`, 'r0']);
  });

  it('default MACs are Xen OUI, deterministic and distinct per domid/devid', () => {
    expect(defaultMac(1, 0)).toBe('00:16:3e:00:01:00');
    expect(defaultMac(300, 2)).toBe('00:16:3e:01:2c:02');
    expect(new Set([defaultMac(1, 0), defaultMac(1, 1), defaultMac(2, 0), defaultMac(257, 0)]).size).toBe(4);
  });

  it('refuses a frontend without request-rx-copy and more queues than offered', () => {
    const h = netHost();
    const a = new TsNetFrontend(h, guestDomain(h, 'a')).add();
    a.connect({ keys: { 'request-rx-copy': '0' } });
    expect(a.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/request-rx-copy/);
    const b = new TsNetFrontend(h, guestDomain(h, 'b')).add();
    b.connect({ keys: { 'multi-queue-num-queues': '9' } });
    expect(b.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/guest requested 9 queues, exceeding the maximum of 4/);
  });

  it('libxl vif specs: scripts other than vif-bridge, vlan and driver domains are refused with the reason', () => {
    expect(vifSpecFromLibxl({ devid: 1, bridge: 'xenbr1', ifname: 'web0', rate_bytes_per_interval: 50000, rate_interval_usecs: 50000, nictype: 'vif_ioemu', model: 'e1000' }))
      .toEqual({ devid: 1, bridge: 'xenbr1', vifname: 'web0', rateBytesPerInterval: 50000, rateIntervalUsecs: 50000, type: 'ioemu', model: 'e1000' });
    expect(() => vifSpecFromLibxl({ devid: 0, script: 'vif-route' })).toThrow(/script=vif-route is not supported/);
    expect(() => vifSpecFromLibxl({ devid: 0, vlan: '10' })).toThrow(/vlan=10/);
    expect(() => vifSpecFromLibxl({ devid: 0, backend_domname: 'netvm' })).toThrow(/only dom0/);
  });
});

describe('netback: data path', () => {
  it('two vifs on xenbr0: ARP broadcast floods, the reply is unicast to the learned port; a vif on xenbr1 sees nothing', () => {
    const h = netHost();
    const up: VifEvent[] = [];
    h.host.bus.on(VIF_UP).subscribe((e) => up.push(e));
    const a = vif(h, 'a');
    const b = vif(h, 'b', {}, { split: true });
    const c = vif(h, 'c', { bridge: 'xenbr1' });
    expect(up.map((e) => `${e.name}@${e.bridge}`)).toEqual([`${a.name}@xenbr0`, `${b.name}@xenbr0`, `${c.name}@xenbr1`]);
    for (const f of [a, b, c]) f.postRx(8);
    const req = arpRequest(a.mac(), IP(1), IP(2));
    a.send(req);
    expect(a.takeTx()).toEqual([{ id: 0, status: NETIF_RSP_OKAY }]);
    expect(b.takeRx()).toEqual([]); // not before the bridge's simulated forwarding time
    h.advance(100_000);
    const got = b.takeRx();
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!.data).equals(Buffer.from(req))).toBe(true);
    expect(c.takeRx()).toEqual([]);
    const rep = arpReply(b.mac(), IP(2), a.mac(), IP(1));
    b.send(rep);
    h.advance(100_000);
    expect(a.takeRx().map((p) => Buffer.from(p.data).equals(Buffer.from(rep)))).toEqual([true]);
    const br = h.bridges.get('xenbr0')!;
    expect(br.stats.flooded.value).toBe(1);
    expect(br.stats.unicast.value).toBe(1);
    const sa = h.net.vif(a.d.domid, 0)!.stats;
    expect([sa.txPackets.value, sa.rxPackets.value, sa.txBytes.value]).toEqual([1, 1, req.length]);
    expect(h.bridges.get('xenbr1')!.stats.frames.value).toBe(0);
  });

  it('multi-slot TX (more_data) is reassembled; a frame over a page reaches RX as several slots with more_data', () => {
    const h = netHost();
    const a = vif(h, 'a', { mtu: 9000 });
    const b = vif(h, 'b', { mtu: 9000 });
    b.postRx(8);
    const payload = Uint8Array.from({ length: 8000 }, (_, i) => (i * 7) & 0xff);
    const f = udp(b.mac(), a.mac(), IP(1), IP(2), 1000, 2000, payload);
    a.queuePacket(f, { slotBytes: 1500 });
    a.publishTx(a.txProd);
    const slots = Math.ceil(f.length / 1500);
    expect(a.takeTx()).toEqual(Array.from({ length: slots }, (_, i) => ({ id: i, status: NETIF_RSP_OKAY })));
    h.advance(100_000);
    const [p] = b.takeRx();
    expect(p!.statuses).toEqual([4096, f.length - 4096]);
    expect(Buffer.from(p!.data).equals(Buffer.from(f))).toBe(true);
    expect(p!.flags & NETRXF_more_data).toBe(NETRXF_more_data);
    // A 1500-MTU port does not get a 8 KiB frame (br_forward's MTU check), counted.
    const c = vif(h, 'c');
    c.postRx(4);
    a.send(udp(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), a.mac(), IP(1), IP(9), 1, 2, payload));
    h.advance(100_000);
    expect(c.takeRx()).toEqual([]);
    expect(h.bridges.get('xenbr0')!.port(c.name)!.stats.dropMtu.value).toBe(1);
  });

  it('csum_blank: filled before a port whose frontend has feature-no-csum-offload; passed on as csum_blank|data_validated otherwise', () => {
    const h = netHost();
    const a = vif(h, 'a');
    const off = vif(h, 'off');
    const no = vif(h, 'no', {}, { noCsum: true });
    off.postRx(4);
    no.postRx(4);
    const f = udp(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff), a.mac(), IP(1), IP(2), 5000, 6000, new TextEncoder().encode('checksum me'));
    a.queuePacket(f, { flags: NETTXF_csum_blank });
    a.publishTx(a.txProd);
    h.advance(100_000);
    const want = f.slice();
    expect(fillL4Checksum(want)).toBe(true);
    expect(want[14 + 20 + 6]! | want[14 + 20 + 7]!).not.toBe(0);
    const [pn] = no.takeRx();
    expect(Buffer.from(pn!.data).equals(Buffer.from(want))).toBe(true);
    expect(pn!.flags & (NETRXF_csum_blank | NETRXF_data_validated)).toBe(NETRXF_data_validated);
    // Flooded: the checksum was filled once for `no`, so `off` gets the filled frame too, validated.
    const [po] = off.takeRx();
    expect(Buffer.from(po!.data).equals(Buffer.from(want))).toBe(true);
    expect(po!.flags & (NETRXF_csum_blank | NETRXF_data_validated)).toBe(NETRXF_data_validated);
    // Unicast to `off` alone (its MAC learned): passed on unfinished, as csum_blank | data_validated.
    off.send(arpRequest(off.mac(), IP(3), IP(1)));
    h.advance(100_000);
    const g = udp(off.mac(), a.mac(), IP(1), IP(3), 5000, 6000, new TextEncoder().encode('checksum me'));
    a.queuePacket(g, { flags: NETTXF_csum_blank, page0: 3 });
    a.publishTx(a.txProd);
    h.advance(100_000);
    const [pu] = off.takeRx();
    expect(Buffer.from(pu!.data).equals(Buffer.from(g))).toBe(true);
    expect(pu!.flags & (NETRXF_csum_blank | NETRXF_data_validated)).toBe(NETRXF_csum_blank | NETRXF_data_validated);
  });

  it('no RX buffers: frames wait, are dropped after the 10 s drain timeout, the carrier goes off after 60 s and back on when buffers come', () => {
    const h = netHost();
    const a = vif(h, 'a');
    const b = vif(h, 'b');
    const ping = icmpEcho(b.mac(), a.mac(), IP(1), IP(2), 8, 1, 1);
    a.send(arpRequest(a.mac(), IP(1), IP(2)));
    h.advance(1_000_000);
    const sb = h.net.vif(b.d.domid, 0)!.stats;
    expect(sb.rxPackets.value).toBe(0);
    h.advance(10e9);
    expect(sb.dropRxExpired.value).toBe(1);
    // Keep frames coming so the queue is never empty, and wait out the stall timeout.
    for (let t = 0; t < 7; t++) { a.send(ping); h.advance(9e9); }
    expect(sb.carrierOff.value).toBe(1);
    const port = h.bridges.get('xenbr0')!.port(b.name)!;
    expect(port.carrier).toBe(false);
    a.send(ping);
    h.advance(1_000_000);
    expect(port.stats.dropCarrier.value).toBeGreaterThan(0);
    b.postRx(8);
    expect(port.carrier).toBe(true);
    a.send(ping);
    h.advance(1_000_000);
    expect(b.takeRx().length).toBeGreaterThan(0);
    expect(h.log.join('\n')).toMatch(/carrier off/);
  });

  it('rate=BYTES,USECS: credit per window as tx_credit_exceeded; held packets go when the window turns', () => {
    const h = netHost();
    const a = vif(h, 'a', { rateBytesPerInterval: 3000, rateIntervalUsecs: 50_000 });
    const b = vif(h, 'b');
    b.postRx(64);
    const f = udp(b.mac(), a.mac(), IP(1), IP(2), 1, 2, new Uint8Array(1000 - 42));
    for (let i = 0; i < 10; i++) a.queuePacket(f, { page0: i });
    a.publishTx(a.txProd);
    const sa = h.net.vif(a.d.domid, 0)!.stats;
    expect(sa.txPackets.value).toBe(3);
    expect(sa.rateLimited.value).toBeGreaterThan(0);
    expect(h.net.pendingCredit).toBe(1);
    h.advance(50_000_000);
    expect(sa.txPackets.value).toBe(6);
    h.advance(200_000_000);
    expect(sa.txPackets.value).toBe(10);
    expect(a.takeTx()).toHaveLength(10);
  });
});

describe('netback: hostile TX', () => {
  it('extra-info slots: GSO dropped with NULL responses in the extra slots; an invalid extra type is fatal', () => {
    const h = netHost();
    const a = vif(h, 'a');
    const f = arpRequest(a.mac(), IP(1), IP(2));
    a.d.access.write(0x8032_0000, f);
    a.putTx(0, { gref: 16, offset: 0, flags: NETTXF_extra_info, id: 7, size: f.length });
    a.putTxRaw(1, Uint8Array.of(1, 0, 0x40, 0x05, 1, 0, 0, 0, 0, 0, 0, 0)); // GSO, size 1344, TCPv4
    a.txProd = 2;
    a.publishTx(2);
    expect(a.takeTx()).toEqual([{ id: 7, status: NETIF_RSP_ERROR }, { id: 0, status: NETIF_RSP_NULL }]);
    expect(h.net.vif(a.d.domid, 0)!.stats.dropTxGso.value).toBe(1);
    const fatal: VifEvent[] = [];
    h.host.bus.on(VIF_FATAL).subscribe((e) => fatal.push(e));
    a.putTx(2, { gref: 16, offset: 0, flags: NETTXF_extra_info, id: 8, size: f.length });
    a.putTxRaw(3, Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    a.publishTx(4);
    expect(a.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/Invalid extra type: 9; fatal error; disabling device/);
    expect(fatal.map((e) => e.reason)).toEqual(['disabled']);
  });

  it('more than XEN_NETBK_LEGACY_SLOTS_MAX (18) fragments: dropped (ERROR per slot); FATAL_SKB_SLOTS (20) and more: malicious, the vif is disabled and another vif goes on', () => {
    const h = netHost();
    const a = vif(h, 'a');
    const b = vif(h, 'b');
    b.postRx(8);
    const sa = h.net.vif(a.d.domid, 0)!.stats;
    const big = (slots: number) => new Uint8Array(slots * 100).fill(1).map((x, i) => (i < 12 ? 0xff : x));
    // Slot counts as netback counts them: fragments after the first request.
    for (const frags of [19, 20]) {
      a.queuePacket(big(frags + 1), { slotBytes: 100 });
      a.publishTx(a.txProd);
      const r = a.takeTx();
      expect(r).toHaveLength(frags + 1);
      expect(r.every((x) => x.status === NETIF_RSP_ERROR)).toBe(true);
    }
    expect(sa.dropTxTooManySlots.value).toBe(2);
    a.queuePacket(big(19), { slotBytes: 100 }); // 18 fragments: fine
    a.publishTx(a.txProd);
    expect(a.takeTx().every((x) => x.status === NETIF_RSP_OKAY)).toBe(true);
    expect(sa.txPackets.value).toBe(1);
    a.queuePacket(big(22), { slotBytes: 100 });
    a.publishTx(a.txProd);
    expect(a.backendState()).toBe(XenbusState.Closing);
    expect(sa.fatal.value).toBe(1);
    expect(h.log.join('\n')).toMatch(/Malicious frontend using 20 slots, threshold 20/);
    // b is untouched.
    const c = vif(h, 'c');
    c.send(arpRequest(c.mac(), IP(3), IP(2)));
    h.advance(100_000);
    expect(b.takeRx().length).toBeGreaterThan(0);
  });

  it('runt and zero-length packets and a slot larger than the packet are dropped with a counted reason; a chain past req_prod is fatal', () => {
    const h = netHost();
    const a = vif(h, 'a');
    const s = h.net.vif(a.d.domid, 0)!.stats;
    a.putTx(0, { gref: 16, offset: 0, flags: 0, id: 1, size: 0 });
    a.putTx(1, { gref: 16, offset: 0, flags: 0, id: 2, size: 13 });
    a.putTx(2, { gref: 16, offset: 0, flags: NETTXF_more_data, id: 3, size: 100 });
    a.putTx(3, { gref: 17, offset: 0, flags: 0, id: 4, size: 200 });
    a.txProd = 4;
    a.publishTx(4);
    expect(a.takeTx()).toEqual([
      { id: 1, status: NETIF_RSP_ERROR }, { id: 2, status: NETIF_RSP_ERROR }, { id: 3, status: NETIF_RSP_ERROR }, { id: 4, status: NETIF_RSP_ERROR },
    ]);
    expect(s.dropTxRunt.value).toBe(2);
    expect(s.dropTxBadSize.value).toBe(1);
    expect(a.backendState()).toBe(XenbusState.Connected);
    a.putTx(4, { gref: 16, offset: 0, flags: NETTXF_more_data, id: 5, size: 100 });
    a.publishTx(5);
    expect(a.backendState()).toBe(XenbusState.Closing);
    expect(h.log.join('\n')).toMatch(/Asked for 0 slots but exceeds this limit/);
  });
});

describe('netback: multi-queue', () => {
  it('multi-queue-num-queues 2 with queue-N/ keys: both queues carry TX; RX spreads flows over the queues (flow hash)', () => {
    const h = netHost();
    const a = new TsNetFrontend(h, guestDomain(h, 'mq')).add();
    const b = vif(h, 'b');
    b.postRx(32);
    // Queue 0 is the helper's ring pair; queue 1 another pair granted by hand.
    a.connect({ keys: {} });
    expect(a.backendState()).toBe(XenbusState.Connected);
    // Reconnect with two queues: close, re-initialise, publish queue-0/ and queue-1/.
    a.setState(XenbusState.Closed);
    a.setState(XenbusState.Initialising);
    const d = a.d;
    const Q1_TX = 0x803c_0000; // past the helper's RX pages (0x8036_0000 + 64 pages)
    const Q1_RX = 0x803c_1000;
    for (const g of [Q1_TX, Q1_RX]) { d.access.write(g, new Uint8Array(4096)); d.access.writeU32(g + 4, 1); d.access.writeU32(g + 12, 1); }
    expect(h.gnt.grantForeignAccess(d.domid, 10, 0, Q1_TX / 4096)).toBe(0);
    expect(h.gnt.grantForeignAccess(d.domid, 11, 0, Q1_RX / 4096)).toBe(0);
    const p1 = h.evtchn.allocUnbound(d.domid, 0);
    const fe = a.dir;
    a.connect({ keys: { 'multi-queue-num-queues': '2', 'queue-0/tx-ring-ref': '8', 'queue-0/rx-ring-ref': '9', 'queue-1/tx-ring-ref': '10', 'queue-1/rx-ring-ref': '11', 'queue-1/event-channel': String(p1) } });
    // connect() wrote event-channel in the top dir; a multi-queue frontend has it per queue.
    expect(a.backendState()).toBe(XenbusState.Closing); // queue-0/event-channel missing: refused
    expect(h.log.join('\n')).toMatch(new RegExp(`reading ${fe}/queue-0/event-channel`));
    a.setState(XenbusState.Closed);
    a.setState(XenbusState.Initialising);
    a.connect({ keys: (x) => ({ 'multi-queue-num-queues': '2', 'queue-0/tx-ring-ref': '8', 'queue-0/rx-ring-ref': '9', 'queue-0/event-channel': String(x.txPort), 'queue-1/tx-ring-ref': '10', 'queue-1/rx-ring-ref': '11', 'queue-1/event-channel': String(p1) }) });
    expect(a.backendState()).toBe(XenbusState.Connected);
    expect(h.net.vif(d.domid, 0)!.queues).toBe(2);
    // Queue 0 TX through the helper.
    a.send(arpRequest(a.mac(), IP(1), IP(2)));
    expect(a.takeTx()).toEqual([{ id: 0, status: NETIF_RSP_OKAY }]);
    // Queue 1 TX by hand: one frame in TX page 5, request in slot 0 of queue 1's ring.
    const f = udp(b.mac(), a.mac(), IP(1), IP(2), 7, 7, new Uint8Array(20));
    d.access.write(0x8032_0000 + 5 * 4096, f);
    const req = new DataView(new ArrayBuffer(12));
    req.setUint32(0, 16 + 5, true); req.setUint16(4, 0, true); req.setUint16(6, 0, true); req.setUint16(8, 42, true); req.setUint16(10, f.length, true);
    d.access.write(Q1_TX + 64, new Uint8Array(req.buffer));
    d.access.writeU32(Q1_TX, 1);
    a.kick(p1);
    expect(d.access.readU32(Q1_TX + 8)).toBe(1); // rsp_prod on queue 1
    const rsp = new Uint8Array(4);
    d.access.read(Q1_TX + 64, rsp);
    expect([rsp[0]! | (rsp[1]! << 8), rsp[2]! | (rsp[3]! << 8)]).toEqual([42, NETIF_RSP_OKAY]);
    h.advance(1_000_000);
    expect(b.takeRx()).toHaveLength(2);
    expect(h.net.vif(d.domid, 0)!.stats.txPackets.value).toBe(2);
    // RX: buffers on both queues (queue 1's by hand: ids 32.., grefs RX_REF0 + 32..), 8 flows from b.
    a.postRx(8);
    for (let i = 0; i < 8; i++) {
      const r = new DataView(new ArrayBuffer(8));
      r.setUint16(0, 32 + i, true); r.setUint32(4, 64 + 32 + i, true);
      d.access.write(Q1_RX + 64 + i * 8, new Uint8Array(r.buffer));
    }
    d.access.writeU32(Q1_RX, 8);
    a.kick(p1);
    for (let i = 0; i < 8; i++) b.send(udp(a.mac(), b.mac(), IP(2), IP(1), 1000 + i, 53, new Uint8Array(10)));
    h.advance(1_000_000);
    const q0 = a.takeRx().length;
    const q1 = d.access.readU32(Q1_RX + 8);
    const st = h.net.vif(d.domid, 0)!.stats;
    expect(q0 + q1, `q0 ${q0} q1 ${q1} rx ${st.rxPackets.value} qfull ${st.dropRxQueueFull.value} grant ${st.dropRxGrant.value}`).toBe(8);
    expect(q0 > 0 && q1 > 0, `flows on both queues (q0 ${q0}, q1 ${q1})`).toBe(true);
    // the split by queue, as stats: host.pv-net.vifD-0.queue-K
    const qs = (k: number, c: string) => Number((h.host.stats.dump() as any).host['pv-net'][`vif${d.domid}-0`][`queue-${k}`][c]);
    expect([qs(0, 'txPackets'), qs(1, 'txPackets')]).toEqual([1, 1]);
    expect([qs(0, 'rxPackets'), qs(1, 'rxPackets')]).toEqual([q0, q1]);
    expect(qs(0, 'rxPackets') + qs(1, 'rxPackets')).toBe(st.rxPackets.value);
    expect(qs(0, 'txBytes') + qs(1, 'txBytes')).toBe(st.txBytes.value);
    expect(h.net.vif(d.domid, 0)!.queueStats).toEqual([0, 1].map((k) => ({ txPackets: qs(k, 'txPackets'), rxPackets: qs(k, 'rxPackets') })));
  });
});
