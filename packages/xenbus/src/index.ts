// @tachyxx/xenbus: the split-driver layer every PV backend stands on.
export { mapBackRing, GrantBackRing, RING_HEADER_BYTES, type RingGrantTables } from './ring.js';
export { TokenBucket, RateLimiter, type TokenBucketConfig, type RateLimiterConfig } from './rate-limiter.js';
export {
  DEVICE_TYPES, MAX_DEVID, devicePaths, addDevice, requestRemove, destroyDevice, destroyDomainDevices,
  type DeviceType, type DeviceKind, type DeviceId, type DevicePaths, type AddDeviceOptions,
} from './toolstack.js';
export {
  XenbusBackends, XenbusDeviceStats,
  type Backend, type BackendOptions, type RingConnector, type XenbusDevice, type BackendEventChannels, type BackendHost, type XenbusBackendsOptions,
} from './backend.js';
export {
  EchoBackend, EchoRing, EchoRequest, EchoResponse, EchoRequestCodec, EchoResponseCodec, ECHO_OP_ECHO, serveRequests,
  type echo_request_t, type echo_response_t,
} from './echo.js';
export { XenbusComponent, XENBUS_COMPONENT, xenbusPlugin, XENBUS_PLUGINS } from './component.js';
export { attachConsoleRings, ConsoleStats, CONSOLE_INPUT_QUEUE, type ConsoleRings, type ConsoleRingBinding, type AttachConsoleRingsOptions } from './console.js';
export { ConsoleComponent, CONSOLE_COMPONENT, consoleXenconsoled } from './console-component.js';
