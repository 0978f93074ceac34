// Shared by the hostile netif tests: an attacker frontend next to a victim pair on one bridge,
// and the check that the victims still talk and the host still answers.
import { expect } from 'vitest';
import { XenbusState } from '@tachyxx/abi';
import { connectLocal } from '@tachyxx/xenstore';
import { guestDomain, icmpEcho, netHost, TsNetFrontend, type NetHost } from '../../packages/pv-net/test/helpers.js';

export const IP = (n: number) => [10, 1, 0, n];

/** A host with the attacker `x` (connected with `attackerConn`) and the victims `a`, `b` (RX buffers posted). */
export function attackerAndVictims(attackerConn: Parameters<TsNetFrontend['connect']>[0] = {}, attackerSpec: Parameters<TsNetFrontend['add']>[0] = {}) {
  const h = netHost();
  const x = new TsNetFrontend(h, guestDomain(h, 'attacker')).add(attackerSpec);
  x.connect(attackerConn);
  const a = new TsNetFrontend(h, guestDomain(h, 'victim-a')).add();
  a.connect();
  const b = new TsNetFrontend(h, guestDomain(h, 'victim-b')).add();
  b.connect();
  a.postRx(64);
  b.postRx(64);
  return { h, x, a, b };
}

/** The victims still talk (a ping a->b, delivered), and the host still answers. */
export function victimsFine(h: NetHost, a: TsNetFrontend, b: TsNetFrontend, seq: number): void {
  b.takeRx();
  a.send(icmpEcho(b.mac(), a.mac(), IP(1), IP(2), 8, 7, seq));
  h.advance(1_000_000);
  const got = b.takeRx();
  expect(got.length, 'victim b receives').toBeGreaterThan(0);
  expect(a.backendState()).toBe(XenbusState.Connected);
  expect(b.backendState()).toBe(XenbusState.Connected);
  b.postRx(got.reduce((s, p) => s + p.statuses.length, 0));
  const t = h.host.clock.now;
  h.advance(1000);
  expect(h.host.clock.now).toBeGreaterThan(t);
  expect(connectLocal(h.xs, a.d.domid).read(`${a.dir}/state`)).toBe(String(XenbusState.Connected));
}
