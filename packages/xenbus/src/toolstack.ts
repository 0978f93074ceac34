/**
 * The toolstack side of a PV device, as libxl does it (tools/libs/light/libxl_device.c):
 *   - a device-type table (libxl's `libxl__device_type` rows: the frontend and backend kind names);
 *   - libxl__device_generic_add: in one transaction, the frontend dir
 *     `/local/domain/D/device/KIND/N` (owner D, readable by the backend domain B), the backend dir
 *     `/local/domain/B/backend/KIND/D/N` (owner B, readable by D) and libxl's private copy of the
 *     backend entries `/libxl/D/device/KIND/N` (dom0 only). Frontend entries: `backend`,
 *     `backend-id`, `state` = 1; backend entries: `frontend`, `frontend-id`, `online` = 1,
 *     `state` = 1. The backend writes `hotplug-status` (libxl waits for "connected");
 *   - libxl__initiate_device_generic_remove: `online` = 0 and `state` = 5 (Closing) in the
 *     backend dir, then wait for the backend to reach Closed;
 *   - libxl__device_destroy: the three directories removed.
 * Xenstore comes in as an XsClient (dom0's, from `connectLocal`).
 */
import { XenbusKeys, XenbusState } from '@tachyxx/abi';
import type { XsClient } from '@tachyxx/xenstore';

/** One row of the device-type table. */
export interface DeviceType {
  /** The kind in the frontend path (`device/<frontend>/N`). */
  readonly frontend: string;
  /** The kind in the backend path (`backend/<backend>/D/N`); libxl's names (vbd for disks). */
  readonly backend: string;
  readonly description: string;
}

/**
 * Device kinds libxl knows (libxl_types.idl / libxl_device.c), plus Tachyxx's test `echo`.
 * pv-net and pv-blk add their backends against `vif` and `vbd`.
 */
export const DEVICE_TYPES = {
  vif: { frontend: 'vif', backend: 'vif', description: 'PV network interface (netif, xl.cfg vif=)' },
  vbd: { frontend: 'vbd', backend: 'vbd', description: 'PV block device (blkif, xl.cfg disk=)' },
  console: { frontend: 'console', backend: 'console', description: 'PV console (xencons_interface)' },
  vkbd: { frontend: 'vkbd', backend: 'vkbd', description: 'PV keyboard/pointer (kbdif)' },
  echo: { frontend: 'echo', backend: 'echo', description: 'Tachyxx test device: the backend answers every request (xenbus self-test)' },
} as const satisfies Record<string, DeviceType>;
export type DeviceKind = keyof typeof DEVICE_TYPES;

/** Largest devid accepted (libxl's devid is an int; Linux's xenbus uses it as a directory name). */
export const MAX_DEVID = 0x7fff_ffff;

export interface DeviceId {
  readonly kind: DeviceKind;
  /** The frontend (guest) domain. */
  readonly domid: number;
  readonly devid: number;
  /** The backend domain (default 0). */
  readonly backendDomid?: number;
}

export interface DevicePaths {
  readonly frontend: string;
  readonly backend: string;
  readonly libxl: string;
}

function checkId(id: DeviceId): void {
  if (!(id.kind in DEVICE_TYPES)) throw new RangeError(`device kind '${id.kind}' is not in the device-type table (${Object.keys(DEVICE_TYPES).join(', ')})`);
  for (const [k, v] of [['domid', id.domid], ['backendDomid', id.backendDomid ?? 0]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fef) throw new RangeError(`${k} ${v} is not a domain id (0-32751)`);
  }
  if (!Number.isInteger(id.devid) || id.devid < 0 || id.devid > MAX_DEVID) throw new RangeError(`devid ${id.devid} is not in 0..${MAX_DEVID}`);
}

/** libxl__device_frontend_path / libxl__device_backend_path / libxl__device_libxl_path. */
export function devicePaths(id: DeviceId): DevicePaths {
  checkId(id);
  const t = DEVICE_TYPES[id.kind];
  const b = id.backendDomid ?? 0;
  return {
    frontend: `/local/domain/${id.domid}/device/${t.frontend}/${id.devid}`,
    backend: `/local/domain/${b}/backend/${t.backend}/${id.domid}/${id.devid}`,
    libxl: `/libxl/${id.domid}/device/${t.backend}/${id.devid}`,
  };
}

export interface AddDeviceOptions {
  /** Extra backend entries (device configuration: e.g. `mac`, `params`). */
  readonly backend?: Readonly<Record<string, string>>;
  /** Extra frontend entries (e.g. `handle`, `mac`). */
  readonly frontend?: Readonly<Record<string, string>>;
}

/**
 * libxl__device_generic_add: writes the three directories in one transaction (retried on
 * EAGAIN) and returns their paths. An existing device at the same paths is replaced.
 */
export function addDevice(xs: XsClient, id: DeviceId, opts: AddDeviceOptions = {}): DevicePaths {
  const p = devicePaths(id);
  const b = id.backendDomid ?? 0;
  // libxl: frontend_perms = { n<domid>, r<backend> }; backend_perms = { n<backend>, r<domid> }.
  const fperms = [`n${id.domid}`, `r${b}`];
  const bperms = [`n${b}`, `r${id.domid}`];
  const state = String(XenbusState.Initialising);
  const bents: [string, string][] = [
    [XenbusKeys.frontendId, String(id.domid)],
    [XenbusKeys.online, '1'],
    [XenbusKeys.state, state],
    ...Object.entries(opts.backend ?? {}),
  ];
  const fents: [string, string][] = [
    [XenbusKeys.backendId, String(b)],
    [XenbusKeys.state, state],
    ...Object.entries(opts.frontend ?? {}),
  ];
  xs.transaction((tx) => {
    rmIfThere(xs, p.frontend, tx);
    xs.mkdir(p.frontend, tx);
    xs.setPerms(p.frontend, fperms, tx);
    xs.write(`${p.frontend}/${XenbusKeys.backend}`, p.backend, tx);
    for (const [k, v] of fents) writePerms(xs, `${p.frontend}/${k}`, v, fperms, tx);

    rmIfThere(xs, p.backend, tx);
    xs.mkdir(p.backend, tx);
    xs.setPerms(p.backend, bperms, tx);
    xs.write(`${p.backend}/${XenbusKeys.frontend}`, p.frontend, tx);
    for (const [k, v] of bents) writePerms(xs, `${p.backend}/${k}`, v, bperms, tx);

    // "We make a copy of everything for the backend in the libxl path as well" (dom0 only).
    rmIfThere(xs, p.libxl, tx);
    xs.mkdir(p.libxl, tx);
    xs.setPerms(p.libxl, ['n0'], tx);
    xs.write(`${p.libxl}/${XenbusKeys.frontend}`, p.frontend, tx);
    xs.write(`${p.libxl}/${XenbusKeys.backend}`, p.backend, tx);
    for (const [k, v] of bents) xs.write(`${p.libxl}/${k}`, v, tx);
  });
  return p;
}

/**
 * libxl__initiate_device_generic_remove: asks the backend to close (`online` 0, `state` Closing).
 * The backend then reaches Closed; `destroyDevice` removes the directories.
 */
export function requestRemove(xs: XsClient, id: DeviceId): void {
  const p = devicePaths(id);
  xs.transaction((tx) => {
    if (!xs.exists(p.backend, tx)) return;
    xs.write(`${p.backend}/${XenbusKeys.online}`, '0', tx);
    xs.write(`${p.backend}/${XenbusKeys.state}`, String(XenbusState.Closing), tx);
  });
}

/** libxl__device_destroy: removes the frontend, backend and libxl directories (missing ones are fine). */
export function destroyDevice(xs: XsClient, id: DeviceId): void {
  const p = devicePaths(id);
  xs.transaction((tx) => {
    for (const path of [p.frontend, p.backend, p.libxl]) rmIfThere(xs, path, tx);
  });
}

/**
 * libxl__devices_destroy for a dying domain: every device directory of `domid` under backend
 * domain `backendDomid` (all kinds), and `/libxl/D`. Returns the devices removed.
 */
export function destroyDomainDevices(xs: XsClient, domid: number, backendDomid = 0): DeviceId[] {
  const out: DeviceId[] = [];
  for (const kind of Object.keys(DEVICE_TYPES) as DeviceKind[]) {
    const dir = `/local/domain/${backendDomid}/backend/${DEVICE_TYPES[kind].backend}/${domid}`;
    let ids: string[] = [];
    try { ids = xs.directory(dir); } catch { continue; }
    for (const n of ids) {
      const devid = Number(n);
      if (!Number.isInteger(devid) || String(devid) !== n) continue;
      const id = { kind, domid, devid, backendDomid };
      destroyDevice(xs, id);
      out.push(id);
    }
    rmIfThere(xs, dir, 0);
  }
  rmIfThere(xs, `/libxl/${domid}`, 0);
  return out;
}

function rmIfThere(xs: XsClient, path: string, tx: number): void {
  if (xs.exists(path, tx)) xs.rm(path, tx);
}

function writePerms(xs: XsClient, path: string, value: string, perms: string[], tx: number): void {
  xs.write(path, value, tx);
  xs.setPerms(path, perms, tx);
}
