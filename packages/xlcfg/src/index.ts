// @tachyxx/xlcfg: xl.cfg(5) files as xl reads them, and libxl's domain_config built from them.
// The syntax (parser, += and overrides, file:line:col errors)...
export { XlCfgError, formatProblem, type XlCfgProblem, type SourcePos } from './errors.js';
export { parseXlCfgSettings, formatXlValue, quoteXlString, MAX_LIST_DEPTH, type XlSetting, type XlValue, type XlAtom, type XlList, type ParseOptions } from './parser.js';
export { XlConfig, parseXlCfg, applyOverrides } from './xl-config.js';
// ...and its meaning (xl_parse.c's parse_config_data).
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
export { KNOWN_XL_KEYS, closestXlKey } from './keys.js';
export { loadDomainConfig, domainConfigJson, DEFAULT_TOPOLOGY, type LoadOptions } from './load.js';
export { readConfigText, readConfigBytes, MAX_CONFIG_BYTES } from './read-file.js';
