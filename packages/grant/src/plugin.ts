// The grant-table component as a core plugin: `grant` with variant `v1` (grant tables v1, the
// only version Tachyxx implements: GNTTABOP_set_version to 2 fails as on a Xen built without v2).
// It binds a host component (GRANT_COMPONENT) that the host assembly attaches: it registers
// grant_table_op (20) and keeps every domain's table.
import { bindSingleton, definePlugin, defineToken, p, StatGroup } from '@tachyxx/core';
import { DEFAULT_MAX_GRANT_FRAMES, DEFAULT_MAX_MAPTRACK_FRAMES } from '@tachyxx/abi';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { GrantTables } from './grant-tables.js';
import { GNTTAB_GUEST_FRAMES } from './layout.js';

export interface GrantConfig {
  readonly maxGrantFrames: number;
  readonly maxMaptrackFrames: number;
}
export const GRANT_COMPONENT = defineToken<GrantComponent>('grant.Component');

/** The grant-table host component: `tables` exists once attached. */
export class GrantComponent implements HostComponent {
  readonly id = 'grant';
  readonly stats = new StatGroup();
  private gt: GrantTables | null = null;
  constructor(readonly config: GrantConfig) {}

  attach(services: HostServices): void {
    if (this.gt) throw new Error('the grant component is already attached');
    this.gt = GrantTables.attach(services, { ...this.config, log: (l) => services.log(l), stats: this.stats });
  }

  /** The grant tables (the backend API for dom0's TypeScript side). */
  get tables(): GrantTables {
    if (!this.gt) throw new Error('the grant component is not attached to a host yet');
    return this.gt;
  }
}

export const grantV1 = definePlugin({
  id: 'grant',
  variant: 'v1',
  description: 'Xen grant tables v1: map/unmap into the mapper\'s stage 2, copy, maptrack; dom0 backend API',
  params: {
    maxGrantFrames: p.uint(DEFAULT_MAX_GRANT_FRAMES, 'default grant-table frames per domain (Xen gnttab_max_frames, xl max_grant_frames)', { min: 1, max: GNTTAB_GUEST_FRAMES }),
    maxMaptrackFrames: p.uint(DEFAULT_MAX_MAPTRACK_FRAMES, 'maptrack frames per domain (Xen gnttab_max_maptrack_frames): 256 handles each', { min: 1, max: 1 << 20 }),
  },
  provides: [GRANT_COMPONENT],
  requires: [],
  component: GRANT_COMPONENT,
  register(c, prm) {
    bindSingleton(c, GRANT_COMPONENT, () => new GrantComponent(Object.freeze({ maxGrantFrames: prm.maxGrantFrames, maxMaptrackFrames: prm.maxMaptrackFrames })));
  },
});
export const GRANT_PLUGINS = [grantV1] as const;
