/**
 * Runs the Host in slices between turns of the Node event loop, so the control socket stays
 * responsive while guests run.
 *
 * - A vCPU can run: one slice of at most `sliceNs` simulated time and an instruction budget
 *   sized to take about `sliceWallMs` of wall time (adapted after every slice); then setImmediate.
 * - Every vCPU is blocked but a timer will wake one: paced, simulated time advances no faster
 *   than the wall clock (the slice ends at sim-now + wall time elapsed since the last slice);
 *   unpaced (batch), it jumps to the next event at once.
 * - Nothing can ever wake (all idle, no timers, no domUs, or only timers that cannot end a block:
 *   the hypervisor's "can never wake"): paced, the clock still follows the
 *   wall clock (uptime goes on); the loop sleeps until `kick()` (a create, an unpause) or a tick.
 * - Clients come first: Node accepts one Unix-socket connection per turn of the event loop, so
 *   while control-socket I/O keeps arriving (`noteIo()`), the loop takes up to IO_TURNS extra
 *   turns before the next slice (a connection flood is drained at thousands per second and an
 *   xl request is not queued behind it; the guests keep most of the CPU).
 * - A device completion is due in simulated time but its host file I/O has not finished
 *   (run() says 'io-wait'): the loop sleeps until that I/O settles (`Host.ioSettled()`), then runs
 *   on; simulated time does not move meanwhile, so the guests see the same run whatever the
 *   host disk does. Control-socket requests are served while it waits.
 */

/** Extra event-loop turns for client I/O before a busy slice, while each turn brings new I/O. */
const IO_TURNS = 64;
import type { Toolstack } from './toolstack.js';

export interface HostRunnerOptions {
  /** Pace simulated time to the wall clock while every vCPU is idle (default true). */
  paced?: boolean;
  /** Longest simulated time of one slice (default 10 ms). */
  sliceNs?: number;
  /** Target wall time of a busy slice (default 8 ms). */
  sliceWallMs?: number;
  /** Sleep while nothing can run (default 20 ms). */
  idlePollMs?: number;
}

export class HostRunner {
  private readonly paced: boolean;
  private readonly sliceNs: number;
  private readonly sliceWallMs: number;
  private readonly idlePollMs: number;
  private budget = 200_000;
  private lastWall = performance.now();
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** Wall ms spent inside Host.run (for stats). */
  busyMs = 0;
  slices = 0;
  error: Error | null = null;
  onError: (e: Error) => void = () => {};
  private sawIo = false;
  private ioTurns = 0;
  /** Waiting for a device's host I/O (run() said 'io-wait'); the settle kicks the loop. */
  private ioWait = false;
  /** Times the loop waited for a device's host I/O. */
  ioWaits = 0;

  constructor(private readonly ts: Toolstack, o: HostRunnerOptions = {}) {
    this.paced = o.paced ?? true;
    this.sliceNs = o.sliceNs ?? 10_000_000;
    this.sliceWallMs = o.sliceWallMs ?? 8;
    this.idlePollMs = o.idlePollMs ?? 20;
    ts.onWork = () => this.kick();
    ts.onIo = () => this.noteIo();
  }

  /** Client I/O arrived (a connection, a request): give the event loop a few turns before the next slice. */
  noteIo(): void {
    this.sawIo = true;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastWall = performance.now();
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  /** Something may have become runnable: run a slice soon. */
  kick(): void {
    if (this.stopped || this.immediate || this.ioWait) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped || ms < 0) return;
    if (ms <= 0) this.immediate ??= setImmediate(() => this.loop());
    else if (!this.timer) this.timer = setTimeout(() => this.loop(), ms);
  }

  private loop(): void {
    this.immediate = null;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.stopped) return;
    if (this.sawIo && this.ioTurns < IO_TURNS) {
      this.sawIo = false;
      this.ioTurns++;
      this.immediate = setImmediate(() => this.loop());
      return;
    }
    this.sawIo = false;
    this.ioTurns = 0;
    try {
      this.schedule(this.step());
    } catch (e) {
      this.error = e as Error;
      this.stop();
      this.onError(e as Error);
    }
  }

  /**
   * The run waits for host I/O: sleep until it settles (no polling), then run on. The wall time
   * waited does not count as simulated idle time (the clock stays where the completion is due).
   */
  private waitIo(): number {
    this.ioWaits++;
    this.ioWait = true;
    void this.ts.host.ioSettled().then(() => {
      this.ioWait = false;
      this.lastWall = performance.now();
      this.kick();
    });
    this.ts.afterSlice();
    return -1;
  }

  /** One turn: returns how long to wait before the next (0 = at once, -1 = until kicked). */
  step(): number {
    const ts = this.ts;
    const host = ts.host;
    if (host.ioWaiting) return this.waitIo();
    const wall = performance.now();
    const now = host.clock.now;
    if (ts.debug.holdsHost) {
      // gdb holds a domain (all-stop): nothing runs and simulated time stands still until it
      // resumes (the debugger kicks the loop); consoles and actions already due still go out.
      this.lastWall = wall;
      ts.afterSlice();
      return this.idlePollMs;
    }
    if (ts.anyRunnable()) {
      const t0 = performance.now();
      const why = host.run({ untilNs: now + this.sliceNs, maxInsns: host.instructions() + this.budget });
      ts.debug.hostRan(why);
      if (why === 'io-wait') {
        this.busyMs += performance.now() - t0;
        this.slices++;
        return this.waitIo();
      }
      const dt = performance.now() - t0;
      this.busyMs += dt;
      this.slices++;
      // Aim the next slice at sliceWallMs (bounded change per slice).
      const f = Math.min(2, Math.max(0.5, this.sliceWallMs / Math.max(0.05, dt)));
      this.budget = Math.max(10_000, Math.min(50_000_000, Math.round(this.budget * f)));
      this.lastWall = performance.now();
      ts.afterSlice();
      return 0;
    }
    const elapsedNs = Math.max(0, Math.floor((wall - this.lastWall) * 1e6));
    if (ts.anyTimerPending()) {
      let until: number;
      if (this.paced) {
        if (elapsedNs < 1_000_000) return 1;
        until = now + Math.min(elapsedNs, 1_000_000_000);
      } else until = now + this.sliceNs * 100;
      this.lastWall = wall;
      const t0 = performance.now();
      const why = host.run({ untilNs: until, maxInsns: host.instructions() + this.budget });
      ts.debug.hostRan(why);
      if (why === 'io-wait') {
        this.busyMs += performance.now() - t0;
        this.slices++;
        return this.waitIo();
      }
      // The armed timers can wake nobody (a wfi with nothing enabled): the host says so at once.
      // Unpaced, the daemon's clock still runs them in steps between idle polls (uptime goes on).
      if (why === 'idle' && !this.paced && host.clock.now < until) host.queue.runUntil(until);
      this.busyMs += performance.now() - t0;
      this.slices++;
      // 'idle': the armed timers cannot end any block (a wfi with no interrupt enabled: the
      // hypervisor's "can never wake", docs/hypervisor.md): as below, instead of spinning on it.
      if (why !== 'idle') {
        ts.afterSlice();
        return 0;
      }
    }
    // Nothing can wake: keep the clock with the wall (paced), sleep until kicked.
    if (this.paced && elapsedNs > 0 && host.clock.now === now) host.queue.runUntil(now + Math.min(elapsedNs, 1_000_000_000));
    this.lastWall = wall;
    ts.afterSlice();
    return this.idlePollMs;
  }
}
