// Grant-mapping support in the memory layer: frame map references that defer a free, foreign
// (P2M_FOREIGN) leaves that leave the M2P alone, and guest access to foreign-mapped frames.
import { describe, it, expect } from 'vitest';
import { Errno } from '@tachyxx/abi';
import { MachineMemory, P2m, P2mGuestAccess, P2M_FOREIGN, P2M_R, P2M_RW } from '@tachyxx/hypervisor';

function setup() {
  const machine = new MachineMemory({ memoryMiB: 16 });
  const p2mA = P2m.create(machine, 1)!, p2mB = P2m.create(machine, 2)!;
  const mfn = machine.allocExtent(1, 0);
  p2mA.map(0x80000, mfn, P2M_RW);
  return { machine, p2mA, p2mB, mfn, a: new P2mGuestAccess(machine, p2mA, 1), b: new P2mGuestAccess(machine, p2mB, 2) };
}

describe('foreign mappings in the memory layer', () => {
  it('lets a domain reach a frame it does not own only through a foreign leaf with a map reference', () => {
    const { machine, p2mB, mfn, a, b } = setup();
    expect(p2mB.map(0x90000, mfn, P2M_RW | P2M_FOREIGN)).toBe(true);
    expect(b.readU32(0x9000_0000)).toBe(-Errno.EFAULT); // no reference yet
    expect(machine.getMapRef(mfn)).toBe(true);
    a.writeU32(0x8000_0000, 0xfeedf00d);
    expect(b.readU32(0x9000_0000)).toBe(0xfeedf00d);
    expect(machine.m2p.get(mfn)).toBe(0x80000); // the owner's M2P entry stands
    expect(p2mB.isForeign(0x90000)).toBe(true);
    p2mB.unmap(0x90000);
    expect(machine.m2p.get(mfn)).toBe(0x80000);
    p2mB.map(0x90000, mfn, P2M_RW); // a plain leaf of a frame b does not own: refused even with a reference
    expect(b.readU32(0x9000_0000)).toBe(-Errno.EFAULT);
    machine.putMapRef(mfn);
  });

  it('maps read-only foreign leaves without write access', () => {
    const { machine, p2mB, mfn, b } = setup();
    machine.getMapRef(mfn);
    p2mB.map(0x90000, mfn, P2M_R | P2M_FOREIGN);
    expect(b.readU32(0x9000_0000)).toBe(0);
    expect(b.writeU32(0x9000_0000, 1)).toBe(-Errno.EFAULT);
    expect(() => p2mB.map(0x90200, mfn, P2M_RW | P2M_FOREIGN, 9)).toThrow(RangeError);
  });

  it('defers freeing a referenced frame to the last putMapRef, then scrubs it', () => {
    const { machine, p2mA, mfn, a } = setup();
    const free0 = machine.freeFrames();
    a.writeU32(0x8000_0000, 0x1234);
    expect(machine.getMapRef(mfn)).toBe(true);
    expect(machine.getMapRef(mfn)).toBe(true);
    p2mA.unmap(0x80000);
    const released: [number, number][] = [];
    machine.onDeferredRelease((owner, n) => released.push([owner, n]));
    machine.free(mfn, 1, 1);
    // Still its owner's (Xen: the page stays the domain's, in its tot_pages, until the last put).
    expect(machine.ownerOf(mfn)).toBe(1);
    expect(machine.deferredFrames).toBe(1);
    expect(machine.freeFrames()).toBe(free0);
    expect(machine.mem.view.getUint32(machine.offsetOf(mfn), true)).toBe(0x1234); // not scrubbed under the mapper
    machine.putMapRef(mfn);
    expect(machine.deferredFrames).toBe(1);
    expect(released).toEqual([]);
    machine.putMapRef(mfn);
    expect(machine.deferredFrames).toBe(0);
    expect(released).toEqual([[1, 1]]);
    expect(machine.freeFrames()).toBe(free0 + 1);
    expect(machine.mem.view.getUint32(machine.offsetOf(mfn), true)).toBe(0);
    expect(() => machine.putMapRef(mfn)).toThrow(/no map reference/);
    expect(machine.getMapRef(mfn)).toBe(false); // a free frame cannot be referenced
  });

  it('frees the unreferenced frames of a range at once and defers only the referenced one', () => {
    const machine = new MachineMemory({ memoryMiB: 16 });
    const first = machine.alloc(7, 4)![0]!;
    const free0 = machine.freeFrames();
    machine.getMapRef(first + 2);
    expect(machine.freeAllOwnedBy(7)).toBe(4);
    expect(machine.freeFrames()).toBe(free0 + 3);
    expect(machine.framesOwnedBy(7)).toBe(0);
    machine.putMapRef(first + 2);
    expect(machine.freeFrames()).toBe(free0 + 4);
    expect(machine.counters.framesDeferred).toBe(1);
  });
});
