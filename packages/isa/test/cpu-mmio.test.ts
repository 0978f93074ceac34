// MMIO: loads and stores of every width reach a device region's handler at PL1 (and PL0/PL2
// without an MMU); addresses outside RAM that no region holds, misaligned accesses, AMOs and
// instruction fetches from device space are access faults; MMIO pages never enter the soft-TLB.
import { describe, expect, it } from 'vitest';
import { enc, AMO } from './cpu-asm.js';
import { machine, reg, BASE } from './cpu-helpers.js';
import { MmioBus, Mmio32Handler, type Cpu, type MmioHandler, type MmioValue } from '../src/index.js';

const DEV = 0x4000_0000;

/** A byte-addressed 64-byte register file that logs every access. */
class Recorder implements MmioHandler {
  readonly bytes = new Uint8Array(64);
  readonly log: string[] = [];
  read(offset: number, size: number, out: MmioValue): void {
    this.log.push(`r${size}@${offset}`);
    let lo = 0, hi = 0;
    for (let k = Math.min(size, 4) - 1; k >= 0; k--) lo = (lo << 8) | this.bytes[offset + k]!;
    if (size === 8) for (let k = 7; k >= 4; k--) hi = (hi << 8) | this.bytes[offset + k]!;
    out.lo = size === 4 || size === 8 ? lo | 0 : lo >>> 0;
    out.hi = hi | 0;
  }
  write(offset: number, size: number, lo: number, hi: number): void {
    this.log.push(`w${size}@${offset}`);
    for (let k = 0; k < size; k++) this.bytes[offset + k] = k < 4 ? (lo >>> (8 * k)) & 255 : (hi >>> (8 * (k - 4))) & 255;
  }
}

interface Trap { cause: number; tval: number }
function catchTraps(cpu: Cpu): Trap[] {
  const traps: Trap[] = [];
  cpu.setTrapHandler(0, (c, cause, _i, tval) => { traps.push({ cause, tval }); c.stop('trap'); });
  return traps;
}

function withDevice(build: Parameters<typeof machine>[0], level = 1) {
  const m = machine(build);
  const bus = new MmioBus();
  const dev = new Recorder();
  bus.add(DEV, 64, dev, 'recorder');
  m.mem.mmio = bus;
  m.cpu.level = level;
  return { ...m, bus, dev, traps: catchTraps(m.cpu) };
}

const count = (cpu: Cpu) => { let n = 0; while (cpu.mem.readU32(BASE + 4 * n) !== 0) n++; return n; };

describe('MMIO bus reached from the CPU', () => {
  it('stores and loads of 1, 2, 4 and 8 bytes at PL1 reach the handler with the right offsets and values', () => {
    const { cpu, dev, bus, traps } = withDevice((a) => {
      a.li(1, DEV).li(2, 0x8877665544332211n).emit(
        enc.sd(2, 1, 0), enc.sw(2, 1, 8), enc.sh(2, 1, 12), enc.sb(2, 1, 14),
        enc.ld(3, 1, 0), enc.lw(4, 1, 4), enc.lwu(5, 1, 4), enc.lh(6, 1, 6), enc.lhu(7, 1, 6), enc.lb(8, 1, 7), enc.lbu(9, 1, 7),
        enc.lw(10, 1, 8), enc.lhu(11, 1, 12), enc.lbu(12, 1, 14),
      );
    });
    const c0 = cpu.cycles;
    cpu.run(count(cpu));
    expect(traps).toEqual([]);
    expect(dev.log).toEqual(['w8@0', 'w4@8', 'w2@12', 'w1@14', 'r8@0', 'r4@4', 'r4@4', 'r2@6', 'r2@6', 'r1@7', 'r1@7', 'r4@8', 'r2@12', 'r1@14']);
    expect(reg(cpu, 3)).toBe(0x8877665544332211n);
    expect(reg(cpu, 4)).toBe(0xffffffff88776655n); // lw sign-extends
    expect(reg(cpu, 5)).toBe(0x88776655n);
    expect(reg(cpu, 6)).toBe(0xffffffffffff8877n);
    expect(reg(cpu, 7)).toBe(0x8877n);
    expect(reg(cpu, 8)).toBe(0xffffffffffffff88n);
    expect(reg(cpu, 9)).toBe(0x88n);
    expect(reg(cpu, 10)).toBe(0x44332211n);
    expect(reg(cpu, 11)).toBe(0x2211n);
    expect(reg(cpu, 12)).toBe(0x11n);
    expect(bus.reads).toBe(10);
    expect(bus.writes).toBe(4);
    // Every access paid the bus cost (RAM accesses in the same code cost far less).
    expect(cpu.cycles - c0).toBeGreaterThanOrEqual(10 * bus.readCycles + 4 * bus.writeCycles);
  });

  it('every access reaches the device: MMIO pages never enter the soft-TLB', () => {
    const { cpu, dev } = withDevice((a) => {
      a.li(1, DEV).li(2, 0).label('loop').emit(enc.lw(3, 1, 0), enc.addi(2, 2, 1), enc.slti(4, 2, 100), enc.bne(4, 0, -12));
    });
    cpu.run(2 + 4 * 100 + 2);
    expect(dev.log.length).toBe(100);
  });

  it('reaches devices from PL0 and PL2 as well when no MMU translates', () => {
    for (const level of [0, 2]) {
      const { cpu, dev, traps } = withDevice((a) => { a.li(1, DEV).li(2, 0x5a).emit(enc.sb(2, 1, 3), enc.lbu(3, 1, 3)); }, level);
      cpu.run(count(cpu));
      expect(traps).toEqual([]);
      expect(dev.log).toEqual(['w1@3', 'r1@3']);
      expect(reg(cpu, 3)).toBe(0x5an);
    }
  });

  it('an address outside RAM that no region holds is a load / store access fault', () => {
    const load = withDevice((a) => { a.li(1, DEV + 64).emit(enc.lw(3, 1, 0)); });
    load.cpu.run(count(load.cpu));
    expect(load.traps).toEqual([{ cause: 5, tval: DEV + 64 }]);
    const store = withDevice((a) => { a.li(1, DEV + 0x10000).emit(enc.sw(3, 1, 0)); });
    store.cpu.run(count(store.cpu));
    expect(store.traps).toEqual([{ cause: 7, tval: DEV + 0x10000 }]);
    expect(store.dev.log).toEqual([]);
  });

  it('without a bus, device addresses fault as before', () => {
    const m = machine((a) => { a.li(1, DEV).emit(enc.lw(3, 1, 0)); });
    m.cpu.level = 1;
    const traps = catchTraps(m.cpu);
    m.cpu.run(count(m.cpu));
    expect(traps).toEqual([{ cause: 5, tval: DEV }]);
  });

  it('misaligned MMIO accesses and accesses running off a region fault and never reach the device', () => {
    const { cpu, dev, traps } = withDevice((a) => { a.li(1, DEV + 2).emit(enc.lw(3, 1, 0)); });
    cpu.run(count(cpu));
    expect(traps).toEqual([{ cause: 5, tval: DEV + 2 }]);
    const edge = withDevice((a) => { a.li(1, DEV + 60).emit(enc.sd(3, 1, 0)); });
    edge.cpu.run(count(edge.cpu));
    expect(edge.traps).toEqual([{ cause: 7, tval: DEV + 60 }]);
    expect(dev.log).toEqual([]);
    expect(edge.dev.log).toEqual([]);
  });

  it('AMOs and LR on device space are access faults; fetching from it is an instruction access fault', () => {
    const amo = withDevice((a) => { a.li(1, DEV).emit(enc.amo(AMO.add, false, 3, 1, 2)); });
    amo.cpu.run(count(amo.cpu));
    expect(amo.traps).toEqual([{ cause: 7, tval: DEV }]);
    const lr = withDevice((a) => { a.li(1, DEV).emit(enc.lrw(3, 1)); });
    lr.cpu.run(count(lr.cpu));
    expect(lr.traps).toEqual([{ cause: 5, tval: DEV }]);
    const fetch = withDevice((a) => { a.li(1, DEV).emit(enc.jalr(0, 1, 0)); });
    fetch.cpu.run(count(fetch.cpu) + 1);
    expect(fetch.traps).toEqual([{ cause: 1, tval: DEV }]);
    expect([...amo.dev.log, ...lr.dev.log, ...fetch.dev.log]).toEqual([]);
  });
});

describe('MmioBus', () => {
  it('refuses overlapping regions and finds regions by address after removal', () => {
    const bus = new MmioBus();
    const h = new Recorder();
    const a = bus.add(0x1000, 0x100, h, 'a');
    bus.add(0x2000, 0x1000, h, 'b');
    expect(() => bus.add(0x10f0, 0x20, h, 'c')).toThrow(/overlaps a/);
    expect(bus.find(0x10ff)).toBe(a);
    expect(bus.find(0x1100)).toBeNull();
    expect(bus.coversPage(0x1800)).toBe(true); // same page as region a
    expect(bus.coversPage(0x3000)).toBe(false);
    expect(bus.remove(a)).toBe(true);
    expect(bus.find(0x1000)).toBeNull();
    expect(bus.read(0x1000, 4)).toBe(false);
    expect(bus.faults).toBe(1);
  });

  it('Mmio32Handler splits 8-byte accesses and merges narrow writes into their register', () => {
    class Regs extends Mmio32Handler {
      readonly r = new Uint32Array(4);
      writes: string[] = [];
      protected read32(o: number): number { return this.r[o >> 2]!; }
      protected write32(o: number, v: number): void { this.writes.push(`${o}=${(v >>> 0).toString(16)}`); this.r[o >> 2] = v; }
    }
    const bus = new MmioBus();
    const d = new Regs();
    bus.add(0x1000, 16, d);
    expect(bus.write(0x1000, 8, 0x11223344, 0x55667788 | 0)).toBe(true);
    expect(d.writes).toEqual(['0=11223344', '4=55667788']);
    expect(bus.write(0x1005, 1, 0xaa, 0)).toBe(true);
    expect(d.r[1]).toBe(0x5566aa88);
    expect(bus.read(0x1000, 8)).toBe(true);
    expect([bus.value.lo >>> 0, bus.value.hi >>> 0]).toEqual([0x11223344, 0x5566aa88]);
    expect(bus.read(0x1006, 2)).toBe(true);
    expect(bus.value.lo).toBe(0x5566);
  });
});
