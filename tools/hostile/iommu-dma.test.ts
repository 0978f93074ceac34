// Hostile DMA (issue 13, "safe DMA"): a device given to domain A is programmed (here: driven by the
// test, as A's driver would program it) to DMA outside A's memory — at guest-physical addresses A
// does not have, at the machine addresses of victim B's pages, at random addresses. Under the
// IOMMU (shared-stage2, private) every such write is refused with a fault recorded and no byte
// lands; B's memory and console output are unchanged. Under `none` (no IOMMU) the same device
// overwrites B's memory: the book's unsafe DMA, made visible.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DMA_READ, DMA_WRITE } from '@tachyxx/core';
import type { Domain, Host, Vcpu } from '@tachyxx/hypervisor';
import { Iommu, passthroughAllowed, type IommuVariant } from '@tachyxx/iommu';
import { ioHost, image } from '../test/io-helpers.js';

const PAGE = 4096;
const RAM = 0x8000_0000; // GUEST_RAM_BASE
const RID = 0x0008; // the device passed to A: 00:01.0

/** A DMA engine as the PCIe side runs one: translate each page, then write; stop at the first refusal. */
function dmaWrite(host: Host, io: Iommu, iova: number, data: Uint8Array): number {
  let done = 0;
  const cost = { cycles: 0 };
  while (done < data.length) {
    const a = iova + done;
    const n = Math.min(data.length - done, PAGE - (a % PAGE));
    const ma = io.translate(RID, a, DMA_WRITE, cost);
    if (ma < 0) return done;
    host.machine.mem.writeBytes(ma, data.subarray(done, done + n));
    done += n;
  }
  return done;
}

/** The machine address of `d`'s guest-physical `gpa`. */
const maOf = (d: Domain<Vcpu>, gpa: number) => d.p2m!.lookup(Math.floor(gpa / PAGE)) * PAGE + (gpa % PAGE);
const snapshot = (host: Host, d: Domain<Vcpu>, pages: number) => {
  const out: Uint8Array[] = [];
  for (let p = 0; p < pages; p++) out.push(host.machine.mem.readBytes(maOf(d, RAM + p * PAGE), PAGE));
  return out;
};

function setup(variant: IommuVariant) {
  const { host, out } = ioHost();
  const a = host.createDomain({ name: 'attacker', image: image('hello'), memoryMiB: 4, paused: true });
  const b = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 4, paused: true });
  const io = new Iommu({ variant, machine: host.machine, domains: host.domains, log: (l) => host.log(l) });
  expect(io.assignDevice(RID, a.domid)).toBe(0);
  return { host, out, a, b, io };
}

const evil = new Uint8Array(3 * PAGE).fill(0xee);

describe('hostile DMA from a passed-through device', () => {
  for (const variant of ['shared-stage2', 'private'] as const) {
    it(`${variant}: writes outside the domain are refused, faulted, and leave the victim untouched`, () => {
      const { host, out, a, b, io } = setup(variant);
      const before = snapshot(host, b, 64);
      let end = RAM / PAGE; // A's first unmapped page after its RAM (its special pages follow RAM)
      while (a.p2m!.lookup(end) >= 0) end++;
      const targets = [
        end * PAGE, // just past A's memory
        (end - 1) * PAGE, // A's last page, then across its end
        maOf(b, RAM), // B's first page by machine address (what a device without an IOMMU would use)
        maOf(b, RAM + 16 * PAGE),
        0x1000, // below RAM
        2 ** 52, // far away
      ];
      const written = targets.map((t) => dmaWrite(host, io, t, evil));
      expect(written).toEqual([0, PAGE, 0, 0, 0, 0]); // only A's own last page took bytes
      // Random addresses: whatever lands, lands in A's own frames.
      const aFrames = new Set<number>();
      a.p2m!.forEachMapping((_g, mfn, _p, n) => { for (let i = 0; i < n; i++) aFrames.add(mfn + i); });
      fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 53 - 1 }), fc.boolean(), (iova, w) => {
        const ma = io.translate(RID, iova, w ? DMA_WRITE : DMA_READ, { cycles: 0 });
        return ma === -1 || aFrames.has(Math.floor(ma / PAGE));
      }), { numRuns: 500, seed: 13 });
      expect(snapshot(host, b, 64)).toEqual(before);
      const faults = io.drainFaults();
      expect(faults.length).toBeGreaterThanOrEqual(6);
      expect(faults.every((f) => f.rid === RID && f.domid === a.domid)).toBe(true);
      expect(faults[0]).toMatchObject({ kind: 'translation', addr: end * PAGE, access: DMA_WRITE });
      // The victim runs as if nothing happened.
      host.unpauseDomain(b);
      host.run({ untilNs: host.clock.now + 50_000_000 });
      expect(out.get('victim')).toMatch(/hello/i);
    });
  }

  it('none: the same device overwrites the victim (why passthrough needs unsafe-passthrough)', () => {
    const { host, a, b, io } = setup('none');
    expect(passthroughAllowed('none', false).allowed).toBe(false);
    const before = snapshot(host, b, 1)[0]!;
    expect(before.every((x) => x === 0xee)).toBe(false);
    expect(dmaWrite(host, io, maOf(b, RAM), evil.subarray(0, PAGE))).toBe(PAGE);
    expect(snapshot(host, b, 1)[0]!.every((x) => x === 0xee)).toBe(true); // the victim's first page is gone
    expect(io.queuedFaults).toBe(0); // and nobody noticed
    expect(a.domid).not.toBe(b.domid);
  });
});
