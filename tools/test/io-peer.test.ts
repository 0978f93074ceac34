// In-process inter-domain I/O (issue 4 sections 3-4): the dom0 TypeScript vchan peer against
// the vchan-server guest under both event-channel variants, the store wiring in start_info, and
// a hostile ring (garbage indexes written into a domain's xenstore page) that must hurt neither
// xenstored nor the other domains.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VchanPeer, runWithPeer, vchanMessage, fnv1a, VCHAN_FNV_INIT } from '@tachyxx/grant';
import { connectLocal } from '@tachyxx/xenstore';
import { StartInfo, XENSTORE_DOMAIN_INTERFACE as XDI, XENSTORE_ERROR_RINGIDX } from '@tachyxx/abi';
import { ioHost, image, ROOT } from './io-helpers.js';

const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

describe('store wiring', () => {
  it('start_info names the ring GFN (RAM end + 4096) and the port; the layout exists', () => {
    const { host, store, xs } = ioHost();
    const d = host.createDomain({ name: 'probe', image: image('hello'), memoryMiB: 16, paused: true });
    const b = new Uint8Array(12);
    d.access.read(d.startInfoGpa + StartInfo.store_mfn.offset, b.subarray(0, 8));
    d.access.read(d.startInfoGpa + StartInfo.store_evtchn.offset, b.subarray(8, 12));
    const bind = store.bindings.get(d.domid)!;
    expect(u32(b.subarray(0, 4))).toBe((0x8000_0000 + 16 * 1024 * 1024 + 4096) / 4096);
    expect(bind.gfn).toBe(u32(b.subarray(0, 4)));
    expect(u32(b.subarray(8, 12))).toBe(bind.guestPort);
    const c = connectLocal(xs);
    expect(c.read(`/local/domain/${d.domid}/name`)).toBe('probe');
    host.destroyDomain(d);
    expect(store.bindings.has(d.domid)).toBe(false);
    expect(c.tryRead(`/local/domain/${d.domid}/name`)).toBeUndefined();
  });
});

describe('vchan: guest server, TypeScript client (dom0)', () => {
  for (const variant of ['2-level', 'fifo'] as const) {
    it(`${variant}: 300 messages each way, intact and in order`, () => {
      const { host, evtchn, gnt, xs, out } = ioHost({ variant });
      const d = host.createDomain({ name: 'vchan-server', image: image('vchan-server'), memoryMiB: 16 });
      const peer = new VchanPeer({ gnt, evtchn, xs: connectLocal(xs), serverDomid: d.domid });
      peer.start();
      const why = runWithPeer(host, peer, { maxInsns: 2e8 });
      expect(why).toBe('all-shutdown');
      expect(peer.phase).toBe('done');
      expect(d.shutdownCode).toBe(0);
      let f = VCHAN_FNV_INIT, bytes = 0;
      for (let i = 0; i < 300; i++) { const m = vchanMessage(0, i); f = fnv1a(f, m); bytes += m.length; }
      expect(peer.result.received).toEqual({ messages: 300, bytes, fnv: f, bad: 0 });
      // the golden is the fifo host's (FIFO ABI); a 2-level host refuses init_control
      let expected = readFileSync(join(ROOT, 'guests/vchan-server/expected-domain.txt'), 'latin1').replace('client is a domU', 'client is dom0');
      if (variant === '2-level') expected = expected.replace(/^event channels: FIFO ABI .*\n/, 'event channels: 2-level ABI (init_control -> -EOPNOTSUPP, fell back)\n');
      expect(evtchn.abi(d.domid)).toBe(variant);
      expect(out.get('vchan-server')).toBe(expected);
    });
  }
});

describe('hostile xenstore ring', () => {
  it('garbage indexes: that ring is dropped with XENSTORE_ERROR_RINGIDX; xenstored and xsclient carry on', () => {
    const { host, store, xs, out } = ioHost();
    const bad = host.createDomain({ name: 'hostile', image: image('xsclient'), memoryMiB: 16, paused: true });
    const good = host.createDomain({ name: 'xsclient', image: image('xsclient'), memoryMiB: 16 });
    const ringGpa = store.ringGpaOf(bad);
    const garbage = new Uint8Array(8);
    new DataView(garbage.buffer).setUint32(0, 0xdeadbeef, true);
    new DataView(garbage.buffer).setUint32(4, 7, true);
    bad.access.write(ringGpa + XDI.req_cons, garbage); // req_cons = 0xdeadbeef, req_prod = 7
    store.bindings.get(bad.domid)!.ring.processRing();
    const err = new Uint8Array(4);
    bad.access.read(ringGpa + XDI.error, err);
    expect(u32(err)).toBe(XENSTORE_ERROR_RINGIDX);
    host.unpauseDomain(bad);
    const why = host.run({ maxInsns: 2e8 });
    expect(why).toBe('all-shutdown');
    expect(out.get('xsclient')).toBe(readFileSync(join(ROOT, 'guests/xsclient/expected-domain.txt'), 'latin1'));
    // the hostile guest's own requests fail (EIO), it is not stuck
    expect(out.get('hostile')).toContain('read domid (relative) -> EIO');
    const c = connectLocal(xs);
    c.write('/tool/ok', 'yes');
    expect(c.read('/tool/ok')).toBe('yes');
    expect(c.read(`/local/domain/${good.domid}/data/greeting`)).toBe('hello again');
  });

  it('a TS-side flood of bad messages into a ring (oversized length) drops only that ring', () => {
    const { host, store, xs } = ioHost();
    const d = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 16, paused: true });
    const gpa = store.ringGpaOf(d);
    const hdr = new Uint8Array(16);
    const v = new DataView(hdr.buffer);
    v.setUint32(0, 2, true); v.setUint32(12, 100_000, true); // XS_READ with len 100000
    d.access.write(gpa + XDI.req, hdr);
    const idx = new Uint8Array(8);
    new DataView(idx.buffer).setUint32(4, 16, true);
    d.access.write(gpa + XDI.req_cons, idx);
    store.bindings.get(d.domid)!.ring.processRing();
    const err = new Uint8Array(4);
    d.access.read(gpa + XDI.error, err);
    expect(u32(err)).not.toBe(0);
    const c = connectLocal(xs);
    expect(c.read(`/local/domain/${d.domid}/name`)).toBe('victim');
  });
});
