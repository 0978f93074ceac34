// A per-domain shared ring as dom0 services set them up (xenstore, console): a special page
// above guest RAM, an unbound event channel from the domain to dom0, and the pair published in
// start_info (the page's GFN in the `*_mfn` field, as HVM_PARAM_*_PFN on HVM/Arm, and the port).
import { GUEST_RAM_BASE, PAGE_SIZE } from '@tachyxx/abi';
import type { EventChannels } from '@tachyxx/evtchn';
import type { Domain, HostServices, Vcpu } from '@tachyxx/hypervisor';

export interface DomainRingSlot {
  gfn: number;
  guestPort: number;
}

/** Maps the page at `gpa` into `d` and allocates its port; null when either is impossible. */
export function allocDomainRing(host: HostServices, evtchn: EventChannels, d: Domain<Vcpu>, gpa: number): DomainRingSlot | null {
  if (!d.sharedInfoGpa || !d.startInfoGpa) return null;
  const gfn = gpa / PAGE_SIZE;
  if (gpa < GUEST_RAM_BASE || host.domains.mapSpecialPage(d, gfn) < 0) return null;
  const guestPort = evtchn.allocUnbound(d.domid, 0);
  return guestPort < 0 ? null : { gfn, guestPort };
}

/** Writes the ring's GFN and port into start_info at the given field offsets. */
export function publishDomainRing(d: Domain<Vcpu>, slot: DomainRingSlot, fields: { mfn: number; evtchn: number }): void {
  d.access.writeU64(d.startInfoGpa + fields.mfn, slot.gfn);
  d.access.writeU32(d.startInfoGpa + fields.evtchn, slot.guestPort);
}
