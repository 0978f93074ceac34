// Random grant traffic between three domains (grants, revokes, maps, unmaps, copies, backend
// maps, a domain dying midway) against a small model; after every op the hypervisor's state
// agrees with the model, and at the end every frame returns.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { DOMID_SELF, DOMID_XEN, GNTCOPY_source_gref, GNTMAP_host_map, GNTMAP_readonly, GTF_permit_access, GTF_reading, GTF_writing, Gntst } from '@tachyxx/abi';
import { DATA, HOLE, copyOps, domain, entryFlags, gfnOf, grant, makeHost, map1, unmap1 } from './helpers.js';

type Op =
  | { k: 'grant'; g: number; ref: number; to: number; page: number; ro: boolean }
  | { k: 'revoke'; g: number; ref: number }
  | { k: 'map'; m: number; g: number; ref: number; slot: number; ro: boolean }
  | { k: 'unmap'; m: number; pick: number; wrongAddr: boolean }
  | { k: 'copy'; m: number; g: number; ref: number; off: number; len: number }
  | { k: 'backend'; g: number; ref: number; ro: boolean }
  | { k: 'kill'; d: number };

const N = 3, REFS = 6, SLOTS = 6;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('grant' as const), g: fc.nat(N - 1), ref: fc.nat(REFS - 1), to: fc.nat(N), page: fc.nat(3), ro: fc.boolean() }),
  fc.record({ k: fc.constant('revoke' as const), g: fc.nat(N - 1), ref: fc.nat(REFS - 1) }),
  fc.record({ k: fc.constant('map' as const), m: fc.nat(N - 1), g: fc.nat(N - 1), ref: fc.nat(REFS + 1), slot: fc.nat(SLOTS - 1), ro: fc.boolean() }),
  fc.record({ k: fc.constant('unmap' as const), m: fc.nat(N - 1), pick: fc.nat(20), wrongAddr: fc.boolean() }),
  fc.record({ k: fc.constant('copy' as const), m: fc.nat(N - 1), g: fc.nat(N - 1), ref: fc.nat(REFS - 1), off: fc.nat(4200), len: fc.nat(300) }),
  fc.record({ k: fc.constant('backend' as const), g: fc.nat(N - 1), ref: fc.nat(REFS - 1), ro: fc.boolean() }),
  fc.record({ k: fc.constant('kill' as const), d: fc.nat(N - 1) }),
);

describe('grant tables under random traffic', () => {
  it('keep pins, flags, frame references and memory consistent', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const { host, gnt } = makeHost();
      const free0 = host.machine.freeFrames();
      const xen0 = host.machine.framesOwnedBy(DOMID_XEN);
      const doms = [0, 1, 2].map((i) => domain(host, `d${i}`));
      const alive = [true, true, true];
      // The model: live mappings per mapper index: { g, ref, slot, handle, ro, mfn }.
      const maps: { m: number; g: number; ref: number; slot: number; handle: number; ro: boolean; mfn: number }[] = [];
      const views: { g: number; ref: number; handle: number; ro: boolean; mfn: number }[] = [];
      const slotUsed = (m: number, slot: number) => maps.some((x) => x.m === m && x.slot === slot);
      const pinnedBy = (g: number, ref: number) => {
        const holders = new Set<number>();
        for (const x of maps) if (x.g === g && x.ref === ref) holders.add(doms[x.m]!.domid);
        for (const v of views) if (v.g === g && v.ref === ref) holders.add(0);
        return holders;
      };
      for (const op of ops) {
        switch (op.k) {
          case 'grant': case 'revoke': {
            if (!alive[op.g]) break;
            const to = op.k === 'grant' ? (op.to === N ? 0 : doms[op.to]!.domid) : 0;
            const flags = entryFlags(doms[op.g]!, op.ref);
            const keep = flags & (GTF_reading | GTF_writing);
            if (op.k === 'grant') grant(host, doms[op.g]!, op.ref, to, gfnOf(DATA) + op.page, GTF_permit_access | keep, op.ro);
            else doms[op.g]!.access.writeU16(0x7f00_0000 + op.ref * 8, keep); // careless revoke: flags stay
            break;
          }
          case 'map': {
            if (!alive[op.m] || slotUsed(op.m, op.slot)) break;
            const m = doms[op.m]!, g = doms[op.g]!;
            const r = map1(host, m, { hostAddr: HOLE + op.slot * 4096, flags: GNTMAP_host_map | (op.ro ? GNTMAP_readonly : 0), ref: op.ref, dom: g.domid });
            if (!alive[op.g]) { expect(r.status).toBe(Gntst.bad_domain); break; }
            if (op.ref >= 512) expect(r.status).toBe(Gntst.bad_gntref);
            const holders = pinnedBy(op.g, op.ref);
            if (holders.size && !holders.has(m.domid)) expect(r.status).toBe(Gntst.general_error);
            if (r.status === Gntst.okay) {
              expect(m.p2m!.lookup(gfnOf(HOLE) + op.slot)).toBe(r.devBusAddr / 4096);
              maps.push({ m: op.m, g: op.g, ref: op.ref, slot: op.slot, handle: r.handle, ro: op.ro, mfn: r.devBusAddr / 4096 });
            }
            break;
          }
          case 'unmap': {
            const mine = maps.filter((x) => x.m === op.m);
            if (!alive[op.m] || mine.length === 0) break;
            const x = mine[op.pick % mine.length]!;
            const st = unmap1(host, doms[op.m]!, HOLE + x.slot * 4096 + (op.wrongAddr ? 4096 * SLOTS : 0), x.handle);
            if (op.wrongAddr) { expect(st).toBe(Gntst.general_error); break; }
            expect(st).toBe(Gntst.okay);
            maps.splice(maps.indexOf(x), 1);
            expect(unmap1(host, doms[op.m]!, HOLE + x.slot * 4096, x.handle)).toBe(Gntst.bad_handle);
            break;
          }
          case 'copy': {
            if (!alive[op.m]) break;
            const r = copyOps(host, doms[op.m]!, [{ src: { u: op.ref, domid: doms[op.g]!.domid, offset: op.off }, dst: { u: gfnOf(DATA) + 5, domid: DOMID_SELF, offset: 0 }, len: op.len, flags: GNTCOPY_source_gref }]);
            expect(r.rc).toBe(0);
            if (op.len > 0 && op.off + op.len > 4096 && r.status[0] !== Gntst.okay) expect([Gntst.bad_copy_arg, Gntst.general_error, Gntst.bad_domain, Gntst.bad_page]).toContain(r.status[0]);
            if (op.off + op.len > 4096 && op.len > 0) expect(r.status[0]).not.toBe(Gntst.okay);
            break;
          }
          case 'backend': {
            const r = gnt.mapForeign(doms[op.g]!.domid, op.ref, { readonly: op.ro });
            if ('status' in r) { if (!alive[op.g]) expect(r.status).toBe(Gntst.bad_domain); break; }
            views.push({ g: op.g, ref: op.ref, handle: r.handle, ro: op.ro, mfn: host.machine.offsetOf(0) });
            if (views.length > 2) {
              const v = views.shift()!;
              expect(gnt.unmapForeign(v.handle)).toBe(Gntst.okay);
            }
            break;
          }
          case 'kill': {
            if (!alive[op.d]) break;
            host.destroyDomain(doms[op.d]!);
            alive[op.d] = false;
            for (let i = maps.length - 1; i >= 0; i--) if (maps[i]!.m === op.d) maps.splice(i, 1);
            break;
          }
        }
        // Invariants: flags of every live granter's entries follow the pins; references match mappings.
        for (let g = 0; g < N; g++) {
          if (!alive[g]) continue;
          for (let ref = 0; ref < REFS; ref++) {
            const f = entryFlags(doms[g]!, ref);
            const ms = maps.filter((x) => x.g === g && x.ref === ref);
            const vs = views.filter((x) => x.g === g && x.ref === ref);
            const any = ms.length + vs.length > 0;
            expect((f & GTF_reading) !== 0 || !any).toBe(true);
            if (any) expect((f & GTF_writing) !== 0).toBe(ms.some((x) => !x.ro) || vs.some((x) => !x.ro));
          }
        }
        const refs = new Map<number, number>();
        for (const x of maps) refs.set(x.mfn, (refs.get(x.mfn) ?? 0) + 1);
        for (const [mfn, n] of refs) expect(host.machine.mapRefsOf(mfn)).toBeGreaterThanOrEqual(n);
        expect(gnt.statsJson().liveMappings).toBe(maps.length + views.length);
      }
      for (const v of views) expect(gnt.unmapForeign(v.handle)).toBe(Gntst.okay);
      for (let i = 0; i < N; i++) if (alive[i]) host.destroyDomain(doms[i]!);
      expect(host.machine.deferredFrames).toBe(0);
      expect(host.machine.freeFrames()).toBe(free0);
      expect(host.machine.framesOwnedBy(DOMID_XEN)).toBe(xen0);
      expect(gnt.statsJson()).toMatchObject({ liveMappings: 0, activeEntries: 0 });
    }), { numRuns: 60 });
  });
});
