// The C netfront (guests/xenlib/net/netfront.c) against a misbehaving backend: the host writes into
// the guest's shared rings behind netback's back, as a buggy or hostile backend would. A bogus RX
// rsp_prod and a TX response for an id not in flight break the device (Linux netfront's `broken`):
// the program gets -EIO and stops; an RX response with an error status is dropped and counted and
// the device goes on. Two victim domains on the same bridge ping each other throughout.
import { describe, it, expect } from 'vitest';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import { netGuestHost } from '../test/net-helpers.js';

const GNTTAB_GUEST_BASE = 0x7f00_0000;
const MS = 1_000_000;

/** The guest-physical address of the shared ring `key` (tx-ring-ref / rx-ring-ref) of d's vif 0. */
function ringGpa(h: ReturnType<typeof netGuestHost>, d: Domain<Vcpu>, key: string): number {
  const ref = Number(h.dom0xs.read(`/local/domain/${d.domid}/device/vif/0/${key}`));
  expect(Number.isInteger(ref) && ref >= 8).toBe(true);
  const frame = d.access.readU32(GNTTAB_GUEST_BASE + ref * 8 + 4); // grant_entry_v1 { flags, domid, frame }
  return frame * 4096;
}
const RSP_PROD = 8;
const RING = 64;

function setup(echoArgs: string) {
  const h = netGuestHost({ pcpus: 2 });
  const e = h.guest('echo', 'udpecho', `ip=10.0.0.7/24 ${echoArgs}`);
  const va = h.guest('victim-a', 'ping', 'ip=10.0.0.1/24 peer=10.0.0.2 count=20 interval=20');
  const vb = h.guest('victim-b', 'ping', 'ip=10.0.0.2/24 peer=10.0.0.1 count=20 interval=20');
  for (const d of [e, va, vb]) h.host.unpauseDomain(d);
  h.host.run({ untilNs: 50 * MS });
  expect(h.text(e)).toContain('udpecho: listening on port 7');
  const victimsOk = () => {
    for (const v of [va, vb]) {
      expect(h.text(v), h.text(v)).toContain('20 packets transmitted, 20 received, 0% packet loss');
      expect(v.shutdownReason).toBe('poweroff');
    }
  };
  return { h, e, victimsOk };
}

describe('netfront: a misbehaving backend', () => {
  it('an RX rsp_prod more than a ring ahead: the device is broken, the program stops; the victims go on', () => {
    const { h, e, victimsOk } = setup('idle=100');
    const rx = ringGpa(h, e, 'rx-ring-ref');
    const prod = e.access.readU32(rx + RSP_PROD);
    e.access.writeU32(rx + RSP_PROD, (prod + 1000) >>> 0);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    expect(why).toBe('all-shutdown');
    const t = h.text(e);
    expect(t).toContain(`netfront: bogus rx rsp_prod ${(prod + 1000) >>> 0} (rsp_cons ${prod})`);
    expect(t).toContain('udpecho: device failed');
    expect(e.shutdownReason).toBe('crash');
    victimsOk();
  });

  it('a TX response for an id not in flight: broken, -EIO', () => {
    const { h, e, victimsOk } = setup('idle=100');
    const tx = ringGpa(h, e, 'tx-ring-ref');
    const prod = e.access.readU32(tx + RSP_PROD);
    const slot = tx + RING + (prod % 256) * 12; // netif_tx_response {id u16, status s16} in a 12-byte slot
    e.access.writeU16(slot, 999);
    e.access.writeU16(slot + 2, 0);
    e.access.writeU32(tx + RSP_PROD, (prod + 1) >>> 0);
    const why = h.host.run({ maxInsns: 2_000_000_000 });
    expect(why).toBe('all-shutdown');
    expect(h.text(e)).toContain('netfront: tx response with bad id 999');
    expect(h.text(e)).toContain('udpecho: device failed');
    expect(e.shutdownReason).toBe('crash');
    victimsOk();
  });

  it('RX responses with NETIF_RSP_ERROR and with offset + size past the page: dropped and counted, the device works on', () => {
    const { h, e, victimsOk } = setup('idle=3000');
    const rx = ringGpa(h, e, 'rx-ring-ref');
    const prod = e.access.readU32(rx + RSP_PROD);
    const at = (i: number) => rx + RING + ((prod + i) % 256) * 8; // netif_rx_response {id, offset, flags, status}
    e.access.writeU16(at(0), (prod & 255));
    e.access.writeU16(at(0) + 2, 0);
    e.access.writeU16(at(0) + 4, 0);
    e.access.writeU16(at(0) + 6, 0xffff); // status -1: NETIF_RSP_ERROR
    e.access.writeU16(at(1), ((prod + 1) & 255));
    e.access.writeU16(at(1) + 2, 4000); // offset 4000 + 200 bytes > 4096
    e.access.writeU16(at(1) + 4, 0);
    e.access.writeU16(at(1) + 6, 200);
    e.access.writeU32(rx + RSP_PROD, (prod + 2) >>> 0);
    // a client that starts now: its first frames to the echo domain land in the slots the fake
    // responses took (netback's own count is two behind), then everything flows again
    const c = h.guest('client', 'ping', 'ip=10.0.0.9/24 peer=10.0.0.7 count=3 quiet=0');
    h.host.unpauseDomain(c);
    const why = h.host.run({ maxInsns: 4_000_000_000 });
    expect(why).toBe('all-shutdown');
    const t = h.text(e);
    expect(h.text(c), h.text(c)).toContain('3 packets transmitted, 3 received, 0% packet loss');
    expect(t).toMatch(/udpecho: netfront rx \d+ pkts \(0 multi-slot, 2 bad\)/);
    expect(e.shutdownReason).toBe('poweroff');
    victimsOk();
  });
});
