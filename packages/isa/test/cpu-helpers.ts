import { Cpu, PhysMemory, type CpuOptions } from '../src/index.js';
import { Asm } from './cpu-asm.js';

export const BASE = 0x8000_0000;

export interface Machine { cpu: Cpu; mem: PhysMemory; asm: Asm }

/** A 1 MiB machine with `build`'s program at BASE, PL2, pc = BASE. */
export function machine(build: (a: Asm) => void, opts: CpuOptions & { memSize?: number } = {}): Machine {
  const mem = new PhysMemory(BASE, opts.memSize ?? 1 << 20);
  const asm = new Asm(BASE);
  build(asm);
  mem.writeBytes(BASE, asm.finish());
  const cpu = new Cpu(mem, opts);
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
