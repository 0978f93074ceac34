// The runner's trace exporter: core's Chrome trace-event exporter with the names Xen uses
// (hypercalls, trap causes) and the component topics drawn as instants on domain tracks.
import { hypercallName } from '@tachyxx/abi';
import { ChromeTraceExporter, type EventBus } from '@tachyxx/core';
import { causeName } from '@tachyxx/isa';
import { EVTCHN_SEND } from '@tachyxx/evtchn';
import { XENSTORE_WATCH } from '@tachyxx/xenstore';

export function traceExporter(bus: EventBus): ChromeTraceExporter {
  return new ChromeTraceExporter(bus, {
    hypercallName,
    trapName: (cause, irq) => causeName(cause, irq),
    instants: [
      {
        topic: EVTCHN_SEND,
        name: (e) => `evtchn send port ${e.port}`,
        domid: (e) => e.domid,
        time: (e) => e.time,
        args: (e) => ({ port: e.port, remoteDomid: e.remoteDomid, remotePort: e.remotePort }),
      },
      {
        topic: XENSTORE_WATCH,
        name: (e) => `xenstore watch ${e.path}`,
        domid: (e) => e.domid,
        time: (e) => e.time,
        args: (e) => ({ path: e.path, token: e.token }),
      },
    ],
  });
}
