// Event delivery to a vCPU: the event upcall (Xen's vcpu_mark_events_pending: vcpu_info's
// evtchn_upcall_pending and the PL2 external-interrupt line), the guest's acknowledgement of it,
// and VIRQs through the event-channel component when there is one.
import { VcpuInfo } from '@tachyxx/abi';
import type { InterruptSink } from '../services.js';
import type { Host } from './host.js';
import type { Vcpu } from './vcpu.js';

const ONE = new Uint8Array([1]);

export class Upcalls {
  /** The VIRQ sink (the event-channel component), or null: VIRQs are then bare upcalls. */
  private interruptSink: InterruptSink | null = null;
  private readonly byte = new Uint8Array(1);

  constructor(private readonly host: Host) {}

  setInterruptSink(sink: InterruptSink): void {
    if (this.interruptSink) throw new Error('the host already has an interrupt sink (two event-channel components?)');
    this.interruptSink = sink;
  }

  /**
   * A VIRQ for `v`: Xen delivers it through the event channel bound to it; without an
   * event-channel component (or with the VIRQ unbound) it is the bare upcall.
   */
  deliverVirq(v: Vcpu, virq: number): void {
    if (!this.interruptSink?.deliverVirq(v, virq)) this.send(v);
  }

  /**
   * Raise the event upcall on `v` (Xen's vcpu_mark_events_pending): evtchn_upcall_pending in its
   * vcpu_info and the PL2 external-interrupt line; wakes it if it is blocked waiting for one.
   * Event-channel implementations call this (Host.sendUpcall) after marking a port pending.
   */
  send(v: Vcpu): void {
    const host = this.host;
    v.upcallPending = true;
    const vi = v.vcpuInfoGpa;
    if (vi) v.domain.access.write(vi + VcpuInfo.evtchn_upcall_pending.offset, ONE);
    if (v.loadedOn >= 0) {
      const cpu = host.pcpus[v.loadedOn]!.cpu;
      cpu.setInterruptPending(9, true);
      cpu.cycles += host.costs.virtualIrq;
    }
    else host.guest.setUpcall(v.ctx, true);
    if (v.blockKind === 'block' || host.guest.upcallEnabled(v.ctx, v.loadedOn >= 0 ? host.pcpus[v.loadedOn]!.cpu : null)) host.wakeVcpu(v);
  }

  /**
   * The guest acknowledges an upcall by clearing vcpu_info.evtchn_upcall_pending; the line
   * follows that flag whenever the hypervisor looks (block, poll, wfi, timer). Returns it.
   */
  sync(v: Vcpu): boolean {
    const vi = v.vcpuInfoGpa;
    if (!vi) return v.upcallPending;
    const b = this.byte;
    if (v.domain.access.read(vi + VcpuInfo.evtchn_upcall_pending.offset, b) < 0) return v.upcallPending;
    const pending = b[0] !== 0;
    if (!pending && v.upcallPending) {
      v.upcallPending = false;
      if (v.loadedOn >= 0) this.host.pcpus[v.loadedOn]!.cpu.setInterruptPending(9, false);
      else this.host.guest.setUpcall(v.ctx, false);
    }
    return v.upcallPending;
  }

  /** Could `v` take the upcall now (interrupts not masked)? Xen/Arm's local_events_need_delivery. */
  deliverable(v: Vcpu): boolean {
    return this.host.guest.upcallDeliverable(v.ctx, v.loadedOn >= 0 ? this.host.pcpus[v.loadedOn]!.cpu : null);
  }
}
