/**
 * XenBus device states (xen/include/public/io/xenbus.h `enum xenbus_state`) and the xenstore keys
 * every split driver uses (libxl's device directories; Linux's xenbus_probe). The state walk:
 * backend InitWait -> frontend Initialised (rings published) -> backend Connected -> frontend
 * Connected; either side goes Closing -> Closed to tear down.
 */
export const XenbusStateUnknown = 0;
export const XenbusStateInitialising = 1;
/** Finished early initialisation, waiting for information from the peer or hotplug scripts. */
export const XenbusStateInitWait = 2;
/** Waiting for a connection from the peer. */
export const XenbusStateInitialised = 3;
export const XenbusStateConnected = 4;
/** The device is being closed due to an error or an unplug event. */
export const XenbusStateClosing = 5;
export const XenbusStateClosed = 6;
export const XenbusStateReconfiguring = 7;
export const XenbusStateReconfigured = 8;

/** `enum xenbus_state` by name (`XenbusState.Connected === 4`). */
export const XenbusState = {
  Unknown: XenbusStateUnknown,
  Initialising: XenbusStateInitialising,
  InitWait: XenbusStateInitWait,
  Initialised: XenbusStateInitialised,
  Connected: XenbusStateConnected,
  Closing: XenbusStateClosing,
  Closed: XenbusStateClosed,
  Reconfiguring: XenbusStateReconfiguring,
  Reconfigured: XenbusStateReconfigured,
} as const;
export type XenbusStateName = keyof typeof XenbusState;
export type XenbusStateValue = (typeof XenbusState)[XenbusStateName];

const stateNames = Object.keys(XenbusState) as XenbusStateName[];
/** 'Connected' for 4; `unknown(n)` for values outside 0-8. */
export function xenbusStateName(state: number): string {
  return Number.isInteger(state) && state >= 0 && state < stateNames.length ? stateNames[state]! : `unknown(${state})`;
}
/**
 * Parses a `state` node's value as Linux's xenbus_read_driver_state does (`sscanf("%d")`: leading
 * blanks, an optional sign, digits; anything after them is ignored). A missing node or one that
 * does not start with a number reads as XenbusStateUnknown. Values outside 0-8 are returned as
 * read: the caller decides (Linux ignores states it does not know).
 */
export function parseXenbusState(value: string | undefined): number {
  const m = value === undefined ? null : /^\s*([+-]?\d+)/.exec(value);
  if (!m) return XenbusStateUnknown;
  return Number.parseInt(m[1]!, 10) | 0;
}

/** Keys common to every device's frontend and backend directories. */
export const XenbusKeys = {
  /** Both sides: the XenbusState, as a decimal string. */
  state: 'state',
  /** Frontend dir: path of the backend dir; `backend-id` its domain. */
  backend: 'backend',
  backendId: 'backend-id',
  /** Backend dir: path of the frontend dir; `frontend-id` its domain. */
  frontend: 'frontend',
  frontendId: 'frontend-id',
  /** Backend dir: 1 while the toolstack wants the device. */
  online: 'online',
  /** Backend dir: "connected" once the hotplug script ran (libxl waits for it). */
  hotplugStatus: 'hotplug-status',
  /** Frontend dir: "0" = do not trust the backend. */
  trusted: 'trusted',
  /** Frontend dir: the ring ABI (`XEN_IO_PROTO_ABI_*`). */
  protocol: 'protocol',
  /** Frontend dir (split drivers with queues): number of queues used; backend: the maximum. */
  multiQueueNumQueues: 'multi-queue-num-queues',
  multiQueueMaxQueues: 'multi-queue-max-queues',
} as const;

/** `queue-N`: the sub-directory of queue N when a frontend uses more than one queue. */
export function xenbusQueueKey(n: number): string {
  return `queue-${n}`;
}

/** io/protocols.h: the value of a frontend's `protocol` key. */
export const XEN_IO_PROTO_ABI_X86_32 = 'x86_32-abi';
export const XEN_IO_PROTO_ABI_X86_64 = 'x86_64-abi';
export const XEN_IO_PROTO_ABI_ARM = 'arm-abi';
