export { registry, hostContainer, hostConfigWithDefaults, DEFAULT_COMPONENTS, SIM_VERSION, type HostOverrides } from './host-config.js';
export {
  simulateDomains,
  simulateBare,
  domainNames,
  SHUTDOWN_REASONS,
  WALL_CLOCK_STATS,
  type DomainImage,
  type SimulateDomainsOptions,
  type SimulateBareOptions,
  type DomainsRun,
  type DomainsStop,
  type DomainFailure,
  type BareRun,
} from './simulate.js';
