/**
 * xl-disk-configuration(5) disk specs, following libxlu's scanner (libxlu_disk_l.l):
 * comma-separated parameters, each either `key=value` or positional. Positional parameters fill,
 * in order, target, format, vdev, access; a deprecated prefix on the target (`phy:`, `file:`,
 * `tap:`, `tap2:`, `aio:`, `ioemu:`, `tapdisk:`, `raw:`, `qcow:`, `qcow2:`, `vhd:`, `iscsi:`,
 * `nbd:`, `enbd:`, `drbd:`) means the format slot is skipped, so the classic
 * `'phy:/dev/vg/guest,xvda,w'` works. `vdev:cdrom` / `vdev:disk` in the vdev slot is the old
 * way of saying devtype. `target=` eats the rest of the spec, commas included.
 */
export type DiskFormat = 'qcow' | 'qcow2' | 'vhd' | 'raw' | 'empty' | 'qed';
export type DiskBackend = 'phy' | 'tap' | 'qdisk' | 'standalone';

/** libxl_device_disk, with libxl's field names; undefined = libxl's default (omitted in JSON). */
export interface DeviceDisk {
  backend_domname?: string;
  pdev_path?: string;
  vdev?: string;
  backend?: DiskBackend;
  format?: DiskFormat;
  script?: string;
  removable?: number;
  readwrite?: number;
  is_cdrom?: number;
  direct_io_safe?: boolean;
  discard_enable?: 'True' | 'False';
  specification?: 'xen' | 'virtio';
  colo_enable?: 'True' | 'False';
  colo_host?: string;
  colo_port?: number;
  colo_export?: string;
  active_disk?: string;
  hidden_disk?: string;
  trusted?: 'True' | 'False';
  grant_usage?: 'True' | 'False';
}

export const DISK_FORMATS: readonly DiskFormat[] = ['raw', 'qcow', 'qcow2', 'vhd', 'empty', 'qed'];
export const DISK_BACKENDS: readonly DiskBackend[] = ['phy', 'tap', 'qdisk', 'standalone'];
export const DISK_ACCESS = ['r', 'ro', 'w', 'rw'] as const;
export const DISK_DEVTYPES = ['disk', 'cdrom'] as const;
export const DISK_KEYS = [
  'target', 'format', 'vdev', 'access', 'devtype', 'backend', 'backendtype', 'script', 'specification',
  'direct-io-safe', 'discard', 'no-discard', 'cdrom', 'trusted', 'untrusted', 'grant_usage',
  'colo', 'no-colo', 'colo-host', 'colo-port', 'colo-export', 'active-disk', 'hidden-disk',
] as const;

const DEPRECATED_PREFIXES = ['tapdisk', 'tap2', 'tap', 'aio', 'ioemu', 'file', 'phy'];
const FORMAT_PREFIXES = ['raw', 'qcow2', 'qcow', 'vhd'];
const SCRIPT_PREFIXES = ['iscsi', 'nbd', 'enbd', 'drbd'];

/** A bad spec; the interpreter turns it into an XlCfgError naming the key and line. */
export class DiskSpecError extends Error {
  override readonly name = 'DiskSpecError';
  constructor(
    readonly reason: string,
    readonly allowed?: readonly string[],
  ) {
    super(reason);
  }
}

function err(reason: string, allowed?: readonly string[]): never {
  throw new DiskSpecError(reason, allowed);
}

/** Parses one disk spec (several specs may describe one disk, as for `xl block-attach`). */
export function parseDiskSpec(specs: string | readonly string[]): DeviceDisk {
  const d: DeviceDisk = { readwrite: 1 };
  let hadDeprPrefix = false;
  let accessSet = false;
  const saveString = (field: 'pdev_path' | 'vdev' | 'script' | 'backend_domname' | 'colo_host' | 'colo_export' | 'active_disk' | 'hidden_disk', name: string, value: string) => {
    const prev = d[field];
    if (prev !== undefined && prev !== '') err(`${name} respecified: near '${value}'`);
    d[field] = value;
  };
  const setFormat = (v: string) => {
    const f = v === '' ? 'raw' : v;
    if (!(DISK_FORMATS as readonly string[]).includes(f)) err(`unknown value for format: '${v}'`, DISK_FORMATS);
    if (d.format !== undefined && d.format !== f) err(`format respecified: near '${v}'`);
    d.format = f as DiskFormat;
  };
  const setAccess = (v: string) => {
    if (v === 'r' || v === 'ro') d.readwrite = 0;
    else if (v === 'rw' || v === 'w' || v === '') d.readwrite = 1;
    else err(`unknown value for access: '${v}'`, DISK_ACCESS);
  };
  const vdevAndDevtype = (v: string): boolean => {
    const colon = v.lastIndexOf(':');
    if (colon < 0) return false;
    saveString('vdev', 'vdev', v.slice(0, colon));
    const t = v.slice(colon + 1);
    if (t === 'cdrom') d.is_cdrom = 1;
    else if (t === 'disk') d.is_cdrom = 0;
    else err(`unknown deprecated type '${t}' after '${v.slice(0, colon)}:'`, DISK_DEVTYPES);
    return true;
  };

  for (const spec of typeof specs === 'string' ? [specs] : specs) {
    let rest = spec;
    while (rest.length) {
      const ws = /^[ \t\n]+/.exec(rest);
      if (ws) {
        rest = rest.slice(ws[0].length);
        continue;
      }
      // target= eats everything, commas included.
      if (rest.startsWith('target=')) {
        let v = rest.slice(7);
        if (v.endsWith(',')) v = v.slice(0, -1);
        saveString('pdev_path', 'target', v);
        rest = '';
        break;
      }
      // Deprecated prefixes on the target: "phy:/dev/x" and friends.
      const pm = /^([a-z][a-z0-9]*):/.exec(rest);
      if (pm && d.pdev_path === undefined) {
        const p = pm[1]!;
        const after = rest.slice(pm[0].length);
        if (FORMAT_PREFIXES.includes(p)) {
          hadDeprPrefix = true;
          setFormat(p);
          rest = after;
          continue;
        }
        if (SCRIPT_PREFIXES.includes(p)) {
          hadDeprPrefix = true;
          saveString('script', 'script', `block-${p}`);
          rest = after;
          continue;
        }
        if (DEPRECATED_PREFIXES.includes(p)) {
          hadDeprPrefix = true;
          rest = after;
          continue;
        }
        if (after === '' || !/^[a-z0-9]/.test(after)) {
          err(`unknown deprecated disk prefix '${p}:'`, [...DEPRECATED_PREFIXES, ...FORMAT_PREFIXES, ...SCRIPT_PREFIXES].map((x) => `${x}:`));
        }
      }
      const comma = rest.indexOf(',');
      const tok = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? '' : rest.slice(comma + 1);
      const eq = tok.indexOf('=');
      if (eq >= 0) {
        const k = tok.slice(0, eq);
        const v = tok.slice(eq + 1);
        switch (k) {
          case 'format': setFormat(v); break;
          case 'devtype':
            if (v === 'cdrom') d.is_cdrom = 1;
            else if (v === 'disk') d.is_cdrom = 0;
            else err(`unknown value for devtype: '${v}'`, DISK_DEVTYPES);
            break;
          case 'access': setAccess(v); break;
          case 'backend': saveString('backend_domname', 'backend', v); break;
          case 'backendtype':
            if (!(DISK_BACKENDS as readonly string[]).includes(v)) err(`unknown value for backendtype: '${v}'`, DISK_BACKENDS);
            if (d.backend !== undefined && d.backend !== v) err(`backendtype respecified: near '${v}'`);
            d.backend = v as DiskBackend;
            break;
          case 'specification':
            if (v !== 'xen' && v !== 'virtio') err(`unknown value for specification: '${v}'`, ['xen', 'virtio']);
            d.specification = v;
            break;
          case 'vdev': saveString('vdev', 'vdev', v); break;
          case 'script': saveString('script', 'script', v); break;
          case 'colo-host': saveString('colo_host', 'colo-host', v); break;
          case 'colo-export': saveString('colo_export', 'colo-export', v); break;
          case 'active-disk': saveString('active_disk', 'active-disk', v); break;
          case 'hidden-disk': saveString('hidden_disk', 'hidden-disk', v); break;
          case 'colo-port': {
            const n = /^\d+$/.test(v) ? Number(v) : 0;
            if (!n) err(`unknown value for colo-port: '${v}'`);
            d.colo_port = n;
            break;
          }
          case 'grant_usage':
            if (v === '1') d.grant_usage = 'True';
            else if (v === '0') d.grant_usage = 'False';
            else err(`unknown value for grant_usage: '${v}'`, ['0', '1']);
            break;
          default:
            err(`unknown parameter '${k}'`, DISK_KEYS.map((x) => (x.includes('-') || ['cdrom', 'trusted', 'untrusted', 'discard', 'colo'].includes(x) ? x : `${x}=`)));
        }
        continue;
      }
      switch (tok) {
        case 'cdrom': d.is_cdrom = 1; continue;
        case 'direct-io-safe': d.direct_io_safe = true; continue;
        case 'discard': d.discard_enable = 'True'; continue;
        case 'no-discard': d.discard_enable = 'False'; continue;
        case 'colo': d.colo_enable = 'True'; continue;
        case 'no-colo': d.colo_enable = 'False'; continue;
        case 'trusted': d.trusted = 'True'; continue;
        case 'untrusted': d.trusted = 'False'; continue;
      }
      // Positional: target, format, vdev, access.
      if (d.pdev_path === undefined) {
        d.pdev_path = tok;
      } else if (!hadDeprPrefix && d.format === undefined) {
        if (d.pdev_path === '' && vdevAndDevtype(tok)) d.format = 'empty';
        else setFormat(tok);
      } else if (d.vdev === undefined) {
        if (!vdevAndDevtype(tok)) saveString('vdev', 'vdev', tok);
      } else if (!accessSet) {
        accessSet = true;
        setAccess(tok);
      } else {
        err(`too many positional parameters: near '${tok}' (positional order: target, format, vdev, access)`);
      }
    }
  }
  if (d.format === undefined) d.format = 'raw';
  if (d.is_cdrom) {
    d.removable = 1;
    d.readwrite = 0;
    if (!d.pdev_path) d.format = 'empty';
  }
  if (d.vdev === undefined) err('no vdev specified');
  if (d.pdev_path === undefined && !d.removable) err('no target specified (and device not removable)');
  return d;
}
