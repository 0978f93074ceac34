import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DOMID_SELF, DOMID_XEN, Errno, ShutdownReason } from '@tachyxx/abi';
import { DOMAIN_LIFECYCLE, EventBus, type DomainLifecycleEvent } from '@tachyxx/core';
import { Access } from '@tachyxx/isa';
import { Mmu } from '@tachyxx/mmu';
import { Domain, DomainTable, FRAME_FREE, GUEST_RAM_BASE_GFN, MachineMemory } from '../src/index.js';

function host(memoryMiB = 64, extra: Partial<ConstructorParameters<typeof DomainTable>[0]> = {}) {
  const machine = new MachineMemory({ memoryMiB });
  return { machine, table: new DomainTable({ machine, ...extra }) };
}
function ok<V>(d: Domain<V> | number): Domain<V> {
  if (typeof d === 'number') throw new Error(`create failed: ${d}`);
  return d;
}

describe('domains', () => {
  it('hands out domids from a rover starting at 1 (as Xen), skipping ids in use, and keeps 0 for dom0', () => {
    const { table } = host();
    expect(ok(table.create({ name: 'a' })).domid).toBe(1);
    expect(ok(table.create({ name: 'b' })).domid).toBe(2);
    expect(ok(table.create({ name: 'dom0', domid: 0 })).domid).toBe(0);
    expect(table.destroy(1)).toBe(0);
    // a freed id is not reused at once: the rover moves on
    expect(ok(table.create({ name: 'c' })).domid).toBe(3);
    expect(ok(table.create({ name: 'explicit', domid: 4 })).domid).toBe(4);
    expect(ok(table.create({ name: 'd' })).domid).toBe(5);
    expect(table.create({ name: 'x', domid: 2 })).toBe(-Errno.EEXIST);
    expect(table.create({ name: 'y', domid: DOMID_SELF })).toBe(-Errno.EINVAL);
    expect(table.get(0)!.privileged).toBe(true);
    expect(table.get(3)!.privileged).toBe(false);
  });

  it('refuses a name that is taken', () => {
    const { table } = host();
    ok(table.create({ name: 'web' }));
    expect(table.create({ name: 'web' })).toBe(-Errno.EEXIST);
    expect(table.create({ name: '' })).toBe(-Errno.EINVAL);
    expect(table.getByName('web')!.domid).toBe(1);
  });

  it('derives the UUID from the seed and the domid', () => {
    const a = host(8, { seed: 42 }).table, b = host(8, { seed: 42 }).table, c = host(8, { seed: 43 }).table;
    const ua = ok(a.create({ name: 'x' })).uuid;
    expect(ua).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ok(b.create({ name: 'y' })).uuid).toBe(ua);
    expect(ok(c.create({ name: 'x' })).uuid).not.toBe(ua);
    expect(ok(a.create({ name: 'z' })).uuid).not.toBe(ua);
  });

  it('populates guest RAM at 0x8000_0000 with frames the domain owns, reachable by the MMU', () => {
    const { machine, table } = host(32);
    const d = ok(table.create({ name: 'g', memoryMiB: 4 }));
    expect(d.totPages).toBe(1024);
    expect(d.maxPages).toBe(1024);
    expect(machine.framesOwnedBy(d.domid)).toBe(1024);
    const mmu = new Mmu(machine.mem, {});
    const g = d.p2m!.p1gatp(d.vmid);
    mmu.writeP1gatp(g.lo, g.hi);
    for (const gpa of [0x8000_0000, 0x8012_3456, 0x803f_fffc]) {
      const off = mmu.translate(gpa | 0, 0, Access.WRITE, 2);
      expect(off).toBeGreaterThanOrEqual(0);
      expect(machine.ownerOf(Math.floor((off + machine.mem.base) / 4096))).toBe(d.domid);
      expect(off % 4096).toBe(gpa % 4096);
    }
    expect(mmu.translate(0x8040_0000 | 0, 0, Access.READ, 2)).toBe(-21);
    expect(d.access.writeU32(0x8000_1000, 77)).toBe(0);
    expect(d.access.readU32(0x8000_1000)).toBe(77);
  });

  it('maps guest RAM with 2 MiB leaves when superpages are on', () => {
    const { table } = host(32, { superpages: true });
    const d = ok(table.create({ name: 'big', memoryMiB: 8 }));
    const p = d.p2m!;
    const mfn0 = p.lookup(GUEST_RAM_BASE_GFN);
    expect(mfn0 % 512).toBe(0);
    expect(p.lookup(GUEST_RAM_BASE_GFN + 511)).toBe(mfn0 + 511);
    expect(p.tableFrames).toBe(32 + 2); // root + one level-2 + one level-1 table
  });

  it('takes memory from the placement node, and from the nearest other node when it runs out', () => {
    const machine = new MachineMemory({ memoryMiB: 16, pcpus: 2, numa: { nodes: [{ memoryMiB: 8, pcpus: [0] }, { memoryMiB: 8, pcpus: [1] }] } });
    const table = new DomainTable({ machine });
    const d = ok(table.create({ name: 'n1', memoryMiB: 4, placement: { nodes: [1] } }));
    expect(d.node).toBe(1);
    expect(machine.usedFrames(1)).toBe(1024 + d.p2m!.tableFrames);
    expect(machine.nodeOfMfn(d.p2m!.rootMfn)).toBe(1);
    const e = ok(table.create({ name: 'n1b', memoryMiB: 6, placement: { nodes: [1] } }));
    let remote = 0;
    for (let i = 0; i < e.totPages; i++) if (machine.nodeOfMfn(e.p2m!.lookup(GUEST_RAM_BASE_GFN + i)) === 0) remote++;
    expect(remote).toBeGreaterThan(0);
    expect(machine.freeFrames(1)).toBe(0);
  });

  it('fails with -ENOMEM and leaks nothing when memory runs out', () => {
    const { machine, table } = host(8);
    const free = machine.freeFrames();
    expect(table.create({ name: 'huge', memoryMiB: 9 })).toBe(-Errno.ENOMEM);
    expect(machine.freeFrames()).toBe(free);
    expect(table.size).toBe(0);
    expect(table.getByName('huge')).toBeUndefined();
  });

  it('returns host free memory exactly to its start value after creating and destroying 200 domains', () => {
    const { machine, table } = host(64, { superpages: false });
    const start = machine.freeFrames();
    const live: number[] = [];
    for (let i = 0; i < 200; i++) {
      const d = ok(table.create({ name: `d${i}`, memoryPages: 64 + (i % 7) * 37, maxPages: 2048, superpages: i % 3 === 0 }));
      d.access.writeU32(0x8000_0000, 0xdead0000 + i);
      live.push(d.domid);
      if (live.length > 5) expect(table.destroy(live.shift()!)).toBe(0);
    }
    for (const id of live) expect(table.destroy(id)).toBe(0);
    expect(table.size).toBe(0);
    expect(machine.freeFrames()).toBe(start);
    expect(machine.framesOwnedBy(DOMID_XEN)).toBe(0);
    // every frame scrubbed: nothing of any domain is left in RAM
    expect(machine.mem.u8.every((b) => b === 0)).toBe(true);
  });

  it('maps a special page (shared info) owned by the domain but outside its reservation', () => {
    const { machine, table } = host(16);
    const d = ok(table.create({ name: 'si', memoryMiB: 1 }));
    const gfn = GUEST_RAM_BASE_GFN + 256;
    const mfn = table.mapSpecialPage(d, gfn);
    expect(mfn).toBeGreaterThan(0);
    expect(table.mapSpecialPage(d, gfn)).toBe(-Errno.EINVAL);
    expect(table.mapSpecialPage(d, GUEST_RAM_BASE_GFN)).toBe(-Errno.EINVAL);
    expect(d.totPages).toBe(256);
    expect(machine.framesOwnedBy(d.domid)).toBe(257);
    expect(d.access.writeU32(gfn * 4096 + 8, 5)).toBe(0);
    expect(machine.mem.readU32(mfn * 4096 + 8)).toBe(5);
    const free = machine.freeFrames() + 257 + d.p2m!.tableFrames;
    table.destroy(d.domid);
    expect(machine.freeFrames()).toBe(free);
  });

  it('counts pauses like Xen and reports the state', () => {
    const { table } = host();
    const d = ok(table.create({ name: 'p' }));
    expect(d.state).toBe('paused');
    expect(table.unpause(d.domid)).toBe(0);
    expect(d.state).toBe('running');
    expect(table.unpause(d.domid)).toBe(-Errno.EINVAL);
    table.pause(d.domid); table.pause(d.domid);
    table.unpause(d.domid);
    expect(d.state).toBe('paused');
    table.unpause(d.domid);
    expect(d.state).toBe('running');
    expect(table.pause(99)).toBe(-Errno.ESRCH);
  });

  it('records the first shutdown reason with Xen codes', () => {
    const { table } = host();
    const d = ok(table.create({ name: 's' }));
    table.unpause(d.domid);
    expect(table.shutdown(d.domid, ShutdownReason.crash)).toBe(0);
    expect(table.shutdown(d.domid, ShutdownReason.reboot)).toBe(0);
    expect(d.state).toBe('shutdown');
    expect(d.shutdownCode).toBe(3);
    expect(d.shutdownReason).toBe('crash');
    table.destroy(d.domid);
    expect(d.state).toBe('dead');
    expect(table.shutdown(d.domid, 0)).toBe(-Errno.ESRCH);
  });

  it('publishes lifecycle events on the bus', () => {
    const bus = new EventBus();
    const seen: DomainLifecycleEvent[] = [];
    bus.on(DOMAIN_LIFECYCLE).subscribe((e) => seen.push(e));
    const { table } = host(8, { bus, clock: { now: 1234 } });
    const d = ok(table.create({ name: 'ev', memoryPages: 4 }));
    table.unpause(d.domid); table.pause(d.domid); table.unpause(d.domid);
    table.shutdown(d.domid, 0); table.destroy(d.domid);
    expect(seen.map((e) => e.kind)).toEqual(['created', 'unpaused', 'paused', 'unpaused', 'shutdown', 'destroyed']);
    expect(seen[0]).toEqual({ time: 1234, domid: 1, kind: 'created', name: 'ev' });
  });

  it('resolves DOMID_SELF to the calling domain', () => {
    const { table } = host();
    const d = ok(table.create({ name: 'me' }));
    expect(table.resolve(DOMID_SELF, d)).toBe(d);
    expect(table.resolve(1, undefined)).toBe(d);
    expect(table.resolve(5, d)).toBeUndefined();
  });

  it('never gives a frame two owners over random create and destroy sequences', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ destroy: fc.boolean(), pick: fc.nat(), pages: fc.integer({ min: 0, max: 700 }), sp: fc.boolean() }), { maxLength: 30 }),
      (ops) => {
        const { machine, table } = host(8);
        const start = machine.freeFrames();
        let n = 0;
        for (const op of ops) {
          const live = table.list();
          if (op.destroy && live.length) table.destroy(live[op.pick % live.length]!.domid);
          else table.create({ name: `d${n++}`, memoryPages: op.pages, superpages: op.sp });
          // ownership agrees with the domains' accounting
          let owned = 0;
          for (const d of table.list()) {
            expect(machine.framesOwnedBy(d.domid)).toBe(d.totPages);
            owned += d.totPages;
            for (let i = 0; i < d.totPages; i += 97) expect(machine.ownerOf(d.p2m!.lookup(GUEST_RAM_BASE_GFN + i))).toBe(d.domid);
          }
          const xen = table.list().reduce((s, d) => s + d.p2m!.tableFrames, 0);
          expect(machine.framesOwnedBy(DOMID_XEN)).toBe(xen);
          expect(machine.freeFrames()).toBe(start - owned - xen);
          expect(machine.framesOwnedBy(FRAME_FREE)).toBe(machine.freeFrames());
        }
        for (const d of table.list()) table.destroy(d.domid);
        expect(machine.freeFrames()).toBe(start);
      },
    ), { numRuns: 40 });
  });
});
