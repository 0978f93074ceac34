import { describe, it, expect } from 'vitest';
import { XenbusState, Gntst } from '@tachyxx/abi';
import { connectLocal } from '@tachyxx/xenstore';
import { addDevice, destroyDevice, devicePaths, requestRemove, RateLimiter, TokenBucket, EchoRing, mapBackRing } from '@tachyxx/xenbus';
import { guestDomain, TsEchoFrontend, xenbusHost, RING_GPA } from './helpers.js';

describe('toolstack: libxl device directories', () => {
  it('writes frontend, backend and libxl dirs with libxl permissions', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const p = addDevice(h.dom0xs, { kind: 'echo', domid: d.domid, devid: 3 }, { backend: { mode: 'x' } });
    expect(p).toEqual(devicePaths({ kind: 'echo', domid: d.domid, devid: 3 }));
    expect(p.frontend).toBe(`/local/domain/${d.domid}/device/echo/3`);
    expect(p.backend).toBe(`/local/domain/0/backend/echo/${d.domid}/3`);
    expect(p.libxl).toBe(`/libxl/${d.domid}/device/echo/3`);
    const x = h.dom0xs;
    expect(x.getPerms(p.frontend)).toEqual([`n${d.domid}`, 'r0']);
    expect(x.getPerms(p.backend)).toEqual(['n0', `r${d.domid}`]);
    expect(x.read(`${p.frontend}/backend`)).toBe(p.backend);
    expect(x.read(`${p.frontend}/backend-id`)).toBe('0');
    expect(x.read(`${p.backend}/frontend`)).toBe(p.frontend);
    expect(x.read(`${p.backend}/frontend-id`)).toBe(String(d.domid));
    expect(x.read(`${p.backend}/online`)).toBe('1');
    expect(x.read(`${p.libxl}/mode`)).toBe('x');
    // The guest can write its own dir, only read the backend's, and not see libxl's.
    const g = connectLocal(h.xs, d.domid);
    g.write(`${p.frontend}/ring-ref`, '8');
    expect(() => g.write(`${p.backend}/online`, '0')).toThrow(/EACCES/);
    expect(g.read(`${p.backend}/online`)).toBe('1');
    expect(() => g.read(`${p.libxl}/mode`)).toThrow(/EACCES|ENOENT/);
    // Another guest sees neither.
    const other = guestDomain(h, 'g2');
    const o = connectLocal(h.xs, other.domid);
    expect(() => o.read(`${p.frontend}/backend`)).toThrow(/EACCES/);
    expect(() => o.read(`${p.backend}/online`)).toThrow(/EACCES/);
    destroyDevice(h.dom0xs, { kind: 'echo', domid: d.domid, devid: 3 });
    for (const path of Object.values(p)) expect(x.exists(path)).toBe(false);
  });

  it('refuses what is not a device', () => {
    expect(() => devicePaths({ kind: 'nic' as never, domid: 1, devid: 0 })).toThrow(/device-type table/);
    expect(() => devicePaths({ kind: 'vif', domid: -1, devid: 0 })).toThrow(/domid/);
    expect(() => devicePaths({ kind: 'vif', domid: 1, devid: 1.5 })).toThrow(/devid/);
  });
});

describe('XenbusState handshake (echo backend)', () => {
  it('probes to InitWait, connects on Initialised, serves, closes, reconnects, and tears down', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    const be = f.xs.read(`${f.dir}/backend`);
    expect(f.backendState()).toBe(XenbusState.InitWait);
    expect(h.dom0xs.read(`${be}/hotplug-status`)).toBe('connected');
    f.connect();
    expect(f.backendState()).toBe(XenbusState.Connected);
    const dev = h.backends.device('echo', d.domid, 0)!;
    expect(dev.ring).not.toBeNull();
    expect(h.dom0Maps()).toBe(1);
    // 200 requests through a 128-entry ring, in batches the frontend has room for.
    let ok = 0;
    for (const n of [100, 28, 72]) {
      f.send(n);
      const r = f.takeResponses();
      expect(r.bad).toBe(0);
      ok += r.ok;
    }
    expect(ok).toBe(200);
    expect(h.host.stats.lookup(`host.xenbus.echo.d${d.domid}-0.requests`)).toMatchObject({ value: 200 });
    // Frontend closes: Closing -> Closed, everything released.
    f.setState(XenbusState.Closing);
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(h.dom0Maps()).toBe(0);
    f.setState(XenbusState.Closed);
    expect(f.backendState()).toBe(XenbusState.Closed);
    // Re-initialise: back to InitWait, then a fresh ring connects.
    f.setState(XenbusState.Initialising);
    expect(f.backendState()).toBe(XenbusState.InitWait);
    f.connect();
    expect(f.backendState()).toBe(XenbusState.Connected);
    f.send(5);
    expect(f.takeResponses()).toMatchObject({ ok: 5, bad: 0 });
    expect(h.dom0Maps()).toBe(1);
    // The domain dies mid-connection: unmapped, port closed, directories gone.
    const dom0PortsBefore = h.evtchn.ports(0).length;
    h.host.destroyDomain(d);
    expect(h.dom0Maps()).toBe(0);
    expect(h.evtchn.ports(0).length).toBe(dom0PortsBefore - 1 - 1); // the echo port and xenstore's
    expect(h.backends.list()).toHaveLength(0);
    expect(h.dom0xs.exists(be)).toBe(false);
    expect(h.dom0xs.exists(`/libxl/${d.domid}`)).toBe(false);
  });

  it('toolstack removal: online 0 + Closing, the frontend closes, the device goes', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    f.connect();
    requestRemove(h.dom0xs, { kind: 'echo', domid: d.domid, devid: 0 });
    h.settle();
    expect(h.dom0Maps()).toBe(0);
    expect(f.backendState()).toBe(XenbusState.Closing);
    f.setState(XenbusState.Closed);
    expect(f.backendState()).toBe(XenbusState.Closed);
    expect(h.backends.list()).toHaveLength(0);
  });

  it('a bad grant ref closes the device with an error node; the ring never maps', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    f.connect({ grant: false });
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(h.dom0xs.read(`/local/domain/0/error/backend/echo/${d.domid}/0/error`)).toMatch(/^22 mapping ring-ref 8: /);
    expect(h.dom0Maps()).toBe(0);
  });

  it('a req_prod past the ring disables the device with a log line; the host goes on', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    f.connect();
    f.publish(129);
    h.settle();
    expect(h.log.some((l) => /xenbus: backend\/echo\/\d+\/0: echo: bogus ring requests: req_prod 129 .* > ring size 128; device disabled/.test(l))).toBe(true);
    expect(f.backendState()).toBe(XenbusState.Closing);
    expect(h.dom0Maps()).toBe(0);
    expect(f.takeResponses().ok).toBe(0);
    // A flap to Connected does not revive it; a full re-init does.
    f.setState(XenbusState.Connected);
    expect(f.backendState()).toBe(XenbusState.Closing);
    f.setState(XenbusState.Closed);
    f.setState(XenbusState.Initialising);
    f.connect();
    f.send(3);
    expect(f.takeResponses()).toMatchObject({ ok: 3, bad: 0 });
  });

  it('unknown ops get -EINVAL, the device stays up', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    f.connect();
    f.send(2, 7);
    expect(f.takeResponses()).toMatchObject({ ok: 0, bad: 2, status: [-22, -22] });
    expect(f.backendState()).toBe(XenbusState.Connected);
  });
});

describe('the ring over a grant mapping', () => {
  it('writes go through the mapping (write notification), never the raw page', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    h.gnt.grantForeignAccess(d.domid, 9, 0, RING_GPA / 4096);
    const ring = mapBackRing(h.gnt, d.domid, 9, EchoRing);
    if (typeof ring === 'number') throw new Error(`map: ${ring}`);
    const seen: number[] = [];
    const mem = h.host.machine.mem as unknown as { notifyWrite(off: number, len: number): void };
    const orig = mem.notifyWrite.bind(mem);
    mem.notifyWrite = (off, len) => { seen.push(len); orig(off, len); };
    d.access.writeU32(RING_GPA, 1); // one request published
    expect(ring.available()).toBe(1);
    ring.takeRequest(EchoRing.req.create());
    seen.length = 0;
    ring.putResponse({ id: 1, status: 0, value: 2 });
    ring.pushResponses();
    ring.finalCheckForRequests();
    mem.notifyWrite = orig;
    expect(seen).toEqual([16, 4, 4]);
    expect(d.access.readU32(RING_GPA + 8)).toBe(1);
    ring.unmap();
    expect(ring.putResponse({ id: 1, status: 0, value: 2 })).toBe(false);
    expect(h.dom0Maps()).toBe(0);
  });

  it('refuses read-only and foreign grants', () => {
    const h = xenbusHost();
    const d = guestDomain(h, 'g1');
    const e = guestDomain(h, 'g2');
    h.gnt.grantForeignAccess(d.domid, 9, 0, RING_GPA / 4096, true);
    expect(mapBackRing(h.gnt, d.domid, 9, EchoRing)).toBeLessThan(0);
    h.gnt.grantForeignAccess(d.domid, 10, e.domid, RING_GPA / 4096);
    expect(typeof mapBackRing(h.gnt, d.domid, 10, EchoRing)).toBe('number');
    expect(mapBackRing(h.gnt, d.domid, 2 ** 40, EchoRing)).toBe(Gntst.bad_gntref);
    expect(h.dom0Maps()).toBe(0);
  });
});

describe('rate limiter (Firecracker token buckets)', () => {
  it('refills linearly, spends the one-time burst first, and over-consumption leaves a debt', () => {
    const b = new TokenBucket({ size: 100, refillTimeMs: 100, oneTimeBurst: 50 }, 0);
    expect(b.canPay(150, 0)).toBe(true);
    b.pay(150);
    expect(b.burst).toBe(0);
    expect(b.budget).toBe(0);
    expect(b.canPay(1, 0)).toBe(false);
    expect(b.waitNs(10, 0)).toBe(10_000_000);
    expect(b.canPay(10, 10_000_000)).toBe(true);
    const big = new TokenBucket({ size: 100, refillTimeMs: 1 }, 0);
    expect(big.canPay(250, 0)).toBe(true); // full bucket: allowed once
    big.pay(250);
    expect(big.budget).toBe(-150);
    expect(big.canPay(1, 1_000_000)).toBe(false); // still paying the debt
    expect(big.canPay(1, 3_000_000)).toBe(true);
    expect(() => new TokenBucket({ size: 0, refillTimeMs: 1 }, 0)).toThrow(/size/);
  });

  it('throttles the echo device and resumes from the retry timer', () => {
    const h = xenbusHost({ rateLimiter: { ops: { size: 10, refillTimeMs: 1 } } });
    const d = guestDomain(h, 'g1');
    const f = new TsEchoFrontend(h, d).add();
    f.connect();
    f.send(25);
    expect(f.takeResponses().ok).toBe(10);
    const st = `host.xenbus.echo.d${d.domid}-0`;
    expect((h.host.stats.lookup(`${st}.throttled`) as { value: number }).value).toBeGreaterThan(0);
    h.host.queue.runUntil(h.host.clock.now + 3_000_000);
    expect(f.takeResponses().ok).toBe(15);
    const rl = new RateLimiter({ bandwidth: { size: 32, refillTimeMs: 1 } }, 0);
    expect(rl.consume(16, 0)).toBe(true);
    expect(rl.consume(16, 0)).toBe(true);
    expect(rl.consume(16, 0)).toBe(false);
    expect(rl.waitNs(16, 0)).toBe(500_000);
  });
});
