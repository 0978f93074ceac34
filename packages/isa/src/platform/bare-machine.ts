// A bare Tachyxx machine: one hart, guest RAM at 0x8000_0000, and PL0 firmware (modelled in
// TypeScript) that serves boot ABI v1 — console_io write and sched_op shutdown; every other
// hypercall gets -ENOSYS. The same image later runs as a domain under the hypervisor, with the
// same observable behaviour (docs/abi.md).
import {
  CONSOLEIO_write, Errno, GUEST_RAM_BASE, Hypercall, PAGE_SIZE, SchedOp,
  ShutdownReason, hypercallName, shutdownReasonName,
} from '@tachyxx/abi';
import { Cpu, DEFAULT_TLB_ENTRIES, PhysMemory, engineAreaBytes, resolveEngine, type EngineChoice, type IsaVariant } from '../cpu/index.js';
import { parseElf } from '../elf.js';
import { ImageError } from '../image-error.js';
import { disassemble } from '../disasm.js';
import type { CpuFactory } from '../plugin.js';
import { encodeStartInfo } from './start-info.js';
import { causeName, PL2_DELEGATED_EXCEPTIONS, PL2_DELEGATED_INTERRUPTS, setTrapRouting } from './causes.js';

export interface BareMachineOptions {
  image: Uint8Array;
  /** Image file name, for error messages. */
  file?: string;
  memoryMiB?: number;
  variant?: IsaVariant | string;
  /** Receives guest console bytes (a view valid only during the call). */
  console: (bytes: Uint8Array) => void;
  /** Kernel command line written to start_info. */
  cmdline?: string;
  /** When set, every executed instruction is reported as one text line (slow path). */
  trace?: (line: string) => void;
  /**
   * Execution engine when no cpuFactory is given (default 'js'); with a factory, the factory's
   * engine. 'wasm' puts the RAM in a WebAssembly.Memory with room for the hart's engine area.
   */
  engine?: EngineChoice;
  /** Builds the hart (the isa plugin's factory, carrying the configured variant and costs). */
  cpuFactory?: CpuFactory;
  /** Called once the hart exists, e.g. to attach an MMU (`cpu.attachMmu(...)`) for stage-1 paging. */
  attach?: (cpu: Cpu, memory: PhysMemory) => void;
}

export type ExitReason =
  | 'poweroff' | 'reboot' | 'suspend' | 'crash' | 'watchdog' | 'soft_reset'
  | 'fatal-trap' | 'insn-limit' | 'deadlock';

export interface RunResult {
  reason: ExitReason;
  /** Shutdown reason code for guest shutdowns, else -1. */
  code: number;
  /** One line for stderr. */
  message: string;
}

const CSR = { mstatus: 0x300, medeleg: 0x302, mideleg: 0x303, mcounteren: 0x306, p1edeleg: 0x602, p1ideleg: 0x603, p1counteren: 0x606, stvec: 0x105, scause: 0x142, sepc: 0x141, stval: 0x143 } as const;
const REG = { sp: 2, a0: 10, a1: 11, a2: 12, a7: 17 } as const;
const hex = (n: number) => `0x${n.toString(16)}`;

export class BareMachine {
  readonly memory: PhysMemory;
  readonly cpu: Cpu;
  readonly startInfoAddr: number;
  private readonly hypercalls = new Map<string, number>();
  private result: RunResult | undefined;

  constructor(private readonly opts: BareMachineOptions) {
    const memoryBytes = (opts.memoryMiB ?? 256) * 1024 * 1024;
    const file = opts.file ?? 'image';
    const elf = parseElf(opts.image, { file, ramBase: GUEST_RAM_BASE, ramSize: memoryBytes });
    const engine = resolveEngine(opts.cpuFactory ? opts.cpuFactory.engine : opts.engine, memoryBytes, 1);
    this.memory = new PhysMemory({ base: GUEST_RAM_BASE, size: memoryBytes, engineArea: engine === 'wasm' ? engineAreaBytes(DEFAULT_TLB_ENTRIES) : 0 });
    for (const seg of elf.segments) this.memory.writeBytes(seg.paddr, seg.data);

    // start_info goes on the first page after the image (Xen PV puts it after the kernel too).
    const ramEnd = GUEST_RAM_BASE + memoryBytes;
    this.startInfoAddr = Math.ceil(elf.imageEnd / PAGE_SIZE) * PAGE_SIZE;
    if (this.startInfoAddr + PAGE_SIZE > ramEnd) {
      throw new ImageError(file, `image ends at ${hex(elf.imageEnd)}, leaving no page for start_info below the end of RAM at ${hex(ramEnd)} (use a larger --memory)`);
    }
    this.writeStartInfo(memoryBytes / PAGE_SIZE, opts.cmdline ?? '');

    this.cpu = opts.cpuFactory
      ? opts.cpuFactory.create(this.memory, 0)
      : new Cpu(this.memory, { variant: opts.variant ?? 'tachy-v1', hartId: 0, engine });
    const cpu = this.cpu;
    opts.attach?.(cpu, this.memory);
    // Firmware set-up: PL3 faults and PL2 interrupts go straight to PL2 (both delegation
    // levels); hypercalls and sensitive instructions come to the firmware.
    setTrapRouting(cpu, {
      toPl1Exceptions: PL2_DELEGATED_EXCEPTIONS, toPl1Interrupts: PL2_DELEGATED_INTERRUPTS,
      toPl2Exceptions: PL2_DELEGATED_EXCEPTIONS, toPl2Interrupts: PL2_DELEGATED_INTERRUPTS,
    });
    cpu.setTrapHandler(0, (c, code, isInterrupt, tval, epc) => this.onTrap(c, code, isInterrupt, tval, epc));
    if (opts.trace) {
      const trace = opts.trace;
      cpu.setTrace((pc, insn, level) => trace(`${pc.toString(16).padStart(16, '0')} PL${level} ${(insn >>> 0).toString(16).padStart(8, '0')}  ${disassemble(insn, pc)}\n`));
    }

    cpu.setRegNumber(REG.a0, 0);
    cpu.setRegNumber(REG.a1, this.startInfoAddr);
    cpu.setRegNumber(REG.sp, ramEnd);
    cpu.pc = elf.entry;
    cpu.level = 2;
  }

  /** Runs until the guest shuts down, takes a fatal trap, deadlocks, or retires maxInsns. */
  run({ maxInsns = Infinity }: { maxInsns?: number } = {}): RunResult {
    for (;;) {
      const r = this.runSlice(Infinity, maxInsns);
      if (r !== 'debug' && r !== 'budget') return r;
    }
  }

  /** The exit result once the guest is done (shut down, fatal trap, deadlock, limit), else undefined. */
  get exit(): RunResult | undefined { return this.result; }

  /**
   * Runs at most `sliceInsns` more instructions (a debugger runs the machine in slices so it can
   * take an interrupt request between them): returns the exit result, 'budget' when the slice
   * ended, or 'debug' when the CPU stopped for a debugger event (cpu.debugEvent).
   */
  runSlice(sliceInsns: number, maxInsns = Infinity): RunResult | 'budget' | 'debug' {
    const cpu = this.cpu;
    const sliceEnd = cpu.instret + sliceInsns;
    while (!this.result) {
      const remaining = maxInsns - cpu.instret;
      if (remaining <= 0) {
        this.result = { reason: 'insn-limit', code: -1, message: `stopped after --max-insns ${maxInsns} instructions at pc ${hex(cpu.pc)}` };
        break;
      }
      const slice = sliceEnd - cpu.instret;
      if (slice <= 0) return 'budget';
      const why = cpu.run(Math.min(remaining, slice, 1e9));
      if (why === 'idle') this.idle();
      else if (why === 'deadlock') this.deadlock();
      else if (why === 'debug') return 'debug';
      // 'budget': loop and check the limit; 'stopped': a handler set this.result.
    }
    return this.result;
  }

  /** The hart is stalled in wfi: advance time to its wake-up, or report the deadlock. */
  idle(): void {
    const wake = this.cpu.nextWakeNs();
    if (wake === Infinity) this.deadlock();
    else this.cpu.idleUntil(wake);
  }

  private deadlock() {
    this.result = {
      reason: 'deadlock', code: -1,
      message: `deadlock: wfi at pc ${hex(this.cpu.pc)} with no interrupt that can ever wake the hart (no timer armed, no enabled source)`,
    };
  }

  /** The --stats JSON (see README): wallSeconds is the only field that varies between runs. */
  stats(wallSeconds: number) {
    const cpu = this.cpu;
    const traps: Record<string, number> = {};
    for (const [code, n] of cpu.stats.exceptions.entries()) if (n) traps[causeName(code)] = n;
    for (const [code, n] of cpu.stats.interrupts.entries()) if (n) traps[causeName(code, true)] = n;
    return {
      instructions: cpu.instret,
      simCycles: cpu.cycles,
      simNs: cpu.timeNs(),
      wallSeconds,
      mips: wallSeconds > 0 ? cpu.instret / wallSeconds / 1e6 : 0,
      exit: { reason: this.result?.reason ?? 'running', code: this.result?.code ?? -1 },
      traps,
      hypercalls: Object.fromEntries([...this.hypercalls].sort()),
      isa: { variant: cpu.variant, ...cpu.engineStats() },
    };
  }

  private writeStartInfo(nrPages: number, cmdline: string) {
    this.memory.writeBytes(this.startInfoAddr, encodeStartInfo({ nrPages, cmdline }));
  }


  private onTrap(cpu: Cpu, code: number, isInterrupt: boolean, tval: number, epc: number): void {
    if (!isInterrupt && code === 9) return this.hypercall(cpu);
    if (!isInterrupt && code === 22) {
      // A sensitive instruction the firmware does not emulate: reflect it to PL2, precisely.
      if (cpu.readCsr(CSR.stvec) !== 0) return cpu.injectTrap(2, 22, tval, epc);
    }
    this.fatal(cpu, code, isInterrupt, tval, epc);
  }

  private fatal(cpu: Cpu, code: number, isInterrupt: boolean, tval: number, epc: number) {
    const from = (cpu.readCsr(CSR.mstatus) >>> 11) & 3;
    let msg = `fatal trap: ${causeName(code, isInterrupt)} (cause ${code}) at PL${from}, pc ${hex(epc)}`;
    if (!isInterrupt) msg += ` (${this.disasmAt(epc)}), tval ${hex(tval)}`;
    // A PL2 trap vector of 0 turns the first delegated trap into a fetch fault at 0: say what
    // the original trap was.
    const stvec = cpu.readCsr(CSR.stvec);
    if (!isInterrupt && code === 1 && epc === 0 && stvec === 0) {
      const scause = cpu.readCsr(CSR.scause), sepc = cpu.readCsr(CSR.sepc);
      msg = `fatal trap: ${causeName(scause)} (cause ${scause}) at pc ${hex(sepc)} (${this.disasmAt(sepc)}), stval ${hex(cpu.readCsr(CSR.stval))}, delegated to PL2 which has no trap vector (stvec = 0)`;
    } else if (!isInterrupt && code === 22) {
      msg += ' — sensitive instruction at PL2 and PL2 has no trap vector (stvec = 0)';
    }
    this.result = { reason: 'fatal-trap', code: -1, message: msg };
    cpu.stop();
  }

  private disasmAt(pc: number): string {
    if (!this.memory.contains(pc, 4)) return 'not in RAM';
    return disassemble(this.memory.readU32(pc), pc);
  }

  private hypercall(cpu: Cpu): void {
    const nr = cpu.getReg(REG.a7);
    const name = hypercallName(nr);
    this.hypercalls.set(name, (this.hypercalls.get(name) ?? 0) + 1);
    let ret: number;
    switch (nr) {
      case Hypercall.console_io:
        ret = this.consoleIo(cpu);
        break;
      case Hypercall.sched_op:
        ret = this.schedOp(cpu);
        if (this.result) return; // the guest shut down: nothing returns to it
        break;
      default:
        ret = -Errno.ENOSYS;
    }
    cpu.setRegNumber(REG.a0, ret);
    cpu.completeEmulated(0);
  }

  private consoleIo(cpu: Cpu): number {
    const cmd = cpu.getReg(REG.a0);
    if (cmd !== CONSOLEIO_write) return -Errno.ENOSYS;
    const count = cpu.getReg(REG.a1), buf = cpu.getReg(REG.a2);
    if (count < 0 || !Number.isSafeInteger(count)) return -Errno.EINVAL;
    if (count === 0) return 0;
    if (!this.memory.contains(buf, count)) return -Errno.EFAULT;
    this.opts.console(this.memory.readBytes(buf, count));
    return count;
  }

  private schedOp(cpu: Cpu): number {
    const cmd = cpu.getReg(REG.a0);
    if (cmd !== SchedOp.shutdown) return -Errno.ENOSYS;
    const arg = cpu.getReg(REG.a1);
    if (!this.memory.contains(arg, 4)) return -Errno.EFAULT;
    const reason = this.memory.readU32(arg);
    if (reason > ShutdownReason.soft_reset) return -Errno.EINVAL;
    const name = shutdownReasonName(reason) as ExitReason;
    this.result = {
      reason: name, code: reason,
      message: reason === ShutdownReason.poweroff ? 'guest powered off' : `guest shut down: ${name} (SHUTDOWN_${name} = ${reason})`,
    };
    // The shutdown hypercall completes (the guest does not run again).
    cpu.completeEmulated(0);
    cpu.stop();
    return 0;
  }
}
