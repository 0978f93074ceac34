// Random event_channel_op sequences from two domains (random commands, fields and pointers,
// some bad) never throw, never touch a third domain, and leave the port tables consistent.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DOMID_SELF, Hypercall, SharedInfo } from '@tachyxx/abi';
import { ARG, ARRAY_GFN, BAD, CB_GFN, makeGuests, type Guest } from './harness.js';

const op = fc.record({
  who: fc.integer({ min: 0, max: 1 }),
  vcpu: fc.integer({ min: 0, max: 1 }),
  cmd: fc.integer({ min: 0, max: 16 }),
  bad: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
  dom: fc.constantFrom(DOMID_SELF, 0, 1, 2, 3, 999),
  port: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.constantFrom(4095, 4096, 131071, 0xffffffff)),
  small: fc.integer({ min: 0, max: 30 }),
  gfn: fc.oneof(fc.constantFrom(CB_GFN, CB_GFN + 1, ARRAY_GFN, ARRAY_GFN + 1), fc.integer({ min: 0, max: 2 ** 40 })),
  poll: fc.boolean(),
});

type OpRecord = typeof op extends fc.Arbitrary<infer T> ? T : never;

function issue(g: Guest, o: OpRecord): number {
  if (o.poll) {
    const r = g.poll([o.port]);
    g.host.wakeVcpu(g.vcpu(0));
    return r;
  }
  // a struct of 24 bytes of chosen fields: u16/u32 at 0, u32 at 4, u64 at 0 (gfn), u32 at 8/12
  const dv = new DataView(new ArrayBuffer(24));
  switch (o.cmd) {
    case 6: dv.setUint16(0, o.dom, true); dv.setUint16(2, o.dom === 999 ? DOMID_SELF : o.dom, true); break;
    case 0: dv.setUint16(0, o.dom, true); dv.setUint32(4, o.port, true); break;
    case 1: dv.setUint32(0, o.small, true); dv.setUint32(4, o.vcpu, true); break;
    case 5: dv.setUint16(0, o.dom, true); dv.setUint32(4, o.port, true); break;
    case 10: case 14: dv.setUint16(0, o.dom, true); break;
    case 11: dv.setUint32(0, o.gfn >>> 0, true); dv.setUint32(4, Math.floor(o.gfn / 2 ** 32), true); dv.setUint32(8, (o.small % 4) * 8, true); dv.setUint32(12, o.vcpu, true); break;
    case 12: dv.setUint32(0, o.gfn >>> 0, true); dv.setUint32(4, Math.floor(o.gfn / 2 ** 32), true); break;
    default: dv.setUint32(0, o.port, true); dv.setUint32(4, o.small, true);
  }
  g.d.access.write(ARG, new Uint8Array(dv.buffer));
  return g.host.hypercalls.dispatch(g.vcpu(o.vcpu), Hypercall.event_channel_op, { a0: o.cmd, a1: o.bad ? BAD : ARG, a2: 0, a3: 0, a4: 0, a5: 0 });
}

describe.each(['2-level', 'fifo'] as const)('random event-channel operations (%s)', (variant) => {
  it('never throw, never touch a bystander domain, and keep interdomain pairs symmetric', () => {
    fc.assert(fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
      const { ev, guests } = makeGuests(variant, 3);
      const [a, b, c] = guests as [Guest, Guest, Guest];
      const bystander = () => {
        const si = new Uint8Array(4096);
        c.d.access.read(c.d.sharedInfoGpa, si);
        return si;
      };
      const before = bystander();
      for (const o of ops) {
        const r = issue(o.who ? b : a, o);
        expect(Number.isInteger(r)).toBe(true);
        expect(r).toBeLessThanOrEqual(0); // event_channel_op returns 0 or -errno
      }
      expect(bystander()).toEqual(before);
      expect(ev.activePorts(c.domid)).toBe(0);
      for (const g of [a, b]) {
        for (const s of ev.ports(g.domid)) {
          if (s.state !== 'interdomain') continue;
          const peer = ev.status(s.remoteDomid!, s.remotePort!);
          expect(peer).toMatchObject({ state: 'interdomain', remoteDomid: g.domid, remotePort: s.port });
        }
        // 2-level pending bits only on ports the domain has had
        const pend = new Uint8Array(512);
        g.d.access.read(g.d.sharedInfoGpa + SharedInfo.evtchn_pending.offset, pend);
        for (let i = 0; i < 4096; i++) if (pend[i >> 3]! & (1 << (i & 7))) expect(i).toBeLessThan(64 * 4);
      }
    }), { numRuns: 60, seed: 7 });
  });
});
