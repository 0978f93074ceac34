// Fuzzed messages (issue 13 §6, "fuzzed MSI-X tables"): whatever address and data a device's MSI-X
// table holds, with remapping an interrupt reaches only the domain/pirq of an entry that names
// that very requester; nothing throws; blocked messages are counted, never delivered.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SimClock } from '@tachyxx/core';
import { IrqRemapper, MSI_ADDR_BASE, type IrqRemapHost } from '../src/index.js';

function host(): IrqRemapHost {
  const doms = new Map<number, any>();
  for (const domid of [1, 2, 3]) {
    const d: any = { domid, isDying: false, vcpus: [] };
    d.vcpus.push({ id: 0, loadedOn: domid === 1 ? 0 : -1, blocked: false, domain: d });
    doms.set(domid, d);
  }
  return { freqHz: 1e9, clock: new SimClock(1000), domains: { get: (i) => doms.get(i), list: () => [...doms.values()] }, chargeCycles() {}, wakeVcpu() {}, log() {} };
}

const addr = fc.oneof(
  fc.integer({ min: 0, max: 0xfffff }).map((o) => MSI_ADDR_BASE + o), // anywhere in the doorbell window
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.constantFrom(NaN, -1, 2 ** 53, MSI_ADDR_BASE + 0.5),
);

describe('remapped MSIs (property)', () => {
  for (const variant of ['posted', 'forwarded'] as const) {
    it(`${variant}: an interrupt only ever reaches an entry of its own requester`, () => {
      fc.assert(fc.property(
        fc.array(fc.record({ handle: fc.integer({ min: 0, max: 63 }), rid: fc.integer({ min: 0, max: 3 }), domid: fc.integer({ min: 1, max: 3 }), pirq: fc.integer({ min: 0, max: 31 }) }), { maxLength: 20 }),
        fc.array(fc.record({ rid: fc.integer({ min: 0, max: 3 }), addr, data: fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constantFrom(NaN, -1)) }), { maxLength: 80 }),
        (entries, msgs) => {
          const got: string[] = [];
          const r = new IrqRemapper({ variant, host: host(), entries: 64, deliver: (d, p) => { got.push(`${d}:${p}`); return true; } });
          // Which (domid, pirq) each requester may reach: the entries that name it.
          for (const e of entries) expect(r.setEntry(e.handle, { rid: e.rid, domid: e.domid, vcpu: 0, pirq: e.pirq })).toBe(0);
          const allowed = new Map<number, Set<string>>();
          for (let h = 0; h < 64; h++) {
            const t = r.entry(h);
            if (t) { if (!allowed.has(t.rid)) allowed.set(t.rid, new Set()); allowed.get(t.rid)!.add(`${t.domid}:${t.pirq}`); }
          }
          let blocked = 0;
          for (const m of msgs) {
            const before = got.length;
            const ok = r.msi(m.rid, m.addr, m.data);
            if (!ok) blocked++;
            for (const g of got.slice(before)) expect(allowed.get(m.rid)?.has(g)).toBe(true);
            // a posted interrupt for a vCPU that is not running waits; it must also be its own
            for (let d = 2; d <= 3; d++) r.vcpuRunning({ id: 0, loadedOn: 0, blocked: false, domain: { domid: d } as any }, 2000);
            for (const g of got.slice(before)) expect(allowed.get(m.rid)?.has(g)).toBe(true);
          }
          expect(r.stats.unmapped.value + r.stats.wrongDevice.value).toBe(blocked);
        },
      ), { numRuns: 200 });
    });
  }
});
