// @tachyxx/passthrough: PCIe functions passed through to domains (issue 13 section 5).
export { Passthrough, PassthroughStats, FIRST_MSI_PIRQ, type Assignment, type PassthroughDeps, type PassthroughResult, type PciAssignOptions } from './passthrough.js';
export { VirtualConfig, PCI_COMMAND_ALLOWED, PCI_COMMAND_GUEST, type GuestBar, type VconfigStats } from './vconfig.js';
export { parseSbdf, formatSbdf, sbdfKey, type Sbdf } from './sbdf.js';
export { PassthroughComponent, PASSTHROUGH_COMPONENT, PASSTHROUGH_PLUGINS, passthroughPv } from './component.js';
