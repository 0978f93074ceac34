export {
  interpretDomainConfig,
  ACTIONS_ON_SHUTDOWN,
  DOMAIN_TYPES,
  type DomainType,
  type ActionOnShutdown,
  type LibxlDomainConfig,
  type InterpretOptions,
  type DomainConfigResult,
} from './domain-config.js';
export { parseCpuList, type HostTopology, type CpuListResult } from './cpumap.js';
export { parseDiskSpec, DiskSpecError, DISK_FORMATS, DISK_BACKENDS, type DeviceDisk } from './disk.js';
export { parseVifSpec, parseVifRate, VifSpecError, VIF_KEYS, type DeviceNic } from './vif.js';
export { parsePciSpec, PciSpecError, type DevicePci } from './pci.js';
export { parseCLong, type XlNotice } from './values.js';
export { KNOWN_XL_KEYS } from './keys.js';
export { loadDomainConfig, domainConfigJson, DEFAULT_TOPOLOGY, type LoadOptions } from './load.js';
export { readConfigText, MAX_CONFIG_BYTES } from './read-file.js';
