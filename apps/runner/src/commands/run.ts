import { readFileSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { BareMachine, ISA_VARIANTS, ImageError, type RunResult } from '@tachyxx/isa';
import { intOption, parse, UsageError } from '../usage.js';

export const RUN_HELP = `Usage: tachyxx run --bare IMAGE [options]

Boot IMAGE (an ELF64 RISC-V static executable, boot ABI v1) on one pCPU of the Tachyxx CPU with
PL0 firmware serving the hypercalls console_io (write) and sched_op (shutdown); any other
hypercall returns -ENOSYS. Guest console bytes go to stdout and nothing else does.

Options:
  --bare IMAGE        the image to boot bare (no hypervisor)
  --memory MiB        guest RAM in MiB, at guest-physical 0x80000000 (default 256, max 4096);
                      RAM is sparse: untouched memory costs no host memory
  --isa VARIANT       CPU variant: ${ISA_VARIANTS.join(' | ')} (default tachy-v1)
  --max-insns N       stop after exactly N retired instructions (exit status 1)
  --stats FILE.json   write run statistics as JSON
  --trace FILE        write an instruction trace (pc, level, instruction, disassembly); slow
  --debug             print stack traces for internal errors
  -h, --help          show this help

Exit status: 0 the guest powered off; 1 it crashed, took a fatal trap, deadlocked, or hit
--max-insns (the reason is on stderr); 2 bad usage or a bad image.
`;

const HINT = 'tachyxx run --help';

export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      bare: { type: 'string' },
      memory: { type: 'string' },
      isa: { type: 'string' },
      'max-insns': { type: 'string' },
      stats: { type: 'string' },
      trace: { type: 'string' },
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
  const image = values.bare;
  if (!image) throw new UsageError('missing --bare IMAGE (the only run mode in this release)', HINT);
  const memoryMiB = intOption('memory', values.memory, 256, HINT, 1, 4096);
  const maxInsns = values['max-insns'] === undefined ? Infinity : intOption('max-insns', values['max-insns'], 0, HINT, 1);
  const variant = values.isa ?? 'tachy-v1';
  if (!(ISA_VARIANTS as readonly string[]).includes(variant)) {
    throw new UsageError(`--isa: unknown variant '${variant}' (known: ${ISA_VARIANTS.join(', ')})`, HINT);
  }

  let bytes: Uint8Array;
  try {
    bytes = readFileSync(image);
  } catch (e) {
    process.stderr.write(`tachyxx: ${image}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
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
    result = machine.run({ maxInsns });
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

/** Buffers guest console bytes and writes them to stdout in large chunks. */
function consoleSink() {
  const buf = Buffer.alloc(1 << 16);
  let n = 0;
  const flush = () => {
    if (n) writeAll(buf.subarray(0, n));
    n = 0;
  };
  const write = (bytes: Uint8Array) => {
    if (n + bytes.length > buf.length) flush();
    if (bytes.length > buf.length) writeAll(bytes);
    else {
      buf.set(bytes, n);
      n += bytes.length;
    }
  };
  return { write, flush };
}

/** writeSync to stdout, retrying on EAGAIN (stdout may be a non-blocking pipe). */
function writeAll(bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}
