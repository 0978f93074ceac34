// A device that raises an interrupt from inside an MMIO access (edu's "raise" register, an
// SR-IOV VF doorbell): the hart takes it at the end of the block that made the access, under
// both engines alike, wherever the access sits in a chain of regions or a loop inside one.
import { describe, expect, it } from 'vitest';
import { enc } from './cpu-asm.js';
import type { Asm } from './cpu-asm.js';
import { machine, reg, BASE } from './cpu-helpers.js';
import { CSR, MmioBus, type Cpu, type CpuEngine, type MmioHandler, type MmioValue } from '../src/index.js';

const DEV = 0x4000_0000;

/** Writing or reading offset 0 raises the PL2 external interrupt line; offset 8 lowers it. */
class Doorbell implements MmioHandler {
  constructor(private readonly cpu: () => Cpu) {}
  read(offset: number, _size: number, out: MmioValue): void { out.lo = 0; out.hi = 0; this.cpu().setExternalInterrupt(2, offset === 0); }
  write(offset: number): void { this.cpu().setExternalInterrupt(2, offset === 0); }
}

function runWith(engine: CpuEngine, build: (a: Asm) => void, wasmTierUp?: number) {
  const m = machine(build, { engine, ...(wasmTierUp === undefined ? {} : { wasmTierUp }) });
  const next = m.asm.addr('next');
  const bus = new MmioBus();
  bus.add(DEV, 64, new Doorbell(() => m.cpu), 'doorbell');
  m.mem.mmio = bus;
  const { cpu, mem } = m;
  mem.writeU32(BASE + 0x700, enc.ebreak());
  cpu.writeCsr(CSR.mideleg, 1 << 9); cpu.writeCsr(CSR.p1ideleg, 1 << 9); cpu.writeCsr(CSR.sie, 1 << 9);
  cpu.writeCsr(CSR.stvec, BASE + 0x700);
  cpu.writeCsr(CSR.sstatus, 0x2);
  cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
  const r = cpu.run(5e6);
  return { r, next, attention: cpu.engineStats().exitsAttention, instret: cpu.instret, cycles: cpu.cycles, sepc: cpu.readCsr(CSR.sepc), scause: [cpu.readCsrHi(CSR.scause), cpu.readCsrLo(CSR.scause)], x5: reg(cpu, 5), x6: reg(cpu, 6) };
}

describe('an interrupt a device raises from an MMIO access', () => {
  // x6 counts a warm-up loop (so regions are hot and chained, and wasm has tiered up), then the
  // store rings the doorbell, then x5 counts a spin that only the interrupt ends
  const build = (warm: number) => (a: Asm): void => {
    a.li(1, DEV).li(6, warm);
    a.label('warm').emit(enc.addi(6, 6, -1)).ref('warm', (o) => enc.bne(6, 0, o));
    a.emit(enc.sw(0, 1, 0)).label('next').emit(enc.addi(5, 0, 0));
    a.label('spin').emit(enc.addi(5, 5, 1)).ref('spin', (o) => enc.bne(5, 0, o));
  };
  for (const warm of [1, 5000, 300_000]) {
    it(`is taken at the end of the ringing block, the same under js and wasm (warm-up ${warm})`, () => {
      const js = runWith('js', build(warm));
      const wa = runWith('wasm', build(warm), 0);
      const tiered = runWith('wasm', build(warm));
      expect(js.r).toBe('stopped');
      expect(js.scause).toEqual([-2147483648, 9]); // interrupt 9, PL2 external
      // the spin never ran a whole iteration: the store's block ends at the bne, the interrupt follows
      expect(js.x5).toBeLessThanOrEqual(1n);
      expect(wa).toEqual(js);
      expect(tiered).toEqual(js);
    });
  }

  // The ringing block leaves through a link the earlier iterations recorded (auipc + jalr to the
  // next block): the chain loop / hub, not the region, must stop there. Every iteration lowers
  // the line (offset 8, masked: nothing to take), the last one raises it (offset 0).
  const linked = (access: 'store' | 'load', n: number) => (a: Asm): void => {
    a.li(1, DEV).li(6, n);
    a.label('loop').emit(enc.addi(6, 6, -1), enc.sltiu(8, 6, 1), enc.xori(8, 8, 1), enc.slli(8, 8, 3), enc.add(9, 1, 8));
    a.emit(access === 'store' ? enc.sw(0, 9, 0) : enc.lw(10, 9, 0), enc.auipc(7, 0), enc.jalr(0, 7, 8));
    a.label('next').emit(enc.addi(0, 0, 0)).ref('loop', (o) => enc.bne(6, 0, o));
    a.emit(enc.addi(5, 0, 0));
    a.label('spin').emit(enc.addi(5, 5, 1)).ref('spin', (o) => enc.bne(5, 0, o));
  };
  for (const access of ['store', 'load'] as const) {
    for (const n of [3, 40_000]) {
      it(`a ${access} that rings through a linked exit: taken before the next block, the same under js and wasm (${n} iterations)`, () => {
        const js = runWith('js', linked(access, n));
        const wa = runWith('wasm', linked(access, n), 0);
        const tiered = runWith('wasm', linked(access, n));
        expect(js.r).toBe('stopped');
        expect(js.scause).toEqual([-2147483648, 9]);
        expect(js.x6).toBe(0n);
        // sepc: the block after the ringing one (the nop the jalr goes to)
        expect(js.sepc).toBe(js.next);
        expect(js.x5).toBe(0n);
        expect(js.attention).toBeGreaterThan(0); // the chain stopped for it (exitsAttention), alike in both engines
        expect(wa).toEqual(js);
        expect(tiered).toEqual(js);
      });
    }
  }
});

describe('engine wasm: the JS run loop hands a chain to the hub', () => {
  it('a JS region (not yet tiered up) whose link leads to a wasm region with a descriptor: the hub runs it (hubHandovers), results as js', () => {
    // page 0: an outer loop too cold to tier up (4 instructions x 100) calling, on page 1, an inner
    // loop hot enough to (2000 instructions per call): its first call after the tier-up goes from a
    // JS region to a wasm one
    const build = (a: Asm): void => {
      a.li(6, 100);
      a.label('outer').emit(enc.jal(1, 4096 - 4 * 0)); // patched below: to BASE + 4096
      a.emit(enc.addi(6, 6, -1)).ref('outer', (o) => enc.bne(6, 0, o)).emit(enc.ebreak());
      while (a.here < BASE + 4096) a.emit(enc.addi(0, 0, 0));
      a.emit(enc.addi(7, 0, 1000));
      a.label('inner').emit(enc.addi(7, 7, -1)).ref('inner', (o) => enc.bne(7, 0, o)).emit(enc.jalr(0, 1, 0));
    };
    const res = (['js', 'wasm'] as const).map((engine) => {
      const m = machine((a) => {
        build(a);
      }, { engine, ...(engine === 'wasm' ? { wasmTierUp: 2000 } : {}) });
      // the jal's offset: from its own address to BASE + 4096
      const jalAt = m.asm.addr('outer');
      m.mem.writeU32(jalAt, enc.jal(1, BASE + 4096 - jalAt));
      m.cpu.setTrapHandler(0, (c) => c.stop('ebreak'));
      expect(m.cpu.run(1e7)).toBe('stopped');
      const st = m.cpu.engineStats();
      return { engine, instret: m.cpu.instret, cycles: m.cpu.cycles, x6: reg(m.cpu, 6), x7: reg(m.cpu, 7), handovers: st.hubHandovers, tierUps: st.wasmTierUps };
    });
    const [js, wa] = res as [typeof res[0], typeof res[0]];
    expect(js.x6).toBe(0n);
    expect(js.instret).toBeGreaterThan(100 * 2000);
    expect({ ...wa, engine: 'js', handovers: 0, tierUps: 0 }).toEqual(js);
    expect(js.handovers).toBe(0);
    expect(wa.tierUps).toBeGreaterThan(0);
    expect(wa.handovers).toBeGreaterThan(0);
  });
});
