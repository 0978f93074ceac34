import { describe, expect, it } from 'vitest';
import { enc, AMO } from './cpu-asm.js';
import { machine, reg, sreg, setReg, BASE } from './cpu-helpers.js';
import type { Cpu } from '../src/index.js';

interface Trap { cause: number; isInterrupt: boolean; tval: number; epc: number; tvalLo: number; tvalHi: number; instret: number }

/** Install a PL0 handler that records the trap and stops the run. */
function catchTraps(cpu: Cpu): Trap[] {
  const traps: Trap[] = [];
  cpu.setTrapHandler(0, (c, cause, isInterrupt, tval, epc) => {
    traps.push({ cause, isInterrupt, tval, epc, tvalLo: c.readCsrLo(0x343), tvalHi: c.readCsrHi(0x343), instret: c.instret });
    c.stop('trap');
  });
  return traps;
}

const DATA = BASE + 0x8000;

describe('loads and stores', () => {
  it('sign- and zero-extend every width', () => {
    const { cpu, mem } = machine((a) => {
      a.li(1, DATA).emit(
        enc.lb(2, 1, 0), enc.lbu(3, 1, 0), enc.lh(4, 1, 0), enc.lhu(5, 1, 0), enc.lw(6, 1, 0), enc.lwu(7, 1, 0), enc.ld(8, 1, 0),
        enc.lb(9, 1, 8), enc.lw(10, 1, 8),
      );
    });
    mem.writeU64(DATA, 0xfedcba98, 0x80000001);
    mem.writeU64(DATA + 8, 0x7fffff7f, 0);
    cpu.run(a(cpu));
    expect(reg(cpu, 2)).toBe(0xffffffffffffff98n);
    expect(reg(cpu, 3)).toBe(0x98n);
    expect(reg(cpu, 4)).toBe(0xffffffffffffba98n);
    expect(reg(cpu, 5)).toBe(0xba98n);
    expect(reg(cpu, 6)).toBe(0xfffffffffedcba98n);
    expect(reg(cpu, 7)).toBe(0xfedcba98n);
    expect(reg(cpu, 8)).toBe(0x80000001fedcba98n);
    expect(reg(cpu, 9)).toBe(0x7fn);
    expect(reg(cpu, 10)).toBe(0x7fffff7fn);
  });

  it('store every width, including negative offsets', () => {
    const { cpu, mem } = machine((a) => {
      a.li(1, DATA + 16).li(2, 0x1122334455667788n).emit(
        enc.sd(2, 1, -16), enc.sw(2, 1, -8), enc.sh(2, 1, -4), enc.sb(2, 1, -2),
      );
    });
    cpu.run(1000);
    expect(mem.readU32(DATA)).toBe(0x55667788);
    expect(mem.readU32(DATA + 4)).toBe(0x11223344);
    expect(mem.readU32(DATA + 8)).toBe(0x55667788);
    expect(mem.readU16(DATA + 12)).toBe(0x7788);
    expect(mem.readU8(DATA + 14)).toBe(0x88);
    expect(mem.readU8(DATA + 15)).toBe(0);
  });

  it('misaligned loads and stores work, within a page and across a page boundary', () => {
    const { cpu, mem } = machine((a) => {
      a.li(1, DATA + 0xffd).li(2, 0x0102030405060708n).emit(
        enc.sd(2, 1, 0), enc.ld(3, 1, 0), enc.lw(4, 1, 1), enc.lhu(5, 1, 2), enc.sw(2, 1, -2), enc.lwu(6, 1, -2),
        enc.lh(7, 1, 0),
      );
    });
    const traps = catchTraps(cpu);
    const before = cpu.cycles;
    cpu.run(insnsOf(cpu, mem));
    expect(traps).toEqual([]);
    expect(reg(cpu, 3)).toBe(0x0102030405060708n);
    expect(mem.readU8(DATA + 0xfff)).toBe(0x06); // from the sd (the later sw covers 0xffb..0xffe)
    expect(mem.readU8(DATA + 0x1004)).toBe(0x01);
    expect(reg(cpu, 4)).toBe(0x04050607n);
    expect(reg(cpu, 5)).toBe(0x0506n);
    expect(reg(cpu, 6)).toBe(0x05060708n);
    expect(reg(cpu, 7)).toBe(0x0506n);
    expect(cpu.cycles - before).toBeGreaterThan(cpu.instret); // misaligned accesses cost extra
  });

  it('a load outside RAM raises a load access fault with tval = address and epc = pc', () => {
    const { cpu } = machine((a) => { a.li(1, 0x1000).emit(enc.addi(3, 0, 1), enc.ld(2, 1, 8), enc.addi(4, 0, 1)); });
    const traps = catchTraps(cpu);
    expect(cpu.run(100)).toBe('stopped');
    expect(traps).toHaveLength(1);
    expect(traps[0]).toMatchObject({ cause: 5, isInterrupt: false, tval: 0x1008, epc: BASE + 8, instret: 2 });
    expect(cpu.readCsr(0x342)).toBe(5);
    expect(cpu.readCsr(0x341)).toBe(BASE + 8);
    expect(reg(cpu, 3)).toBe(1n);
    expect(reg(cpu, 4)).toBe(0n);
    expect(cpu.level).toBe(0);
    expect((cpu.readCsr(0x300) >> 11) & 3).toBe(2); // PPL = PL2
  });

  it('a store outside RAM raises a store access fault; nothing is written', () => {
    const { cpu, mem } = machine((a) => { a.li(1, BASE + (1 << 20) - 4).li(2, -1).emit(enc.sd(2, 1, 0)); });
    const traps = catchTraps(cpu);
    cpu.run(100);
    expect(traps[0]).toMatchObject({ cause: 7, tval: BASE + (1 << 20) - 4 });
    expect(mem.readU32(BASE + (1 << 20) - 4)).toBe(0);
  });

  it('reports the full 64-bit faulting address in tval', () => {
    const { cpu } = machine((a) => { a.li(1, 0xdeadbeef12345678n).emit(enc.lw(2, 1, 0)); });
    const traps = catchTraps(cpu);
    cpu.run(100);
    expect(traps[0]!.cause).toBe(5);
    expect(traps[0]!.tvalLo >>> 0).toBe(0x12345678);
    expect(traps[0]!.tvalHi >>> 0).toBe(0xdeadbeef);
  });

  it('a jump outside RAM raises an instruction access fault at the target', () => {
    const { cpu } = machine((a) => { a.li(1, 0x4000).emit(enc.jalr(5, 1, 0)); });
    const traps = catchTraps(cpu);
    cpu.run(100);
    expect(traps[0]).toMatchObject({ cause: 1, tval: 0x4000, epc: 0x4000 });
    expect(reg(cpu, 5)).toBe(BigInt(BASE + 8)); // the jalr retired
  });

  it('a jump or taken branch to a misaligned target traps with cause 0 at the jump', () => {
    const m1 = machine((a) => { a.li(1, BASE + 0x102).label('j').emit(enc.jalr(5, 1, 0)); });
    const t1 = catchTraps(m1.cpu);
    m1.cpu.run(100);
    expect(t1[0]).toMatchObject({ cause: 0, tval: BASE + 0x102, epc: m1.asm.addr('j') });
    expect(reg(m1.cpu, 5)).toBe(0n); // rd not written

    const m2 = machine((a) => { a.emit(enc.addi(1, 0, 1), enc.beq(0, 0, 6)); });
    const t2 = catchTraps(m2.cpu);
    m2.cpu.run(100);
    expect(t2[0]).toMatchObject({ cause: 0, tval: BASE + 10, epc: BASE + 4, instret: 1 });

    const m3 = machine((a) => { a.emit(enc.bne(0, 0, 6), enc.addi(1, 0, 7), enc.ebreak()); });
    const t3 = catchTraps(m3.cpu);
    m3.cpu.run(100);
    expect(t3[0]).toMatchObject({ cause: 3 }); // not taken: no fault
    expect(reg(m3.cpu, 1)).toBe(7n);

    const m4 = machine((a) => { a.emit(enc.jal(1, 6)); });
    const t4 = catchTraps(m4.cpu);
    m4.cpu.run(100);
    expect(t4[0]).toMatchObject({ cause: 0, tval: BASE + 6, epc: BASE });
  });

  it('jalr clears bit 0 of the target and links after computing it (rd == rs1)', () => {
    const { cpu, asm } = machine((a) => { a.li(1, BASE + 0x11).label('j').emit(enc.jalr(1, 1, -1)); });
    cpu.run((asm.addr('j') - BASE) / 4 + 1);
    expect(cpu.pc).toBe(BASE + 0x10);
    expect(reg(cpu, 1)).toBe(BigInt(asm.addr('j') + 4)); // link = jalr pc + 4
  });
});

/** Count the li/emit words (all straight-line) for run(): machine's program length. */
function insnsOf(_cpu: Cpu, mem: { readU32(pa: number): number }): number {
  let n = 0;
  while (mem.readU32(BASE + 4 * n) !== 0) n++;
  return n;
}
function a(cpu: Cpu): number { return insnsOf(cpu, cpu.mem); }

describe('LR/SC', () => {
  function lrsc(build: (as: import('./cpu-asm.js').Asm) => void) {
    const m = machine((as) => { as.li(1, DATA).li(2, 0x55); build(as); });
    return m;
  }
  it('sc succeeds after lr to the same address and writes', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.lrd(3, 1), enc.scd(4, 1, 2)));
    mem.writeU64(DATA, 7);
    cpu.run(insnsOf(cpu, mem));
    expect(reg(cpu, 3)).toBe(7n);
    expect(reg(cpu, 4)).toBe(0n);
    expect(mem.readU64(DATA)).toBe(0x55);
  });
  it('sc fails without a reservation, and always clears it', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.scw(4, 1, 2), enc.lrw(3, 1), enc.scw(5, 1, 2), enc.scw(6, 1, 2)));
    cpu.run(insnsOf(cpu, mem));
    expect(reg(cpu, 4)).toBe(1n);
    expect(reg(cpu, 5)).toBe(0n);
    expect(reg(cpu, 6)).toBe(1n);
    expect(mem.readU32(DATA)).toBe(0x55);
  });
  it('sc to a different address than the reservation fails', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.lrw(3, 1), enc.addi(7, 1, 4), enc.scw(4, 7, 2)));
    cpu.run(insnsOf(cpu, mem));
    expect(reg(cpu, 4)).toBe(1n);
    expect(mem.readU32(DATA + 4)).toBe(0);
  });
  it('a write by another agent to the reserved bytes makes sc fail', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.lrd(3, 1), enc.scd(4, 1, 2)));
    const n = insnsOf(cpu, mem);
    cpu.run(n - 1);
    mem.writeU32(DATA, 0); // same value, but an external write clears the reservation
    cpu.run(1);
    expect(reg(cpu, 4)).toBe(1n);
  });
  it('a trap between lr and sc clears the reservation', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.lrd(3, 1), enc.ecall(), enc.scd(4, 1, 2)));
    cpu.setTrapHandler(0, (c) => c.completeEmulated(0));
    cpu.run(insnsOf(cpu, mem));
    expect(reg(cpu, 4)).toBe(1n);
  });
  it('the reservation survives run() boundaries', () => {
    const { cpu, mem } = lrsc((as) => as.emit(enc.lrd(3, 1), enc.scd(4, 1, 2)));
    const n = insnsOf(cpu, mem);
    cpu.run(n - 1);
    cpu.run(1);
    expect(reg(cpu, 4)).toBe(0n);
  });
  it('misaligned lr / sc trap with cause 6; lr outside RAM is a load access fault', () => {
    for (const w of [enc.lrw(3, 1), enc.scd(3, 1, 2), enc.lrd(3, 1)]) {
      const { cpu } = machine((as) => { as.li(1, DATA + 4 + (w === enc.lrw(3, 1) ? 2 : 0)).emit(w); });
      const traps = catchTraps(cpu);
      cpu.run(100);
      expect(traps[0]!.cause).toBe(6);
      expect(traps[0]!.tval).toBe(DATA + 4 + (w === enc.lrw(3, 1) ? 2 : 0));
    }
    const { cpu } = machine((as) => { as.li(1, 0x1000).emit(enc.lrd(3, 1)); });
    const traps = catchTraps(cpu);
    cpu.run(100);
    expect(traps[0]).toMatchObject({ cause: 5, tval: 0x1000 });
  });
});

describe('AMOs', () => {
  const vals = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x7fffffffffffffffn, 0x8000000000000000n,
    0xffffffffffffffffn, 0x123456789abcdef0n, 0xfffffffe00000005n];
  const ops = Object.entries(AMO) as Array<[keyof typeof AMO, number]>;
  function ref(op: keyof typeof AMO, mem: bigint, src: bigint, bits: 32 | 64): bigint {
    const S = (v: bigint) => BigInt.asIntN(bits, v), U = (v: bigint) => BigInt.asUintN(bits, v);
    switch (op) {
      case 'add': return U(mem + src);
      case 'swap': return U(src);
      case 'xor': return U(mem ^ src);
      case 'or': return U(mem | src);
      case 'and': return U(mem & src);
      case 'min': return U(S(mem) < S(src) ? mem : src);
      case 'max': return U(S(mem) > S(src) ? mem : src);
      case 'minu': return U(mem) < U(src) ? U(mem) : U(src);
      case 'maxu': return U(mem) > U(src) ? U(mem) : U(src);
    }
  }
  for (const bits of [32, 64] as const) {
    it(`every amo*.${bits === 32 ? 'w' : 'd'} returns the old value and stores op(old, src)`, () => {
      for (const [name, f5] of ops) {
        for (const m0 of vals) for (const s0 of vals) {
          const { cpu, mem } = machine((as) => { as.li(1, DATA).emit(enc.amo(f5, bits === 64, 3, 1, 2, 3)); });
          setReg(cpu, 2, s0);
          const n = insnsOf(cpu, mem);
          const mv = BigInt.asUintN(bits, m0);
          mem.writeU64(DATA, Number(mv & 0xffffffffn), Number(mv >> 32n));
          cpu.run(n);
          const old = bits === 32 ? BigInt.asUintN(64, BigInt.asIntN(32, mv)) : mv;
          expect(reg(cpu, 3), `${name} ${m0} ${s0}`).toBe(old);
          const got = bits === 32 ? BigInt(mem.readU32(DATA)) : (BigInt(mem.readU32(DATA + 4)) << 32n) | BigInt(mem.readU32(DATA));
          expect(got, `${name} ${m0} ${s0}`).toBe(ref(name, mv, s0, bits));
          if (bits === 32) expect(mem.readU32(DATA + 4)).toBe(Number(mv >> 32n)); // upper word untouched
        }
      }
    });
  }
  it('a misaligned AMO traps with cause 6 and tval = address; outside RAM with cause 7', () => {
    const m = machine((as) => { as.li(1, DATA + 4).emit(enc.amo(AMO.add, true, 3, 1, 2)); });
    const t = catchTraps(m.cpu);
    m.cpu.run(100);
    expect(t[0]).toMatchObject({ cause: 6, tval: DATA + 4 });
    const m2 = machine((as) => { as.li(1, 0x2000).emit(enc.amo(AMO.swap, false, 3, 1, 2)); });
    const t2 = catchTraps(m2.cpu);
    m2.cpu.run(100);
    expect(t2[0]).toMatchObject({ cause: 7, tval: 0x2000 });
  });
  it('an AMO with rd = rs2 uses the source before writing the old value', () => {
    const { cpu, mem } = machine((as) => { as.li(1, DATA).li(2, 5).emit(enc.amo(AMO.add, true, 2, 1, 2)); });
    mem.writeU64(DATA, 10);
    cpu.run(insnsOf(cpu, mem));
    expect(reg(cpu, 2)).toBe(10n);
    expect(mem.readU64(DATA)).toBe(15);
  });
});

describe('self-modifying code', () => {
  it('a store to the next instruction in the same block takes effect before it runs', () => {
    // sw x2 -> [x1] where x1 = address of the instruction right after the store
    const { cpu, mem, asm } = machine((as) => {
      as.li(1, 0).li(2, 0).emit(enc.addi(5, 0, 0)); // placeholders patched below
      as.label('st').emit(enc.sw(2, 1, 0)).label('target').emit(enc.addi(3, 0, 1), enc.addi(4, 0, 9), enc.ebreak());
    });
    const target = asm.addr('target');
    // rewrite the li sequences: simpler to set registers directly and start at 'st'
    setReg(cpu, 1, BigInt(target));
    setReg(cpu, 2, BigInt(enc.addi(3, 0, 2)));
    cpu.pc = asm.addr('st');
    // compile the block once (executing the original code) to make sure the cache holds it
    const traps = catchTraps(cpu);
    mem.writeU32(target, enc.addi(3, 0, 1));
    cpu.run(100);
    expect(traps[0]!.cause).toBe(3);
    expect(reg(cpu, 3)).toBe(2n); // the patched instruction ran
    expect(reg(cpu, 4)).toBe(9n);
    expect(cpu.stats.blockInvalidations).toBeGreaterThan(0);
  });

  it('a store ending a block that rewrites the next block of the same region takes effect', () => {
    // maxBlockInsns 2 splits [nop, sw] | [addi x3 ...]: both blocks land in one compiled region
    const { cpu, asm } = machine((as) => {
      as.emit(enc.addi(0, 0, 0), enc.sw(2, 1, 0)).label('t').emit(enc.addi(3, 0, 1), enc.addi(4, 0, 4), enc.ebreak());
    }, { maxBlockInsns: 2 });
    setReg(cpu, 1, BigInt(asm.addr('t')));
    setReg(cpu, 2, BigInt(enc.addi(3, 0, 7)));
    const traps = catchTraps(cpu);
    cpu.run(100);
    expect(traps[0]!.cause).toBe(3);
    expect(reg(cpu, 3)).toBe(7n);
    // and an AMO doing the same
    const m2 = machine((as) => {
      as.emit(enc.addi(0, 0, 0), enc.amo(AMO.swap, false, 0, 1, 2)).label('t').emit(enc.addi(3, 0, 1), enc.ebreak());
    }, { maxBlockInsns: 2 });
    setReg(m2.cpu, 1, BigInt(m2.asm.addr('t')));
    setReg(m2.cpu, 2, BigInt(enc.addi(3, 0, 9)));
    const t2 = catchTraps(m2.cpu);
    m2.cpu.run(100);
    expect(t2[0]!.cause).toBe(3);
    expect(reg(m2.cpu, 3)).toBe(9n);
  });

  it('a store to code that already ran invalidates it (without fence.i) and so does fence.i', () => {
    for (const useFence of [false, true]) {
      const { cpu, asm } = machine((as) => {
        as.label('f').emit(enc.addi(10, 10, 1), enc.jalr(0, 1, 0)); // f: a0 += 1; ret
        as.label('main');
        as.ref('f', (o) => enc.jal(1, o)); // call f (a0 = 1)
        as.ref('pf', () => 0); // placeholder: becomes auipc-free load of patch word below
        as.emit(enc.sw(7, 6, 0)); // *f = patched insn
        if (useFence) as.emit(enc.fencei());
        as.ref('f', (o) => enc.jal(1, o)); // call f again (patched: a0 += 100)
        as.emit(enc.ebreak());
        as.label('pf');
      });
      // replace the placeholder with a nop and set the registers
      cpu.mem.writeU32(asm.addr('main') + 4, enc.addi(0, 0, 0));
      setReg(cpu, 6, BigInt(asm.addr('f')));
      setReg(cpu, 7, BigInt(enc.addi(10, 10, 100)));
      cpu.pc = asm.addr('main');
      const traps = catchTraps(cpu);
      cpu.run(1000);
      expect(traps[0]!.cause).toBe(3);
      expect(reg(cpu, 10)).toBe(101n);
    }
  });

  it('writes through PhysMemory (loaders, DMA) invalidate compiled code', () => {
    const { cpu, mem } = machine((as) => { as.emit(enc.addi(10, 10, 1), enc.ebreak()); });
    cpu.setTrapHandler(0, (c) => { c.stop(); });
    cpu.run(10);
    expect(reg(cpu, 10)).toBe(1n);
    mem.writeU32(BASE, enc.addi(10, 10, 50));
    cpu.pc = BASE; cpu.level = 2;
    cpu.run(10);
    expect(reg(cpu, 10)).toBe(51n);
  });

  it('stores to data next to code on the same page do not disturb execution', () => {
    const { cpu } = machine((as) => {
      as.li(1, BASE + 0x800).li(2, 1000);
      as.label('loop').emit(enc.sd(2, 1, 0), enc.ld(3, 1, 0), enc.add(10, 10, 3), enc.addi(2, 2, -1));
      as.ref('loop', (o) => enc.bne(2, 0, o));
      as.emit(enc.ebreak());
    });
    const traps = catchTraps(cpu);
    cpu.run(100000);
    expect(traps[0]!.cause).toBe(3);
    expect(reg(cpu, 10)).toBe(500500n);
  });
});

describe('PhysMemory', () => {
  it('bounds-checks its helpers and supports RAM above 4 GiB physical', async () => {
    const { PhysMemory } = await import('../src/index.js');
    const m = new PhysMemory({ base: 0x1_0000_0000, size: 8192 });
    expect(m.contains(0x1_0000_0000, 8192)).toBe(true);
    expect(m.contains(0x1_0000_0000, 8193)).toBe(false);
    expect(() => m.readU32(0xffff_fffc)).toThrow(RangeError);
    m.writeU64(0x1_0000_1000, 2 ** 52 + 3);
    expect(m.readU64(0x1_0000_1000)).toBe(2 ** 52 + 3);
    expect(() => new PhysMemory({ size: 1000 })).toThrow(/multiple of 4 KiB/);
  });
  it('executes code in RAM above 2^32', async () => {
    const { PhysMemory, Cpu } = await import('../src/index.js');
    const m = new PhysMemory({ base: 0x2_0000_0000, size: 1 << 16 });
    m.writeU32(0x2_0000_0000, enc.auipc(1, 0));
    m.writeU32(0x2_0000_0004, enc.ld(2, 1, 0x100));
    m.writeU64(0x2_0000_0100, 42);
    const cpu = new Cpu(m);
    expect(cpu.pc).toBe(0x2_0000_0000);
    cpu.run(2);
    expect(sreg(cpu, 1)).toBe(0x2_0000_0000n);
    expect(reg(cpu, 2)).toBe(42n);
  });
});
