// A bridge's uplink to the host (issue 12 §2): socat's TUN address makes a TAP interface and
// relays its frames as UDP datagrams on the loopback to the bridge's UdpUplink port; the TAP is
// moved into a network namespace of its own and given an address, and the real `ping` there
// reaches a "domain" on the bridge: an in-process netif frontend answering ARP and ICMP echo
// through a real host's rings. Needs root (netns, TAP), socat, iproute2 and ping; otherwise
// SKIPPED with the reason.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { UdpUplink } from '@tachyxx/pv-net';
import { arpReply, guestDomain, netHost, TsNetFrontend } from './helpers.js';

const tools = ['/usr/bin/socat', '/usr/bin/ping', '/usr/sbin/ip'];
const missing = tools.filter((t) => !existsSync(t));
const root = process.getuid?.() === 0;
const why = !root ? 'not root (network namespaces and TAP devices need it)' : missing.length ? `missing ${missing.join(', ')} (Debian: apt-get install -y socat iputils-ping iproute2)` : '';
if (why) console.warn(`pv-net uplink: ${why} - the TAP uplink test is SKIPPED`);

const HOST_IP = [10, 77, 0, 1];
const DOM_IP = [10, 77, 0, 2];
const ip = (...a: string[]) => spawnSync('/usr/sbin/ip', a, { encoding: 'utf8' });

function ipSum(b: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (b[i]! << 8) | (i + 1 < to ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return (~s) & 0xffff;
}
const eq = (a: Uint8Array, off: number, b: number[]) => b.every((x, i) => a[off + i] === x);

describe.skipIf(!!why)('pv-net uplink: host ping through a TAP (socat) to a domain on the bridge', () => {
  it('ping -c 3 from a network namespace gets 3 replies', async () => {
    const h = netHost();
    const dom = new TsNetFrontend(h, guestDomain(h, 'dom')).add();
    dom.connect();
    dom.postRx(64);
    const local = 20000 + (process.pid % 20000);
    const peer = local + 1;
    const link = new UdpUplink(h.bridges, { bridge: 'xenbr0', localPort: local, peerPort: peer });
    await link.start();
    const ns = `tachyxx-pvnet-${process.pid}`;
    const tap = `txu${process.pid % 100000}`;
    let socat: ChildProcess | null = null;
    let pump: NodeJS.Timeout | null = null;
    let answered = 0;
    try {
      expect(ip('netns', 'add', ns).status).toBe(0);
      socat = spawn('/usr/bin/socat', [`TUN,tun-type=tap,tun-name=${tap},iff-no-pi,iff-up`, `UDP-DATAGRAM:127.0.0.1:${local},bind=127.0.0.1:${peer}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let socatErr = '';
      socat.stderr!.on('data', (b) => (socatErr += b));
      for (let i = 0; i < 100 && ip('link', 'show', tap).status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(ip('link', 'show', tap).status, socatErr).toBe(0);
      expect(ip('link', 'set', tap, 'netns', ns).stderr).toBe('');
      expect(ip('-n', ns, 'link', 'set', tap, 'up').stderr).toBe('');
      expect(ip('-n', ns, 'addr', 'add', `${HOST_IP.join('.')}/24`, 'dev', tap).stderr).toBe('');
      // The domain: answer ARP for DOM_IP and ICMP echo requests to it, in simulated time.
      const mac = dom.mac();
      pump = setInterval(() => {
        h.advance(200_000);
        const rx = dom.takeRx();
        let slots = 0;
        for (const p of rx) {
          slots += p.statuses.length;
          const f = p.data;
          if (f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 && eq(f, 38, DOM_IP)) {
            dom.send(arpReply(mac, DOM_IP, f.subarray(22, 28), Array.from(f.subarray(28, 32))));
          } else if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 1 && eq(f, 30, DOM_IP) && f[34] === 8) {
            const r = f.slice();
            r.set(f.subarray(6, 12), 0); r.set(mac, 6);
            r.set(f.subarray(30, 34), 26); r.set(f.subarray(26, 30), 30);
            const ihl = (f[14]! & 15) * 4;
            const total = (f[16]! << 8) | f[17]!;
            r[14 + ihl] = 0; r[14 + ihl + 2] = 0; r[14 + ihl + 3] = 0;
            const c = ipSum(r, 14 + ihl, 14 + total);
            r[14 + ihl + 2] = c >> 8; r[14 + ihl + 3] = c & 0xff;
            dom.send(r);
            answered++;
          }
        }
        if (slots) dom.postRx(slots);
        dom.takeTx();
        h.advance(200_000);
      }, 2);
      const ping = spawn('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/bin/ping', '-n', '-c', '3', '-i', '0.2', '-W', '3', DOM_IP.join('.')], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      ping.stdout!.on('data', (b) => (out += b));
      ping.stderr!.on('data', (b) => (out += b));
      const code = await new Promise<number | null>((r) => ping.on('exit', r));
      expect(code, out).toBe(0);
      expect(out).toMatch(/3 packets transmitted, 3 received/);
      expect(answered).toBe(3);
      expect(link.framesIn).toBeGreaterThanOrEqual(4); // ARP + 3 echo requests (+ IPv6 noise)
      expect(h.bridges.get('xenbr0')!.port('uplink-xenbr0')!.stats.framesOut.value).toBeGreaterThanOrEqual(4);
    } finally {
      if (pump) clearInterval(pump);
      if (socat && socat.exitCode === null) { socat.kill('SIGTERM'); await new Promise((r) => socat!.once('exit', r)); }
      ip('netns', 'del', ns);
      link.close();
    }
  });
});
