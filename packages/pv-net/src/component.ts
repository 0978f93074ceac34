// The pv-net host component: the bridges, and netback registered for `vif` with dom0's xenbus backends.
import { mkdirSync } from 'node:fs';
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS, type DependencyContainer } from '@tachyxx/core';
import { GRANT_COMPONENT, type GrantComponent } from '@tachyxx/grant';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { XENBUS_COMPONENT, type XenbusComponent } from '@tachyxx/xenbus';
import { BridgeSet, DEFAULT_NET_COSTS, type NetCosts } from './bridge.js';
import { DEFAULT_MAX_QUEUES, NetBackend } from './netback.js';
import { parseUplinks, UdpUplink, type UplinkConfig } from './uplink.js';

export const PVNET_COMPONENT = defineToken<PvNetComponent>('pv-net.Component');

export interface PvNetSettings {
  /** multi-queue-max-queues. */
  readonly maxQueues: number;
  /** Capture directory (one pcap per port and per bridge), or null. */
  readonly pcapDir: string | null;
  /** Only these ports/bridges are captured (empty: all). */
  readonly pcapOnly?: readonly string[];
  /** Bridges with a UDP uplink to a TAP peer (socat). */
  readonly uplinks?: readonly UplinkConfig[];
}

export class PvNetComponent implements HostComponent {
  readonly id = 'pv-net';
  private b: NetBackend | null = null;
  private set: BridgeSet | null = null;
  private readonly links: UdpUplink[] = [];
  /** Set by the daemon: a frame from an uplink arrived (wakes its run loop). */
  onIo: () => void = () => {};
  /** Where captures go; set before the host is attached (`tachyxx host --pcap DIR`). */
  pcapDir: string | null;
  constructor(private readonly xenbus: XenbusComponent, private readonly grant: GrantComponent, readonly costs: NetCosts, readonly settings: PvNetSettings) {
    this.pcapDir = settings.pcapDir;
  }

  attach(services: HostServices): void {
    if (this.b) throw new Error('the pv-net component is already attached');
    if (this.pcapDir) mkdirSync(this.pcapDir, { recursive: true });
    const set = new BridgeSet({ host: services, costs: this.costs, pcapDir: this.pcapDir, pcapOnly: this.settings.pcapOnly });
    this.set = set;
    this.b = new NetBackend({ host: services, gnt: this.grant.tables, bridges: set, maxQueues: this.settings.maxQueues });
    this.xenbus.backends.register(this.b);
    // Frames crossing a bridge, and TX held for credit, end in an upcall to some vCPU.
    const b = this.b;
    services.addWakeSource(() => set.inFlight > 0 || b.pendingCredit > 0);
    for (const u of this.settings.uplinks ?? []) {
      const link = new UdpUplink(set, u);
      link.onInput = () => this.onIo();
      link.start().catch((e: Error) => services.log(`(XEN) pv-net: uplink ${u.bridge} on 127.0.0.1:${u.localPort}: ${e.message}`));
      this.links.push(link);
    }
  }

  /** The uplinks started at attach. */
  get uplinks(): readonly UdpUplink[] { return this.links; }

  /** The vif backend, once attached. */
  get backend(): NetBackend {
    if (!this.b) throw new Error('the pv-net component is not attached to a host yet');
    return this.b;
  }

  /** The host stops: uplink sockets and capture files closed. */
  detach(): void {
    for (const l of this.links) l.close();
    this.set?.close();
  }

  /** The bridges, once attached. */
  get bridges(): BridgeSet {
    if (!this.set) throw new Error('the pv-net component is not attached to a host yet');
    return this.set;
  }
}

const costs = {
  frameNs: p.uint(DEFAULT_NET_COSTS.frameNs, 'simulated ns of one frame through a bridge'),
  perKiBNs: p.uint(DEFAULT_NET_COSTS.perKiBNs, 'simulated ns per KiB of frame through a bridge'),
};

const params = {
  maxQueues: p.uint(DEFAULT_MAX_QUEUES, 'multi-queue-max-queues netback offers (Linux: online CPUs)'),
  uplink: p.string('', 'UDP uplinks to TAP peers: BRIDGE:LOCALPORT:PEERPORT[,...] on 127.0.0.1 (socat TUN,tun-type=tap,iff-no-pi ... UDP-DATAGRAM:127.0.0.1:LOCALPORT,bind=127.0.0.1:PEERPORT)'),
  pcapOnly: p.string('', 'capture only these ports and bridges (comma-separated names: vif1.0,xenbr0); empty = all'),
  pcapDir: p.string('', 'capture directory: <port>.pcap per bridge port (vifD.N) and <bridge>.pcap per bridge; empty = no capture (tachyxx host --pcap DIR)'),
};

function component(c: DependencyContainer, maxQueues: number, pcapDir: string, pcapOnly: string, uplink: string): PvNetComponent {
  const own = componentCosts(resolve(c, TOKENS.Costs), 'pv-net');
  return new PvNetComponent(resolve(c, XENBUS_COMPONENT), resolve(c, GRANT_COMPONENT), {
    frameNs: own.frameNs ?? DEFAULT_NET_COSTS.frameNs,
    perKiBNs: own.perKiBNs ?? DEFAULT_NET_COSTS.perKiBNs,
  }, { maxQueues, pcapDir: pcapDir || null, pcapOnly: pcapOnly.split(',').map((s) => s.trim()).filter(Boolean), uplinks: parseUplinks(uplink) });
}

export const pvNetBridge = definePlugin({
  id: 'pv-net',
  variant: 'bridge',
  description: 'dom0 netback: vif devices over netif by grant copy, a learning software bridge per name, pcap capture, simulated-time forwarding',
  params,
  costs,
  provides: [PVNET_COMPONENT],
  requires: [XENBUS_COMPONENT, GRANT_COMPONENT, TOKENS.Costs],
  component: PVNET_COMPONENT,
  register(c, prm) {
    bindSingleton(c, PVNET_COMPONENT, (cc) => component(cc, prm.maxQueues, prm.pcapDir, prm.pcapOnly, prm.uplink));
  },
});

export const PVNET_PLUGINS = [pvNetBridge] as const;
