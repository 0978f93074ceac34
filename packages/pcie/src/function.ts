/**
 * PCI functions: the common model (config space with its side effects, BARs, MSI-X, FLR, DMA)
 * and the two header types: `Endpoint` (type 0; device models extend it) and `Bridge` (type 1:
 * root ports and switch ports).
 */
import { DMA_READ, DMA_WRITE, type IoFault, type IoFaultKind } from '@tachyxx/core';
import type { MmioHandler, MmioValue } from '@tachyxx/isa';
import {
  ConfigSpace, PCI_BASE_ADDRESS_0, PCI_CLASS_PROG, PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, PCI_COMMAND_MASTER,
  PCI_COMMAND_MEMORY, PCI_COMMAND_SERR, PCI_DEVICE_ID, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE, PCI_INTERRUPT_LINE,
  PCI_INTERRUPT_PIN, PCI_MEMORY_BASE, PCI_MEMORY_LIMIT, PCI_PREF_BASE_UPPER32, PCI_PREF_LIMIT_UPPER32, PCI_PREF_MEMORY_BASE,
  PCI_PREF_MEMORY_LIMIT, PCI_PRIMARY_BUS, PCI_IO_BASE, PCI_REVISION_ID, PCI_SECONDARY_BUS, PCI_STATUS, PCI_STATUS_W1C, PCI_SUBORDINATE_BUS,
  PCI_SUBSYSTEM_ID, PCI_SUBSYSTEM_VENDOR_ID, PCI_VENDOR_ID, PCI_BRIDGE_CONTROL, PCI_CACHE_LINE_SIZE, PCI_SEC_STATUS,
} from './config-space.js';
import {
  addAcsCapability, addAriCapability, addMsixCapability, addPcieCapability, addPmCapability, barAddress,
  PCI_EXP_DEVCAP, PCI_EXP_DEVCAP_FLR, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL2, PCI_EXP_DEVCTL2_ARI, PCI_EXP_DEVCTL_BCR_FLR,
  PCI_MSIX_FLAGS, PCI_PM_CTRL, PCI_PM_CTRL_STATE_MASK, setupMemoryBar, type PcieType,
} from './capabilities.js';
import { Msix } from './msix.js';

/** Status: Received Master Abort (a DMA to an address nothing claims, PCIe Unsupported Request). */
export const PCI_STATUS_REC_MASTER_ABORT = 0x2000;

/** What a function needs from the PCIe subsystem it sits in (implemented by PcieSubsystem). */
export interface FunctionHost {
  /** Machine memory for DMA (PhysMemory of the host). */
  readonly mem: { readonly base: number; readonly size: number; readonly u8: Uint8Array; notifyWrite(off: number, len: number): void };
  /** Translates one page for `rid` (IoTranslator). */
  translate(rid: number, iova: number, access: number, cost: { cycles: number }): number;
  /** MSI write from `rid` (MsiRemapper). */
  msi(rid: number, addr: number, data: number): boolean;
  /** True when every bridge above `fn` has Bus Master Enable (forwards its requests upstream). */
  upstreamMastering(fn: PciFunction): boolean;
  /** Records a fault the subsystem itself detects (bus master off). */
  recordFault(fault: IoFault): void;
  /** Simulated ns now. */
  now(): number;
  /** Config space or decoding changed: recompute BAR decoding. */
  configChanged(): void;
}

export interface Identity {
  vendorId: number;
  deviceId: number;
  revision?: number;
  /** 24-bit class code: base class 23:16, subclass 15:8, programming interface 7:0. */
  classCode: number;
  subsystemVendorId?: number;
  subsystemId?: number;
}

export interface BarSpec {
  /** Bytes, a power of two >= 16. */
  size: number;
  is64?: boolean;
  prefetch?: boolean;
}

/** The result of a DMA transfer. */
export interface DmaResult {
  ok: boolean;
  /** Bytes transferred before a fault (all of them when ok). */
  bytes: number;
  /** Simulated cycles the translations took. */
  cycles: number;
  /** The fault kind when !ok ('unsupported-request' = the machine address is not RAM). */
  fault?: IoFaultKind | 'unsupported-request';
}

const PAGE = 4096;

export abstract class PciFunction {
  readonly cs = new ConfigSpace();
  /** Device/function number on its bus (5 bits device, 3 bits function; an ARI function number). */
  devfn = 0;
  /** The bus this function sits on (set when attached). */
  bus: PciBusLike | null = null;
  /** PCIeSS the function belongs to (set when attached). */
  host: FunctionHost | null = null;
  /**
   * Passthrough hook: the domain that owns this function (0 = dom0, which enumerates it). The
   * passthrough work (xl pci-attach) changes it and maps the BARs with `mapBars`.
   */
  owner = 0;
  /** Offset of the PCI Express capability (0 = none). */
  pcieCap = 0;
  /** Offset of the power management capability (0 = none). */
  pmCap = 0;
  msix: Msix | null = null;
  /** FLRs performed. */
  flrCount = 0;

  protected constructor(readonly name: string) {}

  abstract readonly isBridge: boolean;

  /** The bus number the function is reachable at (its bus's current number). */
  get busNumber(): number { return this.bus?.number ?? 0; }
  /** Requester ID: bus 15:8, devfn 7:0. */
  get rid(): number { return ((this.busNumber & 0xff) << 8) | (this.devfn & 0xff); }
  get command(): number { return this.cs.get16(PCI_COMMAND); }
  get memoryEnabled(): boolean { return (this.command & PCI_COMMAND_MEMORY) !== 0; }
  get busMaster(): boolean { return (this.command & PCI_COMMAND_MASTER) !== 0; }
  /** PMCSR PowerState: 0 = D0 ... 3 = D3hot (0 without a PM capability). */
  get powerState(): number { return this.pmCap === 0 ? 0 : this.cs.get16(this.pmCap + PCI_PM_CTRL) & PCI_PM_CTRL_STATE_MASK; }

  protected setupHeader(id: Identity, headerType: number): void {
    const cs = this.cs;
    cs.set16(PCI_VENDOR_ID, id.vendorId);
    cs.set16(PCI_DEVICE_ID, id.deviceId);
    cs.set8(PCI_REVISION_ID, id.revision ?? 0);
    cs.set8(PCI_CLASS_PROG, id.classCode & 0xff);
    cs.set16(PCI_CLASS_PROG + 1, (id.classCode >>> 8) & 0xffff);
    cs.set8(PCI_HEADER_TYPE, headerType);
    cs.setWmask(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE | 0x40 /* parity */);
    cs.setW1cmask(PCI_STATUS, 2, PCI_STATUS_W1C);
    cs.setWmask(PCI_CACHE_LINE_SIZE, 1, 0xff);
    cs.setWmask(PCI_INTERRUPT_LINE, 1, 0xff);
  }

  /** A software config read (through ECAM). */
  configRead(off: number, size: number): number {
    return this.cs.read(off, size);
  }

  /** A software config write (through ECAM): masks, then the side effects. */
  configWrite(off: number, size: number, value: number): void {
    const oldCmd = this.command;
    let flr = false;
    const pc = this.pcieCap;
    if (pc !== 0 && off <= pc + PCI_EXP_DEVCTL + 1 && off + size > pc + PCI_EXP_DEVCTL + 1) {
      // Initiate Function Level Reset (Device Control bit 15): always reads 0.
      const shifted = Math.floor(value / 2 ** (8 * (pc + PCI_EXP_DEVCTL - off))) & 0xffff;
      flr = (shifted & PCI_EXP_DEVCTL_BCR_FLR) !== 0 && (this.cs.get32(pc + PCI_EXP_DEVCAP) & PCI_EXP_DEVCAP_FLR) !== 0;
    }
    const msixBefore = this.msix !== null ? this.cs.get16(this.msix.cap + PCI_MSIX_FLAGS) : 0;
    this.cs.write(off, size, value);
    if (flr) { this.functionLevelReset(); return; }
    if (this.msix !== null && this.cs.get16(this.msix.cap + PCI_MSIX_FLAGS) !== msixBefore) this.msix.flushPending();
    if (this.msix !== null && (this.command & PCI_COMMAND_MASTER) !== 0 && (oldCmd & PCI_COMMAND_MASTER) === 0) this.msix.flushPending();
    if (this.touchesDecoding(off, size) || this.command !== oldCmd) this.host?.configChanged();
    this.afterConfigWrite(off, size);
  }

  /** True when [off, off+size) covers a register that changes address decoding or routing. */
  protected abstract touchesDecoding(off: number, size: number): boolean;
  /** Model hook after a config write (e.g. SR-IOV control). */
  protected afterConfigWrite(_off: number, _size: number): void {}
  /** Model hook: reset the device's own state (FLR, hot reset). */
  protected resetDevice(): void {}

  /**
   * Function Level Reset (PCIe 6.6.2): the config space returns to its reset values (BARs,
   * command: no decoding, no bus mastering; MSI-X disabled, vectors masked), the device's state
   * is reset and its outstanding DMA is dropped.
   */
  functionLevelReset(): void {
    this.flrCount++;
    this.cs.reset();
    this.msix?.reset();
    this.resetDevice();
    this.host?.configChanged();
  }

  /** The memory BARs this function decodes now: [slot, address, size]. */
  abstract decodedBars(): { bar: number; addr: number; size: number }[];
  /** The handler serving BAR `bar`. */
  abstract barHandler(bar: number): MmioHandler;

  // ---------------------------------------------------------------- DMA

  /**
   * DMA read of `len` bytes at device address `iova` into `dst[at..]`, page by page through the
   * PCIeSS's IoTranslator. Without Bus Master Enable nothing is read (IoFault 'bus-master').
   * Never throws for device-programmed values.
   */
  dmaRead(iova: number, dst: Uint8Array, at: number, len: number): DmaResult {
    return this.dma(iova, dst, at, len, DMA_READ);
  }

  /** DMA write of `src[at..at+len)` to device address `iova` (see dmaRead). */
  dmaWrite(iova: number, src: Uint8Array, at: number, len: number): DmaResult {
    return this.dma(iova, src, at, len, DMA_WRITE);
  }

  private readonly cost = { cycles: 0 };
  private dma(iova: number, buf: Uint8Array, at: number, len: number, access: number): DmaResult {
    const host = this.host;
    const res: DmaResult = { ok: true, bytes: 0, cycles: 0 };
    if (host === null) throw new Error(`${this.name}: DMA before the function is attached to a PCIeSS`);
    if (!this.busMaster || !host.upstreamMastering(this)) {
      host.recordFault({ time: host.now(), rid: this.rid, addr: iova, kind: 'bus-master', access });
      res.ok = false; res.fault = 'bus-master';
      return res;
    }
    const mem = host.mem;
    let done = 0;
    while (done < len) {
      const a = iova + done;
      if (!Number.isSafeInteger(a) || a < 0) { res.ok = false; res.fault = 'translation'; break; }
      this.cost.cycles = 0;
      const ma = host.translate(this.rid, a, access, this.cost);
      res.cycles += this.cost.cycles;
      if (ma < 0) { res.ok = false; res.fault = 'translation'; break; }
      const n = Math.min(len - done, PAGE - (a % PAGE));
      const off = ma - mem.base;
      if (off < 0 || off + n > mem.size) {
        // Nothing claims the address: Unsupported Request, the requester sees a master abort.
        this.cs.set16(PCI_STATUS, this.cs.get16(PCI_STATUS) | PCI_STATUS_REC_MASTER_ABORT);
        res.ok = false; res.fault = 'unsupported-request';
        break;
      }
      if (access === DMA_READ) buf.set(mem.u8.subarray(off, off + n), at + done);
      else { mem.u8.set(buf.subarray(at + done, at + done + n), off); mem.notifyWrite(off, n); }
      done += n;
    }
    res.bytes = done;
    return res;
  }

  /** Sends MSI-X vector `v` (or sets its pending bit). False when not sent. */
  signal(v: number): boolean {
    if (this.msix === null) throw new Error(`${this.name} has no MSI-X capability`);
    return this.msix.notify(v);
  }

  // ---------------------------------------------------------------- passthrough hook

  /**
   * Maps this function's decoded BARs into a domain's stage 2 at guest-physical addresses equal
   * to their machine addresses (identity, as Xen's default for passthrough MMIO on Arm) or at
   * `gpaOf(ma)`. `map(gfn, mfn, nr)` is the hypervisor's P2M; returns the pages mapped.
   */
  mapBars(map: (gfn: number, mfn: number) => boolean, gpaOf: (ma: number) => number = (ma) => ma): number {
    let pages = 0;
    for (const b of this.decodedBars()) {
      const first = Math.floor(b.addr / PAGE), last = Math.floor((b.addr + b.size - 1) / PAGE);
      for (let p = first; p <= last; p++) if (map(Math.floor(gpaOf(p * PAGE) / PAGE), p)) pages++;
    }
    return pages;
  }
}

/** What a function needs to know about the bus it sits on. */
export interface PciBusLike {
  readonly number: number;
}

// =====================================================================================
// Type 0: endpoints
// =====================================================================================

export interface EndpointOptions {
  identity: Identity;
  /** BARs by slot (0-5); a 64-bit BAR takes its slot and the next. */
  bars?: readonly (BarSpec | null)[];
  /** Interrupt Pin (1 = INTA#); 0 = none. */
  interruptPin?: number;
  /** Multi-function device bit in Header Type. */
  multiFunction?: boolean;
  /** Capabilities. */
  pcie?: { flr?: boolean; linkSpeed?: number; linkWidth?: number };
  pm?: boolean;
  msix?: { vectors: number; tableBar: number; tableOffset: number; pbaBar: number; pbaOffset: number };
  /** ARI capability with this Next Function Number. */
  ari?: { nextFunction: number };
  /** ACS capability bits (multi-function devices may implement ACS). */
  acs?: number;
}

export abstract class Endpoint extends PciFunction {
  readonly isBridge = false;
  readonly barSpecs: (BarSpec | null)[] = [null, null, null, null, null, null];

  protected constructor(name: string, o: EndpointOptions) {
    super(name);
    this.setupHeader(o.identity, (o.multiFunction === true ? 0x80 : 0) | 0);
    const cs = this.cs;
    cs.set16(PCI_SUBSYSTEM_VENDOR_ID, o.identity.subsystemVendorId ?? o.identity.vendorId);
    cs.set16(PCI_SUBSYSTEM_ID, o.identity.subsystemId ?? 0);
    cs.set8(PCI_INTERRUPT_PIN, o.interruptPin ?? 0);
    const bars = o.bars ?? [];
    for (let i = 0; i < 6; i++) {
      const b = bars[i];
      if (b === null || b === undefined) continue;
      if (b.is64 === true && i === 5) throw new RangeError(`${name}: a 64-bit BAR cannot start at slot 5`);
      setupMemoryBar(cs, PCI_BASE_ADDRESS_0 + 4 * i, b.size, b.is64 === true, b.prefetch === true);
      this.barSpecs[i] = b;
      if (b.is64 === true) i++;
    }
    this.pcieCap = addPcieCapability(cs, { type: 'endpoint', flr: o.pcie?.flr ?? true, linkSpeed: o.pcie?.linkSpeed, linkWidth: o.pcie?.linkWidth });
    if (o.pm !== false) this.pmCap = addPmCapability(cs);
    if (o.msix !== undefined) {
      const m = o.msix;
      const tb = this.barSpecs[m.tableBar], pb = this.barSpecs[m.pbaBar];
      if (tb === null || tb === undefined || pb === null || pb === undefined) throw new RangeError(`${name}: MSI-X table/PBA BAR not implemented`);
      const cap = addMsixCapability(cs, m);
      const self = this;
      this.msix = new Msix(cs, cap, { send: (addr, data) => self.host?.msi(self.rid, addr, data) ?? false, get busMaster() { return self.busMaster; } });
      if (m.tableOffset + this.msix.tableSize > tb.size || m.pbaOffset + this.msix.pbaSize > pb.size) throw new RangeError(`${name}: MSI-X table or PBA runs past its BAR`);
    }
    if (o.ari !== undefined) addAriCapability(cs, o.ari.nextFunction);
    if (o.acs !== undefined) addAcsCapability(cs, o.acs);
  }

  /** Call at the end of the model's constructor (after its own capabilities). */
  protected seal(): void {
    this.cs.seal();
  }

  protected touchesDecoding(off: number, size: number): boolean {
    const pm = this.pmCap + PCI_PM_CTRL;
    return (off < PCI_BASE_ADDRESS_0 + 24 && off + size > PCI_BASE_ADDRESS_0) || (this.pmCap !== 0 && off <= pm && off + size > pm);
  }

  decodedBars(): { bar: number; addr: number; size: number }[] {
    const out: { bar: number; addr: number; size: number }[] = [];
    // Outside D0 a function answers config requests only (PCI PM 1.2 section 5.4.1: D1-D3hot).
    if (!this.memoryEnabled || this.powerState !== 0) return out;
    for (let i = 0; i < 6; i++) {
      const b = this.barSpecs[i];
      if (b === null || b === undefined) continue;
      const addr = barAddress(this.cs, PCI_BASE_ADDRESS_0 + 4 * i);
      if (addr !== 0) out.push({ bar: i, addr, size: b.size });
    }
    return out;
  }

  /** The device's own registers in BAR `bar` (MSI-X table / PBA ranges are served before it). */
  protected abstract deviceBar(bar: number): MmioHandler;

  private readonly barHandlers = new Map<number, MmioHandler>();
  barHandler(bar: number): MmioHandler {
    let h = this.barHandlers.get(bar);
    if (h === undefined) { h = this.makeBarHandler(bar); this.barHandlers.set(bar, h); }
    return h;
  }

  private makeBarHandler(bar: number): MmioHandler {
    const m = this.msix;
    const dev = this.deviceBar(bar);
    if (m === null || (m.tableBar !== bar && m.pbaBar !== bar)) return dev;
    const tOn = m.tableBar === bar, pOn = m.pbaBar === bar;
    return {
      read(o: number, size: number, out: MmioValue): void {
        if (tOn && o >= m.tableOffset && o < m.tableOffset + m.tableSize) m.readTable(o - m.tableOffset, size, out);
        else if (pOn && o >= m.pbaOffset && o < m.pbaOffset + m.pbaSize) m.readPba(o - m.pbaOffset, size, out);
        else dev.read(o, size, out);
      },
      write(o: number, size: number, lo: number, hi: number): void {
        if (tOn && o >= m.tableOffset && o < m.tableOffset + m.tableSize) m.writeTable(o - m.tableOffset, size, lo, hi);
        else if (pOn && o >= m.pbaOffset && o < m.pbaOffset + m.pbaSize) { /* the PBA is read-only */ }
        else dev.write(o, size, lo, hi);
      },
    };
  }
}

/** A handler that reads all ones and ignores writes (unimplemented register space). */
export const UNCLAIMED: MmioHandler = {
  read(_o: number, size: number, out: MmioValue): void { out.lo = size >= 4 ? -1 : size === 2 ? 0xffff : 0xff; out.hi = size === 8 ? -1 : 0; },
  write(): void {},
};

// =====================================================================================
// Type 1: root ports and switch ports
// =====================================================================================

export interface BridgeOptions {
  identity: Identity;
  type: Exclude<PcieType, 'endpoint'>;
  /** Port number (Link Capabilities). */
  port?: number;
  /** Slot number (root and downstream ports). */
  slot?: number;
  /** ARI Forwarding Supported (root and downstream ports; default true). */
  ariForwarding?: boolean;
  /** ACS capability bits (root and downstream ports; default SV|TB|RR|CR|UF; 0 = none). */
  acs?: number;
}

export class Bridge extends PciFunction {
  readonly isBridge = true;
  /** The functions on this bridge's secondary bus (set by the topology). */
  readonly secondary: { number: number; functions: Map<number, PciFunction> };
  readonly type: Exclude<PcieType, 'endpoint'>;

  constructor(name: string, o: BridgeOptions) {
    super(name);
    this.type = o.type;
    const self = this;
    this.secondary = { get number() { return self.cs.get8(PCI_SECONDARY_BUS); }, functions: new Map() };
    this.setupHeader(o.identity, PCI_HEADER_TYPE_BRIDGE);
    const cs = this.cs;
    cs.setWmask(PCI_PRIMARY_BUS, 3, 0xffffff); // primary, secondary, subordinate
    cs.setWmask(0x1b, 1, 0xff); // secondary latency timer
    cs.setW1cmask(PCI_SEC_STATUS, 2, PCI_STATUS_W1C);
    // I/O window registers are writable (16-bit decode) but the host has no I/O space: the
    // enumerator closes the window (base > limit), as Linux does for a bridge without I/O below it.
    cs.setWmask(PCI_IO_BASE, 2, 0xf0f0);
    cs.set16(PCI_MEMORY_BASE, 0); cs.setWmask(PCI_MEMORY_BASE, 2, 0xfff0);
    cs.set16(PCI_MEMORY_LIMIT, 0); cs.setWmask(PCI_MEMORY_LIMIT, 2, 0xfff0);
    // 64-bit prefetchable window (low nibble 1 = 64-bit addressing).
    cs.set16(PCI_PREF_MEMORY_BASE, 1); cs.setWmask(PCI_PREF_MEMORY_BASE, 2, 0xfff0);
    cs.set16(PCI_PREF_MEMORY_LIMIT, 1); cs.setWmask(PCI_PREF_MEMORY_LIMIT, 2, 0xfff0);
    cs.setWmask(PCI_PREF_BASE_UPPER32, 4, 0xffffffff);
    cs.setWmask(PCI_PREF_LIMIT_UPPER32, 4, 0xffffffff);
    cs.setWmask(PCI_BRIDGE_CONTROL, 2, 0x0043); // parity error response, SERR# enable, secondary bus reset
    cs.setWmask(PCI_INTERRUPT_LINE, 1, 0xff);
    const downstreamPort = o.type !== 'upstream';
    this.pcieCap = addPcieCapability(cs, {
      type: o.type, port: o.port, slot: downstreamPort ? o.slot : undefined,
      ariForwarding: downstreamPort && (o.ariForwarding ?? true),
    });
    addPmCapability(cs);
    if (downstreamPort && (o.acs ?? 1) !== 0) addAcsCapability(cs, o.acs);
    cs.seal();
  }

  protected touchesDecoding(off: number, size: number): boolean {
    return off < 0x30 && off + size > PCI_PRIMARY_BUS;
  }

  /** ARI Forwarding Enable (Device Control 2): the secondary bus's device number is part of an 8-bit function number. */
  get ariForwardingEnabled(): boolean {
    return this.pcieCap !== 0 && (this.cs.get16(this.pcieCap + PCI_EXP_DEVCTL2) & PCI_EXP_DEVCTL2_ARI) !== 0;
  }

  /** Bus numbers [secondary, subordinate] this bridge forwards config requests to (null when unassigned). */
  get busRange(): [number, number] | null {
    const sec = this.cs.get8(PCI_SECONDARY_BUS), sub = this.cs.get8(PCI_SUBORDINATE_BUS);
    return sec === 0 || sub < sec ? null : [sec, sub];
  }

  /** Whether the bridge forwards a memory request for `addr` downstream (Memory Space on and a window holds it). */
  forwards(addr: number, size: number): boolean {
    if (!this.memoryEnabled) return false;
    const cs = this.cs;
    const mb = (cs.get16(PCI_MEMORY_BASE) & 0xfff0) * 65536, ml = (cs.get16(PCI_MEMORY_LIMIT) & 0xfff0) * 65536 + 0xfffff;
    if (mb <= ml && addr >= mb && addr + size - 1 <= ml) return true;
    const pb = cs.get32(PCI_PREF_BASE_UPPER32) * 2 ** 32 + (cs.get16(PCI_PREF_MEMORY_BASE) & 0xfff0) * 65536;
    const pl = cs.get32(PCI_PREF_LIMIT_UPPER32) * 2 ** 32 + (cs.get16(PCI_PREF_MEMORY_LIMIT) & 0xfff0) * 65536 + 0xfffff;
    return pb <= pl && addr >= pb && addr + size - 1 <= pl;
  }

  decodedBars(): { bar: number; addr: number; size: number }[] {
    return []; // our ports implement no BARs
  }

  barHandler(_bar: number): MmioHandler {
    return UNCLAIMED;
  }

  /** Secondary Bus Reset (Bridge Control bit 6) is modelled as a hot reset of every function below. */
  protected override afterConfigWrite(off: number, size: number): void {
    if (off <= PCI_BRIDGE_CONTROL && off + size > PCI_BRIDGE_CONTROL && (this.cs.get16(PCI_BRIDGE_CONTROL) & 0x40) !== 0) {
      for (const f of this.secondary.functions.values()) resetBelow(f);
    }
  }
}

function resetBelow(f: PciFunction): void {
  if (f instanceof Bridge) for (const g of f.secondary.functions.values()) resetBelow(g);
  f.functionLevelReset();
}
