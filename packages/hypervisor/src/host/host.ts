// The Tachyxx host: pCPUs (Tachyxx CPUs with MMUs), machine memory, domains and their vCPUs, the
// scheduler, time, and PL1 — the hypervisor — as a TypeScript trap handler on every pCPU.
//
// Time: one discrete-event queue in simulated ns. pCPUs advance in turn, each up to the next
// event (at most `quantumNs` apart so pCPUs never drift far from each other), then the due
// events run (scheduler slices and ticks, guest timers, reschedule requests). Same config and
// same images -> same output and stats.
import {
  CONSOLEIO_write, Errno, Virq, GUEST_RAM_BASE, Hypercall, PAGE_SIZE, SchedOp, SharedInfo, ShutdownReason,
  VcpuInfo, VcpuTimeInfo, GUEST_MAX_VCPUS, shutdownReasonName,
} from '@tachyxx/abi';
import {
  EventBus, SimClock, EventQueue, StatGroup, TOKENS, resolve, type Counter, type DependencyContainer, type SimEvent,
  CONSOLE_OUTPUT, DOMAIN_LIFECYCLE, HYPERCALL, PCPU_COUNTERS, SHUTDOWN, TRAP, VCPU_SCHEDULE, type ShutdownReason as ShutdownReasonName,
} from '@tachyxx/core';
import { Cpu, PhysMemory, encodeStartInfo, setTrapRouting, parseElf, ImageError, disassemble, causeName, ISA_CPU_FACTORY, type CpuFactory } from '@tachyxx/isa';
import { MMU_FACTORY, type Mmu } from '@tachyxx/mmu';
import { SCHED_CORE, numaPlacement, vcpusOnNodes, type SchedCore, type NumaTopology } from '@tachyxx/sched';
import { MachineMemory } from '../memory/machine-memory.js';
import type { NumaConfig } from '../memory/numa.js';
import { DomainTable } from '../domain/domain-table.js';
import type { Domain } from '../domain/domain.js';
import { memoryOp } from '../domain/memory-op.js';
import { HypercallTable, HYPERCALL_CONTINUATION, type HypercallArgs } from '../hypercalls/table.js';
import { vcpuOp, updateRunstateArea } from '../hypercalls/vcpu-op.js';
import { xenVersion, XENVER_VERSION_VALUE } from '../hypercalls/xen-version.js';
import { hvmOp, HvmParams } from '../hypercalls/hvm-op.js';
import { physmapOp, type GrantFrameSpace } from '../hypercalls/physmap.js';
import { multicall } from '../hypercalls/multicall.js';
import { DomainWatchdogs } from '../hypercalls/watchdog.js';
import { Vcpu } from './vcpu.js';
import { GuestState } from './guest-state.js';
import { DEFAULT_HYPERVISOR_COSTS, HYPERVISOR_COSTS, type HypervisorCosts } from '../plugin.js';
import type { GuestAccess } from '../memory/guest-access.js';
import type { HypercallHandler } from '../hypercalls/table.js';
import type { HostServices, InterruptSink, PollProvider } from '../services.js';

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

export interface DomainSpec {
  name: string;
  image: Uint8Array;
  /** For error messages. */
  file?: string;
  memoryMiB: number;
  maxMemoryMiB?: number;
  vcpus?: number;
  maxVcpus?: number;
  cmdline?: string;
  weight?: number;
  cap?: number;
  /** Hard affinity for every vCPU (pCPU ids). */
  cpus?: number[];
  /** Start paused (xl create -p). */
  paused?: boolean;
}

export class HostError extends Error {
  constructor(message: string, readonly errno: number = Errno.EINVAL) {
    super(message);
    this.name = 'HostError';
  }
}

interface Pcpu {
  id: number;
  cpu: Cpu;
  mmu: Mmu;
  current: Vcpu | null;
  /** schedule() requested (a SCHEDULE_SOFTIRQ). */
  reschedule: boolean;
  /** `host.cpu<id>` in the stats tree. */
  stats: StatGroup;
  /** Traps into PL1 by cause (+64 for interrupts), created on first use under `host.cpu<id>.traps`. */
  trapCounters: (Counter | undefined)[];
  traps: number;
}

const TWO32 = 4294967296;
const WFI = 0x10500073;
/** Exceptions the hypervisor lets PL2 handle itself (PL3 faults, illegal instructions, breakpoints). */
const GUEST_EXCEPTIONS = [0, 2, 3, 6, 8, 12, 13, 15];
const GUEST_INTERRUPTS = [1, 5, 9];
/** Everything from PL1-PL3 except ecall from PL0 goes (at least) to PL1. */
const TO_PL1_EXCEPTIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 20, 21, 22, 23];
const TO_PL1_INTERRUPTS = [1, 2, 5, 6, 9, 10];
const CSR = { p1status: 0x600, stvec: 0x105, p1tval2: 0x64b } as const;
const P1STATUS_TW = 1 << 21;
const REG = { sp: 2, a0: 10, a1: 11, a2: 12, a3: 13, a4: 14, a5: 15, a7: 17 } as const;
/** A 64-bit value as unsigned hex (negative numbers are two's complement, as the register holds them). */
export const hex64 = (n: number): string => {
  if (n >= 0) return `0x${n.toString(16)}`;
  const lo = (n % TWO32 + TWO32) % TWO32, hi = (Math.floor(n / TWO32) + TWO32) % TWO32;
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
};
const hex = hex64;
/** The last simulated time a guest timer can be armed at (ns): the event queue's exact integer range. */
export const SIM_TIME_MAX_NS = Number.MAX_SAFE_INTEGER;
/** set_timer_op: a timeout this far ahead (2^50 ns) is "huge" (xen/common/sched/core.c). */
const SET_TIMER_OP_HUGE_NS = 2 ** 50;
/** set_timer_op: a huge or negative timeout fires after MILLISECS(100) instead (Xen). */
const SET_TIMER_OP_HUGE_DELAY_NS = 100_000_000;
/** Events the idle fast path runs before it looks for a deadlock again. */
const IDLE_EVENTS_PER_ROUND = 1024;
/** Longest simulated time one invocation of a preemptible hypercall works before it yields (ns). */
export const HYPERCALL_PREEMPT_NS = 100_000;

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
  private readonly wallclockEpoch: number;
  private readonly guest = new GuestState();
  private readonly logSink: (line: string) => void;
  private readonly sampleEvery: number;
  private trapSampleLeft: number;
  private hypercallSampleLeft: number;
  /** Hypercall continuations taken (preempted long hypercalls); `host.hypervisor.continuations`. */
  continuations = 0;
  /** End of the running pCPU's current slice (simulated ns). */
  private sliceEnd = Infinity;
  /** Set by a handler that needs the run loop's attention (shutdown, crash). */
  private stopRun = false;
  /** The pCPU whose CPU stopped for a debugger event (run() returns 'debug'), or null. */
  debugStopped: Pcpu | null = null;
  readonly costs: HypervisorCosts;
  /** The VIRQ sink (the event-channel component), or null: VIRQs are then bare upcalls. */
  private interruptSink: InterruptSink | null = null;
  /** The SCHEDOP_poll provider (the event-channel component), or null: polls wait for the timeout. */
  private pollProvider: PollProvider | null = null;

  setInterruptSink(sink: InterruptSink): void {
    if (this.interruptSink) throw new Error('the host already has an interrupt sink (two event-channel components?)');
    this.interruptSink = sink;
  }

  setPollProvider(provider: PollProvider): void {
    if (this.pollProvider) throw new Error('the host already has a poll provider (two event-channel components?)');
    this.pollProvider = provider;
  }

  registerHypercall(nr: number, handler: HypercallHandler<Vcpu>, name?: string): void {
    this.hypercalls.register(nr, handler, name);
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
    this.wallclockEpoch = opts.wallclockEpoch ?? 1_767_225_600;
    this.logSink = opts.log ?? (() => {});
    this.sampleEvery = opts.busSampleEvery ?? DEFAULT_BUS_SAMPLE_EVERY;
    if (!Number.isSafeInteger(this.sampleEvery) || this.sampleEvery < 1) throw new RangeError(`busSampleEvery must be a positive integer, got ${this.sampleEvery}`);
    this.trapSampleLeft = this.sampleEvery;
    this.hypercallSampleLeft = this.sampleEvery;
    this.machine = new MachineMemory({ memoryMiB: config.memoryMiB, pcpus: config.pcpus, numa: opts.numa ?? config.numa });
    this.domains = new DomainTable<Vcpu>({ machine: this.machine, bus: this.bus, clock: this.clock, seed: config.seed, superpages: true });
    // A P2M entry went away: no pCPU may keep a translation through it.
    this.machine.onUnmap((vmid, gpa, bytes) => {
      for (const p of this.pcpus) {
        if (bytes > PAGE_SIZE) p.mmu.flushVmid(vmid);
        else p.mmu.flushGpa(vmid, gpa);
      }
    });

    const cpuFactory: CpuFactory = resolve(c, ISA_CPU_FACTORY);
    const mmuFactory = resolve(c, MMU_FACTORY);
    for (let id = 0; id < config.pcpus; id++) {
      const cpu = cpuFactory.create(this.machine.mem, id, { platformInterrupts: true });
      const mmu = mmuFactory.create(this.machine.mem, id, cpu);
      cpu.attachMmu(mmu);
      this.setUpFirmware(cpu);
      const p: Pcpu = { id, cpu, mmu, current: null, reschedule: true, stats: this.stats.group('host').group(`cpu${id}`), trapCounters: [], traps: 0 };
      this.mountCpuStats(p);
      cpu.setTrapHandler(1, (cpu, cause, isInterrupt, tval, epc) => this.onTrap(p, cause, isInterrupt, tval, epc));
      cpu.setTrapHandler(0, (_cpu, cause, isInterrupt, _tval, epc) => {
        throw new Error(`pCPU ${id}: trap ${causeName(cause, isInterrupt)} reached PL0 firmware at ${hex(epc)} (hypervisor bug)`);
      });
      this.pcpus.push(p);
    }

    this.costs = c.isRegistered(HYPERVISOR_COSTS, true) ? resolve(c, HYPERVISOR_COSTS) : DEFAULT_HYPERVISOR_COSTS;
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
    this.registerHypercalls();
    this.hypercalls.onHandlerError = (v, nr, name, a, e) => this.hypercallFailed(v, nr, name, a, e);
  }

  // =====================================================================================
  // Domains
  // =====================================================================================

  /** Builds a domain from an ELF image (boot ABI v1) and unpauses it unless spec.paused. */
  createDomain(spec: DomainSpec): Domain<Vcpu> {
    const file = spec.file ?? spec.name;
    const memBytes = spec.memoryMiB * 1024 * 1024;
    const elf = parseElf(spec.image, { file, ramBase: GUEST_RAM_BASE, ramSize: memBytes });
    const nvcpus = spec.vcpus ?? 1;
    const maxVcpus = spec.maxVcpus ?? nvcpus;
    if (!Number.isInteger(nvcpus) || nvcpus < 1 || maxVcpus < nvcpus || maxVcpus > GUEST_MAX_VCPUS) {
      throw new HostError(`${spec.name}: vcpus ${nvcpus} / maxvcpus ${maxVcpus} out of range 1..${GUEST_MAX_VCPUS}`);
    }
    const startInfo = Math.ceil(elf.imageEnd / PAGE_SIZE) * PAGE_SIZE;
    if (startInfo + PAGE_SIZE > GUEST_RAM_BASE + memBytes) {
      throw new ImageError(file, `image ends at ${hex(elf.imageEnd)}, leaving no page for start_info below the end of RAM at ${hex(GUEST_RAM_BASE + memBytes)}`);
    }
    // NUMA: with nothing pinned, put memory and vCPUs on the best-fitting node(s), as xl does.
    const placement = !spec.cpus && this.machine.numa.nodes.length > 1 ? this.placeDomain(spec.memoryMiB * 256 + 1, nvcpus) : null;
    const created = this.domains.create({
      name: spec.name,
      memoryMiB: spec.memoryMiB,
      placement,
      maxPages: Math.max(spec.maxMemoryMiB ?? spec.memoryMiB, spec.memoryMiB) * 256,
    });
    if (typeof created === 'number') {
      const why = created === -Errno.EEXIST ? `a domain named '${spec.name}' already exists` : created === -Errno.ENOMEM ? 'not enough free memory' : `error ${created}`;
      throw new HostError(`cannot create domain '${spec.name}': ${why}`, -created);
    }
    const d = created;
    // The shared-info page sits right above guest RAM (a special page, like Xen/ARM's magic pages).
    const sharedInfoGpa = GUEST_RAM_BASE + memBytes;
    const r = this.domains.mapSpecialPage(d, sharedInfoGpa / PAGE_SIZE);
    if (r < 0) {
      this.domains.destroy(d.domid);
      throw new HostError(`cannot create domain '${spec.name}': no memory for its shared-info page`, -r);
    }
    d.sharedInfoGpa = sharedInfoGpa;
    for (const seg of elf.segments) d.access.write(seg.paddr, seg.data);
    d.startInfoGpa = startInfo;
    this.writeStartInfo(d, startInfo, memBytes / PAGE_SIZE, spec.cmdline ?? '');

    this.sched.addDomain({ domid: d.domid, weight: spec.weight, cap: spec.cap });
    for (let i = 0; i < maxVcpus; i++) {
      const v = new Vcpu(d, i, (v, why) => this.onVcpuTimer(v, why));
      this.guest.init(v.ctx, d);
      v.sched = this.sched.addVcpu(d.domid, i, { hard: spec.cpus, soft: placement?.cpus, online: false }, this.clock.now);
      v.sched.owner = v;
      // A new domain starts paused (Xen's controller pause): so do its vCPUs.
      this.sched.pause(v.sched, this.clock.now);
      d.vcpus.push(v);
    }
    const boot = d.vcpus[0]!;
    this.guest.setEntry(boot.ctx, elf.entry, GUEST_RAM_BASE + memBytes, 0, startInfo);
    boot.initialised = true;
    for (let i = 0; i < nvcpus; i++) if (i === 0) this.vcpuUp(d.vcpus[i]!);
    for (const h of this.createHooks) h(d);
    this.hvmParams.initFromStartInfo(d);
    this.log(`(XEN) d${d.domid}: created '${d.name}' with ${spec.memoryMiB} MiB, ${maxVcpus} vCPU(s)`);
    if (!spec.paused) this.unpauseDomain(d);
    return d;
  }

  /** libxl-style NUMA placement over the nodes' free frames and the vCPUs already placed. */
  private placeDomain(pages: number, vcpus: number) {
    const topo: NumaTopology = {
      nodes: this.machine.numa.nodes.map((n) => ({ id: n.id, cpus: n.pcpus, freeMemory: this.machine.freeFrames(n.id) })),
      distances: this.machine.numa.distances,
    };
    const existing = this.domains.list().flatMap((d) => d.vcpus.map((v) => v.sched));
    return numaPlacement(topo, { memory: pages, vcpus }, vcpusOnNodes(topo, existing));
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
    for (const v of d.vcpus) {
      this.cancelTimers(v);
      if (v.online) this.sched.pause(v.sched, this.clock.now);
    }
    this.log(`(XEN) d${d.domid}: ${why ?? `shutdown: ${shutdownReasonName(reason)}`}`);
    if (this.bus.hasSubscribers(SHUTDOWN)) {
      this.bus.publish(SHUTDOWN, { time: this.clock.now, domid: d.domid, reason: shutdownReasonName(reason) as ShutdownReasonName, code: reason });
    }
    this.stopRun = true;
    for (const p of this.pcpus) if (p.current?.domain === d) p.cpu.stop('shutdown');
  }

  /** Destroys a domain: releases every frame, its vCPUs leave the scheduler. */
  destroyDomain(d: Domain<Vcpu>): void {
    for (const p of this.pcpus) if (p.current?.domain === d) this.switchTo(p, null);
    for (const v of d.vcpus) this.cancelTimers(v);
    this.watchdogs.destroy(d);
    for (const h of this.destroyHooks) h(d);
    this.sched.removeDomain(d.domid, this.clock.now);
    this.domains.destroy(d.domid);
  }

  private crashDomain(d: Domain<Vcpu>, message: string): void {
    this.log(`(XEN) d${d.domid}: crashed: ${message}`);
    d.crashMessage = message;
    this.shutdownDomain(d, ShutdownReason.crash, `domain_crash: ${message}`);
  }

  // =====================================================================================
  // The run loop
  // =====================================================================================

  /**
   * Runs until every domain has shut down, `untilNs` of simulated time has passed, or the
   * total retired instructions reach `maxInsns`. Returns why it stopped.
   */
  run({ untilNs = Infinity, maxInsns = Infinity }: { untilNs?: number; maxInsns?: number } = {}): 'all-shutdown' | 'time' | 'insn-limit' | 'idle' | 'debug' {
    this.debugStopped = null;
    for (;;) {
      this.serviceReschedules();
      if (this.allShutDown()) return 'all-shutdown';
      const now = this.clock.now;
      if (now >= untilNs) return 'time';
      const nextEvent = this.queue.nextDeadline();
      const busy = this.pcpus.some((p) => p.current);
      // Nothing running and no vCPU timer that could wake anyone: the scheduler's own ticks would
      // go on forever, so this is a deadlock.
      if (!busy && (nextEvent === Infinity || !this.anyVcpuWakeSource())) return 'idle';
      if (!busy && !this.pcpus.some((p) => p.reschedule)) {
        // Every pCPU idles: run events (scheduler ticks, timers) back to back until one makes a
        // pCPU reschedule (a vCPU woke) - the idle pCPUs' clocks catch up when they next run.
        // The same events in the same order as stepping round by round, at a fraction of the cost.
        // Bounded, so that a timer that fired without waking anyone is seen by the check above.
        let n = 0;
        while (n++ < IDLE_EVENTS_PER_ROUND && this.queue.nextDeadline() <= untilNs && !this.stopRun && !this.pcpus.some((p) => p.reschedule)) this.queue.runNext();
        this.stopRun = false;
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
      this.sliceEnd = tEnd;
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

  /** World switch: save the running vCPU, load the next (or idle). */
  /** The pCPU's own time: it may be ahead of the event queue's clock within a quantum. */
  private pcpuNow(p: Pcpu): number {
    return Math.max(this.clock.now, Math.floor(p.cpu.timeNs()));
  }

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
      this.armStimecmpWake(prev);
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
      this.updateTimeInfo(next, now);
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
    for (const d of this.domains.list()) {
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
    return false;
  }

  private allShutDown(): boolean {
    const ds = this.domains.list();
    return ds.length > 0 && ds.every((d) => d.shutdownCode !== null);
  }

  /** Retired guest instructions on all pCPUs. */
  instructions(): number {
    let n = 0;
    for (const p of this.pcpus) n += p.cpu.instret;
    return n;
  }

  // =====================================================================================
  // PL1: traps from guests
  // =====================================================================================

  private onTrap(p: Pcpu, cause: number, isInterrupt: boolean, tval: number, epc: number): void {
    const v = p.current;
    const slot = isInterrupt ? cause + 64 : cause;
    const counter = p.trapCounters[slot] ?? this.trapCounter(p, slot, cause, isInterrupt);
    counter.value++;
    p.traps++;
    // The bus sees one trap in `sampleEvery` (weight = the period): a decrement on the hot path.
    if (--this.trapSampleLeft === 0) this.publishTrap(p, cause, isInterrupt, tval, epc);
    const cpu = p.cpu;
    const key = causeName(cause, isInterrupt);
    if (!v) throw new Error(`pCPU ${p.id}: ${key} at ${hex(epc)} with no vCPU loaded (hypervisor bug)`);
    if (isInterrupt) {
      // PL1 interrupts are not used yet: return to the guest.
      cpu.returnFromTrap(1);
      return;
    }
    switch (cause) {
      case 9: // ecall from PL2: hypercall
        return this.hypercall(p, v);
      case 22: {
        if ((tval >>> 0) === WFI) {
          cpu.completeEmulated(1);
          this.syncUpcall(v);
          if (!this.guest.interruptPendingEnabled(cpu)) this.blockVcpu(p, v);
          return;
        }
        // A sensitive instruction we do not emulate: reflect it into the guest, precisely.
        cpu.cycles += this.costs.emulation;
        if (cpu.readCsr(CSR.stvec) !== 0) return cpu.injectTrap(2, 22, tval, epc);
        cpu.stop('crash');
        return this.crashDomain(v.domain, `${v.name}: sensitive instruction ${hex(tval >>> 0)} (${disassemble(tval | 0, epc)}) at pc ${hex(epc)} and no PL2 trap vector`);
      }
      case 20: case 21: case 23: case 1: case 5: case 7: {
        const gpa = cpu.readCsr(CSR.p1tval2);
        cpu.stop('crash');
        if (epc === 0 && cause === 20 && cpu.readCsr(CSR.stvec) === 0) {
          // A trap delegated to a guest kernel without a trap vector lands at address 0: name
          // the original trap, as the bare firmware does.
          const scause = cpu.readCsr(0x142), sepc = cpu.readCsr(0x141);
          return this.crashDomain(v.domain, `${v.name}: ${causeName(scause)} (cause ${scause}) at pc ${hex(sepc)} (${this.disasmGuest(v, sepc)}), stval ${hex(cpu.readCsr(0x143))}, delegated to PL2 which has no trap vector (stvec = 0)`);
        }
        const what = cause >= 20 ? `stage-2 violation: ${key} at GPA ${hex(gpa)}` : key;
        return this.crashDomain(v.domain, `${v.name}: ${what}, pc ${hex(epc)}, tval ${hex(tval)}`);
      }
      default:
        cpu.stop('crash');
        return this.crashDomain(v.domain, `${v.name}: unhandled ${key} (cause ${cause}) at pc ${hex(epc)}, tval ${hex(tval)}`);
    }
  }

  /** Disassembly of the guest instruction at guest-physical `gpa` (translation off). */
  private disasmGuest(v: Vcpu, gpa: number): string {
    const b = new Uint8Array(4);
    if (v.domain.access.read(gpa, b) < 0) return 'not in guest memory';
    return disassemble(b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24), gpa);
  }

  private hypercall(p: Pcpu, v: Vcpu): void {
    const cpu = p.cpu;
    // Straight from the register file (the null hypercall's path: no call per register).
    const x = cpu.x;
    const nr = x[2 * REG.a7 + 1] === 0 && x[2 * REG.a7]! >= 0 ? x[2 * REG.a7]! : cpu.getReg(REG.a7);
    // One arguments object, refilled per call: handlers read it during the call only.
    const args = this.hcArgs;
    args.a0 = (x[2 * REG.a0 + 1]! >>> 0) * TWO32 + (x[2 * REG.a0]! >>> 0);
    args.a1 = (x[2 * REG.a1 + 1]! >>> 0) * TWO32 + (x[2 * REG.a1]! >>> 0);
    args.a2 = (x[2 * REG.a2 + 1]! >>> 0) * TWO32 + (x[2 * REG.a2]! >>> 0);
    args.a3 = (x[2 * REG.a3 + 1]! >>> 0) * TWO32 + (x[2 * REG.a3]! >>> 0);
    args.a4 = (x[2 * REG.a4 + 1]! >>> 0) * TWO32 + (x[2 * REG.a4]! >>> 0);
    args.a5 = (x[2 * REG.a5 + 1]! >>> 0) * TWO32 + (x[2 * REG.a5]! >>> 0);
    // Work a preemptible call may do before it yields: up to this pCPU's next event (Xen: a
    // pending softirq), at most HYPERCALL_PREEMPT_NS.
    const budgetNs = Math.max(0, Math.min(this.sliceEnd - cpu.timeNs(), HYPERCALL_PREEMPT_NS));
    const ret = this.hypercalls.dispatch(v, nr, args, budgetNs * this.freqHz / 1e9);
    cpu.cycles += this.costs.hypercall + this.hypercalls.charged;
    if (--this.hypercallSampleLeft === 0) this.publishHypercall(p, v, nr, args.a0, ret);
    if (this.queue.nextDeadline() < this.sliceEnd) cpu.stop('event');
    if (v.domain.shutdownCode !== null && v.domain.shutdownCode !== ShutdownReason.suspend) {
      cpu.completeEmulated(1);
      cpu.stop('shutdown');
      return;
    }
    const cont = this.hypercalls.continuation;
    if (ret === HYPERCALL_CONTINUATION && cont) {
      // Xen's hypercall_create_continuation: new arguments in a0.., pc left on the ecall; the
      // guest runs the call again when it next runs (events and other pCPUs go first).
      for (let i = 0; i < cont.length && i < 6; i++) cpu.setRegNumber(REG.a0 + i, cont[i]!);
      this.continuations++;
      cpu.restartTrapped(1);
      cpu.stop('preempt');
      return;
    }
    cpu.setRegNumber(REG.a0, ret);
    cpu.completeEmulated(1);
    if (p.reschedule) cpu.stop('reschedule');
  }

  /** A handler threw (a hypervisor bug): Xen's domain_crash of the caller, never the host. */
  private hypercallFailed(v: Vcpu, nr: number, name: string, a: HypercallArgs, e: unknown): number {
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.log(`(XEN) d${v.domain.domid}: hypercall ${name} (${nr}) sub-op ${a.a0} args ${[a.a0, a.a1, a.a2, a.a3, a.a4, a.a5].map(hex64).join(' ')} failed: ${what}`);
    this.crashDomain(v.domain, `${v.name}: hypercall ${name} (${nr}) sub-op ${a.a0} failed in the hypervisor: ${what}`);
    return -Errno.EFAULT;
  }

  private blockVcpu(p: Pcpu, v: Vcpu): void {
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

  private vcpuUp(v: Vcpu): void {
    if (v.online) return;
    v.online = true;
    v.setRunstate('runnable', this.clock.now);
    this.sched.setOnline(v.sched, true, this.clock.now);
    if (v.periodNs > 0) this.setTimer(v.periodic, this.clock.now + v.periodNs);
  }

  /**
   * Xen's set_timer(ev, absNs) for a guest timer: a time already past fires at the next event
   * round; a time past SIM_TIME_MAX_NS (2^53 - 1 ns, about 104 days: the event queue's exact
   * range) never comes in this simulation, so the timer is left unarmed (see docs/hypervisor.md,
   * "Time that never comes").
   */
  private setTimer(ev: SimEvent, absNs: number): void {
    if (!(absNs <= SIM_TIME_MAX_NS)) this.queue.cancel(ev);
    else this.queue.reschedule(ev, Math.max(this.clock.now, absNs));
  }

  // =====================================================================================
  // Time and virtual interrupts
  // =====================================================================================

  private onVcpuTimer(v: Vcpu, why: 'singleshot' | 'periodic' | 'stimecmp'): void {
    if (v.domain.shutdownCode !== null || !v.online) return;
    if (why === 'periodic' && v.periodNs > 0) this.setTimer(v.periodic, this.clock.now + v.periodNs);
    if (why === 'stimecmp') {
      // The guest's own timer (stimecmp) came due while it was not loaded: it runs and the CPU
      // raises STIP when it is loaded again.
      if (this.guest.timerInterruptEnabled(v.ctx)) this.wakeVcpu(v);
      return;
    }
    // Xen delivers VIRQ_TIMER through the event channel bound to it; without an event-channel
    // component (or with VIRQ_TIMER unbound) it is the bare upcall.
    if (!this.interruptSink?.deliverVirq(v, Virq.timer)) this.sendUpcall(v);
    // The singleshot is also SCHEDOP_poll's timeout (Xen's poll_timer_fn: vcpu_unblock): it ends
    // the poll even when the upcall was already pending (and masked), so raised nothing new.
    if (why === 'singleshot' && v.blocked && v.blockKind === 'block') this.wakeVcpu(v);
  }

  /**
   * Raise the event upcall on `v` (Xen's vcpu_mark_events_pending): evtchn_upcall_pending in its
   * vcpu_info and the PL2 external-interrupt line; wakes it if it is blocked waiting for one.
   * Event-channel implementations call this after marking a port pending.
   */
  sendUpcall(v: Vcpu): void {
    v.upcallPending = true;
    const vi = v.vcpuInfoGpa;
    if (vi) v.domain.access.write(vi + VcpuInfo.evtchn_upcall_pending.offset, ONE);
    if (v.loadedOn >= 0) {
      const cpu = this.pcpus[v.loadedOn]!.cpu;
      cpu.setInterruptPending(9, true);
      cpu.cycles += this.costs.virtualIrq;
    }
    else this.guest.setUpcall(v.ctx, true);
    if (v.blockKind === 'block' || this.guest.upcallEnabled(v.ctx, v.loadedOn >= 0 ? this.pcpus[v.loadedOn]!.cpu : null)) this.wakeVcpu(v);
  }

  /**
   * The guest acknowledges an upcall by clearing vcpu_info.evtchn_upcall_pending; the line
   * follows that flag whenever the hypervisor looks (block, poll, wfi, timer). Returns it.
   */
  private syncUpcall(v: Vcpu): boolean {
    const vi = v.vcpuInfoGpa;
    if (!vi) return v.upcallPending;
    const b = this.scratch.subarray(0, 1);
    if (v.domain.access.read(vi + VcpuInfo.evtchn_upcall_pending.offset, b) < 0) return v.upcallPending;
    const pending = b[0] !== 0;
    if (!pending && v.upcallPending) {
      v.upcallPending = false;
      if (v.loadedOn >= 0) this.pcpus[v.loadedOn]!.cpu.setInterruptPending(9, false);
      else this.guest.setUpcall(v.ctx, false);
    }
    return v.upcallPending;
  }

  /** The time a vCPU sees: its pCPU's own time while loaded (ahead of the queue's clock). */
  nowFor(v: Vcpu): number {
    return v.loadedOn >= 0 ? this.pcpuNow(this.pcpus[v.loadedOn]!) : this.clock.now;
  }

  private armStimecmpWake(v: Vcpu): void {
    const deadline = this.guest.timerDeadlineNs(v.ctx);
    if (deadline === Infinity || !this.guest.timerInterruptEnabled(v.ctx)) return;
    this.queue.reschedule(v.stimecmpWake, Math.max(this.clock.now, Math.min(deadline, Number.MAX_SAFE_INTEGER)));
  }

  private cancelTimers(v: Vcpu): void {
    for (const ev of [v.singleshot, v.periodic, v.stimecmpWake]) this.queue.cancel(ev);
  }

  /** Writes vcpu_time_info for `v` under Xen's version protocol (odd while updating). */
  private updateTimeInfo(v: Vcpu, now: number): void {
    const d = v.domain;
    const vi = v.vcpuInfoGpa;
    if (!vi) return;
    const base = vi + VcpuInfo.time.offset;
    const t = this.scratch;
    d.access.read(base, t.subarray(0, 4));
    const version = (t[0]! | (t[1]! << 8) | (t[2]! << 16) | (t[3]! << 24)) >>> 0;
    const dv = new DataView(t.buffer, 0, VcpuTimeInfo.size);
    dv.setUint32(0, (version + 1) >>> 0, true);
    d.access.write(base, t.subarray(0, 4));
    dv.setUint32(VcpuTimeInfo.version.offset, (version + 2) >>> 0, true);
    // Tachyxx's `time` CSR counts ns, so the scale is 1:1 (mul 2^32 >> 32 can't be expressed:
    // use mul = 0x80000000 with shift 1).
    dv.setUint32(4, 0, true);
    setU64(dv, VcpuTimeInfo.tsc_timestamp.offset, now);
    setU64(dv, VcpuTimeInfo.system_time.offset, now);
    dv.setUint32(VcpuTimeInfo.tsc_to_system_mul.offset, 0x80000000, true);
    dv.setInt8(VcpuTimeInfo.tsc_shift.offset, 1);
    dv.setUint8(VcpuTimeInfo.flags.offset, 0);
    d.access.write(base + 8, t.subarray(8, VcpuTimeInfo.size));
    d.access.write(base, t.subarray(0, 4));
  }
  private readonly scratch = new Uint8Array(64);
  private readonly hcArgs: { -readonly [K in keyof HypercallArgs]: number } = { a0: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };
  private readonly consoleChunk = new Uint8Array(4096);

  private writeStartInfo(d: Domain<Vcpu>, gpa: number, nrPages: number, cmdline: string): void {
    d.access.write(gpa, encodeStartInfo({ nrPages, sharedInfo: d.sharedInfoGpa, cmdline }));
    // shared_info: wallclock at boot (wc_version even = stable).
    const wc = new Uint8Array(16);
    const wv = new DataView(wc.buffer);
    wv.setUint32(0, 2, true);
    wv.setUint32(4, this.wallclockEpoch >>> 0, true);
    wv.setUint32(8, 0, true);
    wv.setUint32(12, Math.floor(this.wallclockEpoch / TWO32), true);
    d.access.write(d.sharedInfoGpa + SharedInfo.wc_version.offset, wc);
  }

  // =====================================================================================
  // Hypercalls
  // =====================================================================================

  private registerHypercalls(): void {
    const t = this.hypercalls;
    t.register(Hypercall.console_io, (v, a) => this.consoleIo(v, a));
    t.register(Hypercall.sched_op, (v, a) => this.schedOp(v, a));
    t.register(Hypercall.set_timer_op, (v, a) => this.setTimerOp(v, a.a0));
    t.register(Hypercall.memory_op, (v, a) => physmapOp(this, v.domain, a.a0, a.a1) ?? memoryOp({ domain: v.domain, domains: this.domains, machine: this.machine, preempt: this.hypercalls, itemCycles: this.costs.hypercallItem }, a.a0, a.a1));
    t.register(Hypercall.vcpu_op, (v, a) => vcpuOp(this.vcpuOpContext, v, a.a0, a.a1, a.a2));
    // XENVER_version first: it is the null hypercall.
    t.register(Hypercall.xen_version, (v, a) => a.a0 === 0 ? XENVER_VERSION_VALUE : xenVersion(this, v.domain, a.a0, a.a1));
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
    arm: (ev, at) => this.setTimer(ev, at),
    cancel: (ev) => this.queue.cancel(ev),
    fired: (d) => this.shutdownDomain(d, ShutdownReason.watchdog, `Watchdog timer fired for domain ${d.domid}`),
  });

  private readonly vcpuOpContext = {
    now: (v: Vcpu) => this.nowFor(v),
    up: (v: Vcpu) => this.vcpuUp(v),
    down: (v: Vcpu) => {
      if (!v.online) return;
      v.online = false;
      this.cancelTimers(v);
      this.sched.setOnline(v.sched, false, this.clock.now);
      if (v.loadedOn >= 0) this.pcpus[v.loadedOn]!.cpu.stop('vcpu-down');
    },
    initialise: (v: Vcpu, words: Int32Array) => {
      this.guest.setEntryWords(v.ctx, words);
      v.initialised = true;
    },
    setSingleshot: (v: Vcpu, absNs: number | null) => {
      if (absNs === null) this.queue.cancel(v.singleshot);
      else this.setTimer(v.singleshot, absNs);
    },
    setPeriodic: (v: Vcpu, periodNs: number) => {
      v.periodNs = periodNs;
      if (periodNs === 0) this.queue.cancel(v.periodic);
      else if (v.online) this.setTimer(v.periodic, this.clock.now + periodNs);
    },
    markEventsPending: (v: Vcpu) => this.sendUpcall(v),
    updateTime: (v: Vcpu) => this.updateTimeInfo(v, this.nowFor(v)),
  };

  private consoleIo(v: Vcpu, a: HypercallArgs): number {
    if (a.a0 !== CONSOLEIO_write) return -Errno.ENOSYS;
    const count = a.a1, buf = a.a2;
    if (count > 0x7fffffff) return -Errno.EINVAL;
    if (count === 0) return 0;
    if (!v.domain.access.checkRange(buf, count, false)) return -Errno.EFAULT;
    // Copy in page-sized pieces through one buffer: the guest chooses `count`, not our allocation.
    const chunk = this.consoleChunk;
    for (let done = 0; done < count;) {
      // Xen's guest_console_write: preemptible between chunks; the continuation carries the
      // rest (CONSOLEIO_write, count - done, buffer + done), so the last invocation's result is
      // the bytes of the rest.
      if (done > 0 && this.hypercalls.preemptCheck()) return this.hypercalls.createContinuation(CONSOLEIO_write, count - done, buf + done);
      const n = Math.min(chunk.length, count - done);
      this.hypercalls.charge(this.costs.copyPerKiB * n / 1024);
      const view = chunk.subarray(0, n);
      if (v.domain.access.read(buf + done, view) < 0) return done ? done : -Errno.EFAULT;
      this.consoleOutput(v.domain, view);
      done += n;
    }
    return count;
  }

  private schedOp(v: Vcpu, a: HypercallArgs): number {
    const d = v.domain;
    switch (a.a0) {
      case SchedOp.yield:
        this.sched.yield(v.sched, this.clock.now);
        return 0;
      case SchedOp.block: {
        // Xen: block returns at once when an event is already pending (Arm's
        // vcpu_block_unless_event_pending). The Arm layout has no evtchn_upcall_mask to clear;
        // unlike Arm's local_event_delivery_enable, the guest's sstatus.SIE is left as it is
        // (docs/abi.md).
        if (this.syncUpcall(v)) return 0;
        v.blocked = true;
        v.blockKind = 'block';
        this.sched.block(v.sched, this.nowFor(v));
        return 0;
      }
      case SchedOp.shutdown: {
        const r = this.readU32(d, a.a1);
        if (r < 0) return r;
        if (r > ShutdownReason.soft_reset) return -Errno.EINVAL;
        this.shutdownDomain(d, r);
        return 0;
      }
      case SchedOp.remote_shutdown: {
        // struct sched_remote_shutdown { domid_t domain_id; unsigned int reason; }
        const buf = new Uint8Array(8);
        if (d.access.read(a.a1, buf) < 0) return -Errno.EFAULT;
        const dv = new DataView(buf.buffer);
        const target = this.domains.get(dv.getUint16(0, true));
        const reason = dv.getUint32(4, true);
        if (!d.privileged) return -Errno.EPERM;
        if (!target) return -Errno.ESRCH;
        if (reason > ShutdownReason.soft_reset) return -Errno.EINVAL;
        this.shutdownDomain(target, reason);
        return 0;
      }
      case SchedOp.watchdog:
        return this.watchdogs.op(d, a.a1);
      case SchedOp.poll: {
        // Without event channels there is nothing to poll but the timeout.
        const buf = new Uint8Array(24);
        if (d.access.read(a.a1, buf) < 0) return -Errno.EFAULT;
        const dv = new DataView(buf.buffer);
        const nrPorts = dv.getUint32(8, true);
        // uint64_t timeout (absolute ns), taken by set_timer as s_time_t: bit 63 set = the past.
        const timeout = dv.getUint32(16, true) + dv.getInt32(20, true) * TWO32;
        if (nrPorts > 128) return -Errno.EINVAL;
        const portsGpa = dv.getUint32(0, true) + dv.getUint32(4, true) * TWO32;
        if (!d.access.checkRange(portsGpa, nrPorts * 4, false)) return -Errno.EFAULT;
        // Xen's do_poll: local_events_need_delivery() ends the poll at once - on Arm only while
        // the guest can take the upcall (interrupts not masked): a pending upcall the guest
        // masks (sstatus.SIE or sie.SEIE off) does not, or a poll loop that leaves
        // evtchn_upcall_pending set would spin.
        if (this.syncUpcall(v) && this.guest.upcallDeliverable(v.ctx, v.loadedOn >= 0 ? this.pcpus[v.loadedOn]!.cpu : null)) return 0;
        if (this.pollProvider) {
          const r = this.pollProvider.poll(v, portsGpa, nrPorts);
          if (r < 0) return r;
          if (r > 0) return 0;
        }
        // (Xen has a separate poll timer; here the poll shares the singleshot: a timeout that
        // never comes leaves the singleshot as it is rather than cancelling it.)
        if (timeout && Math.max(0, timeout) <= SIM_TIME_MAX_NS) this.setTimer(v.singleshot, Math.max(0, timeout));
        v.blocked = true;
        v.blockKind = 'block';
        this.sched.block(v.sched, this.nowFor(v));
        return 0;
      }
      default:
        return -Errno.ENOSYS;
    }
  }

  /**
   * do_set_timer_op(s_time_t timeout) as xen/common/sched/core.c: 0 stops the singleshot timer;
   * a negative timeout or one more than 2^50 ns (about 13 days) ahead fires in 100 ms instead
   * (Xen's "huge timeout" workaround for Linux's jiffy wrap); anything else is armed as given.
   */
  private setTimerOp(v: Vcpu, a0: number): number {
    this.syncUpcall(v);
    // The signed 64-bit register (exact in its sign and size class; 2^53 and up is inexact).
    const timeout = v.loadedOn >= 0 && !this.hypercalls.nested ? this.pcpus[v.loadedOn]!.cpu.getReg(REG.a0) : a0 >= 2 ** 63 ? a0 - 2 ** 64 : a0;
    const now = this.nowFor(v);
    if (timeout === 0) this.queue.cancel(v.singleshot);
    else if (timeout < 0 || timeout - now >= SET_TIMER_OP_HUGE_NS) this.setTimer(v.singleshot, now + SET_TIMER_OP_HUGE_DELAY_NS);
    else this.setTimer(v.singleshot, timeout);
    return 0;
  }

  private readU32(d: Domain<Vcpu>, gpa: number): number {
    const b = new Uint8Array(4);
    if (d.access.read(gpa, b) < 0) return -Errno.EFAULT;
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }

  private setUpFirmware(cpu: Cpu): void {
    // PL0 firmware hands every trap from PL1-PL3 to the hypervisor; the hypervisor passes guest
    // user faults and the guest's own interrupts straight to PL2, and traps wfi (TW).
    setTrapRouting(cpu, {
      toPl1Exceptions: TO_PL1_EXCEPTIONS, toPl1Interrupts: TO_PL1_INTERRUPTS,
      toPl2Exceptions: GUEST_EXCEPTIONS, toPl2Interrupts: GUEST_INTERRUPTS,
    });
    cpu.writeCsr(CSR.p1status, P1STATUS_TW, 0);
    cpu.level = 1;
  }

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

  private trapCounter(p: Pcpu, slot: number, cause: number, isInterrupt: boolean): Counter {
    const c = p.stats.group('traps').counter(causeName(cause, isInterrupt), 'count', `traps into PL1 with ${isInterrupt ? 'interrupt' : 'exception'} cause ${cause}`);
    p.trapCounters[slot] = c;
    return c;
  }

  private publishTrap(p: Pcpu, cause: number, interrupt: boolean, tval: number, epc: number): void {
    this.trapSampleLeft = this.sampleEvery;
    if (!this.bus.hasSubscribers(TRAP)) return;
    const v = p.current;
    this.bus.publish(TRAP, {
      time: this.pcpuNow(p), pcpu: p.id, domid: v?.domain.domid ?? -1, vcpu: v?.id ?? -1, cause, interrupt,
      from: ((p.cpu.readCsr(CSR.p1status) >>> 11) & 3) as 0 | 1 | 2 | 3, to: 1, pc: epc, tval, weight: this.sampleEvery, // from: p1status.PPL (bits 12:11)
    });
  }

  private publishHypercall(p: Pcpu, v: Vcpu, op: number, cmd: number, result: number): void {
    this.hypercallSampleLeft = this.sampleEvery;
    if (!this.bus.hasSubscribers(HYPERCALL)) return;
    this.bus.publish(HYPERCALL, { time: this.pcpuNow(p), pcpu: p.id, domid: v.domain.domid, vcpu: v.id, weight: this.sampleEvery, op, cmd, result, cycles: this.costs.hypercall });
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

const ONE = new Uint8Array([1]);

function setU64(dv: DataView, off: number, n: number): void {
  dv.setUint32(off, n >>> 0, true);
  dv.setUint32(off + 4, Math.floor(n / TWO32) >>> 0, true);
}

export { PhysMemory };
