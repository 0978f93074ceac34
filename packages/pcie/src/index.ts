// @tachyxx/pcie: PCIe topology, PCIeSS, config space, BARs, MSI-X, capabilities, the dom0
// enumerator, the edu DMA test device and the lspci dump.
export * from './config-space.js';
export * from './capabilities.js';
export { Msix, PCI_MSIX_ENTRY_CTRL_MASKBIT, type MsixSink, type MsixStats } from './msix.js';
export {
  PciFunction, Endpoint, Bridge, UNCLAIMED, PCI_STATUS_REC_MASTER_ABORT,
  type FunctionHost, type Identity, type BarSpec, type DmaResult, type EndpointOptions, type BridgeOptions, type PciBusLike,
} from './function.js';
export { PcieSubsystem, RootComplex, ECAM_BUS_SIZE, ECAM_SEGMENT_SIZE, PCIESS_FAULT_LOG, type PcieSubsystemOptions, type PcieSsStats, type PciBus } from './topology.js';
export { IdentityTranslator, DirectMsiRemapper, DIRECT_MSI_LOG, msiToMemory, type MsiMessage } from './io-none.js';
export { enumerate, ecamAccess, EnumerationError, BRIDGE_WINDOW_ALIGN, type ConfigAccess, type EnumeratedFunction, type EnumeratedBar, type SegmentWindow } from './enumerate.js';
export * from './edu.js';
export { lspciDump, formatFunction, bdfString, type ListedFunction } from './lspci.js';
export {
  PcieHost, parseTopology, registerDeviceModel, deviceModels, DEFAULT_TOPOLOGY, DEFAULT_LAYOUT, MAX_PORTS, MAX_CHANNELS,
  ROOT_PORT_ID, SWITCH_UP_ID, SWITCH_DOWN_ID,
  type DeviceModel, type PortSpec, type TopologySpec, type PcieLayout, type PcieHostOptions,
} from './host.js';
export { PCIE_PLUGINS, PCIE_FACTORY, PCIE_COMPONENT, PcieComponent, type PcieFactory, type PcieHostServices } from './plugin.js';
export { ManualDeviceTimer } from './manual-timer.js';
export { SRIOV_CONTROL_ID, type SriovHostControl, type SriovPfControl, type SriovPfReport, type SriovVfReport } from './sriov-control.js';
