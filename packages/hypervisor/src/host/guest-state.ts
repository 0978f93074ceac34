// Reading and setting a vCPU's saved architectural state (isa's VcpuContext) the way the
// hypervisor needs it: entry point, the upcall line, and whether a timer or an interrupt can
// wake a blocked vCPU.
import type { Cpu, VcpuContext } from '@tachyxx/isa';
import type { Domain } from '../domain/domain.js';

const TWO32 = 4294967296;
const SIE_STIE = 1 << 5;
const SIE_SEIE = 1 << 9;
const CSR_SSTATUS = 0x100, CSR_SIE = 0x104, CSR_SIP = 0x144;
const SSTATUS_SIE = 1 << 1;
const REG = { sp: 2, a0: 10, a1: 11 } as const;

export class GuestState {
  /** A fresh vCPU of `d`: PL2, translation off, stage 2 = the domain's P2M tagged with its VMID. */
  init(ctx: VcpuContext, d: Domain<unknown>): void {
    ctx.level = 2;
    if (d.p2m) {
      const g = d.p2m.p1gatp(d.vmid);
      ctx.p1gatpLo = g.lo;
      ctx.p1gatpHi = g.hi;
    } else {
      // Stage 2 off (dom0 style), still tagged with the VMID.
      ctx.p1gatpLo = 0;
      ctx.p1gatpHi = (d.vmid & 0x3fff) << 12;
    }
  }

  /** Boot ABI v1 entry: pc, sp, a0 (vCPU id), a1 (start_info), satp. Other GPRs 0. */
  setEntry(ctx: VcpuContext, pc: number, sp: number, a0: number, a1: number, satp = 0): void {
    ctx.x.fill(0);
    const set = (r: number, n: number) => { ctx.x[2 * r] = n | 0; ctx.x[2 * r + 1] = Math.floor(n / TWO32) | 0; };
    set(REG.sp, sp);
    set(REG.a0, a0);
    set(REG.a1, a1);
    ctx.pcLo = pc | 0;
    ctx.pcHi = Math.floor(pc / TWO32) | 0;
    ctx.level = 2;
    ctx.satpLo = satp | 0;
    ctx.satpHi = Math.floor(satp / TWO32) | 0;
  }

  /**
   * VCPUOP_initialise: pc, sp, a0, a1, satp as exact 64-bit values, (lo, hi) halves in `words`.
   * Other GPRs 0, PL2.
   */
  setEntryWords(ctx: VcpuContext, words: Int32Array): void {
    ctx.x.fill(0);
    ctx.pcLo = words[0]! | 0; ctx.pcHi = words[1]! | 0;
    ctx.x[2 * REG.sp] = words[2]!; ctx.x[2 * REG.sp + 1] = words[3]!;
    ctx.x[2 * REG.a0] = words[4]!; ctx.x[2 * REG.a0 + 1] = words[5]!;
    ctx.x[2 * REG.a1] = words[6]!; ctx.x[2 * REG.a1 + 1] = words[7]!;
    ctx.satpLo = words[8]! | 0; ctx.satpHi = words[9]! | 0;
    ctx.level = 2;
  }

  setUpcall(ctx: VcpuContext, on: boolean): void { ctx.seip = on; }

  /** A loaded vCPU has an interrupt pending and enabled in sie (wfi's wake condition). */
  interruptPendingEnabled(cpu: Cpu): boolean {
    return (cpu.readCsrLo(CSR_SIP) & cpu.readCsrLo(CSR_SIE)) !== 0;
  }

  timerInterruptEnabled(ctx: VcpuContext): boolean { return (ctx.sie & SIE_STIE) !== 0; }

  upcallEnabled(ctx: VcpuContext, loadedOn: Cpu | null): boolean {
    const sie = loadedOn ? loadedOn.readCsrLo(CSR_SIE) : ctx.sie;
    return (sie & SIE_SEIE) !== 0;
  }

  /**
   * The guest can take the upcall now: PL2 interrupts on (sstatus.SIE) and the external
   * interrupt enabled (sie.SEIE) - Tachyxx's counterpart of Arm's vcpu_event_delivery_is_enabled
   * (PSTATE.I clear), and how an Arm-layout guest masks its upcall (vcpu_info has no
   * evtchn_upcall_mask).
   */
  upcallDeliverable(ctx: VcpuContext, loadedOn: Cpu | null): boolean {
    const sstatus = loadedOn ? loadedOn.readCsrLo(CSR_SSTATUS) : ctx.sstatus;
    const sie = loadedOn ? loadedOn.readCsrLo(CSR_SIE) : ctx.sie;
    return (sstatus & SSTATUS_SIE) !== 0 && (sie & SIE_SEIE) !== 0;
  }

  /** Host time (ns) at which the guest's stimecmp fires, or Infinity when it is not armed. */
  timerDeadlineNs(ctx: VcpuContext): number {
    if (ctx.stimecmpHi === -1 && ctx.stimecmpLo === -1) return Infinity;
    const cmp = (ctx.stimecmpHi >>> 0) * TWO32 + (ctx.stimecmpLo >>> 0);
    const delta = ctx.p1timedeltaHi * TWO32 + (ctx.p1timedeltaLo >>> 0);
    return Math.max(0, cmp - delta);
  }
}
