// Memory ops: mem-set (the balloon target, memory/target) and mem-max (memory/static-max).
import { domainPath } from '@tachyxx/xenstore';
import { ToolstackError } from '../protocol.js';
import { MAX_MEMKB, parseMemKb } from '../units.js';
import type { Toolstack } from '../toolstack.js';
import { op, type OpArgs, type OpTable } from './types.js';

function memOp(which: 'mem-set' | 'mem-max') {
  return (ts: Toolstack, a: OpArgs): unknown => {
    const domid = ts.records.domainArg(a);
    const kb = a.memkb !== undefined ? Number(a.memkb) : parseMemKb(a.mem);
    const given = String(a.memkb ?? a.mem).slice(0, 32);
    if (!Number.isSafeInteger(kb) || kb <= 0) throw new ToolstackError('EINVAL', `${which}: invalid memory size '${given}'`);
    if (kb > MAX_MEMKB) throw new ToolstackError('EINVAL', `${which}: memory size '${given}' is out of range (at most ${MAX_MEMKB} KiB)`);
    const info = domid === 0 ? ts.dom0Info : ts.records.rec(domid);
    const dom = domainPath(domid);
    if (which === 'mem-set') {
      if (kb > info.maxMemkb) throw new ToolstackError('EINVAL', `memory_dynamic_max must be less than or equal to memory_static_max (target ${kb} KiB > maxmem ${info.maxMemkb} KiB)`);
      info.targetMemkb = kb;
      ts.xsc.write(`${dom}/memory/target`, String(kb));
      return { domid, targetMemkb: kb };
    }
    if (kb < info.targetMemkb) throw new ToolstackError('EINVAL', `memory_static_max must be greater than or equal to memory_dynamic_max (maxmem ${kb} KiB < target ${info.targetMemkb} KiB)`);
    const d = domid === 0 ? ts.dom0 : ts.records.rec(domid).d;
    const pages = Math.ceil(kb / 4);
    if (pages < d.totPages) throw new ToolstackError('EINVAL', `mem-max: ${kb} KiB is below the ${d.totPages * 4} KiB the domain has`);
    d.maxPages = pages;
    info.maxMemkb = kb;
    ts.xsc.write(`${dom}/memory/static-max`, String(kb));
    return { domid, maxMemkb: kb };
  };
}

export const MEMORY_OPS: OpTable<'mem-set' | 'mem-max'> = {
  'mem-set': op('mem-set', memOp('mem-set')),
  'mem-max': op('mem-max', memOp('mem-max')),
};
