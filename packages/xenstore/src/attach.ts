/**
 * The toolstack's xenstore plumbing for a Host (what xl/libxl + init-xenstore-domain do on Xen):
 * for every new domain
 *   - a store ring page: a special page (hypervisor-allocated, owned by the domain, outside its
 *     reservation) at GPA RAM end + 4096, i.e. the page right above the shared-info page
 *     (grant frames live below RAM at 0x7F00_0000, so nothing else uses it);
 *   - an unbound event channel from the domain to dom0 (EVTCHNOP_alloc_unbound(dom, 0)) that
 *     xenstored binds; every notification from the guest runs `processRing()`;
 *   - start_info.store_mfn = the ring's *guest frame number* (on Tachyxx, as
 *     HVM_PARAM_STORE_PFN on HVM/Arm guests: translated guests name their own frames) and
 *     start_info.store_evtchn = the guest's port;
 *   - the standard layout (/local/domain/<id>, /vm/<uuid>) and XS_INTRODUCE (@introduceDomain).
 * When the domain is destroyed: XS_RELEASE (@releaseDomain), its /local/domain/<id> removed,
 * dom0's end of the channel closed.
 */
import { PAGE_SIZE, StartInfo } from '@tachyxx/abi';
import { resolve, type DependencyContainer } from '@tachyxx/core';
import type { EventChannels } from '@tachyxx/evtchn';
import { allocDomainRing, publishDomainRing, type Domain, type HostServices, type Vcpu } from '@tachyxx/hypervisor';
import { createDomainLayout } from './layout.js';
import { connectLocal } from './local.js';
import { XENSTORED } from './plugin.js';
import type { RingPage, XsRingConnection } from './ring.js';
import { introduceRing } from './domain.js';
import { domainPath, Xenstored } from './xenstored.js';

export interface StoreBinding {
  domid: number;
  /** GFN of the ring page (start_info.store_mfn). */
  gfn: number;
  /** The guest's port (start_info.store_evtchn). */
  guestPort: number;
  /** Dom0's bound port. */
  dom0Port: number;
  ring: XsRingConnection;
}

export interface XenstoreAttachment {
  xs: Xenstored;
  /** Per live domain: its ring and ports. */
  readonly bindings: Map<number, StoreBinding>;
  /** GPA of a domain's store ring page (RAM end + 4096). */
  ringGpaOf(d: Domain<Vcpu>): number;
}

export interface AttachXenstoreOptions {
  /** The xenstored to use; else the container's XENSTORED (component `xenstore`), else a new one. */
  xs?: Xenstored;
  container?: DependencyContainer;
}

/** The ring page through the domain's P2M (never throws: a failed access reads zeros / drops the write). */
function ringPageOfDomain(d: Domain<Vcpu>, gpa: number): RingPage {
  return {
    read(off, dst) {
      if (d.access.read(gpa + off, dst) < 0) dst.fill(0);
    },
    write(off, src) {
      d.access.write(gpa + off, src);
    },
  };
}

/** Wires xenstored to `host`: every domain created from now on gets a store ring + port. */
export function attachXenstore(host: HostServices, evtchn: EventChannels, opts: AttachXenstoreOptions = {}): XenstoreAttachment {
  let xs = opts.xs;
  if (!xs && opts.container?.isRegistered(XENSTORED, true)) xs = resolve(opts.container, XENSTORED);
  if (!xs) {
    xs = new Xenstored({ bus: host.bus, now: () => host.clock.now });
    host.stats.mount('host.xenstore', xs.stats);
  } else if (!opts.xs && opts.container) {
    // The plugin's xenstored: its stats go where an assembled host's would.
    if (!host.stats.lookup('host.xenstore')) host.stats.mount('host.xenstore', xs.stats);
  }
  const store = xs;
  const bindings = new Map<number, StoreBinding>();
  const ringGpaOf = (d: Domain<Vcpu>) => d.sharedInfoGpa + PAGE_SIZE;

  host.onDomainCreated((d) => {
    const gpa = ringGpaOf(d);
    const slot = allocDomainRing(host, evtchn, d, gpa);
    if (!slot) return; // no store for this domain
    const { gfn, guestPort } = slot;
    createDomainLayout(store, { domid: d.domid, name: d.name, uuid: d.uuid });
    let dom0Port = -1;
    const ring = introduceRing(store, d.domid, ringPageOfDomain(d, gpa), () => {
      if (dom0Port > 0) evtchn.notify(dom0Port);
    }, {
      port: guestPort,
      gfn,
      binding: { close: () => { if (dom0Port > 0) evtchn.unbind(dom0Port); dom0Port = -1; } },
    });
    dom0Port = evtchn.bindInterdomain(d.domid, guestPort, () => ring.processRing());
    bindings.set(d.domid, { domid: d.domid, gfn, guestPort, dom0Port, ring });
    publishDomainRing(d, slot, { mfn: StartInfo.store_mfn.offset, evtchn: StartInfo.store_evtchn.offset });
  });

  host.onDomainDestroyed((d) => {
    const b = bindings.get(d.domid);
    if (!b) return;
    bindings.delete(d.domid);
    try {
      store.releaseDomain(d.domid);
    } catch {
      // already released (XS_RELEASE from a dom0 tool)
    }
    const c = connectLocal(store, 0);
    try {
      c.rm(domainPath(d.domid));
    } catch {
      // gone already
    }
    c.conn.close();
  });

  return { xs: store, bindings, ringGpaOf };
}
