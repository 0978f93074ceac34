/**
 * The toolstack side of a vbd (libxl's libxl__device_disk_add, libxl_disk.c): from an xl.cfg-like
 * disk spec to the device directories the backend probes.
 */
import { realpathSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { XsClient } from '@tachyxx/xenstore';
import { addDevice, type DevicePaths } from '@tachyxx/xenbus';

/** What this slice accepts of an xl-disk-configuration(5) spec. */
export interface DiskSpec {
  /** The image file (a raw image; sparse is fine). */
  readonly target: string;
  /** The virtual device: xvdX, hdX (a-d) or sdX (a-p), whole disks only. */
  readonly vdev: string;
  /** r (read-only) or w (read-write); default w. */
  readonly access?: 'r' | 'w' | 'ro' | 'rw';
  /** Only raw here; anything else is refused with the reason. */
  readonly format?: string;
  /** `discard` / `no-discard`: the backend's discard-enable (libxl's default: on for a writable disk). */
  readonly discard?: boolean;
}

/**
 * xen-vbd-interface(7): the Xen virtual device number of a whole disk. xvd[a-p] are
 * (202 << 8) | (disk << 4); xvd[q-z] use the extended form (1 << 28) | (disk << 8); hda-hdd are
 * IDE majors 3 and 22 (minor 0/64); sda-sdp are (8 << 8) | (disk << 4). Throws on anything else.
 */
export function vdevToDevid(vdev: string): number {
  const m = /^(xvd|hd|sd)([a-z])$/.exec(vdev);
  if (!m) throw new RangeError(`vdev '${vdev}': expected xvdX, hdX or sdX (a whole disk, one letter; partitions and xvdaa.. are not supported)`);
  const disk = m[2]!.charCodeAt(0) - 97;
  switch (m[1]) {
    case 'xvd': return disk < 16 ? (202 << 8) | (disk << 4) : (1 << 28) | (disk << 8);
    case 'hd':
      if (disk > 3) throw new RangeError(`vdev '${vdev}': only hda-hdd exist (xen-vbd-interface(7))`);
      return ((disk < 2 ? 3 : 22) << 8) | ((disk & 1) << 6);
    default:
      if (disk > 15) throw new RangeError(`vdev '${vdev}': only sda-sdp exist (xen-vbd-interface(7))`);
      return (8 << 8) | (disk << 4);
  }
}

/**
 * Adds vbd `spec` for `domid` (backend in `backendDomid`, default dom0), with libxl's keys:
 * backend params, mode, type, dev, removable, bootable, device-type, discard-enable; frontend
 * virtual-device and device-type. Refuses a non-raw format, and a file another domain already has open read-write
 * (or that is wanted read-write while another domain has it at all): the check the Linux block
 * hotplug script's check_sharing makes for xl.
 */
export function addVbd(xs: XsClient, domid: number, spec: DiskSpec, backendDomid = 0): DevicePaths {
  const format = spec.format ?? 'raw';
  if (format !== 'raw') throw new Error(`disk ${spec.vdev}: format '${format}' is not supported (only raw images: qcow, qcow2, vhd and qed need qemu's qdisk backend, which Tachyxx does not have)`);
  const access = spec.access ?? 'w';
  const mode = access === 'r' || access === 'ro' ? 'r' : access === 'w' || access === 'rw' ? 'w' : null;
  if (!mode) throw new Error(`disk ${spec.vdev}: access '${String(access)}' must be r, ro, w or rw`);
  const devid = vdevToDevid(spec.vdev);
  let file: string;
  try { file = realpathSync(resolvePath(spec.target)); } catch (e) {
    throw new Error(`disk ${spec.vdev}: target ${spec.target}: ${(e as Error).message}`);
  }
  const root = `/local/domain/${backendDomid}/backend/vbd`;
  for (const d of ls(xs, root)) {
    if (d === String(domid)) continue;
    for (const n of ls(xs, `${root}/${d}`)) {
      const params = xs.tryRead(`${root}/${d}/${n}/params`);
      const m = xs.tryRead(`${root}/${d}/${n}/mode`);
      if (params === undefined || params === null || params !== file) continue;
      if (mode === 'w' || m === 'w') {
        throw new Error(`disk ${spec.vdev}: file ${file} is in use by domain ${d} (mode ${m}), and so cannot be used ${mode === 'w' ? 'read-write' : 'read-only'} by domain ${domid}`);
      }
    }
  }
  // libxl__device_disk_setdefault: discard_enable defaults to the disk being writable.
  const discard = spec.discard ?? mode === 'w';
  return addDevice(xs, { kind: 'vbd', domid, devid, backendDomid }, {
    backend: {
      params: file, mode, type: 'phy', dev: spec.vdev, removable: '0', bootable: '1', 'device-type': 'disk',
      'discard-enable': discard ? '1' : '0',
    },
    frontend: { 'virtual-device': String(devid), 'device-type': 'disk' },
  });
}

function ls(xs: XsClient, path: string): string[] {
  try { return xs.directory(path); } catch { return []; }
}

/** The fields of libxl_device_disk (as `@tachyxx/xlcfg`'s parseDiskSpec returns them) this slice reads. */
export interface LibxlDiskLike {
  readonly pdev_path?: string;
  readonly vdev?: string;
  readonly backend?: string;
  readonly format?: string;
  readonly script?: string;
  readonly readwrite?: number;
  readonly is_cdrom?: number;
  readonly backend_domname?: string;
  readonly specification?: string;
  readonly discard_enable?: 'True' | 'False';
}

/**
 * An xl.cfg `disk=` entry (libxl_device_disk, parsed per xl-disk-configuration(5)) as a DiskSpec
 * for `addVbd`, or an error naming what this backend cannot do: formats other than raw (libxl's
 * default), backends other than phy (qdisk/tap are qemu's and blktap's), hotplug scripts, CD-ROMs
 * and empty drives, a driver domain, virtio disks.
 */
export function diskSpecFromLibxl(d: LibxlDiskLike): DiskSpec {
  const what = `disk '${d.vdev ?? '?'}'`;
  if (!d.vdev) throw new Error(`${what}: no vdev`);
  if (d.is_cdrom === 1) throw new Error(`${what}: devtype=cdrom is not supported (pv-blk serves disks only)`);
  if (!d.pdev_path) throw new Error(`${what}: no target (an empty drive is a CD-ROM, not supported)`);
  if (d.backend !== undefined && d.backend !== 'phy') throw new Error(`${what}: backendtype=${d.backend} is not supported (only phy: dom0's blkback over a raw file)`);
  if (d.script !== undefined) throw new Error(`${what}: script=${d.script}: hotplug scripts are not run (the target must be a raw image file)`);
  if (d.backend_domname !== undefined && d.backend_domname !== 'Domain-0') throw new Error(`${what}: backend=${d.backend_domname}: only dom0 serves disks`);
  if (d.specification !== undefined && d.specification !== 'xen') throw new Error(`${what}: specification=${d.specification} is not supported (only xen's blkif)`);
  return {
    target: d.pdev_path, vdev: d.vdev, access: d.readwrite === 0 ? 'r' : 'w', format: d.format ?? 'raw',
    ...(d.discard_enable !== undefined ? { discard: d.discard_enable === 'True' } : {}),
  };
}
