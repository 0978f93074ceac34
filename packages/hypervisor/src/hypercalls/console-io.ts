// console_io (hypercall 18): CONSOLEIO_write, the guest's console output (Xen's do_console_io;
// CONSOLEIO_read is not modelled: -ENOSYS, as any other sub-op).
import { CONSOLEIO_write, Errno } from '@tachyxx/abi';
import type { Domain } from '../domain/domain.js';
import type { HypercallTable } from './table.js';

export interface ConsoleIoContext<V> {
  readonly hypercalls: HypercallTable<V>;
  /** Cycles per KiB copied from the guest (host config `hypervisor.copyPerKiB`). */
  readonly copyPerKiB: number;
  /** One page-sized buffer the copy goes through: the guest chooses `count`, not our allocation. */
  readonly chunk: Uint8Array;
  output(d: Domain<V>, bytes: Uint8Array): void;
}

export function consoleIo<V>(ctx: ConsoleIoContext<V>, d: Domain<V>, cmd: number, count: number, buf: number): number {
  if (cmd !== CONSOLEIO_write) return -Errno.ENOSYS;
  if (count > 0x7fffffff) return -Errno.EINVAL;
  if (count === 0) return 0;
  if (!d.access.checkRange(buf, count, false)) return -Errno.EFAULT;
  const { chunk, hypercalls } = ctx;
  for (let done = 0; done < count;) {
    // Xen's guest_console_write: preemptible between chunks; the continuation carries the
    // rest (CONSOLEIO_write, count - done, buffer + done), so the last invocation's result is
    // the bytes of the rest.
    if (done > 0 && hypercalls.preemptCheck()) return hypercalls.createContinuation(CONSOLEIO_write, count - done, buf + done);
    const n = Math.min(chunk.length, count - done);
    hypercalls.charge(ctx.copyPerKiB * n / 1024);
    const view = chunk.subarray(0, n);
    if (d.access.read(buf + done, view) < 0) return done ? done : -Errno.EFAULT;
    ctx.output(d, view);
    done += n;
  }
  return count;
}
