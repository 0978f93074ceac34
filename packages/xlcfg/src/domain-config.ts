/**
 * xl.cfg settings -> libxl_domain_config, as xl's parse_config_data (tools/xl/xl_parse.c) builds
 * it, with the field names, value spellings and defaults of libxl_types.idl. The result is plain
 * JSON in libxl's field order with every field that is at its libxl default left out, which is
 * what `xl create -n` prints (libxl_domain_config_gen_json skips default fields).
 *
 * Stricter than xl on purpose: where xl prints a warning and ignores a bad value (a memory size
 * that is not a number, a vif item it does not know) this is an XlCfgError naming the key and
 * what is allowed. Keys xl does not know are kept out and reported as warnings (xl ignores them
 * silently). What Tachyxx cannot do (HVM, PCI passthrough, ...) is listed in `unsupported`, for
 * `xl create` to refuse with that reason; the config itself is still built and printed.
 */
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { XlConfig } from './xl-config.js';
import type { XlSetting } from './parser.js';
import { parseCpuList, type HostTopology } from './cpumap.js';
import { parseDiskSpec, DiskSpecError, type DeviceDisk } from './disk.js';
import { parsePciSpec, PciSpecError, type DevicePci } from './pci.js';
import { parseVifSpec, VifSpecError, type DeviceNic } from './vif.js';
import { KNOWN_XL_KEYS, closestXlKey } from './keys.js';
import { Reader, valueError, type XlNotice } from './values.js';

export type DomainType = 'pv' | 'pvh' | 'hvm';
export type ActionOnShutdown = 'destroy' | 'restart' | 'restart_rename' | 'preserve' | 'coredump_destroy' | 'coredump_restart' | 'soft_reset';
export type DefBool = 'True' | 'False';

/** xl.cfg spelling -> libxl_action_on_shutdown spelling. */
export const ACTIONS_ON_SHUTDOWN: Readonly<Record<string, ActionOnShutdown>> = {
  destroy: 'destroy',
  restart: 'restart',
  'rename-restart': 'restart_rename',
  preserve: 'preserve',
  'coredump-destroy': 'coredump_destroy',
  'coredump-restart': 'coredump_restart',
  'soft-reset': 'soft_reset',
};
const ACTION_NAMES = Object.keys(ACTIONS_ON_SHUTDOWN);

export const DOMAIN_TYPES: readonly DomainType[] = ['pv', 'pvh', 'hvm'];
export const TSC_MODES = ['default', 'always_emulate', 'native', 'native_paravirt'] as const;
export const TIMER_MODES = ['delay_for_missed_ticks', 'no_delay_for_missed_ticks', 'no_missed_ticks_pending', 'one_missed_tick_pending'] as const;
export const VGA_KINDS: Readonly<Record<string, string>> = { stdvga: 'std', cirrus: 'cirrus', none: 'none', qxl: 'qxl' };
export const BIOS_TYPES = ['rombios', 'seabios', 'ovmf'] as const;

/** What -n prints. Loosely typed on purpose: it is libxl's JSON, built field by field below. */
export type LibxlDomainConfig = Record<string, unknown> & {
  c_info: Record<string, unknown> & { type: DomainType; name: string; uuid: string };
  b_info: Record<string, unknown>;
};

export interface InterpretOptions {
  /** Folder of the config file: relative kernel, ramdisk, device_tree and disk paths resolve against it. */
  configDir: string;
  /** The host's pCPUs and NUMA nodes, for cpus= / cpus_soft= ("all", "nodes:N"). */
  topology: HostTopology;
  /** Makes the domain's UUID when the config gives none (xl makes a random one). */
  generateUuid: () => string;
}

export interface DomainConfigResult {
  config: LibxlDomainConfig;
  /** Valid config that Tachyxx ignores, deprecated spellings, unknown keys. */
  warnings: XlNotice[];
  /** Valid config that Tachyxx cannot honour: `xl create` refuses it with these reasons. */
  unsupported: XlNotice[];
}

const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;

function normUuid(s: string): string {
  const h = s.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const dbool = (b: boolean | undefined): DefBool | undefined => (b === undefined ? undefined : b ? 'True' : 'False');

/** Drops undefined fields, and `false` / 0 where libxl's default is that (bool and plain ints). */
function clean<T extends Record<string, unknown>>(o: T, zeroIsDefault: readonly string[] = []): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === false) continue;
    if (v === 0 && zeroIsDefault.includes(k)) continue;
    out[k] = v;
  }
  return out as T;
}

export function interpretDomainConfig(cfg: XlConfig, opts: InterpretOptions): DomainConfigResult {
  const r = new Reader(cfg);
  const warnings: XlNotice[] = [];
  const unsupported: XlNotice[] = [];
  const note = (list: XlNotice[], key: string, message: string, s: XlSetting | undefined = cfg.get(key)) => {
    list.push({ key, source: s?.source ?? '<config>', line: s?.line ?? 0, message });
  };
  const path = (p: string | undefined): string | undefined => (p === undefined || p === '' || isAbsolute(p) ? p : resolvePath(opts.configDir, p));

  // --- c_info -----------------------------------------------------------------------------
  let ssidLabel: string | undefined;
  let execSsidLabel: string | undefined;
  const initSeclabel = r.string('init_seclabel');
  if (initSeclabel !== undefined) ssidLabel = initSeclabel;
  const seclabel = r.string('seclabel');
  if (seclabel !== undefined) {
    if (ssidLabel !== undefined) execSsidLabel = seclabel;
    else ssidLabel = seclabel;
  }
  if (initSeclabel !== undefined || seclabel !== undefined) note(unsupported, seclabel !== undefined ? 'seclabel' : 'init_seclabel', 'XSM/FLASK security labels are not modelled by Tachyxx');

  let type: DomainType | undefined = r.choice('type', DOMAIN_TYPES);
  const builder = r.string('builder');
  if (builder !== undefined) {
    const bs = cfg.get('builder')!;
    const bt: DomainType | undefined = builder === 'hvm' ? 'hvm' : builder === 'generic' ? 'pv' : undefined;
    if (!bt) throw valueError(bs, 'builder', `'${builder}' is not valid`, ['generic', 'hvm']);
    if (type !== undefined && type !== bt) throw valueError(bs, 'builder', `contradicts type = "${type}" (builder "${builder}" means ${bt})`);
    note(warnings, 'builder', `"builder" is deprecated since Xen 4.10: write type = "${bt}"`);
    type = bt;
  }
  type ??= 'pv';
  if (type === 'hvm') note(unsupported, cfg.has('type') ? 'type' : 'builder', 'HVM guests need device emulation (a QEMU device model and firmware), which Tachyxx does not have; use type = "pv" or "pvh"');

  const hap = r.bool('hap');
  const nameSetting = r.setting('name');
  const name = r.string('name');
  if (name === undefined) throw valueError({ source: cfg.settings()[0]?.source ?? '<config>', line: 0, col: 0 }, 'name', 'Domain name must be specified');
  if (name === '') throw valueError(nameSetting!, 'name', 'the domain name must not be empty');

  let uuid: string;
  const uuidText = r.string('uuid');
  if (uuidText !== undefined) {
    if (!UUID_RE.test(uuidText)) throw valueError(cfg.get('uuid')!, 'uuid', `'${uuidText}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`);
    uuid = normUuid(uuidText);
  } else uuid = opts.generateUuid();

  const oos = r.bool('oos');
  let poolName = r.string('pool');
  const cpupool = r.string('cpupool');
  if (cpupool !== undefined) {
    note(warnings, 'cpupool', poolName === undefined ? 'xl.cfg spells this key "pool"; taken as pool' : 'xl.cfg spells this key "pool"; ignored because pool is set');
    poolName ??= cpupool;
  }
  const xenstoreFeatureMask = r.int('xenstore_feature_mask', 'a number', 0, 0xffffffff);
  const passthrough = r.choice('passthrough', ['default', 'disabled', 'enabled', 'sync_pt', 'share_pt'] as const);
  const driverDomain = r.bool('driver_domain');
  const xendSuspend = r.bool('xend_suspend_evtchn_compat');

  // --- b_info: scheduling, memory, vCPUs ----------------------------------------------------
  const weight = r.int('cpu_weight', 'a scheduler weight (1..65535)', 1, 65535);
  const cap = r.int('cap', 'a cap in percent of one pCPU (0 = none)', 0, 0x7fffffff);
  const period = r.int('period', 'a period in microseconds', 0, 0x7fffffff);
  const slice = r.int('slice', 'a number', 0, 0x7fffffff);
  const latency = r.int('latency', 'a number', 0, 0x7fffffff);
  const extratime = r.int('extratime', 'a number (0 or 1)', 0, 1);
  for (const k of ['period', 'slice', 'latency', 'extratime'] as const) {
    if (cfg.has(k)) note(warnings, k, `${k} is a parameter of the RTDS/SEDF schedulers; Tachyxx's credit scheduler ignores it`);
  }

  const MiB = 1024;
  const memory = r.int('memory', 'a number of MiB', 1, 2 ** 32);
  const maxmem = r.int('maxmem', 'a number of MiB', 1, 2 ** 32);
  if (memory !== undefined && maxmem !== undefined && maxmem < memory) {
    throw valueError(cfg.get('maxmem')!, 'maxmem', `${maxmem} MiB is less than memory (${memory} MiB); maxmem must be >= memory`);
  }
  const targetMemkb = memory === undefined ? undefined : memory * MiB;
  const maxMemkb = maxmem !== undefined ? maxmem * MiB : targetMemkb;

  let vcpus = r.int('vcpus', 'a number of vCPUs', 0, 4096) ?? 0;
  if (vcpus < 1) vcpus = 1;
  const maxvcpusIn = r.int('maxvcpus', 'a number of vCPUs', 1, 4096);
  const maxVcpus = maxvcpusIn ?? vcpus;
  if (maxVcpus < vcpus) throw valueError(cfg.get('maxvcpus')!, 'maxvcpus', `${maxVcpus} is less than vcpus (${vcpus}); maxvcpus must be >= vcpus`);
  const availVcpus = Array.from({ length: vcpus }, (_, i) => i);

  if (cfg.has('vnuma')) {
    r.setting('vnuma');
    note(unsupported, 'vnuma', 'virtual NUMA topologies (vnuma) are not supported by Tachyxx yet');
  }

  let numaPlacement: DefBool | undefined;
  const affinity = (key: 'cpus' | 'cpus_soft'): number[][] | undefined => {
    const v = r.stringOrList(key);
    if (!v) return undefined;
    const parse = (text: string, line: number): number[] => {
      const res = parseCpuList(text, opts.topology);
      if (typeof res === 'string') throw valueError({ ...v.setting, line }, key, res);
      if (res.missing.length) note(warnings, key, `${res.missing.join(', ')} not on this host (${opts.topology.pcpus} pCPUs, ${opts.topology.nodes.length} NUMA node${opts.topology.nodes.length === 1 ? '' : 's'}): ignored`, v.setting);
      return res.cpus;
    };
    if (v.single !== undefined) {
      const m = parse(v.single, v.setting.line);
      if (key === 'cpus_soft') numaPlacement = 'False';
      return Array.from({ length: maxVcpus }, () => [...m]);
    }
    const items = v.setting.value.kind === 'list' ? v.setting.value.items : [];
    numaPlacement = 'False';
    return v.list!.slice(0, maxVcpus).map((t, i) => parse(t, items[i]!.line));
  };
  const hard = affinity('cpus');
  const soft = affinity('cpus_soft');

  const maxGrantFrames = r.int('max_grant_frames', 'a number of grant table frames', 0, 0x7fffffff);
  const maxMaptrackFrames = r.int('max_maptrack_frames', 'a number of frames', 0, 0x7fffffff);
  const maxGrantVersion = r.int('max_grant_version', 'a grant table version (1 or 2)', 0, 0x7fffffff);

  const action = (key: string, dflt: string): ActionOnShutdown => ACTIONS_ON_SHUTDOWN[r.choice(key, ACTION_NAMES) ?? dflt]!;
  const onPoweroff = action('on_poweroff', 'destroy');
  const onReboot = action('on_reboot', 'restart');
  const onWatchdog = action('on_watchdog', 'destroy');
  const onCrash = action('on_crash', 'destroy');
  const onSoftReset = action('on_soft_reset', 'soft-reset');
  for (const k of ['on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash', 'on_soft_reset']) {
    const v = cfg.get(k);
    if (v?.value.kind === 'atom' && v.value.value.startsWith('coredump-')) note(unsupported, k, `${v.value.value}: Tachyxx does not write domain core dumps yet`);
  }

  const e820Host = type === 'pv' ? r.bool('e820_host') : undefined;
  const pciDefaults: Omit<DevicePci, 'name'> = {
    msitranslate: r.bool('pci_msitranslate'),
    power_mgmt: r.bool('pci_power_mgmt'),
    permissive: r.bool('pci_permissive'),
    seize: r.bool('pci_seize'),
  };
  const pcidevs: DevicePci[] = [];
  const pciList = r.stringList('pci');
  if (pciList) {
    pciList.items.forEach((spec, i) => {
      try {
        pcidevs.push(parsePciSpec(spec, pciDefaults));
      } catch (e) {
        if (!(e instanceof PciSpecError)) throw e;
        throw valueError({ ...pciList.setting, line: pciList.lines[i]! }, 'pci', `${e.reason} in '${spec}'`, e.allowed);
      }
    });
  }

  const shadowMemory = r.int('shadow_memory', 'a number of MiB', 0, 2 ** 32);
  const nomigrate = r.bool('nomigrate');
  const tscMode = readEnumOrInt(r, 'tsc_mode', TSC_MODES, true);
  const rtcTimeoffset = r.int('rtc_timeoffset', 'a number of seconds', -0x80000000, 0xffffffff);
  if (cfg.has('vncviewer')) {
    r.setting('vncviewer');
    note(warnings, 'vncviewer', 'ignoring "vncviewer": use the -V option of xl create');
  }
  const localtime = r.bool('localtime');
  const videoram = r.int('videoram', 'a number of MiB', 0, 2 ** 32);
  const maxEventChannels = r.int('max_event_channels', 'a number of event channels', 1, 0x7fffffff);

  const kernel = path(r.string('kernel'));
  const ramdisk = path(r.string('ramdisk'));
  const deviceTree = path(r.string('device_tree'));
  const cmdline = (() => {
    const c = r.string('cmdline');
    const root = r.string('root');
    const extra = r.string('extra');
    if (c !== undefined) {
      if (root !== undefined || extra !== undefined) note(warnings, 'cmdline', 'ignoring root= and extra= in favour of cmdline=');
      return c;
    }
    if (root !== undefined && extra !== undefined) return `root=${root} ${extra}`;
    if (root !== undefined) return `root=${root}`;
    return extra;
  })();
  const acpi = r.bool('acpi');
  const bootloader = r.string('bootloader');
  if (bootloader !== undefined) note(unsupported, 'bootloader', `the bootloader "${bootloader}" reads the kernel from the guest's disk, and Tachyxx has no block backend yet; give kernel = "..." instead`);
  const bootloaderRestrict = r.bool('bootloader_restrict');
  const bootloaderUser = r.string('bootloader_user');
  let bootloaderArgs: string[] | undefined;
  {
    const v = r.stringOrList('bootloader_args');
    if (v?.list) bootloaderArgs = v.list;
    else if (v?.single !== undefined) {
      note(warnings, 'bootloader_args', 'specifying "bootloader_args" as a string is deprecated: use a list of arguments');
      bootloaderArgs = v.single.split(/[ \t\n]+/).filter((x) => x !== '');
    }
  }

  let timerMode: string | undefined;
  if (cfg.has('timer_mode')) {
    if (type === 'pv') throw valueError(cfg.get('timer_mode')!, 'timer_mode', 'the "timer_mode" option is not supported for PV guests');
    timerMode = readEnumOrInt(r, 'timer_mode', TIMER_MODES, false);
  }
  const nestedHvm = r.bool('nestedhvm');

  // --- per-type part: "type.pv" / "type.pvh" / "type.hvm" ----------------------------------
  let typeUnion: Record<string, unknown>;
  let bKernel = kernel;
  if (type === 'hvm') {
    if (bKernel !== undefined && /(^|\/)hvmloader$/.test(bKernel)) {
      note(warnings, 'kernel', 'you seem to be using "kernel" to override the HVM firmware: ignored; use "firmware_override"');
      bKernel = undefined;
    }
    typeUnion = hvmPart(r, cfg, warnings, unsupported, note);
  } else {
    const firmware = r.string('firmware');
    if (firmware !== undefined) {
      if (bKernel !== undefined) throw valueError(cfg.get('firmware')!, 'firmware', 'both kernel and firmware specified');
      if (firmware !== 'pvgrub32' && firmware !== 'pvgrub64') throw valueError(cfg.get('firmware')!, 'firmware', `'${firmware}': only pvgrub32 and pvgrub64 are supported as firmware`, ['pvgrub32', 'pvgrub64']);
      note(unsupported, 'firmware', `${firmware} boots from the guest's disk, and Tachyxx has no block backend yet; give kernel = "..." instead`);
      bKernel = `/usr/lib/xen/boot/${firmware}.bin`;
    }
    if (bootloader === undefined && bKernel === undefined) {
      // A misspelt kernel key is the likely cause: point at it rather than at some other line.
      const misspelt = cfg.settings().find((s) => !KNOWN_XL_KEYS.has(s.key) && closestXlKey(s.key) === 'kernel');
      const why = `a ${type.toUpperCase()} guest needs a kernel (kernel = "...") or a bootloader: neither kernel nor bootloader specified`;
      if (misspelt) throw valueError(misspelt, misspelt.key, `unknown key '${misspelt.key}' (did you mean 'kernel'?); ${why}`);
      throw valueError(cfg.get('type') ?? { source: nameSetting!.source, line: 0, col: 0 }, type === 'pvh' ? 'type' : 'kernel', why);
    }
    if (type === 'pv') typeUnion = clean({ e820_host: dbool(e820Host ?? (pcidevs.length ? true : undefined)) });
    else {
      const pvshim = r.bool('pvshim');
      typeUnion = clean({ pvshim: dbool(pvshim), pvshim_path: r.string('pvshim_path'), pvshim_cmdline: r.string('pvshim_cmdline'), pvshim_extra: r.string('pvshim_extra') });
      if (pvshim) note(unsupported, 'pvshim', 'the PV shim is not supported by Tachyxx');
    }
  }

  const altp2m = readEnumOrInt(r, 'altp2m', ['disabled', 'mixed', 'external', 'limited'] as const, false);
  const altp2mCount = r.int('altp2m_count', 'a number', 0, 0xffff);
  const vmtraceBufKb = r.int('vmtrace_buf_kb', 'a number of KiB', 0, 0x7fffffff) || undefined;
  for (const k of ['ioports', 'irqs', 'iomem', 'dtdev']) {
    if (cfg.has(k)) {
      r.setting(k);
      note(unsupported, k, `${k} passes host hardware through to the guest, which Tachyxx does not model`);
    }
  }

  // --- devices ------------------------------------------------------------------------------
  const disks: DeviceDisk[] = [];
  const diskList = r.stringList('disk');
  diskList?.items.forEach((spec, i) => {
    try {
      const d = parseDiskSpec(spec);
      if (d.pdev_path && d.script === undefined) d.pdev_path = path(d.pdev_path);
      disks.push(d);
    } catch (e) {
      if (!(e instanceof DiskSpecError)) throw e;
      throw valueError({ ...diskList.setting, line: diskList.lines[i]! }, 'disk', `${e.reason} in '${spec}'`, e.allowed);
    }
  });
  // Served by pv-blk's blkback (raw image files over blkif); what it cannot serve is refused with
  // the reason (the same rules as @tachyxx/pv-blk's diskSpecFromLibxl, which the builder applies).
  disks.forEach((d, i) => {
    const at = diskList ? { ...diskList.setting, line: diskList.lines[i]! } : undefined;
    const why = diskUnsupported(d);
    if (why) note(unsupported, 'disk', `disk '${d.vdev ?? '?'}': ${why}`, at);
  });

  const vtpms: Record<string, unknown>[] = [];
  const vtpmList = r.stringList('vtpm');
  vtpmList?.items.forEach((spec, i) => {
    const at = { ...vtpmList.setting, line: vtpmList.lines[i]! };
    let backend: string | undefined;
    let vuuid: string | undefined;
    for (let p of spec.split(',').filter((x) => x !== '')) {
      p = p.replace(/^ +/, '');
      const eq = p.indexOf('=');
      if (eq < 0) break; // xl stops at the first item without '='
      const k = p.slice(0, eq);
      const v = p.slice(eq + 1);
      if (k === 'backend') backend = v;
      else if (k === 'uuid') {
        if (!UUID_RE.test(v)) throw valueError(at, 'vtpm', `'${v}' is not a UUID`);
        vuuid = normUuid(v);
      } else throw valueError(at, 'vtpm', `unknown item '${k}' in '${spec}'`, ['backend=', 'uuid=']);
    }
    if (backend === undefined) throw valueError(at, 'vtpm', `vtpm spec '${spec}' is missing the required backend= field`);
    vtpms.push(clean({ backend_domname: backend, devid: i, uuid: vuuid }));
  });
  if (vtpms.length) note(unsupported, 'vtpm', 'virtual TPMs need a vTPM backend domain, which Tachyxx does not have');

  const nics: DeviceNic[] = [];
  const vifList = r.stringList('vif');
  vifList?.items.forEach((spec, i) => {
    try {
      const res = parseVifSpec(spec, i);
      for (const w of res.warnings) note(warnings, 'vif', w, { ...vifList.setting, line: vifList.lines[i]! });
      nics.push(res.nic);
    } catch (e) {
      if (!(e instanceof VifSpecError)) throw e;
      throw valueError({ ...vifList.setting, line: vifList.lines[i]! }, 'vif', `${e.reason} in '${spec}'`, e.allowed);
    }
  });
  // Served by pv-net's netback and bridges; what it cannot serve is refused with the reason (the
  // same rules as @tachyxx/pv-net's vifSpecFromLibxl, which the builder applies).
  nics.forEach((n, i) => {
    const why = nicUnsupported(n);
    if (why) note(unsupported, 'vif', `vif ${n.devid}: ${why}`, vifList ? { ...vifList.setting, line: vifList.lines[i]! } : undefined);
  });
  if (cfg.has('vif2')) {
    r.setting('vif2');
    note(warnings, 'vif2', 'vif2: netchannel2 is deprecated and not supported by xl');
  }

  // vfb / top-level vnc for PV guests
  const vfbs: Record<string, unknown>[] = [];
  const vkbs: Record<string, unknown>[] = [];
  const vfbList = r.stringList('vfb');
  vfbList?.items.forEach((spec, i) => {
    const vnc: Record<string, unknown> = {};
    const sdl: Record<string, unknown> = {};
    let keymap: string | undefined;
    for (let p of spec.split(',').filter((x) => x !== '')) {
      p = p.replace(/^ +/, '');
      const eq = p.indexOf('=');
      if (eq < 0) break;
      const k = p.slice(0, eq);
      const v = p.slice(eq + 1);
      const atoi = () => Number.parseInt(v, 10) || 0;
      if (k === 'vnc') vnc.enable = dbool(atoi() !== 0);
      else if (k === 'vnclisten') vnc.listen = v;
      else if (k === 'vncpasswd') vnc.passwd = v;
      else if (k === 'vncdisplay') vnc.display = atoi() || undefined;
      else if (k === 'vncunused') vnc.findunused = dbool(atoi() !== 0);
      else if (k === 'keymap') keymap = v;
      else if (k === 'sdl') sdl.enable = dbool(atoi() !== 0);
      else if (k === 'opengl') sdl.opengl = dbool(atoi() !== 0);
      else if (k === 'display') sdl.display = v;
      else if (k === 'xauthority') sdl.xauthority = v;
    }
    vfbs.push(clean({ devid: i, vnc: orderVnc(vnc), sdl: orderSdl(sdl), keymap }));
    vkbs.push({ devid: i });
  });
  if (type === 'pv' && vfbs.length === 0) {
    const vncEnabled = r.int('vnc', 'a boolean (0 or 1)');
    if (vncEnabled) {
      vfbs.push(clean({ devid: 0, vnc: topLevelVnc(r), sdl: topLevelSdl(r), keymap: r.string('keymap') }));
      vkbs.push({ devid: 0 });
    }
  }
  if (vfbs.length) note(warnings, cfg.has('vfb') ? 'vfb' : 'vnc', 'Tachyxx has no framebuffer or keyboard backend: the virtual framebuffer is ignored');

  const channels: Record<string, unknown>[] = [];
  const chList = r.stringList('channel');
  chList?.items.forEach((spec, i) => {
    const at = { ...chList.setting, line: chList.lines[i]! };
    const ch: Record<string, unknown> = {};
    let pathV: string | undefined;
    let connection: string | undefined;
    for (const pair of spec.split(',').filter((x) => x !== '')) {
      const eq = pair.indexOf('=');
      if (eq < 0) throw valueError(at, 'channel', `failed to parse channel configuration: '${pair}'`);
      const k = pair.slice(0, eq).trim();
      const v = pair.slice(eq + 1).trim();
      if (k === 'backend') ch.backend_domname = v;
      else if (k === 'name') ch.name = v;
      else if (k === 'path') pathV = v;
      else if (k === 'connection') {
        if (v !== 'pty' && v !== 'socket') throw valueError(at, 'channel', `unknown channel connection '${v}'`, ['pty', 'socket']);
        connection = v;
      } else note(warnings, 'channel', `unknown channel parameter '${k}', ignoring`, at);
    }
    if (!connection) throw valueError(at, 'channel', `channel '${spec}' has no connection=`, ['pty', 'socket']);
    if (connection === 'socket' && !pathV) throw valueError(at, 'channel', "channel connection 'socket' requires path=...");
    channels.push(clean({ backend_domname: ch.backend_domname, name: ch.name, 'connection.pty': connection === 'pty' ? {} : undefined, 'connection.socket': connection === 'socket' ? { path: pathV } : undefined }));
  });
  if (channels.length) note(unsupported, 'channel', 'named console channels are not supported by Tachyxx yet');

  // device model keys (all types)
  if (cfg.has('device_model')) {
    r.setting('device_model');
    note(warnings, 'device_model', 'ignoring the device_model directive: use "device_model_override" if you really want a non-default device model');
  }
  const deviceModel = r.string('device_model_override');
  let dmVersion: string | undefined;
  const dmv = r.string('device_model_version');
  if (dmv !== undefined) {
    if (dmv !== 'qemu-xen') throw valueError(cfg.get('device_model_version')!, 'device_model_version', `unknown device_model_version '${dmv}'`, ['qemu-xen']);
    dmVersion = 'qemu_xen';
  } else if (deviceModel !== undefined) note(warnings, 'device_model_override', 'device model override given without a specific device_model_version');
  const dmStubdomain = r.bool('device_model_stubdomain_override');
  const dmSsidLabel = r.string('device_model_stubdomain_seclabel');
  const dmUser = r.string('device_model_user');
  const stubKernel = r.string('stubdomain_kernel');
  const stubCmdline = r.string('stubdomain_cmdline');
  const stubRamdisk = r.string('stubdomain_ramdisk');
  const stubMemory = r.int('stubdomain_memory', 'a number of MiB', 0, 2 ** 32);
  const dmArgs = r.stringList('device_model_args')?.items;
  const dmArgsPv = r.stringList('device_model_args_pv')?.items;
  const dmArgsHvm = r.stringList('device_model_args_hvm')?.items;
  const dmRestrict = r.bool('dm_restrict');

  const tee = r.choice('tee', ['none', 'optee', 'ffa'] as const);
  const gic = r.choice('gic_version', ['v2', 'v3'] as const);
  const vuart = r.choice('vuart', ['sbsa_uart'] as const);
  const sve = r.string('sve');
  const nrSpis = r.int('nr_spis', 'a number of SPIs', 0, 0xffffffff);
  const trapUnmapped = r.bool('trap_unmapped_accesses');
  const msrRelaxed = r.bool('msr_relaxed');
  if (msrRelaxed !== undefined) note(warnings, 'msr_relaxed', 'msr_relaxed will be removed in future versions of Xen');
  const vpmu = r.bool('vpmu');
  if (vpmu) note(warnings, 'vpmu', 'Tachyxx does not virtualise performance counters: vpmu is ignored');
  const claimMode = true; // xl.conf claim_mode default
  for (const [k, v] of [['tee', tee], ['gic_version', gic], ['vuart', vuart], ['sve', sve]] as const) {
    if (v !== undefined && v !== 'none') note(warnings, k, `${k} is an Arm option; Tachyxx's CPU is not Arm, so it is ignored`);
  }

  const apic = type === 'hvm' ? r.bool('apic') : undefined;

  // Keys Tachyxx reads nowhere: xl ignores unknown ones; say so.
  for (const s of cfg.settings()) {
    if (r.used.has(s.key)) continue;
    if (KNOWN_XL_KEYS.has(s.key)) {
      if (!HVM_ONLY_KEYS.has(s.key) || type === 'hvm') note(warnings, s.key, `'${s.key}' is valid xl.cfg but Tachyxx does not interpret it yet: ignored`, s);
      else note(warnings, s.key, `'${s.key}' applies to HVM guests only: ignored for a ${type.toUpperCase()} guest`, s);
    } else {
      const near = closestXlKey(s.key);
      note(warnings, s.key, `unknown key '${s.key}'${near ? ` (did you mean '${near}'?)` : ''}: ignored (xl ignores keys it does not know)`, s);
    }
  }

  // --- assemble, in libxl_types.idl field order ---------------------------------------------
  const c_info = clean({
    type,
    hap: dbool(hap),
    oos: dbool(oos),
    ssid_label: ssidLabel,
    name,
    uuid,
    pool_name: poolName,
    run_hotplug_scripts: 'True' as DefBool,
    driver_domain: dbool(driverDomain),
    passthrough: passthrough === 'default' ? undefined : passthrough,
    xend_suspend_evtchn_compat: dbool(xendSuspend),
  });
  const sched_params = clean({ weight, cap, period, budget: undefined, extratime, slice, latency });
  const b_info = clean(
    {
      max_vcpus: maxVcpus,
      avail_vcpus: availVcpus,
      vcpu_hard_affinity: hard,
      vcpu_soft_affinity: soft,
      numa_placement: numaPlacement,
      tsc_mode: tscMode === 'default' ? undefined : tscMode,
      max_memkb: maxMemkb,
      target_memkb: targetMemkb,
      video_memkb: videoram === undefined ? undefined : videoram * MiB,
      shadow_memkb: shadowMemory === undefined ? undefined : shadowMemory * MiB,
      rtc_timeoffset: rtcTimeoffset === undefined ? undefined : rtcTimeoffset >>> 0,
      exec_ssid_label: execSsidLabel,
      localtime: dbool(localtime),
      disable_migrate: dbool(nomigrate),
      max_grant_frames: maxGrantFrames,
      max_maptrack_frames: maxMaptrackFrames,
      max_grant_version: maxGrantVersion,
      device_model_version: dmVersion,
      device_model_stubdomain: dbool(dmStubdomain),
      stubdomain_memkb: stubMemory === undefined ? undefined : stubMemory * MiB,
      stubdomain_kernel: stubKernel,
      stubdomain_cmdline: stubCmdline,
      stubdomain_ramdisk: stubRamdisk,
      device_model: deviceModel,
      device_model_ssid_label: dmSsidLabel,
      device_model_user: dmUser,
      extra: dmArgs,
      extra_pv: dmArgsPv,
      extra_hvm: dmArgsHvm,
      sched_params,
      claim_mode: dbool(claimMode),
      event_channels: maxEventChannels,
      kernel: bKernel,
      cmdline,
      ramdisk,
      device_tree: deviceTree,
      acpi: dbool(acpi),
      bootloader,
      bootloader_args: bootloaderArgs,
      bootloader_restrict: dbool(bootloaderRestrict),
      bootloader_user: bootloaderUser,
      timer_mode: timerMode,
      nested_hvm: dbool(nestedHvm),
      apic: dbool(apic),
      dm_restrict: dbool(dmRestrict),
      tee: tee === 'none' ? undefined : tee,
      [`type.${type}`]: typeUnion,
      arch_arm: clean({ gic_version: gic, vuart, sve_vl: sve, nr_spis: nrSpis, arm_sci: {} }),
      arch_x86: clean({ msr_relaxed: dbool(msrRelaxed) }),
      altp2m: altp2m === 'disabled' ? undefined : altp2m,
      altp2m_count: altp2mCount,
      vmtrace_buf_kb: vmtraceBufKb,
      vpmu: dbool(vpmu),
      trap_unmapped_accesses: dbool(trapUnmapped),
      xenstore_feature_mask: xenstoreFeatureMask === 0xffffffff ? undefined : xenstoreFeatureMask,
      xenstore_quota: {},
    },
    // Plain integers with no libxl init_val: 0 is their default, so libxl leaves them out.
    ['max_vcpus', 'rtc_timeoffset', 'event_channels', 'vmtrace_buf_kb'],
  );
  const nonEmpty = <T>(a: T[]): T[] | undefined => (a.length ? a : undefined);
  const config = clean({
    c_info,
    b_info,
    disks: nonEmpty(disks.map(orderDisk)),
    nics: nonEmpty(nics.map(orderNic)),
    pcidevs: nonEmpty(pcidevs.map(orderPci)),
    vfbs: nonEmpty(vfbs),
    vkbs: nonEmpty(vkbs),
    vtpms: nonEmpty(vtpms),
    channels: nonEmpty(channels),
    on_poweroff: onPoweroff === 'destroy' ? undefined : onPoweroff,
    on_reboot: onReboot === 'destroy' ? undefined : onReboot,
    on_watchdog: onWatchdog === 'destroy' ? undefined : onWatchdog,
    on_crash: onCrash === 'destroy' ? undefined : onCrash,
    on_soft_reset: onSoftReset === 'destroy' ? undefined : onSoftReset,
  }) as LibxlDomainConfig;
  return { config, warnings, unsupported };
}

/** Keys xl reads only for HVM guests. */
const HVM_ONLY_KEYS = new Set([
  'firmware_override', 'bios_path_override', 'bios', 'pae', 'acpi_s3', 'acpi_s4', 'acpi_laptop_slate', 'nx', 'hpet', 'vpt_align', 'apic', 'hvm_pirq',
  'viridian', 'mmio_hole', 'altp2mhvm', 'smbios_firmware', 'acpi_firmware', 'smbios', 'ms_vm_genid', 'rdm_mem_boundary', 'mca_caps',
  'vga', 'stdvga', 'hdtype', 'keymap', 'spice', 'spiceport', 'spicetls_port', 'spicehost', 'spicedisable_ticketing', 'spicepasswd',
  'spiceagent_mouse', 'spicevdagent', 'spice_clipboard_sharing', 'spiceusbredirection', 'spice_image_compression', 'spice_streaming_video',
  'nographic', 'gfx_passthru', 'serial', 'boot', 'usb', 'usbversion', 'usbdevice', 'vkb_device', 'soundhw', 'xen_platform_pci',
  'xen_platform_pci_bar_uc', 'vendor_device', 'vnc', 'vnclisten', 'vncpasswd', 'vncdisplay', 'vncunused', 'sdl', 'opengl', 'display', 'xauthority',
]);

function readEnumOrInt<T extends string>(r: Reader, key: string, names: readonly T[], zeroBased: boolean): T | undefined {
  const s = r.setting(key);
  if (!s) return undefined;
  if (s.value.kind === 'atom' && s.value.token === 'number') {
    const n = r.int(key, 'a number', zeroBased ? 0 : 0, names.length - 1)!;
    return names[n];
  }
  return r.choice(key, names);
}

function orderVnc(v: Record<string, unknown>): Record<string, unknown> {
  return clean({ enable: v.enable, listen: v.listen, passwd: v.passwd, display: v.display, findunused: v.findunused });
}
function orderSdl(v: Record<string, unknown>): Record<string, unknown> {
  return clean({ enable: v.enable, opengl: v.opengl, display: v.display, xauthority: v.xauthority });
}
function topLevelVnc(r: Reader): Record<string, unknown> {
  return orderVnc({ enable: dbool(r.bool('vnc')), listen: r.string('vnclisten'), passwd: r.string('vncpasswd'), display: r.int('vncdisplay', 'a display number', 0, 65535) || undefined, findunused: dbool(r.bool('vncunused')) });
}
function topLevelSdl(r: Reader): Record<string, unknown> {
  return orderSdl({ enable: dbool(r.bool('sdl')), opengl: dbool(r.bool('opengl')), display: r.string('display'), xauthority: r.string('xauthority') });
}

function orderDisk(d: DeviceDisk): Record<string, unknown> {
  return clean(
    {
      backend_domname: d.backend_domname,
      pdev_path: d.pdev_path,
      vdev: d.vdev,
      backend: d.backend,
      format: d.format,
      script: d.script,
      removable: d.removable,
      readwrite: d.readwrite,
      is_cdrom: d.is_cdrom,
      direct_io_safe: d.direct_io_safe,
      discard_enable: d.discard_enable,
      specification: d.specification,
      colo_enable: d.colo_enable,
      colo_host: d.colo_host,
      colo_port: d.colo_port,
      colo_export: d.colo_export,
      active_disk: d.active_disk,
      hidden_disk: d.hidden_disk,
      trusted: d.trusted,
      grant_usage: d.grant_usage,
    },
    ['removable', 'readwrite', 'is_cdrom', 'colo_port'],
  );
}

const NIC_ORDER = [
  'backend_domname', 'devid', 'mtu', 'vlan', 'model', 'mac', 'ip', 'bridge', 'ifname', 'script', 'nictype',
  'rate_bytes_per_interval', 'rate_interval_usecs', 'gatewaydev', 'coloft_forwarddev',
];
function orderNic(n: DeviceNic): Record<string, unknown> {
  const src = n as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of NIC_ORDER) out[k] = src[k];
  for (const k of Object.keys(src).filter((k) => k.startsWith('colo_')).sort()) out[k] = src[k];
  out.trusted = src.trusted;
  return clean(out, ['mtu', 'rate_bytes_per_interval', 'rate_interval_usecs']);
}

function orderPci(p: DevicePci): Record<string, unknown> {
  return clean(
    {
      func: p.func,
      dev: p.dev,
      bus: p.bus,
      domain: p.domain,
      vdevfn: p.vdevfn,
      vfunc_mask: p.vfunc_mask,
      msitranslate: p.msitranslate,
      power_mgmt: p.power_mgmt,
      permissive: p.permissive,
      seize: p.seize,
      rdm_policy: p.rdm_policy,
      name: p.name,
    },
    ['func', 'dev', 'bus', 'domain', 'vdevfn', 'vfunc_mask'],
  );
}

type Note = (list: XlNotice[], key: string, message: string, s?: XlSetting) => void;

/** The "type.hvm" part of b_info, read from the HVM-only keys. */
function hvmPart(r: Reader, cfg: XlConfig, warnings: XlNotice[], unsupported: XlNotice[], note: Note): Record<string, unknown> {
  const firmwareOverride = r.string('firmware_override');
  const systemFirmware = r.string('bios_path_override');
  let bios = r.choice('bios', BIOS_TYPES);
  if (bios === undefined && systemFirmware !== undefined) note(warnings, 'bios_path_override', 'bios_path_override given without a specific bios name');
  let firmware = firmwareOverride;
  const fw = r.string('firmware');
  if (fw !== undefined) {
    if ((BIOS_TYPES as readonly string[]).includes(fw)) bios = fw as (typeof BIOS_TYPES)[number];
    else if (fw === 'uefi') bios = 'ovmf';
    else if (fw !== 'bios') firmware = fw;
  }
  let viridian: DefBool | undefined;
  let viridianEnable: string[] | undefined;
  const vir = r.setting('viridian');
  if (vir?.value.kind === 'list') viridianEnable = r.stringList('viridian')!.items;
  else if (vir) viridian = dbool(r.bool('viridian'));
  const vgaName = r.choice('vga', Object.keys(VGA_KINDS));
  const stdvga = vgaName === undefined ? r.bool('stdvga') : undefined;
  const vgaKind = vgaName !== undefined ? VGA_KINDS[vgaName] : stdvga === undefined ? undefined : stdvga ? 'std' : 'cirrus';
  const vnc = topLevelVnc(r);
  const sdl = topLevelSdl(r);
  if (vnc.enable === 'True' || sdl.enable === 'True' || r.bool('spice')) note(warnings, vnc.enable === 'True' ? 'vnc' : sdl.enable === 'True' ? 'sdl' : 'spice', 'Tachyxx has no graphical console: ignored');
  const serial = r.stringOrList('serial');
  const usbdevice = r.stringOrList('usbdevice');
  const gfx = r.setting('gfx_passthru');
  let gfxPassthru: DefBool | undefined;
  let gfxKind: string | undefined;
  if (gfx?.value.kind === 'atom' && gfx.value.token === 'number') gfxPassthru = dbool(r.bool('gfx_passthru'));
  else if (gfx) {
    gfxKind = r.choice('gfx_passthru', ['default', 'igd'] as const);
    gfxPassthru = 'True';
  }
  const mmioHole = r.int('mmio_hole', 'a number of MiB', 256, 3840);
  const vendorDevice = r.choice('vendor_device', ['none', 'xenserver'] as const);
  if (r.choice('ms_vm_genid', ['generate', 'none'] as const) === 'generate') note(warnings, 'ms_vm_genid', 'a VM generation ID is made when the domain is built: not shown by -n');
  void cfg;
  void unsupported;
  return clean({
    firmware,
    bios,
    pae: dbool(r.bool('pae')),
    acpi_s3: dbool(r.bool('acpi_s3')),
    acpi_s4: dbool(r.bool('acpi_s4')),
    acpi_laptop_slate: dbool(r.bool('acpi_laptop_slate')),
    nx: dbool(r.bool('nx')),
    viridian,
    viridian_enable: viridianEnable,
    hpet: dbool(r.bool('hpet')),
    vpt_align: dbool(r.bool('vpt_align')),
    mmio_hole_memkb: mmioHole === undefined ? undefined : mmioHole * 1024,
    altp2m: dbool(r.bool('altp2mhvm')),
    system_firmware: systemFirmware,
    smbios_firmware: r.string('smbios_firmware'),
    acpi_firmware: r.string('acpi_firmware'),
    hdtype: r.choice('hdtype', ['ide', 'ahci'] as const) === 'ahci' ? 'ahci' : undefined,
    nographic: dbool(r.bool('nographic')),
    vga: clean({ kind: vgaKind }),
    vnc,
    keymap: r.string('keymap'),
    sdl,
    spice: clean({ enable: dbool(cfg.has('spice') ? r.bool('spice') : undefined), port: r.int('spiceport', 'a port', 0, 65535), tls_port: r.int('spicetls_port', 'a port', 0, 65535), host: r.string('spicehost') }),
    gfx_passthru: gfxPassthru,
    gfx_passthru_kind: gfxKind === 'default' ? undefined : gfxKind,
    serial: serial?.single,
    boot: r.string('boot'),
    usb: dbool(r.bool('usb')),
    usbversion: r.int('usbversion', 'a USB version (1, 2 or 3)', 1, 3),
    usbdevice: usbdevice?.single,
    vkb_device: dbool(r.bool('vkb_device')),
    soundhw: r.string('soundhw'),
    xen_platform_pci: dbool(r.bool('xen_platform_pci')),
    xen_platform_pci_bar_uc: dbool(r.bool('xen_platform_pci_bar_uc')),
    usbdevice_list: usbdevice?.list,
    vendor_device: vendorDevice === 'none' ? undefined : vendorDevice,
    serial_list: serial?.list,
    rdm: {},
    pirq: dbool(r.bool('hvm_pirq')),
  });
}

/** Why pv-net's netback cannot serve vif `n` (undefined when it can). */
function nicUnsupported(n: DeviceNic): string | undefined {
  if (n.backend_domname !== undefined && n.backend_domname !== 'Domain-0' && n.backend_domname !== '0') return `backend=${n.backend_domname}: only dom0 serves vifs`;
  if (n.script !== undefined && !/(^|\/)vif-bridge$/.test(n.script)) return `script=${n.script} is not supported (the in-process bridge is vif-bridge; route, nat and openvswitch scripts are not run)`;
  if (n.vlan !== undefined) return `vlan=${n.vlan} is not supported (the bridge has no VLAN filtering)`;
  return undefined;
}

/** Why pv-blk's blkback cannot serve disk `d` (undefined when it can). */
function diskUnsupported(d: DeviceDisk): string | undefined {
  const x = d as DeviceDisk & Record<string, unknown>;
  if (x.is_cdrom === 1) return 'devtype=cdrom is not supported (pv-blk serves disks only)';
  if (!x.pdev_path) return 'an empty drive is a CD-ROM, not supported';
  if (x.format !== undefined && x.format !== 'raw') return `format '${String(x.format)}' is not supported (only raw images: qcow, qcow2, vhd and qed need qemu's qdisk backend, which Tachyxx does not have)`;
  if (x.backend !== undefined && x.backend !== 'phy') return `backendtype=${String(x.backend)} is not supported (only phy: dom0's blkback over a raw file)`;
  if (x.script !== undefined) return `script=${String(x.script)}: hotplug scripts are not run (the target must be a raw image file)`;
  if (x.backend_domname !== undefined && x.backend_domname !== 'Domain-0') return `backend=${String(x.backend_domname)}: only dom0 serves disks`;
  if (x.specification !== undefined && x.specification !== 'xen') return `specification=${String(x.specification)} is not supported (only xen's blkif)`;
  return undefined;
}
