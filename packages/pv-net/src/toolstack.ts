/**
 * The toolstack side of a vif (libxl's libxl__device_nic_add / libxl__set_xenstore_nic,
 * libxl_nic.c): from an xl.cfg `vif=` spec (as `@tachyxx/xlcfg`'s parseVifSpec returns it,
 * libxl_device_nic) to the device directories netback probes.
 */
import type { XsClient } from '@tachyxx/xenstore';
import { addDevice, type DevicePaths } from '@tachyxx/xenbus';
import { ETH_DATA_LEN, formatMac, parseMac } from './frame.js';

/** What pv-net serves of an xl-network-configuration(5) spec. */
export interface VifSpec {
  readonly devid: number;
  /** Default: 00:16:3e + three octets derived from domid and devid (see defaultMac). */
  readonly mac?: string;
  /** Default xenbr0 (libxl__device_nic_setdefault). */
  readonly bridge?: string;
  /** Default vifDOMID.DEVID. */
  readonly vifname?: string;
  readonly ip?: string;
  readonly mtu?: number;
  /** libxl's rate: bytes per interval and the interval (us); xl's default interval is 50 ms. */
  readonly rateBytesPerInterval?: number;
  readonly rateIntervalUsecs?: number;
  /** vif (PV) or ioemu (PV plus an emulated NIC for HVM: the PV half here). */
  readonly type?: 'vif' | 'ioemu';
  readonly model?: string;
  readonly gatewaydev?: string;
  readonly trusted?: boolean;
}

/** The hotplug script libxl names (XEN_SCRIPT_DIR/vif-bridge); Tachyxx's bridge does its job in-process. */
export const VIF_SCRIPT = '/etc/xen/scripts/vif-bridge';
export const DEFAULT_BRIDGE = 'xenbr0';

/**
 * The MAC of a vif without `mac=`: Xen's OUI 00:16:3e, then the domain id (15 bits) and the devid
 * (low 8 bits) — deterministic, where libxl draws three random octets, and distinct for every
 * domain and its first 256 vifs.
 */
export function defaultMac(domid: number, devid: number): string {
  return formatMac(Uint8Array.of(0x00, 0x16, 0x3e, (domid >> 8) & 0x7f, domid & 0xff, devid & 0xff));
}

/**
 * Adds vif `spec` for `domid` with libxl's keys: backend script, vifname (when set), mac, ip,
 * gatewaydev, rate ("BYTES,USECS"), mtu, bridge, handle, type; frontend handle, mac, mtu, trusted.
 */
export function addVif(xs: XsClient, domid: number, spec: VifSpec, backendDomid = 0): DevicePaths {
  const what = `vif ${spec.devid}`;
  if (!Number.isInteger(spec.devid) || spec.devid < 0) throw new Error(`${what}: devid must be a non-negative integer`);
  let mac: string;
  try { mac = formatMac(parseMac(spec.mac ?? defaultMac(domid, spec.devid))); } catch (e) { throw new Error(`${what}: mac: ${(e as Error).message}`); }
  if (parseMac(mac)[0]! & 1) throw new Error(`${what}: mac ${mac} is a multicast address`);
  const bridge = spec.bridge ?? DEFAULT_BRIDGE;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw new Error(`${what}: bridge '${bridge}' is not an interface name (1-15 of [A-Za-z0-9_.-])`);
  if (spec.vifname !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(spec.vifname)) throw new Error(`${what}: vifname '${spec.vifname}' is not an interface name`);
  const mtu = spec.mtu ?? ETH_DATA_LEN;
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`${what}: mtu ${mtu} is not in 68..65535`);
  const back: Record<string, string> = { script: VIF_SCRIPT };
  if (spec.vifname !== undefined) back.vifname = spec.vifname;
  back.mac = mac;
  if (spec.ip !== undefined) back.ip = spec.ip;
  if (spec.gatewaydev !== undefined) back.gatewaydev = spec.gatewaydev;
  if (spec.rateIntervalUsecs !== undefined && spec.rateIntervalUsecs > 0) back.rate = `${spec.rateBytesPerInterval ?? 0},${spec.rateIntervalUsecs}`;
  back.mtu = String(mtu);
  back.bridge = bridge;
  back.handle = String(spec.devid);
  back.type = spec.type === 'ioemu' ? 'vif_ioemu' : 'vif';
  const front: Record<string, string> = { handle: String(spec.devid), mac, mtu: String(mtu) };
  if (spec.trusted !== undefined) front.trusted = spec.trusted ? '1' : '0';
  return addDevice(xs, { kind: 'vif', domid, devid: spec.devid, backendDomid }, { backend: back, frontend: front });
}

/** The fields of libxl_device_nic (as `@tachyxx/xlcfg`'s parseVifSpec returns them) this slice reads. */
export interface LibxlNicLike {
  readonly devid: number;
  readonly mtu?: number;
  readonly vlan?: string;
  readonly model?: string;
  readonly mac?: string;
  readonly ip?: string;
  readonly bridge?: string;
  readonly ifname?: string;
  readonly script?: string;
  readonly nictype?: string;
  readonly rate_bytes_per_interval?: number;
  readonly rate_interval_usecs?: number;
  readonly gatewaydev?: string;
  readonly backend_domname?: string;
  readonly trusted?: string;
}

/**
 * An xl.cfg `vif=` entry as a VifSpec for `addVif`, or an error naming what pv-net cannot do: a
 * driver domain (backend=), hotplug scripts other than vif-bridge (vif-route, vif-nat, vif-openvswitch
 * are not run), VLANs.
 */
export function vifSpecFromLibxl(n: LibxlNicLike): VifSpec {
  const what = `vif ${n.devid}`;
  if (n.backend_domname !== undefined && n.backend_domname !== 'Domain-0' && n.backend_domname !== '0') throw new Error(`${what}: backend=${n.backend_domname}: only dom0 serves vifs`);
  if (n.script !== undefined && !/(^|\/)vif-bridge$/.test(n.script)) throw new Error(`${what}: script=${n.script} is not supported (the in-process bridge is vif-bridge; route, nat and openvswitch scripts are not run)`);
  if (n.vlan !== undefined) throw new Error(`${what}: vlan=${n.vlan} is not supported (the bridge has no VLAN filtering)`);
  return {
    devid: n.devid,
    ...(n.mac !== undefined ? { mac: n.mac } : {}),
    ...(n.bridge !== undefined ? { bridge: n.bridge } : {}),
    ...(n.ifname !== undefined ? { vifname: n.ifname } : {}),
    ...(n.ip !== undefined ? { ip: n.ip } : {}),
    ...(n.mtu !== undefined ? { mtu: n.mtu } : {}),
    ...(n.rate_interval_usecs !== undefined ? { rateBytesPerInterval: n.rate_bytes_per_interval ?? 0, rateIntervalUsecs: n.rate_interval_usecs } : {}),
    type: n.nictype === 'vif_ioemu' ? 'ioemu' : 'vif',
    ...(n.model !== undefined ? { model: n.model } : {}),
    ...(n.gatewaydev !== undefined ? { gatewaydev: n.gatewaydev } : {}),
    ...(n.trusted !== undefined ? { trusted: n.trusted === 'True' } : {}),
  };
}
