/**
 * The PCIe topology: a root complex with N channels, each into a PCIe subsystem (PCIeSS, the
 * book's chapter 9) that is one PCI segment with its own ECAM window, its IoTranslator (IOMMU
 * slot) and MsiRemapper (interrupt-remapper slot), root ports on its root bus, optional switches
 * (an upstream port and downstream ports) and endpoints behind them.
 *
 * Config requests route as on hardware: bus 0 of a segment is its root bus; a bridge forwards a
 * request for bus B to its secondary bus when B == secondary (type 0 there) or further down when
 * secondary < B <= subordinate; on a link (below a root or downstream port) only device 0 exists
 * unless the port has ARI Forwarding enabled. Memory requests (BARs) reach a function only when
 * every bridge above it has Memory Space on and a window holding the range: the MMIO bus gets a
 * region per decoded BAR, recomputed after every config write that can change decoding.
 */
import type { IoFault, IoTranslator, MsiRemapper } from '@tachyxx/core';
import type { MmioBus, MmioRegion, MmioValue, PhysMemory } from '@tachyxx/isa';
import { Bridge, type FunctionHost, type PciFunction } from './function.js';
import { DirectMsiRemapper, IdentityTranslator } from './io-none.js';

/** ECAM: 1 MiB per bus (32 devices x 8 functions x 4 KiB), 256 buses per segment (PCIe r4.0 7.2.2). */
export const ECAM_BUS_SIZE = 1 << 20;
export const ECAM_SEGMENT_SIZE = 256 * ECAM_BUS_SIZE;
/** Faults a PCIeSS keeps (the oldest are dropped; `faultCount` counts all). */
export const PCIESS_FAULT_LOG = 64;

export interface PcieSubsystemOptions {
  segment: number;
  ecamBase: number;
  /** The channel's non-prefetchable MMIO window (BARs are assigned inside it). */
  mmioBase: number;
  mmioSize: number;
  translator?: IoTranslator;
  remapper?: MsiRemapper;
  /** Simulated time source (ns). */
  now?: () => number;
}

export interface PcieSsStats {
  configReads: number;
  configWrites: number;
  /** Config requests to a bus/device/function nothing answers (read as all ones). */
  unsupportedConfig: number;
  dmaTranslations: number;
  msiSent: number;
  msiBlocked: number;
}

/** A bus: its number and the functions on it by devfn. */
export interface PciBus {
  readonly number: number;
  readonly functions: Map<number, PciFunction>;
}

export class PcieSubsystem implements FunctionHost {
  readonly segment: number;
  readonly ecamBase: number;
  readonly mmioBase: number;
  readonly mmioSize: number;
  /** The IOMMU slot (identity without one). */
  translator: IoTranslator;
  /** The interrupt-remapper slot (direct delivery without one). */
  remapper: MsiRemapper;
  readonly rootBus: PciBus = { number: 0, functions: new Map() };
  readonly stats: PcieSsStats = { configReads: 0, configWrites: 0, unsupportedConfig: 0, dmaTranslations: 0, msiSent: 0, msiBlocked: 0 };
  readonly faults: IoFault[] = [];
  faultCount = 0;
  private readonly clock: () => number;
  /** Set by the root complex. */
  rc: RootComplex | null = null;
  /** Runs due device events before an access (a PolledTimer's poll), or null. */
  poll: (() => void) | null = null;

  constructor(readonly mem: PhysMemory, o: PcieSubsystemOptions) {
    this.segment = o.segment;
    this.ecamBase = o.ecamBase;
    this.mmioBase = o.mmioBase;
    this.mmioSize = o.mmioSize;
    this.translator = o.translator ?? new IdentityTranslator();
    this.remapper = o.remapper ?? new DirectMsiRemapper();
    this.clock = o.now ?? (() => 0);
  }

  /** Puts `fn` at `devfn` on `bus` (the root bus, or a bridge's secondary bus). */
  attach(fn: PciFunction, bus: PciBus, devfn: number): PciFunction {
    if (!Number.isInteger(devfn) || devfn < 0 || devfn > 255) throw new RangeError(`devfn ${devfn}`);
    for (const other of this.functions()) if (other.name === fn.name) throw new Error(`PCIeSS ${this.segment}: two functions named ${fn.name}`);
    if (bus.functions.has(devfn)) throw new Error(`${fn.name}: devfn ${devfn.toString(16)} already holds ${bus.functions.get(devfn)!.name}`);
    fn.devfn = devfn;
    fn.bus = bus;
    fn.host = this;
    bus.functions.set(devfn, fn);
    return fn;
  }

  /** Every function, depth first from the root bus. */
  functions(): PciFunction[] {
    const out: PciFunction[] = [];
    const walk = (bus: PciBus) => {
      for (const devfn of [...bus.functions.keys()].sort((a, b) => a - b)) {
        const f = bus.functions.get(devfn)!;
        out.push(f);
        if (f instanceof Bridge) walk(f.secondary);
      }
    };
    walk(this.rootBus);
    return out;
  }

  /** The bridges above `fn`, nearest first. */
  upstreamOf(fn: PciFunction): Bridge[] {
    const out: Bridge[] = [];
    const find = (bus: PciBus, path: Bridge[]): boolean => {
      for (const f of bus.functions.values()) {
        if (f === fn) { out.push(...path.reverse()); return true; }
        if (f instanceof Bridge && find(f.secondary, [...path, f])) return true;
      }
      return false;
    };
    find(this.rootBus, []);
    return out;
  }

  /** The function a config request for (bus, devfn) reaches, or null. */
  route(bus: number, devfn: number): PciFunction | null {
    if (bus === 0) return this.rootBus.functions.get(devfn) ?? null;
    return this.routeBelow(this.rootBus, bus, devfn);
  }

  private routeBelow(on: PciBus, bus: number, devfn: number): PciFunction | null {
    for (const f of on.functions.values()) {
      if (!(f instanceof Bridge)) continue;
      const r = f.busRange;
      if (r === null || bus < r[0] || bus > r[1]) continue;
      if (bus === r[0]) {
        // Type 0 on the secondary bus. Below a port (a link) only device 0 answers, unless ARI
        // forwarding is on (then devfn is an 8-bit function number).
        const link = f.type !== 'upstream';
        if (link && (devfn >>> 3) !== 0 && !f.ariForwardingEnabled) return null;
        return f.secondary.functions.get(devfn) ?? null;
      }
      return this.routeBelow(f.secondary, bus, devfn);
    }
    return null;
  }

  // ---- ECAM ----

  /** An ECAM config read at `off` within this segment's window (1, 2 or 4 bytes, aligned). */
  ecamRead(off: number, size: number): number {
    this.stats.configReads++;
    const f = this.route(Math.floor(off / ECAM_BUS_SIZE) & 0xff, (off >>> 12) & 0xff);
    if (f === null) { this.stats.unsupportedConfig++; return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff; }
    return f.configRead(off & 0xfff, size);
  }

  ecamWrite(off: number, size: number, value: number): void {
    this.stats.configWrites++;
    const f = this.route(Math.floor(off / ECAM_BUS_SIZE) & 0xff, (off >>> 12) & 0xff);
    if (f === null) { this.stats.unsupportedConfig++; return; }
    f.configWrite(off & 0xfff, size, value);
  }

  /** The MMIO handler of the ECAM window (8-byte accesses become two 4-byte ones). */
  readonly ecamHandler = {
    read: (o: number, size: number, out: MmioValue): void => {
      this.poll?.();
      if (size === 8) { out.lo = this.ecamRead(o, 4) | 0; out.hi = this.ecamRead(o + 4, 4) | 0; return; }
      out.lo = this.ecamRead(o, size) | 0;
    },
    write: (o: number, size: number, lo: number, hi: number): void => {
      this.poll?.();
      if (size === 8) { this.ecamWrite(o, 4, lo >>> 0); this.ecamWrite(o + 4, 4, hi >>> 0); return; }
      this.ecamWrite(o, size, lo >>> 0);
    },
  };

  // ---- FunctionHost ----

  translate(rid: number, iova: number, access: number, cost: { cycles: number }): number {
    this.stats.dmaTranslations++;
    return this.translator.translate(rid, iova, access, cost);
  }

  msi(rid: number, addr: number, data: number): boolean {
    const ok = this.remapper.msi(rid, addr, data);
    if (ok) this.stats.msiSent++; else this.stats.msiBlocked++;
    return ok;
  }

  upstreamMastering(fn: PciFunction): boolean {
    return this.upstreamOf(fn).every((b) => b.busMaster);
  }

  recordFault(fault: IoFault): void {
    this.faultCount++;
    this.faults.push(fault);
    if (this.faults.length > PCIESS_FAULT_LOG) this.faults.shift();
  }

  now(): number {
    return this.clock();
  }

  configChanged(): void {
    this.rc?.refreshDecoding();
  }
}

/**
 * The root complex: the channels and their ECAM windows on the host's MMIO bus, and the BAR
 * regions of every function that currently decodes.
 */
export class RootComplex {
  readonly channels: PcieSubsystem[] = [];
  private readonly ecamRegions: MmioRegion[] = [];
  /** Decoded BAR regions: key "segment/rid/bar". */
  private readonly barRegions = new Map<string, { region: MmioRegion; addr: number; size: number; fn: PciFunction }>();
  /** BARs that decode but overlap another region (left unmapped: a broken assignment). */
  barConflicts = 0;

  constructor(readonly bus: MmioBus) {}

  addChannel(ss: PcieSubsystem): PcieSubsystem {
    ss.rc = this;
    this.channels.push(ss);
    this.ecamRegions.push(this.bus.add(ss.ecamBase, ECAM_SEGMENT_SIZE, ss.ecamHandler, `ecam${ss.segment}`));
    return ss;
  }

  /** Every function of every channel, with its segment. */
  functions(): { ss: PcieSubsystem; fn: PciFunction }[] {
    return this.channels.flatMap((ss) => ss.functions().map((fn) => ({ ss, fn })));
  }

  /** The BAR regions on the MMIO bus now. */
  decodedRegions(): { fn: PciFunction; addr: number; size: number }[] {
    return [...this.barRegions.values()].map(({ fn, addr, size }) => ({ fn, addr, size }));
  }

  /** Recomputes which BARs decode (after a config write that can change it). */
  refreshDecoding(): void {
    const want = new Map<string, { addr: number; size: number; fn: PciFunction; bar: number }>();
    for (const ss of this.channels) {
      for (const fn of ss.functions()) {
        const bars = fn.decodedBars();
        if (bars.length === 0) continue;
        const ups = ss.upstreamOf(fn);
        for (const b of bars) {
          if (b.addr < ss.mmioBase || b.addr + b.size > ss.mmioBase + ss.mmioSize) continue; // outside the channel's window: not routed
          if (ups.every((br) => br.forwards(b.addr, b.size))) want.set(`${ss.segment}/${fn.name}/${b.bar}`, { ...b, fn });
        }
      }
    }
    for (const [k, cur] of this.barRegions) {
      const w = want.get(k);
      if (w === undefined || w.addr !== cur.addr || w.size !== cur.size || w.fn !== cur.fn) {
        this.bus.remove(cur.region);
        this.barRegions.delete(k);
      }
    }
    for (const [k, w] of want) {
      if (this.barRegions.has(k)) continue;
      const h = w.fn.barHandler(w.bar);
      const poll = w.fn.host instanceof PcieSubsystem ? w.fn.host.poll : null;
      const handler = poll === null ? h : {
        read: (o: number, size: number, out: MmioValue) => { poll(); h.read(o, size, out); },
        write: (o: number, size: number, lo: number, hi: number) => { poll(); h.write(o, size, lo, hi); },
      };
      const region = this.bus.tryAdd(w.addr, w.size, handler, `${w.fn.name} BAR${w.bar}`);
      if (region === null) { this.barConflicts++; continue; }
      this.barRegions.set(k, { region, addr: w.addr, size: w.size, fn: w.fn });
    }
  }
}
