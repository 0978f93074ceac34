import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMID_SELF, Errno, MEMOP_EXTENT_SHIFT, XenMem, XENMEMF_exact_node, XenMemoryReservation } from '@tachyxx/abi';
import { Domain, DomainTable, GUEST_RAM_BASE_GFN, MachineMemory, memoryOp, P2M_INVALID_MFN, type MemoryOpContext } from '../src/index.js';

const ARG = 0x8000_0100; // reservation struct in the caller's memory
const LIST = 0x8000_1000; // extent list
const RAM = GUEST_RAM_BASE_GFN;

function setup(opts: { memoryMiB?: number; numa?: boolean } = {}) {
  const machine = opts.numa
    ? new MachineMemory({ memoryMiB: 32, pcpus: 2, numa: { nodes: [{ memoryMiB: 16, pcpus: [0] }, { memoryMiB: 16, pcpus: [1] }] } })
    : new MachineMemory({ memoryMiB: opts.memoryMiB ?? 32 });
  const table = new DomainTable({ machine });
  const dom0 = table.create({ name: 'dom0', domid: 0, memoryMiB: 1 }) as Domain;
  const guest = table.create({ name: 'guest', memoryMiB: 2, maxPages: 1024 }) as Domain;
  const other = table.create({ name: 'other', memoryMiB: 1 }) as Domain;
  const ctx = (d: Domain, strictErrors = false): MemoryOpContext => ({ domain: d, access: d.access, machine, domains: table, strictErrors });
  return { machine, table, dom0, guest, other, ctx };
}

function reservation(d: Domain, r: { list?: number; nr: number; order?: number; flags?: number; domid?: number }, at = ARG) {
  const L = XenMemoryReservation;
  writeU64Any(d, at + L.extent_start.offset, r.list ?? LIST);
  writeU64Any(d, at + L.nr_extents.offset, r.nr);
  expect(d.access.writeU32(at + L.extent_order.offset, r.order ?? 0)).toBe(0);
  expect(d.access.writeU32(at + L.mem_flags.offset, r.flags ?? 0)).toBe(0);
  expect(d.access.writeU16(at + L.domid.offset, r.domid ?? DOMID_SELF)).toBe(0);
}
/** Any u64 the guest can store, also beyond 2^53. */
function writeU64Any(d: Domain, gpa: number, v: number) {
  expect(d.access.writeU32(gpa, v % 2 ** 32)).toBe(0);
  expect(d.access.writeU32(gpa + 4, Math.floor(v / 2 ** 32) >>> 0)).toBe(0);
}
function list(d: Domain, gfns: number[], at = LIST) {
  gfns.forEach((g, i) => expect(d.access.writeU64(at + 8 * i, g)).toBe(0));
}
const range = (a: number, n: number, step = 1) => Array.from({ length: n }, (_, i) => a + i * step);

describe('memory_op reservations', () => {
  it('lets a balloon give pages back and take them again, scrubbed, with a flush per page', () => {
    const { machine, guest, ctx } = setup();
    const flushed: number[] = [];
    machine.onUnmap((vmid, gpa) => { expect(vmid).toBe(guest.vmid); flushed.push(gpa); });
    const free0 = machine.freeFrames();
    const gfns = range(RAM + 256, 16);
    for (const g of gfns) expect(guest.access.writeU32(g * 4096, 0xfeed)).toBe(0);
    list(guest, gfns);
    reservation(guest, { nr: 16 });
    expect(memoryOp(ctx(guest), XenMem.decrease_reservation, ARG)).toBe(16);
    expect(guest.totPages).toBe(512 - 16);
    expect(machine.freeFrames()).toBe(free0 + 16);
    expect(flushed).toEqual(gfns.map((g) => g * 4096));
    expect(guest.access.readU32(gfns[0]! * 4096)).toBe(-Errno.EFAULT);
    expect(memoryOp(ctx(guest), XenMem.current_reservation, writeDomid(guest, DOMID_SELF))).toBe(496);

    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(16);
    expect(guest.totPages).toBe(512);
    expect(machine.freeFrames()).toBe(free0);
    for (const g of gfns) expect(guest.access.readU32(g * 4096)).toBe(0);
    for (const g of gfns) expect(machine.m2p.get(guest.p2m!.lookup(g))).toBe(g);
  });

  it('populates up to max_pages and returns the partial count', () => {
    const { guest, ctx } = setup();
    const gfns = range(RAM + 0x1000, 600);
    list(guest, gfns);
    reservation(guest, { nr: 600 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(512);
    expect(guest.totPages).toBe(1024);
    expect(guest.p2m!.lookup(gfns[511]!)).not.toBe(P2M_INVALID_MFN);
    expect(guest.p2m!.lookup(gfns[512]!)).toBe(P2M_INVALID_MFN);
    expect(memoryOp(ctx(guest), XenMem.maximum_reservation, writeDomid(guest, DOMID_SELF))).toBe(1024);
  });

  it('stops a decrease at the first GFN that is not mapped', () => {
    const { guest, ctx } = setup();
    list(guest, [RAM + 300, RAM + 301, 0x12345, RAM + 302]);
    reservation(guest, { nr: 4 });
    expect(memoryOp(ctx(guest), XenMem.decrease_reservation, ARG)).toBe(2);
    expect(guest.p2m!.lookup(RAM + 302)).not.toBe(P2M_INVALID_MFN);
    expect(guest.totPages).toBe(510);
  });

  it('never releases a special page such as shared info', () => {
    const { table, guest, ctx } = setup();
    const gfn = RAM + 0x9000;
    table.mapSpecialPage(guest, gfn);
    list(guest, [gfn]);
    reservation(guest, { nr: 1 });
    expect(memoryOp(ctx(guest), XenMem.decrease_reservation, ARG)).toBe(0);
    expect(memoryOp({ domain: guest, machine: ctx(guest).machine, domains: table }, XenMem.decrease_reservation, ARG)).toBe(0);
    expect(guest.p2m!.lookup(gfn)).not.toBe(P2M_INVALID_MFN);
  });

  it('refuses to populate a GFN that is already mapped', () => {
    const { guest, ctx } = setup();
    list(guest, [RAM + 0x2000, RAM + 5]);
    reservation(guest, { nr: 2 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(1);
    expect(guest.totPages).toBe(513);
  });

  it('handles 2 MiB extents, superpage-mapped when the domain uses superpages', () => {
    const { machine, table, ctx } = setup();
    const d = table.create({ name: 'sp', memoryMiB: 2, maxPages: 2048, superpages: true }) as Domain;
    list(d, [RAM + 0x4000]);
    reservation(d, { nr: 1, order: 9 });
    const before = d.p2m!.tableFrames;
    expect(memoryOp(ctx(d), XenMem.populate_physmap, ARG)).toBe(1);
    expect(d.totPages).toBe(1024);
    expect(d.p2m!.lookup(RAM + 0x4000 + 511)).toBe(d.p2m!.lookup(RAM + 0x4000) + 511);
    expect(d.p2m!.tableFrames).toBe(before); // a 2 MiB leaf in the existing level-1 table: no level-0 table
    expect(memoryOp(ctx(d), XenMem.decrease_reservation, ARG)).toBe(1);
    expect(d.totPages).toBe(512);
    expect(machine.framesOwnedBy(d.domid)).toBe(512);
  });

  it('honours XENMEMF_exact_node', () => {
    const { machine, guest, ctx } = setup({ numa: true });
    list(guest, range(RAM + 0x3000, 4));
    reservation(guest, { nr: 4, flags: XENMEMF_exact_node(1) });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(4);
    for (let i = 0; i < 4; i++) expect(machine.nodeOfMfn(guest.p2m!.lookup(RAM + 0x3000 + i))).toBe(1);
  });

  it('gives a translated domain unmapped frames on increase_reservation, counted until destroy', () => {
    const { machine, table, guest, ctx } = setup();
    const free0 = machine.freeFrames();
    list(guest, [0, 0]);
    reservation(guest, { nr: 2 });
    expect(memoryOp(ctx(guest), XenMem.increase_reservation, ARG)).toBe(2);
    expect(guest.totPages).toBe(514);
    expect(machine.freeFrames()).toBe(free0 - 2);
    expect(guest.access.readU64(LIST)).toBe(0); // MFNs are not reported to translated guests
    const tables = guest.p2m!.tableFrames;
    table.destroy(guest.domid);
    expect(machine.freeFrames()).toBe(free0 + 512 + tables);
  });

  it('continues from the extent encoded in cmd (Xen continuations)', () => {
    const { guest, ctx } = setup();
    list(guest, range(RAM + 0x5000, 5));
    reservation(guest, { nr: 5 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap | (3 << MEMOP_EXTENT_SHIFT), ARG)).toBe(5);
    expect(guest.p2m!.lookup(RAM + 0x5000 + 2)).toBe(P2M_INVALID_MFN);
    expect(guest.p2m!.lookup(RAM + 0x5000 + 3)).not.toBe(P2M_INVALID_MFN);
    expect(memoryOp(ctx(guest), XenMem.populate_physmap | (7 << MEMOP_EXTENT_SHIFT), ARG)).toBe(7);
  });
});

describe('memory_op with bad arguments', () => {
  it('returns 0 extents (Xen) or -EFAULT (strict) for a reservation it cannot read, and changes nothing', () => {
    const { machine, guest, ctx } = setup();
    const free0 = machine.freeFrames();
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, 0x9000_0000)).toBe(0);
    expect(memoryOp(ctx(guest, true), XenMem.populate_physmap, 0x9000_0000)).toBe(-Errno.EFAULT);
    expect(memoryOp(ctx(guest, true), XenMem.populate_physmap, 0x8000_0000 + 2 * 1024 * 1024 - 16)).toBe(-Errno.EFAULT);
    expect(machine.freeFrames()).toBe(free0);
  });

  it('does nothing when the extent list is not readable, or not writable where it must be', () => {
    const { machine, guest, dom0, ctx } = setup();
    const free0 = machine.freeFrames();
    reservation(guest, { nr: 4, list: 0x8000_0000 + 2 * 1024 * 1024 - 16 }); // list runs off guest RAM
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(0);
    expect(memoryOp(ctx(guest), XenMem.decrease_reservation, ARG)).toBe(0);
    reservation(guest, { nr: 1, list: 2 ** 60 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(0);
    expect(machine.freeFrames()).toBe(free0);
    expect(guest.totPages).toBe(512);
    void dom0;
  });

  it('rejects too many extents and orders above the domU limit', () => {
    const { guest, ctx } = setup();
    reservation(guest, { nr: 2 ** 26 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(0);
    reservation(guest, { nr: 2 ** 60 });
    expect(memoryOp(ctx(guest, true), XenMem.increase_reservation, ARG)).toBe(-Errno.EINVAL);
    list(guest, [RAM + 0x8000]);
    reservation(guest, { nr: 1, order: 10 });
    expect(memoryOp(ctx(guest), XenMem.populate_physmap, ARG)).toBe(0);
    expect(guest.totPages).toBe(512);
  });

  it('does not let a domU touch another domain, but lets dom0', () => {
    const { guest, other, dom0, ctx } = setup();
    list(guest, [RAM + 10]);
    reservation(guest, { nr: 1, domid: other.domid });
    expect(memoryOp(ctx(guest), XenMem.decrease_reservation, ARG)).toBe(0);
    expect(memoryOp(ctx(guest, true), XenMem.decrease_reservation, ARG)).toBe(-Errno.EPERM);
    expect(other.totPages).toBe(256);
    expect(memoryOp(ctx(guest), XenMem.current_reservation, writeDomid(guest, other.domid))).toBe(-Errno.EPERM);
    list(dom0, [RAM + 10]);
    reservation(dom0, { nr: 1, domid: other.domid });
    expect(memoryOp(ctx(dom0), XenMem.decrease_reservation, ARG)).toBe(1);
    expect(other.totPages).toBe(255);
    expect(memoryOp(ctx(dom0), XenMem.current_reservation, writeDomid(dom0, other.domid))).toBe(255);
  });

  it('reports an unknown domain as 0 extents (Xen), -ESRCH (strict and for the queries)', () => {
    const { guest, dom0, ctx } = setup();
    reservation(dom0, { nr: 1, domid: 77 });
    expect(memoryOp(ctx(dom0), XenMem.populate_physmap, ARG)).toBe(0);
    expect(memoryOp(ctx(dom0, true), XenMem.populate_physmap, ARG)).toBe(-Errno.ESRCH);
    expect(memoryOp(ctx(guest), XenMem.maximum_reservation, writeDomid(guest, 77))).toBe(-Errno.ESRCH);
    expect(memoryOp(ctx(guest), XenMem.maximum_reservation, 0x1000)).toBe(-Errno.EFAULT);
  });

  it('answers maximum_ram_page, maximum_gpfn, and -ENOSYS / -EINVAL for the rest', () => {
    const { machine, guest, ctx } = setup();
    expect(memoryOp(ctx(guest), XenMem.maximum_ram_page, 0)).toBe(machine.maxMfn + 1);
    expect(memoryOp(ctx(guest), XenMem.maximum_gpfn, writeDomid(guest, DOMID_SELF))).toBe(RAM + 511);
    expect(memoryOp(ctx(guest), XenMem.maximum_ram_page | (1 << MEMOP_EXTENT_SHIFT), 0)).toBe(-Errno.EINVAL);
    expect(memoryOp(ctx(guest), XenMem.exchange, ARG)).toBe(-Errno.ENOSYS);
    expect(memoryOp(ctx(guest), 63, ARG)).toBe(-Errno.ENOSYS);
  });

  it('keeps ownership and accounting consistent over random balloon traffic', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ op: fc.constantFrom(XenMem.decrease_reservation, XenMem.populate_physmap, XenMem.increase_reservation), gfns: fc.array(fc.integer({ min: RAM, max: RAM + 700 }).filter((g) => g < RAM + 508 || g > RAM + 511), { minLength: 1, maxLength: 12 }), order: fc.constantFrom(0, 0, 1, 2) }), { maxLength: 25 }),
      // (GFNs 508-511 hold the op's own argument struct and extent list: never balloon them out.)
      (ops) => {
        const { machine, table, guest, ctx } = setup({ memoryMiB: 16 });
        const free0 = machine.freeFrames() + guest.totPages + guest.p2m!.tableFrames;
        for (const o of ops) {
          list(guest, o.gfns.map((g) => g - (g % 2 ** o.order)), 0x8000_0000 + 511 * 4096);
          reservation(guest, { nr: o.gfns.length, order: o.order, list: 0x8000_0000 + 511 * 4096 }, 0x8000_0000 + 510 * 4096);
          const n = memoryOp(ctx(guest), o.op, 0x8000_0000 + 510 * 4096);
          expect(n).toBeGreaterThanOrEqual(0);
          expect(n).toBeLessThanOrEqual(o.gfns.length);
          expect(machine.framesOwnedBy(guest.domid)).toBe(guest.totPages);
          expect(guest.totPages).toBeLessThanOrEqual(guest.maxPages);
        }
        table.destroy(guest.domid);
        expect(machine.freeFrames()).toBe(free0);
      },
    ), { numRuns: 40 });
  });
});

/** Writes a domid_t at a fixed GPA of `d` and returns that GPA. */
function writeDomid(d: Domain, domid: number): number {
  const at = 0x8000_0200;
  expect(d.access.writeU16(at, domid)).toBe(0);
  return at;
}
