// reflect-metadata must load before tsyringe (see docs/toolchain): keep this import first.
import 'reflect-metadata';

export { secureSocketDir, checkSocketOwner, listenPrivateSocket, SocketDirError, type SecureSocketDirOptions } from './socket-dir.js';
export { TachyxxError, XenError, UsageError, ConfigError, ImageError, type ConfigErrorDetails } from './errors.js';
export {
  p,
  resolveParams,
  describeParams,
  type ParamDescription,
  describeValue,
  type ParamKind,
  type ParamSpec,
  type ParamSchema,
  type ParamsOf,
  type ParamCheck,
  type NumberBounds,
  type ConfigSite,
} from './params.js';
export { TOKENS, defineToken, tokenName, resolve, bindValue, bindSingleton, type Token } from './tokens.js';
export { definePlugin, type Plugin } from './plugin.js';
export { PluginRegistry } from './registry.js';
export {
  loadHostConfig,
  parseHostConfig,
  hostConfigFromObject,
  HOST_CONFIG_KEYS,
  costKey,
  componentCosts,
  selectPlugins,
  type Selection,
  HOST_PARAMS,
  CPU_PARAMS,
  type HostConfig,
  type Dom0Config,
  type ComponentConfig,
  type ConfigSource,
} from './config.js';
export { buildContainer, componentOrder, type BuildOptions, type ComponentEntry } from './composition.js';
export { type HostComponent } from './component.js';
export { ChromeTraceExporter, type TraceExporterOptions, type TraceInstantTopic } from './trace.js';
export { SimClock, cyclesToNs, nsToCycles, NS_PER_US, NS_PER_MS, NS_PER_S, type Rounding } from './clock.js';
export { EventQueue, SimEvent, type EventAction } from './event-queue.js';
export { Rng } from './rng.js';
export {
  StatGroup,
  Counter,
  SampledCounter,
  Histogram,
  Formula,
  InstanceGroups,
  type StatUnit,
  type StatInfo,
  type StatsJson,
  type StatValueJson,
  type HistogramJson,
} from './stats.js';
export {
  EventBus,
  defineTopic,
  sampleEvery,
  countBy,
  countPerWindow,
  windowBySimTime,
  tally,
  type Topic,
  type Counts,
  type SimWindow,
  type WindowOptions,
} from './bus.js';
export * from './topics.js';
export type { DependencyContainer, InjectionToken } from 'tsyringe';
export { DMA_READ, DMA_WRITE, type IoFaultKind, type IoFault, type IoTranslator, type MsiRemapper } from './io.js';
