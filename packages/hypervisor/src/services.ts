// What the host offers the components plugged into it (event channels, grant tables, xenstored,
// the console daemon, later every device): the hypervisor's public side. Components depend on
// this interface, never on the Host class; the Host implements it. `HostComponent` is core's
// component contract bound to these services.
import type { EventBus, EventQueue, HostComponent as CoreHostComponent, SimClock, StatGroup } from '@tachyxx/core';
import { defineToken } from '@tachyxx/core';
import type { Domain } from './domain/domain.js';
import type { DomainTable } from './domain/domain-table.js';
import type { MachineMemory } from './memory/machine-memory.js';
import type { GuestAccess } from './memory/guest-access.js';
import type { HypercallHandler, HypercallRowOptions, HypercallTable } from './hypercalls/table.js';
import type { GrantFrameSpace } from './hypercalls/physmap.js';
import type { HypervisorCosts } from './plugin.js';
import type { Vcpu } from './host/vcpu.js';

/**
 * Where the hypervisor sends a virtual interrupt (VIRQ) of a vCPU: the event-channel component
 * delivers it through the port bound to it (Xen's send_guest_vcpu_virq). Returns true when
 * delivered; false (no sink, VIRQ unbound) leaves the bare upcall to the host.
 */
export interface InterruptSink {
  deliverVirq(v: Vcpu, virq: number): boolean;
}

/**
 * SCHEDOP_poll on ports (Xen's do_poll / evtchn_port_poll). Gets the poll's port array (already
 * range-checked); returns -errno (a bad port), 1 when a port is already pending (the poll returns
 * at once), or 0 to block. After 0 the provider wakes the vCPU (`wakeVcpu`) when one of the ports
 * becomes pending.
 */
export interface PollProvider {
  poll(v: Vcpu, portsGpa: number, nrPorts: number): number;
}

export interface HostServices {
  /** CPU clock (Hz). */
  readonly freqHz: number;
  /** Simulated time (the event queue's clock). */
  readonly clock: SimClock;
  readonly queue: EventQueue;
  readonly bus: EventBus;
  /** The root of the stats tree; components live at `host.<id>` (the assembly mounts `stats`). */
  readonly stats: StatGroup;
  /** The hypervisor's own costs (virtual-IRQ injection, hypercall, emulation). */
  readonly costs: Readonly<HypervisorCosts>;
  readonly machine: MachineMemory;
  readonly domains: DomainTable<Vcpu>;
  /** The hypercall table (dispatch, counts); register through `registerHypercall`. */
  readonly hypercalls: HypercallTable<Vcpu>;

  /**
   * Adds a hypercall handler (Xen's hypercall table row); a number registered twice throws.
   * `opts.leafArgs`: a leaf handler the host may run without the trap to PL1 (HypercallRowOptions).
   */
  registerHypercall(nr: number, handler: HypercallHandler<Vcpu>, name?: string, opts?: HypercallRowOptions): void;
  /** Installs the VIRQ sink (one per host: a second one throws). */
  setInterruptSink(sink: InterruptSink): void;
  /** Installs the SCHEDOP_poll provider (one per host: a second one throws). */
  setPollProvider(provider: PollProvider): void;
  /**
   * Installs the grant tables' frames for XENMAPSPACE_grant_table (add_to_physmap, Xen's
   * gnttab_map_frame; one per host: a second one throws). Without one that space is -ENOSYS.
   */
  setGrantFrameSpace(space: GrantFrameSpace): void;

  /** Called after a domain is built (before it is unpaused), in registration (attach) order. */
  onDomainCreated(hook: (d: Domain<Vcpu>) => void): void;
  /** Called when a domain is destroyed, before its memory is released. */
  onDomainDestroyed(hook: (d: Domain<Vcpu>) => void): void;
  /** Called whenever a vCPU is loaded on a pCPU and starts running (with that pCPU's time). */
  onVcpuRunning(hook: (v: Vcpu, now: number) => void): void;
  /**
   * Adds a wake source: work in flight outside the vCPUs (a device's completion event) that will
   * wake a vCPU by an upcall. While one returns true, a host whose vCPUs are all blocked without
   * timers is waiting for that work, not idle for good ("can never wake", docs/hypervisor.md).
   */
  addWakeSource(pending: () => boolean): void;
  /**
   * Simulated time cannot go on before `pending` settles: a device's completion event is due but
   * the host file I/O it delivers has not finished. Call it from that event's action after
   * `queue.holdBack(event)`: the host's run() returns 'io-wait' at once, and its caller awaits
   * `Host.ioSettled()` before running again (the held event then runs first, in its place).
   */
  waitForIo(pending: Promise<unknown>): void;

  /** Raises the event upcall on `v` (vcpu_mark_events_pending); wakes it if it waits for one. */
  sendUpcall(v: Vcpu): void;
  /** Makes a blocked vCPU runnable. */
  wakeVcpu(v: Vcpu): void;
  /** Charges `cycles` of work done for `v` (a component's cost) to the pCPU it is loaded on. */
  chargeCycles(v: Vcpu, cycles: number): void;
  /** The time `v` sees (its pCPU's own time while loaded). */
  nowFor(v: Vcpu): number;
  /** Guest-physical memory of `d` through its P2M (checked; never throws for guest input). */
  guestMemory(d: Domain<Vcpu>): GuestAccess;
  /** Guest console output of `d` (console_io, a PV console ring): the host's console sink + the bus. */
  consoleOutput(d: Domain<Vcpu>, bytes: Uint8Array): void;
  /** A host log line (Xen's console, `xl dmesg`). */
  log(line: string): void;
}

/** A component of a hypervisor host. */
export type HostComponent = CoreHostComponent<HostServices>;

/** The assembled host's services, bound in its container by `assembleHost`. */
export const HOST_SERVICES = defineToken<HostServices>('hypervisor.HostServices');
