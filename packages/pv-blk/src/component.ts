// The pv-blk host component: registers blkback for `vbd` with dom0's xenbus backends.
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS, type DependencyContainer } from '@tachyxx/core';
import { GRANT_COMPONENT, type GrantComponent } from '@tachyxx/grant';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { XENBUS_COMPONENT, type XenbusComponent } from '@tachyxx/xenbus';
import { BlkBackend, DEFAULT_BLK_COSTS, type BlkCosts } from './blkback.js';

export const PVBLK_COMPONENT = defineToken<PvBlkComponent>('pv-blk.Component');

export class PvBlkComponent implements HostComponent {
  readonly id = 'pv-blk';
  private b: BlkBackend | null = null;
  constructor(private readonly xenbus: XenbusComponent, private readonly grant: GrantComponent, readonly costs: BlkCosts) {}

  attach(services: HostServices): void {
    if (this.b) throw new Error('the pv-blk component is already attached');
    this.b = new BlkBackend({ host: services, gnt: this.grant.tables, costs: this.costs });
    this.xenbus.backends.register(this.b);
    // A frontend blocked on its requests waits for their completion events, not for a timer.
    const b = this.b;
    services.addWakeSource(() => b.inFlight > 0);
  }

  /** The vbd backend, once attached. */
  get backend(): BlkBackend {
    if (!this.b) throw new Error('the pv-blk component is not attached to a host yet');
    return this.b;
  }
}

const costs = {
  requestNs: p.uint(DEFAULT_BLK_COSTS.requestNs, 'simulated ns of every vbd request (idle device)'),
  perKiBNs: p.uint(DEFAULT_BLK_COSTS.perKiBNs, 'simulated ns per KiB transferred'),
  flushNs: p.uint(DEFAULT_BLK_COSTS.flushNs, 'simulated ns of a cache flush (FLUSH_DISKCACHE, WRITE_BARRIER)'),
};

function component(c: DependencyContainer): PvBlkComponent {
  const own = componentCosts(resolve(c, TOKENS.Costs), 'pv-blk');
  return new PvBlkComponent(resolve(c, XENBUS_COMPONENT), resolve(c, GRANT_COMPONENT), {
    requestNs: own.requestNs ?? DEFAULT_BLK_COSTS.requestNs,
    perKiBNs: own.perKiBNs ?? DEFAULT_BLK_COSTS.perKiBNs,
    flushNs: own.flushNs ?? DEFAULT_BLK_COSTS.flushNs,
  });
}

export const pvBlkFile = definePlugin({
  id: 'pv-blk',
  variant: 'file',
  description: 'dom0 blkback: vbd devices over raw image files, blkif by grant copy, FIFO simulated-time completion',
  params: {},
  costs,
  provides: [PVBLK_COMPONENT],
  requires: [XENBUS_COMPONENT, GRANT_COMPONENT, TOKENS.Costs],
  component: PVBLK_COMPONENT,
  register(c) {
    bindSingleton(c, PVBLK_COMPONENT, component);
  },
});

export const PVBLK_PLUGINS = [pvBlkFile] as const;
