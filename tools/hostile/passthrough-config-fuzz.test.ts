// Fuzzed physdev_op from a guest holding a passed-through function (issue 13): random sequences
// of config reads and writes (any segment, bus, devfn, offset, length, padding, value), map_pirq
// and unmap_pirq (any type, domid, entry, pirq, table base), issued as the attacker's vCPU. Every
// call answers a Xen errno (never throws), and afterwards: the attacker's BARs sit where dom0 put
// them and are mapped where the toolstack put them, its capability list and MSI-X table location
// are unchanged, no FLR happened behind the toolstack's back, the victim's function (config space,
// MSI-X entry, IOMMU context) is untouched, and every remapping entry names the domain that owns
// the requester it accepts (no interrupt can be aimed at another domain).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DOMID_SELF, Errno, GUEST_VPCI_MEM_ADDR, Hypercall, PhysdevMapPirq, PhysdevOp, PhysdevTachyxxPciConfig, PhysdevUnmapPirq,
  PHYSDEVOP_tachyxx_pci_config_read, PHYSDEVOP_tachyxx_pci_config_write,
} from '@tachyxx/abi';
import { parsePciSpec } from '@tachyxx/xlcfg';
import { Passthrough } from '@tachyxx/passthrough';
import { ARG, cfg, PAGE, ptHost, victimIrq } from './passthrough-helpers.js';

const ERRNOS = new Set([0, -Errno.EINVAL, -Errno.ENODEV, -Errno.EFAULT, -Errno.EPERM, -Errno.EBUSY, -Errno.EOPNOTSUPP, -Errno.ESRCH, -Errno.ENOSPC, -Errno.EEXIST, -Errno.ENOSYS]);

const cmd = fc.oneof(
  fc.record({
    k: fc.constantFrom('read', 'write'),
    seg: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
    bus: fc.oneof(fc.constant(1), fc.constant(2), fc.integer({ min: 0, max: 255 })),
    devfn: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
    reg: fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0, max: 0xffff })),
    len: fc.constantFrom(1, 2, 4, 0, 3, 8, 255),
    pad: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
    value: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
  }),
  fc.record({
    k: fc.constantFrom('map'),
    domid: fc.constantFrom(DOMID_SELF, 0, 1, 2, 3, 0x7ff4),
    type: fc.integer({ min: -1, max: 5 }),
    pirq: fc.integer({ min: -2, max: 300 }),
    bus: fc.oneof(fc.constant(1), fc.constant(2), fc.integer({ min: -1, max: 0x1ffff })),
    devfn: fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 300 })),
    entry: fc.integer({ min: -1, max: 3 }),
    table: fc.oneof(fc.constant(0), fc.constant(0x2310_0000), fc.integer({ min: 0, max: 0xffffffff })),
  }),
  fc.record({ k: fc.constantFrom('unmap'), domid: fc.constantFrom(DOMID_SELF, 0, 2), pirq: fc.integer({ min: -2, max: 40 }) }),
);

describe('fuzzed physdev_op from a guest with a passed-through device', () => {
  for (const irq of ['posted', 'none'] as const) {
    it(`${irq}: Xen errnos only, and the filter's invariants hold`, async () => {
      const t = ptHost({ irq });
      try {
        await t.op('pci-assignable-add', { bdf: '01:00.0' });
        await t.op('pci-assignable-add', { bdf: '02:00.0' });
        const v = await t.op('create', { config: cfg('victim', 'spin', [parsePciSpec('02:00.0')]), paused: true });
        const a = await t.op('create', { config: cfg('attacker', 'spin', [parsePciSpec('01:00.0')]), paused: true });
        const vd = t.dom(v.domid), ad = t.dom(a.domid);
        victimIrq(t.ts, vd, 2, 0);
        const ae = t.attackerEdu, ve = t.victimEdu;
        const cs = (f: typeof ae) => Array.from({ length: 1024 }, (_, i) => f.configRead(i * 4, 4));
        const victimCs = cs(ve), victimEntry = Passthrough.msixEntry(ve, 0);
        const bars = JSON.stringify(ae.barSpecs.map((_, i) => ae.configRead(0x10 + 4 * i, 4)));
        const capsOf = (f: typeof ae) => [0x34, ...[0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0].map((o) => f.configRead(o, 2))].join();
        const caps = capsOf(ae);
        const msixCap = t.pt.assignment({ seg: 0, bus: 1, devfn: 0 })!.vcfg.msixCap;
        const table = ae.configRead(msixCap + 4, 4);
        const flrs = [ae.flrCount, ve.flrCount];
        const io = t.iommu.unit(0);
        const call = (nr: number, sub: number, bytes: Uint8Array) => {
          ad.access.write(ARG, bytes);
          return t.ts.host.hypercalls.dispatch(ad.vcpus[0]!, nr, { a0: sub, a1: ARG, a2: 0, a3: 0, a4: 0, a5: 0 });
        };
        fc.assert(fc.property(fc.array(cmd, { minLength: 1, maxLength: 24 }), (cmds) => {
          for (const c of cmds) {
            let rc: number;
            if (c.k !== 'map' && c.k !== 'unmap') {
              const b = new Uint8Array(PhysdevTachyxxPciConfig.size), dv = new DataView(b.buffer);
              dv.setUint16(0, c.seg, true); dv.setUint8(2, c.bus); dv.setUint8(3, c.devfn); dv.setUint16(4, c.reg, true); dv.setUint8(6, c.len); dv.setUint8(7, c.pad); dv.setUint32(8, c.value >>> 0, true);
              rc = call(Hypercall.physdev_op, c.k === 'read' ? PHYSDEVOP_tachyxx_pci_config_read : PHYSDEVOP_tachyxx_pci_config_write, b);
            } else if (c.k === 'map') {
              const b = new Uint8Array(PhysdevMapPirq.size), dv = new DataView(b.buffer);
              dv.setUint16(0, c.domid, true); dv.setInt32(4, c.type, true); dv.setInt32(8, -1, true); dv.setInt32(12, c.pirq, true);
              dv.setInt32(16, c.bus, true); dv.setInt32(20, c.devfn, true); dv.setInt32(24, c.entry, true); dv.setUint32(32, c.table >>> 0, true);
              rc = call(Hypercall.physdev_op, PhysdevOp.map_pirq, b);
            } else {
              const b = new Uint8Array(PhysdevUnmapPirq.size), dv = new DataView(b.buffer);
              dv.setUint16(0, c.domid, true); dv.setInt32(4, c.pirq, true);
              rc = call(Hypercall.physdev_op, PhysdevOp.unmap_pirq, b);
            }
            if (!ERRNOS.has(rc)) throw new Error(`${JSON.stringify(c)} -> ${rc}`);
          }
          // The attacker's function: BARs, capability list, MSI-X table location, no FLR.
          expect(JSON.stringify(ae.barSpecs.map((_, i) => ae.configRead(0x10 + 4 * i, 4)))).toBe(bars);
          expect(capsOf(ae)).toBe(caps);
          expect(ae.configRead(msixCap + 4, 4)).toBe(table);
          expect([ae.flrCount, ve.flrCount]).toEqual(flrs);
          expect(ad.p2m!.lookup(GUEST_VPCI_MEM_ADDR / PAGE)).toBe(0x4000_0000 / PAGE);
          expect(ae.owner).toBe(ad.domid);
          // The victim's function.
          expect(cs(ve)).toEqual(victimCs);
          expect(Passthrough.msixEntry(ve, 0)).toEqual(victimEntry);
          expect(io.context(ve.rid)?.domid).toBe(vd.domid);
          expect(io.context(ae.rid)?.domid).toBe(ad.domid);
          // Every remapping entry belongs to the owner of its requester.
          const rm = t.irq.unit(0);
          for (let h = 0; h < rm.entries; h++) {
            const e = rm.entry(h);
            if (e) expect(e.domid).toBe(e.rid === ae.rid ? ad.domid : e.rid === ve.rid ? vd.domid : -1);
          }
        }), { numRuns: 200, seed: 1313 });
        expect(t.pt.stats.errors.value).toBeGreaterThan(0);
        expect(t.pt.stats.configDropped.value).toBeGreaterThan(0);
      } finally { t.ts.close(); }
    });
  }
});
