// `--gdb`: serve the gdb remote protocol for a run (bare machine or the first domain) until the
// guest finishes or gdb kills it.
import { GdbServer, type GdbAddress, type SliceTarget } from '@tachyxx/gdbstub';

export interface GdbOptions {
  address: GdbAddress;
  /** Stop at the first instruction until gdb connects (--gdb-wait). */
  wait: boolean;
  /** --gdb-others run: other domains run while gdb holds the debugged one. */
  othersRun: boolean;
}

/**
 * Listen, announce the address on stderr, run the target (right away, or once gdb connects with
 * `wait`) and resolve when the guest finished (or was killed).
 */
export async function serveGdb(target: SliceTarget, o: GdbOptions): Promise<{ killed: boolean; message: string }> {
  const server = new GdbServer(target, { log: (l) => process.stderr.write(`tachyxx: ${l}\n`) });
  let where: string;
  try {
    where = await server.listen(o.address);
  } catch (e) {
    throw new Error(`--gdb: cannot listen on ${o.address.kind === 'unix' ? o.address.path : `${o.address.host}:${o.address.port}`}: ${(e as Error).message}`);
  }
  const remote = o.address.kind === 'unix' ? where : where.replace(/^127\.0\.0\.1:/, 'localhost:');
  process.stderr.write(`tachyxx: gdb stub listening: gdb-multiarch -ex 'target remote ${remote}' IMAGE${o.wait ? ' (waiting for gdb before the first instruction)' : ''}\n`);
  const finished = new Promise<{ killed: boolean; message: string }>((resolve) => {
    target.onFinished = (ev) => resolve({ killed: ev.code === 137 && ev.message === 'killed by gdb', message: ev.message });
  });
  if (!o.wait) target.runFree();
  const end = await finished;
  await server.close();
  return end;
}
