import { describe, expect, it } from 'vitest';
import { DMA_READ, DMA_WRITE, EventBus } from '@tachyxx/core';
import { P2M_R, P2M_RW } from '@tachyxx/hypervisor';
import { IOMMU_CAUSE, IOMMU_FAULT, Iommu, TTYP_UNTRANSLATED_READ, TTYP_UNTRANSLATED_WRITE, type IommuFaultRecord } from '../src/index.js';
import { cost, iommuOn, machineWith, maOf, PAGE, RAM_GPA, RID_A, RID_B } from './helpers.js';

const RW = DMA_READ | DMA_WRITE;

describe('translation through the domain stage-2 tables (shared-stage2)', () => {
  it('walks 4 levels on a miss, then hits the IOTLB; the answer is the P2M\'s', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const io = iommuOn(env, { pageWalkCache: false });
    expect(io.assignDevice(RID_A, d1!.domid)).toBe(0);
    const c = cost();
    const gpa = RAM_GPA + 5 * PAGE + 0x123;
    expect(io.translate(RID_A, gpa, DMA_READ, c)).toBe(maOf(d1!, gpa));
    expect(io.stats.walkRefs.value).toBe(4);
    expect(io.stats.iotlbMisses.value).toBe(1);
    // context load (2 DDT refs) + lookup + miss + 4 refs
    expect(c.cycles).toBe(2 * io.costs.ddtRef + io.costs.iotlbHit + io.costs.iotlbMiss + 4 * io.costs.walkRef);
    expect(io.translate(RID_A, gpa + 8, DMA_WRITE, c)).toBe(maOf(d1!, gpa) + 8);
    expect(c.cycles).toBe(io.costs.iotlbHit);
    expect(io.stats.iotlbHits.value).toBe(1);
    expect(io.stats.devices.get(RID_A).translations.value).toBe(2);
  });

  it('the page-walk cache cuts the next walk in the same 2 MiB region to one reference', () => {
    const env = machineWith();
    const io = iommuOn(env, { pageWalkCache: true });
    io.assignDevice(RID_A, env.doms[0]!.domid);
    io.translate(RID_A, RAM_GPA, DMA_READ, cost());
    io.translate(RID_A, RAM_GPA + PAGE, DMA_READ, cost());
    expect(io.stats.walkRefs.value).toBe(4 + 1);
    expect(io.stats.pwcHits.value).toBe(1);
    expect(io.stats.pwcMisses.value).toBe(1);
  });

  it('a 2 MiB stage-2 leaf is a 3-reference walk and one IOTLB entry for all its pages', () => {
    const env = machineWith({ superpages: true });
    const [d1] = env.doms;
    const io = iommuOn(env, { pageWalkCache: false });
    io.assignDevice(RID_A, d1!.domid);
    for (let p = 0; p < 512; p += 37) expect(io.translate(RID_A, RAM_GPA + p * PAGE, DMA_WRITE, cost())).toBe(maOf(d1!, RAM_GPA + p * PAGE));
    expect(io.stats.walks.value).toBe(1);
    expect(io.stats.walkRefs.value).toBe(3);
  });

  it('tags entries by domain and requester: another device of the same domain walks for itself', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const io = iommuOn(env, { pageWalkCache: false });
    io.assignDevice(RID_A, d1!.domid);
    io.assignDevice(RID_B, d1!.domid);
    io.translate(RID_A, RAM_GPA, DMA_READ, cost());
    io.translate(RID_B, RAM_GPA, DMA_READ, cost());
    expect(io.stats.iotlbMisses.value).toBe(2);
    expect(io.stats.devices.get(RID_B).iotlbMisses.value).toBe(1);
  });
});

describe('IOTLB replacement', () => {
  it('is LRU within a set: the least recently used way goes', () => {
    const env = machineWith();
    const io = iommuOn(env, { iotlbEntries: 4, iotlbWays: 2, pageWalkCache: false });
    io.assignDevice(RID_A, env.doms[0]!.domid);
    const at = (p: number) => io.translate(RID_A, RAM_GPA + p * PAGE, DMA_READ, cost());
    // 2 sets; 4 KiB entries go to set (page number & 1): pages 0, 2, 4 share set 0.
    at(0); at(2); at(0); at(4); // 4 evicts 2 (0 was used after 2)
    expect(io.stats.iotlbEvictions.value).toBe(1);
    const misses = io.stats.iotlbMisses.value;
    at(0);
    expect(io.stats.iotlbMisses.value).toBe(misses); // still cached
    at(2);
    expect(io.stats.iotlbMisses.value).toBe(misses + 1); // was evicted
    at(1); at(3); // set 1 is independent
    expect(io.stats.iotlbEvictions.value).toBe(2);
  });
});

describe('invalidation', () => {
  it('a stale IOTLB entry outlives an unmap until IOTINVAL.GVMA is executed (the model caches as hardware does)', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const io = iommuOn(env, { followP2m: false });
    io.assignDevice(RID_A, d1!.domid);
    const gpa = RAM_GPA + 3 * PAGE;
    const ma = maOf(d1!, gpa);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(ma);
    d1!.p2m!.unmap(gpa / PAGE);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(ma); // stale hit: nobody invalidated
    expect(io.submit({ op: 'IOTINVAL.GVMA', gscid: d1!.domid, addr: gpa })).toBe(true);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(ma); // queued, not executed yet
    let fenced = -1;
    io.submit({ op: 'IOFENCE.C', onComplete: (t) => { fenced = t; } });
    expect(io.processCommands()).toBe(2 * io.costs.command);
    expect(fenced).toBe(0);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(-1);
    expect(io.drainFaults().map((f) => f.kind)).toEqual(['translation']);
    expect(io.stats.invalidations.gvmaAddr.value).toBe(1);
    expect(io.stats.invalidations.droppedEntries.value).toBe(1);
  });

  it('following the P2M (the host default), an unmap invalidates at once and costs the flush', () => {
    const env = machineWith();
    const [d1, d2] = env.doms;
    const io = iommuOn(env);
    io.assignDevice(RID_A, d1!.domid);
    const gpa = RAM_GPA + 3 * PAGE;
    io.translate(RID_A, gpa, DMA_READ, cost());
    const before = io.stats.p2mSyncCycles.value;
    d1!.p2m!.unmap(gpa / PAGE);
    expect(io.translate(RID_A, gpa, DMA_READ, cost())).toBe(-1);
    expect(io.stats.p2mSyncs.value).toBe(1);
    expect(io.stats.p2mSyncCycles.value - before).toBe(2 * io.costs.command); // IOTINVAL + IOFENCE, no table work
    // A domain with no device behind this IOMMU costs nothing.
    d2!.p2m!.unmap(gpa / PAGE);
    expect(io.stats.p2mSyncs.value).toBe(1);
  });

  it('per domain, global and per device scopes drop exactly their entries', () => {
    const env = machineWith();
    const [d1, d2] = env.doms;
    const io = iommuOn(env, { followP2m: false });
    io.assignDevice(RID_A, d1!.domid);
    io.assignDevice(RID_B, d2!.domid);
    const fill = () => { for (let p = 0; p < 4; p++) { io.translate(RID_A, RAM_GPA + p * PAGE, DMA_READ, cost()); io.translate(RID_B, RAM_GPA + p * PAGE, DMA_READ, cost()); } };
    fill();
    expect(io.iotlb.count).toBe(8);
    io.runSync([{ op: 'IOTINVAL.GVMA', gscid: d1!.domid }]);
    expect(io.iotlb.count).toBe(4);
    fill();
    io.runSync([{ op: 'IOTINVAL.GVMA', gscid: d2!.domid, addr: RAM_GPA + PAGE, pages: 2 }]);
    expect(io.iotlb.count).toBe(6);
    io.runSync([{ op: 'IODIR.INVAL_DDT', rid: RID_A }]);
    expect(io.iotlb.count).toBe(2);
    expect(io.stats.devices.get(RID_A).invalidations.value).toBeGreaterThanOrEqual(2); // assign + this one
    fill();
    io.runSync([{ op: 'IOTINVAL.VMA' }]); // no first-stage entries: nothing goes
    expect(io.iotlb.count).toBe(8);
    io.runSync([{ op: 'IOTINVAL.GVMA' }]);
    expect(io.iotlb.count).toBe(0);
  });

  it('a device-directory write reaches a cached context only after IODIR.INVAL_DDT', () => {
    const env = machineWith();
    const [d1, d2] = env.doms;
    const io = iommuOn(env);
    io.assignDevice(RID_A, d1!.domid);
    io.translate(RID_A, RAM_GPA, DMA_READ, cost());
    expect(io.setContext(RID_A, { domid: d2!.domid })).toBe(0);
    io.runSync([{ op: 'IOTINVAL.GVMA' }]);
    expect(io.translate(RID_A, RAM_GPA, DMA_READ, cost())).toBe(maOf(d1!, RAM_GPA)); // cached context
    io.runSync([{ op: 'IODIR.INVAL_DDT', rid: RID_A }, { op: 'IOFENCE.C' }]);
    expect(io.translate(RID_A, RAM_GPA, DMA_READ, cost())).toBe(maOf(d2!, RAM_GPA));
  });

  it('refuses commands past a full queue and counts them', () => {
    const env = machineWith();
    const io = iommuOn(env, { commandQueueEntries: 2 });
    expect(io.submit({ op: 'IOFENCE.C' })).toBe(true);
    expect(io.submit({ op: 'IOFENCE.C' })).toBe(true);
    expect(io.submit({ op: 'IOFENCE.C' })).toBe(false);
    expect(io.stats.invalidations.queueFull.value).toBe(1);
    expect(io.pendingCommands).toBe(2);
    io.processCommands();
    expect(io.pendingCommands).toBe(0);
    expect(io.stats.invalidations.fences.value).toBe(2);
  });
});

describe('faults', () => {
  it('records no-context, permission and translation faults with the RISC-V CAUSE and TTYP', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const bus = new EventBus();
    const seen: (IommuFaultRecord & { overflow: boolean })[] = [];
    bus.on(IOMMU_FAULT).subscribe((e) => seen.push(e));
    const log: string[] = [];
    const io = iommuOn(env, { bus, log: (l) => log.push(l) });
    io.assignDevice(RID_A, d1!.domid, DMA_READ); // a read-only device
    // a read-only page in the P2M
    const roGfn = RAM_GPA / PAGE + 7;
    const mfn = d1!.p2m!.lookup(roGfn);
    d1!.p2m!.map(roGfn, mfn, P2M_R);
    io.assignDevice(RID_B, d1!.domid);
    expect(io.translate(0x0100, RAM_GPA, DMA_READ, cost())).toBe(-1); // no context
    expect(io.translate(RID_A, RAM_GPA, DMA_WRITE, cost())).toBe(-1); // device not allowed to write
    expect(io.translate(RID_B, roGfn * PAGE, DMA_WRITE, cost())).toBe(-1); // page read-only
    expect(io.translate(RID_B, roGfn * PAGE, DMA_READ, cost())).toBe(mfn * PAGE); // but readable
    expect(io.translate(RID_B, 0x1000, DMA_READ, cost())).toBe(-1); // unmapped GPA
    const recs = io.drainFaults();
    expect(recs.map((r) => [r.kind, r.cause, r.ttyp, r.rid, r.domid])).toEqual([
      ['no-context', IOMMU_CAUSE.ddtEntryInvalid, TTYP_UNTRANSLATED_READ, 0x0100, -1],
      ['permission', IOMMU_CAUSE.transactionTypeDisallowed, TTYP_UNTRANSLATED_WRITE, RID_A, d1!.domid],
      ['permission', IOMMU_CAUSE.writeGuestPageFault, TTYP_UNTRANSLATED_WRITE, RID_B, d1!.domid],
      ['translation', IOMMU_CAUSE.readGuestPageFault, TTYP_UNTRANSLATED_READ, RID_B, d1!.domid],
    ]);
    expect(recs[2]!.addr).toBe(roGfn * PAGE);
    expect(seen).toHaveLength(4);
    expect(io.stats.faults['no-context'].value).toBe(1);
    expect(io.stats.faults.permission.value).toBe(2);
    expect(io.stats.faults.translation.value).toBe(1);
    expect(io.stats.devices.get(RID_B).faults.value).toBe(2);
    expect(log[0]).toMatch(/IOMMU pciess0: DMA Read fault: device 01:00\.0 d-1 addr 0x80000000 no-context \(cause 258\)/);
  });

  it('never throws on garbage from a device', () => {
    const env = machineWith();
    const io = iommuOn(env);
    io.assignDevice(RID_A, env.doms[0]!.domid);
    for (const rid of [RID_A, -1, 0x10000, NaN, 1.5]) {
      for (const iova of [NaN, -4096, Infinity, 2 ** 53, 2 ** 60, 0.5, RAM_GPA + 0.5]) {
        for (const access of [0, 4, NaN, -1, DMA_READ, RW]) expect(io.translate(rid, iova, access, cost())).toBe(-1);
      }
    }
  });

  it('keeps a bounded fault queue: overflow is counted, the interrupt raised once until PL1 drains', () => {
    const env = machineWith();
    const io = iommuOn(env, { faultQueueEntries: 4 });
    let irqs = 0;
    io.onFaultInterrupt(() => { irqs++; });
    for (let i = 0; i < 10; i++) io.translate(0x0200 + i, RAM_GPA, DMA_READ, cost());
    expect(io.queuedFaults).toBe(4);
    expect(io.stats.faultOverflows.value).toBe(6);
    expect(io.stats.faults['no-context'].value).toBe(10);
    expect(io.faultOverflow).toBe(true);
    expect(irqs).toBe(1);
    expect(io.drainFaults().map((r) => r.rid)).toEqual([0x200, 0x201, 0x202, 0x203]);
    expect(io.faultOverflow).toBe(false);
    io.translate(0x0300, RAM_GPA, DMA_READ, cost());
    expect(irqs).toBe(2);
  });

  it('rate-limits its log lines as Xen printk does (10 per 5 s window)', () => {
    const env = machineWith();
    const log: string[] = [];
    const io = iommuOn(env, { log: (l) => log.push(l) });
    for (let i = 0; i < 25; i++) io.translate(0x0200, RAM_GPA, DMA_READ, cost());
    expect(log).toHaveLength(10);
  });

  it('a domain that dies takes its device contexts with it', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const io = iommuOn(env);
    io.assignDevice(RID_A, d1!.domid);
    expect(io.translate(RID_A, RAM_GPA, DMA_WRITE, cost())).toBeGreaterThan(0);
    env.table.destroy(d1!.domid);
    expect(io.devices()).toEqual([]);
    expect(io.translate(RID_A, RAM_GPA, DMA_WRITE, cost())).toBe(-1);
    expect(io.drainFaults().at(-1)!.kind).toBe('no-context');
  });
});

describe('private I/O page tables', () => {
  it('mirror the P2M at assignment and follow every change, at a cost each time', () => {
    const env = machineWith({ superpages: true });
    const [d1] = env.doms;
    const charged: number[] = [];
    const io = iommuOn(env, { variant: 'private', charge: (_d, c) => charged.push(c) });
    expect(io.assignDevice(RID_A, d1!.domid)).toBe(0);
    const t = io.privateTable(d1!.domid)!;
    expect(t.mappedPages).toBe(d1!.p2m!.mappedPages);
    expect(t.rootMfn).not.toBe(d1!.p2m!.rootMfn);
    expect(charged[0]).toBeGreaterThan(io.costs.p2mSync); // the initial copy
    const gpa = RAM_GPA + 9 * PAGE;
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(maOf(d1!, gpa));
    const syncs = io.stats.p2mSyncCycles.value;
    d1!.p2m!.unmap(gpa / PAGE);
    expect(io.stats.p2mSyncCycles.value - syncs).toBe(io.costs.p2mSync + io.costs.privatePte + 2 * io.costs.command);
    expect(t.lookup(gpa / PAGE)).toBe(-1);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(-1);
    // a new mapping (add_to_physmap, balloon in) reaches the private table too
    const mfn = env.machine.allocExtent(d1!.domid, 0);
    d1!.p2m!.map(gpa / PAGE, mfn, P2M_RW);
    expect(t.lookup(gpa / PAGE)).toBe(mfn);
    expect(io.translate(RID_A, gpa, DMA_WRITE, cost())).toBe(mfn * PAGE);
    expect(io.stats.p2mSyncs.value).toBe(2);
  });

  it('never leaves a cached context pointing into a freed private table', () => {
    const env = machineWith();
    const [d1, d2] = env.doms;
    const io = iommuOn(env, { variant: 'private' });
    io.assignDevice(RID_A, d1!.domid);
    expect(io.translate(RID_A, RAM_GPA, DMA_WRITE, cost())).toBe(maOf(d1!, RAM_GPA));
    // a raw DDT rewrite without IODIR.INVAL_DDT: d1 has no device left, its private table goes
    expect(io.setContext(RID_A, { domid: d2!.domid })).toBe(0);
    expect(io.privateTable(d1!.domid)).toBeUndefined();
    // the cached context went with it: the device now gets d2's translation, not a freed table's
    expect(io.translate(RID_A, RAM_GPA, DMA_WRITE, cost())).toBe(maOf(d2!, RAM_GPA));
  });

  it('shared tables pay nothing for a new mapping', () => {
    const env = machineWith();
    const [d1] = env.doms;
    const io = iommuOn(env);
    io.assignDevice(RID_A, d1!.domid);
    d1!.p2m!.map(0x90000, env.machine.allocExtent(d1!.domid, 0), P2M_RW);
    expect(io.stats.p2mSyncs.value).toBe(0);
  });
});

describe('variant none', () => {
  it('passes device addresses through as machine addresses: any RAM at all', () => {
    const env = machineWith();
    const io = iommuOn(env, { variant: 'none' });
    const ma = maOf(env.doms[1]!, RAM_GPA);
    expect(io.translate(RID_A, ma, DMA_WRITE, cost())).toBe(ma);
    expect(io.translate(RID_A, 0x1000, DMA_WRITE, cost())).toBe(-1); // not RAM: master abort
    expect(io.stats.unclaimed.value).toBe(1);
    expect(io.queuedFaults).toBe(0);
  });

  it('rejects an unknown variant naming the known ones', () => {
    const env = machineWith();
    expect(() => new Iommu({ variant: 'nested' as never, machine: env.machine, domains: env.table })).toThrow(/shared-stage2, private, none/);
  });
});
