// PCI passthrough in the hypervisor (Xen's xen/drivers/passthrough/pci.c + the MSI side of
// xen/arch/x86/msi.c and physdev.c, with Linux pciback's config-space filter; the book's PV PCI,
// section 8.4): a PCIe function is assigned to a domain (XEN_DOMCTL_assign_device) — its owner
// domid, its device context in its PCIeSS's IOMMU pointing at the domain's stage 2 (or private
// tables), its BARs mapped into the domain's stage 2 in the guest PCI window — the guest programs
// MSI-X through PHYSDEVOP_map_pirq (the hypervisor writes the table entry: an IRTE handle, or a
// vector under irq-remap `none`) and binds the pirq to an event channel; it reads and writes
// config space through the Tachyxx physdev sub-ops, filtered (vconfig.ts). Detach and domain
// death reset the function (FLR), then revoke the pirqs and IRTEs, the IOMMU context (with
// IODIR.INVAL_DDT + IOFENCE.C: the IOTLB entries go) and the BAR mappings.
import {
  Errno, GUEST_VPCI_MEM_ADDR, GUEST_VPCI_MEM_SIZE, MapPirqType, PhysdevMapPirq, PhysdevOp, PhysdevTachyxxPciConfig,
  PhysdevUnmapPirq, PHYSDEVOP_tachyxx_pci_config_read, PHYSDEVOP_tachyxx_pci_config_write, DOMID_SELF,
} from '@tachyxx/abi';
import { StatGroup, type Counter } from '@tachyxx/core';
import type { Domain, HostServices, Vcpu } from '@tachyxx/hypervisor';
import { P2M_R, P2M_RW } from '@tachyxx/hypervisor';
import type { Iommu, IommuFaultRecord, PassthroughVerdict } from '@tachyxx/iommu';
import { IrqRemapper, type IrqRemapVariant } from '@tachyxx/irq-remap';
import {
  PCI_COMMAND, PCI_COMMAND_MASTER, PCI_INTERRUPT_LINE, PCI_MSIX_ENTRY_CTRL_MASKBIT, PCI_CACHE_LINE_SIZE,
  Endpoint, type PcieHost, type PciFunction,
} from '@tachyxx/pcie';
import { formatSbdf, sbdfKey, type Sbdf } from './sbdf.js';
import { VirtualConfig, type GuestBar } from './vconfig.js';

const PAGE = 4096;
/** Xen's nr_pirqs for a domU (extra_domU_irqs, as @tachyxx/evtchn) and dom0. */
const NR_PIRQS_DOMU = 32;
const NR_PIRQS_DOM0 = 256;
/**
 * First pirq handed out for MSI when the guest asks for any (-1): Xen's get_free_pirq allocates
 * MSI pirqs above the GSIs (x86 nr_irqs_gsi, at least 16); Tachyxx has no GSIs but keeps 0-15 free.
 */
export const FIRST_MSI_PIRQ = 16;

/** xl.cfg(5) per-device options that reach the hypervisor side. */
export interface PciAssignOptions {
  /** pciback's permissive mode: writes to unhandled config registers reach the device. */
  readonly permissive?: boolean;
}

interface PirqMap { pirq: number; entry: number; handle: number }

/** One function assigned to a domain. */
export interface Assignment {
  readonly sbdf: Sbdf;
  readonly name: string;
  readonly fn: Endpoint;
  readonly domid: number;
  readonly bars: readonly (GuestBar & { ma: number })[];
  readonly vcfg: VirtualConfig;
  readonly options: PciAssignOptions;
  /** Mapped MSI-X entries, by entry number. */
  readonly pirqs: Map<number, PirqMap>;
  /** IOMMU faults recorded for this device while assigned. */
  faults: number;
}

/** What `assign` / `deassign` answer: 0 or -errno (Xen's), with a reason for the toolstack. */
export interface PassthroughResult { rc: number; reason: string }

/** The pieces of the host passthrough works with (the component passes its dependencies). */
export interface PassthroughDeps {
  readonly host: HostServices;
  readonly pcie: PcieHost;
  /** The IOMMU of PCIeSS `seg`. */
  iommu(seg: number): Iommu;
  /** The interrupt remapper of PCIeSS `seg`. */
  remapper(seg: number): IrqRemapper;
  readonly irqVariant: IrqRemapVariant;
  /** The IOMMU's verdict on passthrough (variant none needs unsafe-passthrough). */
  verdict(): PassthroughVerdict;
  /** EventChannels.permitPirq. */
  permitPirq(domid: number, pirq: number, allow: boolean): number;
}

export class PassthroughStats extends StatGroup {
  readonly assigns: Counter = this.counter('assigns', 'count', 'functions assigned to a domain');
  readonly deassigns: Counter = this.counter('deassigns', 'count', 'functions taken back (detach or domain death)');
  readonly refused: Counter = this.counter('refused', 'count', 'assignments refused');
  readonly flrs: Counter = this.counter('flrs', 'count', 'function level resets done by the toolstack side (attach, detach, death)');
  readonly mapPirqs: Counter = this.counter('mapPirqs', 'count', 'PHYSDEVOP_map_pirq calls that mapped an MSI-X entry');
  readonly unmapPirqs: Counter = this.counter('unmapPirqs', 'count', 'pirqs unmapped (PHYSDEVOP_unmap_pirq, detach, death)');
  readonly configReads: Counter = this.counter('configReads', 'count', 'guest config-space reads (Tachyxx physdev sub-op)');
  readonly configWrites: Counter = this.counter('configWrites', 'count', 'guest config-space writes');
  readonly configDropped: Counter = this.counter('configDropped', 'count', 'guest config writes dropped or emulated (read-only registers, BARs)');
  readonly errors: Counter = this.counter('errors', 'count', 'physdev_op calls answered with an errno');
  readonly iommuFaults: Counter = this.counter('iommuFaults', 'count', 'IOMMU faults of assigned devices');
}

export class Passthrough {
  private readonly byKey = new Map<number, Assignment>();
  private readonly assignable = new Set<number>();
  /** Next free guest-physical address in each domain's PCI window. */
  private readonly windowNext = new Map<number, number>();
  /** irq-remap none: vectors given out per PCIeSS (0x20-0xff). */
  private readonly vectors = new Map<number, Set<number>>();
  private readonly scratch = new Uint8Array(40);
  private readonly view = new DataView(this.scratch.buffer);
  /** Saved dom0 state of a function while it is assigned (restored after the detach FLR). */
  private readonly saved = new Map<number, number[]>();

  constructor(private readonly deps: PassthroughDeps, readonly stats = new PassthroughStats()) {}

  // ---------------------------------------------------------------------------------- look-up

  /** Every endpoint of the host with its address. */
  functions(): { sbdf: Sbdf; fn: PciFunction }[] {
    return this.deps.pcie.listed().map((l) => ({ sbdf: { seg: l.segment, bus: l.bus, devfn: l.devfn }, fn: l.fn }));
  }

  /** The function at `a`, or undefined. */
  find(a: Sbdf): PciFunction | undefined {
    return this.functions().find((f) => sbdfKey(f.sbdf) === sbdfKey(a))?.fn;
  }

  /** The assignment of `a`, if assigned. */
  assignment(a: Sbdf): Assignment | undefined { return this.byKey.get(sbdfKey(a)); }

  /** Every assignment (of `domid`, or all). */
  assignments(domid?: number): Assignment[] {
    return [...this.byKey.values()].filter((x) => domid === undefined || x.domid === domid).sort((x, y) => sbdfKey(x.sbdf) - sbdfKey(y.sbdf));
  }

  // ---------------------------------------------------------------------------------- assignable

  /** xl pci-assignable-add: the function is handed to the passthrough backend (Linux pciback). */
  assignableAdd(a: Sbdf): PassthroughResult {
    const fn = this.find(a);
    if (!fn) return { rc: -Errno.ENODEV, reason: `PCI device ${formatSbdf(a)} does not exist on this host` };
    if (!(fn instanceof Endpoint)) return { rc: -Errno.EINVAL, reason: `PCI device ${formatSbdf(a)} is a bridge (only endpoints can be passed through)` };
    this.assignable.add(sbdfKey(a));
    return { rc: 0, reason: '' };
  }

  /** xl pci-assignable-remove: refused while a domain has it. */
  assignableRemove(a: Sbdf): PassthroughResult {
    const as = this.assignment(a);
    if (as) return { rc: -Errno.EBUSY, reason: `PCI device ${formatSbdf(a)} is assigned to domain ${as.domid}` };
    if (!this.assignable.delete(sbdfKey(a))) return { rc: -Errno.ENOENT, reason: `PCI device ${formatSbdf(a)} is not assignable` };
    return { rc: 0, reason: '' };
  }

  isAssignable(a: Sbdf): boolean { return this.assignable.has(sbdfKey(a)); }

  /** Assignable functions not assigned to any domain (xl pci-assignable-list). */
  assignableList(): Sbdf[] {
    return this.functions().map((f) => f.sbdf).filter((s) => this.assignable.has(sbdfKey(s)) && !this.byKey.has(sbdfKey(s)));
  }

  // ---------------------------------------------------------------------------------- assign

  /**
   * XEN_DOMCTL_assign_device for `a` to `domid`: -EOPNOTSUPP without an IOMMU (unless
   * unsafe-passthrough), -ENODEV no such function, -EINVAL a bridge, -EBUSY not assignable or
   * already assigned, -ESRCH no such domain (or dying, or not translated), -ENOSPC the PCI
   * window is full, -ENOMEM a P2M table could not be allocated.
   */
  assign(domid: number, a: Sbdf, options: PciAssignOptions = {}): PassthroughResult {
    const r = this.tryAssign(domid, a, options);
    if (r.rc < 0) {
      this.stats.refused.value++;
      this.deps.host.log(`(XEN) d${domid}: assign ${formatSbdf(a)} refused (${r.rc}): ${r.reason}`);
    }
    return r;
  }

  private tryAssign(domid: number, a: Sbdf, options: PciAssignOptions): PassthroughResult {
    const v = this.deps.verdict();
    if (!v.allowed) return { rc: v.errno, reason: v.reason };
    const fn = this.find(a);
    const name = formatSbdf(a);
    if (!fn) return { rc: -Errno.ENODEV, reason: `PCI device ${name} does not exist on this host` };
    if (!(fn instanceof Endpoint)) return { rc: -Errno.EINVAL, reason: `PCI device ${name} is a bridge` };
    const held = this.assignment(a);
    if (held) return { rc: -Errno.EBUSY, reason: `PCI device ${name} is already assigned to domain ${held.domid}` };
    if (!this.isAssignable(a)) return { rc: -Errno.EBUSY, reason: `PCI device ${name} is not assignable (run xl pci-assignable-add ${name} first)` };
    const d = this.deps.host.domains.get(domid);
    if (!d || d.isDying) return { rc: -Errno.ESRCH, reason: `no domain ${domid}` };
    if (!d.p2m || domid === 0) return { rc: -Errno.EINVAL, reason: `domain ${domid} has no stage 2 to map the device into` };
    // A clean device: reset, with dom0's BARs put back (libxl resets through sysfs before assignment).
    this.save(fn);
    this.reset(fn);
    // BARs into the guest PCI window, naturally aligned (each BAR's size is a power of two).
    const bars: (GuestBar & { ma: number })[] = [];
    let next = this.windowNext.get(domid) ?? GUEST_VPCI_MEM_ADDR;
    for (const b of fn.decodedBars()) {
      const spec = fn.barSpecs[b.bar]!;
      const align = Math.max(PAGE, b.size);
      const gpa = Math.ceil(next / align) * align;
      if (gpa + Math.max(PAGE, b.size) > GUEST_VPCI_MEM_ADDR + GUEST_VPCI_MEM_SIZE) return { rc: -Errno.ENOSPC, reason: `domain ${domid}'s PCI window is full` };
      bars.push({ bar: b.bar, gpa, ma: b.addr, size: b.size, is64: spec.is64 === true, prefetch: spec.prefetch === true });
      next = gpa + Math.max(PAGE, b.size);
    }
    const iommu = this.deps.iommu(a.seg);
    const rc = iommu.assignDevice(fn.rid, domid);
    if (rc < 0) return { rc, reason: `the IOMMU refused the device context (${rc})` };
    const roPages = this.msixReadOnlyPages(a.seg, fn, bars);
    const mapped: number[] = [];
    for (const b of bars) {
      for (let off = 0; off < Math.max(PAGE, b.size); off += PAGE) {
        const gfn = (b.gpa + off) / PAGE, mfn = Math.floor((b.ma + off) / PAGE);
        if (!d.p2m.map(gfn, mfn, roPages.has(mfn) ? P2M_R : P2M_RW)) {
          for (const g of mapped) d.p2m.unmap(g);
          iommu.deassignDevice(fn.rid);
          return { rc: -Errno.ENOMEM, reason: 'no memory for the P2M tables of the BAR mappings' };
        }
        mapped.push(gfn);
      }
    }
    this.windowNext.set(domid, next);
    fn.owner = domid;
    const as: Assignment = { sbdf: a, name, fn, domid, bars, vcfg: new VirtualConfig(fn, bars, options.permissive === true), options, pirqs: new Map(), faults: 0 };
    this.byKey.set(sbdfKey(a), as);
    this.stats.assigns.value++;
    this.deps.host.log(`(XEN) d${domid}: assign ${name} (${fn.name}), BARs ${bars.map((b) => `${b.bar}@${hex(b.gpa)}`).join(' ') || 'none'}${v.reason.startsWith('no IOMMU') ? `; WARNING: ${v.reason}` : ''}`);
    return { rc: 0, reason: v.reason };
  }

  /**
   * MSI-X table pages the guest must not write (mapped read-only, Xen's mmio_ro_ranges): under
   * irq-remap `none` nothing checks who sends an MSI, so only the hypervisor writes the table.
   * With remapping every value is harmless (checkMsixWrite: trap false), so the page is RW.
   */
  private msixReadOnlyPages(seg: number, fn: Endpoint, bars: readonly (GuestBar & { ma: number })[]): Set<number> {
    const out = new Set<number>();
    const m = fn.msix;
    // The remapper says whether table writes must be trapped (irq-remap none) or are harmless.
    if (m === null || !this.deps.remapper(seg).checkMsixWrite(fn.rid, 0, 0).trap) return out;
    const b = bars.find((x) => x.bar === m.tableBar);
    if (!b) return out;
    for (let o = m.tableOffset - (m.tableOffset % PAGE); o < m.tableOffset + m.tableSize; o += PAGE) out.add(Math.floor((b.ma + o) / PAGE));
    return out;
  }

  /**
   * XEN_DOMCTL_deassign_device (xl pci-detach) or the domain's death: FLR (in-flight DMA dropped,
   * Bus Master off), pirqs and remapping entries revoked, IOMMU context invalidated (IOTLB
   * entries with it), BAR mappings removed from the domain's stage 2; the function returns to
   * dom0's state and stays assignable.
   */
  deassign(a: Sbdf): PassthroughResult {
    const as = this.assignment(a);
    if (!as) return { rc: -Errno.ENODEV, reason: `PCI device ${formatSbdf(a)} is not assigned to a domain` };
    this.release(as, 'detach');
    return { rc: 0, reason: '' };
  }

  /** A domain dies: everything it holds is taken back (Xen's pci_release_devices). */
  domainDestroyed(domid: number): void {
    for (const as of this.assignments(domid)) this.release(as, 'domain destroyed');
  }

  private release(as: Assignment, why: string): void {
    const fn = as.fn;
    this.reset(fn);
    for (const p of [...as.pirqs.values()]) this.unmapOne(as, p);
    this.deps.iommu(as.sbdf.seg).deassignDevice(fn.rid);
    const d = this.deps.host.domains.get(as.domid);
    if (d?.p2m && !d.p2m.isDestroyed) {
      for (const b of as.bars) for (let off = 0; off < Math.max(PAGE, b.size); off += PAGE) d.p2m.unmap((b.gpa + off) / PAGE);
    }
    this.restore(fn);
    fn.owner = 0;
    this.byKey.delete(sbdfKey(as.sbdf));
    if (this.assignments(as.domid).length === 0) this.windowNext.delete(as.domid);
    this.stats.deassigns.value++;
    this.deps.host.log(`(XEN) d${as.domid}: deassign ${as.name} (${why}): reset, ${as.bars.length} BAR mapping(s), IOMMU context and interrupt entries revoked`);
  }

  // dom0's config (what pci_save_state keeps): Command without Bus Master, BARs, cache line, interrupt line.
  private static readonly SAVED = [PCI_COMMAND, PCI_CACHE_LINE_SIZE, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, PCI_INTERRUPT_LINE];
  private save(fn: PciFunction): void {
    if (!this.saved.has(fn.rid)) this.saved.set(fn.rid, Passthrough.SAVED.map((o) => fn.configRead(o, 4)));
  }
  private reset(fn: PciFunction): void {
    fn.functionLevelReset();
    this.stats.flrs.value++;
    this.restore(fn, false);
  }
  private restore(fn: PciFunction, forget = true): void {
    const s = this.saved.get(fn.rid);
    if (!s) return;
    // BARs first, then Command (decoding on again; Bus Master stays off until a driver sets it).
    Passthrough.SAVED.forEach((o, i) => { if (o !== PCI_COMMAND) fn.configWrite(o, 4, s[i]!); });
    fn.configWrite(PCI_COMMAND, 2, s[0]! & 0xffff & ~PCI_COMMAND_MASTER);
    if (forget) this.saved.delete(fn.rid);
  }

  /** An IOMMU fault batch (the iommu component's onFaults): counted against the assignment. */
  onIommuFaults(records: readonly IommuFaultRecord[], seg: number): void {
    for (const r of records) {
      const as = this.assignments().find((x) => x.sbdf.seg === seg && x.fn.rid === r.rid);
      if (as) { as.faults++; this.stats.iommuFaults.value++; }
    }
  }

  // ---------------------------------------------------------------------------------- physdev_op

  /** physdev_op(cmd, arg) from `v`; -ENOSYS for a sub-op this host does not implement. */
  physdevOp(v: Vcpu, cmd: number, arg: number): number {
    const rc = this.dispatch(v.domain, cmd, arg);
    if (rc < 0) this.stats.errors.value++;
    return rc;
  }

  private dispatch(d: Domain<Vcpu>, cmd: number, arg: number): number {
    switch (cmd) {
      case PhysdevOp.map_pirq: return this.mapPirqOp(d, arg);
      case PhysdevOp.unmap_pirq: return this.unmapPirqOp(d, arg);
      case PHYSDEVOP_tachyxx_pci_config_read: return this.configOp(d, arg, false);
      case PHYSDEVOP_tachyxx_pci_config_write: return this.configOp(d, arg, true);
      default: return -Errno.ENOSYS;
    }
  }

  private readIn(d: Domain<Vcpu>, gpa: number, size: number): boolean {
    return Number.isSafeInteger(gpa) && gpa >= 0 && d.access.read(gpa, this.scratch.subarray(0, size)) >= 0;
  }

  /** The domain an op names: DOMID_SELF or its own id; another only for a privileged caller. */
  private target(d: Domain<Vcpu>, domid: number): Domain<Vcpu> | number {
    if (domid === DOMID_SELF || domid === d.domid) return d;
    if (!d.privileged) return -Errno.EPERM;
    const t = this.deps.host.domains.get(domid);
    return !t || t.isDying ? -Errno.ESRCH : t;
  }

  private mapPirqOp(d: Domain<Vcpu>, arg: number): number {
    const L = PhysdevMapPirq;
    if (!this.readIn(d, arg, L.size)) return -Errno.EFAULT;
    const dv = this.view;
    const t = this.target(d, dv.getUint16(L.domid.offset, true));
    if (typeof t === 'number') return t;
    const type = dv.getInt32(L.type.offset, true);
    let pirq = dv.getInt32(L.pirq.offset, true);
    const busField = dv.getInt32(L.bus.offset, true), devfn = dv.getInt32(L.devfn.offset, true);
    const entry = dv.getInt32(L.entry_nr.offset, true);
    const tableBase = dv.getUint32(L.table_base.offset, true) + dv.getUint32(L.table_base.offset + 4, true) * 2 ** 32;
    // Xen: GSI pirqs are the hardware domain's; MULTI_MSI is plain MSI's (edu and friends have MSI-X only).
    if (type !== MapPirqType.MSI && type !== MapPirqType.MSI_SEG) return -Errno.EINVAL;
    const seg = type === MapPirqType.MSI_SEG ? (busField >>> 16) & 0xffff : 0;
    if (devfn < 0 || devfn > 0xff || (busField & 0xffff) > 0xff) return -Errno.EINVAL;
    const as = this.assignment({ seg, bus: busField & 0xff, devfn });
    if (!as || as.domid !== t.domid) return -Errno.ENODEV;
    const m = as.fn.msix;
    if (m === null) return -Errno.ENODEV;
    if (tableBase === 0) return -Errno.EOPNOTSUPP; // MSI (not MSI-X): no such capability here
    if (!Number.isInteger(entry) || entry < 0 || entry >= m.vectors) return -Errno.EINVAL;
    if (as.pirqs.has(entry)) return -Errno.EBUSY;
    const nr = t.domid === 0 ? NR_PIRQS_DOM0 : NR_PIRQS_DOMU;
    const used = new Set<number>();
    for (const x of this.assignments(t.domid)) for (const p of x.pirqs.values()) used.add(p.pirq);
    if (pirq < 0) {
      pirq = -1;
      for (let p = FIRST_MSI_PIRQ; p < nr; p++) if (!used.has(p)) { pirq = p; break; }
      if (pirq < 0) return -Errno.ENOSPC;
    } else if (pirq >= nr) return -Errno.EINVAL;
    else if (used.has(pirq)) return -Errno.EEXIST;
    // Program the remapper, then the device's table entry (the hypervisor writes it, never the guest).
    const rm = this.deps.remapper(as.sbdf.seg);
    const target = { rid: as.fn.rid, domid: t.domid, vcpu: 0, pirq };
    let handle: number, msg: { addr: number; data: number };
    if (this.deps.irqVariant === 'none') {
      let vecs = this.vectors.get(as.sbdf.seg);
      if (!vecs) this.vectors.set(as.sbdf.seg, (vecs = new Set()));
      handle = -1;
      for (let x = 0x20; x < 256; x++) if (!vecs.has(x)) { handle = x; break; }
      if (handle < 0) return -Errno.ENOSPC;
      const r = rm.bindVector(handle, target);
      if (r < 0) return r;
      vecs.add(handle);
      msg = IrqRemapper.compatMessage(0, handle);
    } else {
      handle = rm.allocHandle();
      if (handle < 0) return -Errno.ENOSPC;
      const r = rm.setEntry(handle, target);
      if (r < 0) return r;
      msg = IrqRemapper.message(handle);
    }
    const pr = this.deps.permitPirq(t.domid, pirq, true);
    if (pr < 0) { this.freeHandle(as, handle); return pr; }
    this.writeEntry(as.fn, entry, msg.addr, msg.data, false);
    as.pirqs.set(entry, { pirq, entry, handle });
    if (d.access.writeU32(arg + L.pirq.offset, pirq) < 0) { this.unmapOne(as, as.pirqs.get(entry)!); return -Errno.EFAULT; }
    this.stats.mapPirqs.value++;
    return 0;
  }

  private unmapPirqOp(d: Domain<Vcpu>, arg: number): number {
    const L = PhysdevUnmapPirq;
    if (!this.readIn(d, arg, L.size)) return -Errno.EFAULT;
    const t = this.target(d, this.view.getUint16(L.domid.offset, true));
    if (typeof t === 'number') return t;
    const pirq = this.view.getInt32(L.pirq.offset, true);
    for (const as of this.assignments(t.domid)) {
      for (const p of as.pirqs.values()) if (p.pirq === pirq) { this.unmapOne(as, p); return 0; }
    }
    return -Errno.EINVAL;
  }

  private unmapOne(as: Assignment, p: PirqMap): void {
    this.writeEntry(as.fn, p.entry, 0, 0, true);
    this.freeHandle(as, p.handle);
    this.deps.permitPirq(as.domid, p.pirq, false);
    as.pirqs.delete(p.entry);
    this.stats.unmapPirqs.value++;
  }

  private freeHandle(as: Assignment, handle: number): void {
    const rm = this.deps.remapper(as.sbdf.seg);
    if (this.deps.irqVariant === 'none') { rm.unbindVector(handle); this.vectors.get(as.sbdf.seg)?.delete(handle); } else rm.clearEntry(handle);
  }

  /** The hypervisor's write of MSI-X table entry `entry` (address, data, vector control). */
  private writeEntry(fn: Endpoint, entry: number, addr: number, data: number, mask: boolean): void {
    const m = fn.msix!;
    const o = entry * 16;
    m.writeTable(o + 12, 4, PCI_MSIX_ENTRY_CTRL_MASKBIT, 0); // mask while it changes
    m.writeTable(o, 4, addr % 2 ** 32, 0);
    m.writeTable(o + 4, 4, Math.floor(addr / 2 ** 32), 0);
    m.writeTable(o + 8, 4, data, 0);
    if (!mask) m.writeTable(o + 12, 4, 0, 0);
  }

  private configOp(d: Domain<Vcpu>, arg: number, write: boolean): number {
    const L = PhysdevTachyxxPciConfig;
    if (!this.readIn(d, arg, L.size)) return -Errno.EFAULT;
    const dv = this.view;
    const a: Sbdf = { seg: dv.getUint16(L.seg.offset, true), bus: dv.getUint8(L.bus.offset), devfn: dv.getUint8(L.devfn.offset) };
    const reg = dv.getUint16(L.reg.offset, true), len = dv.getUint8(L.len.offset), pad = dv.getUint8(L.pad.offset);
    if ((len !== 1 && len !== 2 && len !== 4) || pad !== 0 || reg >= 4096 || reg % len !== 0) return -Errno.EINVAL;
    const as = this.assignment(a);
    // Not assigned to the caller: as if absent (pcifront sees only its own devices).
    if (!as || as.domid !== d.domid) return -Errno.ENODEV;
    if (write) {
      this.stats.configWrites.value++;
      const before = as.vcfg.stats.dropped;
      const rc = as.vcfg.write(reg, len, dv.getUint32(L.value.offset, true));
      if (as.vcfg.stats.dropped !== before) this.stats.configDropped.value++;
      return rc;
    }
    this.stats.configReads.value++;
    const val = as.vcfg.read(reg, len);
    return d.access.writeU32(arg + L.value.offset, val) < 0 ? -Errno.EFAULT : 0;
  }

  /** The guest MSI-X table entry as the device holds it (tests, xl debug). */
  static msixEntry(fn: PciFunction, entry: number): { addr: number; data: number; masked: boolean } {
    const m = fn.msix!;
    return { addr: m.table[entry * 4 + 1]! * 2 ** 32 + m.table[entry * 4]!, data: m.table[entry * 4 + 2]!, masked: (m.table[entry * 4 + 3]! & 1) !== 0 };
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;

