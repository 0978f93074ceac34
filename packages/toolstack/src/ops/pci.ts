// PCI ops: pci-dump (Tachyxx's `xl pci-dump`: every function's config space, lspci -xxxx format,
// read through ECAM as dom0 sees it) and passthrough (libxl_pci.c): pci-assignable-add / -remove /
// -list (the device handed to or taken from the passthrough backend, Linux pciback's role),
// pci-attach (libxl_device_pci_add), pci-detach (libxl_device_pci_remove; -f
// libxl_device_pci_destroy), pci-list.
import type { PcieComponent } from '@tachyxx/pcie';
import { formatSbdf, parseSbdf, type Sbdf } from '@tachyxx/passthrough';
import { attachPci, passthroughOf, pciList, ptErrorCode, type LibxlPciLike } from '../pci.js';
import { ToolstackError } from '../protocol.js';
import type { Toolstack } from '../toolstack.js';
import { op, type OpArgs, type OpTable } from './types.js';

function bdfArg(cmd: string, a: OpArgs): Sbdf {
  try { return parseSbdf(String(a.bdf ?? '')); } catch {
    throw new ToolstackError('EINVAL', `${cmd}: malformed BDF specification "${String(a.bdf ?? '').slice(0, 64)}"`);
  }
}

function guestDomain(ts: Toolstack, a: OpArgs, cmd: string): number {
  const domid = ts.records.domainArg(a);
  if (domid === 0) throw new ToolstackError('EPERM', `${cmd}: Domain-0 owns every device not passed through (there is nothing to attach to it)`);
  const r = ts.records.rec(domid);
  if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `${cmd}: domain ${domid} is shutting down`);
  return domid;
}

export const PCI_OPS: OpTable<'pci-dump' | 'pci-assignable-add' | 'pci-assignable-remove' | 'pci-assignable-list' | 'pci-attach' | 'pci-detach' | 'pci-list'> = {
  'pci-dump': op('pci-dump', (ts) => {
    const c = ts.assembled.components.get('pcie') as PcieComponent | undefined;
    if (c === undefined) throw new ToolstackError('ENOSYS', 'this host has no PCIe (select components.pcie in its host config)');
    return { text: c.pcie.lspci() };
  }),
  'pci-assignable-add': op('pci-assignable-add', (ts, a) => {
    const s = bdfArg('pci-assignable-add', a);
    const r = passthroughOf(ts.assembled).assignableAdd(s);
    if (r.rc < 0) throw new ToolstackError(ptErrorCode(r.rc), r.reason);
    return { bdf: formatSbdf(s) };
  }),
  'pci-assignable-remove': op('pci-assignable-remove', (ts, a) => {
    const s = bdfArg('pci-assignable-remove', a);
    const r = passthroughOf(ts.assembled).assignableRemove(s);
    if (r.rc < 0) throw new ToolstackError(ptErrorCode(r.rc), r.reason);
    return { bdf: formatSbdf(s) };
  }),
  'pci-assignable-list': op('pci-assignable-list', (ts) => ({ devices: passthroughOf(ts.assembled).assignableList().map(formatSbdf) })),
  'pci-attach': op('pci-attach', (ts, a) => {
    const domid = guestDomain(ts, a, 'pci-attach');
    const pt = passthroughOf(ts.assembled);
    const devices = attachPci(pt, domid, (a.pci ?? {}) as LibxlPciLike);
    ts.onWork();
    return { domid, devices };
  }),
  'pci-detach': op('pci-detach', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const s = bdfArg('pci-detach', a);
    const pt = passthroughOf(ts.assembled);
    const as = pt.assignment(s);
    if (!as || as.domid !== domid) throw new ToolstackError('ENOENT', `PCI device ${formatSbdf(s)} is not assigned to domain ${domid}`);
    // Both forms end the same way here: there is no guest front end to ask first (pcifront's
    // xenbus handshake); the reset and revocation are unconditional.
    pt.deassign(s);
    ts.onWork();
    return { domid, bdf: formatSbdf(s), forced: a.force === true };
  }),
  'pci-list': op('pci-list', (ts, a) => {
    const domid = ts.records.domainArg(a);
    const pt = passthroughOf(ts.assembled);
    return { devices: pciList(pt, domid) };
  }),
};
