export { registry, hostConfig, hostContainer, hostConfigWithDefaults, DEFAULT_COMPONENTS, SIM_VERSION, type HostOverrides } from './host-config.js';
export {
  simulateDomains,
  bootDomains,
  finishDomains,
  simulateBare,
  domainNames,
  SHUTDOWN_REASONS,
  WALL_CLOCK_STATS,
  type DomainImage,
  type SimulateDomainsOptions,
  type SimulateBareOptions,
  type DomainsRun,
  type BootedDomains,
  type DomainsStop,
  type DomainFailure,
  type BareRun,
} from './simulate.js';
