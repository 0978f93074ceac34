import { runCommand, RUN_HELP } from './commands/run.js';
import { UsageError } from './usage.js';
import { xenstoredCommand, XENSTORED_HELP } from './commands/xenstored.js';
import { hostCommand, HOST_HELP } from './commands/host.js';

export const VERSION = '0.1.0';

export const MAIN_HELP = `tachyxx ${VERSION} - a Xen-style hypervisor and the Tachyxx CPU, modelled in TypeScript

Usage: tachyxx <command> [options]

Commands:
  run      boot ELF images: bare under PL0 firmware (--bare), or as domains under the hypervisor (--domain)
  xenstored  run xenstored alone on a Unix socket (for Xen's xenstore-* tools)
  host     run the host daemon (dom0, xenstored, consoles) that xl talks to
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
        if (rest[0] === 'run') process.stdout.write(RUN_HELP);
        else if (rest[0] === 'xenstored') process.stdout.write(XENSTORED_HELP);
        else if (rest[0] === 'host') process.stdout.write(HOST_HELP);
        else process.stdout.write(MAIN_HELP);
        return 0;
      case 'run':
        return await runCommand(rest);
      case 'xenstored':
        return await xenstoredCommand(rest);
      case 'host':
        return await hostCommand(rest);
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
