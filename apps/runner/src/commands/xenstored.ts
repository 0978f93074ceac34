import { XsPersistence, XsSocketServer, Xenstored } from '@tachyxx/xenstore';
import { parse, UsageError } from '../usage.js';

export const XENSTORED_HELP = `Usage: tachyxx xenstored --socket PATH [--persist FILE]

Runs xenstored alone, in the foreground, serving dom0 clients on the Unix socket PATH (point
Xen's tools at it with XENSTORED_PATH=PATH, e.g. XENSTORED_PATH=PATH xenstore-ls). Every socket
client is dom0. Prints "xenstored listening on PATH" on stderr once ready; SIGINT or SIGTERM
stops it (exit status 0).

Options:
  --socket PATH    the Unix socket to listen on (a stale socket file is replaced)
  --persist FILE   keep the tree in FILE (JSON): loaded at start, saved after changes and on exit
  -h, --help       show this help

Exit status: 0 stopped by a signal; 1 could not listen or load FILE; 2 bad usage.
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
      persist = new XsPersistence(xs, values.persist);
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
