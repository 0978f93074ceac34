// The hypercall fast path (TrapDispatch.fastHypercall, the pCPUs' FastEcallHandler): a leaf
// hypercall (xen_version, or one registered with leafArgs) runs without the architectural trap to
// PL1, and a domain sees and leaves exactly what the trap path gives: results, continuations,
// a crash inside a leaf call (the domain's shutdown), the trap and hypercall counts, the MMU's
// soft-TLB hit counts (reported at the next level change instead), simulated cycles and
// instructions, the whole stats tree. A guest built here (a tiny ELF) and guests/build ones.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { GUEST_RAM_BASE, Hypercall, XenVer } from '@tachyxx/abi';
import { HYPERCALL, PluginRegistry, TRAP, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, XENVER_VERSION_VALUE, type HypercallArgs } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

// ---- a few RV64 encodings and a one-segment ELF ----
const I = (imm: number, rs1: number, f3: number, rd: number, op: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const addi = (rd: number, rs1: number, imm: number) => I(imm, rs1, 0, rd, 0x13);
const andi = (rd: number, rs1: number, imm: number) => I(imm, rs1, 7, rd, 0x13);
const slli = (rd: number, rs1: number, sh: number) => I(sh, rs1, 1, rd, 0x13);
const add = (rd: number, a: number, b: number) => ((b << 20) | (a << 15) | (rd << 7) | 0x33) >>> 0;
const ecall = 0x00000073;
const bne = (a: number, b: number, off: number) => ((((off >> 12) & 1) << 31) | (((off >> 5) & 0x3f) << 25) | (b << 20) | (a << 15) | (1 << 12) | (((off >> 1) & 0xf) << 8) | (((off >> 11) & 1) << 7) | 0x63) >>> 0;
const A0 = 10, A1 = 11, A2 = 12, A3 = 13, A7 = 17, S0 = 8, S1 = 9;

function elf(words: number[]): Uint8Array {
  const code = new Uint8Array(words.length * 4);
  const cv = new DataView(code.buffer);
  words.forEach((w, i) => cv.setUint32(4 * i, w, true));
  const b = new Uint8Array(64 + 56 + code.length);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 2, true); v.setUint16(18, 243, true); v.setUint32(20, 1, true); // ET_EXEC, EM_RISCV
  v.setBigUint64(24, BigInt(GUEST_RAM_BASE), true); v.setBigUint64(32, 64n, true); // entry, phoff
  v.setUint16(52, 64, true); v.setUint16(54, 56, true); v.setUint16(56, 1, true);
  v.setUint32(64, 1, true); v.setUint32(68, 7, true); // PT_LOAD, RWX
  v.setBigUint64(72, 120n, true); v.setBigUint64(80, BigInt(GUEST_RAM_BASE), true); v.setBigUint64(88, BigInt(GUEST_RAM_BASE), true);
  v.setBigUint64(96, BigInt(code.length), true); v.setBigUint64(104, BigInt(code.length), true); v.setBigUint64(112, 4096n, true);
  b.set(code, 120);
  return b;
}

const LEAF = 40, THROWS = 41;
/**
 * `rounds` rounds of: the test's leaf hypercall 40 (a0, a1 = a0 & 3: a1 continuations first,
 * then a0 * 3 + 7; a2 / a3 hold junk it must not read), xen_version(version), xen_version
 * (get_features) with an unmapped pointer (-EFAULT), xen_version with bit 32 of a0 set
 * (XENVER_version: Xen's `int cmd` drops the upper half), xen_version with bit 32 of a7 set (no such hypercall: the trap path);
 * the sum in s1. Then hypercall 41, whose handler throws: the domain crashes.
 */
function testGuest(rounds: number): Uint8Array {
  const w: number[] = [addi(S0, 0, rounds), addi(S1, 0, 0)];
  const top = w.length;
  w.push(andi(A1, S0, 3), addi(A0, S0, 0), addi(A2, 0, -1), addi(A3, 0, 1234), addi(A7, 0, LEAF), ecall, add(S1, S1, A0));
  w.push(addi(A0, 0, XenVer.version), addi(A1, 0, 0), addi(A7, 0, 17), ecall, add(S1, S1, A0));
  w.push(addi(A0, 0, XenVer.get_features), addi(A1, 0, 0x10), addi(A7, 0, 17), ecall, add(S1, S1, A0));
  w.push(addi(A0, 0, 1), slli(A0, A0, 32), addi(A7, 0, 17), ecall, add(S1, S1, A0));
  w.push(addi(A7, 0, 1), slli(A7, A7, 32), addi(A7, A7, 17), addi(A0, 0, 0), ecall, add(S1, S1, A0));
  w.push(addi(S0, S0, -1));
  w.push(bne(S0, 0, 4 * (top - w.length)));
  w.push(addi(A7, 0, THROWS), ecall, 0x0000006f /* j . */);
  return elf(w);
}

function makeHost(fast: boolean, pcpus = 1, listen = false) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus, memoryMiB: 64, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  let out = '';
  const log: string[] = [];
  const host = new Host({ container: buildContainer(config, reg), console: (_d, b) => { out += new TextDecoder().decode(b); }, log: (l) => log.push(l) });
  // the bus's sampled TRAP / HYPERCALL events (the sampled trap takes the trap path while a TRAP subscriber listens)
  const events: unknown[] = [];
  if (listen) {
    host.bus.on(TRAP).subscribe((e) => events.push({ trap: e }));
    host.bus.on(HYPERCALL).subscribe((e) => events.push({ hypercall: e }));
  }
  const seen: HypercallArgs[] = [];
  host.registerHypercall(LEAF, (_v, a) => {
    seen.push({ ...a });
    return a.a1 > 0 ? (host.hypercalls.charge(100), host.hypercalls.createContinuation(a.a0, a.a1 - 1)) : a.a0 * 3 + 7;
  }, 'test_leaf', { leafArgs: 2 });
  host.registerHypercall(THROWS, () => { throw new Error('a bug in a leaf handler'); }, 'test_throws', { leafArgs: 0 });
  expect(host.hypercalls.leafNumbers()).toEqual([Hypercall.xen_version, LEAF, THROWS]);
  if (!fast) for (const p of host.pcpus) p.cpu.setFastEcall(undefined); // (a leaf registered later would set it again)
  return { host, out: () => out, log, seen, events };
}

/**
 * The engine's own counters (how the run loop got from block to block: the fast path chains
 * past a completed call, the trap path returns to the loop's lookup) - not the model's.
 */
const ENGINE_ONLY = new Set(['chainHits', 'exitsLookup', 'hubLookups', 'hubHandovers', 'exitsCycleLimit']);
const modelStats = (v: unknown): unknown => v !== null && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.entries(v).filter(([k]) => !ENGINE_ONLY.has(k)).map(([k, x]) => [k, modelStats(x)])) : v;

/** Everything a run leaves that the model defines (the stats tree includes the MMU's counts). */
function outcome(host: Host) {
  const cpus = host.pcpus.map((p) => ({ instret: p.cpu.instret, cycles: p.cpu.cycles, pc: p.cpu.pc, level: p.cpu.level, x: Array.from(p.cpu.x), time: p.cpu.timeNs() }));
  return { cpus, stats: modelStats(JSON.parse(JSON.stringify(host.stats.dump()))) as Record<string, unknown> };
}

describe('the hypercall fast path', () => {
  it.each([false, true])('gives a domain what the trap path gives: results, continuations, errors, a crash in a leaf call, every count (bus listening: %s)', (listen) => {
    const runs = [true, false].map((fast) => {
      const h = makeHost(fast, 1, listen);
      const d = h.host.createDomain({ name: 'leafy', image: testGuest(50), memoryMiB: 4 });
      expect(h.host.run({ maxInsns: 10_000_000 })).toBe('all-shutdown');
      return { ...h, d, o: outcome(h.host) };
    });
    const [fast, slow] = runs as [typeof runs[0], typeof runs[0]];
    // the message names the call's arguments as the registers hold them (a0: the -ENOSYS before)
    expect(fast.d.crashMessage).toBe(`d1v0: hypercall test_throws (41) sub-op ${2 ** 64 - 38} failed in the hypervisor: Error: a bug in a leaf handler`);
    expect(fast.d.crashMessage).toBe(slow.d.crashMessage);
    expect(fast.log).toEqual(slow.log);
    expect(fast.o).toEqual(slow.o);
    expect(fast.events).toEqual(slow.events);
    expect(fast.events.length).toBe(listen ? 2 * 20 : 0); // 326 traps and 325 hypercalls, one in 16 of each
    // what the guest summed: 50 rounds of (3 * s0 + 7) + version + -EFAULT + version + -ENOSYS
    const sum = Array.from({ length: 50 }, (_, i) => 3 * (50 - i) + 7 + XENVER_VERSION_VALUE - 14 + XENVER_VERSION_VALUE - 38).reduce((a, b) => a + b, 0);
    const x = fast.o.cpus[0]!.x;
    expect(x[2 * S1]! + x[2 * S1 + 1]! * 2 ** 32).toBe(sum);
    const hv = (fast.o.stats.host as Record<string, Record<string, unknown>>).hypervisor!;
    expect((hv.hypercalls as Record<string, number>).test_leaf).toBe(50 + 75); // 75 continuations (a1 = 1, 2, 3, 0, ...)
    expect((hv.hypercalls as Record<string, number>).xen_version).toBe(150);
    expect(hv.continuations).toBe(75);
    // the leaf read only its two arguments: the others are 0 on the fast path (the first ecall
    // from PL2 and the traps the bus samples take the trap path)
    const onFastPath = fast.seen.filter((a) => a.a2 === 0 && a.a3 === 0).length;
    expect(onFastPath).toBeGreaterThan(fast.seen.length * 0.8);
    expect(fast.seen.filter((a) => a.a2 === 2 ** 64 - 1 && a.a3 === 1234).length).toBe(fast.seen.length - onFastPath);
    expect(slow.seen.every((a) => a.a2 === 2 ** 64 - 1 && a.a3 === 1234)).toBe(true);
    expect(fast.seen.map((a) => [a.a0, a.a1])).toEqual(slow.seen.map((a) => [a.a0, a.a1]));
  });

  it('gives guests/build guests the same runs, as a domain next to another on two pCPUs', () => {
    const runs = [true, false].map((fast) => {
      const h = makeHost(fast, 2);
      h.host.createDomain({ name: 'hcversion', image: image('hcversion-small'), memoryMiB: 8 });
      h.host.createDomain({ name: 'vcpus', image: image('vcpus'), memoryMiB: 8, vcpus: 4 });
      expect(h.host.run({ maxInsns: 200_000_000 })).toBe('all-shutdown');
      return { out: h.out(), log: h.log, o: outcome(h.host) };
    });
    expect(runs[0]!.out).toContain('hcversion: 10000 calls of xen_version(XENVER_version, NULL) = 4.17, all the same');
    expect(runs[0]).toEqual(runs[1]);
  });
});

describe('hypercall arguments from the registers as the C prototype takes them', () => {
  const auipc = (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0;
  const A7_ = A7;
  /** a0 = 2^60 + 5, a1 = 2^60 - 1, a2 = 2^60 + 5: not doubles (above 2^53), exact low halves 5 and -1. */
  const wide = () => [addi(A0, 0, 1), slli(A0, A0, 60), addi(A1, A0, -1), addi(A0, A0, 5), addi(A2, A0, 0)];
  /**
   * xen_version(2^60 + XENVER_pagesize, NULL) (the low half exactly: 4096, where the value as a
   * double, 2^60, would be XENVER_version) into s1; test hypercalls 42 (a leaf) and 43 (not)
   * of prototype (unsigned int, int, unsigned long) with `wide` arguments; then
   * sched_op(2^32 + SCHEDOP_shutdown, &poweroff): the domain ends (else it spins at `j .`).
   */
  function argGuest(): Uint8Array {
    const w = [addi(A0, 0, 1), slli(A0, A0, 60), addi(A0, A0, XenVer.pagesize), addi(A1, 0, 0), addi(A7_, 0, Hypercall.xen_version), ecall, addi(S1, A0, 0)];
    w.push(...wide(), addi(A7_, 0, 42), ecall);
    w.push(...wide(), addi(A7_, 0, 43), ecall);
    w.push(addi(A0, 0, 1), slli(A0, A0, 32), addi(A0, A0, 2), auipc(A1, 0), addi(A1, A1, 20), addi(A7_, 0, Hypercall.sched_op), ecall);
    w.push(0x0000006f /* j . */, 0 /* struct sched_shutdown { reason = SHUTDOWN_poweroff } */);
    return elf(w);
  }

  it('int / unsigned int arguments are the registers\' low halves, exact above 2^53, on the fast path as on the trap path', () => {
    const runs = [true, false].map((fast) => {
      const h = makeHost(fast);
      const seen: Record<number, HypercallArgs[]> = { 42: [], 43: [] };
      const argTypes = ['uint', 'int', 'long'] as const;
      h.host.registerHypercall(42, (_v, a) => (seen[42]!.push({ ...a }), 0), 'test_leaf3', { leafArgs: 3, argTypes });
      h.host.registerHypercall(43, (_v, a) => (seen[43]!.push({ ...a }), 0), 'test_trap3', { argTypes });
      if (!fast) for (const p of h.host.pcpus) p.cpu.setFastEcall(undefined);
      const d = h.host.createDomain({ name: 'args', image: argGuest(), memoryMiB: 4 });
      expect(h.host.run({ maxInsns: 1_000_000 })).toBe('all-shutdown');
      return { d, seen, o: outcome(h.host), log: h.log };
    });
    const [fast, slow] = runs as [typeof runs[0], typeof runs[0]];
    expect(fast.d.shutdownCode).toBe(0); // SHUTDOWN_poweroff: sched_op's cmd was 2^32 + SCHEDOP_shutdown
    const x = fast.o.cpus[0]!.x;
    expect(x[2 * S1]).toBe(4096); // XENVER_pagesize
    // 2^60 + 5 as unsigned long is a double (2^60): pointers and longs stay below 2^53 in practice
    const want = [{ a0: 5, a1: -1, a2: 2 ** 60, a3: 0, a4: 0, a5: 0 }];
    expect(fast.seen[42]).toEqual(want);
    expect(slow.seen[42]!.map((a) => [a.a0, a.a1, a.a2])).toEqual([[5, -1, 2 ** 60]]);
    expect(fast.seen[43]!.map((a) => [a.a0, a.a1, a.a2])).toEqual([[5, -1, 2 ** 60]]);
    expect(slow.seen[43]).toEqual(fast.seen[43]);
    expect(fast.o).toEqual(slow.o);
    expect(fast.log).toEqual(slow.log);
  });
});
