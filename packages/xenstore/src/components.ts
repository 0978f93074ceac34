// The xenstore host component. It needs the event-channel component (a port per domain ring), so
// its plugin requires EVTCHN_COMPONENT and the host assembly attaches it after it. (The console
// component, xenconsoled, lives in @tachyxx/xenbus.)
import type { EvtchnComponent } from '@tachyxx/evtchn';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { attachXenstore, type XenstoreAttachment } from './attach.js';
import type { XenstoreStats } from './stats.js';
import type { Xenstored } from './xenstored.js';

/** xenstored as a host component: a store ring + port per domain, introduce/release. */
export class XenstoreComponent implements HostComponent {
  readonly id = 'xenstore';
  readonly stats: XenstoreStats;
  private attachment: XenstoreAttachment | null = null;
  constructor(readonly xs: Xenstored, private readonly evtchn: EvtchnComponent) {
    this.stats = xs.stats;
  }

  attach(services: HostServices): void {
    if (this.attachment) throw new Error('the xenstore component is already attached');
    this.attachment = attachXenstore(services, this.evtchn.channels, { xs: this.xs });
  }

  /** Per-domain ring bindings (once attached). */
  get store(): XenstoreAttachment {
    if (!this.attachment) throw new Error('the xenstore component is not attached to a host yet');
    return this.attachment;
  }
}
