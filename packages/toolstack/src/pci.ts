// PCI passthrough in the toolstack (libxl_pci.c's side): the xl.cfg `pci = [...]` entries and the
// xl pci-* commands, on top of @tachyxx/passthrough (the hypervisor's assign / deassign). The
// options of xl-pci-configuration(5) are accepted where they mean something for a PV guest on
// Tachyxx and refused with the reason otherwise.
import { Errno } from '@tachyxx/abi';
import type { AssembledHost } from '@tachyxx/hypervisor';
import { formatSbdf, type PassthroughComponent, type Passthrough, type Sbdf } from '@tachyxx/passthrough';
import { ToolstackError, type ErrorCode } from './protocol.js';

/** libxl_device_pci as xlcfg's parsePciSpec returns it (the fields read here). */
export interface LibxlPciLike {
  readonly domain?: number;
  readonly bus?: number;
  readonly dev?: number;
  readonly func?: number;
  readonly vdevfn?: number;
  readonly vfunc_mask?: number;
  readonly msitranslate?: boolean;
  readonly power_mgmt?: boolean;
  readonly permissive?: boolean;
  readonly seize?: boolean;
  readonly rdm_policy?: string;
  readonly name?: string;
}

/** One row of `xl pci-list` (libxl_device_pci: vdevfn and the machine BDF). */
export interface PciEntry { domid: number; vdevfn: number; bdf: string; permissive: boolean; iommuFaults: number }

const LIBXL_PCI_FUNC_ALL = 0xffffffff;

/** The passthrough component of the host, or ENOTSUP naming what to select. */
export function passthroughOf(assembled: AssembledHost): Passthrough {
  const c = assembled.components.get('passthrough') as PassthroughComponent | undefined;
  if (!c) throw new ToolstackError('ENOTSUP', 'PCI passthrough is not enabled on this host: select components iommu, irq-remap and passthrough (pv) in the host config (see examples/host-passthrough.yaml)');
  return c.passthrough;
}

/** The errno name xl reports for a passthrough errno. */
export function ptErrorCode(rc: number): ErrorCode {
  switch (-rc) {
    case Errno.EBUSY: return 'EBUSY';
    case Errno.ESRCH: return 'ESRCH';
    case Errno.EOPNOTSUPP: return 'ENOTSUP';
    case Errno.ENOSPC: case Errno.ENOMEM: return 'ENOMEM';
    case Errno.ENODEV: case Errno.ENOENT: return 'ENOENT';
    case Errno.EPERM: return 'EPERM';
    default: return 'EINVAL';
  }
}

/**
 * The functions and options of one pci entry (xl-pci-configuration(5)), or EINVAL naming the
 * option: `@VSLOT`/`vslot=` and `msitranslate=1` / `power_mgmt=1` are HVM-only (QEMU's emulated
 * PCI bus and MSI-INTx translation; a PV guest sees the real BDF and programs MSI-X through
 * map_pirq), `name=` needs assignable names (libxl's pci-assignable-add -n), not kept here.
 * `rdm_policy` (strict / relaxed) is accepted: Tachyxx devices have no reserved memory regions.
 * A function '*' means every function of the device that exists.
 */
export function pciFromLibxl(p: LibxlPciLike, pt: Passthrough): { sbdfs: Sbdf[]; permissive: boolean; seize: boolean } {
  const what = `pci '${p.name ?? describe(p)}'`;
  if (p.name !== undefined) throw new ToolstackError('EINVAL', `${what}: name= is not supported (give the BDF: [DDDD:]BB:DD.F)`);
  if (p.vdevfn !== undefined && p.vdevfn !== 0) throw new ToolstackError('EINVAL', `${what}: a virtual slot (@VSLOT / vslot=) is for HVM guests' emulated PCI bus; a PV guest sees the device at its own BDF`);
  if (p.msitranslate === true) throw new ToolstackError('EINVAL', `${what}: msitranslate=1 is for HVM guests (QEMU's MSI-INTx translation); a PV guest maps MSI-X itself (PHYSDEVOP_map_pirq)`);
  if (p.power_mgmt === true) throw new ToolstackError('EINVAL', `${what}: power_mgmt=1 is HVM only (xl.cfg(5)); the guest's PM writes go through the config-space filter`);
  if (p.rdm_policy !== undefined && p.rdm_policy !== 'strict' && p.rdm_policy !== 'relaxed') throw new ToolstackError('EINVAL', `${what}: unknown rdm_policy '${p.rdm_policy}'`);
  const seg = p.domain ?? 0, bus = p.bus ?? 0, dev = p.dev ?? 0;
  let sbdfs: Sbdf[];
  if (p.vfunc_mask === LIBXL_PCI_FUNC_ALL) {
    sbdfs = pt.functions().map((f) => f.sbdf).filter((s) => s.seg === seg && s.bus === bus && (s.devfn >> 3) === dev);
    if (!sbdfs.length) throw new ToolstackError('ENOENT', `${what}: no function of ${describe(p)} exists on this host`);
  } else sbdfs = [{ seg, bus, devfn: (dev << 3) | (p.func ?? 0) }];
  return { sbdfs, permissive: p.permissive === true, seize: p.seize === true };
}

function describe(p: LibxlPciLike): string {
  const h = (n: number | undefined, w: number) => (n ?? 0).toString(16).padStart(w, '0');
  return `${h(p.domain, 4)}:${h(p.bus, 2)}:${h(p.dev, 2)}.${p.vfunc_mask === LIBXL_PCI_FUNC_ALL ? '*' : (p.func ?? 0)}`;
}

/**
 * libxl_device_pci_add for `domid`: every function of the entry is assigned (seize=1 makes it
 * assignable first, as libxl does with pciback). On a failure the functions already assigned by
 * this call are taken back. Throws ToolstackError with libxl's messages.
 */
export function attachPci(pt: Passthrough, domid: number, p: LibxlPciLike): string[] {
  const { sbdfs, permissive, seize } = pciFromLibxl(p, pt);
  const done: Sbdf[] = [];
  try {
    for (const s of sbdfs) {
      const name = formatSbdf(s);
      if (!pt.find(s)) throw new ToolstackError('ENOENT', `PCI device ${name} does not exist on this host`);
      if (!pt.isAssignable(s) && !pt.assignment(s)) {
        // libxl: "PCI device %x:%x:%x.%x is not assignable" unless seize=1 binds it to pciback.
        if (!seize) throw new ToolstackError('EINVAL', `PCI device ${name} is not assignable (xl pci-assignable-add ${name}, or seize=1)`);
        const r = pt.assignableAdd(s);
        if (r.rc < 0) throw new ToolstackError(ptErrorCode(r.rc), r.reason);
      }
      const r = pt.assign(domid, s, { permissive });
      if (r.rc < 0) throw new ToolstackError(ptErrorCode(r.rc), `libxl: failed to assign PCI device ${name} to domain ${domid}: ${r.reason}`);
      done.push(s);
    }
  } catch (e) {
    for (const s of done) pt.deassign(s);
    throw e;
  }
  return done.map(formatSbdf);
}

/** xl pci-list rows of `domid`. */
export function pciList(pt: Passthrough, domid: number): PciEntry[] {
  return pt.assignments(domid).map((a) => ({ domid, vdevfn: 0, bdf: a.name, permissive: a.options.permissive === true, iommuFaults: a.faults }));
}
