// Hostile in-process frontends against dom0's echo backend (issue 10 §4): wild ring indexes,
// unmapped and foreign grant refs, state flapping, a domain dying mid-request. Each run checks
// that only the hostile device is shut, an honest device of another domain keeps working, and
// no grant mapping or dom0 port is left behind.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { XenbusState } from '@tachyxx/abi';
import { guestDomain, TsEchoFrontend, xenbusHost, type XenbusHost } from '../../packages/xenbus/test/helpers.js';

function honest(h: XenbusHost) {
  const d = guestDomain(h, 'honest');
  const f = new TsEchoFrontend(h, d).add();
  f.connect();
  return f;
}

function honestStillWorks(f: TsEchoFrontend): void {
  f.send(5);
  expect(f.takeResponses()).toMatchObject({ ok: 5, bad: 0 });
  expect(f.backendState()).toBe(XenbusState.Connected);
}

describe('xenbus: hostile frontends', () => {
  it('wild req_prod values: in range they are served, past the ring the device is shut with a log line', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 0xffff_ffff }), { minLength: 1, maxLength: 8 }), (prods) => {
      const h = xenbusHost();
      const good = honest(h);
      const d = guestDomain(h, 'hostile');
      const f = new TsEchoFrontend(h, d).add();
      f.connect();
      const dev = h.backends.device('echo', d.domid, 0)!;
      let shut = false;
      for (const p of prods) {
        const ring = dev.ring;
        const expectFault = ring !== null && ((p - ring.back.rsp_prod_pvt) >>> 0) > 128;
        f.publish(p);
        if (expectFault) { shut = true; break; }
        expect(f.backendState()).toBe(XenbusState.Connected);
      }
      if (shut) {
        expect(f.backendState()).toBe(XenbusState.Closing);
        expect(h.log.some((l) => l.includes('bogus ring requests') && l.includes('device disabled'))).toBe(true);
        expect(h.dom0Maps()).toBe(1); // only the honest device's ring
      }
      honestStillWorks(good);
    }), { numRuns: 40 });
  });

  it('unmapped, foreign and absurd grant refs: the device closes with an error, nothing is mapped', () => {
    fc.assert(fc.property(fc.oneof(fc.integer({ min: 0, max: 70_000 }), fc.constantFrom(-1, 2 ** 32, 2 ** 40)), fc.boolean(), (ref, foreign) => {
      const h = xenbusHost();
      const good = honest(h);
      const d = guestDomain(h, 'hostile');
      const other = guestDomain(h, 'third');
      const f = new TsEchoFrontend(h, d).add();
      if (foreign) h.gnt.grantForeignAccess(d.domid, 8, other.domid, 0x8030_0000 / 4096); // granted to someone else
      f.connect({ ref, grant: false });
      expect(f.backendState()).toBe(XenbusState.Closing);
      expect(h.dom0Maps()).toBe(1);
      honestStillWorks(good);
    }), { numRuns: 40 });
  });

  it('state flapping Connected <-> Closing (and other states) never leaks a mapping or a port', () => {
    const states = fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -3);
    fc.assert(fc.property(fc.array(states, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(20), { maxLength: 20 }), (flaps, bursts) => {
      const h = xenbusHost();
      const good = honest(h);
      const d = guestDomain(h, 'hostile');
      const f = new TsEchoFrontend(h, d).add();
      f.connect();
      const ports0 = h.evtchn.ports(0).length;
      flaps.forEach((s, i) => {
        f.setState(s);
        const dev = h.backends.device('echo', d.domid, 0);
        if (dev?.ring && f.state() === XenbusState.Connected && (bursts[i] ?? 0) > 0) {
          // keep the indexes consistent with what the backend saw: the frontend cannot know better
          f.prod = dev.ring.back.req_cons;
          f.cons = dev.ring.back.rsp_prod_pvt;
          f.send(Math.min(bursts[i]!, 100));
        }
        const live = dev?.ring ? 1 : 0;
        expect(h.dom0Maps()).toBe(1 + live);
        expect(h.evtchn.ports(0).length).toBeLessThanOrEqual(ports0);
      });
      honestStillWorks(good);
      h.host.destroyDomain(d);
      expect(h.dom0Maps()).toBe(1);
      expect(h.backends.device('echo', d.domid, 0)).toBeUndefined();
      honestStillWorks(good);
    }), { numRuns: 30 });
  });

  it('the domain dies mid-request: the ring is unmapped, the port closed, the dirs removed', () => {
    const h = xenbusHost({ rateLimiter: { ops: { size: 4, refillTimeMs: 5 } } });
    const good = honest(h);
    const d = guestDomain(h, 'hostile');
    const f = new TsEchoFrontend(h, d).add();
    f.connect();
    f.send(50); // held back by the rate limiter: the retry timer is armed
    expect(h.dom0Maps()).toBe(2);
    const ports = h.evtchn.ports(0).length;
    h.host.destroyDomain(d);
    expect(h.dom0Maps()).toBe(1);
    expect(h.evtchn.ports(0).length).toBeLessThan(ports);
    expect(h.dom0xs.exists(`/local/domain/0/backend/echo/${d.domid}`)).toBe(false);
    h.host.queue.runUntil(h.host.clock.now + 50_000_000); // the retry timer must not touch the dead ring
    expect(h.dom0Maps()).toBe(1);
    // the honest device (rate-limited too) still answers, at its rate
    const g = good;
    g.send(3);
    h.host.queue.runUntil(h.host.clock.now + 50_000_000);
    expect(g.takeResponses()).toMatchObject({ ok: 3, bad: 0 });
  });
});
