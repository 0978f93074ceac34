import { UsageError } from './usage.js';

// Each command's module (and what it imports: the toolstack, xenstored, the sweep engine) loads
// only when that command runs, so `tachyxx run` starts as fast as it can.
const COMMANDS = {
  run: async () => { const m = await import('./commands/run.js'); return { run: m.runCommand, help: m.RUN_HELP }; },
  xenstored: async () => { const m = await import('./commands/xenstored.js'); return { run: m.xenstoredCommand, help: m.XENSTORED_HELP }; },
  host: async () => { const m = await import('./commands/host.js'); return { run: m.hostCommand, help: m.HOST_HELP }; },
  sweep: async () => { const m = await import('./commands/sweep.js'); return { run: m.sweepCommand, help: m.SWEEP_HELP }; },
  worker: async () => { const m = await import('./commands/worker.js'); return { run: m.workerCommand, help: m.WORKER_HELP }; },
  lspci: async () => { const m = await import('./commands/lspci.js'); return { run: m.lspciCommand, help: m.LSPCI_HELP }; },
} as const;
const isCommand = (c: string | undefined): c is keyof typeof COMMANDS => c !== undefined && Object.hasOwn(COMMANDS, c);

export const VERSION = '0.1.0';

export const MAIN_HELP = `tachyxx ${VERSION} - a Xen-style hypervisor and the Tachyxx CPU, modelled in TypeScript

Usage: tachyxx <command> [options]

Commands:
  run      boot ELF images: bare under PL0 firmware (--bare), or as domains under the hypervisor (--domain)
  xenstored  run xenstored alone on a Unix socket (for Xen's xenstore-* tools)
  host     run the host daemon (dom0, xenstored, consoles) that xl talks to
  sweep    compare hardware variants across many runs (locally or on a queue)
  worker   take sweep runs from a queue (on any machine)
  lspci    print the PCIe config space of a host's topology (lspci -xxxx format)
  help     show help for a command

Options:
  -h, --help     show this help
  -V, --version  print the version

Run 'tachyxx <command> --help' for a command's options.
Exit status: 0 poweroff, 1 crash / fatal trap / instruction limit, 2 bad usage or bad image.
`;

/** Runs the CLI and returns the process exit status. Never calls process.exit (stdout must drain). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
        process.stdout.write(MAIN_HELP);
        return cmd === undefined ? 2 : 0;
      case '-V':
      case '--version':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case 'help':
        process.stdout.write(isCommand(rest[0]) ? (await COMMANDS[rest[0]]()).help : MAIN_HELP);
        return 0;
      case 'run':
      case 'xenstored':
      case 'host':
      case 'sweep':
      case 'worker':
      case 'lspci':
        return await (await COMMANDS[cmd]()).run(rest);
      default:
        throw new UsageError(`unknown command '${cmd}'`, 'tachyxx --help');
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`tachyxx: ${e.message}\nTry '${e.helpHint}'.\n`);
      return 2;
    }
    throw e;
  }
}
