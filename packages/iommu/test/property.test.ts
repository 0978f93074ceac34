import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DMA_READ, DMA_WRITE } from '@tachyxx/core';
import { P2M_R, P2M_W } from '@tachyxx/hypervisor';
import { cost, framesOf, iommuOn, machineWith, maOf, PAGE, RAM_GPA } from './helpers.js';

const iova = fc.oneof(
  fc.integer({ min: 0, max: 1024 * PAGE + 4095 }).map((o) => RAM_GPA + o), // in or just past a domain's RAM
  fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  fc.constantFrom(-1, NaN, Infinity, 2 ** 53, 0.5, RAM_GPA - 1),
);
const op = fc.oneof(
  fc.record({ t: fc.constant('dma' as const), rid: fc.integer({ min: 0, max: 7 }), iova, access: fc.constantFrom(DMA_READ, DMA_WRITE, DMA_READ | DMA_WRITE, 0, 4) }),
  fc.record({ t: fc.constant('assign' as const), rid: fc.integer({ min: 0, max: 7 }), dom: fc.integer({ min: 0, max: 2 }), perms: fc.constantFrom(DMA_READ, DMA_WRITE, DMA_READ | DMA_WRITE) }),
  fc.record({ t: fc.constant('deassign' as const), rid: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ t: fc.constant('unmap' as const), dom: fc.integer({ min: 0, max: 2 }), page: fc.integer({ min: 0, max: 1023 }) }),
  fc.record({ t: fc.constant('remap' as const), dom: fc.integer({ min: 0, max: 2 }), page: fc.integer({ min: 0, max: 1023 }), ro: fc.boolean() }),
);

describe('translate() (property)', () => {
  for (const variant of ['shared-stage2', 'private'] as const) {
    it(`${variant}: never throws, never answers outside the device's domain, always the P2M's answer`, () => {
      fc.assert(fc.property(fc.array(op, { maxLength: 60 }), fc.boolean(), fc.integer({ min: 0, max: 3 }), (ops, superpages, tlbShift) => {
        const env = machineWith({ domains: 3, superpages, memoryMiB: 48 });
        const io = iommuOn(env, { variant, iotlbEntries: 4 << tlbShift, iotlbWays: 2, faultQueueEntries: 8 });
        const owner = new Map<number, { dom: number; perms: number }>();
        for (const o of ops) {
          if (o.t === 'assign') { expect(io.assignDevice(o.rid, env.doms[o.dom]!.domid, o.perms)).toBe(0); owner.set(o.rid, { dom: o.dom, perms: o.perms }); }
          else if (o.t === 'deassign') { io.deassignDevice(o.rid); owner.delete(o.rid); }
          else if (o.t === 'unmap') env.doms[o.dom]!.p2m!.unmap(RAM_GPA / PAGE + o.page);
          else if (o.t === 'remap') {
            // give the page back (or make it read-only): a frame the domain owns
            const d = env.doms[o.dom]!;
            const gfn = RAM_GPA / PAGE + o.page;
            let mfn = d.p2m!.lookup(gfn);
            if (mfn < 0) mfn = env.machine.allocExtent(d.domid, 0);
            if (mfn >= 0) d.p2m!.map(gfn, mfn, o.ro ? P2M_R : P2M_R | P2M_W);
          } else {
            const r = io.translate(o.rid, o.iova, o.access, cost());
            const own = owner.get(o.rid);
            if (r === -1) {
              // refused: fine unless everything allowed it
              if (own && (o.access === DMA_READ || o.access === DMA_WRITE || o.access === 3) && (o.access & ~own.perms) === 0) {
                const d = env.doms[own.dom]!;
                const ma = Number.isInteger(o.iova) && o.iova >= 0 && o.iova < 2 ** 53 ? maOf(d, o.iova) : -1;
                const w = (d.p2m!.permsOf(Math.floor(o.iova / PAGE)) & P2M_W) !== 0;
                if (ma >= 0 && ((o.access & DMA_WRITE) === 0 || w)) throw new Error(`refused a legal DMA ${o.iova} for rid ${o.rid}`);
              }
              continue;
            }
            expect(own).toBeDefined();
            const d = env.doms[own!.dom]!;
            expect(r).toBe(maOf(d, o.iova));
            expect(framesOf(d).has(Math.floor(r / PAGE))).toBe(true);
          }
        }
        io.dispose();
      }), { numRuns: 60 });
    });
  }
});
