import { XsPersistence, XsSocketServer, Xenstored } from '@tachyxx/xenstore';
import { parse, UsageError } from '../usage.js';

export const XENSTORED_HELP = `Usage: tachyxx xenstored --socket PATH [--persist FILE]

Runs xenstored alone, in the foreground, serving dom0 clients on the Unix socket PATH (point
Xen's tools at it with XENSTORED_PATH=PATH, e.g. XENSTORED_PATH=PATH xenstore-ls). Every socket
client is dom0. Prints "xenstored listening on PATH" on stderr once ready; SIGINT or SIGTERM
stops it (exit status 0).

Options:
  --socket PATH    the Unix socket to listen on (a stale socket file is replaced)
  --persist FILE   keep the tree durably: every change is appended to FILE.wal and fsync'd
                   before it is acknowledged (the changes of one event-loop turn share one
                   fsync); the log is folded into the snapshot FILE (JSON) when it passes 4 MiB
                   and on exit. At start FILE is loaded and FILE.wal replayed (a torn last
                   record is cut off). FILE, FILE.wal and FILE.tmp are created mode 0600; their
                   directory must not be world-writable. Survives kill -9: whatever was
                   acknowledged is there after a restart.
  -h, --help       show this help

Exit status: 0 stopped by a signal; 1 could not listen, could not load or open FILE, or the log
could not be written (nothing is acknowledged after that); 2 bad usage.
`;

const HINT = 'tachyxx xenstored --help';

export async function xenstoredCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { socket: { type: 'string' }, persist: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, HINT);
  if (values.help) {
    process.stdout.write(XENSTORED_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, HINT);
  if (!values.socket) throw new UsageError('--socket PATH is required', HINT);
  const xs = new Xenstored();
  let persist: XsPersistence | undefined;
  const server = new XsSocketServer(xs);
  try {
    if (values.persist) {
      persist = new XsPersistence(xs, values.persist, {
        onFatal: () => {
          // Changes can no longer be made durable: stop rather than acknowledge them.
          process.exitCode = 1;
          void server.close().then(() => process.exit(1));
        },
      });
      persist.load();
      persist.start();
    }
    await server.listen(values.socket);
  } catch (e) {
    process.stderr.write(`tachyxx xenstored: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  process.stderr.write(`xenstored listening on ${values.socket}\n`);
  await new Promise<void>((res) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      res();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  persist?.stop();
  await server.close();
  return 0;
}
