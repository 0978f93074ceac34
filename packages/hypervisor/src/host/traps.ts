// PL1: traps from guests. PL0 firmware routes every trap from PL1-PL3 to the hypervisor except
// what the guest handles itself; here they are dispatched: ecall from PL2 (hypercalls), trapped
// wfi and sensitive instructions, stage-2 faults and everything else (the domain crashes).
// Hot path: onTrap and hypercall run per trap / per hypercall and allocate nothing.
import { Errno, ShutdownReason } from '@tachyxx/abi';
import { HYPERCALL, TRAP, type Counter } from '@tachyxx/core';
import { causeName, disassemble, setTrapRouting, type Cpu } from '@tachyxx/isa';
import { ARG_KIND_INT, ARG_KIND_UINT, HYPERCALL_CONTINUATION, HYPERCALL_SLOTS, type HypercallArgs, type HypercallBudgetSource, type HypercallTable } from '../hypercalls/table.js';
import type { HypervisorCosts } from '../plugin.js';
import type { Host } from './host.js';
import { hex64, REG, TWO32, type Pcpu } from './pcpu.js';
import type { Vcpu } from './vcpu.js';

const WFI = 0x10500073;
/** Exceptions the hypervisor lets PL2 handle itself (PL3 faults, illegal instructions, breakpoints). */
const GUEST_EXCEPTIONS = [0, 2, 3, 6, 8, 12, 13, 15];
const GUEST_INTERRUPTS = [1, 5, 9];
/** Everything from PL1-PL3 except ecall from PL0 goes (at least) to PL1. */
const TO_PL1_EXCEPTIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 15, 20, 21, 22, 23];
const TO_PL1_INTERRUPTS = [1, 2, 5, 6, 9, 10];
export const CSR = { p1status: 0x600, stvec: 0x105, p1epc: 0x641, p1tval: 0x643, p1tval2: 0x64b } as const;
const P1STATUS_TW = 1 << 21;
/** Longest simulated time one invocation of a preemptible hypercall works before it yields (ns). */
export const HYPERCALL_PREEMPT_NS = 100_000;

/** PL0 firmware of a pCPU: trap routing to PL1/PL2, wfi trapped (TW); the CPU starts at PL1. */
export function setUpFirmware(cpu: Cpu): void {
  // PL0 firmware hands every trap from PL1-PL3 to the hypervisor; the hypervisor passes guest
  // user faults and the guest's own interrupts straight to PL2, and traps wfi (TW).
  setTrapRouting(cpu, {
    toPl1Exceptions: TO_PL1_EXCEPTIONS, toPl1Interrupts: TO_PL1_INTERRUPTS,
    toPl2Exceptions: GUEST_EXCEPTIONS, toPl2Interrupts: GUEST_INTERRUPTS,
  });
  cpu.writeCsr(CSR.p1status, P1STATUS_TW, 0);
  cpu.level = 1;
}

/** Register `r` as an unsigned number (straight from the register file: no call per register). */
function regU(x: Int32Array, r: number): number {
  return (x[2 * r + 1]! >>> 0) * TWO32 + (x[2 * r]! >>> 0);
}

/**
 * Argument register `r` as a handler of kind `kind` takes it (HypercallTable's ARG_KIND_*): a C
 * `int`/`unsigned int` is the register's low half, exact whatever the upper half; else all 64 bits.
 */
function regArg(x: Int32Array, r: number, kind: number): number {
  return kind === ARG_KIND_INT ? x[2 * r]! : kind === ARG_KIND_UINT ? x[2 * r]! >>> 0 : regU(x, r);
}

/** The result of a hypercall into the guest's a0 (a small one without a division). */
function setA0(cpu: Cpu, ret: number): void {
  const x = cpu.x;
  if ((ret | 0) === ret) { x[2 * REG.a0] = ret; x[2 * REG.a0 + 1] = ret >> 31; } else cpu.setRegNumber(REG.a0, ret);
}

/** The hypercall number in a7 (the null hypercall's path: no call for the usual small one). */
function hypercallNr(cpu: Cpu): number {
  const x = cpu.x;
  return x[2 * REG.a7 + 1] === 0 && x[2 * REG.a7]! >= 0 ? x[2 * REG.a7]! : cpu.getReg(REG.a7);
}

export class TrapDispatch implements HypercallBudgetSource {
  /** End of the running pCPU's current slice (simulated ns): the run loop sets it. */
  sliceEnd = Infinity;
  private readonly hypercalls: HypercallTable<Vcpu>;
  /** The table's leafByNr (the fast path's one lookup). */
  private readonly leafByNr: Int32Array;
  private readonly costs: HypervisorCosts;
  private readonly freqHz: number;
  private readonly sampleEvery: number;
  private trapSampleLeft: number;
  private hypercallSampleLeft: number;
  /** One arguments object, refilled per call: handlers read it during the call only. */
  private readonly hcArgs: { -readonly [K in keyof HypercallArgs]: number } = { a0: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };
  private readonly insnBuf = new Uint8Array(4);
  /** The CPU of the call in progress and its time when the call started (hypercallBudgetCycles). */
  private callCpu: Cpu | null = null;
  /** Arguments read for the call in progress (hcArgs: the others are 0). */
  private argc = 0;
  private budgetCycles0 = 0;
  private budgetIdleNs0 = 0;

  constructor(private readonly host: Host, sampleEvery: number) {
    this.hypercalls = host.hypercalls;
    this.leafByNr = host.hypercalls.leafByNr;
    this.costs = host.costs;
    this.freqHz = host.freqHz;
    this.sampleEvery = sampleEvery;
    this.trapSampleLeft = sampleEvery;
    this.hypercallSampleLeft = sampleEvery;
  }

  /**
   * The pCPU's PL1 trap handler (a CsrTrapHandler: tval and epc are read from p1tval / p1epc
   * where they are needed, so the hypercall path boxes no number).
   */
  onTrap(p: Pcpu, cause: number, isInterrupt: boolean): void {
    const v = p.current;
    const slot = isInterrupt ? cause + 64 : cause;
    const counter = p.trapCounters[slot] ?? this.trapCounter(p, slot, cause, isInterrupt);
    counter.value++;
    p.traps++;
    const cpu = p.cpu;
    // The bus sees one trap in `sampleEvery` (weight = the period): a decrement on the hot path.
    if (--this.trapSampleLeft === 0) this.publishTrap(p, cause, isInterrupt);
    if (!v) throw new Error(`pCPU ${p.id}: ${causeName(cause, isInterrupt)} at ${hex64(cpu.readCsr(CSR.p1epc))} with no vCPU loaded (hypervisor bug)`);
    if (isInterrupt) {
      // PL1 interrupts are not used yet: return to the guest.
      cpu.returnFromTrap(1);
      return;
    }
    const host = this.host;
    if (cause === 9) return this.hypercall(p, v, hypercallNr(cpu)); // ecall from PL2
    const tval = cpu.readCsr(CSR.p1tval), epc = cpu.readCsr(CSR.p1epc);
    const key = causeName(cause, isInterrupt);
    switch (cause) {
      case 22: {
        if ((tval >>> 0) === WFI) {
          cpu.completeEmulated(1);
          host.upcalls.sync(v);
          if (!host.guest.interruptPendingEnabled(cpu)) host.blockVcpu(p, v);
          return;
        }
        // A sensitive instruction we do not emulate: reflect it into the guest, precisely.
        cpu.cycles += this.costs.emulation;
        if (cpu.readCsr(CSR.stvec) !== 0) return cpu.injectTrap(2, 22, tval, epc);
        cpu.stop('crash');
        return host.crashDomain(v.domain, `${v.name}: sensitive instruction ${hex64(tval >>> 0)} (${disassemble(tval | 0, epc)}) at pc ${hex64(epc)} and no PL2 trap vector`);
      }
      case 20: case 21: case 23: case 1: case 5: case 7: {
        const gpa = cpu.readCsr(CSR.p1tval2);
        cpu.stop('crash');
        if (epc === 0 && cause === 20 && cpu.readCsr(CSR.stvec) === 0) {
          // A trap delegated to a guest kernel without a trap vector lands at address 0: name
          // the original trap, as the bare firmware does.
          const scause = cpu.readCsr(0x142), sepc = cpu.readCsr(0x141);
          return host.crashDomain(v.domain, `${v.name}: ${causeName(scause)} (cause ${scause}) at pc ${hex64(sepc)} (${this.disasmGuest(v, sepc)}), stval ${hex64(cpu.readCsr(0x143))}, delegated to PL2 which has no trap vector (stvec = 0)`);
        }
        const what = cause >= 20 ? `stage-2 violation: ${key} at GPA ${hex64(gpa)}` : key;
        return host.crashDomain(v.domain, `${v.name}: ${what}, pc ${hex64(epc)}, tval ${hex64(tval)}`);
      }
      default:
        cpu.stop('crash');
        return host.crashDomain(v.domain, `${v.name}: unhandled ${key} (cause ${cause}) at pc ${hex64(epc)}, tval ${hex64(tval)}`);
    }
  }

  /**
   * The hypercall fast path (the pCPU's FastEcallHandler): a hypercall whose handler is a leaf
   * (HypercallTable.leafArgs: it touches no CPU or vCPU state) runs without the architectural trap
   * entry to PL1 and return, with everything onTrap and `hypercall` do for it: the trap counters,
   * the hypercall's count, costs, result, stop reasons, shutdown and continuation (Xen has its
   * fast paths too: hypercall-defs.c's priorities for the handlers called most). Declines
   * (false, nothing changed) with no vCPU loaded, on the trap the bus samples while it has TRAP
   * subscribers (publishTrap reads the trap CSRs), before the first ecall trap made its counter,
   * and for every other call.
   */
  fastHypercall(p: Pcpu): boolean {
    const v = p.current;
    const counter = p.trapCounters[9];
    if (v === null || counter === undefined) return false;
    // the trap the bus samples, when someone listens: published from the trap CSRs (publishTrap)
    if (this.trapSampleLeft === 1 && this.host.bus.hasSubscribers(TRAP)) return false;
    const cpu = p.cpu, x = cpu.x;
    const nr = x[2 * REG.a7]!;
    // a leaf's argument count and kinds (HypercallTable.leafByNr), -1 for any other number
    const leaf = x[2 * REG.a7 + 1] === 0 && (nr >>> 0) < HYPERCALL_SLOTS ? this.leafByNr[nr]! : -1;
    if (leaf < 0) return false;
    counter.value++;
    p.traps++;
    if (--this.trapSampleLeft === 0) this.trapSampleLeft = this.sampleEvery; // publishTrap, nobody listening
    cpu.fastEcallEntry();
    const ret = this.call(p, v, nr, leaf & 7, leaf >> 3);
    if ((v.domain.shutdownCode !== null || ret === HYPERCALL_CONTINUATION) && this.endedOrYielded(cpu, v, ret, true)) return true;
    setA0(cpu, ret);
    cpu.fastEcallReturn(true);
    if (p.reschedule) cpu.stop('reschedule');
    return true;
  }

  /** Hypercall `nr` of `v`, trapped to PL1. */
  private hypercall(p: Pcpu, v: Vcpu, nr: number): void {
    const cpu = p.cpu;
    const ret = this.call(p, v, nr, 6, this.hypercalls.argKinds(nr));
    if ((v.domain.shutdownCode !== null || ret === HYPERCALL_CONTINUATION) && this.endedOrYielded(cpu, v, ret, false)) return;
    setA0(cpu, ret);
    cpu.completeEmulated(1);
    if (p.reschedule) cpu.stop('reschedule');
  }

  /**
   * Runs hypercall `nr` of `v` with its first `argc` arguments (the others 0) and charges it:
   * its result. (Its end - the result in a0, the return to the guest - is the caller's.)
   */
  private call(p: Pcpu, v: Vcpu, nr: number, argc: number, kinds: number): number {
    const cpu = p.cpu;
    // Straight from the register file (the null hypercall's path: no call per register).
    const x = cpu.x;
    const hc = this.hypercalls;
    const args = argc === 6 ? this.readArgs6(x, kinds) : this.readArgs(x, argc, kinds);
    // The call's budget (hypercallBudgetCycles) from the time now, computed only when it asks.
    this.callCpu = cpu;
    this.budgetCycles0 = cpu.cycles;
    this.budgetIdleNs0 = cpu.idleNs;
    const ret = hc.dispatch(v, nr, args, this, true);
    cpu.cycles += this.costs.hypercall + hc.charged;
    if (--this.hypercallSampleLeft === 0) this.publishHypercall(p, v, nr, argc > 0 ? args.a0 : regU(x, REG.a0), ret);
    if (this.host.queue.nextDeadline() < this.sliceEnd) cpu.stop('event');
    return ret;
  }

  /**
   * HypercallBudgetSource: the work the call in progress may do before it yields: up to this
   * pCPU's next event (Xen: a pending softirq), at most HYPERCALL_PREEMPT_NS, from the time the
   * call started (cpu.timeNs() then, the same expression).
   */
  hypercallBudgetCycles(): number {
    const cpu = this.callCpu!;
    const now = this.budgetIdleNs0 + this.budgetCycles0 * (1e9 / cpu.freqHz);
    const budgetNs = Math.max(0, Math.min(this.sliceEnd - now, HYPERCALL_PREEMPT_NS));
    return budgetNs * this.freqHz / 1e9;
  }

  /**
   * After a call that shut its domain down (not for a suspend: the guest's call completes, the
   * CPU stops) or yielded (Xen's hypercall_create_continuation: new arguments in a0.., pc left
   * on the ecall; the guest runs the call again when it next runs, events and other pCPUs
   * first): true, the call's end done (`fast`: the fast path's). False otherwise (the caller
   * writes the result).
   */
  private endedOrYielded(cpu: Cpu, v: Vcpu, ret: number, fast: boolean): boolean {
    if (v.domain.shutdownCode !== null && v.domain.shutdownCode !== ShutdownReason.suspend) {
      if (fast) cpu.fastEcallReturn(true); else cpu.completeEmulated(1);
      cpu.stop('shutdown');
      return true;
    }
    const cont = this.hypercalls.continuation;
    if (ret !== HYPERCALL_CONTINUATION || !cont) return false;
    for (let i = 0; i < cont.length && i < 6; i++) cpu.setRegNumber(REG.a0 + i, cont[i]!);
    this.host.continuations++;
    if (fast) cpu.fastEcallReturn(false); else cpu.restartTrapped(1);
    cpu.stop('preempt');
    return true;
  }

  /** The call's six arguments from the registers into hcArgs (the trap path's). */
  // Each converted as the handler's C prototype takes it (`kinds`: HypercallTable.argKinds),
  // from the register halves: dispatch then finds nothing to convert.
  private readArgs6(x: Int32Array, kinds: number): HypercallArgs {
    const args = this.hcArgs;
    this.argc = 6;
    args.a0 = regArg(x, REG.a0, kinds & 3); args.a1 = regArg(x, REG.a1, (kinds >> 2) & 3); args.a2 = regArg(x, REG.a2, (kinds >> 4) & 3);
    args.a3 = regArg(x, REG.a3, (kinds >> 6) & 3); args.a4 = regArg(x, REG.a4, (kinds >> 8) & 3); args.a5 = regArg(x, REG.a5, (kinds >> 10) & 3);
    return args;
  }

  /** The call's first `argc` arguments from the registers into hcArgs, the others 0. */
  private readArgs(x: Int32Array, argc: number, kinds: number): HypercallArgs {
    const args = this.hcArgs;
    this.argc = argc;
    args.a0 = argc > 0 ? regArg(x, REG.a0, kinds & 3) : 0;
    args.a1 = argc > 1 ? regArg(x, REG.a1, (kinds >> 2) & 3) : 0;
    args.a2 = argc > 2 ? regArg(x, REG.a2, (kinds >> 4) & 3) : 0;
    args.a3 = argc > 3 ? regArg(x, REG.a3, (kinds >> 6) & 3) : 0;
    args.a4 = argc > 4 ? regArg(x, REG.a4, (kinds >> 8) & 3) : 0;
    args.a5 = argc > 5 ? regArg(x, REG.a5, (kinds >> 10) & 3) : 0;
    return args;
  }

  /** A handler threw (a hypervisor bug): Xen's domain_crash of the caller, never the host. */
  hypercallFailed(v: Vcpu, nr: number, name: string, a: HypercallArgs, e: unknown): number {
    // the call's own arguments (a multicall entry's are its own object): all six, as the trap
    // path reads them (a leaf left its registers as they were)
    if (a === this.hcArgs && this.argc < 6) this.readArgs(this.callCpu!.x, 6, 0);
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    this.host.log(`(XEN) d${v.domain.domid}: hypercall ${name} (${nr}) sub-op ${a.a0} args ${[a.a0, a.a1, a.a2, a.a3, a.a4, a.a5].map(hex64).join(' ')} failed: ${what}`);
    this.host.crashDomain(v.domain, `${v.name}: hypercall ${name} (${nr}) sub-op ${a.a0} failed in the hypervisor: ${what}`);
    return -Errno.EFAULT;
  }

  /** Disassembly of the guest instruction at guest-physical `gpa` (translation off). */
  private disasmGuest(v: Vcpu, gpa: number): string {
    const b = this.insnBuf;
    if (v.domain.access.read(gpa, b) < 0) return 'not in guest memory';
    return disassemble(b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24), gpa);
  }

  private trapCounter(p: Pcpu, slot: number, cause: number, isInterrupt: boolean): Counter {
    const c = p.stats.group('traps').counter(causeName(cause, isInterrupt), 'count', `traps into PL1 with ${isInterrupt ? 'interrupt' : 'exception'} cause ${cause}`);
    p.trapCounters[slot] = c;
    return c;
  }

  /** One trap in `sampleEvery` (tval / epc from p1tval / p1epc: onTrap runs right after the trap entry). */
  private publishTrap(p: Pcpu, cause: number, interrupt: boolean): void {
    this.trapSampleLeft = this.sampleEvery;
    const bus = this.host.bus;
    if (!bus.hasSubscribers(TRAP)) return;
    const v = p.current;
    const tval = p.cpu.readCsr(CSR.p1tval), epc = p.cpu.readCsr(CSR.p1epc);
    bus.publish(TRAP, {
      time: this.host.pcpuNow(p), pcpu: p.id, domid: v?.domain.domid ?? -1, vcpu: v?.id ?? -1, cause, interrupt,
      from: ((p.cpu.readCsr(CSR.p1status) >>> 11) & 3) as 0 | 1 | 2 | 3, to: 1, pc: epc, tval, weight: this.sampleEvery, // from: p1status.PPL (bits 12:11)
    });
  }

  private publishHypercall(p: Pcpu, v: Vcpu, op: number, cmd: number, result: number): void {
    this.hypercallSampleLeft = this.sampleEvery;
    const bus = this.host.bus;
    if (!bus.hasSubscribers(HYPERCALL)) return;
    bus.publish(HYPERCALL, { time: this.host.pcpuNow(p), pcpu: p.id, domid: v.domain.domid, vcpu: v.id, weight: this.sampleEvery, op, cmd, result, cycles: this.costs.hypercall });
  }
}
