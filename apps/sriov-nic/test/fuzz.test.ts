// Property: whatever a VF driver writes — any register, any value, any descriptor bytes in its
// own memory, any order — the device never throws, never DMAs outside that VF's window (the
// IOMMU stand-in refuses and records it; nothing outside is written), and another VF's traffic
// still gets through intact afterwards.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { IoTranslator } from '@tachyxx/core';
import { REG, DESC_SIZE } from '../src/index.js';
import { frame, RAM_BASE, rig, TsVf } from './harness.js';

const WIN = 0x10_0000;
const AREA = (k: number) => RAM_BASE + WIN * k;

class Windows implements IoTranslator {
  readonly w = new Map<number, number>();
  outside = 0;
  translate(rid: number, iova: number, _a: number, cost: { cycles: number }): number {
    cost.cycles = 0;
    const base = this.w.get(rid);
    if (base === undefined || !Number.isSafeInteger(iova) || iova < base || iova >= base + WIN) { this.outside++; return -1; }
    return iova;
  }
}

const REGS = [REG.CTRL, REG.ICR, REG.IMS, REG.TDBAL, REG.TDBAH, REG.TDLEN, REG.TDT, REG.RDBAL, REG.RDBAH, REG.RDLEN, REG.RDT, REG.VFMAILBOX, REG.VFMBMEM, REG.RAL, REG.VLAN, 0x3ffc, 0x1000];

describe('sriov-nic fuzz', () => {
  it('random VF register writes and descriptor bytes: no throw, no DMA outside the VF window, the neighbour VFs keep working', () => {
    fc.assert(fc.property(
      fc.array(fc.record({
        kind: fc.constantFrom('reg', 'desc', 'uplink', 'run'),
        reg: fc.constantFrom(...REGS),
        value: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 6, 8, 16, 32, 255, 256, 4096, AREA(1), AREA(2), AREA(1) + WIN - 8)),
        slot: fc.integer({ min: 0, max: 63 }),
        bytes: fc.uint8Array({ minLength: DESC_SIZE, maxLength: DESC_SIZE }),
      }), { maxLength: 60 }),
      (ops) => {
        const t = new Windows();
        const r = rig('sriov-nic(vfs=3)', { translator: t, numvfs: 3 });
        for (let k = 1; k <= 3; k++) t.w.set(r.nic.vfs[k - 1]!.rid, AREA(k));
        const evil = new TsVf(r, 1, AREA(1)).up();
        const b = new TsVf(r, 2, AREA(2)).up(), c = new TsVf(r, 3, AREA(3)).up();
        const guard = r.mem.u8.slice(WIN * 2, WIN * 4); // VF 2's and VF 3's windows
        const snapOthers = () => r.mem.u8.subarray(WIN * 2, WIN * 4);
        for (const op of ops) {
          if (op.kind === 'reg') evil.w32(op.reg, op.value);
          else if (op.kind === 'desc') r.mem.u8.set(op.bytes, AREA(1) - RAM_BASE + op.slot * DESC_SIZE);
          else if (op.kind === 'uplink') r.nic.fromUplink(frame(r.pf.macs[1]!, 0x02_00_00_00_00_77, op.value >>> 0, 46 + (op.slot % 8) * 100));
          else r.timer.run(op.value % 50_000);
        }
        r.timer.run();
        // Nothing landed in the other VFs' memory.
        expect(Buffer.compare(Buffer.from(guard), Buffer.from(snapOthers()))).toBe(0);
        // VF 2 -> VF 3 still works.
        const f = frame(c.mac, b.mac, 42, 100);
        b.send(f);
        r.timer.run();
        const got = c.poll();
        expect(got.map((x) => [...x])).toEqual([[...f]]);
      },
    ), { numRuns: 60 });
  });
});
