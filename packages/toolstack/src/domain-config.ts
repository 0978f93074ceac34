/**
 * libxl's domain_config JSON (what `xl create -n` prints and what `xl create` sends to the host)
 * and its reduction to what the Tachyxx domain builder needs. Unknown keys are kept (they come
 * back in `list -l`) and ignored; devices Tachyxx has no backends for produce warnings; an HVM
 * guest is refused with the reason.
 */
import { ToolstackError } from './protocol.js';
import { parseCpuList, type CpuTopology } from './cpulist.js';
import { MAX_MEMKB } from './units.js';

export type ShutdownAction =
  | 'destroy' | 'restart' | 'preserve' | 'rename-restart' | 'coredump-destroy' | 'coredump-restart' | 'soft-reset';

export const SHUTDOWN_ACTIONS: readonly ShutdownAction[] = [
  'destroy', 'restart', 'preserve', 'rename-restart', 'coredump-destroy', 'coredump-restart', 'soft-reset',
];

/** The domain_config JSON, loosely typed (the layout of libxl_domain_config_gen_json). */
export interface DomainConfigJson {
  c_info: {
    name: string;
    uuid?: string;
    type?: string;
    pool_name?: string;
    poolid?: number;
    [k: string]: unknown;
  };
  b_info?: {
    max_vcpus?: number;
    /** A libxl bitmap: the ids of the vCPUs online at boot ([0, 1]); a count is accepted too. */
    avail_vcpus?: number[] | number;
    max_memkb?: number;
    target_memkb?: number;
    sched_params?: { weight?: number; cap?: number; [k: string]: unknown };
    /** Hard affinity of every vCPU (a libxl bitmap = list of pCPU ids, or an xl CPU-list string). */
    cpumap?: number[] | string;
    cpumap_soft?: number[] | string;
    vcpu_hard_affinity?: (number[] | string)[];
    vcpu_soft_affinity?: (number[] | string)[];
    numa_placement?: boolean | string;
    kernel?: string;
    cmdline?: string;
    ramdisk?: string;
    max_grant_frames?: number;
    event_channels?: number;
    type?: { pv?: { kernel?: string; cmdline?: string; [k: string]: unknown }; [k: string]: unknown };
    [k: string]: unknown;
  };
  disks?: unknown[];
  nics?: unknown[];
  pcidevs?: unknown[];
  vtpms?: unknown[];
  on_poweroff?: string;
  on_reboot?: string;
  on_watchdog?: string;
  on_crash?: string;
  on_soft_reset?: string;
  [k: string]: unknown;
}

/** What the builder uses. */
export interface BuildSpec {
  name: string;
  uuid: string | null;
  type: 'pv' | 'pvh';
  kernel: string;
  cmdline: string;
  ramdisk: string | null;
  /** Initial (target) memory in MiB. */
  memoryMiB: number;
  maxMemoryMiB: number;
  /** vCPUs online at boot (their availability in xenstore) and the maximum. */
  vcpus: number;
  maxVcpus: number;
  weight: number | undefined;
  cap: number | undefined;
  /** Hard / soft affinity per vCPU (null = all pCPUs). */
  hard: (number[] | null)[];
  soft: (number[] | null)[];
  /** Hard affinity common to every vCPU (passed to the Host, which then skips NUMA placement). */
  hardAll: number[] | null;
  pool: string | null;
  maxGrantFrames: number | null;
  maxEventChannels: number | null;
  actions: Record<'poweroff' | 'reboot' | 'crash' | 'watchdog' | 'soft_reset', ShutdownAction>;
  warnings: string[];
}

const NAME_RE = /^[^/\s]{1,64}$/;

function num(v: unknown, what: string, min: number, max: number): number {
  if (typeof v === 'string' && /^\d+$/.test(v)) v = Number(v);
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ToolstackError('EINVAL', `${what}: ${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  }
  return v;
}

/** A config value that must be text: a string (numbers and booleans as written); anything else is EINVAL (never String() of an object, which can throw). */
function text(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ToolstackError('EINVAL', `${what}: expected a string, got ${Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v}`);
}

export function parseAction(v: unknown, key: string, dflt: ShutdownAction): ShutdownAction {
  if (v === undefined || v === null) return dflt;
  const s = text(v, key);
  const a = s.toLowerCase().replace(/_/g, '-') as ShutdownAction;
  if (!SHUTDOWN_ACTIONS.includes(a)) throw new ToolstackError('EINVAL', `${key}: invalid action '${s.slice(0, 64)}' (allowed: ${SHUTDOWN_ACTIONS.join(', ')})`);
  return a;
}

function affinity(v: unknown, topo: CpuTopology, what: string): number[] | null {
  if (v === undefined || v === null || v === 'all') return null;
  if (typeof v !== 'string' && !Array.isArray(v)) throw new ToolstackError('EINVAL', `${what}: expected a CPU list, got ${JSON.stringify(v)}`);
  const cpus = parseCpuList(v as string | number[], topo, what);
  return cpus.length === topo.pcpus ? null : cpus;
}

/** Validates a domain_config and reduces it to a BuildSpec. */
export function toBuildSpec(raw: unknown, topo: CpuTopology): BuildSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ToolstackError('EINVAL', 'config: expected a libxl domain_config object');
  const cfg = raw as DomainConfigJson;
  const c = cfg.c_info;
  if (typeof c !== 'object' || c === null) throw new ToolstackError('EINVAL', 'config: c_info is missing');
  const b = cfg.b_info ?? {};
  const warnings: string[] = [];
  if (typeof c.name !== 'string' || !NAME_RE.test(c.name)) throw new ToolstackError('EINVAL', `c_info.name: invalid domain name ${JSON.stringify(c.name)} (1-64 characters, no '/' or spaces)`);
  if (/^\d+$/.test(c.name)) throw new ToolstackError('EINVAL', `c_info.name: '${c.name}' is all digits and would be taken for a domain id`);
  const type = text(c.type ?? 'pv', 'c_info.type').toLowerCase();
  if (type === 'hvm') throw new ToolstackError('ENOTSUP', `type 'hvm' needs device emulation (a device model), which Tachyxx does not have: use type = "pv" or "pvh"`);
  if (type !== 'pv' && type !== 'pvh') throw new ToolstackError('EINVAL', `c_info.type: unknown type '${type}' (allowed: pv, pvh, hvm)`);
  const uuid = c.uuid === undefined || c.uuid === null || c.uuid === '' ? null : text(c.uuid, 'c_info.uuid');
  if (uuid !== null && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(uuid)) throw new ToolstackError('EINVAL', `c_info.uuid: '${uuid}' is not a UUID`);

  const kernel = b.kernel ?? b.type?.pv?.kernel;
  if (typeof kernel !== 'string' || kernel === '') throw new ToolstackError('EINVAL', 'b_info.kernel: a kernel image is required (Tachyxx boots PV/PVH kernels directly)');
  const cmdline = text(b.cmdline ?? b.type?.pv?.cmdline ?? '', 'b_info.cmdline');
  const ramdisk = typeof b.ramdisk === 'string' && b.ramdisk ? b.ramdisk : null;
  if (ramdisk) warnings.push(`ramdisk '${ramdisk}' is not loaded: the Tachyxx boot ABI has no initrd yet`);

  const targetKb = num(b.target_memkb ?? b.max_memkb ?? 128 * 1024, 'b_info.target_memkb', 1024, MAX_MEMKB);
  const maxKb = num(b.max_memkb ?? targetKb, 'b_info.max_memkb', 1024, MAX_MEMKB);
  if (targetKb > maxKb) throw new ToolstackError('EINVAL', `memory (${targetKb} KiB) must not be more than maxmem (${maxKb} KiB)`);
  const memoryMiB = Math.ceil(targetKb / 1024);
  const maxMemoryMiB = Math.max(memoryMiB, Math.ceil(maxKb / 1024));

  const maxVcpus = num(b.max_vcpus ?? 1, 'b_info.max_vcpus', 1, 32);
  let vcpus: number;
  if (b.avail_vcpus === undefined) vcpus = maxVcpus;
  else if (typeof b.avail_vcpus === 'number') vcpus = num(b.avail_vcpus, 'b_info.avail_vcpus', 1, maxVcpus);
  else if (Array.isArray(b.avail_vcpus)) {
    vcpus = b.avail_vcpus.length;
    if (vcpus < 1 || vcpus > maxVcpus) throw new ToolstackError('EINVAL', `b_info.avail_vcpus: ${vcpus} vCPUs online at boot, allowed 1..${maxVcpus} (maxvcpus)`);
  } else throw new ToolstackError('EINVAL', `b_info.avail_vcpus: expected a bitmap (list of vCPU ids), got ${JSON.stringify(b.avail_vcpus)}`);

  const sp = b.sched_params ?? {};
  const weight = sp.weight === undefined || sp.weight === null || sp.weight === -1 ? undefined : num(sp.weight, 'b_info.sched_params.weight', 1, 65535);
  const cap = sp.cap === undefined || sp.cap === null || sp.cap === -1 ? undefined : num(sp.cap, 'b_info.sched_params.cap', 0, 100 * 256);

  const hardAll = affinity(b.cpumap, topo, 'cpus');
  const softAll = affinity(b.cpumap_soft, topo, 'cpus_soft');
  const hard: (number[] | null)[] = [];
  const soft: (number[] | null)[] = [];
  for (let i = 0; i < maxVcpus; i++) {
    const h = b.vcpu_hard_affinity?.[i];
    const s = b.vcpu_soft_affinity?.[i];
    hard.push(h !== undefined ? affinity(h, topo, `cpus (vCPU ${i})`) : hardAll);
    soft.push(s !== undefined ? affinity(s, topo, `cpus_soft (vCPU ${i})`) : softAll);
  }
  const perVcpuHard = b.vcpu_hard_affinity !== undefined && b.vcpu_hard_affinity.length > 0;
  const pool = typeof c.pool_name === 'string' && c.pool_name ? c.pool_name : null;

  // disks, nics and pcidevs: attached by the builder (pv-blk's blkback, pv-net's netback, passthrough). The rest have no backend.
  for (const [key, label] of [['vtpms', 'vtpm']] as const) {
    const list = cfg[key];
    if (Array.isArray(list) && list.length) warnings.push(`${label}: ${list.length} device(s) configured, but Tachyxx has no ${label} backend yet: the domain is built without them`);
  }

  return {
    name: c.name,
    uuid,
    type: type as 'pv' | 'pvh',
    kernel,
    cmdline,
    ramdisk,
    memoryMiB,
    maxMemoryMiB,
    vcpus,
    maxVcpus,
    weight,
    cap,
    hard,
    soft,
    hardAll: perVcpuHard ? null : hardAll,
    pool,
    maxGrantFrames: b.max_grant_frames === undefined || b.max_grant_frames === -1 ? null : num(b.max_grant_frames, 'b_info.max_grant_frames', 1, 4096),
    maxEventChannels: b.event_channels === undefined || b.event_channels === -1 ? null : num(b.event_channels, 'b_info.event_channels', 1, 131072),
    actions: {
      poweroff: parseAction(cfg.on_poweroff, 'on_poweroff', 'destroy'),
      reboot: parseAction(cfg.on_reboot, 'on_reboot', 'restart'),
      crash: parseAction(cfg.on_crash, 'on_crash', 'destroy'),
      watchdog: parseAction(cfg.on_watchdog, 'on_watchdog', 'destroy'),
      soft_reset: parseAction(cfg.on_soft_reset, 'on_soft_reset', 'soft-reset'),
    },
    warnings,
  };
}
