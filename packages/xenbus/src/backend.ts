/**
 * The backend half of the XenBus handshake, as Linux's xenbus backend core and its drivers run it
 * (drivers/xen/xenbus/xenbus_probe_backend.c, drivers/block/xen-blkback/xenbus.c
 * frontend_changed, drivers/net/xen-netback/xenbus.c set_backend_state):
 *
 *   toolstack writes backend/KIND/D/N      -> probe: Backend.probe, hotplug-status "connected",
 *                                              state InitWait
 *   frontend Initialised or Connected      -> read ring-ref + event-channel, map the grant, bind
 *                                              the port, Backend.connect, state Connected
 *   frontend Closing                       -> disconnect, state Closing (netback)
 *   frontend Closed                        -> disconnect, state Closed; offline: device removed
 *   frontend Initialising after Closed     -> state InitWait again (blkback: "prepare for reconnect")
 *   frontend Unknown (its dir is gone)     -> disconnect, device removed
 *   toolstack online=0 + state Closing     -> disconnect; removed once the frontend is Closed
 *   frontend's domain destroyed            -> disconnect (grant unmapped, port closed), removed,
 *                                              its device directories deleted (libxl__devices_destroy)
 *
 * A ring fault (a bogus index from the frontend, a failed store) or a connect failure disables
 * only that device: a host log line, xenbus_dev_fatal's `error/<nodename>/error` node in the
 * backend domain, the ring unmapped, the port closed, state Closing. A faulted device reconnects
 * only after the frontend went through Closed (a re-initialisation), never on a bare state flap.
 *
 * Xenstore watch events only mark work; the work runs from a host event-queue event (Linux's
 * xenwatch thread), never inside xenstored's own request handling.
 */
import {
  Errno, Gntst, gntstName, parseXenbusState, XenbusKeys, XenbusState, xenbusStateName, type RingType,
} from '@tachyxx/abi';
import { SimEvent, StatGroup } from '@tachyxx/core';
import type { Domain, Vcpu } from '@tachyxx/hypervisor';
import type { XsClient } from '@tachyxx/xenstore';
import { RateLimiter, type RateLimiterConfig } from './rate-limiter.js';
import { GrantBackRing, mapBackRing, type RingGrantTables } from './ring.js';
import { DEVICE_TYPES, destroyDomainDevices, devicePaths, type DeviceKind, type DevicePaths } from './toolstack.js';

/** Per-device counters (`host.xenbus.<kind>.d<domid>-<devid>`). Monotonic. */
export class XenbusDeviceStats extends StatGroup {
  readonly requests = this.counter('requests', 'count', 'requests copied off the ring');
  readonly responses = this.counter('responses', 'count', 'responses written to the ring');
  readonly bytes = this.counter('bytes', 'byte', 'payload bytes charged to the rate limiter');
  readonly eventsIn = this.counter('eventsIn', 'count', 'notifications from the frontend');
  readonly eventsOut = this.counter('eventsOut', 'count', 'notifications sent to the frontend');
  readonly throttled = this.counter('throttled', 'count', 'times the rate limiter held requests back');
  readonly connects = this.counter('connects', 'count', 'ring connections (frontend Initialised/Connected)');
  readonly disconnects = this.counter('disconnects', 'count', 'ring disconnections (grant unmapped, port closed)');
  readonly faults = this.counter('faults', 'count', 'devices disabled for a frontend fault');
}

/** The event channels a backend needs (EventChannels fits). */
export interface BackendEventChannels {
  bindInterdomain(remoteDomid: number, remotePort: number, handler: (port: number) => void): number;
  notify(port: number): number;
  unbind(port: number): number;
}

/** The host services the backends use (HostServices fits). */
export interface BackendHost {
  readonly clock: { readonly now: number };
  readonly queue: { schedule(ev: SimEvent, time: number): void; cancel(ev: SimEvent): boolean };
  readonly stats: StatGroup;
  log(line: string): void;
  onDomainDestroyed(hook: (d: Domain<Vcpu>) => void): void;
}

/** One device a backend serves (Linux's struct xenbus_device, backend side). */
export interface XenbusDevice {
  readonly kind: DeviceKind;
  readonly domid: number;
  readonly devid: number;
  readonly backendDomid: number;
  readonly paths: DevicePaths;
  /** `backend/KIND/D/N` (Linux's nodename, relative to the backend domain's home). */
  readonly nodename: string;
  readonly stats: XenbusDeviceStats;
  /** The device's rate limiter, when the backend was registered with one. */
  readonly limiter: RateLimiter | null;
  /** The backend's state (what its `state` node says). */
  readonly state: number;
  /** The frontend's state as last read. */
  readonly frontendState: number;
  /** The connected ring (null while not Connected). */
  readonly ring: GrantBackRing | null;
  /** Set when the device was disabled for a fault (cleared when the frontend closes). */
  readonly fault: string | null;
  /** The backend's own per-device data. */
  data: unknown;
  /** Sends an event to the frontend (counted). */
  notifyFrontend(): void;
  /** Runs `Backend.notify` again after `ns` (a rate limiter's retry timer). */
  retryIn(ns: number): void;
  /** Sends an event on one of the ports a `connectRings` backend bound (counted). */
  notifyPort(port: number): void;
  /**
   * A frontend fault the backend found (Linux's xenvif_fatal_tx_err / xenbus_dev_fatal): the device
   * is disabled right away (backend disconnect, rings unmapped, ports closed, state Closing).
   * The caller must not touch its rings afterwards.
   */
  fatal(why: string): void;
  /** Simulated now (ns). */
  now(): number;
}

/** A PV backend driver (what Linux's `struct xenbus_driver` of a backend provides). */
export interface Backend<Req = unknown, Rsp = unknown> {
  readonly kind: DeviceKind;
  readonly ringType: RingType<Req, Rsp>;
  /** A new device appeared in the backend dir: check its configuration. 0 or -errno (device refused). */
  probe(dev: XenbusDevice, xs: XsClient): number;
  /** The frontend published its ring: start serving it. 0 or -errno (device closes). */
  connect(dev: XenbusDevice, ring: GrantBackRing<Req, Rsp>): number;
  /** The frontend notified (or a retry timer fired): consume requests, answer them. */
  notify(dev: XenbusDevice, ring: GrantBackRing<Req, Rsp>): void;
  /** The ring goes away (it is unmapped right after): drop in-flight work. */
  disconnect(dev: XenbusDevice): void;
  /**
   * For a protocol whose frontend keys are not `ring-ref` + `event-channel` (netif: tx-ring-ref,
   * rx-ring-ref, event-channel or -tx/-rx, queue-N/): reads them itself and maps/binds through
   * `io` (the device owns what it maps and binds, and releases it on disconnect). Replaces the
   * default ring mapping and `connect`; `notify` then gets the first ring mapped. 0 or -errno.
   */
  connectRings?(dev: XenbusDevice, io: RingConnector): number;
}

/** What a `connectRings` backend maps and binds with (owned by the device). */
export interface RingConnector {
  readonly xs: XsClient;
  /** Maps the frontend's grant `ref` as a ring of `type`; a GNTST_* status (negative) on failure. */
  mapRing<Req, Rsp>(ref: number, type: RingType<Req, Rsp>): GrantBackRing<Req, Rsp> | number;
  /** Binds the frontend's unbound port `remotePort`; `onEvent` runs per event. The local port or -errno. */
  bindPort(remotePort: number, onEvent: () => void): number;
}

export interface BackendOptions {
  /** Rate limit per device (Firecracker's rate_limiter: bandwidth and ops buckets). */
  readonly rateLimiter?: RateLimiterConfig;
}

interface Registered {
  backend: Backend<any, any>;
  opts: BackendOptions;
}

class Device implements XenbusDevice {
  readonly kind: DeviceKind;
  readonly domid: number;
  readonly devid: number;
  readonly backendDomid: number;
  readonly paths: DevicePaths;
  readonly nodename: string;
  readonly limiter: RateLimiter | null;
  state: number = XenbusState.Initialising;
  frontendState: number = XenbusState.Unknown;
  ring: GrantBackRing | null = null;
  port = -1;
  /** Rings and ports a `connectRings` backend mapped and bound. */
  rings: GrantBackRing[] = [];
  ports: number[] = [];
  fault: string | null = null;
  data: unknown = undefined;
  readonly watchToken: string;
  readonly retry: SimEvent;
  constructor(
    readonly owner: XenbusBackends,
    readonly reg: Registered,
    domid: number,
    devid: number,
    readonly stats: XenbusDeviceStats,
  ) {
    this.kind = reg.backend.kind;
    this.domid = domid;
    this.devid = devid;
    this.backendDomid = owner.backendDomid;
    this.paths = devicePaths({ kind: this.kind, domid, devid, backendDomid: this.backendDomid });
    this.nodename = `backend/${DEVICE_TYPES[this.kind].backend}/${domid}/${devid}`;
    this.limiter = reg.opts.rateLimiter ? new RateLimiter(reg.opts.rateLimiter, owner.host.clock.now) : null;
    this.watchToken = `xenbus-fe:${this.kind}/${domid}/${devid}`;
    this.retry = new SimEvent(`xenbus.${this.kind}.d${domid}-${devid}.retry`, () => this.owner.kick(this));
  }
  notifyFrontend(): void {
    if (this.port <= 0) return;
    this.stats.eventsOut.value++;
    this.owner.evtchn.notify(this.port);
  }
  retryIn(ns: number): void {
    if (this.retry.heapIndex >= 0) return;
    this.owner.host.queue.schedule(this.retry, this.owner.host.clock.now + Math.max(1, Math.ceil(ns)));
  }
  now(): number { return this.owner.host.clock.now; }
  notifyPort(port: number): void {
    if (port <= 0 || !this.ports.includes(port)) return;
    this.stats.eventsOut.value++;
    this.owner.evtchn.notify(port);
  }
  fatal(why: string): void { this.owner.fail(this, why); }
}

export interface XenbusBackendsOptions {
  host: BackendHost;
  /** dom0's (the backend domain's) xenstore client; its connection's watch events are taken over. */
  xs: XsClient;
  evtchn: BackendEventChannels;
  gnt: RingGrantTables;
  /** The domain the backends run as (default 0). */
  backendDomid?: number;
}

/** The backend side of XenBus for one backend domain: every registered Backend's devices. */
export class XenbusBackends {
  readonly host: BackendHost;
  readonly xs: XsClient;
  readonly evtchn: BackendEventChannels;
  readonly gnt: RingGrantTables;
  readonly backendDomid: number;
  private readonly kinds = new Map<DeviceKind, Registered>();
  private readonly devices = new Map<string, Device>();
  private readonly statGroups = new Map<string, XenbusDeviceStats>();
  private readonly work: SimEvent;
  private dirty = false;

  constructor(o: XenbusBackendsOptions) {
    this.host = o.host;
    this.xs = o.xs;
    this.evtchn = o.evtchn;
    this.gnt = o.gnt;
    this.backendDomid = o.backendDomid ?? 0;
    this.work = new SimEvent('xenbus.watch', () => this.poll());
    this.xs.conn.onEvent = () => this.schedule();
    this.host.onDomainDestroyed((d) => this.domainDestroyed(d.domid));
  }

  /** Registers a backend for its kind: watches `backend/KIND` of the backend domain. */
  register(backend: Backend<any, any>, opts: BackendOptions = {}): void {
    if (this.kinds.has(backend.kind)) throw new Error(`a xenbus backend for '${backend.kind}' is already registered`);
    if (opts.rateLimiter) new RateLimiter(opts.rateLimiter, 0); // validates the config now
    this.kinds.set(backend.kind, { backend, opts });
    this.xs.watch(this.kindDir(backend.kind), `xenbus-be:${backend.kind}`);
    this.schedule();
  }

  /** Live devices. */
  list(): XenbusDevice[] { return [...this.devices.values()]; }

  /** The device of `kind` for frontend `domid`/`devid`, if live. */
  device(kind: DeviceKind, domid: number, devid: number): XenbusDevice | undefined {
    return this.devices.get(`${kind}/${domid}/${devid}`);
  }

  /**
   * Runs pending xenstore work now (the xenwatch thread's loop). The host's event queue calls it;
   * tests may call it directly. True when there was work.
   */
  poll(): boolean {
    if (!this.dirty) return false;
    // Work done here writes xenstore nodes and may fire our own watches: loop until quiet.
    for (let round = 0; this.dirty && round < 16; round++) {
      this.dirty = false;
      this.scan();
      for (const dev of [...this.devices.values()]) this.reconcile(dev);
    }
    return true;
  }

  /** Runs the backend's notify for `dev` (the frontend's event, or a retry timer). */
  kick(dev: XenbusDevice): void {
    const d = dev as Device;
    if (this.devices.get(this.key(d)) !== d || !d.ring || d.state !== XenbusState.Connected) return;
    d.reg.backend.notify(d, d.ring);
    if (d.ring && d.ring.fault !== null) return this.disable(d, d.ring.fault);
    for (const r of d.rings) if (r.fault !== null) return this.disable(d, r.fault);
  }

  /** A fault a backend found on `dev` (XenbusDevice.fatal): the device is disabled. */
  fail(dev: XenbusDevice, why: string): void {
    const d = dev as Device;
    if (this.devices.get(this.key(d)) !== d) return;
    this.disable(d, why);
  }

  private schedule(): void {
    this.dirty = true;
    if (this.work.heapIndex < 0) this.host.queue.schedule(this.work, this.host.clock.now);
  }

  private kindDir(kind: DeviceKind): string {
    return `/local/domain/${this.backendDomid}/backend/${DEVICE_TYPES[kind].backend}`;
  }

  private key(d: { kind: DeviceKind; domid: number; devid: number }): string {
    return `${d.kind}/${d.domid}/${d.devid}`;
  }

  private ls(path: string): string[] {
    try { return this.xs.directory(path); } catch { return []; }
  }

  /** Finds new devices under backend/KIND/D/N (xenbus_probe_backend's watch on "backend"). */
  private scan(): void {
    for (const [kind, reg] of this.kinds) {
      const dir = this.kindDir(kind);
      for (const ds of this.ls(dir)) {
        const domid = decimal(ds);
        if (domid < 0) continue;
        for (const ns of this.ls(`${dir}/${ds}`)) {
          const devid = decimal(ns);
          if (devid < 0 || this.devices.has(`${kind}/${domid}/${devid}`)) continue;
          this.probe(reg, domid, devid);
        }
      }
    }
  }

  private probe(reg: Registered, domid: number, devid: number): void {
    const kind = reg.backend.kind;
    const p = devicePaths({ kind, domid, devid, backendDomid: this.backendDomid });
    // The backend dir names its frontend; only the toolstack can write it (the frontend domain
    // only reads it), but check that it is the dir this backend serves (Linux: read_otherend_details).
    if (this.xs.tryRead(`${p.backend}/${XenbusKeys.frontend}`) !== p.frontend) return;
    if (this.xs.tryRead(`${p.backend}/${XenbusKeys.frontendId}`) !== String(domid)) return;
    // xenbus_probe_node: only a device whose backend state is still Initialising is probed (a
    // device removed while Closed stays gone until the toolstack writes it afresh).
    if (parseXenbusState(this.xs.tryRead(`${p.backend}/${XenbusKeys.state}`)) !== XenbusState.Initialising) return;
    const skey = `${DEVICE_TYPES[kind].backend}.d${domid}-${devid}`;
    let stats = this.statGroups.get(skey);
    if (!stats) {
      stats = this.host.stats.mount(`host.xenbus.${skey}`, new XenbusDeviceStats());
      this.statGroups.set(skey, stats);
    }
    const dev = new Device(this, reg, domid, devid, stats);
    this.devices.set(this.key(dev), dev);
    this.xs.watch(`${p.frontend}/${XenbusKeys.state}`, dev.watchToken);
    const rc = reg.backend.probe(dev, this.xs);
    if (rc < 0) {
      this.devFatal(dev, rc, 'probe refused the device');
      this.switchState(dev, XenbusState.Closed);
      return;
    }
    // What the hotplug script writes once the device is set up; libxl waits for it.
    this.xs.write(`${p.backend}/${XenbusKeys.hotplugStatus}`, 'connected');
    this.switchState(dev, XenbusState.InitWait);
  }

  /** One pass of frontend_changed / backend_changed for `dev`. */
  private reconcile(dev: Device): void {
    const p = dev.paths;
    if (!this.xs.exists(p.backend)) return this.remove(dev, 'backend directory removed');
    const online = this.xs.tryRead(`${p.backend}/${XenbusKeys.online}`) === '1';
    const own = parseXenbusState(this.xs.tryRead(`${p.backend}/${XenbusKeys.state}`));
    if (own === XenbusState.Closing && dev.state !== XenbusState.Closing && dev.state !== XenbusState.Closed) {
      // libxl__initiate_device_generic_remove wrote Closing for us: the frontend will close.
      this.disconnect(dev);
      dev.state = XenbusState.Closing;
    }
    const fe = this.xs.exists(p.frontend) ? parseXenbusState(this.xs.tryRead(`${p.frontend}/${XenbusKeys.state}`)) : XenbusState.Unknown;
    dev.frontendState = fe;
    switch (fe) {
      case XenbusState.Initialising:
        if (dev.state === XenbusState.Closed && online) {
          this.host.log(`(XEN) xenbus: ${dev.nodename}: prepare for reconnect`);
          dev.fault = null;
          this.switchState(dev, XenbusState.InitWait);
        }
        break;
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (dev.state === XenbusState.Connected || dev.fault !== null || !online) break;
        if (dev.state !== XenbusState.InitWait && dev.state !== XenbusState.Closing) break;
        this.connect(dev);
        break;
      case XenbusState.Closing:
        if (dev.state === XenbusState.Connected || dev.state === XenbusState.InitWait) {
          this.disconnect(dev);
          this.switchState(dev, XenbusState.Closing);
        }
        break;
      case XenbusState.Closed:
        this.disconnect(dev);
        dev.fault = null;
        if (dev.state !== XenbusState.Closed) this.switchState(dev, XenbusState.Closed);
        if (!online) this.remove(dev, 'closed and offline');
        break;
      case XenbusState.Unknown:
        this.remove(dev, 'frontend gone');
        break;
      default:
        break; // Reconfiguring/Reconfigured and values Linux does not know: ignored
    }
  }

  private connect(dev: Device): void {
    this.disconnect(dev); // blkback: make sure nothing is left from an earlier connection
    if (dev.reg.backend.connectRings) return this.connectCustom(dev, dev.reg.backend.connectRings.bind(dev.reg.backend));
    const fe = dev.paths.frontend;
    const ref = decimal(this.xs.tryRead(`${fe}/ring-ref`) ?? '');
    const rport = decimal(this.xs.tryRead(`${fe}/event-channel`) ?? '');
    if (ref < 0 || rport <= 0) return this.failConnect(dev, -Errno.EINVAL, `reading ${fe}/ring-ref and event-channel`);
    const ring = mapBackRing(this.gnt, dev.domid, ref, dev.reg.backend.ringType, this.backendDomid);
    if (typeof ring === 'number') return this.failConnect(dev, -Errno.EINVAL, `mapping ring-ref ${ref}: ${gntstName(ring)}`);
    dev.ring = ring;
    const port = this.evtchn.bindInterdomain(dev.domid, rport, () => {
      dev.stats.eventsIn.value++;
      this.kick(dev);
    });
    if (port < 0) return this.failConnect(dev, port, `binding event-channel ${rport}`);
    dev.port = port;
    const rc = dev.reg.backend.connect(dev, ring);
    if (rc < 0) return this.failConnect(dev, rc, 'backend connect');
    dev.stats.connects.value++;
    this.switchState(dev, XenbusState.Connected);
    this.kick(dev); // requests queued before we connected
  }

  private connectCustom(dev: Device, connectRings: (dev: XenbusDevice, io: RingConnector) => number): void {
    const io: RingConnector = {
      xs: this.xs,
      mapRing: (ref, type) => {
        const ring = mapBackRing(this.gnt, dev.domid, ref, type, this.backendDomid);
        if (typeof ring !== 'number') dev.rings.push(ring as GrantBackRing);
        return ring;
      },
      bindPort: (remotePort, onEvent) => {
        const port = this.evtchn.bindInterdomain(dev.domid, remotePort, () => {
          dev.stats.eventsIn.value++;
          if (this.devices.get(this.key(dev)) !== dev || dev.state !== XenbusState.Connected) return;
          onEvent();
          for (const r of dev.rings) if (r.fault !== null) return this.disable(dev, r.fault);
        });
        if (port > 0) dev.ports.push(port);
        return port;
      },
    };
    const rc = connectRings(dev, io);
    dev.ring = dev.rings[0] ?? null;
    if (rc < 0 || !dev.ring) return this.failConnect(dev, rc < 0 ? rc : -Errno.EINVAL, 'backend connect');
    dev.stats.connects.value++;
    this.switchState(dev, XenbusState.Connected);
    this.kick(dev); // requests queued before we connected
  }

  private failConnect(dev: Device, err: number, what: string): void {
    this.disconnect(dev);
    this.devFatal(dev, err, what);
    dev.fault = `${what} failed (${err})`;
    this.switchState(dev, XenbusState.Closing);
  }

  /** A frontend fault: the device (only) is shut, with a log line. */
  private disable(dev: Device, why: string): void {
    if (dev.fault !== null && !dev.ring) return;
    dev.stats.faults.value++;
    this.host.log(`(XEN) xenbus: ${dev.nodename}: ${why}; device disabled`);
    this.disconnect(dev);
    dev.fault = why;
    this.devFatal(dev, -Errno.EIO, why);
    this.switchState(dev, XenbusState.Closing);
  }

  private disconnect(dev: Device): void {
    if (!dev.ring && dev.port <= 0 && dev.rings.length === 0 && dev.ports.length === 0) return;
    if (dev.ring || dev.rings.length > 0) dev.reg.backend.disconnect(dev);
    if (dev.port > 0) this.evtchn.unbind(dev.port);
    dev.port = -1;
    for (const p of dev.ports) this.evtchn.unbind(p);
    dev.ports = [];
    for (const r of dev.rings) {
      if (r === dev.ring) continue;
      const st = r.unmap();
      if (st !== Gntst.okay) this.host.log(`(XEN) xenbus: ${dev.nodename}: unmap of a ring failed: ${gntstName(st)}`);
    }
    dev.rings = [];
    if (dev.ring) {
      const st = dev.ring.unmap();
      if (st !== Gntst.okay) this.host.log(`(XEN) xenbus: ${dev.nodename}: unmap of the ring failed: ${gntstName(st)}`);
    }
    dev.ring = null;
    dev.stats.disconnects.value++;
    const r = dev.retry;
    if (r.heapIndex >= 0) this.host.queue.cancel(r);
  }

  private remove(dev: Device, why: string): void {
    this.disconnect(dev);
    this.devices.delete(this.key(dev));
    try { this.xs.unwatch(`${dev.paths.frontend}/${XenbusKeys.state}`, dev.watchToken); } catch { /* connection gone */ }
    if (this.xs.exists(dev.paths.backend)) this.writeState(dev, XenbusState.Closed);
    void why;
  }

  private switchState(dev: Device, state: number): void {
    dev.state = state;
    this.writeState(dev, state);
  }

  private writeState(dev: Device, state: number): void {
    // xenbus_switch_state writes only when the node is still there (a transaction that checks it).
    try {
      if (this.xs.exists(dev.paths.backend)) this.xs.write(`${dev.paths.backend}/${XenbusKeys.state}`, String(state));
    } catch (e) {
      this.host.log(`(XEN) xenbus: ${dev.nodename}: writing state ${xenbusStateName(state)}: ${(e as Error).message}`);
    }
  }

  /** xenbus_dev_fatal's record: `error/<nodename>/error` = "<errno> <message>" in the backend domain. */
  private devFatal(dev: Device, err: number, msg: string): void {
    try {
      this.xs.write(`/local/domain/${this.backendDomid}/error/${dev.nodename}/error`, `${-err} ${msg}`);
    } catch { /* quota or permissions: the log line stands */ }
  }

  /** The frontend's domain is gone: every device of it torn down, its directories removed. */
  private domainDestroyed(domid: number): void {
    for (const dev of [...this.devices.values()]) if (dev.domid === domid) this.remove(dev, 'domain destroyed');
    try { destroyDomainDevices(this.xs, domid, this.backendDomid); } catch (e) {
      this.host.log(`(XEN) xenbus: removing d${domid}'s device directories: ${(e as Error).message}`);
    }
  }
}

/** A directory name or value that is a plain decimal integer, else -1. */
function decimal(s: string): number {
  if (!/^\d{1,10}$/.test(s)) return -1;
  const n = Number(s);
  return n <= 0xffff_ffff ? n : -1;
}
