/**
 * A bus subscriber that writes Chrome trace-event JSON (the "JSON Array/Object Format" that the
 * Perfetto UI and chrome://tracing open): one process "pCPUs" with a track per pCPU showing the
 * vCPU running on it (complete events from VCPU_SCHEDULE in/out), instants for traps, hypercalls
 * and TLB flushes on that track, a counter per pCPU for TLB misses (PCPU_COUNTERS); one process
 * "domains" with a track per domain for lifecycle, shutdown and any extra instant topics (event-
 * channel sends, xenstore watch fires). Timestamps are simulated time only (ns / 1000 = us), so the
 * same config and seed give a byte-identical file.
 */
import type { Subscription } from 'rxjs';
import type { EventBus, Topic } from './bus.js';
import { DOMAIN_LIFECYCLE, HYPERCALL, PCPU_COUNTERS, SHUTDOWN, TLB_FLUSH, TRAP, VCPU_SCHEDULE } from './topics.js';

/** An extra topic drawn as instants on a domain's track. */
export interface TraceInstantTopic<T> {
  readonly topic: Topic<T>;
  /** Event name shown in the UI. */
  name(e: T): string;
  /** The domain whose track it goes on. */
  domid(e: T): number;
  time(e: T): number;
  args?(e: T): Record<string, number | string | boolean>;
}

export interface TraceExporterOptions {
  /** Names for hypercall numbers (default `hypercall <nr>`). */
  hypercallName?: (op: number) => string;
  /** Names for trap causes (default `trap <cause>` / `irq <cause>`). */
  trapName?: (cause: number, interrupt: boolean) => string;
  /** Further topics drawn as instants on domain tracks. */
  instants?: readonly TraceInstantTopic<any>[];
}

type Json = Record<string, unknown>;
const PID_PCPUS = 1;
const PID_DOMAINS = 2;
const us = (ns: number) => ns / 1000;

export class ChromeTraceExporter {
  private readonly events: Json[] = [];
  private readonly subs: Subscription[] = [];
  private readonly running = new Map<number, { name: string; start: number; args: Json }>();
  private readonly pcpus = new Set<number>();
  private readonly domains = new Map<number, string>();
  private readonly lastMisses = new Map<number, number>();
  private lastTime = 0;

  constructor(bus: EventBus, opts: TraceExporterOptions = {}) {
    const hcName = opts.hypercallName ?? ((op: number) => `hypercall ${op}`);
    const trapName = opts.trapName ?? ((c: number, irq: boolean) => `${irq ? 'irq' : 'trap'} ${c}`);
    this.subs.push(
      bus.on(VCPU_SCHEDULE).subscribe((e) => {
        this.seen(e.time);
        this.pcpus.add(e.pcpu);
        this.domains.has(e.domid) || this.domains.set(e.domid, `d${e.domid}`);
        if (e.kind === 'in') {
          this.close(e.pcpu, e.time, undefined);
          this.running.set(e.pcpu, { name: `d${e.domid}v${e.vcpu}`, start: e.time, args: { domid: e.domid, vcpu: e.vcpu } });
        } else this.close(e.pcpu, e.time, e.reason);
      }),
      bus.on(TRAP).subscribe((e) => {
        this.seen(e.time);
        this.pcpus.add(e.pcpu);
        this.instant(PID_PCPUS, e.pcpu, e.time, trapName(e.cause, e.interrupt), 'trap', { domid: e.domid, vcpu: e.vcpu, from: e.from, to: e.to, pc: e.pc, weight: e.weight });
      }),
      bus.on(HYPERCALL).subscribe((e) => {
        this.seen(e.time);
        this.pcpus.add(e.pcpu);
        this.instant(PID_PCPUS, e.pcpu, e.time, hcName(e.op), 'hypercall', { domid: e.domid, vcpu: e.vcpu, cmd: e.cmd, result: e.result, weight: e.weight });
      }),
      bus.on(TLB_FLUSH).subscribe((e) => {
        // Coarse flushes only (whole TLB, whole VMID: switches, P2M changes); a guest's per-page
        // and per-ASID sfence.vma stay in the stats.
        if (e.scope !== 'all' && e.scope !== 'vmid') return;
        this.seen(e.time);
        this.pcpus.add(e.pcpu);
        this.instant(PID_PCPUS, e.pcpu, e.time, `tlb flush ${e.scope}`, 'mmu', { entries: e.entries });
      }),
      bus.on(PCPU_COUNTERS).subscribe((e) => {
        this.seen(e.time);
        this.pcpus.add(e.pcpu);
        if (this.lastMisses.get(e.pcpu) === e.tlbMisses) return;
        this.lastMisses.set(e.pcpu, e.tlbMisses);
        this.events.push({ ph: 'C', pid: PID_PCPUS, tid: e.pcpu, ts: us(e.time), name: `pCPU${e.pcpu} TLB misses`, args: { misses: e.tlbMisses } });
      }),
      bus.on(DOMAIN_LIFECYCLE).subscribe((e) => {
        this.seen(e.time);
        if (e.name !== undefined) this.domains.set(e.domid, e.name);
        else if (!this.domains.has(e.domid)) this.domains.set(e.domid, `d${e.domid}`);
        this.instant(PID_DOMAINS, e.domid, e.time, e.kind, 'domain', {});
      }),
      bus.on(SHUTDOWN).subscribe((e) => {
        this.seen(e.time);
        if (!this.domains.has(e.domid)) this.domains.set(e.domid, `d${e.domid}`);
        this.instant(PID_DOMAINS, e.domid, e.time, `shutdown ${e.reason}`, 'domain', { code: e.code });
      }),
    );
    for (const t of opts.instants ?? []) {
      this.subs.push(
        bus.on(t.topic).subscribe((e) => {
          const time = t.time(e);
          const domid = t.domid(e);
          this.seen(time);
          if (!this.domains.has(domid)) this.domains.set(domid, `d${domid}`);
          this.instant(PID_DOMAINS, domid, time, t.name(e), t.topic.name, t.args?.(e) ?? {});
        }),
      );
    }
  }

  private seen(t: number): void {
    if (t > this.lastTime) this.lastTime = t;
  }

  private instant(pid: number, tid: number, time: number, name: string, cat: string, args: Json): void {
    this.events.push({ ph: 'i', s: 't', pid, tid, ts: us(time), name, cat, args });
  }

  private close(pcpu: number, time: number, reason: string | undefined): void {
    const r = this.running.get(pcpu);
    if (!r) return;
    this.running.delete(pcpu);
    this.events.push({ ph: 'X', pid: PID_PCPUS, tid: pcpu, ts: us(r.start), dur: us(time - r.start), name: r.name, cat: 'vcpu', args: reason ? { ...r.args, reason } : r.args });
  }

  /** Stops listening (the trace keeps what it has). */
  stop(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  /** Number of trace events so far (metadata excluded). */
  get size(): number {
    return this.events.length;
  }

  /**
   * The trace as JSON text: metadata (process and track names) first, then the events in the
   * order they happened; vCPUs still running end at the last simulated time seen.
   */
  toJSON(): string {
    for (const p of [...this.running.keys()].sort((a, b) => a - b)) this.close(p, this.lastTime, 'end');
    const meta: Json[] = [
      { ph: 'M', pid: PID_PCPUS, tid: 0, name: 'process_name', args: { name: 'pCPUs' } },
      { ph: 'M', pid: PID_DOMAINS, tid: 0, name: 'process_name', args: { name: 'domains' } },
    ];
    for (const p of [...this.pcpus].sort((a, b) => a - b)) {
      meta.push({ ph: 'M', pid: PID_PCPUS, tid: p, name: 'thread_name', args: { name: `pCPU ${p}` } });
      meta.push({ ph: 'M', pid: PID_PCPUS, tid: p, name: 'thread_sort_index', args: { sort_index: p } });
    }
    for (const [d, name] of [...this.domains].sort((a, b) => a[0] - b[0])) {
      meta.push({ ph: 'M', pid: PID_DOMAINS, tid: d, name: 'thread_name', args: { name: `d${d} ${name}` } });
    }
    const lines = [...meta, ...this.events].map((e) => JSON.stringify(e));
    return `{"displayTimeUnit":"ns","traceEvents":[\n${lines.join(',\n')}\n]}\n`;
  }
}
