// A per-domain shared ring as dom0 services set them up (xenstored, xenconsoled, and any service
// that follows): a special page above guest RAM mapped into the domain, an unbound event channel
// from the domain to dom0, and the pair published in start_info (the page's GFN in the `*_mfn`
// field, as HVM_PARAM_*_PFN on HVM/Arm guests, and the guest's port). On Xen this is libxl's
// alloc_magic_pages + xc_evtchn_alloc_unbound + the start_info/HVM params the domain builder writes.
//
// It lives here, in the hypervisor's public API, because it is generic (a page, a port, two
// start_info fields) and both @tachyxx/xenstore (the store ring) and @tachyxx/xenbus (the console
// ring) need it: xenbus depends on xenstore, so neither may own it without a dependency cycle. The
// port comes from a structural `UnboundPortAllocator` (EventChannels satisfies it) so the
// hypervisor does not depend on @tachyxx/evtchn.
import { GUEST_RAM_BASE, PAGE_SIZE } from '@tachyxx/abi';
import type { Domain } from './domain/domain.js';
import type { Vcpu } from './host/vcpu.js';
import type { HostServices } from './services.js';

/** EVTCHNOP_alloc_unbound as dom0 calls it: a port of `domid` that `remoteDomid` may bind; < 0 = -errno. */
export interface UnboundPortAllocator {
  allocUnbound(domid: number, remoteDomid: number): number;
}

export interface DomainRingSlot {
  /** The ring page's guest frame number. */
  gfn: number;
  /** The guest's end of the unbound channel. */
  guestPort: number;
}

/**
 * Maps the special page at `gpa` into `d` and allocates its port (unbound, remote dom0); null when
 * either is impossible (no shared-info/start_info page, a GPA below guest RAM, no free page or port).
 */
export function allocDomainRing(host: Pick<HostServices, 'domains'>, ports: UnboundPortAllocator, d: Domain<Vcpu>, gpa: number): DomainRingSlot | null {
  if (!d.sharedInfoGpa || !d.startInfoGpa) return null;
  const gfn = gpa / PAGE_SIZE;
  if (gpa < GUEST_RAM_BASE || host.domains.mapSpecialPage(d, gfn) < 0) return null;
  const guestPort = ports.allocUnbound(d.domid, 0);
  return guestPort < 0 ? null : { gfn, guestPort };
}

/** Writes the ring's GFN (u64) and port (u32) into start_info at the given field offsets. */
export function publishDomainRing(d: Domain<Vcpu>, slot: DomainRingSlot, fields: { mfn: number; evtchn: number }): void {
  d.access.writeU64(d.startInfoGpa + fields.mfn, slot.gfn);
  d.access.writeU32(d.startInfoGpa + fields.evtchn, slot.guestPort);
}
