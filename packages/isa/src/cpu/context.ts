// vCPU context save / load (the hypervisor's world switch): the plain-data VcpuContext and the
// copy in / out of the CPU's state (registers, the PL2 bank, p1timedelta / p1gatp / satp through
// the MMU hooks, SSIP / SEIP). Allocation-free; one VcpuContext per vCPU.

import { IRQ_VISIBLE, SST_WMASK, ST_PPL, ST_PPL_SHIFT } from './csr.js';
import { R64 } from './state.js';
import { pushTranslationRegs, syncMmuStats } from './softmmu.js';
import { r64Set, recomputeTimer, setLevel } from './priv.js';
import type { Cpu } from './cpu.js';

/**
 * One vCPU's architectural state while it is not loaded on a CPU (for the hypervisor's world
 * switch): plain data, allocated once per vCPU with createVcpuContext(); saveContext/loadContext
 * copy into / out of it without allocating. 64-bit CSRs are int32 halves (Lo = bits 31:0).
 */
export interface VcpuContext {
  /** x0..x31: x[2i] = low half, x[2i+1] = high half (x0 is ignored on load). */
  readonly x: Int32Array;
  pcLo: number;
  pcHi: number;
  /** Privilege level the vCPU runs at: 2 (kernel) or 3 (user). */
  level: number;
  // ---- PL2 bank ----
  sstatus: number;
  sie: number;
  scounteren: number;
  stvecLo: number; stvecHi: number;
  sscratchLo: number; sscratchHi: number;
  sepcLo: number; sepcHi: number;
  scauseLo: number; scauseHi: number;
  stvalLo: number; stvalHi: number;
  stimecmpLo: number; stimecmpHi: number;
  satpLo: number; satpHi: number;
  /** sip.SSIP (bit 1) as written by software. */
  ssip: boolean;
  // ---- per-vCPU PL1 state the hypervisor owns ----
  p1timedeltaLo: number; p1timedeltaHi: number;
  p1gatpLo: number; p1gatpHi: number;
  /** The virtual PL2 external-interrupt line (code 9, setInterruptPending(9, on)): the event-channel upcall. */
  seip: boolean;
  /** Pending bit 9 as written by software through p1ip / mip (PL1 injecting a PL2 external interrupt). */
  seipSoft: boolean;
}

/** A fresh vCPU context: all registers 0, pc 0, PL2, stimecmp = all ones (no timer), translation off. */
export function createVcpuContext(): VcpuContext {
  return {
    x: new Int32Array(64), pcLo: 0, pcHi: 0, level: 2,
    sstatus: 0, sie: 0, scounteren: 0,
    stvecLo: 0, stvecHi: 0, sscratchLo: 0, sscratchHi: 0, sepcLo: 0, sepcHi: 0,
    scauseLo: 0, scauseHi: 0, stvalLo: 0, stvalHi: 0, stimecmpLo: -1, stimecmpHi: -1,
    satpLo: 0, satpHi: 0, ssip: false,
    p1timedeltaLo: 0, p1timedeltaHi: 0, p1gatpLo: 0, p1gatpHi: 0, seip: false, seipSoft: false,
  };
}

/**
 * Copy the loaded vCPU's state into `ctx`. At PL2/PL3 pc and level are the live ones; from a
 * PL1 (PL0) trap handler they are the trapped guest's: p1epc and p1status.PPL (mepc, mstatus.PPL).
 */
export function saveContext(c: Cpu, ctx: VcpuContext): void {
  syncMmuStats(c);
  let level = c.lvl, lo = c.pcLo, hi = c.pcHi;
  if (level <= 1) {
    const e = level === 0 ? R64.mepc : R64.p1epc;
    level = ((level === 0 ? c.mstatus : c.p1status) & ST_PPL) >>> ST_PPL_SHIFT;
    lo = c.r64[2 * e]!; hi = c.r64[2 * e + 1]!;
  }
  if (level < 2) throw new Error(`saveContext: no vCPU is loaded (level PL${level})`);
  ctx.x.set(c.x);
  ctx.pcLo = lo; ctx.pcHi = hi; ctx.level = level;
  ctx.sstatus = c.sstatus; ctx.sie = c.sie; ctx.scounteren = c.scounteren;
  const r = c.r64;
  ctx.stvecLo = r[2 * R64.stvec]!; ctx.stvecHi = r[2 * R64.stvec + 1]!;
  ctx.sscratchLo = r[2 * R64.sscratch]!; ctx.sscratchHi = r[2 * R64.sscratch + 1]!;
  ctx.sepcLo = r[2 * R64.sepc]!; ctx.sepcHi = r[2 * R64.sepc + 1]!;
  ctx.scauseLo = r[2 * R64.scause]!; ctx.scauseHi = r[2 * R64.scause + 1]!;
  ctx.stvalLo = r[2 * R64.stval]!; ctx.stvalHi = r[2 * R64.stval + 1]!;
  ctx.stimecmpLo = r[2 * R64.stimecmp]!; ctx.stimecmpHi = r[2 * R64.stimecmp + 1]!;
  ctx.satpLo = r[2 * R64.satp]!; ctx.satpHi = r[2 * R64.satp + 1]!;
  ctx.p1timedeltaLo = r[2 * R64.p1timedelta]!; ctx.p1timedeltaHi = r[2 * R64.p1timedelta + 1]!;
  ctx.p1gatpLo = r[2 * R64.p1gatp]!; ctx.p1gatpHi = r[2 * R64.p1gatp + 1]!;
  ctx.ssip = (c.ipSoft & (1 << 1)) !== 0;
  ctx.seip = (c.ipLines & (1 << 9)) !== 0;
  ctx.seipSoft = (c.ipSoft & (1 << 9)) !== 0;
}

/**
 * Make `ctx` the loaded vCPU (a world switch): registers, the PL2 bank, p1timedelta, p1gatp
 * and satp (through the MMU hooks, so VMID/ASID tagging and untagged flushes apply), the SSIP /
 * SEIP bits. At PL2/PL3 pc and level change now; from a PL1 (PL0) trap handler they go to
 * p1epc and p1status.PPL (mepc, mstatus.PPL), so the handler's returnFromTrap enters the loaded
 * vCPU. Clears the LR
 * reservation and a wfi stall, recomputes timer and interrupt state and charges
 * `cost.worldSwitch` cycles. WARL rules apply to every field.
 */
export function loadContext(c: Cpu, ctx: VcpuContext): void {
  if (ctx.level !== 2 && ctx.level !== 3) throw new RangeError(`loadContext: level must be 2 or 3, got ${ctx.level}`);
  syncMmuStats(c);
  c.x.set(ctx.x);
  c.x[0] = 0; c.x[1] = 0;
  c.sstatus = ctx.sstatus & SST_WMASK;
  c.sie = ctx.sie & IRQ_VISIBLE[2];
  c.scounteren = ctx.scounteren & 7;
  r64Set(c, R64.stvec, ctx.stvecLo & ~2, ctx.stvecHi);
  r64Set(c, R64.sscratch, ctx.sscratchLo, ctx.sscratchHi);
  r64Set(c, R64.sepc, ctx.sepcLo & ~3, ctx.sepcHi);
  r64Set(c, R64.scause, ctx.scauseLo, ctx.scauseHi);
  r64Set(c, R64.stval, ctx.stvalLo, ctx.stvalHi);
  r64Set(c, R64.stimecmp, ctx.stimecmpLo, ctx.stimecmpHi);
  r64Set(c, R64.p1timedelta, ctx.p1timedeltaLo, ctx.p1timedeltaHi);
  c.ipSoft = (c.ipSoft & ~((1 << 1) | (1 << 9))) | (ctx.ssip ? 1 << 1 : 0) | (ctx.seipSoft ? 1 << 9 : 0);
  c.ipLines = (c.ipLines & ~(1 << 9)) | (ctx.seip ? 1 << 9 : 0);
  c.mmuCtl?.writeSstatus(c.sstatus);
  pushTranslationRegs(c, ctx.p1gatpLo, ctx.p1gatpHi, ctx.satpLo, ctx.satpHi);
  if (c.lvl === 1) {
    r64Set(c, R64.p1epc, ctx.pcLo & ~3, ctx.pcHi);
    c.p1status = (c.p1status & ~ST_PPL) | (ctx.level << ST_PPL_SHIFT);
  } else if (c.lvl === 0) {
    r64Set(c, R64.mepc, ctx.pcLo & ~3, ctx.pcHi);
    c.mstatus = (c.mstatus & ~ST_PPL) | (ctx.level << ST_PPL_SHIFT);
  } else {
    c.setPcParts(ctx.pcLo, ctx.pcHi);
    setLevel(c, ctx.level);
  }
  c.resValid = false;
  c.waiting = false;
  c.linkEpoch++;
  c.cycles += c.cost.worldSwitch;
  c.stip = false;
  recomputeTimer(c);
  c.irqDirty = true;
}
