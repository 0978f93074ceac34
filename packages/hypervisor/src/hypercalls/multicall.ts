// multicall (hypercall 13) as Xen's do_multicall (xen/common/multicall.c) with Arm's
// arch_do_multicall_call: each entry is dispatched through the same hypercall table (the same
// argument checks and errnos as a direct call); op >= 64 is -ENOSYS in its result; a multicall
// inside a multicall is -EINVAL ("reentry is disallowed"). Preemptible: before each entry but the
// first it asks preemptCheck() and yields with a continuation (list advanced, count reduced); an
// entry that itself yields has its continuation arguments written back into the entry's args
// and the multicall resumes at it, as Xen's xlat_multicall_entry + "goto preempted". A list
// that cannot be read, or a result that cannot be written, is -EFAULT.
import { Errno, MulticallEntry } from '@tachyxx/abi';
import { HYPERCALL_CONTINUATION, type HypercallArgs, type HypercallTable } from './table.js';
import type { Domain } from '../domain/domain.js';

const TWO32 = 4294967296;
const entry = new Uint8Array(MulticallEntry.size);
const ev = new DataView(entry.buffer);
const u64 = (off: number) => ev.getUint32(off, true) + ev.getUint32(off + 4, true) * TWO32;
const args: { -readonly [K in keyof HypercallArgs]: number } = { a0: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };

export function multicall<V extends { domain: Domain<any> }>(table: HypercallTable<V>, v: V, list: number, nrArg: number): number {
  if (table.nested) return -Errno.EINVAL;
  const acc = v.domain.access;
  const nr = nrArg % TWO32;
  for (let i = 0; i < nr; i++) {
    const at = list + i * MulticallEntry.size;
    if (i > 0 && table.preemptCheck()) return table.createContinuation(at, nr - i);
    if (acc.read(at, entry) < 0) return -Errno.EFAULT;
    const op = u64(MulticallEntry.op.offset);
    let result: number;
    if (op >= 64) result = -Errno.ENOSYS;
    else {
      const a = MulticallEntry.args.offset;
      args.a0 = u64(a); args.a1 = u64(a + 8); args.a2 = u64(a + 16); args.a3 = u64(a + 24); args.a4 = u64(a + 32); args.a5 = u64(a + 40);
      result = table.dispatchNested(v, op, args);
      const cont = table.continuation;
      if (result === HYPERCALL_CONTINUATION && cont) {
        // The entry's own continuation: its new arguments go back into the entry, and the
        // multicall is re-executed from it.
        for (let k = 0; k < cont.length && k < 6; k++) putU64(MulticallEntry.args.offset + 8 * k, cont[k]!);
        if (acc.write(at, entry) < 0) return -Errno.EFAULT;
        return table.createContinuation(at, nr - i);
      }
    }
    putU64(MulticallEntry.result.offset, result);
    if (acc.write(at + MulticallEntry.result.offset, entry.subarray(MulticallEntry.result.offset, MulticallEntry.result.offset + 8)) < 0) return -Errno.EFAULT;
  }
  return 0;
}

/** A result or argument as a 64-bit register would hold it (negative = two's complement). */
function putU64(off: number, n: number): void {
  ev.setUint32(off, n >>> 0, true);
  ev.setUint32(off + 4, n < 0 ? (Math.floor(n / TWO32) >>> 0) : Math.floor(n / TWO32) >>> 0, true);
}
