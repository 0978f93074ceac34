// PCI ops: pci-dump (Tachyxx's `xl pci-dump`: every function's config space, lspci -xxxx format,
// read through ECAM as dom0 sees it). Passthrough (pci-assignable-*, pci-attach/-detach) comes next.
import type { PcieComponent } from '@tachyxx/pcie';
import { ToolstackError } from '../protocol.js';
import { op, type OpTable } from './types.js';

export const PCI_OPS: OpTable<'pci-dump'> = {
  'pci-dump': op('pci-dump', (ts) => {
    const c = ts.assembled.components.get('pcie') as PcieComponent | undefined;
    if (c === undefined) throw new ToolstackError('ENOSYS', 'this host has no PCIe (select components.pcie in its host config)');
    return { text: c.pcie.lspci() };
  }),
};
