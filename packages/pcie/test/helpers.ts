// Test helpers: a manual simulated clock for devices, and a small host (RAM + MMIO bus + PCIe).
import { PhysMemory } from '@tachyxx/isa';
import { PcieHost, type DeviceTimer, type PcieHostOptions } from '../src/index.js';

export const RAM_BASE = 0x8000_0000;

/** Simulated time advanced by hand: `run()` fires everything due, in time order. */
export class ManualTimer implements DeviceTimer {
  t = 0;
  private q: { at: number; seq: number; action: () => void }[] = [];
  private seq = 0;
  /** 1 GHz: 1 cycle = 1 ns. */
  cyclesToNs(c: number): number { return c; }
  now(): number { return this.t; }
  after(d: number, action: () => void): void {
    if (!Number.isFinite(d) || d < 0) throw new RangeError(`bad delay ${d}`);
    this.q.push({ at: this.t + d, seq: this.seq++, action });
  }
  get pending(): number { return this.q.length; }
  /** Runs events due up to now + `ns` (default: until the queue is empty). */
  run(ns = Infinity): void {
    const end = this.t + ns;
    for (;;) {
      this.q.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const e = this.q[0];
      if (e === undefined || e.at > end) break;
      this.q.shift();
      this.t = e.at;
      e.action();
    }
    if (Number.isFinite(end)) this.t = end;
  }
}

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
