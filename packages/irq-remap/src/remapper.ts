// The interrupt remapper of one PCIe subsystem (the book's chapter 9): a device's MSI/MSI-X write
// goes through a remapping table {requester ID, handle} -> (domain, vCPU, pirq), and reaches the
// guest as an event on the event channel bound to that pirq (Xen's pirq model: PHYSDEVOP_map_pirq
// + EVTCHNOP_bind_pirq, delivered by send_guest_pirq). MSI messages use VT-d's formats (Intel VT-d
// spec 5.1.2.2 / 5.1.5): the remappable format (address bit 4 set, handle in bits 19:5 and 2,
// SHV bit 3 adding the data's subhandle) and the compatibility format (destination in address
// bits 19:12, vector in data bits 7:0), at the 0xFEE0_0000 doorbell window.
//
// Variants: posted (pending interrupts queued per vCPU, delivered when the vCPU next runs, no
// hypervisor cycles: VT-d posted interrupts), forwarded (every interrupt traps to PL1 and the
// hypervisor injects it), none (no remapping: the compatibility-format message is taken at its
// word; the hypervisor must trap the guest's MSI-X table writes, `checkMsixWrite`).
import { defineTopic, type EventBus, type IoFault, type MsiRemapper, type SimClock } from '@tachyxx/core';
import type { Domain } from '@tachyxx/hypervisor';
import { IrqRemapStats } from './stats.js';

export type IrqRemapVariant = 'posted' | 'forwarded' | 'none';
export const IRQ_REMAP_VARIANTS: readonly IrqRemapVariant[] = ['posted', 'forwarded', 'none'];

/** The MSI doorbell window (x86's 0xFEE0_0000, 1 MiB; the PCIeSS claims writes there as interrupts). */
export const MSI_ADDR_BASE = 0xfee0_0000;
export const MSI_ADDR_SIZE = 0x10_0000;
/** VT-d remappable-format address bits: Interrupt Format (4), SubHandle Valid (3), handle[15] (2). */
export const MSI_ADDR_IF = 1 << 4;
export const MSI_ADDR_SHV = 1 << 3;
export const MSI_ADDR_HANDLE15 = 1 << 2;
/** The largest remapping table: 16-bit handles (VT-d IRTA.S up to 2^16 entries). */
export const MAX_REMAP_ENTRIES = 65536;
/** Default table size (our choice: 64 devices x 16 vectors). */
export const DEFAULT_REMAP_ENTRIES = 1024;
/** Vectors of the compatibility format (data bits 7:0); 0-31 are exceptions on x86, refused. */
export const FIRST_DYNAMIC_VECTOR = 0x20;

/** What a remapping-table entry (an IRTE) sends the interrupt to. */
export interface RemapTarget {
  /** Requester ID allowed to use the entry (VT-d SVT=1, SQ=0: all 16 bits verified). */
  readonly rid: number;
  readonly domid: number;
  /** vCPU id in the domain: the posted variant queues for it, the port should notify it. */
  readonly vcpu: number;
  /** The domain's pirq (bound to an event channel by the guest with EVTCHNOP_bind_pirq). */
  readonly pirq: number;
}

/** Cycle costs (host config `costs: irq-remap.<name>`). */
export interface IrqRemapCosts {
  /** Hypervisor cycles to take a physical interrupt at PL1 and find its guest (forwarded, none). */
  irqTrap: number;
  /** Cycles to inject the virtual interrupt (Xen-ARM's virtual IRQ cost by default). */
  inject: number;
  /** Hardware cycles from the MSI write to a running vCPU's pending bit (posted; no hypervisor work). */
  postLatency: number;
}
/** irqTrap: Xen-ARM's interrupt-controller trap (Dall et al., ISCA 2016: 1356); inject: its virtual IRQ (71); postLatency: our estimate. */
export const DEFAULT_IRQ_REMAP_COSTS: Readonly<IrqRemapCosts> = Object.freeze({ irqTrap: 1356, inject: 71, postLatency: 40 });

/** The host services the remapper uses (HostServices has them all). */
export interface IrqRemapHost {
  readonly freqHz: number;
  readonly clock: SimClock;
  readonly domains: { get(domid: number): Domain<any> | undefined; list(): Domain<any>[] };
  chargeCycles(v: any, cycles: number): void;
  wakeVcpu(v: any): void;
  log(line: string): void;
}

/** A vCPU as the remapper sees it (the hypervisor's Vcpu has these). */
interface VcpuLike { readonly id: number; readonly loadedOn: number; readonly blocked: boolean; readonly domain: Domain<any> }

export interface IrqRemapFault extends IoFault {
  remapper: string;
  /** The handle (remappable) or vector (compatibility) the message named, or -1. */
  index: number;
}
export const IRQ_REMAP_FAULT = defineTopic<IrqRemapFault>('irq-remap.fault');

/** Published for every interrupt delivered to a guest (after its latency is known). */
export interface MsiDeliveredEvent { time: number; domid: number; vcpu: number; pirq: number; latencyNs: number; hypervisorCycles: number }
export const MSI_DELIVERED = defineTopic<MsiDeliveredEvent>('irq-remap.delivered');

export interface IrqRemapperOptions {
  variant: IrqRemapVariant;
  host: IrqRemapHost;
  /** Raises the event channel bound to `pirq` of `domid` (EventChannels.sendPirq); false when unbound. */
  deliver: (domid: number, pirq: number) => boolean;
  id?: string;
  entries?: number;
  faultQueueEntries?: number;
  costs?: Partial<IrqRemapCosts>;
  stats?: IrqRemapStats;
  bus?: EventBus;
}

interface Pending { pirq: number; domid: number; t0: number; hyp: number; deliver: boolean }

export class IrqRemapper implements MsiRemapper {
  readonly id: string;
  readonly variant: IrqRemapVariant;
  readonly costs: Readonly<IrqRemapCosts>;
  readonly stats: IrqRemapStats;
  readonly entries: number;
  readonly faultQueueEntries: number;
  private readonly host: IrqRemapHost;
  private readonly deliverFn: (domid: number, pirq: number) => boolean;
  private readonly bus?: EventBus;
  /** The remapping table (IRTEs), by handle. */
  private readonly table: (RemapTarget | undefined)[];
  /** Variant none: the hypervisor's vector table (compatibility format), by vector. */
  private readonly vectors: (RemapTarget | undefined)[] = new Array(256);
  /** Interrupts raised for a vCPU that was not running, by `domid * 65536 + vcpu`. */
  private readonly waiting = new Map<number, Pending[]>();
  private readonly faults: IrqRemapFault[] = [];
  private readonly nsPerCycle: number;

  constructor(opts: IrqRemapperOptions) {
    if (!IRQ_REMAP_VARIANTS.includes(opts.variant)) throw new RangeError(`unknown irq-remap variant '${String(opts.variant)}' (known: ${IRQ_REMAP_VARIANTS.join(', ')})`);
    this.variant = opts.variant;
    this.id = opts.id ?? 'pciess0';
    this.host = opts.host;
    this.deliverFn = opts.deliver;
    this.bus = opts.bus;
    this.costs = Object.freeze({ ...DEFAULT_IRQ_REMAP_COSTS, ...opts.costs });
    this.stats = opts.stats ?? new IrqRemapStats();
    this.entries = opts.entries ?? DEFAULT_REMAP_ENTRIES;
    if (!Number.isInteger(this.entries) || this.entries < 1 || this.entries > MAX_REMAP_ENTRIES) throw new RangeError(`entries must be 1..${MAX_REMAP_ENTRIES}, got ${this.entries}`);
    this.faultQueueEntries = opts.faultQueueEntries ?? 256;
    this.table = new Array(this.entries);
    this.nsPerCycle = 1e9 / opts.host.freqHz;
  }

  // =====================================================================================
  // Programming (the hypervisor side)
  // =====================================================================================

  /**
   * Writes IRTE `handle` (remapping variants). Returns 0, or -22 (EINVAL: a bad handle, rid,
   * vcpu or pirq, or the variant none, which has no table), -3 (ESRCH: no such domain).
   */
  setEntry(handle: number, target: RemapTarget): number {
    if (this.variant === 'none' || !Number.isInteger(handle) || handle < 0 || handle >= this.entries) return -22;
    const r = this.checkTarget(target);
    if (r < 0) return r;
    this.table[handle] = { ...target };
    return 0;
  }

  /** Clears IRTE `handle` (a stale message is then blocked as msi-unmapped). */
  clearEntry(handle: number): void {
    if (Number.isInteger(handle) && handle >= 0 && handle < this.entries) this.table[handle] = undefined;
  }

  /** A free handle, or -28 (ENOSPC). */
  allocHandle(): number {
    for (let i = 0; i < this.entries; i++) if (this.table[i] === undefined) return i;
    return -28;
  }

  /** The entry behind `handle`. */
  entry(handle: number): RemapTarget | undefined { return this.table[handle]; }

  /** The MSI message (address, data) the hypervisor programs into the device for `handle` (remappable format, SHV = 0). */
  static message(handle: number): { addr: number; data: number } {
    return { addr: MSI_ADDR_BASE + (handle & 0x7fff) * 32 + (handle >= 0x8000 ? MSI_ADDR_HANDLE15 : 0) + MSI_ADDR_IF, data: 0 };
  }

  /** A compatibility-format message: destination id (0-255) and vector (0-255). */
  static compatMessage(dest: number, vector: number): { addr: number; data: number } {
    return { addr: MSI_ADDR_BASE + (dest & 0xff) * 4096, data: vector & 0xff };
  }

  /**
   * Variant none: the hypervisor's vector allocation (Xen's per-CPU vector table + irq_desc ->
   * pirq). A compatibility-format MSI naming `vector` goes to `target`; `target.rid` is the
   * device the hypervisor gave the vector to (the only one whose MSI-X table may name it).
   * Returns 0 or -22 / -3.
   */
  bindVector(vector: number, target: RemapTarget): number {
    if (this.variant !== 'none' || !Number.isInteger(vector) || vector < FIRST_DYNAMIC_VECTOR || vector > 255) return -22;
    const r = this.checkTarget(target);
    if (r < 0) return r;
    this.vectors[vector] = { ...target };
    return 0;
  }

  unbindVector(vector: number): void {
    if (Number.isInteger(vector) && vector >= 0 && vector < 256) this.vectors[vector] = undefined;
  }

  /**
   * The check the PCIe side calls when a guest writes an MSI-X table entry of a device it was
   * given (`rid`). With remapping (posted, forwarded) any value is harmless: the remapper checks
   * the requester on every interrupt, so the write goes straight to the device (`trap` false).
   * Without (none) the hypervisor must trap the write and accept only a message whose vector it
   * gave to this device (Xen's msixtbl / QEMU's pt_msix do the same: the guest never programs the
   * real table). Returns whether the write may reach the device and why not.
   */
  checkMsixWrite(rid: number, addr: number, data: number): { trap: boolean; allowed: boolean; reason: string } {
    if (this.variant !== 'none') return { trap: false, allowed: true, reason: 'remapped: the IRTE is checked against the requester on every MSI' };
    if (!isMsiAddr(addr) || (addr & MSI_ADDR_IF) !== 0) return { trap: true, allowed: false, reason: 'not a compatibility-format MSI address' };
    const vector = data & 0xff;
    const t = this.vectors[vector];
    if (t === undefined) return { trap: true, allowed: false, reason: `vector ${vector} is not allocated` };
    if (t.rid !== rid) return { trap: true, allowed: false, reason: `vector ${vector} belongs to another device (d${t.domid})` };
    return { trap: true, allowed: true, reason: `vector ${vector} is this device's (d${t.domid} pirq ${t.pirq})` };
  }

  /** A domain went away: its entries and queued interrupts go. */
  domainDestroyed(domid: number): void {
    for (let i = 0; i < this.entries; i++) if (this.table[i]?.domid === domid) this.table[i] = undefined;
    for (let v = 0; v < 256; v++) if (this.vectors[v]?.domid === domid) this.vectors[v] = undefined;
    for (const k of [...this.waiting.keys()]) if (Math.floor(k / 65536) === domid) this.waiting.delete(k);
  }

  private checkTarget(t: RemapTarget): number {
    if (!Number.isInteger(t.rid) || t.rid < 0 || t.rid > 0xffff || !Number.isInteger(t.pirq) || t.pirq < 0 || !Number.isInteger(t.vcpu) || t.vcpu < 0) return -22;
    const d = this.host.domains.get(t.domid);
    if (!d || d.isDying) return -3;
    if (t.vcpu >= Math.max(1, d.vcpus.length)) return -22;
    return 0;
  }

  // =====================================================================================
  // MsiRemapper (the device side)
  // =====================================================================================

  msi(rid: number, addr: number, data: number): boolean {
    const st = this.stats;
    st.messages.value++;
    if (!isMsiAddr(addr)) return this.block('msi-unmapped', rid, addr, data, -1);
    if (this.variant === 'none') {
      if ((addr & MSI_ADDR_IF) !== 0) return this.block('msi-unmapped', rid, addr, data, -1);
      const vector = (data >>> 0) & 0xff;
      const t = this.vectors[vector];
      // No remapping: nothing knows who sent it; the vector decides (the unsafe part).
      if (t === undefined) return this.block('msi-unmapped', rid, addr, data, vector);
      return this.forward(t);
    }
    // Remappable format only: a compatibility-format message is blocked (VT-d with CFI blocked).
    if ((addr & MSI_ADDR_IF) === 0) return this.block('msi-unmapped', rid, addr, data, -1);
    let handle = ((addr >>> 5) & 0x7fff) | ((addr & MSI_ADDR_HANDLE15) !== 0 ? 0x8000 : 0);
    if ((addr & MSI_ADDR_SHV) !== 0) handle += (data >>> 0) & 0xffff;
    const t = handle < this.entries ? this.table[handle] : undefined;
    if (t === undefined) return this.block('msi-unmapped', rid, addr, data, handle);
    if (t.rid !== rid) return this.block('msi-wrong-device', rid, addr, data, handle);
    return this.variant === 'posted' ? this.post(t) : this.forward(t);
  }

  /** Posted: the pending interrupt waits in the remapper until its vCPU runs; no PL1 code. */
  private post(t: RemapTarget): boolean {
    const d = this.host.domains.get(t.domid);
    const v = d?.vcpus[t.vcpu] as VcpuLike | undefined;
    if (!d || !v || d.isDying) return this.block('msi-unmapped', t.rid, MSI_ADDR_BASE, 0, -1);
    const now = this.host.clock.now;
    this.stats.posted.value++;
    if (v.loadedOn >= 0) {
      // Running: the notification reaches it without an exit.
      return this.complete(t.domid, t.vcpu, t.pirq, this.costs.postLatency * this.nsPerCycle, 0, true);
    }
    this.queue(t, { pirq: t.pirq, domid: t.domid, t0: now, hyp: 0, deliver: true });
    if (v.blocked) {
      // The wake-up notification (VT-d's NV = wakeup vector while blocked).
      this.stats.wakeups.value++;
      this.host.wakeVcpu(v);
    }
    return true;
  }

  /** Forwarded (and none): the interrupt traps to PL1, the hypervisor injects it now. */
  private forward(t: RemapTarget): boolean {
    const d = this.host.domains.get(t.domid);
    const v = d?.vcpus[t.vcpu] as VcpuLike | undefined;
    if (!d || !v || d.isDying) return this.block('msi-unmapped', t.rid, MSI_ADDR_BASE, 0, -1);
    const hyp = this.costs.irqTrap + this.costs.inject;
    this.stats.forwarded.value++;
    this.stats.hypervisorCycles.value += hyp; // every MSI traps, also one that coalesces later
    // The physical interrupt lands on the pCPU the target runs on, or interrupts whatever runs.
    const victim = v.loadedOn >= 0 ? v : this.anyRunningVcpu();
    if (victim !== null) this.host.chargeCycles(victim, hyp);
    else this.stats.idleTraps.value++;
    if (v.loadedOn >= 0) return this.complete(t.domid, t.vcpu, t.pirq, hyp * this.nsPerCycle, hyp, true);
    const ok = this.deliverFn(t.domid, t.pirq); // pending now; the handler runs when it is scheduled
    if (!ok) { this.stats.unbound.value++; return true; }
    this.queue(t, { pirq: t.pirq, domid: t.domid, t0: this.host.clock.now, hyp, deliver: false });
    return true;
  }

  /**
   * Queues for a vCPU that is not running. A pirq already waiting there coalesces (VT-d's PIR is
   * one bit per vector, an event channel one pending bit): the queue is bounded by the pirqs
   * bound, whatever a device floods; latency counts from the first raise.
   */
  private queue(t: RemapTarget, p: Pending): void {
    const key = t.domid * 65536 + t.vcpu;
    let q = this.waiting.get(key);
    if (!q) { q = []; this.waiting.set(key, q); }
    for (let i = 0; i < q.length; i++) {
      if (q[i]!.pirq === p.pirq) { this.stats.coalesced.value++; return; }
    }
    q.push(p);
    this.stats.queued.value++;
  }

  /** Interrupts raised for vCPUs that were not running, not yet delivered / handled. */
  get waitingInterrupts(): number {
    let n = 0;
    for (const q of this.waiting.values()) n += q.length;
    return n;
  }

  /** The host loaded `v` on a pCPU (HostServices.onVcpuRunning): deliver what waits for it. */
  vcpuRunning(v: VcpuLike, now: number): void {
    if (this.waiting.size === 0) return;
    const key = v.domain.domid * 65536 + v.id;
    const q = this.waiting.get(key);
    if (!q) return;
    this.waiting.delete(key);
    const extra = (this.variant === 'posted' ? this.costs.postLatency : 0) * this.nsPerCycle;
    for (const p of q) this.complete(p.domid, v.id, p.pirq, Math.max(0, now - p.t0) + extra, p.hyp, p.deliver);
  }

  private complete(domid: number, vcpu: number, pirq: number, latencyNs: number, hyp: number, deliver: boolean): boolean {
    if (deliver && !this.deliverFn(domid, pirq)) {
      this.stats.unbound.value++; // the guest has not bound the pirq: dropped, as Xen does
      return true;
    }
    const st = this.stats;
    st.interrupts.value++;
    st.latency.sample(latencyNs);
    const bus = this.bus;
    if (bus !== undefined && bus.hasSubscribers(MSI_DELIVERED)) bus.publish(MSI_DELIVERED, { time: this.host.clock.now, domid, vcpu, pirq, latencyNs, hypervisorCycles: hyp });
    return true;
  }

  private anyRunningVcpu(): VcpuLike | null {
    for (const d of this.host.domains.list()) for (const v of d.vcpus as VcpuLike[]) if (v.loadedOn >= 0) return v;
    return null;
  }

  // =====================================================================================
  // Faults
  // =====================================================================================

  /** Blocked messages not yet taken (bounded; past it they are only counted). */
  drainFaults(): IrqRemapFault[] { return this.faults.splice(0); }
  get queuedFaults(): number { return this.faults.length; }

  private block(kind: 'msi-unmapped' | 'msi-wrong-device', rid: number, addr: number, data: number, index: number): boolean {
    const st = this.stats;
    (kind === 'msi-unmapped' ? st.unmapped : st.wrongDevice).value++;
    const f: IrqRemapFault = { time: this.host.clock.now, rid, addr, kind, access: 2, remapper: this.id, index };
    if (this.faults.length < this.faultQueueEntries) this.faults.push(f);
    else st.faultOverflows.value++;
    const bus = this.bus;
    if (bus !== undefined && bus.hasSubscribers(IRQ_REMAP_FAULT)) bus.publish(IRQ_REMAP_FAULT, f);
    if (st.unmapped.value + st.wrongDevice.value <= 10) {
      this.host.log(`(XEN) irq-remap ${this.id}: blocked MSI from ${ridName(rid)} addr ${hex(addr)} data ${hex(data)}: ${kind}`);
    }
    return false;
  }
}

function isMsiAddr(addr: number): boolean {
  return addr >= MSI_ADDR_BASE && addr < MSI_ADDR_BASE + MSI_ADDR_SIZE && Math.floor(addr) === addr;
}

function ridName(rid: number): string {
  if (!Number.isInteger(rid) || rid < 0 || rid > 0xffff) return `rid(${String(rid)})`;
  return `${(rid >> 8).toString(16).padStart(2, '0')}:${((rid >> 3) & 31).toString(16).padStart(2, '0')}.${rid & 7}`;
}
function hex(n: number): string { return Number.isInteger(n) && n >= 0 ? `0x${n.toString(16)}` : String(n); }

