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
 * backend params, mode, type, dev, removable, bootable, device-type; frontend virtual-device and
 * device-type. Refuses a non-raw format, and a file another domain already has open read-write
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
  return addDevice(xs, { kind: 'vbd', domid, devid, backendDomid }, {
    backend: {
      params: file, mode, type: 'phy', dev: spec.vdev, removable: '0', bootable: '1', 'device-type': 'disk',
    },
    frontend: { 'virtual-device': String(devid), 'device-type': 'disk' },
  });
}

function ls(xs: XsClient, path: string): string[] {
  try { return xs.directory(path); } catch { return []; }
}
