// pv-net guests (issue 12 §3): the C netfront, the guests' IPv4 stack and the example guests
// (ping, udpecho, udpblast) over dom0's netback and bridges, in one in-process host as
// `tachyxx host` assembles it: two domains on xenbr0 ping each other, a third on another bridge
// cannot reach them, udpblast counts every datagram at a rate the rings allow.
import { describe, it, expect } from 'vitest';
import { netGuestHost } from './net-helpers.js';

describe('pv-net guests: ping', () => {
  it('two domains on xenbr0 ping each other and power off; a third on xenbr1 gets no answer', () => {
    const h = netGuestHost();
    const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=4');
    const b = h.guest('ping-b', 'ping', 'peer=10.0.0.1 count=4', { ip: '10.0.0.2' }); // its address from the vif's ip= key
    const c = h.guest('ping-c', 'ping', 'ip=10.0.0.3/24 peer=10.0.0.1 count=1 quiet=0', { bridge: 'xenbr1' });
    const committed = () => Number(h.host.stats.lookup('host.xenstore.txCommitted')!.dump());
    const committed0 = committed();
    for (const d of [a, b, c]) h.host.unpauseDomain(d);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    const ta = h.text(a), tb = h.text(b), tc = h.text(c);
    expect(why, ta + tb + tc).toBe('all-shutdown');
    // one xenstore transaction per vif on each side: netback's probe (its feature keys) and the
    // netfront's device keys (Linux's talk_to_netback; without it this reads 3)
    expect(committed() - committed0).toBe(6);
    for (const [t, peer] of [[ta, '10.0.0.2'], [tb, '10.0.0.1']] as const) {
      expect(t).toMatch(/event channels (split|shared)/);
      expect(t).toContain(`PING ${peer}: 56 data bytes`);
      for (let i = 1; i <= 4; i++) expect(t).toMatch(new RegExp(`64 bytes from ${peer.replace(/\./g, '\\.')}: icmp_seq=${i} time=\\d+\\.\\d{3} ms\\n`));
      expect(t).toContain('4 packets transmitted, 4 received, 0% packet loss');
      expect(t).toMatch(/rtt min\/avg\/max = [\d.]+ ms \/ [\d.]+ ms \/ [\d.]+ ms \(simulated time\)/);
    }
    expect(ta).toContain('10.0.0.1/24 (cmdline)');
    expect(tb).toContain('10.0.0.2/24 (vif ip)');
    expect(a.shutdownReason).toBe('poweroff');
    expect(b.shutdownReason).toBe('poweroff');
    expect(tc).toContain('10.0.0.1 does not answer (10 s)');
    expect(c.shutdownReason).toBe('crash');
  });
});

describe('pv-net guests: the device keys in a transaction', () => {
  it('a commit that conflicts (dom0 rewrote a key it touched) is answered EAGAIN; the netfront starts again and connects with its own keys', () => {
    const h = netGuestHost();
    const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=2');
    const b = h.guest('ping-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=2');
    h.host.queue.runUntil(h.host.clock.now + 1_000_000); // xenwatch: netback probes both vifs (its own transactions)
    const stat = (k: string) => Number(h.host.stats.lookup(`host.xenstore.${k}`)!.dump());
    const started0 = stat('txStarted');
    const key = `/local/domain/${a.domid}/device/vif/0/tx-ring-ref`;
    for (const d of [a, b]) h.host.unpauseDomain(d);
    // Once a frontend's transaction is open, dom0 rewrites a's tx-ring-ref at every step until a
    // commit conflicts: the transaction that touched it before one of these writes gets EAGAIN.
    let rewrites = 0;
    for (let t = h.host.clock.now; stat('txConflicts') === 0 && t < 50_000_000; t += 2_000) {
      h.host.run({ untilNs: t, maxInsns: 2_000_000_000 });
      if (stat('txStarted') > started0) { h.dom0xs.write(key, '0'); rewrites++; }
    }
    expect(stat('txConflicts')).toBe(1);
    expect(rewrites).toBeGreaterThan(0);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    const ta = h.text(a), tb = h.text(b);
    expect(why, ta + tb).toBe('all-shutdown');
    for (const t of [ta, tb]) expect(t).toContain('2 packets transmitted, 2 received, 0% packet loss');
    expect(h.dom0xs.read(key)).not.toBe('0'); // the retried transaction's value
    expect(stat('txStarted') - started0).toBe(3); // a twice (one conflict), b once
  });
});

describe('pv-net guests: one shared event channel', () => {
  it('without feature-split-event-channels the frontend writes event-channel and pings work', () => {
    const h = netGuestHost();
    const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=2');
    const b = h.guest('ping-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=2');
    h.host.queue.runUntil(h.host.clock.now + 1_000_000); // xenwatch: netback probes both vifs
    for (const d of [a, b]) {
      const be = `/local/domain/0/backend/vif/${d.domid}/0`;
      expect(h.dom0xs.read(`${be}/feature-split-event-channels`)).toBe('1'); // netback probed: InitWait
      h.dom0xs.rm(`${be}/feature-split-event-channels`); // a backend without the feature
    }
    for (const d of [a, b]) h.host.unpauseDomain(d);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    const ta = h.text(a), tb = h.text(b);
    expect(why, ta + tb).toBe('all-shutdown');
    for (const t of [ta, tb]) {
      expect(t).toContain('event channels shared');
      expect(t).toContain('2 packets transmitted, 2 received, 0% packet loss');
    }
  });
});

describe('pv-net guests: multi-slot frames', () => {
  it('pings with 8972-byte payloads over mtu 9000 vifs: every frame takes 3 slots each way', () => {
    const h = netGuestHost();
    const a = h.guest('big-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=3 size=8972', { mtu: 9000 });
    const b = h.guest('big-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=3 size=8972', { mtu: 9000 });
    for (const d of [a, b]) h.host.unpauseDomain(d);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    const ta = h.text(a), tb = h.text(b);
    expect(why, ta + tb).toBe('all-shutdown');
    for (const t of [ta, tb]) {
      expect(t).toContain('mtu 9000');
      expect(t).toMatch(/8980 bytes from 10\.0\.0\.\d: icmp_seq=3 time=/);
      expect(t).toContain('3 packets transmitted, 3 received, 0% packet loss');
      // 3 counted requests + 3 replies to the peer's + at least one warm-up reply go out multi-slot
      const m = /netfront rx (\d+) pkts \((\d+) multi-slot, 0 bad\) tx (\d+) pkts \((\d+) multi-slot, 0 errors/.exec(t);
      expect(m, t).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThanOrEqual(6);
      expect(Number(m![4])).toBeGreaterThanOrEqual(6);
    }
  });
});

describe('pv-net guests: udpblast and udpecho', () => {
  it('udpblast on two pCPUs: 5000 x 64 bytes and 2000 x 1472 bytes arrive complete, in order, unduplicated', () => {
    for (const [size, count] of [[64, 5000], [1472, 2000]] as const) {
      const h = netGuestHost({ pcpus: 2 });
      const r = h.guest('recv', 'udpblast', 'mode=recv ip=10.0.0.11/24');
      const s = h.guest('send', 'udpblast', `mode=send ip=10.0.0.12/24 peer=10.0.0.11 size=${size} count=${count}`);
      for (const d of [r, s]) h.host.unpauseDomain(d);
      const why = h.host.run({ maxInsns: 4_000_000_000 });
      const tr = h.text(r), ts = h.text(s);
      if (why !== 'all-shutdown') {
        console.log(JSON.stringify((h.host.stats.lookup('host.pv-net') as { dump(): unknown }).dump()));
        console.log(h.log.join('\n'));
      }
      expect(why, tr + ts).toBe('all-shutdown');
      expect(tr).toContain(`udpblast: received ${count} of ${count}, lost 0, duplicates 0, out of order 0, bad 0`);
      expect(ts).toContain(`udpblast: receiver reports ${count} of ${count} received, 0 lost, 0 bad`);
      // every datagram was built in a granted TX buffer (netdev tx_buffer) and sent without a copy
      const tx = /udpblast: netfront rx \d+ pkts .* tx (\d+) pkts \(0 multi-slot, 0 errors, \d+ ring-full, (\d+) built in place\)/.exec(ts);
      expect(tx, ts).not.toBeNull();
      expect(Number(tx![2])).toBeGreaterThanOrEqual(count);
      expect(Number(tx![2])).toBeLessThanOrEqual(Number(tx![1]));
      expect(r.shutdownReason).toBe('poweroff');
      expect(s.shutdownReason).toBe('poweroff');
    }
  });
});

describe('pv-net guests: paced udpblast on one pCPU, udpecho', () => {
  it('udpblast at rate=20000/s on one pCPU: 1000 x 1472 bytes, none lost', () => {
    const h = netGuestHost();
    const r = h.guest('recv', 'udpblast', 'mode=recv ip=10.0.0.11/24');
    const s = h.guest('send', 'udpblast', 'mode=send ip=10.0.0.12/24 peer=10.0.0.11 size=1472 count=1000 rate=20000');
    for (const d of [r, s]) h.host.unpauseDomain(d);
    const why = h.host.run({ maxInsns: 4_000_000_000 });
    const tr = h.text(r), ts = h.text(s);
    expect(why, tr + ts).toBe('all-shutdown');
    expect(tr).toContain('udpblast: received 1000 of 1000, lost 0, duplicates 0, out of order 0, bad 0');
    // paced: 999 intervals of 50 us between the first and the last datagram
    const m = /in (\d+)\.(\d{3}) ms simulated: (\d+)\.\d{3} kpps/.exec(tr);
    expect(m, tr).not.toBeNull();
    expect(Number(m![3])).toBeGreaterThanOrEqual(19);
    expect(Number(m![3])).toBeLessThanOrEqual(20);
  });

  it('udpecho sends back every datagram udpblast (echo=1) sends it, csum_blank included', () => {
    const h = netGuestHost();
    const e = h.guest('echo', 'udpecho', 'ip=10.0.0.7/24 port=7 count=501');
    const s = h.guest('send', 'udpblast', 'mode=send echo=1 csum=blank ip=10.0.0.12/24 peer=10.0.0.7 port=7 size=200 count=500 rate=10000');
    for (const d of [e, s]) h.host.unpauseDomain(d);
    const why = h.host.run({ maxInsns: 4_000_000_000 });
    const te = h.text(e), ts = h.text(s);
    expect(why, te + ts).toBe('all-shutdown');
    expect(ts).toContain('(csum_blank)');
    expect(ts).toContain('udpblast: 500 of 500 echoed back, 0 bad');
    expect(te).toContain('udpecho: 200 bytes from 10.0.0.12:9001 echoed');
    expect(te).toContain('udpecho: 501 datagrams echoed, 0 failed');
    expect(e.shutdownReason).toBe('poweroff');
    expect(s.shutdownReason).toBe('poweroff');
  });
});

type GuestHost = ReturnType<typeof netGuestHost>;
/** Runs the host in 2 ms slices until every domain is down (at most 8 s), calling `each` after every slice; the last run's reason. */
function runSliced(h: GuestHost, maxInsns: number, each: () => void): string {
  let why = '';
  for (let i = 0; i < 4000 && why !== 'all-shutdown'; i++) {
    why = h.host.run({ untilNs: h.host.clock.now + 2_000_000, maxInsns });
    each();
  }
  return why;
}
/** The frontend's keys under /local/domain/D/device/vif/0 (null where absent). */
const frontendKeys = (h: GuestHost, domid: number, keys: string[]): Record<string, string | null> =>
  Object.fromEntries(keys.map((k) => [k, h.dom0xs.tryRead(`/local/domain/${domid}/device/vif/0/${k}`) ?? null]));

describe('pv-net guests: multi-queue', () => {
  it('queues=4 on both domains, udpblast over 8 flows: every datagram arrives, netback carries it on more than one queue each way', () => {
    const h = netGuestHost({ pcpus: 2 });
    const r = h.guest('recv', 'udpblast', 'mode=recv ip=10.0.0.11/24 queues=4');
    const s = h.guest('send', 'udpblast', 'mode=send ip=10.0.0.12/24 peer=10.0.0.11 size=64 count=4000 flows=8 queues=4');
    h.host.queue.runUntil(h.host.clock.now + 1_000_000); // xenwatch: netback probes both vifs
    for (const d of [r, s]) h.host.unpauseDomain(d);
    // netback's per-queue counts live as long as the vif: sample them between slices of the run
    const snap = (domid: number) => {
      const v = h.net.vif(domid, 0);
      return v && { queues: v.queues, queueStats: v.queueStats, txPackets: v.stats.txPackets.value, rxPackets: v.stats.rxPackets.value };
    };
    let sv: ReturnType<typeof snap>, rv: ReturnType<typeof snap>;
    let fe: Record<string, string | null> | undefined;
    const why = runSliced(h, 4_000_000_000, () => {
      sv = snap(s.domid) ?? sv;
      // connected: the keys Linux's talk_to_netback writes for 4 queues
      if (!fe && sv) fe = frontendKeys(h, s.domid, ['multi-queue-num-queues', 'tx-ring-ref', 'event-channel-tx', 'queue-0/tx-ring-ref', 'queue-3/rx-ring-ref', 'queue-3/event-channel-tx', 'queue-3/event-channel-rx', 'queue-4/tx-ring-ref']);
      rv = snap(r.domid) ?? rv;
    });
    const tr = h.text(r), ts = h.text(s);
    expect(why, tr + ts).toBe('all-shutdown');
    for (const t of [tr, ts]) expect(t).toContain('event channels split, 4 of 4 queues');
    expect(ts).toContain('sending 4000 x 64 bytes over 8 flows');
    expect(fe).toMatchObject({ 'multi-queue-num-queues': '4', 'tx-ring-ref': null, 'event-channel-tx': null, 'queue-4/tx-ring-ref': null });
    for (const k of ['queue-0/tx-ring-ref', 'queue-3/rx-ring-ref', 'queue-3/event-channel-tx', 'queue-3/event-channel-rx']) expect(fe![k], k).toMatch(/^\d+$/);
    expect(tr).toContain('udpblast: received 4000 of 4000, lost 0, duplicates 0, out of order');
    expect(ts).toContain('udpblast: receiver reports 4000 of 4000 received, 0 lost, 0 bad');
    // netback's view (last sample before the vifs closed): 4 queues each, traffic on >= 2 each way
    expect(sv?.queues).toBe(4);
    expect(rv?.queues).toBe(4);
    const busy = (xs: number[]) => xs.filter((x) => x > 0).length;
    expect(busy(sv!.queueStats.map((q) => q.txPackets)), JSON.stringify(sv!.queueStats)).toBeGreaterThan(1);
    expect(busy(rv!.queueStats.map((q) => q.rxPackets)), JSON.stringify(rv!.queueStats)).toBeGreaterThan(1);
    expect(sv!.queueStats.reduce((a, q) => a + q.txPackets, 0)).toBe(sv!.txPackets);
    expect(rv!.queueStats.reduce((a, q) => a + q.rxPackets, 0)).toBe(rv!.rxPackets);
    expect(rv!.rxPackets).toBeGreaterThanOrEqual(4000);
    // the guests' own per-queue counts (printed at close) agree: more than one queue carried DATA
    const m = /udpblast: netfront queues \(tx\/rx pkts\): 0: (\d+)\/\d+ 1: (\d+)\/\d+ 2: (\d+)\/\d+ 3: (\d+)\/\d+/.exec(ts);
    expect(m, ts).not.toBeNull();
    expect(busy(m!.slice(1, 5).map(Number))).toBeGreaterThan(1);
    expect(r.shutdownReason).toBe('poweroff');
    expect(s.shutdownReason).toBe('poweroff');
  });
});

describe('pv-net guests: multi-queue negotiation', () => {
  it('queues=4 against a backend offering 2 takes 2 (queue-0/, queue-1/); the default keeps the flat one-queue keys (no queue-0/)', () => {
    const h = netGuestHost({ maxQueues: 2 });
    const a = h.guest('ping-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=3 queues=4');
    const b = h.guest('ping-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=3');
    for (const d of [a, b]) h.host.unpauseDomain(d);
    const keys = ['multi-queue-num-queues', 'tx-ring-ref', 'rx-ring-ref', 'event-channel-tx', 'event-channel-rx', 'queue-0/tx-ring-ref', 'queue-1/event-channel-rx', 'queue-2/tx-ring-ref'];
    const seen = new Map<number, Record<string, string | null>>();
    const why = runSliced(h, 2_000_000_000, () => {
      for (const d of [a, b]) {
        if (seen.has(d.domid) || !h.net.vif(d.domid, 0)) continue;
        seen.set(d.domid, frontendKeys(h, d.domid, keys));
        expect(h.net.vif(d.domid, 0)!.queues).toBe(d === a ? 2 : 1);
      }
    });
    const ta = h.text(a), tb = h.text(b);
    expect(why, ta + tb).toBe('all-shutdown');
    expect(ta).toContain('event channels split, 2 of 4 queues');
    expect(tb).toMatch(/event channels split\n/); // one queue: the line as before multi-queue
    for (const t of [ta, tb]) expect(t).toContain('3 packets transmitted, 3 received, 0% packet loss');
    expect(seen.get(a.domid)).toMatchObject({ 'multi-queue-num-queues': '2', 'tx-ring-ref': null, 'event-channel-tx': null, 'queue-2/tx-ring-ref': null });
    expect(seen.get(a.domid)!['queue-0/tx-ring-ref']).toBe('8'); // rings: queue q at grant refs 8 + 2q, 9 + 2q
    expect(seen.get(a.domid)!['queue-1/event-channel-rx']).toMatch(/^\d+$/);
    // one queue: exactly the keys (and ring refs) the frontend wrote before multi-queue
    expect(seen.get(b.domid)).toMatchObject({ 'multi-queue-num-queues': null, 'tx-ring-ref': '8', 'rx-ring-ref': '9', 'queue-0/tx-ring-ref': null });
    expect(seen.get(b.domid)!['event-channel-tx']).toMatch(/^\d+$/);
  });
});
