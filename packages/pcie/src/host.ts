/**
 * Building a host's PCIe from its config: the topology string (`components.pcie.topology`), the
 * device-model plugins, the address map, and the dom0 enumeration over ECAM.
 *
 * Topology string (one channel per `;`, its root ports separated by `,`):
 *   port    := '-' | model | 'switch(' port (',' port)* ')'
 *   model   := a registered device model name (edu, edu-ari, ...)
 * e.g. "edu" (the default: one channel, one root port, edu behind it),
 *      "edu, switch(edu, edu-ari, -); edu" (two channels; a switch with three downstream ports).
 * Root port i of a channel is device i on its root bus; downstream port j of a switch is device j
 * on the upstream port's secondary bus.
 */
import { ConfigError, type IoTranslator, type MsiRemapper } from '@tachyxx/core';
import { MmioBus, type PhysMemory } from '@tachyxx/isa';
import { Bridge, type Endpoint, type PciFunction } from './function.js';
import { EduDevice, type DeviceTimer } from './edu.js';
import { PCI_ACS_CR, PCI_ACS_RR, PCI_ACS_SV, PCI_ACS_TB, PCI_ACS_UF } from './capabilities.js';
import { ECAM_SEGMENT_SIZE, PcieSubsystem, RootComplex, type PciBus } from './topology.js';
import { ecamAccess, enumerate, type EnumeratedFunction } from './enumerate.js';
import { lspciDump, type ListedFunction } from './lspci.js';

/** A device model plugin: builds the function(s) of one endpoint device. */
export interface DeviceModel {
  readonly name: string;
  readonly description: string;
  /** Parameter names the model takes in the topology string (`model(key=value, ...)`); none when absent. */
  readonly params?: readonly string[];
  /** Builds the device; `params` holds the topology string's key=value pairs (validated by `check`). */
  create(ctx: { name: string; timer: DeviceTimer; params: Readonly<Record<string, string>> }): Endpoint;
  /** Checks `params` at config time: an error message (named in the ConfigError) or null. */
  check?(params: Readonly<Record<string, string>>): string | null;
}

const MODELS = new Map<string, DeviceModel>();

/** Registers a device model (a package's plugin entry); a second model with a taken name throws. */
export function registerDeviceModel(m: DeviceModel): void {
  if (MODELS.has(m.name)) throw new Error(`PCIe device model '${m.name}' is already registered`);
  MODELS.set(m.name, m);
}
export function deviceModels(): DeviceModel[] {
  return [...MODELS.values()];
}

registerDeviceModel({ name: 'edu', description: "QEMU's edu DMA test device (1234:11e8) with MSI-X", create: (c) => new EduDevice({ name: c.name, timer: c.timer }) });
registerDeviceModel({
  name: 'edu-ari',
  description: 'edu with ARI and ACS extended capabilities (as a multi-function / SR-IOV PF would carry)',
  create: (c) => new EduDevice({ name: c.name, timer: c.timer, ari: { nextFunction: 0 }, acs: PCI_ACS_SV | PCI_ACS_TB | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF }),
});

// ---- topology spec ----

export type PortSpec = { kind: 'empty' } | { kind: 'device'; model: string; params?: Record<string, string> } | { kind: 'switch'; ports: PortSpec[] };
export interface TopologySpec { channels: PortSpec[][] }

/** Most root ports per channel and downstream ports per switch: device numbers 0-31. */
export const MAX_PORTS = 32;
/** Most channels (PCI segments) per host. */
export const MAX_CHANNELS = 16;
export const DEFAULT_TOPOLOGY = 'edu';

/** Parses a topology string; ConfigError naming `where` and the column on bad input. */
export function parseTopology(text: string, where = 'components.pcie.topology', file?: string): TopologySpec {
  let i = 0;
  const fail = (reason: string): never => {
    throw new ConfigError({ file, keyPath: where, reason: `${reason} at column ${i + 1} of '${text}'`, allowed: [...MODELS.keys(), 'switch(...)', '-'] });
  };
  const ws = () => { while (i < text.length && /\s/.test(text[i]!)) i++; };
  const word = () => { ws(); const m = /^[A-Za-z0-9_-]+/.exec(text.slice(i)); if (!m) return ''; i += m[0].length; return m[0]; };
  const port = (depth: number): PortSpec => {
    ws();
    if (text[i] === '-' && !/[A-Za-z0-9]/.test(text[i + 1] ?? '')) { i++; return { kind: 'empty' }; }
    const start = i;
    const w = word();
    if (w === '') fail('expected a device model, switch(...) or -');
    if (w === 'switch') {
      ws();
      if (text[i] !== '(') fail("expected '(' after switch");
      if (depth >= 4) fail('switches nest at most 4 deep');
      i++;
      const ports = list(depth + 1);
      ws();
      if (text[i] !== ')') fail("expected ')'");
      i++;
      return { kind: 'switch', ports };
    }
    if (!MODELS.has(w)) { i = start; fail(`unknown device model '${w}'`); }
    ws();
    if (text[i] !== '(') return { kind: 'device', model: w };
    // model(key=value, ...): the model's own parameters (e.g. sriov-nic(vfs=4, switch=vepa)).
    const model = MODELS.get(w)!;
    const params: Record<string, string> = {};
    i++;
    for (;;) {
      ws();
      if (text[i] === ')') { i++; break; }
      const k = word();
      if (k === '') fail(`expected a parameter of ${w}`);
      if (!(model.params ?? []).includes(k)) { i -= k.length; fail(`${w} has no parameter '${k}' (it takes: ${(model.params ?? []).join(', ') || 'none'})`); }
      ws();
      if (text[i] !== '=') fail(`expected '=' after ${k}`);
      i++;
      const v = word();
      if (v === '') fail(`expected a value for ${w} ${k}`);
      params[k] = v;
      ws();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ')') { i++; break; }
      fail(`expected ',' or ')' in the parameters of ${w}`);
    }
    const bad = model.check?.(params) ?? null;
    if (bad !== null) fail(`${w}: ${bad}`);
    return { kind: 'device', model: w, params };
  };
  const list = (depth: number): PortSpec[] => {
    const ports = [port(depth)];
    for (ws(); text[i] === ','; ws()) { i++; ports.push(port(depth)); }
    if (ports.length > MAX_PORTS) fail(`more than ${MAX_PORTS} ports`);
    return ports;
  };
  const channels: PortSpec[][] = [];
  ws();
  if (i >= text.length) return { channels: [] };
  channels.push(list(0));
  for (ws(); text[i] === ';'; ws()) { i++; channels.push(list(0)); }
  ws();
  if (i < text.length) fail(`unexpected '${text[i]}'`);
  if (channels.length > MAX_CHANNELS) fail(`more than ${MAX_CHANNELS} channels`);
  return { channels };
}

// ---- address map ----

export interface PcieLayout {
  /** ECAM of channel k at ecamBase + k * 256 MiB. Default 0x4_0000_0000 (above RAM, which ends at most at 6 GiB). */
  ecamBase: number;
  /** The 32-bit MMIO window split evenly among channels. Default [0x4000_0000, +1 GiB) (below RAM at 2 GiB). */
  mmioBase: number;
  mmioSize: number;
}
export const DEFAULT_LAYOUT: PcieLayout = { ecamBase: 0x4_0000_0000, mmioBase: 0x4000_0000, mmioSize: 0x4000_0000 };

/** Root port / switch identities (QEMU's models: pcie-root-port, x3130-upstream / xio3130-downstream). */
export const ROOT_PORT_ID = { vendorId: 0x1b36, deviceId: 0x000c, classCode: 0x060400 };
export const SWITCH_UP_ID = { vendorId: 0x104c, deviceId: 0x8232, revision: 0x02, classCode: 0x060400 };
export const SWITCH_DOWN_ID = { vendorId: 0x104c, deviceId: 0x8233, revision: 0x01, classCode: 0x060400 };

export interface PcieHostOptions {
  mem: PhysMemory;
  /** The host's MMIO bus (default: mem.mmio, or a new bus attached to mem). */
  bus?: MmioBus;
  topology: TopologySpec | string;
  timer: DeviceTimer;
  layout?: Partial<PcieLayout>;
  /** Per-channel IOMMU / interrupt-remapper (default: IdentityTranslator / DirectMsiRemapper). */
  translator?: (channel: number) => IoTranslator | undefined;
  remapper?: (channel: number) => MsiRemapper | undefined;
  /**
   * Dom0 drivers that probe once enumeration is done (as Linux drivers bind after the PCI scan):
   * e.g. an SR-IOV PF driver enabling its VFs at boot. Run in order by `enumerate`.
   */
  bootDrivers?: readonly ((host: PcieHost) => void)[];
}

export class PcieHost {
  readonly rc: RootComplex;
  readonly bus: MmioBus;
  readonly layout: PcieLayout;
  readonly endpoints: Endpoint[] = [];
  private enumerated: EnumeratedFunction[] | null = null;
  private readonly bootDrivers: readonly ((host: PcieHost) => void)[];

  constructor(o: PcieHostOptions) {
    this.bootDrivers = o.bootDrivers ?? [];
    this.layout = { ...DEFAULT_LAYOUT, ...o.layout };
    const bus = o.bus ?? o.mem.mmio ?? new MmioBus();
    if (o.mem.mmio === null) o.mem.mmio = bus;
    else if (o.mem.mmio !== bus) throw new Error('PcieHost: the memory already has another MMIO bus');
    this.bus = bus;
    this.rc = new RootComplex(bus);
    const spec = typeof o.topology === 'string' ? parseTopology(o.topology) : o.topology;
    const n = spec.channels.length;
    const share = n === 0 ? 0 : Math.floor(this.layout.mmioSize / n / (1 << 20)) * (1 << 20);
    spec.channels.forEach((ports, k) => {
      const ss = new PcieSubsystem(o.mem, {
        segment: k, ecamBase: this.layout.ecamBase + k * ECAM_SEGMENT_SIZE,
        mmioBase: this.layout.mmioBase + k * share, mmioSize: share,
        translator: o.translator?.(k), remapper: o.remapper?.(k), now: () => o.timer.now(),
      });
      if (o.timer.poll !== undefined) ss.poll = () => o.timer.poll!();
      this.rc.addChannel(ss);
      ports.forEach((p, i) => {
        const rp = new Bridge(`${k}/rp${i}`, { identity: ROOT_PORT_ID, type: 'root-port', port: i, slot: k * MAX_PORTS + i });
        ss.attach(rp, ss.rootBus, i << 3);
        this.populate(ss, rp, p, `${k}/rp${i}`, o.timer);
      });
    });
  }

  private populate(ss: PcieSubsystem, port: Bridge, p: PortSpec, path: string, timer: DeviceTimer): void {
    if (p.kind === 'empty') return;
    if (p.kind === 'device') {
      const dev = MODELS.get(p.model)!.create({ name: `${path}/${p.model}`, timer, params: p.params ?? {} });
      ss.attach(dev, port.secondary, 0);
      this.endpoints.push(dev);
      return;
    }
    const up = new Bridge(`${path}/sw`, { identity: SWITCH_UP_ID, type: 'upstream' });
    ss.attach(up, port.secondary, 0);
    p.ports.forEach((q, j) => {
      const down = new Bridge(`${path}/sw/dp${j}`, { identity: SWITCH_DOWN_ID, type: 'downstream', port: j, slot: 0 });
      ss.attach(down, up.secondary as PciBus, j << 3);
      this.populate(ss, down, q, `${path}/sw/dp${j}`, timer);
    });
  }

  get channels(): readonly PcieSubsystem[] { return this.rc.channels; }

  /** Dom0's boot-time enumeration over ECAM (bus numbers, BARs, windows, decoding). Once. */
  enumerate(): EnumeratedFunction[] {
    if (this.enumerated === null) {
      const ecam = ecamAccess(this.bus, (s) => this.rc.channels[s]!.ecamBase);
      this.enumerated = enumerate(ecam, this.rc.channels.map((c) => ({ segment: c.segment, mmioBase: c.mmioBase, mmioSize: c.mmioSize })));
      for (const d of this.bootDrivers) d(this);
    }
    return this.enumerated;
  }

  /** Every function with its address as software sees it now. */
  listed(): ListedFunction[] {
    return this.rc.functions().map(({ ss, fn }) => ({ segment: ss.segment, bus: fn.busNumber, devfn: fn.devfn, fn }));
  }

  /** `lspci -xxxx` of every function, read through ECAM. */
  lspci(): string {
    const ecam = ecamAccess(this.bus, (s) => this.rc.channels[s]!.ecamBase);
    return lspciDump(this.listed(), (f, off) => ecam.read(f.segment, f.bus, f.devfn, off, 1));
  }

  /** The function named `name` (e.g. "0/rp0/edu"). */
  find(name: string): PciFunction | undefined {
    return this.rc.functions().find(({ fn }) => fn.name === name)?.fn;
  }
}
