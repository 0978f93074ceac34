// @tachyxx/sriov-nic: the SR-IOV NIC device model (PF + VFs on @tachyxx/pcie), its switch and
// mailbox, and the dom0 PF driver. Importing the package registers the `sriov-nic` device model.
export * from './regs.js';
export * from './mac.js';
export { Port, DEFAULT_NIC_COSTS, MAX_FRAME, type NicCosts, type PortCounters, type PortHost } from './port.js';
export { SriovNic, NicVf, REG_VFLRE, macOf, type SriovNicOptions, type NicStats, type SwitchMode, type UplinkSink } from './nic.js';
export { SRIOV_NIC_MODEL, SRIOV_NIC_PARAMS, nicOptionsFromParams, registerSriovNicModel } from './model.js';
export { PfDriver, MBX_RATE_PER_S, defaultMac, nicsOf, type PfDriverStats, type VfAdmin } from './pf-driver.js';
export { SriovNicComponent, SRIOV_NIC_COMPONENT, SRIOV_NIC_PLUGINS, sriovNicPf, type SriovNicSettings } from './component.js';
