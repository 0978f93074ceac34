// Console and event-stream ops: console, console-input, events, detach, dmesg.
import { TOOLSTACK_EVENT } from '../assembly.js';
import { OPS, ToolstackError } from '../protocol.js';
import { op, type OpTable } from './types.js';

export const CONSOLE_OPS: OpTable<'console' | 'console-input' | 'events' | 'detach' | 'dmesg'> = {
  console: op('console', (ts, a, ctx, id) => {
    const domid = ts.records.domainArg(a);
    const replay = a.replay !== false;
    // Dom0's console is the hypervisor's: the host log.
    if (domid === 0) return ts.consoles.attachHostLog(ctx, id, replay);
    const r = ts.records.rec(domid);
    if (r.d.shutdownCode !== null && r.handled) throw new ToolstackError('EINVAL', `domain ${domid} has shut down: no console to attach to`);
    return ts.consoles.attach(r, ctx, id, replay);
  }),
  /** Typed bytes for a domain's PV console ring (xenconsoled's input side). */
  'console-input': op('console-input', (ts, a) => {
    const domid = ts.records.domainArg(a);
    if (domid === 0) throw new ToolstackError('EINVAL', 'console-input: dom0 has no console ring');
    const r = ts.records.rec(domid);
    if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `domain ${domid} has shut down`);
    if (typeof a.data !== 'string') throw new ToolstackError('EINVAL', 'console-input: args.data (base64) is required');
    const n = ts.consoles.input(domid, Buffer.from(a.data, 'base64'));
    if (n < 0) throw new ToolstackError('EIO', `domain ${domid} has no working console ring`);
    ts.onWork();
    return { domid, name: r.name, accepted: n };
  }),
  events: op('events', (ts, _a, ctx, id) => {
    let sub: { unsubscribe(): void } | null = null;
    sub = ts.host.bus.on(TOOLSTACK_EVENT).subscribe(({ time: _time, ...ev }) => {
      if (!ctx.send(id, { event: 'domain', ...ev })) sub?.unsubscribe();
    });
    ctx.addStream(id, () => sub?.unsubscribe());
    return { stream: id };
  }),
  // The connection's own op (server.ts ends the stream); an in-process caller has no streams.
  detach: op('detach', () => {
    throw new ToolstackError('ENOSYS', `unknown op 'detach' (known: ${OPS.join(', ')})`);
  }),
  dmesg: op('dmesg', (ts, a) => {
    const log = ts.consoles.hostLog;
    const lines = [...log];
    if (a.clear === true) log.length = 0;
    return { lines };
  }),
};
