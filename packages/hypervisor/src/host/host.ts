// The Tachyxx host: pCPUs (Tachyxx CPUs with MMUs), machine memory, domains and their vCPUs, the
// scheduler, time, and PL1 — the hypervisor — as a TypeScript trap handler on every pCPU.
//
// Time: one discrete-event queue in simulated ns. pCPUs advance in turn, each up to the next
// event (at most `quantumNs` apart so pCPUs never drift far from each other), then the due
// events run (scheduler slices and ticks, guest timers, reschedule requests). Same config and
// same images -> same output and stats.
//
// This file is the run loop and the wiring; the parts are their own modules: the domain builder
// (domain-builder.ts), trap dispatch and the hypercall entry (traps.ts), event upcalls
// (upcall.ts), guest timers and vcpu_time_info (timers.ts), and one module per hypercall family
// under ../hypercalls/.
import { Hypercall, PAGE_SIZE, ShutdownReason, shutdownReasonName } from '@tachyxx/abi';
import {
  EventBus, SimClock, EventQueue, StatGroup, TOKENS, resolve, type Counter, type DependencyContainer,
  CONSOLE_OUTPUT, DOMAIN_LIFECYCLE, PCPU_COUNTERS, SHUTDOWN, VCPU_SCHEDULE, type ShutdownReason as ShutdownReasonName,
} from '@tachyxx/core';
import { PhysMemory, causeName, DEFAULT_TLB_ENTRIES, engineAreaBytes, ISA_CPU_FACTORY, resolveEngine, type CpuFactory } from '@tachyxx/isa';
import { MMU_FACTORY } from '@tachyxx/mmu';
import { SCHED_CORE, type SchedCore } from '@tachyxx/sched';
import { MachineMemory } from '../memory/machine-memory.js';
import type { NumaConfig } from '../memory/numa.js';
import { DomainTable } from '../domain/domain-table.js';
import type { Domain } from '../domain/domain.js';
import { memoryOp } from '../domain/memory-op.js';
import { HypercallTable } from '../hypercalls/table.js';
import { vcpuOp, updateRunstateArea, type VcpuOpContext } from '../hypercalls/vcpu-op.js';
import { xenVersion, XENVER_VERSION_VALUE } from '../hypercalls/xen-version.js';
import { hvmOp, HvmParams } from '../hypercalls/hvm-op.js';
import { physmapOp, type GrantFrameSpace } from '../hypercalls/physmap.js';
import { multicall } from '../hypercalls/multicall.js';
import { consoleIo, type ConsoleIoContext } from '../hypercalls/console-io.js';
import { schedOp, type SchedOpContext } from '../hypercalls/sched-op.js';
import { setTimerOp, type SetTimerOpContext } from '../hypercalls/set-timer-op.js';
import { DomainWatchdogs } from '../hypercalls/watchdog.js';
import { Vcpu } from './vcpu.js';
import { GuestState } from './guest-state.js';
import { DomainBuilder, type DomainSpec } from './domain-builder.js';
import { TrapDispatch, setUpFirmware } from './traps.js';
import { Upcalls } from './upcall.js';
import { GuestTimers } from './timers.js';
import { hex64, REG, type Pcpu } from './pcpu.js';
import { DEFAULT_HYPERVISOR_COSTS, HYPERVISOR_COSTS, type HypervisorCosts } from '../plugin.js';
import type { GuestAccess } from '../memory/guest-access.js';
import type { HypercallHandler, HypercallRowOptions } from '../hypercalls/table.js';
import type { HostServices, InterruptSink, PollProvider } from '../services.js';

export { hex64 } from './pcpu.js';
export { SIM_TIME_MAX_NS } from './timers.js';
export { HYPERCALL_PREEMPT_NS } from './traps.js';
export { HostError } from './host-error.js';
export type { DomainSpec } from './domain-builder.js';

export interface HostOptions {
  /** Built by core's buildContainer with isa, mmu and sched selected. */
  container: DependencyContainer;
  /** Guest console bytes (console_io write), per domain. */
  console: (domain: Domain<Vcpu>, bytes: Uint8Array) => void;
  /** Host log lines (Xen's console: `xl dmesg`). */
  log?: (line: string) => void;
  numa?: NumaConfig;
  /** Longest stretch one pCPU runs before the others catch up (simulated ns). Default 100 us. */
  quantumNs?: number;
  /** Wall clock at host boot, seconds since the epoch (deterministic default 2026-01-01). */
  wallclockEpoch?: number;
  /**
   * Bus sampling of the per-call topics (TRAP, HYPERCALL): one event per this many calls, with
   * `weight` = the period. Default 16; the hot path only decrements a counter.
   */
  busSampleEvery?: number;
}

/** Default sampling period of TRAP and HYPERCALL bus events. */
export const DEFAULT_BUS_SAMPLE_EVERY = 16;

/** Why Host.run() returned. */
export type HostRunStop = 'all-shutdown' | 'time' | 'insn-limit' | 'idle' | 'debug' | 'io-wait';

const hex = hex64;
/** Events the idle fast path runs before it looks for a deadlock again. */
const IDLE_EVENTS_PER_ROUND = 1024;

export class Host implements HostServices {
  readonly clock: SimClock;
  readonly queue: EventQueue;
  readonly bus: EventBus;
  readonly stats: StatGroup;
  readonly machine: MachineMemory;
  readonly domains: DomainTable<Vcpu>;
  readonly sched: SchedCore;
  readonly hypercalls = new HypercallTable<Vcpu>();
  readonly pcpus: Pcpu[] = [];
  readonly freqHz: number;
  private readonly quantumNs: number;
  private readonly opts: HostOptions;
  /** @internal The guest's architectural state in a vCPU context (for the host's parts). */
  readonly guest = new GuestState();
  private readonly logSink: (line: string) => void;
  /** @internal Guest timers and vcpu_time_info. */
  readonly timers = new GuestTimers(this);
  /** @internal Event upcalls and VIRQ delivery. */
  readonly upcalls = new Upcalls(this);
  /** @internal PL1 trap dispatch and the hypercall entry. */
  readonly traps: TrapDispatch;
  private readonly builder: DomainBuilder;
  /** Hypercall continuations taken (preempted long hypercalls); `host.hypervisor.continuations`. */
  continuations = 0;
  /** Set by a handler that needs the run loop's attention (shutdown, crash). */
  private stopRun = false;
  /** The pCPU whose CPU stopped for a debugger event (run() returns 'debug'), or null. */
  debugStopped: Pcpu | null = null;
  readonly costs: HypervisorCosts;
  /** The SCHEDOP_poll provider (the event-channel component), or null: polls wait for the timeout. */
  private pollProvider: PollProvider | null = null;

  setInterruptSink(sink: InterruptSink): void {
    this.upcalls.setInterruptSink(sink);
  }

  setPollProvider(provider: PollProvider): void {
    if (this.pollProvider) throw new Error('the host already has a poll provider (two event-channel components?)');
    this.pollProvider = provider;
  }

  registerHypercall(nr: number, handler: HypercallHandler<Vcpu>, name?: string, opts?: HypercallRowOptions): void {
    this.hypercalls.register(nr, handler, name, opts);
    if (opts?.leafArgs !== undefined) this.updateFastHypercalls();
  }

  guestMemory(d: Domain<Vcpu>): GuestAccess {
    return d.access;
  }

  /** Guest console output: the host's console sink, and CONSOLE_OUTPUT on the bus when someone listens. */
  consoleOutput(d: Domain<Vcpu>, bytes: Uint8Array): void {
    this.opts.console(d, bytes);
    if (this.bus.hasSubscribers(CONSOLE_OUTPUT)) this.bus.publish(CONSOLE_OUTPUT, { time: this.clock.now, domid: d.domid, text: new TextDecoder().decode(bytes) });
  }

  log(line: string): void {
    this.logSink(line);
  }

  chargeCycles(v: Vcpu, cycles: number): void {
    if (v.loadedOn >= 0) this.pcpus[v.loadedOn]!.cpu.cycles += cycles;
  }
  private readonly runningHooks: ((v: Vcpu, now: number) => void)[] = [];
  /** Called whenever a vCPU is loaded on a pCPU and starts running (with that pCPU's time). */
  onVcpuRunning(hook: (v: Vcpu, now: number) => void): void { this.runningHooks.push(hook); }
  private readonly wakeSources: (() => boolean)[] = [];
  /** Adds a wake source (device work in flight that will wake a vCPU): see HostServices. */
  addWakeSource(pending: () => boolean): void { this.wakeSources.push(pending); }
  /** Some component has work in flight that will wake a vCPU (a device completion). */
  wakeSourcePending(): boolean {
    for (const w of this.wakeSources) if (w()) return true;
    return false;
  }
  private ioWaits: Promise<unknown>[] = [];
  /** Holds the run until `pending` settles (a device's host I/O): see HostServices. */
  waitForIo(pending: Promise<unknown>): void { this.ioWaits.push(pending); }
  /** A device event is held back waiting for host I/O: run() returns 'io-wait' until it settles. */
  get ioWaiting(): boolean { return this.ioWaits.length > 0; }
  /**
   * Resolves once the host I/O the run waits for has finished (at once when it waits for none);
   * then run() again. Never rejects (an I/O error is the device's to report, as a response).
   */
  ioSettled(): Promise<void> {
    const ps = this.ioWaits;
    if (!ps.length) return Promise.resolve();
    // Resume in the event loop's check phase (setImmediate), not in the microtask right after the
    // first I/O callback: the other I/O callbacks of the same poll phase (requests that finished
    // together) are then in, and the run does not stop again at once for each of them.
    return Promise.allSettled(ps).then(() => new Promise<void>((res) => setImmediate(() => {
      this.ioWaits = this.ioWaits.filter((p) => !ps.includes(p));
      res();
    })));
  }
  private readonly createHooks: ((d: Domain<Vcpu>) => void)[] = [];
  private readonly destroyHooks: ((d: Domain<Vcpu>) => void)[] = [];

  /** Called after a domain is built (before it is unpaused): components set up their state. */
  onDomainCreated(hook: (d: Domain<Vcpu>) => void): void { this.createHooks.push(hook); }
  /** Called when a domain is destroyed, before its memory is released: components drop its state. */
  onDomainDestroyed(hook: (d: Domain<Vcpu>) => void): void { this.destroyHooks.push(hook); }

  constructor(opts: HostOptions) {
    this.opts = opts;
    const c = opts.container;
    const config = resolve(c, TOKENS.HostConfig);
    this.clock = resolve(c, TOKENS.Clock);
    this.queue = resolve(c, TOKENS.EventQueue);
    this.bus = resolve(c, TOKENS.Bus);
    this.stats = resolve(c, TOKENS.Stats);
    this.freqHz = config.cpu.freqMHz * 1e6;
    this.quantumNs = opts.quantumNs ?? 100_000;
    this.builder = new DomainBuilder(this, opts.wallclockEpoch ?? 1_767_225_600);
    this.logSink = opts.log ?? (() => {});
    const sampleEvery = opts.busSampleEvery ?? DEFAULT_BUS_SAMPLE_EVERY;
    if (!Number.isSafeInteger(sampleEvery) || sampleEvery < 1) throw new RangeError(`busSampleEvery must be a positive integer, got ${sampleEvery}`);
    const cpuFactory: CpuFactory = resolve(c, ISA_CPU_FACTORY);
    // Engine 'wasm': RAM is the start of a WebAssembly.Memory with one engine area per pCPU
    // behind it (registers, soft-TLB, code cache: docs/isa.md section 4).
    const engine = resolveEngine(cpuFactory.engine, config.memoryMiB * 1024 * 1024, config.pcpus);
    const engineArea = engine === 'wasm' ? config.pcpus * engineAreaBytes(DEFAULT_TLB_ENTRIES) : 0;
    if (config.memoryMiB * 1024 * 1024 + engineArea > 2 ** 32) {
      throw new RangeError(`host memoryMiB ${config.memoryMiB} with the isa engine 'wasm' (${config.pcpus} engine areas of ` +
        `${engineAreaBytes(DEFAULT_TLB_ENTRIES)} bytes) exceeds the 4 GiB of a WebAssembly memory: lower memoryMiB or use engine 'js' or 'auto'`);
    }
    this.machine = new MachineMemory({ memoryMiB: config.memoryMiB, pcpus: config.pcpus, numa: opts.numa ?? config.numa, engineArea });
    this.domains = new DomainTable<Vcpu>({ machine: this.machine, bus: this.bus, clock: this.clock, seed: config.seed, superpages: true });
    // A P2M entry went away: no pCPU may keep a translation through it.
    this.machine.onUnmap((vmid, gpa, bytes) => {
      for (const p of this.pcpus) {
        if (bytes > PAGE_SIZE) p.mmu.flushVmid(vmid);
        else p.mmu.flushGpa(vmid, gpa);
      }
    });

    this.costs = c.isRegistered(HYPERVISOR_COSTS, true) ? resolve(c, HYPERVISOR_COSTS) : DEFAULT_HYPERVISOR_COSTS;
    const traps = this.traps = new TrapDispatch(this, sampleEvery);
    const mmuFactory = resolve(c, MMU_FACTORY);
    for (let id = 0; id < config.pcpus; id++) {
      const cpu = cpuFactory.create(this.machine.mem, id, { platformInterrupts: true });
      const mmu = mmuFactory.create(this.machine.mem, id, cpu);
      cpu.attachMmu(mmu);
      setUpFirmware(cpu);
      const p: Pcpu = { id, cpu, mmu, current: null, reschedule: true, stats: this.stats.group('host').group(`cpu${id}`), trapCounters: [], traps: 0 };
      this.mountCpuStats(p);
      cpu.setCsrTrapHandler(1, (_cpu, cause, isInterrupt) => traps.onTrap(p, cause, isInterrupt));
      cpu.setTrapHandler(0, (_cpu, cause, isInterrupt, _tval, epc) => {
        throw new Error(`pCPU ${id}: trap ${causeName(cause, isInterrupt)} reached PL0 firmware at ${hex(epc)} (hypervisor bug)`);
      });
      this.pcpus.push(p);
    }

    const hv = this.stats.group('host').group('hypervisor');
    this.hypercalls.setStats(hv.group('hypercalls'));
    this.subscribeLifecycleStats(hv.group('domains'));
    hv.sampled('continuations', 'count', 'hypercall continuations taken (preempted long hypercalls)', () => this.continuations);
    hv.sampled('handlerFailures', 'count', 'hypercall handlers that threw (each crashed its caller\'s domain)', () => {
      let n = 0;
      for (const f of this.hypercalls.failures.values()) n += f;
      return n;
    });
    this.sched = resolve(c, SCHED_CORE);
    this.sched.onReschedule = (pcpu) => {
      this.pcpus[pcpu]!.reschedule = true;
      this.pcpus[pcpu]!.cpu.stop('reschedule');
    };
    ({ consoleIoContext: this.consoleIoContext, schedOpContext: this.schedOpContext, setTimerOpContext: this.setTimerOpContext } = this.hypercallContexts());
    this.registerHypercalls();
    this.hypercalls.onHandlerError = (v, nr, name, a, e) => traps.hypercallFailed(v, nr, name, a, e);
    this.updateFastHypercalls();
  }

  /** The pCPUs' hypercall fast path (TrapDispatch.fastHypercall) for the leaf hypercalls registered so far. */
  private updateFastHypercalls(): void {
    const leaves = this.hypercalls.leafNumbers();
    const traps = this.traps;
    for (const p of this.pcpus) p.cpu.setFastEcall(() => traps.fastHypercall(p), leaves);
  }

  // =====================================================================================
  // Domains
  // =====================================================================================

  /** Builds a domain from an ELF image (boot ABI v1) and unpauses it unless spec.paused. */
  createDomain(spec: DomainSpec): Domain<Vcpu> {
    return this.builder.create(spec);
  }

  /** @internal The builder's last step: components set up their state for `d`. */
  domainCreated(d: Domain<Vcpu>): void {
    for (const h of this.createHooks) h(d);
  }

  unpauseDomain(d: Domain<Vcpu>): void {
    if (this.domains.unpause(d.domid) === 0 && d.pauseCount === 0) for (const v of d.vcpus) this.sched.unpause(v.sched, this.clock.now);
  }

  pauseDomain(d: Domain<Vcpu>): void {
    if (this.domains.pause(d.domid) === 0) for (const v of d.vcpus) this.sched.pause(v.sched, this.clock.now);
  }

  /** Shuts a domain down (Xen's domain_shutdown): its vCPUs stop; the toolstack destroys it. */
  shutdownDomain(d: Domain<Vcpu>, reason: number, why?: string): void {
    if (d.shutdownCode !== null) return;
    this.domains.shutdown(d.domid, reason);
    // A code the guest recorded (SCHEDOP_shutdown_code) is the reason, whatever asked (Xen's domain_shutdown).
    const code = d.shutdownCode ?? reason;
    for (const v of d.vcpus) {
      this.timers.cancelAll(v);
      if (v.online) this.sched.pause(v.sched, this.clock.now);
    }
    const recorded = code !== reason ? ` (reported as ${shutdownReasonName(code)}: the code the guest recorded)` : '';
    this.log(`(XEN) d${d.domid}: ${why ?? `shutdown: ${shutdownReasonName(reason)}`}${recorded}`);
    if (this.bus.hasSubscribers(SHUTDOWN)) {
      this.bus.publish(SHUTDOWN, { time: this.clock.now, domid: d.domid, reason: shutdownReasonName(code) as ShutdownReasonName, code });
    }
    this.stopRun = true;
    for (const p of this.pcpus) if (p.current?.domain === d) p.cpu.stop('shutdown');
  }

  /** Destroys a domain: releases every frame, its vCPUs leave the scheduler. */
  destroyDomain(d: Domain<Vcpu>): void {
    for (const p of this.pcpus) if (p.current?.domain === d) this.switchTo(p, null);
    for (const v of d.vcpus) this.timers.cancelAll(v);
    this.watchdogs.destroy(d);
    for (const h of this.destroyHooks) h(d);
    this.sched.removeDomain(d.domid, this.clock.now);
    this.domains.destroy(d.domid);
  }

  /** @internal Xen's domain_crash: logged, then shut down with reason crash. */
  crashDomain(d: Domain<Vcpu>, message: string): void {
    this.log(`(XEN) d${d.domid}: crashed: ${message}`);
    d.crashMessage = message;
    this.shutdownDomain(d, ShutdownReason.crash, `domain_crash: ${message}`);
  }

  // =====================================================================================
  // The run loop
  // =====================================================================================

  /**
   * Runs until every domain has shut down, `untilNs` of simulated time has passed, or the
   * total retired instructions reach `maxInsns`. Returns why it stopped; 'io-wait': a device's
   * completion is due and its host I/O has not finished (await `ioSettled()`, then run again:
   * the run goes on exactly as if it had not stopped).
   */
  run({ untilNs = Infinity, maxInsns = Infinity }: { untilNs?: number; maxInsns?: number } = {}): HostRunStop {
    this.debugStopped = null;
    for (;;) {
      if (this.ioWaits.length) return 'io-wait';
      this.serviceReschedules();
      if (this.allShutDown()) return 'all-shutdown';
      const now = this.clock.now;
      if (now >= untilNs) return 'time';
      const nextEvent = this.queue.nextDeadline();
      const busy = this.anyPcpuBusy();
      // Nothing running and no vCPU timer that could wake anyone: the scheduler's own ticks would
      // go on forever, so this is a deadlock.
      if (!busy && (nextEvent === Infinity || !this.anyVcpuWakeSource())) return 'idle';
      if (!busy && !this.anyReschedule()) {
        // Every pCPU idles: run events (scheduler ticks, timers) back to back until one makes a
        // pCPU reschedule (a vCPU woke) - the idle pCPUs' clocks catch up when they next run.
        // The same events in the same order as stepping round by round, at a fraction of the cost.
        // Bounded, so that a timer that fired without waking anyone is seen by the check above.
        let n = 0;
        while (n++ < IDLE_EVENTS_PER_ROUND && this.queue.nextDeadline() <= untilNs && !this.stopRun && !this.ioWaits.length && !this.anyReschedule()) this.queue.runNext();
        this.stopRun = false;
        if (this.ioWaits.length) return 'io-wait';
        if (n > 1) continue;
      }
      // One pCPU has no peers to keep in step with: it runs up to the next event.
      const quantum = this.pcpus.length > 1 ? this.quantumNs : Infinity;
      let tEnd = Math.min(untilNs, busy ? now + quantum : nextEvent, nextEvent);
      if (tEnd <= now) tEnd = now;
      for (const p of this.pcpus) {
        this.runPcpu(p, tEnd, maxInsns);
        // A debugger event (gdb stub): everything stops here; run() again resumes the round.
        if (this.debugStopped) return 'debug';
        if (this.instructions() >= maxInsns) return 'insn-limit';
      }
      if (this.bus.hasSubscribers(PCPU_COUNTERS)) this.publishCounters();
      this.stopRun = false;
      // A pCPU that stopped early to reschedule (block, yield, shutdown) ends the round at its own
      // time: its switch may arm events (the blocked vCPU's timer) before the planned end.
      for (const p of this.pcpus) if (p.reschedule) tEnd = Math.min(tEnd, Math.max(now, this.pcpuNow(p)));
      tEnd = Math.min(tEnd, this.queue.nextDeadline() === Infinity ? tEnd : Math.max(now, this.queue.nextDeadline()));
      this.queue.runUntil(tEnd);
    }
  }

  private runPcpu(p: Pcpu, tEnd: number, maxInsns: number): void {
    const cpu = p.cpu;
    while (p.current && !p.reschedule) {
      // A hypercall may have scheduled an event (a timer) before the slice's end: stop there.
      tEnd = Math.min(tEnd, this.queue.nextDeadline());
      this.traps.sliceEnd = tEnd;
      const left = tEnd - cpu.timeNs();
      if (left <= 0) break;
      // The CPU stops at tEnd by itself (its deadline), at the first block boundary after it.
      const insnsLeft = maxInsns - this.instructions();
      if (insnsLeft <= 0) return;
      const why = cpu.run(insnsLeft, tEnd);
      if (why === 'debug') { this.debugStopped = p; return; }
      if (why === 'trap-loop') {
        this.crashDomain(p.current.domain, `${p.current.name}: endless trap loop at pc ${hex(cpu.pc)} (trap vector outside its memory?)`);
      } else if (why === 'idle' || why === 'deadlock') {
        // wfi without TW cannot happen (TW is set); treat as a block.
        this.blockVcpu(p, p.current);
      }
      if (this.stopRun && p.current?.domain.shutdownCode !== null) this.switchTo(p, null);
    }
    // Keep idle pCPUs' clocks with the rest of the host.
    if (!p.current && cpu.timeNs() < tEnd) cpu.idleUntil(tEnd);
  }

  private serviceReschedules(): void {
    for (const p of this.pcpus) {
      if (!p.reschedule) continue;
      p.reschedule = false;
      const decision = this.sched.schedule(p.id, this.pcpuNow(p));
      const next = (decision.next?.owner as Vcpu | undefined) ?? null;
      if (next !== p.current) this.switchTo(p, next);
    }
  }

  /** @internal The pCPU's own time: it may be ahead of the event queue's clock within a quantum. */
  pcpuNow(p: Pcpu): number {
    return Math.max(this.clock.now, Math.floor(p.cpu.timeNs()));
  }

  /** World switch: save the running vCPU, load the next (or idle). */
  private switchTo(p: Pcpu, next: Vcpu | null): void {
    const now = this.pcpuNow(p);
    const prev = p.current;
    const publish = this.bus.hasSubscribers(VCPU_SCHEDULE);
    if (prev) {
      if (publish) {
        const reason = prev.domain.shutdownCode !== null || !prev.online ? 'shutdown' : prev.blocked ? 'blocked' : 'preempted';
        this.bus.publish(VCPU_SCHEDULE, { time: now, pcpu: p.id, domid: prev.domain.domid, vcpu: prev.id, kind: 'out', reason });
      }
      p.cpu.saveContext(prev.ctx);
      prev.loadedOn = -1;
      prev.setRunstate(prev.blocked ? 'blocked' : prev.online && prev.domain.shutdownCode === null ? 'runnable' : 'offline', now);
      updateRunstateArea(prev, now);
      this.timers.armStimecmpWake(prev);
    }
    p.current = next;
    if (next) {
      next.stimecmpWake.scheduled && this.queue.cancel(next.stimecmpWake);
      if (next.loadedOn >= 0 && next.loadedOn !== p.id) throw new Error(`${next.name} is already loaded on pCPU ${next.loadedOn}`);
      if (p.cpu.timeNs() < now) p.cpu.idleUntil(now);
      this.guest.setUpcall(next.ctx, next.upcallPending);
      p.cpu.loadContext(next.ctx);
      // From PL1 (an idle pCPU, or one whose guest trapped for good) loading leaves the vCPU in
      // p1epc / p1status.PPL: enter it as an hret would.
      if (p.cpu.level === 1) p.cpu.returnFromTrap(1);
      next.loadedOn = p.id;
      next.setRunstate('running', now);
      updateRunstateArea(next, now);
      this.timers.writeTimeInfo(next, now);
      if (publish) this.bus.publish(VCPU_SCHEDULE, { time: now, pcpu: p.id, domid: next.domain.domid, vcpu: next.id, kind: 'in' });
      for (const h of this.runningHooks) h(next, now);
    }
  }

  /**
   * Can anything still wake a vCPU (docs/hypervisor.md "can never wake")? A running or runnable
   * vCPU can; a blocked one only through an armed timer whose interrupt could end its block: a
   * SCHEDOP_block/poll ends on any upcall (VIRQ_TIMER from the singleshot or periodic timer); a
   * wfi only on an interrupt it enabled in sie - the upcall (SEIE) for the Xen timers, the timer
   * interrupt (STIE) for its own stimecmp. A wfi with nothing enabled can never wake, however
   * many timers tick (a periodic timer is armed by default).
   */
  private anyVcpuWakeSource(): boolean {
    for (const d of this.domains.live()) {
      if (d.shutdownCode !== null) continue;
      for (const v of d.vcpus) {
        if (!v.online) continue;
        if (!v.blocked) return true;
        const loaded = v.loadedOn >= 0 ? this.pcpus[v.loadedOn]!.cpu : null;
        const upcallWakes = v.blockKind !== 'wfi' || this.guest.upcallEnabled(v.ctx, loaded);
        if (upcallWakes && (v.singleshot.scheduled || v.periodic.scheduled)) return true;
        if (v.stimecmpWake.scheduled && this.guest.timerInterruptEnabled(v.ctx)) return true;
      }
    }
    return this.wakeSourcePending();
  }

  private anyPcpuBusy(): boolean {
    for (const p of this.pcpus) if (p.current) return true;
    return false;
  }

  private anyReschedule(): boolean {
    for (const p of this.pcpus) if (p.reschedule) return true;
    return false;
  }

  private allShutDown(): boolean {
    const ds = this.domains.live();
    if (ds.length === 0) return false;
    for (const d of ds) if (d.shutdownCode === null) return false;
    return true;
  }

  /** Retired guest instructions on all pCPUs. */
  instructions(): number {
    let n = 0;
    for (const p of this.pcpus) n += p.cpu.instret;
    return n;
  }

  // =====================================================================================
  // vCPU state
  // =====================================================================================

  /** @internal A vCPU waits in wfi (or the CPU found it idle): it blocks and its pCPU reschedules. */
  blockVcpu(p: Pcpu, v: Vcpu): void {
    v.blocked = true;
    v.blockKind = 'wfi';
    this.sched.block(v.sched, this.clock.now);
    p.reschedule = true;
    p.cpu.stop('block');
  }

  /** Make a blocked vCPU runnable (an event arrived, a poll was satisfied). */
  wakeVcpu(v: Vcpu): void {
    if (!v.blocked) return;
    v.blocked = false;
    v.blockKind = null;
    this.sched.wake(v.sched, this.clock.now);
  }

  /** @internal VCPUOP_up (and the boot vCPU): online, runnable, its periodic tick running. */
  vcpuUp(v: Vcpu): void {
    if (v.online) return;
    v.online = true;
    v.setRunstate('runnable', this.clock.now);
    this.sched.setOnline(v.sched, true, this.clock.now);
    this.timers.startPeriodic(v);
  }

  // =====================================================================================
  // Time and virtual interrupts (timers.ts, upcall.ts)
  // =====================================================================================

  /**
   * Raise the event upcall on `v` (Xen's vcpu_mark_events_pending): evtchn_upcall_pending in its
   * vcpu_info and the PL2 external-interrupt line; wakes it if it is blocked waiting for one.
   * Event-channel implementations call this after marking a port pending.
   */
  sendUpcall(v: Vcpu): void {
    this.upcalls.send(v);
  }

  /** The time a vCPU sees: its pCPU's own time while loaded (ahead of the queue's clock). */
  nowFor(v: Vcpu): number {
    return v.loadedOn >= 0 ? this.pcpuNow(this.pcpus[v.loadedOn]!) : this.clock.now;
  }

  // =====================================================================================
  // Hypercalls
  // =====================================================================================

  private registerHypercalls(): void {
    const t = this.hypercalls;
    t.register(Hypercall.console_io, (v, a) => consoleIo(this.consoleIoContext, v.domain, a.a0, a.a1, a.a2));
    t.register(Hypercall.sched_op, (v, a) => schedOp(this.schedOpContext, v, a.a0, a.a1));
    t.register(Hypercall.set_timer_op, (v, a) => setTimerOp(this.setTimerOpContext, v, a.a0));
    t.register(Hypercall.memory_op, (v, a) => physmapOp(this, v.domain, a.a0, a.a1) ?? memoryOp({ domain: v.domain, domains: this.domains, machine: this.machine, preempt: this.hypercalls, itemCycles: this.costs.hypercallItem }, a.a0, a.a1));
    t.register(Hypercall.vcpu_op, (v, a) => vcpuOp(this.vcpuOpContext, v, a.a0, a.a1, a.a2));
    // XENVER_version first: it is the null hypercall.
    // a leaf of 2 arguments, Xen's xen_version(int cmd, void *arg): TrapDispatch.fastHypercall
    // runs it without the trap to PL1
    t.register(Hypercall.xen_version, (v, a) => a.a0 === 0 ? XENVER_VERSION_VALUE : xenVersion(this, v.domain, a.a0, a.a1), undefined, { leafArgs: 2 });
    t.register(Hypercall.hvm_op, (v, a) => hvmOp(this.hvmOpContext, v.domain, a.a0, a.a1));
    t.register(Hypercall.multicall, (v, a) => multicall(t, v, a.a0, a.a1));
  }

  /** XENVER_commandline for the control domain: the host's command line ('' when none). */
  commandline = '';
  /** HVM_PARAM_* per domain (hvm_op); initialised from start_info when a domain is built. */
  readonly hvmParams = new HvmParams();
  private readonly hvmOpContext = { params: this.hvmParams, domain: (id: number) => this.domains.get(id) };
  /** XENMAPSPACE_grant_table: the grant component's frames (`setGrantFrameSpace`), or null. */
  get grantFrames(): GrantFrameSpace | null { return this.grantFrameSpace; }
  private grantFrameSpace: GrantFrameSpace | null = null;

  setGrantFrameSpace(space: GrantFrameSpace): void {
    if (this.grantFrameSpace) throw new Error('the host already has a grant frame space (two grant components?)');
    this.grantFrameSpace = space;
  }
  /** SCHEDOP_watchdog timers. */
  readonly watchdogs = new DomainWatchdogs({
    now: () => this.clock.now,
    arm: (ev, at) => this.timers.set(ev, at),
    cancel: (ev) => this.queue.cancel(ev),
    fired: (d) => this.shutdownDomain(d, ShutdownReason.watchdog, `Watchdog timer fired for domain ${d.domid}`),
  });

  private readonly consoleIoContext: ConsoleIoContext<Vcpu>;
  private readonly schedOpContext: SchedOpContext;
  private readonly setTimerOpContext: SetTimerOpContext;

  /** The contexts of the hypercall families in ../hypercalls/ (built once: no allocation per call). */
  private hypercallContexts() {
    const host = this;
    const consoleIoContext: ConsoleIoContext<Vcpu> = {
      hypercalls: this.hypercalls,
      copyPerKiB: this.costs.copyPerKiB,
      chunk: new Uint8Array(4096),
      output: (d, bytes) => this.consoleOutput(d, bytes),
    };
    const schedOpContext: SchedOpContext = {
      sched: this.sched,
      domains: this.domains,
      watchdogs: this.watchdogs,
      get pollProvider() { return host.pollProvider; },
      now: () => this.clock.now,
      nowFor: (v) => this.nowFor(v),
      syncUpcall: (v) => this.upcalls.sync(v),
      upcallDeliverable: (v) => this.upcalls.deliverable(v),
      setTimer: (ev, at) => this.timers.set(ev, at),
      shutdownDomain: (d, reason) => this.shutdownDomain(d, reason),
    };
    const setTimerOpContext: SetTimerOpContext = {
      syncUpcall: (v) => this.upcalls.sync(v),
      // The signed 64-bit register (exact in its sign and size class; 2^53 and up is inexact);
      // inside a multicall, the entry's argument as the dispatcher read it.
      signedArg0: (v, a0) => v.loadedOn >= 0 && !this.hypercalls.nested ? this.pcpus[v.loadedOn]!.cpu.getReg(REG.a0) : a0 >= 2 ** 63 ? a0 - 2 ** 64 : a0,
      nowFor: (v) => this.nowFor(v),
      cancel: (ev) => this.queue.cancel(ev),
      setTimer: (ev, at) => this.timers.set(ev, at),
    };
    return { consoleIoContext, schedOpContext, setTimerOpContext };
  }

  private readonly vcpuOpContext: VcpuOpContext = {
    now: (v: Vcpu) => this.nowFor(v),
    up: (v: Vcpu) => this.vcpuUp(v),
    down: (v: Vcpu) => {
      if (!v.online) return;
      v.online = false;
      this.timers.cancelAll(v);
      this.sched.setOnline(v.sched, false, this.clock.now);
      if (v.loadedOn >= 0) this.pcpus[v.loadedOn]!.cpu.stop('vcpu-down');
    },
    initialise: (v: Vcpu, words: Int32Array) => {
      this.guest.setEntryWords(v.ctx, words);
      v.initialised = true;
    },
    setSingleshot: (v: Vcpu, absNs: number | null) => this.timers.setSingleshot(v, absNs),
    setPeriodic: (v: Vcpu, periodNs: number) => this.timers.setPeriodic(v, periodNs),
    markEventsPending: (v: Vcpu) => this.upcalls.send(v),
    updateTime: (v: Vcpu) => this.timers.writeTimeInfo(v, this.nowFor(v)),
  };

  // =====================================================================================
  // Stats and bus
  // =====================================================================================

  /** `host.cpu<N>`: the CPU engine's counters (read at dump time) next to its mmu and traps. */
  private mountCpuStats(p: Pcpu): void {
    const g = p.stats;
    const cpu = p.cpu;
    g.sampled('instructions', 'insn', 'guest and hypervisor-emulated instructions retired', () => cpu.instret);
    g.sampled('cycles', 'cycle', 'simulated cycles of this pCPU', () => cpu.cycles);
    g.sampled('blocksCompiled', 'count', 'basic blocks the JIT compiled', () => cpu.engineStats().blocksCompiled);
    g.sampled('blockInvalidations', 'count', 'compiled blocks dropped by self-modifying code', () => cpu.engineStats().blockInvalidations);
    g.sampled('codeFlushes', 'count', 'whole code-cache flushes (fence.i, satp changes)', () => cpu.engineStats().codeFlushes);
    g.sampled('softTlbMisses', 'count', 'CPU soft-TLB misses (lookups that reached the MMU)', () => cpu.engineStats().tlbMisses);
    g.sampled('softTlbFlushes', 'count', 'CPU soft-TLB flushes', () => cpu.engineStats().tlbFlushes);
    // The rest of Cpu.engineStats() (docs/isa.md section 4): how the engine ran, not what it modelled.
    g.sampled('softTlbRefills', 'count', 'CPU data soft-TLB refills (misses that filled an entry)', () => cpu.engineStats().tlbRefills);
    g.sampled('wasmRegions', 'count', 'regions compiled to WebAssembly (engine wasm)', () => cpu.engineStats().wasmRegions);
    g.sampled('wasmTierUps', 'count', 'hot JS regions recompiled to WebAssembly (engine wasm)', () => cpu.engineStats().wasmTierUps);
    g.sampled('wasmKeptJs', 'count', 'hot JS regions kept as JS: short runs into a system instruction (engine wasm)', () => cpu.engineStats().wasmKeptJs);
    g.sampled('regionReforms', 'count', 'warm regions compiled again to take in pages first left out (engine js)', () => cpu.engineStats().regionReforms);
    g.sampled('chainHits', 'count', 'region transitions through a chained link (run loop or wasm hub)', () => cpu.engineStats().chainHits);
    g.sampled('hubLookups', 'count', 'region transitions the wasm hub looked up itself', () => cpu.engineStats().hubLookups);
    g.sampled('exitsLookup', 'count', 'returns to the run loop without a usable link', () => cpu.engineStats().exitsLookup);
    g.sampled('exitsFault', 'count', 'returns to the run loop on a fault', () => cpu.engineStats().exitsFault);
    g.sampled('exitsCodeWrite', 'count', 'returns to the run loop on a store into compiled code or a watched range', () => cpu.engineStats().exitsCodeWrite);
    g.sampled('exitsCycleLimit', 'count', 'returns to the run loop at the cycle limit (next event / deadline)', () => cpu.engineStats().exitsCycleLimit);
    g.sampled('exitsAttention', 'count', 'returns to the run loop after a slow path asked for it (an interrupt line moved by an MMIO access, a stop)', () => cpu.engineStats().exitsAttention);
    g.sampled('hubHandovers', 'count', 'chains the JS run loop handed to the wasm hub (engine wasm)', () => cpu.engineStats().hubHandovers);
    g.sampled('trapsToPl1', 'count', 'traps taken into the hypervisor (PL1)', () => p.traps);
  }

  /**
   * `host.hypervisor.domains`: lifecycle transitions and shutdown reasons, counted by a bus
   * subscription (DOMAIN_LIFECYCLE, SHUTDOWN) — the stats tree as a subscriber of the bus.
   */
  private subscribeLifecycleStats(g: StatGroup): void {
    const kinds = ['created', 'unpaused', 'paused', 'shutdown', 'destroyed'] as const;
    const byKind = new Map(kinds.map((k) => [k, g.counter(k, 'event', `domains ${k}`)]));
    const reasons = g.group('shutdownReasons');
    const byReason = new Map<string, Counter>();
    this.bus.on(DOMAIN_LIFECYCLE).subscribe((e) => {
      const c = byKind.get(e.kind);
      if (c) c.value++;
    });
    this.bus.on(SHUTDOWN).subscribe((e) => {
      let c = byReason.get(e.reason);
      if (!c) byReason.set(e.reason, (c = reasons.counter(e.reason, 'event', `shutdowns with reason ${e.reason}`)));
      c.value++;
    });
  }

  private publishCounters(): void {
    for (const p of this.pcpus) {
      p.cpu.syncMmuStats?.();
      this.bus.publish(PCPU_COUNTERS, { time: this.pcpuNow(p), pcpu: p.id, instructions: p.cpu.instret, cycles: p.cpu.cycles, tlbMisses: p.mmu.stats.tlbMisses.value, traps: p.traps });
    }
  }

  /** The stats tree (`host.cpu<N>`, `host.sched`, `host.hypervisor`, every component), synced. */
  statsTree() {
    for (const p of this.pcpus) p.cpu.syncMmuStats?.();
    return this.stats.dump();
  }

  /**
   * The run's statistics (see README): a summary (instructions, simCycles, simNs, domains) and the
   * stats tree (`tree`). Everything but wall-clock fields is deterministic.
   */
  statsJson(): Record<string, unknown> {
    let cycles = 0;
    for (const p of this.pcpus) {
      p.cpu.syncMmuStats?.();
      cycles += p.cpu.cycles;
    }
    const now = this.clock.now;
    return {
      instructions: this.instructions(),
      simCycles: cycles,
      simNs: now,
      domains: Object.fromEntries(this.domains.list().map((d) => [d.name, {
        domid: d.domid,
        state: d.state,
        shutdown: d.shutdownCode === null ? null : shutdownReasonName(d.shutdownCode),
        pages: d.totPages,
        vcpus: d.vcpus.map((v) => ({ id: v.id, runstate: v.runstateTimes(now) })),
      }])),
      tree: this.stats.dump(),
    };
  }
}

export { PhysMemory };
