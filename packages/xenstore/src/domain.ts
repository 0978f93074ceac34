import { XsRingConnection, type RingPage } from './ring.js';
import type { DomainBinding, Xenstored } from './xenstored.js';

/**
 * Introduces a guest whose xenstore ring is `page` (the frame start_info's store_mfn names) and
 * whose event channel `notify` signals: the hypervisor's side of XS_INTRODUCE. Call
 * `conn.processRing()` whenever the guest notifies the channel.
 */
export function introduceRing(xs: Xenstored, domid: number, page: RingPage, notify: () => void, opts: { port?: number; gfn?: number; binding?: DomainBinding } = {}): XsRingConnection {
  const conn = new XsRingConnection(xs, domid, page, notify);
  xs.addDomain(domid, conn, opts.port ?? 0, opts.gfn ?? 0, opts.binding);
  return conn;
}
