// The pv-blk host component: registers blkback for `vbd` with dom0's xenbus backends.
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS, type DependencyContainer } from '@tachyxx/core';
import { GRANT_COMPONENT, type GrantComponent } from '@tachyxx/grant';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { XENBUS_COMPONENT, XENBUS_MAX_RING_GRANT_ORDER, type XenbusComponent } from '@tachyxx/xenbus';
import {
  BLK_MODELS, BlkBackend, DEFAULT_BLK_COSTS, DEFAULT_MAX_QUEUES, DEFAULT_QUEUE_DEPTH, MAX_QUEUES, MAX_INDIRECT_SEGMENTS, MAX_QUEUE_DEPTH,
  type BlkCosts, type BlkModel,
} from './blkback.js';

/** The component's parameters (`pv-blk.*` in a host config). */
export interface PvBlkParams {
  readonly model: BlkModel;
  readonly queueDepth: number;
  readonly maxIndirectSegments: number;
  readonly persistent: boolean;
  readonly maxRingPageOrder: number;
  readonly maxQueues: number;
  /** Offer feature-discard (true: where the host can punch holes, as BlkBackend decides; false: never). */
  readonly discard: boolean;
}

export const PVBLK_COMPONENT = defineToken<PvBlkComponent>('pv-blk.Component');

export class PvBlkComponent implements HostComponent {
  readonly id = 'pv-blk';
  private b: BlkBackend | null = null;
  constructor(
    private readonly xenbus: XenbusComponent, private readonly grant: GrantComponent, readonly costs: BlkCosts,
    readonly params: PvBlkParams = { model: 'ssd', queueDepth: DEFAULT_QUEUE_DEPTH, maxIndirectSegments: MAX_INDIRECT_SEGMENTS, persistent: true, maxRingPageOrder: XENBUS_MAX_RING_GRANT_ORDER, maxQueues: DEFAULT_MAX_QUEUES, discard: true },
  ) {}

  attach(services: HostServices): void {
    if (this.b) throw new Error('the pv-blk component is already attached');
    // discard true leaves the offer to BlkBackend (only when fallocate can punch holes).
    const { discard, ...prm } = this.params;
    this.b = new BlkBackend({ host: services, gnt: this.grant.tables, costs: this.costs, ...prm, ...(discard ? {} : { discard: false }) });
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

function component(c: DependencyContainer, prm: PvBlkParams): PvBlkComponent {
  const own = componentCosts(resolve(c, TOKENS.Costs), 'pv-blk');
  return new PvBlkComponent(resolve(c, XENBUS_COMPONENT), resolve(c, GRANT_COMPONENT), {
    requestNs: own.requestNs ?? DEFAULT_BLK_COSTS.requestNs,
    perKiBNs: own.perKiBNs ?? DEFAULT_BLK_COSTS.perKiBNs,
    flushNs: own.flushNs ?? DEFAULT_BLK_COSTS.flushNs,
  }, prm);
}

export const pvBlkFile = definePlugin({
  id: 'pv-blk',
  variant: 'file',
  description: 'dom0 blkback: vbd devices over raw image files, blkif by grant copy or persistent grants, indirect, discard; async file I/O, deterministic simulated-time completion',
  params: {
    model: p.enum(BLK_MODELS, 'ssd', 'device model deciding a request\'s simulated completion: ideal (requestNs, nothing else) or ssd (latency overlapped up to queueDepth, data serialised at perKiBNs, flushes after everything before them)'),
    queueDepth: p.uint(DEFAULT_QUEUE_DEPTH, 'requests a device accepts off its ring at once (more wait in the ring)', { min: 1, max: MAX_QUEUE_DEPTH }),
    maxIndirectSegments: p.uint(MAX_INDIRECT_SEGMENTS, 'feature-max-indirect-segments (0: INDIRECT not offered; Linux blkback MAX_INDIRECT_SEGMENTS 256)', { max: MAX_INDIRECT_SEGMENTS }),
    maxRingPageOrder: p.uint(XENBUS_MAX_RING_GRANT_ORDER, 'max-ring-page-order offered (0: one-page rings only; Linux xen_blkif_max_ring_order, XENBUS_MAX_RING_GRANT_ORDER 4)', { max: XENBUS_MAX_RING_GRANT_ORDER }),
    maxQueues: p.uint(DEFAULT_MAX_QUEUES, 'multi-queue-max-queues offered (Linux xenblk_max_queues: dom0\'s online CPUs)', { min: 1, max: MAX_QUEUES }),
    persistent: p.bool(true, 'offer feature-persistent (grants mapped once and kept, up to 1056 per device as Linux)'),
    discard: p.bool(true, 'offer feature-discard to writable disks when the host can punch holes (fallocate(1)), as Linux blkback when the backing device supports discard; false: never (DISCARD gets EOPNOTSUPP)'),
  },
  costs,
  provides: [PVBLK_COMPONENT],
  requires: [XENBUS_COMPONENT, GRANT_COMPONENT, TOKENS.Costs],
  component: PVBLK_COMPONENT,
  register(c, prm) {
    bindSingleton(c, PVBLK_COMPONENT, (cc) => component(cc, prm));
  },
});

export const PVBLK_PLUGINS = [pvBlkFile] as const;
