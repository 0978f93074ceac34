import { Cpu, DEFAULT_TLB_ENTRIES, PhysMemory, engineAreaBytes, type CpuOptions } from '../src/index.js';
import { Asm } from './cpu-asm.js';

export const BASE = 0x8000_0000;

export interface Machine { cpu: Cpu; mem: PhysMemory; asm: Asm }

/**
 * The engine the helpers build harts with unless a test names one: `TACHYXX_TEST_ENGINE=wasm
 * npx vitest run --project isa` runs every machine()-based test on the wasm engine.
 */
export const TEST_ENGINE = process.env.TACHYXX_TEST_ENGINE ?? 'js';

/** A 1 MiB machine with `build`'s program at BASE, PL2, pc = BASE. */
export function machine(build: (a: Asm) => void, opts: CpuOptions & { memSize?: number } = {}): Machine {
  const engine = opts.engine ?? TEST_ENGINE;
  const mem = new PhysMemory({ base: BASE, size: opts.memSize ?? 1 << 20,
    engineArea: engine === 'wasm' ? engineAreaBytes(opts.tlbEntries ?? DEFAULT_TLB_ENTRIES) : 0 });
  const asm = new Asm(BASE);
  build(asm);
  mem.writeBytes(BASE, asm.finish());
  // wasm regions from the start unless a test asks for tier-up
  const cpu = new Cpu(mem, { ...(engine === 'wasm' ? { wasmTierUp: 0 } : {}), ...opts, engine });
  cpu.pc = BASE;
  return { cpu, mem, asm };
}

/** Register as an unsigned 64-bit BigInt. */
export function reg(cpu: Cpu, i: number): bigint {
  return (BigInt(cpu.getRegHi(i) >>> 0) << 32n) | BigInt(cpu.getRegLo(i) >>> 0);
}
export function sreg(cpu: Cpu, i: number): bigint { return BigInt.asIntN(64, reg(cpu, i)); }
export function setReg(cpu: Cpu, i: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  cpu.setReg(i, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
}
