// Debug ops: debug-attach, debug-detach (a gdb stub for one domain in the daemon, debugger.ts).
import { ToolstackError } from '../protocol.js';
import { op, type OpTable } from './types.js';

export const DEBUG_OPS: OpTable<'debug-attach' | 'debug-detach'> = {
  'debug-attach': op('debug-attach', (ts, a) => {
    const domid = ts.records.domainArg(a);
    if (typeof a.listen !== 'string') throw new ToolstackError('EINVAL', 'listen: an address is required (127.0.0.1:PORT or unix:PATH)');
    return ts.debug.attach(domid, a.listen, a.othersRun === true);
  }),
  'debug-detach': op('debug-detach', (ts, a) => ts.debug.detach(ts.records.domainArg(a))),
};
