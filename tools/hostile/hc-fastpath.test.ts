// The hypercall fast path (issue 10 §4, TrapDispatch.fastHypercall) under hostile guests: a
// guest issuing xen_version with arbitrary registers (any sub-op, pointers into RAM, past it,
// anywhere; bits above 31 in the hypercall number), next to a victim that makes the null
// hypercall all the time, and the Arm-ABI guest on 4 vCPUs next to both: every run is the same
// with the fast path and without it (the trap to PL1 for every call) - results, guest memory
// written, consoles, host log, the whole stats tree (MMU soft-TLB hits included), cycles - and
// the victims' output is their output alone.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_RAM_BASE, Hypercall, ShutdownReason, XenVer } from '@tachyxx/abi';
import type { Host } from '@tachyxx/hypervisor';
import { ROOT, assembledTestHost, image, ioHost } from '../test/io-helpers.js';
import { HC_RESULT_GPA, hypercallDomain } from './guest-harness.js';

const RESULT = HC_RESULT_GPA;
/** Where the call's pointer may point: its own page of RAM (ARG) is read back afterwards. */
const ARG = GUEST_RAM_BASE + 0x1000;

type Pair = [number, number];
interface Call { a7: Pair; a: [Pair, Pair, Pair, Pair, Pair, Pair] }

function fuzzDomain(host: Host, call: Call) {
  return hypercallDomain(host, 'fuzz', { nr: call.a7[0], nrHi: call.a7[1], a: call.a }, 16, 1, [{ gpa: ARG, bytes: new Uint8Array(4096).fill(0xa5) }]);
}

const fastOff = (host: Host) => { for (const p of host.pcpus) p.cpu.setFastEcall(undefined); };
/** Counts the calls the fast path takes (it stays the host's own). */
function countFast(host: Host): { n: number } {
  const c = { n: 0 };
  for (const p of host.pcpus) {
    const f = p.cpu.fastEcall;
    if (f !== undefined) p.cpu.setFastEcall((cpu) => { const took = f(cpu); if (took) c.n++; return took; }, host.hypercalls.leafNumbers());
  }
  return c;
}
/**
 * The engine's own counters (how the run loop got from block to block: the fast path chains
 * past a completed call, the trap path returns to the loop's lookup) - not the model's.
 */
const ENGINE_ONLY = new Set(['chainHits', 'exitsLookup', 'hubLookups', 'hubHandovers', 'exitsCycleLimit']);
const modelStats = (v: unknown): unknown => v !== null && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).filter(([k]) => !ENGINE_ONLY.has(k)).map(([k, x]) => [k, modelStats(x)])) : v;

/** What the model defines after a run: per-pCPU state and the whole stats tree. */
const outcome = (host: Host) => ({
  cpus: host.pcpus.map((p) => ({ instret: p.cpu.instret, cycles: p.cpu.cycles, time: p.cpu.timeNs() })),
  stats: modelStats(JSON.parse(JSON.stringify(host.stats.dump()))),
});

const hcAlone = (() => {
  const { host, out } = ioHost();
  host.createDomain({ name: 'victim', image: image('hcversion-small'), memoryMiB: 16 });
  host.run({ untilNs: 3e9 });
  return out.get('victim')!;
})();

function runFuzz(call: Call, fast: boolean) {
  const { host, out, log } = ioHost();
  if (!fast) fastOff(host);
  const taken = countFast(host);
  const fuzz = fuzzDomain(host, call);
  const victim = host.createDomain({ name: 'victim', image: image('hcversion-small'), memoryMiB: 16, paused: true });
  host.unpauseDomain(victim);
  host.unpauseDomain(fuzz);
  host.run({ untilNs: 3e9 });
  const lo = fuzz.access.readU32(RESULT), hi = fuzz.access.readU32(RESULT + 4);
  const arg = new Uint8Array(4096);
  fuzz.access.read(ARG, arg);
  return {
    taken: fast ? taken.n > 9_000 : taken.n === 0, // the victim's 10,001 calls but its first
    result: [lo, hi], arg: Array.from(arg), victim: out.get('victim'), fuzzOut: out.get('fuzz') ?? '', log,
    shutdown: [fuzz.shutdownCode, victim.shutdownCode], failures: [...host.hypercalls.failures], o: outcome(host),
  };
}

const word = fc.oneof(
  fc.record({ lo: fc.constantFrom(...Object.values(XenVer) as number[], 12, 13, 31, 64, -1), hi: fc.constantFrom(0, 0, 0, 1, -1) }), // sub-ops (and 64-bit ones)
  fc.record({ lo: fc.integer({ min: ARG - 8, max: ARG + 4096 }).map((x) => x | 0), hi: fc.constant(0) }), // into the page read back
  fc.record({ lo: fc.integer({ min: GUEST_RAM_BASE + (16 << 20) - 64, max: GUEST_RAM_BASE + (16 << 20) + 8192 }).map((x) => x | 0), hi: fc.constant(0) }), // over the end of RAM
  fc.record({ lo: fc.integer({ min: -0x80000000, max: 0x7fffffff }), hi: fc.integer({ min: -0x80000000, max: 0x7fffffff }) }),
).map((r) => [r.lo, r.hi] as Pair);
const callArb: fc.Arbitrary<Call> = fc.record({
  a7: fc.oneof(fc.constant([Hypercall.xen_version, 0] as Pair), fc.constantFrom([Hypercall.xen_version, 1] as Pair, [Hypercall.xen_version, -1] as Pair)),
  a: fc.tuple(word, word, word, word, word, word),
});

describe('the hypercall fast path under hostile guests', () => {
  // (a cmd above 32 bits: Xen's do_xen_version takes an `int cmd` (xen/include/hypercall-defs.c),
  // so the sub-op is the register's low half, whatever the upper; the hypercall number is a whole
  // register_t: >= 64 is -ENOSYS)
  it('answers: a string sub-op writes the page; a sub-op is the low 32 bits of a0; a hypercall number above 32 bits is -ENOSYS', () => {
    const reg = (v: number): Pair => [v | 0, 0];
    const none: Pair = [0, 0];
    const extra = runFuzz({ a7: [Hypercall.xen_version, 0], a: [reg(XenVer.extraversion), reg(ARG + 8), none, none, none, none] }, true);
    expect(extra.result).toEqual([0, 0]);
    expect(String.fromCharCode(...extra.arg.slice(8, 17))).toBe('-tachyxx\0');
    expect(extra.arg.slice(8 + 9, 8 + 16)).toEqual(Array(7).fill(0)); // xen_extraversion_t: 16 bytes, NUL-padded ...
    expect(extra.arg[8 + 16]).toBe(0xa5); // ... and no more
    expect(extra.taken).toBe(true);
    const enosys = (2 ** 32 - 38) >>> 0;
    expect(runFuzz({ a7: [Hypercall.xen_version, 0], a: [[XenVer.version, 1], none, none, none, none, none] }, true).result).toEqual([0x40011, 0]);
    expect(runFuzz({ a7: [Hypercall.xen_version, 0], a: [[XenVer.version, -1], none, none, none, none, none] }, true).result).toEqual([0x40011, 0]);
    const extraHigh = runFuzz({ a7: [Hypercall.xen_version, 0], a: [[XenVer.extraversion, -0x8000_0000], [ARG + 8, 0], none, none, none, none] }, true);
    expect(extraHigh.result).toEqual([0, 0]);
    expect(String.fromCharCode(...extraHigh.arg.slice(8, 17))).toBe('-tachyxx\0');
    expect(extraHigh.taken).toBe(true);
    // the low half as a signed int: 2^32 - 1 is -1, no sub-op
    expect(runFuzz({ a7: [Hypercall.xen_version, 0], a: [[-1, 0], none, none, none, none, none] }, true).result).toEqual([enosys, 0xffffffff]);
    expect(runFuzz({ a7: [Hypercall.xen_version, 1], a: [none, none, none, none, none, none] }, true).result).toEqual([enosys, 0xffffffff]);
    expect(runFuzz({ a7: [Hypercall.xen_version, 0], a: [none, none, none, none, none, none] }, true).result).toEqual([0x40011, 0]);
  });

  it('xen_version with arbitrary registers next to a null-hypercall victim: the same run with and without it (property)', () => {
    fc.assert(fc.property(callArb, (call) => {
      const fast = runFuzz(call, true), slow = runFuzz(call, false);
      expect(fast.victim).toBe(hcAlone);
      expect(fast.shutdown).toEqual([ShutdownReason.poweroff, ShutdownReason.poweroff]);
      expect(fast.failures).toEqual([]);
      expect(fast).toEqual(slow);
    }), { numRuns: 60, seed: 0x10 });
  });

  it('the Arm-ABI guest on 4 vCPUs, the null-hypercall guest and hello on 2 pCPUs: the same run with and without it', () => {
    const armabi = readFileSync(join(ROOT, 'guests/armabi/expected-domain.txt'), 'latin1');
    const runs = [true, false].map((fast) => {
      const h = assembledTestHost({ pcpus: 2, components: { console: 'xenconsoled' } });
      if (!fast) fastOff(h.host);
      h.host.createDomain({ name: 'armabi', image: image('armabi'), memoryMiB: 32, vcpus: 4 });
      h.host.createDomain({ name: 'hcversion', image: image('hcversion-small'), memoryMiB: 16 });
      h.host.createDomain({ name: 'hello', image: image('hello'), memoryMiB: 16 });
      h.host.run({ untilNs: 5e9 });
      return { out: Object.fromEntries(h.out), log: h.log, o: outcome(h.host) };
    });
    expect(runs[0]!.out.armabi).toBe(armabi);
    expect(runs[0]!.out.hcversion).toBe(hcAlone);
    expect(runs[0]).toEqual(runs[1]);
  });
});
