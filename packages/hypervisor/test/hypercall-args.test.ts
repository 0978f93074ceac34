// Hypercall arguments as Xen's C prototypes take them (xen/include/hypercall-defs.c; Arm64's
// call_handlers_arm64 passes each 64-bit register to the prototype): an `int` argument is the
// register's low 32 bits as signed, an `unsigned int` its low 32 bits unsigned, `unsigned long`
// and pointers all 64 bits. HypercallTable converts in dispatch and dispatchNested (multicall
// entries); the host's trap and fast paths convert from the register halves (see
// hypercall-fastpath.test.ts for a guest's calls above 2^53).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Errno, Hypercall, HypercallArgTypes, SchedOp, XenVer, hypercallArgTypes, type HypercallArgType } from '@tachyxx/abi';
import { HypercallTable, type HypercallArgs } from '@tachyxx/hypervisor';

const TWO32 = 2 ** 32;
const args = (a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0): HypercallArgs => ({ a0, a1, a2, a3, a4, a5 });

/** A table with test row 40 of the given types; what its handler saw, per call. */
function recorder(argTypes?: readonly HypercallArgType[]) {
  const t = new HypercallTable<string>();
  const seen: HypercallArgs[] = [];
  const objs: HypercallArgs[] = [];
  t.register(40, (_v, a) => { seen.push({ ...a }); objs.push(a); return 0; }, 'test_op', argTypes ? { argTypes } : {});
  return { t, seen, objs };
}

describe('hypercall arguments as the C prototype takes them', () => {
  it("an 'int' argument is the low 32 bits as signed (xen_version(int cmd): cmd = 2^32 is XENVER_version)", () => {
    const { t, seen } = recorder(['int']);
    const cases: [number, number][] = [[TWO32, 0], [TWO32 + 2, 2], [2 ** 52 + 0x8000_0000, -0x8000_0000], [TWO32 - 1, -1], [0x7fff_ffff, 0x7fff_ffff], [-1, -1], [5, 5]];
    for (const [a0] of cases) t.dispatch('v', 40, args(a0));
    expect(seen.map((a) => a.a0)).toEqual(cases.map(([, want]) => want));
  });

  it("a 'uint' argument is the low 32 bits unsigned (grant_table_op's count, vcpu_op's vcpuid)", () => {
    const { t, seen } = recorder(['long', 'uint', 'uint']);
    t.dispatch('v', 40, args(TWO32 + 3, TWO32 + 7, -1));
    t.dispatch('v', 40, args(0, 2 ** 40 + 0xffff_ffff, 0x8000_0000));
    expect(seen).toEqual([args(TWO32 + 3, 7, 0xffff_ffff), args(0, 0xffff_ffff, 0x8000_0000)]);
  });

  it("'long' and 'ptr' arguments, arguments past the prototype and rows without types keep all 64 bits", () => {
    const { t, seen } = recorder(['long', 'ptr']);
    t.dispatch('v', 40, args(2 ** 40 + 1, 2 ** 33 + 8, TWO32 + 1, 2 ** 50, -1, TWO32));
    expect(seen[0]).toEqual(args(2 ** 40 + 1, 2 ** 33 + 8, TWO32 + 1, 2 ** 50, -1, TWO32));
    const plain = recorder();
    plain.t.dispatch('v', 40, args(TWO32 + 1, TWO32 + 2));
    expect(plain.seen[0]).toEqual(args(TWO32 + 1, TWO32 + 2));
  });

  it('passes the caller\'s object on when nothing changes (the null hypercall allocates nothing), a converted copy otherwise', () => {
    const { t, objs } = recorder(['int', 'uint', 'ptr']);
    const same = args(XenVer.version, 0x8000_0000, 2 ** 40);
    t.dispatch('v', 40, same);
    expect(objs[0]).toBe(same);
    const high = args(TWO32, 1, 2);
    t.dispatch('v', 40, high);
    expect(objs[1]).not.toBe(high);
    expect(high.a0).toBe(TWO32); // the caller's arguments are not changed
  });

  it('multicall entries (dispatchNested, xen_ulong_t args) are converted as a direct call is', () => {
    const { t, seen } = recorder(['int', 'uint', 'long']);
    t.register(41, (_v, a) => t.dispatchNested('v', a.a0, args(TWO32 + SchedOp.shutdown, 2 ** 36 + 4, 2 ** 36 + 4)), 'test_multi');
    expect(t.dispatch('v', 41, args(40))).toBe(0);
    expect(seen).toEqual([args(SchedOp.shutdown, 4, 2 ** 36 + 4)]);
  });

  it("the argument types default to Xen 4.17's prototypes (@tachyxx/abi HypercallArgTypes) by number", () => {
    expect(hypercallArgTypes(Hypercall.xen_version)).toEqual(['int', 'ptr']);
    expect(hypercallArgTypes(Hypercall.sched_op)).toEqual(['int', 'ptr']);
    expect(hypercallArgTypes(Hypercall.event_channel_op)).toEqual(['int', 'ptr']);
    expect(hypercallArgTypes(Hypercall.physdev_op)).toEqual(['int', 'ptr']);
    expect(hypercallArgTypes(Hypercall.grant_table_op)).toEqual(['uint', 'ptr', 'uint']);
    expect(hypercallArgTypes(Hypercall.vcpu_op)).toEqual(['int', 'uint', 'ptr']);
    expect(hypercallArgTypes(Hypercall.console_io)).toEqual(['uint', 'uint', 'ptr']);
    expect(hypercallArgTypes(Hypercall.memory_op)).toEqual(['long', 'ptr']);
    expect(hypercallArgTypes(Hypercall.hvm_op)).toEqual(['long', 'ptr']);
    expect(hypercallArgTypes(Hypercall.multicall)).toEqual(['ptr', 'long']);
    expect(hypercallArgTypes(Hypercall.set_timer_op)).toEqual(['long']);
    expect(hypercallArgTypes(40)).toBeUndefined();
    expect(Object.keys(HypercallArgTypes).length).toBe(11);
    const t = new HypercallTable<string>();
    const seen: number[] = [];
    t.register(Hypercall.sched_op, (_v, a) => (seen.push(a.a0, a.a1), 0));
    t.register(Hypercall.memory_op, (_v, a) => (seen.push(a.a0, a.a1), 0));
    t.dispatch('v', Hypercall.sched_op, args(TWO32 + SchedOp.shutdown, TWO32 + 8));
    t.dispatch('v', Hypercall.memory_op, args(TWO32 + 1, TWO32 + 8));
    expect(seen).toEqual([SchedOp.shutdown, TWO32 + 8, TWO32 + 1, TWO32 + 8]);
    expect(t.argKinds(Hypercall.sched_op)).toBe(1);
    expect(t.argKinds(Hypercall.memory_op)).toBe(0);
    expect(t.argKinds(63)).toBe(0);
    expect(t.argKinds(2 ** 40)).toBe(0);
    // the fast path's one lookup: a leaf's argument count | kinds << 3, else -1
    t.register(Hypercall.xen_version, () => 0, undefined, { leafArgs: 2 });
    expect(t.leafByNr[Hypercall.xen_version]).toBe(2 | (1 << 3));
    expect(t.leafByNr[Hypercall.sched_op]).toBe(-1);
    expect(t.leafByNr[0]).toBe(-1);
  });

  it('register refuses a prototype it cannot follow (loudly: a table bug, not guest input)', () => {
    const t = new HypercallTable<string>();
    expect(() => t.register(40, () => 0, 'x', { argTypes: ['int', 'int', 'int', 'int', 'int', 'int', 'int'] })).toThrow(/7 argument types, at most 6/);
    expect(() => t.register(40, () => 0, 'x', { argTypes: ['short' as 'int'] })).toThrow(/argument type 'short'/);
    expect(() => t.register(Hypercall.xen_version, () => 0, undefined, { leafArgs: 3 })).toThrow(/leafArgs 3 but the prototype has 2 arguments/);
    expect(() => t.register(40, () => 0, 'x', { leafArgs: 1, argTypes: ['int', 'ptr'] })).toThrow(/leafArgs 1/);
  });

  it('property: every kind equals the C conversion of the 64-bit value (BigInt reference)', () => {
    fc.assert(fc.property(fc.bigUint64Array({ minLength: 3, maxLength: 3 }), ([r0, r1, r2]) => {
      // values a double holds exactly (below 2^53), as the table receives them from a caller
      const v = [r0!, r1!, r2!].map((r) => r & ((1n << 53n) - 1n));
      const { t, seen } = recorder(['int', 'uint', 'long']);
      const ret = t.dispatch('v', 40, args(Number(v[0]), Number(v[1]), Number(v[2])));
      expect(ret).toBe(0);
      expect(seen[0]!.a0).toBe(Number(BigInt.asIntN(32, v[0]!)));
      expect(seen[0]!.a1).toBe(Number(BigInt.asUintN(32, v[1]!)));
      expect(seen[0]!.a2).toBe(Number(v[2]!));
    }));
  });

  it('an unknown number is still -ENOSYS whatever its arguments', () => {
    const t = new HypercallTable<string>();
    expect(t.dispatch('v', 63, args(TWO32))).toBe(-Errno.ENOSYS);
    expect(t.dispatch('v', 64, args())).toBe(-Errno.ENOSYS);
  });
});
