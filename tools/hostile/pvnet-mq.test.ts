// pv-net multi-queue (issue 12 §5): hostile frontends that ask for more queues than netback offers
// (multi-queue-max-queues 4), for none, or leave a queue's keys out, next to a victim pair on the
// same bridge. netback refuses the attacker's vif as Linux's xen-netback connect() does (the vif
// never connects, the backend goes Closing with the reason logged); the victims keep exchanging
// frames and the host keeps answering. (The unit cases in packages/pv-net/test/netback.test.ts
// check the refusal alone; here the victims run next to it.)
import { describe, it, expect } from 'vitest';
import { XenbusState } from '@tachyxx/abi';
import { icmpEcho, type TsNetFrontend } from '../../packages/pv-net/test/helpers.js';
import { attackerAndVictims, IP, victimsFine } from './pvnet-helpers.js';

type Keys = (x: TsNetFrontend) => Record<string, string>;
const cases: [string, Keys, RegExp][] = [
  ['5 queues (netback offers 4)', () => ({ 'multi-queue-num-queues': '5' }), /guest requested 5 queues, exceeding the maximum of 4/],
  ['65536 queues', () => ({ 'multi-queue-num-queues': '65536' }), /guest requested 65536 queues, exceeding the maximum of 4/],
  ['0 queues', () => ({ 'multi-queue-num-queues': '0' }), /guest requested 0 queues/],
  ['a non-number', () => ({ 'multi-queue-num-queues': '2x' }), /guest requested 2x queues/],
  // 2 queues but only the flat single-queue keys the helper writes: queue-0/ is missing
  ['2 queues, keys flat (no queue-N/)', () => ({ 'multi-queue-num-queues': '2' }), /reading \S+\/queue-0\/tx-ring-ref and rx-ring-ref/],
  // queue 0 complete, queue 1's event channel left out
  ['2 queues, queue-1/event-channel left out', (x) => ({
    'multi-queue-num-queues': '2', 'queue-0/tx-ring-ref': '8', 'queue-0/rx-ring-ref': '9', 'queue-0/event-channel': String(x.txPort),
    'queue-1/tx-ring-ref': '8', 'queue-1/rx-ring-ref': '9',
  }), /reading \S+\/queue-1\/event-channel/],
  // queue 1 names queue 0's event channel twice over a ring ref nobody granted
  ['2 queues, queue-1 rings not granted', (x) => ({
    'multi-queue-num-queues': '2', 'queue-0/tx-ring-ref': '8', 'queue-0/rx-ring-ref': '9', 'queue-0/event-channel': String(x.txPort),
    'queue-1/tx-ring-ref': '700', 'queue-1/rx-ring-ref': '701', 'queue-1/event-channel': String(x.txPort),
  }), /mapping \S+\/queue-1\/tx-ring-ref 700: GNTST/],
];

describe('hostile multi-queue netif frontends vs netback', () => {
  for (const [what, keys, why] of cases) {
    it(`${what}: the attacker's vif does not connect; the victim pair and the host go on`, () => {
      const { h, x, a, b } = attackerAndVictims({ keys });
      expect(x.backendState()).toBe(XenbusState.Closing);
      expect(h.log.join('\n')).toMatch(why);
      expect(h.net.vif(x.d.domid, 0), 'no vif on the bridge for the attacker').toBeUndefined();
      for (const v of [a, b]) expect(h.net.vif(v.d.domid, 0)!.queues).toBe(1);
      victimsFine(h, a, b, 1);
      // the attacker's port: frames for its MAC reach nobody, the victims still talk
      a.send(icmpEcho(x.mac(), a.mac(), IP(1), IP(9), 8, 7, 2));
      h.advance(1_000_000);
      expect(x.takeRx()).toEqual([]);
      victimsFine(h, a, b, 3);
    });
  }
});
