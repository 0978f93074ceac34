// A virtual CPU (Xen's struct vcpu): its saved architectural state while not loaded on a pCPU,
// its scheduler handle, timers and runstate accounting.
import { Runstate, VcpuInfo, XEN_LEGACY_MAX_VCPUS } from '@tachyxx/abi';
import { SimEvent } from '@tachyxx/core';
import { createVcpuContext, type VcpuContext } from '@tachyxx/isa';
import type { SchedVcpu } from '@tachyxx/sched';
import type { Domain } from '../domain/domain.js';

export type RunstateName = keyof typeof Runstate;

export class Vcpu {
  /** Saved registers, pc, level and PL2 bank (plus the per-vCPU PL1 state) while not loaded. */
  readonly ctx: VcpuContext = createVcpuContext();
  sched!: SchedVcpu;
  /** pCPU it is loaded on, or -1. */
  loadedOn = -1;
  /** VCPUOP_initialise has given it a context (the boot vCPU gets one from the domain builder). */
  initialised = false;
  /** VCPUOP_up / down. */
  online = false;
  /** Blocked in SCHEDOP_block / wfi / poll, waiting for an interrupt. */
  blocked = false;
  /** How it blocked: SCHEDOP_block/poll wake on any upcall; wfi only on one enabled in sie. */
  blockKind: 'block' | 'wfi' | null = null;
  /** Xen's evtchn_upcall_pending: a virtual interrupt (timer VIRQ, events) is pending. */
  upcallPending = false;
  /** GPA of the vcpu_info registered with VCPUOP_register_vcpu_info (0 = none; Xen's vcpu_info_mfn). */
  registeredVcpuInfo = 0;
  /** GPA of the runstate area (VCPUOP_register_runstate_memory_area), 0 = none (Xen's runstate_guest). */
  runstateArea = 0;

  // timers (set_timer_op / VCPUOP_set_singleshot_timer, VCPUOP_set_periodic_timer, the guest's
  // own stimecmp while it is not loaded)
  singleshot: SimEvent;
  periodic: SimEvent;
  periodNs = 10_000_000; // Xen's default 10 ms periodic tick for PV vCPUs
  stimecmpWake: SimEvent;

  // runstate accounting (VCPUOP_get_runstate_info)
  runstate: RunstateName = 'offline';
  runstateEntry = 0;
  readonly runstateTime = new Float64Array(4);

  constructor(readonly domain: Domain<Vcpu>, readonly id: number, fire: (v: Vcpu, why: 'singleshot' | 'periodic' | 'stimecmp') => void) {
    this.singleshot = new SimEvent(`d${domain.domid}v${id}.singleshot`, () => fire(this, 'singleshot'));
    this.periodic = new SimEvent(`d${domain.domid}v${id}.periodic`, () => fire(this, 'periodic'));
    this.stimecmpWake = new SimEvent(`d${domain.domid}v${id}.stimecmp`, () => fire(this, 'stimecmp'));
  }

  get name(): string { return `d${this.domain.domid}v${this.id}`; }

  /**
   * GPA of this vCPU's vcpu_info, 0 when it has none: the registered one, else its slot in
   * shared_info (vCPU 0 only: XEN_LEGACY_MAX_VCPUS = 1, as on Arm; Xen's dummy_vcpu_info
   * otherwise, whose writes nobody sees).
   */
  get vcpuInfoGpa(): number {
    if (this.registeredVcpuInfo) return this.registeredVcpuInfo;
    const si = this.domain.sharedInfoGpa;
    return si && this.id < XEN_LEGACY_MAX_VCPUS ? si + this.id * VcpuInfo.size : 0;
  }

  setRunstate(state: RunstateName, now: number): void {
    if (state === this.runstate) return;
    // A change stamped with the event queue's time can come before the pCPU-local time at which
    // the current state began (a stop after the pCPU ran ahead in its round): it counts from
    // that instant, so no state gets a negative time (Xen's NOW() is monotonic per vCPU).
    const at = now > this.runstateEntry ? now : this.runstateEntry;
    this.runstateTime[Runstate[this.runstate]] += at - this.runstateEntry;
    this.runstate = state;
    this.runstateEntry = at;
  }

  /** Time spent in each runstate up to `now` (ns). */
  runstateTimes(now: number): { running: number; runnable: number; blocked: number; offline: number } {
    const t = Array.from(this.runstateTime);
    if (now > this.runstateEntry) t[Runstate[this.runstate]]! += now - this.runstateEntry;
    return { running: t[0]!, runnable: t[1]!, blocked: t[2]!, offline: t[3]! };
  }
}
