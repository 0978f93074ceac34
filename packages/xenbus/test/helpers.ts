// A host assembled from a host config (event channels, grant tables, xenstored, dom0's xenbus
// backends: dom0Host, shared with pv-blk's and pv-net's test helpers), and an in-process frontend
// that acts as a guest would: it writes its ring into its own memory, grants it to dom0, allocates
// a port, talks to xenstore as its own domain (permissions apply) and sends events with the
// event_channel_op hypercall from its vCPU. Hostile tests drive it off-protocol.
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { hostConfigFromObject, PluginRegistry, type Plugin } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS, type EvtchnComponent } from '@tachyxx/evtchn';
import { GRANT_PLUGINS, type GrantComponent } from '@tachyxx/grant';
import { connectLocal, XENSTORE_PLUGINS, type XenstoreComponent, type XsClient } from '@tachyxx/xenstore';
import { EvtchnOp, Hypercall, SRING_HEADER_SIZE, XenbusState } from '@tachyxx/abi';
import {
  addDevice, EchoBackend, EchoRequestCodec, EchoResponseCodec, xenbusPlugin,
  type BackendOptions, type echo_response_t, type XenbusComponent,
} from '@tachyxx/xenbus';

const ROOT = resolvePath(import.meta.dirname, '../../..');
export const HELLO = readFileSync(join(ROOT, 'guests/build/hello.elf'));
/** Where the in-process frontend keeps its ring page and scratch (guest RAM starts at 0x8000_0000). */
export const RING_GPA = 0x8030_0000;
const SCRATCH_GPA = 0x8031_0000;

/** What dom0Host assembles on top of its base components. */
export interface Dom0HostOptions {
  /** The plugins of the extra components (the base ones are always registered). */
  plugins?: readonly Plugin<any>[];
  /** Extra or overriding components of the host config (`{ 'pv-blk': { variant: 'file', ... } }`). */
  components?: Record<string, unknown>;
  /** Costs of the host config (component-namespaced keys: `pv-blk.requestNs`). */
  costs?: Record<string, number>;
  /** Names the config in validation errors. */
  source?: string;
}

/**
 * A test host assembled as a real one is: assembleHost over a host config with isa tachy-v1, mmu
 * tagged, sched credit, hypervisor xen, evtchn fifo, grant v1, xenstore cxenstored and xenbus
 * linux (plus `o.components`), every component resolved through the container. Shared by the
 * xenbus, pv-blk and pv-net test helpers (dom0 with its xenbus backends is what they all need).
 */
export function dom0Host(o: Dom0HostOptions = {}) {
  const reg = new PluginRegistry([
    ...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...GRANT_PLUGINS,
    ...XENSTORE_PLUGINS, xenbusPlugin, ...(o.plugins ?? []),
  ]);
  const config = {
    pcpus: 1, memoryMiB: 128,
    components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo', grant: 'v1', xenstore: 'cxenstored', xenbus: 'linux', ...o.components },
    costs: o.costs ?? {},
  };
  const log: string[] = [];
  const out = new Map<number, string>();
  const a = assembleHost(hostConfigFromObject(config, reg, { file: o.source ?? 'dom0Host' }), reg, {
    console: (d, b) => out.set(d.domid, (out.get(d.domid) ?? '') + new TextDecoder().decode(b)),
    log: (l) => log.push(l),
  });
  const host = a.host;
  const consoleText = (d: Domain<Vcpu>) => out.get(d.domid) ?? '';
  const evtchn = a.component<EvtchnComponent>('evtchn').channels;
  const gnt = a.component<GrantComponent>('grant').tables;
  const store = a.component<XenstoreComponent>('xenstore').store;
  const dom0xs = connectLocal(store.xs, 0);
  const backends = a.component<XenbusComponent>('xenbus').backends;
  /** Runs the backends' queued xenstore work (what host.run does through the event queue). */
  const settle = () => { host.queue.runUntil(host.clock.now); };
  /** Grant mappings alive in the whole host (dom0's backends are the only mapper here). */
  const dom0Maps = () => (gnt.statsJson() as { liveMappings: number }).liveMappings;
  return { a, host, evtchn, gnt, store, xs: store.xs, dom0xs, backends, log, settle, dom0Maps, consoleText };
}

/** dom0Host with the echo backend registered with dom0's xenbus backends. */
export function xenbusHost(o: { rateLimiter?: BackendOptions['rateLimiter'] } = {}) {
  const h = dom0Host({ source: 'xenbusHost' });
  h.backends.register(new EchoBackend(), o.rateLimiter ? { rateLimiter: o.rateLimiter } : {});
  return h;
}
export type XenbusHost = ReturnType<typeof xenbusHost>;

export function guestDomain(h: XenbusHost, name: string): Domain<Vcpu> {
  return h.host.createDomain({ name, image: HELLO, memoryMiB: 4, paused: true });
}

/** The in-process echo frontend of domain `d`, device `devid`. */
export class TsEchoFrontend {
  readonly xs: XsClient;
  readonly dir: string;
  ref = 8;
  port = -1;
  prod = 0;
  cons = 0;
  private readonly rsp: echo_response_t = EchoResponseCodec.create();
  private readonly ent = new DataView(new ArrayBuffer(16));

  constructor(readonly h: XenbusHost, readonly d: Domain<Vcpu>, readonly devid = 0) {
    this.xs = connectLocal(h.xs, d.domid);
    this.dir = `/local/domain/${d.domid}/device/echo/${devid}`;
  }

  /** The toolstack's part: the device directories (libxl__device_generic_add). */
  add(): this {
    addDevice(this.h.dom0xs, { kind: 'echo', domid: this.d.domid, devid: this.devid });
    this.h.settle();
    return this;
  }

  state(): number { return Number(this.xs.tryRead(`${this.dir}/state`)); }
  backendState(): number { return Number(this.xs.tryRead(`${this.xs.read(`${this.dir}/backend`)}/state`)); }
  setState(s: number): void { this.xs.write(`${this.dir}/state`, String(s)); this.h.settle(); }

  /** SHARED_RING_INIT + grant + port + xenstore keys + Initialised (a Linux frontend's talk_to_backend). */
  connect(o: { ref?: number; grant?: boolean; port?: number } = {}): void {
    const a = this.d.access;
    a.write(RING_GPA, new Uint8Array(4096));
    a.writeU32(RING_GPA + 4, 1); // req_event
    a.writeU32(RING_GPA + 12, 1); // rsp_event
    this.prod = this.cons = 0;
    if (o.grant !== false) expectOk(this.h.gnt.grantForeignAccess(this.d.domid, this.ref, 0, RING_GPA / 4096), 'grant');
    this.port = o.port ?? this.h.evtchn.allocUnbound(this.d.domid, 0);
    this.xs.transaction((tx) => {
      this.xs.write(`${this.dir}/ring-ref`, String(o.ref ?? this.ref), tx);
      this.xs.write(`${this.dir}/event-channel`, String(this.port), tx);
      this.xs.write(`${this.dir}/state`, String(XenbusState.Initialised), tx);
    });
    this.h.settle();
  }

  /** Puts `n` ECHO requests (ids from `this.prod`), publishes req_prod and notifies. */
  send(n: number, op = 0): void {
    for (let i = 0; i < n; i++) this.putRequest(this.prod + i, op, (this.prod + i) * 2654435761);
    this.prod = (this.prod + n) >>> 0;
    this.publish(this.prod);
  }

  putRequest(idx: number, op: number, value: number): void {
    EchoRequestCodec.write(this.ent, 0, { id: idx >>> 0, op, value: value >>> 0 });
    this.d.access.write(RING_GPA + SRING_HEADER_SIZE + (idx & 127) * 16, new Uint8Array(this.ent.buffer));
  }

  /** Writes req_prod (any value: hostile callers pass wild ones) and notifies the backend. */
  publish(reqProd: number): void {
    this.d.access.writeU32(RING_GPA, reqProd >>> 0);
    this.kick();
  }

  /** EVTCHNOP_send from the guest's vCPU. */
  kick(): number {
    this.d.access.writeU32(SCRATCH_GPA, this.port);
    return this.h.host.hypercalls.dispatch(this.d.vcpus[0]!, Hypercall.event_channel_op, { a0: EvtchnOp.send, a1: SCRATCH_GPA, a2: 0, a3: 0, a4: 0, a5: 0 });
  }

  /** Responses published and not yet taken, checked: [ok, bad]. */
  takeResponses(): { ok: number; bad: number; status: number[] } {
    const out = { ok: 0, bad: 0, status: [] as number[] };
    const rspProd = this.d.access.readU32(RING_GPA + 8);
    while (this.cons !== rspProd) {
      const b = new Uint8Array(16);
      this.d.access.read(RING_GPA + SRING_HEADER_SIZE + (this.cons & 127) * 16, b);
      EchoResponseCodec.read(new DataView(b.buffer), 0, this.rsp);
      const want = ~((this.rsp.id * 2654435761) >>> 0) >>> 0;
      if (this.rsp.status === 0 && this.rsp.id === this.cons && this.rsp.value === want) out.ok++;
      else { out.bad++; out.status.push(this.rsp.status); }
      this.cons = (this.cons + 1) >>> 0;
    }
    return out;
  }
}

function expectOk(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what}: ${rc}`);
}
