// Property tests (issue 8): every hypercall and sub-op, with arbitrary registers, issued by a
// real vCPU (tools/hostile/guest-harness.ts) on a host with event channels, grant tables and
// xenstored attached, next to a victim domain. The host never throws, the call ends within a
// bounded simulated and wall time (continuations allowed), and the victim's console output is
// the output it has alone. A handler that throws crashes only its caller.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { GnttabOp, HvmOp, HvmParam, Hypercall, MulticallEntry, SchedOp, ShutdownReason, VcpuOp, XenMapSpace, XenMem, XenVer } from '@tachyxx/abi';
import { ioHost, image } from '../test/io-helpers.js';
import { hypercallDomain, type Fill, type Regs } from './guest-harness.js';

const TWO32 = 2 ** 32;
/** Victim: hello, alone. */
const helloAlone = (() => {
  const { host, out } = ioHost();
  host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 16 });
  host.run({ untilNs: 2e9 });
  return out.get('victim')!;
})();

const u64 = fc.oneof(
  fc.record({ lo: fc.integer({ min: 0, max: 64 }), hi: fc.constant(0) }), // sub-ops, counts, flags
  fc.record({ lo: fc.integer({ min: 0x8000_0000, max: 0x8100_0000 }).map((x) => x | 0), hi: fc.constant(0) }), // pointers into RAM
  fc.record({ lo: fc.integer({ min: 0x7f00_0000, max: 0x7f10_0000 }), hi: fc.constant(0) }), // the grant-table region
  fc.record({ lo: fc.constantFrom(-1, 0, 1, 0x7fffffff, -0x80000000, 0xfff), hi: fc.constantFrom(-1, 0, 1, 0x7fffffff, -0x80000000, 0x200000) }), // sizes up to 2^64-1, negatives
  fc.record({ lo: fc.integer({ min: -0x80000000, max: 0x7fffffff }), hi: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
).map((r) => [r.lo, r.hi] as [number, number]);

const known: number[] = (Object.values(Hypercall) as unknown[]).filter((n): n is number => typeof n === 'number');
const regsArb: fc.Arbitrary<Regs> = fc.record({
  nr: fc.oneof(fc.constantFrom(...known), fc.integer({ min: 0, max: 70 })),
  a: fc.tuple(u64, u64, u64, u64, u64, u64),
});

function runOne(regs: Regs, fill: Fill[] = [], maxVcpus = 1) {
  const { host, out } = ioHost();
  const fuzz = hypercallDomain(host, 'fuzz', regs, 16, maxVcpus, fill);
  const victim = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 16, paused: true });
  host.unpauseDomain(victim);
  host.unpauseDomain(fuzz);
  const t0 = performance.now();
  host.run({ untilNs: 3e9 });
  return { host, out, fuzz, victim, wallMs: performance.now() - t0 };
}

describe('hypercalls with arbitrary registers from a guest', () => {
  it('never throw out of the host, end within bounds, and leave the victim unchanged', () => {
    fc.assert(fc.property(regsArb, (regs) => {
      const r = runOne(regs);
      expect(r.out.get('victim')).toBe(helloAlone);
      expect(r.victim.shutdownCode).toBe(ShutdownReason.poweroff);
      expect(r.wallMs).toBeLessThan(20_000);
      expect(r.host.hypercalls.failures.size).toBe(0); // no handler threw
    }), { numRuns: 120, seed: 0x8 });
  });

  it('covers sub-op numbers 0..21, 31, 63, 64 of the batched and multiplexed hypercalls with pointers into RAM', () => {
    const ptr = [0x8000_1000 | 0, 0] as [number, number];
    for (const nr of [Hypercall.memory_op, Hypercall.grant_table_op, Hypercall.event_channel_op, Hypercall.vcpu_op, Hypercall.sched_op, Hypercall.console_io,
      Hypercall.xen_version, Hypercall.hvm_op, Hypercall.multicall]) {
      for (const sub of [...Array(22).keys(), 31, 63, 64]) {
        const r = runOne({ nr, a: [[sub, 0], ptr, [-1, -1], ptr, [0, 0], [0, 0]] });
        expect(r.out.get('victim'), `${nr}/${sub}`).toBe(helloAlone);
        expect(r.host.hypercalls.failures.size, `${nr}/${sub}`).toBe(0);
      }
    }
  });

  // Issue 10's calls with their argument structs filled: random bytes, or the fields that steer
  // the handler (spaces, indexes, ids, offsets, multicall entries naming real hypercalls) drawn
  // from the values that matter, next to random ones.
  const ARG = 0x8000_1000;
  const field = fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 17, 18, 28, 0x7ff0, 0x7ff4, 4096, 4095, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
  const words = (n: number) => fc.array(field, { minLength: n, maxLength: n }).map((w) => new Uint8Array(new Uint32Array(w).buffer));
  const gfnNear = fc.integer({ min: 0x80000, max: 0x81100 }); // guest RAM (16 MiB) and just past it (the special pages)
  const addToPhysmap = fc.record({ domid: fc.constantFrom(0x7ff0, 0, 1, 2, 0x7ff4), space: fc.constantFrom(...Object.values(XenMapSpace), 6, 0xffffffff), idx: fc.constantFrom(0, 1, 63, 64, 0x80000000), gpfn: gfnNear })
    .map((x) => { const b = new DataView(new ArrayBuffer(24)); b.setUint16(0, x.domid, true); b.setUint32(4, x.space >>> 0, true); b.setUint32(8, x.idx, true); b.setUint32(16, x.gpfn, true); return new Uint8Array(b.buffer); });
  const removeFromPhysmap = fc.record({ domid: fc.constantFrom(0x7ff0, 1, 2), gpfn: gfnNear })
    .map((x) => { const b = new DataView(new ArrayBuffer(16)); b.setUint16(0, x.domid, true); b.setUint32(8, x.gpfn, true); return new Uint8Array(b.buffer); });
  const hvmParam = fc.record({ domid: fc.constantFrom(0x7ff0, 0, 1, 2, 0x7fff), index: fc.constantFrom(...Object.values(HvmParam), 3, 38, 39, 1000), value: fc.integer({ min: 0, max: 0xffffffff }) })
    .map((x) => { const b = new DataView(new ArrayBuffer(16)); b.setUint16(0, x.domid, true); b.setUint32(4, x.index, true); b.setUint32(8, x.value, true); return new Uint8Array(b.buffer); });
  const regVcpuInfo = fc.record({ gfn: gfnNear, offset: fc.constantFrom(0, 8, 4, 4048, 4049, 4056, 4096, 0xffffffff) })
    .map((x) => { const b = new DataView(new ArrayBuffer(16)); b.setUint32(0, x.gfn, true); b.setUint32(8, x.offset >>> 0, true); return new Uint8Array(b.buffer); });
  const mcEntry = fc.record({ op: fc.constantFrom(Hypercall.xen_version, Hypercall.hvm_op, Hypercall.memory_op, Hypercall.vcpu_op, Hypercall.sched_op, Hypercall.multicall, Hypercall.grant_table_op, Hypercall.console_io, 99), a0: field, a1: fc.constantFrom(0, ARG, ARG + 512, 0x10), a2: field })
    .map((e) => { const b = new DataView(new ArrayBuffer(MulticallEntry.size)); b.setUint32(0, e.op, true); b.setUint32(16, e.a0, true); b.setUint32(24, e.a1, true); b.setUint32(32, e.a2, true); return new Uint8Array(b.buffer); });
  const calls: fc.Arbitrary<{ regs: Regs; fill: Fill[] }> = fc.oneof(
    fc.record({ sub: fc.constantFrom(...Object.values(XenVer), 11, 0x7fffffff), ptr: fc.constantFrom(0, ARG, 0x10), body: words(64) })
      .map(({ sub, ptr, body }) => ({ regs: { nr: Hypercall.xen_version, a: [[sub, 0], [ptr, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
    fc.record({ op: fc.constantFrom(HvmOp.get_param, HvmOp.set_param, HvmOp.guest_request_vm_event, 2), body: hvmParam })
      .map(({ op, body }) => ({ regs: { nr: Hypercall.hvm_op, a: [[op, 0], [ARG, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
    fc.record({ body: fc.oneof(addToPhysmap, words(6)), start: fc.constantFrom(0, 1, 0x10000) })
      .map(({ body, start }) => ({ regs: { nr: Hypercall.memory_op, a: [[XenMem.add_to_physmap + start * 64, 0], [ARG, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
    fc.record({ body: removeFromPhysmap })
      .map(({ body }) => ({ regs: { nr: Hypercall.memory_op, a: [[XenMem.remove_from_physmap, 0], [ARG, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
    fc.record({ cmd: fc.constantFrom(VcpuOp.register_vcpu_info, VcpuOp.register_runstate_memory_area), vcpu: fc.constantFrom(0, 1, 2, 5), body: fc.oneof(regVcpuInfo, words(4)) })
      .map(({ cmd, vcpu, body }) => ({ regs: { nr: Hypercall.vcpu_op, a: [[cmd, 0], [vcpu, 0], [ARG, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
    fc.record({ id: fc.constantFrom(0, 1, 2, 3, 0xffffffff), timeout: fc.constantFrom(0, 1, 2, 0xffffffff) })
      .map(({ id, timeout }) => ({ regs: { nr: Hypercall.sched_op, a: [[SchedOp.watchdog, 0], [ARG, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: new Uint8Array(new Uint32Array([id, timeout]).buffer) }] })),
    // SCHEDOP_shutdown_code / pin_override / remote_shutdown: a code recorded (or refused) stays the
    // caller's; the victim still powers off as itself, and its domid is a remote_shutdown target
    // only a privileged caller may hit
    fc.record({ cmd: fc.constantFrom(SchedOp.shutdown_code, SchedOp.pin_override, SchedOp.remote_shutdown), domid: fc.constantFrom(0, 1, 2, 0x7ff0, 0xffff), reason: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 255, 0x80000000, 0xffffffff), ptr: fc.constantFrom(ARG, 0x10, 0xffffffff) })
      .map(({ cmd, domid, reason, ptr }) => ({
        regs: { nr: Hypercall.sched_op, a: [[cmd, 0], [ptr, ptr === 0xffffffff ? -1 : 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] },
        fill: [{ gpa: ARG, bytes: new Uint8Array(cmd === SchedOp.remote_shutdown ? new Uint32Array([domid, reason]).buffer : new Uint32Array([reason, 0]).buffer) }],
      })),
    fc.record({ entries: fc.array(mcEntry, { minLength: 0, maxLength: 6 }), nr: fc.constantFrom(0, 1, 3, 6, 100000, 0xffffffff), more: words(64) })
      .map(({ entries, nr, more }) => ({ regs: { nr: Hypercall.multicall, a: [[ARG, 0], [nr, 0], [0, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG + 512, bytes: more }, { gpa: ARG, bytes: new Uint8Array(entries.flatMap((e) => [...e])) }] })),
    fc.record({ count: fc.constantFrom(0, 1, 2, 5000), cmdHi: fc.constantFrom(0, 1), body: words(16) })
      .map(({ count, cmdHi, body }) => ({ regs: { nr: Hypercall.grant_table_op, a: [[GnttabOp.cache_flush + cmdHi * 4096, 0], [ARG, 0], [count, 0], [0, 0], [0, 0], [0, 0]] as Regs['a'] }, fill: [{ gpa: ARG, bytes: body }] })),
  );

  it("issue 10's calls (xen_version, hvm_op, add/remove_from_physmap, register_vcpu_info, runstate area, watchdog, shutdown_code, pin_override, remote_shutdown, multicall, cache_flush) with filled structs: host, victim and bounds hold", () => {
    fc.assert(fc.property(calls, ({ regs, fill }) => {
      const r = runOne(regs, fill, 3);
      expect(r.out.get('victim')).toBe(helloAlone);
      expect(r.victim.shutdownCode).toBe(ShutdownReason.poweroff);
      expect(r.wallMs).toBeLessThan(20_000);
      expect(r.host.hypercalls.failures.size).toBe(0);
    }), { numRuns: 150, seed: 0x10 });
  });

  it('a handler that throws crashes only the calling domain, with a host log line naming the call', () => {
    const { host, out } = ioHost();
    const lines: string[] = [];
    // ioHost has no log sink: wrap the error hook to see the line the host writes.
    const hook = host.hypercalls.onHandlerError!;
    host.hypercalls.onHandlerError = (v, nr, name, a, e) => { lines.push(`${name} ${a.a0}`); return hook(v, nr, name, a, e); };
    host.hypercalls.register(40, () => { throw new TypeError('injected'); }, 'test_throwing_op');
    const fuzz = hypercallDomain(host, 'fuzz', { nr: 40, a: [[7, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 0]] });
    const victim = host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 16 });
    host.unpauseDomain(fuzz);
    expect(host.run({ untilNs: 3e9 })).toBe('all-shutdown');
    expect(fuzz.shutdownCode).toBe(ShutdownReason.crash);
    expect(fuzz.crashMessage).toMatch(/hypercall test_throwing_op \(40\) sub-op 7 failed in the hypervisor: TypeError: injected/);
    expect(lines).toEqual(['test_throwing_op 7']);
    expect(victim.shutdownCode).toBe(ShutdownReason.poweroff);
    expect(out.get('victim')).toBe(helloAlone);
    expect(host.hypercalls.failures.get('test_throwing_op')).toBe(1);
    void TWO32;
  });

  it('VCPUOP_initialise takes all 64 bits of pc (2^64 - 4 stays 0xfffffffffffffffc, not 0) and refuses an unaligned one', () => {
    const { host } = ioHost();
    const ctxGpa = 0x8000_2000;
    const d = hypercallDomain(host, 'init', { nr: Hypercall.vcpu_op, a: [[0, 0], [1, 0], [ctxGpa | 0, 0], [0, 0], [0, 0], [0, 0]] }, 16, 2);
    const g = new DataView(new ArrayBuffer(48));
    g.setUint32(0, 0xffff_fffc, true); g.setUint32(4, 0xffff_ffff, true); // pc = 2^64 - 4
    g.setUint32(8, 0x8000_8000, true); // sp
    d.access.write(ctxGpa, new Uint8Array(g.buffer));
    host.unpauseDomain(d);
    host.run({ untilNs: 1e9 });
    expect(d.vcpus[1]!.initialised).toBe(true);
    expect([d.vcpus[1]!.ctx.pcLo, d.vcpus[1]!.ctx.pcHi]).toEqual([-4, -1]);

    const { host: h2 } = ioHost();
    const d2 = hypercallDomain(h2, 'init2', { nr: Hypercall.vcpu_op, a: [[0, 0], [1, 0], [ctxGpa | 0, 0], [0, 0], [0, 0], [0, 0]] }, 16, 2);
    g.setUint32(0, 0x8000_0002, true); g.setUint32(4, 0, true);
    d2.access.write(ctxGpa, new Uint8Array(g.buffer));
    h2.unpauseDomain(d2);
    h2.run({ untilNs: 1e9 });
    expect(d2.vcpus[1]!.initialised).toBe(false);
  });
});
