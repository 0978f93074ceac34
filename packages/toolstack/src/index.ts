// @tachyxx/toolstack: the dom0 toolstack of a Tachyxx host — domain builder, lifecycle actions,
// consoles and logs (Toolstack), the run loop paced to the wall clock (HostRunner), and the
// JSON-lines control protocol xl speaks (ControlServer, HostClient).
export * from './protocol.js';
export { parseCpuList, parseCpuRange, formatCpuList, type CpuTopology, type CpuListResult } from './cpulist.js';
export { toBuildSpec, parseAction, SHUTDOWN_ACTIONS, type BuildSpec, type DomainConfigJson, type ShutdownAction } from './domain-config.js';
export { Toolstack, XEN_VERSION, DOM0_NAME, CONSOLE_RATE_DEFAULT, LOG_MAX_BYTES_DEFAULT, LOG_KEEP_DEFAULT, type ToolstackOptions, type OpContext, type DomainEvent } from './toolstack.js';
export { OP_TABLE, op as defineOp, listNics, NIC_REMOVE_TIMEOUT_NS, type NicInfo, type OpEntry, type OpRun, type OpTable } from './ops/index.js';
export { HostRunner, type HostRunnerOptions } from './runner.js';
export { ControlServer, CONTROL_DEFAULTS, type ControlServerOptions, probeSocket, listenPrivate, ensurePrivateDir } from './server.js';
export { ControlClient, HostClient, defaultSocketPath, checkSocketPath, connectSocket, type ClientErrors, type StreamListener } from './client.js';
export { parseMemKb, MAX_MEMKB } from './units.js';
export { readImageFile, readImageFileSync, checkImageFile, MAX_IMAGE_BYTES } from './image-file.js';
export { assembleToolstackHost, TOOLSTACK_COMPONENTS, TOOLSTACK_EVENT, HOST_LOG, type ToolstackEvent, type HostLogEvent } from './assembly.js';
export { Debuggers, parseListen, MAX_UNIX_PATH, type DebugInfo } from './debugger.js';
export { attachPci, pciFromLibxl, pciList, passthroughOf, type LibxlPciLike, type PciEntry } from './pci.js';
