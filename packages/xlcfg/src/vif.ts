/**
 * xl-network-configuration(5) vif specs: comma-separated `key=value` items (leading spaces
 * ignored), plus the bare words `trusted` / `untrusted`. An empty spec ('') is a NIC with every
 * default. Follows xl_parse.c parse_nic_config and libxlu_vif.c (rate).
 */
export interface DeviceNic {
  backend_domname?: string;
  devid: number;
  mtu?: number;
  vlan?: string;
  model?: string;
  mac?: string;
  ip?: string;
  bridge?: string;
  ifname?: string;
  script?: string;
  nictype?: 'vif_ioemu' | 'vif';
  rate_bytes_per_interval?: number;
  rate_interval_usecs?: number;
  gatewaydev?: string;
  trusted?: 'True' | 'False';
  /** COLO settings (xl passes them to libxl unchanged). */
  [colo: `colo${string}`]: string | undefined;
}

const STRING_KEYS: Record<string, keyof DeviceNic> = {
  bridge: 'bridge',
  gatewaydev: 'gatewaydev',
  netdev: 'gatewaydev',
  ip: 'ip',
  script: 'script',
  backend: 'backend_domname',
  vifname: 'ifname',
  model: 'model',
  vlan: 'vlan',
  forwarddev: 'coloft_forwarddev',
};

const COLO_KEYS = [
  'colo_sock_mirror_id', 'colo_sock_mirror_ip', 'colo_sock_mirror_port',
  'colo_sock_compare_pri_in_id', 'colo_sock_compare_pri_in_ip', 'colo_sock_compare_pri_in_port',
  'colo_sock_compare_sec_in_id', 'colo_sock_compare_sec_in_ip', 'colo_sock_compare_sec_in_port',
  'colo_sock_compare_notify_id', 'colo_sock_compare_notify_ip', 'colo_sock_compare_notify_port',
  'colo_sock_redirector0_id', 'colo_sock_redirector0_ip', 'colo_sock_redirector0_port',
  'colo_sock_redirector1_id', 'colo_sock_redirector1_ip', 'colo_sock_redirector1_port',
  'colo_sock_redirector2_id', 'colo_sock_redirector2_ip', 'colo_sock_redirector2_port',
  'colo_filter_mirror_queue', 'colo_filter_mirror_outdev',
  'colo_filter_redirector0_queue', 'colo_filter_redirector0_indev', 'colo_filter_redirector0_outdev',
  'colo_filter_redirector1_queue', 'colo_filter_redirector1_indev', 'colo_filter_redirector1_outdev',
  'colo_compare_pri_in', 'colo_compare_sec_in', 'colo_compare_out', 'colo_compare_notify_dev',
  'colo_sock_sec_redirector0_id', 'colo_sock_sec_redirector0_ip', 'colo_sock_sec_redirector0_port',
  'colo_sock_sec_redirector1_id', 'colo_sock_sec_redirector1_ip', 'colo_sock_sec_redirector1_port',
  'colo_filter_sec_redirector0_queue', 'colo_filter_sec_redirector0_indev', 'colo_filter_sec_redirector0_outdev',
  'colo_filter_sec_redirector1_queue', 'colo_filter_sec_redirector1_indev', 'colo_filter_sec_redirector1_outdev',
  'colo_filter_sec_rewriter0_queue', 'colo_checkpoint_host', 'colo_checkpoint_port',
];

export const VIF_KEYS: readonly string[] = ['mac', 'bridge', 'ip', 'type', 'model', 'vifname', 'script', 'backend', 'rate', 'gatewaydev', 'netdev', 'mtu', 'vlan', 'devid', 'accel', 'trusted', 'untrusted', 'forwarddev', ...COLO_KEYS];
export const VIF_TYPES = ['vif', 'ioemu'] as const;

/** A bad spec; the interpreter turns it into an XlCfgError naming the key and line. */
export class VifSpecError extends Error {
  override readonly name = 'VifSpecError';
  constructor(
    readonly reason: string,
    readonly allowed?: readonly string[],
  ) {
    super(reason);
  }
}

export interface VifResult {
  nic: DeviceNic;
  warnings: string[];
}

const U32 = 0xffffffff;

function ulong(key: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new VifSpecError(`${key}: '${v}' is not a non-negative decimal number`);
  const n = Number(v);
  if (n > U32) throw new VifSpecError(`${key}: ${v} is out of range 0..${U32}`);
  return n;
}

/** `rate=RATE[@INTERVAL]`: RATE is N[GMK]B/s or N[GMK]b/s; INTERVAL is N[s|ms|us] (default 50ms). */
export function parseVifRate(rate: string): { bytesPerInterval: number; intervalUsecs: number } {
  const [bytes, interval] = rate.split('@', 2) as [string, string | undefined];
  if (bytes === '') throw new VifSpecError(`no rate specified in '${rate}'`);
  const bm = /^([0-9]+)([GMK]?)([Bb])\/s$/.exec(bytes);
  if (!bm) throw new VifSpecError(`invalid rate '${bytes}' (e.g. 10Mb/s, 100KB/s, 1GB/s@20ms)`);
  let bps = Number(bm[1]);
  if (bps === 0 || bps > U32) throw new VifSpecError(`rate overflow in '${bytes}'`);
  bps *= bm[2] === 'G' ? 1e9 : bm[2] === 'M' ? 1e6 : bm[2] === 'K' ? 1e3 : 1;
  if (bm[3] === 'b') bps = Math.floor(bps / 8);
  let usecs = 50_000;
  if (interval !== undefined) {
    const im = /^([0-9]+)([mu]?)(s?)$/.exec(interval);
    if (!im) throw new VifSpecError(`invalid replenishment interval '${interval}' (e.g. 50ms, 100us, 1s)`);
    let t = Number(im[1]);
    if (t === 0 || t > U32) throw new VifSpecError(`replenishment interval overflow in '${interval}'`);
    if (im[2] === '') t *= 1_000_000;
    else if (im[2] === 'm') t *= 1000;
    if (t > U32) throw new VifSpecError(`replenishment interval overflow in '${interval}'`);
    usecs = t;
  }
  return { bytesPerInterval: Math.floor((bps * usecs) / 1_000_000), intervalUsecs: usecs };
}

/** Parses one vif spec for NIC number `devid`. */
export function parseVifSpec(spec: string, devid: number): VifResult {
  const nic: DeviceNic = { devid };
  const warnings: string[] = [];
  for (let tok of spec.split(',')) {
    if (tok === '') continue; // strtok skips empty tokens
    tok = tok.replace(/^ +/, '');
    if (tok === 'trusted') {
      nic.trusted = 'True';
      continue;
    }
    if (tok === 'untrusted') {
      nic.trusted = 'False';
      continue;
    }
    const eq = tok.indexOf('=');
    const key = eq < 0 ? tok : tok.slice(0, eq);
    const v = eq < 0 ? '' : tok.slice(eq + 1);
    if (eq < 0 || !VIF_KEYS.includes(key)) throw new VifSpecError(`unrecognized argument '${tok}'`, VIF_KEYS.filter((k) => !k.startsWith('colo_')).map((k) => (k === 'trusted' || k === 'untrusted' ? k : `${k}=`)));
    if (key === 'type') {
      if (v === 'vif') nic.nictype = 'vif';
      else if (v === 'ioemu') nic.nictype = 'vif_ioemu';
      else throw new VifSpecError(`invalid type '${v}'`, VIF_TYPES);
    } else if (key === 'mac') {
      const m = /^([0-9a-fA-F]{1,2})([:-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(v);
      if (!m) throw new VifSpecError(`invalid mac '${v}' (six hex bytes: 00:16:3e:xx:xx:xx)`);
      nic.mac = [m[1], m[3], m[4], m[5], m[6], m[7]].map((x) => x!.toLowerCase().padStart(2, '0')).join(':');
    } else if (key === 'rate') {
      const r = parseVifRate(v);
      nic.rate_bytes_per_interval = r.bytesPerInterval;
      nic.rate_interval_usecs = r.intervalUsecs;
    } else if (key === 'mtu') {
      nic.mtu = ulong('mtu', v);
    } else if (key === 'devid') {
      nic.devid = ulong('devid', v);
    } else if (key === 'accel') {
      warnings.push('the accel parameter for vifs is not supported (ignored)');
    } else if (key === 'netdev') {
      warnings.push('the netdev parameter is deprecated, please use gatewaydev instead');
      nic.gatewaydev = v;
    } else if (key in STRING_KEYS) {
      (nic as unknown as Record<string, string>)[STRING_KEYS[key]!] = v;
    } else {
      (nic as unknown as Record<string, string>)[key] = v; // colo_*
    }
  }
  return { nic, warnings };
}
