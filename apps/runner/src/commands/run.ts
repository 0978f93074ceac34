import { writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { readImageFileSync } from '@tachyxx/toolstack/image-file';
import { ToolstackError } from '@tachyxx/toolstack/protocol';
import { ConfigError, resolve } from '@tachyxx/core';
import { BareMachine, ISA_CPU_FACTORY, ISA_VARIANTS, ImageError, type RunResult } from '@tachyxx/isa';
import { MMU_FACTORY } from '@tachyxx/mmu';
import { DirectMsiRemapper, msiToMemory, PCIE_FACTORY, PolledTimer } from '@tachyxx/pcie';
import { hostContainer } from '../host-config.js';
import { intOption, parse, UsageError } from '../usage.js';
// run-domains (the hypervisor and its components) loads only for --domain.
import { catchSignals, consoleSink, signalStatus, stdoutGone } from '../console.js';

/** Instructions per run slice of a bare run (between two checks for signals and a closed stdout). */
const BARE_SLICE_INSNS = 20_000_000;
// The gdb stub loads only with --gdb: a plain run starts faster without it.
import type { GdbAddress } from '@tachyxx/gdbstub';

export const RUN_HELP = `Usage: tachyxx run --bare IMAGE [options]
       tachyxx run --domain IMAGE [--domain IMAGE ...] [options]

--bare boots IMAGE (an ELF64 RISC-V static executable, boot ABI v1) on one pCPU of the Tachyxx
CPU with PL0 firmware serving the hypercalls console_io (write) and sched_op (shutdown); any
other hypercall returns -ENOSYS. The host's PCIe topology (components.pcie.topology; by default
one root port with the edu test device) is enumerated by the firmware and reachable from PL2:
ECAM at 0x400000000, BARs in [0x40000000, 0x80000000); MSIs land in RAM where they point.

--domain runs IMAGE as a domU under the Tachyxx hypervisor (2-stage translation, credit
scheduler, Xen hypercalls); give it several times for several domains. With more than one
domain each console line is prefixed by the domain's name; a domain that crashes is reported
on stderr and the others run on.

Guest console bytes go to stdout and nothing else does.

Options:
  --bare IMAGE        the image to boot bare (no hypervisor)
  --domain IMAGE      an image to run as a domain (repeatable)
  --memory MiB        guest RAM in MiB, at guest-physical 0x80000000 (default 256, max 4096);
                      with --domain: each domain's memory (default 64)
  --vcpus N           vCPUs per domain (default 1)
  --host FILE         host config (YAML): pCPUs, memory, NUMA, plugin variants, costs
                      (see docs/plugins.md); command-line options override it
  --isa VARIANT       CPU variant: ${ISA_VARIANTS.join(' | ')} (default tachy-v1)
  --max-insns N       stop after exactly N retired instructions (exit status 1)
  --stats FILE.json   write run statistics as JSON
  --trace FILE        write an instruction trace (pc, level, instruction, disassembly); slow
  --trace-events FILE with --domain: write a Chrome trace-event JSON of the run (open it in
                      ui.perfetto.dev or chrome://tracing): a track per pCPU with the vCPU on
                      it, traps and hypercalls (1 in 16, weighted), event-channel sends, TLB
                      misses; same config and images give the same file
  --gdb [HOST:]PORT   serve the gdb remote protocol on TCP (host default 127.0.0.1; port 0
                      picks one) or --gdb unix:PATH; with --domain gdb debugs the first domain,
                      each of its vCPUs a thread (see "Debugging a guest" in the README)
  --gdb-wait          stop at the first instruction until gdb connects
  --gdb-others MODE   with --domain: while gdb holds the domain the other domains 'stop'
                      (default, all-stop) or 'run'
  --debug             print stack traces for internal errors
  -h, --help          show this help

RAM is sparse: untouched memory costs no host memory.

Exit status: 0 the guest (every domain) powered off; 1 a guest crashed, took a fatal trap,
deadlocked, or --max-insns was hit (the reason is on stderr); 2 bad usage, a bad config or a
bad image.
`;

const HINT = 'tachyxx run --help';

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      bare: { type: 'string' },
      domain: { type: 'string', multiple: true },
      vcpus: { type: 'string' },
      host: { type: 'string' },
      memory: { type: 'string' },
      isa: { type: 'string' },
      'max-insns': { type: 'string' },
      stats: { type: 'string' },
      trace: { type: 'string' },
      'trace-events': { type: 'string' },
      gdb: { type: 'string' },
      'gdb-wait': { type: 'boolean' },
      'gdb-others': { type: 'string' },
      debug: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    HINT,
  );
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, HINT);
  const image: string | undefined = values.bare;
  const domains = values.domain ?? [];
  if (image && domains.length) throw new UsageError('give either --bare IMAGE or --domain IMAGE, not both', HINT);
  if (!image && !domains.length) throw new UsageError('missing --bare IMAGE or --domain IMAGE', HINT);
  const maxInsns = values['max-insns'] === undefined ? Infinity : intOption('max-insns', values['max-insns'], 0, HINT, 1);
  const variant = values.isa ?? 'tachy-v1';
  if (!(ISA_VARIANTS as readonly string[]).includes(variant)) {
    throw new UsageError(`--isa: unknown variant '${variant}' (known: ${ISA_VARIANTS.join(', ')})`, HINT);
  }
  let gdb: GdbAddress | undefined;
  if (values.gdb !== undefined) {
    const { parseGdbAddress } = await import('@tachyxx/gdbstub');
    try { gdb = parseGdbAddress(values.gdb); } catch (e) { throw new UsageError((e as Error).message, HINT); }
  } else if (values['gdb-wait'] || values['gdb-others'] !== undefined) {
    throw new UsageError(`--${values['gdb-wait'] ? 'gdb-wait' : 'gdb-others'} needs --gdb`, HINT);
  }
  const others = values['gdb-others'] ?? 'stop';
  if (others !== 'stop' && others !== 'run') throw new UsageError(`--gdb-others: '${others}' is not 'stop' or 'run'`, HINT);
  if (others === 'run' && !domains.length) throw new UsageError('--gdb-others applies to --domain only', HINT);
  if (gdb && values.trace) throw new UsageError('--gdb and --trace cannot be combined', HINT);
  const gdbOpts = gdb ? { address: gdb, wait: values['gdb-wait'] === true, othersRun: others === 'run' } : undefined;
  if (domains.length) {
    const { runDomains } = await import('./run-domains.js');
    return runDomains({
      gdb: gdbOpts,
      images: domains,
      memoryMiB: intOption('memory', values.memory, 64, HINT, 1, 4096),
      vcpus: intOption('vcpus', values.vcpus, 1, HINT, 1, 32),
      hostFile: values.host,
      variant: values.isa,
      maxInsns,
      stats: values.stats,
      traceEvents: values['trace-events'],
    });
  }
  if (values['trace-events'] !== undefined) throw new UsageError('--trace-events applies to --domain only (a bare run has no hypervisor bus)', HINT);
  if (values.vcpus !== undefined) throw new UsageError('--vcpus applies to --domain only', HINT);
  const memoryMiB = intOption('memory', values.memory, 256, HINT, 1, 4096);
  let host;
  try {
    host = hostContainer(values.host, { isa: variant });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const cpuFactory = resolve(host.container, ISA_CPU_FACTORY);
  const mmuFactory = resolve(host.container, MMU_FACTORY);
  const pcieFactory = resolve(host.container, PCIE_FACTORY);

  let bytes: Uint8Array;
  try {
    // A regular file no larger than guest RAM (never /dev/zero or a FIFO).
    bytes = readImageFileSync(image!, 'image', memoryMiB * 1024 * 1024);
  } catch (e) {
    if (!(e instanceof ToolstackError)) throw e;
    process.stderr.write(`tachyxx: ${e.message.replace(/^image /, '')}\n`);
    return 2;
  }

  let traceFd = -1;
  const out = consoleSink();
  let machine: BareMachine;
  try {
    machine = new BareMachine({
      image: bytes,
      file: image,
      memoryMiB,
      variant,
      cpuFactory,
      attach: (cpu, memory) => {
        cpu.attachMmu(mmuFactory.create(memory, 0, cpu));
        // The host's PCIe topology, enumerated by the firmware (BARs assigned, bridges open) as
        // platform firmware does before it starts a kernel: ECAM and the BARs are reachable from
        // PL2. No interrupt controller yet: MSIs land in RAM where their address points.
        const timer = new PolledTimer(() => cpu.timeNs(), 1000 / host.config.cpu.freqMHz);
        pcieFactory.create(memory, timer, { remapper: () => new DirectMsiRemapper(msiToMemory(memory)) }).enumerate();
      },
      console: out.write,
      trace: values.trace
        ? (line: string) => {
            if (traceFd < 0) traceFd = openSync(values.trace!, 'w');
            writeSync(traceFd, line);
          }
        : undefined,
    });
  } catch (e) {
    if (e instanceof ImageError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  const wallStart = performance.now();
  let result: RunResult;
  try {
    if (gdbOpts) {
      const [{ BareTarget }, { serveGdb }] = await Promise.all([import('@tachyxx/gdbstub'), import('./gdb.js')]);
      const target = new BareTarget(machine, { maxInsns });
      const end = await serveGdb(target, gdbOpts);
      if (end.killed) return 1;
      result = machine.exit ?? { reason: 'insn-limit', code: -1, message: end.message };
    } else {
      // In slices with a turn of the event loop between them, as run --domain does: a signal or a
      // reader that went away stops the run with every console byte flushed.
      const sig = catchSignals();
      try {
        for (;;) {
          const r = machine.runSlice(BARE_SLICE_INSNS, maxInsns);
          if (r !== 'budget' && r !== 'debug') {
            result = r;
            break;
          }
          out.tick();
          await new Promise((res) => setImmediate(res));
          if (sig.signal() || stdoutGone()) {
            out.flush();
            if (stdoutGone()) return signalStatus('SIGPIPE');
            process.stderr.write(`tachyxx: stopped by ${sig.signal()}\n`);
            return signalStatus(sig.signal()!);
          }
        }
      } finally {
        sig.done();
      }
    }
  } finally {
    out.flush();
    if (traceFd >= 0) closeSync(traceFd);
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;

  if (values.stats) {
    writeFileSync(values.stats, JSON.stringify(machine.stats(wallSeconds), null, 2) + '\n');
  }
  if (result.reason !== 'poweroff') process.stderr.write(`tachyxx: ${result.message}\n`);
  return result.reason === 'poweroff' ? 0 : 1;
}

