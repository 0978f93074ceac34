// Test helpers: a manual simulated clock for devices, and a small host (RAM + MMIO bus + PCIe).
import { PhysMemory } from '@tachyxx/isa';
import { ManualDeviceTimer, PcieHost, type PcieHostOptions } from '../src/index.js';

export const RAM_BASE = 0x8000_0000;

/** The pcie package's hand-advanced device clock. */
export const ManualTimer = ManualDeviceTimer;
export type ManualTimer = ManualDeviceTimer;

export function host(topology = 'edu', extra: Partial<PcieHostOptions> = {}) {
  const mem = new PhysMemory({ base: RAM_BASE, size: 4 << 20 });
  const timer = new ManualTimer();
  const pcie = new PcieHost({ mem, topology, timer, ...extra });
  return { mem, timer, pcie, bus: pcie.bus };
}

/** 32-bit MMIO read through the bus (as a CPU load would). */
export function mmio32(bus: { read(a: number, s: number): boolean; value: { lo: number } }, addr: number): number {
  if (!bus.read(addr, 4)) throw new Error(`no MMIO at 0x${addr.toString(16)}`);
  return bus.value.lo >>> 0;
}
