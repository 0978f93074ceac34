// A DeviceTimer whose simulated time is advanced by hand: for unit-testing device models (edu,
// the SR-IOV NIC, a new plugin) without a host, as gem5 tests drive a SimObject's event queue.
import type { DeviceTimer } from './edu.js';

/** Simulated time advanced by hand: `run()` fires everything due, in time order (1 cycle = 1 ns). */
export class ManualDeviceTimer implements DeviceTimer {
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
  /** Runs events due up to now + `ns` (default: until the queue is empty); throws on a runaway loop. */
  run(ns = Infinity): void {
    const end = this.t + ns;
    for (let n = 0; ; n++) {
      if (n > 5_000_000) throw new Error('ManualDeviceTimer: runaway event loop (5,000,000 events in one run)');
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
