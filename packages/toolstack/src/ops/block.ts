// Block device ops: block-attach (libxl_device_disk_add), block-list (libxl_device_disk_list +
// libxl_device_disk_getinfo), block-detach (libxl_device_disk_remove: the backend asked to close
// through the xenbus states, then the directories removed).
import { XenbusKeys, XenbusState } from '@tachyxx/abi';
import { addVbd, diskSpecFromLibxl, vdevToDevid, type LibxlDiskLike } from '@tachyxx/pv-blk';
import { destroyDevice, devicePaths, requestRemove } from '@tachyxx/xenbus';
import { ToolstackError, type BlockEntry } from '../protocol.js';
import type { Toolstack } from '../toolstack.js';
import { op, type OpTable } from './types.js';

/**
 * How long block-detach waits for the backend to reach Closed before it removes the device
 * anyway (libxl's LIBXL_DESTROY_TIMEOUT, 10 s, then a forced remove: device_backend_callback).
 */
export const BLOCK_DETACH_TIMEOUT_MS = 10_000;

/** A vdev name (xvda, hda, sdb) or a Xen device number, as libxl_vdev_to_device_disk takes it. */
function devidOf(vdev: string): number {
  if (/^\d{1,10}$/.test(vdev)) return Number(vdev);
  try { return vdevToDevid(vdev); } catch { return -1; }
}

function ls(ts: Toolstack, path: string): string[] {
  try { return ts.xsc.directory(path); } catch { return []; }
}

const num = (s: string | null | undefined) => (s !== null && s !== undefined && /^\d{1,10}$/.test(s) ? Number(s) : -1);

/** The vbds of `domid` as libxl lists them (its /libxl/D/device/vbd copies), by devid. */
function diskList(ts: Toolstack, domid: number): BlockEntry[] {
  const out: BlockEntry[] = [];
  for (const n of ls(ts, `/libxl/${domid}/device/vbd`).map(Number).filter(Number.isInteger).sort((x, y) => x - y)) {
    const p = devicePaths({ kind: 'vbd', domid, devid: n });
    const be = ts.xsc.tryRead(`${p.libxl}/${XenbusKeys.backend}`) ?? p.backend;
    const fe = ts.xsc.tryRead(`${p.libxl}/${XenbusKeys.frontend}`) ?? p.frontend;
    out.push({
      domid, devid: n, vdev: ts.xsc.tryRead(`${be}/dev`) ?? String(n),
      backendId: num(ts.xsc.tryRead(`${fe}/${XenbusKeys.backendId}`)), frontendId: domid,
      state: num(ts.xsc.tryRead(`${fe}/${XenbusKeys.state}`)),
      evtch: num(ts.xsc.tryRead(`${fe}/event-channel`)),
      rref: num(ts.xsc.tryRead(`${fe}/ring-ref`)),
      backend: be,
    });
  }
  return out;
}

export const BLOCK_OPS: OpTable<'block-attach' | 'block-list' | 'block-detach'> = {
  'block-attach': op('block-attach', (ts, a) => {
    const domid = ts.records.domainArg(a);
    if (domid === 0) throw new ToolstackError('EPERM', 'block-attach: Domain-0 has no frontends here (dom0 serves the disks)');
    const r = ts.records.rec(domid);
    if (r.d.shutdownCode !== null) throw new ToolstackError('EINVAL', `block-attach: domain ${domid} is shutting down`);
    const disk = a.disk as LibxlDiskLike;
    let devid: number;
    try {
      const spec = diskSpecFromLibxl(disk);
      devid = vdevToDevid(spec.vdev);
      // libxl__device_exists: a vdev the domain already has is refused.
      if (ts.xsc.exists(devicePaths({ kind: 'vbd', domid, devid }).libxl)) throw new ToolstackError('EEXIST', `device already exists in xenstore: vbd ${spec.vdev} of domain ${domid}`);
      addVbd(ts.xsc, domid, spec);
    } catch (e) {
      if (e instanceof ToolstackError) throw e;
      const m = (e as Error).message;
      throw new ToolstackError(/ENOENT|no such file/i.test(m) ? 'ENOENT' : / is in use by domain /.test(m) ? 'EBUSY' : 'EINVAL', m);
    }
    return { domid, devid };
  }),

  'block-list': op('block-list', (ts, a) => {
    const disks: BlockEntry[] = [];
    for (const domid of ts.records.selected(a)) disks.push(...diskList(ts, domid));
    return { disks };
  }),

  'block-detach': op('block-detach', async (ts, a) => {
    const domid = ts.records.domainArg(a);
    const vdev = String(a.vdev ?? '');
    const devid = devidOf(vdev);
    const id = { kind: 'vbd' as const, domid, devid };
    if (devid < 0 || !ts.xsc.exists(devicePaths(id).libxl)) throw new ToolstackError('ENOENT', `Error: Device ${vdev.slice(0, 64)} not connected.`);
    const p = devicePaths(id);
    requestRemove(ts.xsc, id);
    ts.onWork();
    // Wait for the backend's Closed (the frontend closes its side); then, or after the timeout
    // (libxl's forced remove), the directories go and the backend drops the device.
    const end = Date.now() + BLOCK_DETACH_TIMEOUT_MS;
    let forced = false;
    for (;;) {
      const st = num(ts.xsc.tryRead(`${p.backend}/${XenbusKeys.state}`));
      if (st === XenbusState.Closed || st < 0) break;
      if (Date.now() > end) { forced = true; break; }
      await new Promise((res) => setTimeout(res, 5));
    }
    destroyDevice(ts.xsc, id);
    ts.onWork();
    if (forced) ts.host.log(`(XEN) libxl: vbd ${vdev} of d${domid}: backend did not close within ${BLOCK_DETACH_TIMEOUT_MS / 1000} s: removed by force`);
    return { domid, devid, forced };
  }),
};
