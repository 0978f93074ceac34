// Network ops (xl network-list / network-attach / network-detach, xl_vif.c over libxl_nic.c):
// vif devices of a domain read from xenstore where libxl keeps them, added with libxl's keys
// (pv-net's addVif), removed the way libxl__initiate_device_generic_remove does it.
import { SimEvent } from '@tachyxx/core';
import { addVif, vifSpecFromLibxl, type LibxlNicLike } from '@tachyxx/pv-net';
import { destroyDevice, requestRemove } from '@tachyxx/xenbus';
import { ToolstackError } from '../protocol.js';
import type { Toolstack } from '../toolstack.js';
import { op, type OpArgs, type OpTable } from './types.js';

/** libxl's LIBXL_DESTROY_TIMEOUT: a frontend that has not closed by then is removed anyway. */
export const NIC_REMOVE_TIMEOUT_NS = 10e9;
const REMOVE_POLL_NS = 1e6;

/** libxl_nicinfo as xl network-list prints it. */
export interface NicInfo {
  devid: number;
  backendId: number;
  mac: string;
  /** Frontend state (-1 when absent), as libxl_device_nic_getinfo reads it. */
  state: number;
  evtch: number;
  rrefTx: number;
  rrefRx: number;
  backend: string;
}

function ls(ts: Toolstack, path: string): string[] {
  try { return ts.xsc.directory(path); } catch { return []; }
}

function num(s: string | undefined | null): number {
  return s !== undefined && s !== null && /^\d{1,10}$/.test(s) ? Number(s) : -1;
}

/** libxl_device_nic_list + libxl_device_nic_getinfo for `domid`, in devid order. */
export function listNics(ts: Toolstack, domid: number): NicInfo[] {
  const out: NicInfo[] = [];
  const fdir = `/local/domain/${domid}/device/vif`;
  for (const n of ls(ts, fdir).filter((x) => /^\d+$/.test(x)).sort((a, b) => Number(a) - Number(b))) {
    const fe = `${fdir}/${n}`;
    const rd = (k: string) => ts.xsc.tryRead(`${fe}/${k}`) ?? undefined;
    const backend = ts.xsc.tryRead(`/libxl/${domid}/device/vif/${n}/backend`) ?? rd('backend') ?? '';
    out.push({
      devid: Number(n),
      backendId: num(rd('backend-id')),
      mac: ts.xsc.tryRead(`${backend}/mac`) ?? rd('mac') ?? '00:00:00:00:00:00',
      state: num(rd('state')),
      evtch: num(rd('event-channel')),
      rrefTx: num(rd('tx-ring-ref')),
      rrefRx: num(rd('rx-ring-ref')),
      backend,
    });
  }
  return out;
}

function networkList(ts: Toolstack, a: OpArgs): unknown {
  const domids = ts.records.selected(a);
  return { domains: domids.map((domid) => ({ domid, nics: listNics(ts, domid) })) };
}

/** libxl_device_nic_add: the next free devid unless the spec names one (libxl__device_nextid). */
function networkAttach(ts: Toolstack, a: OpArgs): unknown {
  const domid = ts.records.domainArg(a);
  if (domid === 0) throw new ToolstackError('EINVAL', 'network-attach: dom0 has no frontend here (its vifs would be served by itself)');
  const nic = { ...(a.nic as Record<string, unknown>) } as Record<string, unknown>;
  const used = listNics(ts, domid).map((x) => x.devid);
  if (nic.devid === undefined || nic.devid === null || nic.devid === -1) nic.devid = used.length ? Math.max(...used) + 1 : 0;
  if (!Number.isSafeInteger(nic.devid) || (nic.devid as number) < 0) throw new ToolstackError('EINVAL', `network-attach: devid ${String(nic.devid)} is not a non-negative integer`);
  if (used.includes(nic.devid as number)) throw new ToolstackError('EEXIST', `network-attach: domain ${domid} already has vif ${String(nic.devid)}`);
  try {
    const p = addVif(ts.xsc, domid, vifSpecFromLibxl(nic as unknown as LibxlNicLike));
    return { domid, devid: nic.devid, backend: p.backend, frontend: p.frontend };
  } catch (e) {
    throw new ToolstackError('EINVAL', (e as Error).message);
  }
}

/**
 * libxl_device_nic_remove: `online` = 0 and the backend to Closing; the frontend closes, netback
 * reaches Closed, then the directories go. A frontend that has not closed after
 * NIC_REMOVE_TIMEOUT_NS (simulated) is removed anyway, as libxl does after its timeout; one that
 * is not connected (Initialising, Closed) is removed at once.
 */
function networkDetach(ts: Toolstack, a: OpArgs): unknown {
  const domid = ts.records.domainArg(a);
  const nics = listNics(ts, domid);
  const which = a.devid !== undefined ? String(a.devid) : String(a.mac ?? '');
  const nic = a.devid !== undefined ? nics.find((n) => n.devid === Number(a.devid)) : nics.find((n) => n.mac.toLowerCase() === String(a.mac ?? '').toLowerCase());
  if (!nic) throw new ToolstackError('ENOENT', `Unknown device ${which}.`);
  const id = { kind: 'vif' as const, domid, devid: nic.devid, backendDomid: nic.backendId < 0 ? 0 : nic.backendId };
  requestRemove(ts.xsc, id);
  // No frontend to close it (never connected, or already Closed): nothing to wait for. (libxl
  // would wait out its timeout here; a paused host's simulated clock may not move at all.)
  if (nic.state !== 3 && nic.state !== 4 && nic.state !== 5) {
    destroyDevice(ts.xsc, id);
    return { domid, devid: nic.devid };
  }
  const host = ts.host;
  const deadline = host.clock.now + NIC_REMOVE_TIMEOUT_NS;
  const ev = new SimEvent(`toolstack.vif-remove.d${domid}-${nic.devid}`, () => {
    const st = ts.xsc.tryRead(`${nic.backend}/state`);
    if (st === undefined || st === null || st === '6' || host.clock.now >= deadline) { destroyDevice(ts.xsc, id); return; }
    host.queue.schedule(ev, host.clock.now + REMOVE_POLL_NS);
  });
  host.queue.schedule(ev, host.clock.now);
  return { domid, devid: nic.devid };
}

export const NETWORK_OPS: OpTable<'network-list' | 'network-attach' | 'network-detach'> = {
  'network-list': op('network-list', networkList),
  'network-attach': op('network-attach', networkAttach),
  'network-detach': op('network-detach', networkDetach),
};
