// A real Host with event channels installed, paused guest domains, and a guest-side view of
// event_channel_op: argument structs are written into guest memory and dispatched as hypercall 32.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { join, resolve as resolvePath } from 'node:path';
import {
  DOMID_SELF, EVTCHN_FIFO_LINK_MASK, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindPirq, EvtchnBindVcpu, EvtchnBindVirq,
  EvtchnClose, EvtchnExpandArray, EvtchnFifoControlBlock, EvtchnInitControl, EvtchnOp, EvtchnReset, EvtchnSend,
  EvtchnSetPriority, EvtchnStatus, EvtchnUnmask, GUEST_RAM_BASE, Hypercall, SchedOp, SharedInfo, VcpuInfo, VcpuOp,
} from '@tachyxx/abi';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { installEventChannels, type EventChannels, type EvtchnVariant } from '@tachyxx/evtchn';

const ROOT = resolvePath(import.meta.dirname, '../../..');
export const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));
export { DOMID_SELF };

export function makeHost(variant: EvtchnVariant = 'fifo', maxEventChannels?: number) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: 1, memoryMiB: 256, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const out = new Map<string, string>();
  const host = new Host({
    container: buildContainer(config, reg),
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
  });
  const ev = installEventChannels(host, { variant, ...(maxEventChannels ? { maxEventChannels } : {}) });
  return { host, ev, out };
}

/** Guest-physical scratch addresses inside an 8 MiB domain (above hello's image). */
export const MIB = 1024 * 1024;
export const ARG = GUEST_RAM_BASE + 4 * MIB;
export const PAGE = 4096;
export const CB_GFN = (GUEST_RAM_BASE + 5 * MIB) / PAGE; // control blocks: CB_GFN + vcpu
export const ARRAY_GFN = (GUEST_RAM_BASE + 6 * MIB) / PAGE; // event array pages: ARRAY_GFN + i
/** Registered vcpu_infos of vCPUs > 0 (64 bytes apart). */
export const VCPU_INFO_GPA = GUEST_RAM_BASE + 7 * MIB;
/** An address that is not guest memory. */
export const BAD = 0x1000;

type Layout = { size: number } & Record<string, { offset: number; size: number } | number>;

/** One guest domain seen from inside: its hypercalls and its shared memory. */
export class Guest {
  constructor(readonly host: Host, readonly d: Domain<Vcpu>) {
    // As an Arm guest: vCPU 0 uses shared_info's one vcpu_info slot; every other vCPU registers
    // its own (VCPUOP_register_vcpu_info), here at VCPU_INFO_GPA + 64 * i.
    for (let i = 1; i < d.vcpus.length; i++) expect(this.registerVcpuInfo(i)).toBe(0);
    for (const v of d.vcpus) { v.upcallPending = false; if (v.vcpuInfoGpa) this.ackUpcall(v.id); }
  }
  /** VCPUOP_register_vcpu_info for vCPU `i` at VCPU_INFO_GPA + 64 * i (returns the hypercall's result). */
  registerVcpuInfo(i: number, gpa = VCPU_INFO_GPA + 64 * i): number {
    this.d.access.writeU64(ARG, Math.floor(gpa / PAGE));
    this.d.access.writeU32(ARG + 8, gpa % PAGE);
    this.d.access.writeU32(ARG + 12, 0);
    return this.host.hypercalls.dispatch(this.vcpu(i), Hypercall.vcpu_op, { a0: VcpuOp.register_vcpu_info, a1: i, a2: ARG, a3: 0, a4: 0, a5: 0 });
  }
  private vi(vcpu: number): number { return this.vcpu(vcpu).vcpuInfoGpa; }
  get domid() { return this.d.domid; }
  vcpu(i = 0): Vcpu { return this.d.vcpus[i]!; }

  /** Writes `fields` at `gpa` (zeroing the struct first) and issues event_channel_op(cmd, gpa). */
  call(cmd: number, layout: Layout, fields: Record<string, number>, gpa = ARG, vcpu = 0): number {
    if (gpa === ARG) {
      this.d.access.write(gpa, new Uint8Array(layout.size));
      for (const [k, v] of Object.entries(fields)) {
        const f = layout[k] as { offset: number; size: number };
        const a = gpa + f.offset;
        if (f.size === 1) this.d.access.writeU8(a, v);
        else if (f.size === 2) this.d.access.writeU16(a, v);
        else if (f.size === 4) this.d.access.writeU32(a, v >>> 0);
        else this.d.access.writeU64(a, v);
      }
    }
    return this.host.hypercalls.dispatch(this.vcpu(vcpu), Hypercall.event_channel_op, { a0: cmd, a1: gpa, a2: 0, a3: 0, a4: 0, a5: 0 });
  }
  out(layout: Layout, field: string, gpa = ARG): number {
    const f = layout[field] as { offset: number; size: number };
    const a = gpa + f.offset;
    return f.size === 1 ? this.d.access.readU8(a) : f.size === 2 ? this.d.access.readU16(a) : f.size === 4 ? this.d.access.readU32(a) : this.d.access.readU64(a);
  }
  private port(rc: number, layout: Layout, field: string): number { return rc < 0 ? rc : this.out(layout, field); }

  allocUnbound(dom: number, remote: number) { return this.port(this.call(EvtchnOp.alloc_unbound, EvtchnAllocUnbound, { dom, remote_dom: remote }), EvtchnAllocUnbound, 'port'); }
  bindInterdomain(remote: number, rport: number) {
    return this.port(this.call(EvtchnOp.bind_interdomain, EvtchnBindInterdomain, { remote_dom: remote, remote_port: rport }), EvtchnBindInterdomain, 'local_port');
  }
  bindVirq(virq: number, vcpu = 0) { return this.port(this.call(EvtchnOp.bind_virq, EvtchnBindVirq, { virq, vcpu }), EvtchnBindVirq, 'port'); }
  bindPirq(pirq: number) { return this.port(this.call(EvtchnOp.bind_pirq, EvtchnBindPirq, { pirq, flags: 0 }), EvtchnBindPirq, 'port'); }
  bindIpi(vcpu = 0) { return this.port(this.call(EvtchnOp.bind_ipi, EvtchnBindIpi, { vcpu }), EvtchnBindIpi, 'port'); }
  send(port: number, vcpu = 0) { return this.call(EvtchnOp.send, EvtchnSend, { port }, ARG, vcpu); }
  close(port: number) { return this.call(EvtchnOp.close, EvtchnClose, { port }); }
  unmask(port: number) { return this.call(EvtchnOp.unmask, EvtchnUnmask, { port }); }
  bindVcpu(port: number, vcpu: number) { return this.call(EvtchnOp.bind_vcpu, EvtchnBindVcpu, { port, vcpu }); }
  reset(dom = DOMID_SELF, cont = false) { return this.call(cont ? EvtchnOp.reset_cont : EvtchnOp.reset, EvtchnReset, { dom }); }
  setPriority(port: number, priority: number) { return this.call(EvtchnOp.set_priority, EvtchnSetPriority, { port, priority }); }
  initControl(vcpu: number, gfn = CB_GFN + vcpu, offset = 0) { return this.call(EvtchnOp.init_control, EvtchnInitControl, { control_gfn: gfn, offset, vcpu }); }
  expandArray(gfn: number) { return this.call(EvtchnOp.expand_array, EvtchnExpandArray, { array_gfn: gfn }); }
  status(dom: number, port: number) {
    const rc = this.call(EvtchnOp.status, EvtchnStatus, { dom, port });
    if (rc < 0) return rc;
    return {
      status: this.out(EvtchnStatus, 'status'), vcpu: this.out(EvtchnStatus, 'vcpu'),
      dom: this.out(EvtchnStatus, 'interdomain_dom'), port: this.out(EvtchnStatus, 'interdomain_port'), virq: this.out(EvtchnStatus, 'virq'), pirq: this.out(EvtchnStatus, 'pirq'),
    };
  }
  /** SCHEDOP_poll on `ports` (the port list at ARG + 256), timeout 0. */
  poll(ports: number[], vcpu = 0): number {
    const list = ARG + 256, s = ARG + 512;
    ports.forEach((p, i) => this.d.access.writeU32(list + 4 * i, p));
    this.d.access.write(s, new Uint8Array(24));
    this.d.access.writeU64(s, list);
    this.d.access.writeU32(s + 8, ports.length);
    return this.host.hypercalls.dispatch(this.vcpu(vcpu), Hypercall.sched_op, { a0: SchedOp.poll, a1: s, a2: 0, a3: 0, a4: 0, a5: 0 });
  }

  // ----- shared memory: 2-level -----
  private bit(base: number, n: number): boolean { return (this.d.access.readU8(base + (n >> 3)) & (1 << (n & 7))) !== 0; }
  private setBit(base: number, n: number, on: boolean) {
    const a = base + (n >> 3), b = this.d.access.readU8(a);
    this.d.access.writeU8(a, on ? b | (1 << (n & 7)) : b & ~(1 << (n & 7)));
  }
  pending2l(port: number) { return this.bit(this.d.sharedInfoGpa + SharedInfo.evtchn_pending.offset, port); }
  masked2l(port: number) { return this.bit(this.d.sharedInfoGpa + SharedInfo.evtchn_mask.offset, port); }
  setMask2l(port: number, on: boolean) { this.setBit(this.d.sharedInfoGpa + SharedInfo.evtchn_mask.offset, port, on); }
  clearPending2l(port: number) { this.setBit(this.d.sharedInfoGpa + SharedInfo.evtchn_pending.offset, port, false); }
  selector(vcpu: number, word: number) { return this.bit(this.vi(vcpu) + VcpuInfo.evtchn_pending_sel.offset, word); }
  upcallPending(vcpu = 0) { return this.d.access.readU8(this.vi(vcpu) + VcpuInfo.evtchn_upcall_pending.offset) === 1; }
  /** The guest acknowledges the upcall and its selectors (as its handler would). */
  ackUpcall(vcpu = 0) {
    this.d.access.writeU8(this.vi(vcpu) + VcpuInfo.evtchn_upcall_pending.offset, 0);
    this.d.access.writeU64(this.vi(vcpu) + VcpuInfo.evtchn_pending_sel.offset, 0);
    this.vcpu(vcpu).upcallPending = false;
  }
  sharedBitmaps(): Uint8Array {
    const b = new Uint8Array(1024);
    this.d.access.read(this.d.sharedInfoGpa + SharedInfo.evtchn_pending.offset, b);
    return b;
  }

  // ----- shared memory: FIFO -----
  word(port: number): number { return this.d.access.readU32(ARRAY_GFN * PAGE + port * 4); }
  setWord(port: number, w: number) { this.d.access.writeU32(ARRAY_GFN * PAGE + port * 4, w >>> 0); }
  ready(vcpu = 0) { return this.d.access.readU32((CB_GFN + vcpu) * PAGE + EvtchnFifoControlBlock.ready.offset); }
  head(vcpu: number, priority: number) { return this.d.access.readU32((CB_GFN + vcpu) * PAGE + EvtchnFifoControlBlock.head.offset + 4 * priority); }
  /** The guest consumes one event from queue `priority` (Linux's consume_one_event); returns its port or 0. */
  consume(vcpu: number, priority: number, local: { head: number[] }): number {
    let port = local.head[priority] ?? 0;
    if (!port) port = this.head(vcpu, priority);
    if (!port) return 0;
    const w = this.word(port);
    const next = w & EVTCHN_FIFO_LINK_MASK;
    if (!next) this.d.access.writeU32((CB_GFN + vcpu) * PAGE, this.ready(vcpu) & ~(1 << priority));
    local.head[priority] = next;
    // clear LINKED and PENDING (Linux: clear_linked then test_and_clear pending)
    this.setWord(port, (w & ~((1 << 29) | EVTCHN_FIFO_LINK_MASK) & ~(2 ** 31)) >>> 0);
    if (!next) this.d.access.writeU32((CB_GFN + vcpu) * PAGE + 8 + 4 * priority, 0);
    return port;
  }
}

export function makeGuests(variant: EvtchnVariant = 'fifo', n = 2, opts: { vcpus?: number; max?: number } = {}) {
  const { host, ev, out } = makeHost(variant, opts.max);
  const guests = Array.from({ length: n }, (_, i) => new Guest(host, host.createDomain({
    name: `g${i}`, image: image('hello'), memoryMiB: 8, vcpus: opts.vcpus ?? 2, paused: true,
  })));
  return { host, ev, out, guests };
}
