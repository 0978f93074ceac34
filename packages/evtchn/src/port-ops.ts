// How an event becomes visible to a domain (Xen's struct evtchn_port_ops): the 2-level ABI's
// bitmaps in shared_info, the FIFO ABI's event words and queues (fifo.ts), or, for the dom0
// TypeScript side, a call of the endpoint's handler.
import { BITS_PER_EVTCHN_WORD, EVTCHN_2L_NR_CHANNELS, SharedInfo, VcpuInfo } from '@tachyxx/abi';
import type { Channel, EvtchnDomain } from './channel.js';

/** What the port ops need from the event-channel core. */
export interface Delivery {
  /** vcpu_mark_events_pending: raise the upcall on `d`'s vCPU `vcpuId`. */
  markEventsPending(d: EvtchnDomain, vcpuId: number): void;
  /** Wake vCPUs polling `port` (evtchn_check_pollers). */
  checkPollers(d: EvtchnDomain, port: number): void;
  /** A port of `d` became pending (stats). */
  delivered(d: EvtchnDomain): void;
  /** Dom0 side: run `ch.handler` (after the current operation). */
  runHandler(d: EvtchnDomain, ch: Channel): void;
}

export interface PortOps {
  readonly name: '2-level' | 'fifo' | 'dom0';
  /** Ports the ABI can address (max_evtchns). */
  readonly maxEvtchns: number;
  setPending(d: EvtchnDomain, vcpuId: number, ch: Channel): void;
  clearPending(d: EvtchnDomain, ch: Channel): void;
  unmask(d: EvtchnDomain, ch: Channel): void;
  isPending(d: EvtchnDomain, ch: Channel): boolean;
  isMasked(d: EvtchnDomain, ch: Channel): boolean;
  /** The port may not be reallocated yet (FIFO: still LINKED). */
  isBusy(d: EvtchnDomain, ch: Channel): boolean;
  /** Absent for ABIs without priorities (the hypercall gets -ENOSYS). */
  setPriority?(d: EvtchnDomain, ch: Channel, priority: number): number;
}

/** Test-and-set of bit `bit` of the byte at `gpa`: the old bit, or -1 when the byte is not accessible. */
export function guestTestAndSetBit(d: EvtchnDomain, gpa: number, bit: number): number {
  const acc = d.domain!.access;
  const b = acc.readU8(gpa);
  if (b < 0) return -1;
  const m = 1 << bit;
  if (!(b & m)) acc.writeU8(gpa, b | m);
  return b & m ? 1 : 0;
}
export function guestTestAndClearBit(d: EvtchnDomain, gpa: number, bit: number): number {
  const acc = d.domain!.access;
  const b = acc.readU8(gpa);
  if (b < 0) return -1;
  const m = 1 << bit;
  if (b & m) acc.writeU8(gpa, b & ~m);
  return b & m ? 1 : 0;
}
export function guestTestBit(d: EvtchnDomain, gpa: number, bit: number): boolean {
  const b = d.domain!.access.readU8(gpa);
  return b > 0 && (b & (1 << bit)) !== 0;
}

/**
 * The 2-level ABI: evtchn_pending[64] and evtchn_mask[64] (u64 words) in shared_info, and each
 * vCPU's evtchn_pending_sel (a bit per word) in its vcpu_info. Bit n of a little-endian u64 array
 * is bit (n & 7) of byte (n >> 3).
 */
export class TwoLevelOps implements PortOps {
  readonly name = '2-level' as const;
  readonly maxEvtchns = EVTCHN_2L_NR_CHANNELS;
  constructor(private readonly deliver: Delivery) {}

  private base(d: EvtchnDomain): number { return d.domain?.sharedInfoGpa ?? 0; }
  private pendingByte(d: EvtchnDomain, port: number): number { return this.base(d) + SharedInfo.evtchn_pending.offset + (port >>> 3); }
  private maskByte(d: EvtchnDomain, port: number): number { return this.base(d) + SharedInfo.evtchn_mask.offset + (port >>> 3); }
  /** The selector byte of `port` in the vCPU's vcpu_info (0 when it has none: not registered). */
  private selByte(d: EvtchnDomain, vcpuId: number, port: number): number {
    const vi = d.vcpu(vcpuId)?.vcpuInfoGpa ?? 0;
    if (!vi) return 0;
    const word = Math.floor(port / BITS_PER_EVTCHN_WORD);
    return vi + VcpuInfo.evtchn_pending_sel.offset + (word >>> 3);
  }
  private selBit(port: number): number { return Math.floor(port / BITS_PER_EVTCHN_WORD) & 7; }
  private ok(d: EvtchnDomain, port: number): boolean { return this.base(d) !== 0 && port < EVTCHN_2L_NR_CHANNELS; }

  /** Sets the selector bit of `port` on `vcpuId`; true when it was clear (the upcall must be raised). */
  private raiseSelector(d: EvtchnDomain, vcpuId: number, port: number): boolean {
    const sel = this.selByte(d, vcpuId, port);
    if (!sel) return true; // no vcpu_info yet (Xen's dummy_vcpu_info): the upcall alone
    return guestTestAndSetBit(d, sel, this.selBit(port)) === 0;
  }

  setPending(d: EvtchnDomain, vcpuId: number, ch: Channel): void {
    const port = ch.port;
    if (!this.ok(d, port)) return;
    if (guestTestAndSetBit(d, this.pendingByte(d, port), port & 7) !== 0) return;
    this.deliver.delivered(d);
    if (!guestTestBit(d, this.maskByte(d, port), port & 7) && this.raiseSelector(d, vcpuId, port)) {
      this.deliver.markEventsPending(d, vcpuId);
    }
    this.deliver.checkPollers(d, port);
  }

  clearPending(d: EvtchnDomain, ch: Channel): void {
    if (this.ok(d, ch.port)) guestTestAndClearBit(d, this.pendingByte(d, ch.port), ch.port & 7);
  }

  unmask(d: EvtchnDomain, ch: Channel): void {
    const port = ch.port;
    if (!this.ok(d, port)) return;
    if (guestTestAndClearBit(d, this.maskByte(d, port), port & 7) === 1 &&
        guestTestBit(d, this.pendingByte(d, port), port & 7) &&
        this.raiseSelector(d, ch.notifyVcpu, port)) {
      this.deliver.markEventsPending(d, ch.notifyVcpu);
    }
  }

  isPending(d: EvtchnDomain, ch: Channel): boolean {
    return this.ok(d, ch.port) && guestTestBit(d, this.pendingByte(d, ch.port), ch.port & 7);
  }

  isMasked(d: EvtchnDomain, ch: Channel): boolean {
    return !this.ok(d, ch.port) || guestTestBit(d, this.maskByte(d, ch.port), ch.port & 7);
  }

  isBusy(): boolean { return false; }
}

/**
 * The dom0 TypeScript side: an event runs the endpoint's handler (like a Xen-consumer channel's
 * notification function); with no handler yet it waits in `tsPending`.
 */
export class Dom0Ops implements PortOps {
  readonly name = 'dom0' as const;
  constructor(private readonly deliver: Delivery, readonly maxEvtchns: number) {}
  setPending(d: EvtchnDomain, _vcpuId: number, ch: Channel): void {
    if (ch.tsPending) return;
    ch.tsPending = true;
    this.deliver.delivered(d);
    if (ch.handler) this.deliver.runHandler(d, ch);
  }
  clearPending(_d: EvtchnDomain, ch: Channel): void { ch.tsPending = false; }
  unmask(d: EvtchnDomain, ch: Channel): void { if (ch.tsPending && ch.handler) this.deliver.runHandler(d, ch); }
  isPending(_d: EvtchnDomain, ch: Channel): boolean { return ch.tsPending; }
  isMasked(): boolean { return false; }
  isBusy(): boolean { return false; }
}
