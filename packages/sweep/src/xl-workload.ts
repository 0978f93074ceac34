/**
 * `xl: FILE` domains in a sweep workload: an xl.cfg read by @tachyxx/xlcfg (xl's own parser and
 * parse_config_data), reduced to what a sweep run applies. Every setting of the file must be one
 * a run honours: a key Tachyxx cannot do (vif, hvm, a qcow2 disk, ... : xlcfg's `unsupported`), a key the
 * sweep does not apply (cpus, maxmem, on_crash, a raw disk, ...) and a key xl does not know (a typo) are all
 * refused with the cfg's file:line, so a sweep never reports numbers for a domain other than the
 * one the file describes.
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { DEFAULT_TOPOLOGY, KNOWN_XL_KEYS, XlCfgError, XlConfig, closestXlKey, interpretDomainConfig, readConfigBytes } from '@tachyxx/xlcfg';

/** The xl.cfg keys a sweep run applies (everything else in the file is refused, but SHUTDOWN_XL_KEYS = "destroy"). */
export const SWEEP_XL_KEYS = ['name', 'type', 'kernel', 'memory', 'vcpus', 'maxvcpus', 'cmdline', 'extra', 'root'] as const;

/**
 * Shutdown actions: a sweep run ends a domain at its shutdown and reports how (poweroff = ok,
 * anything else = failed), which is xl's "destroy"; any other action (restart, preserve, ...) is
 * refused. (xl's defaults: destroy, but on_reboot = restart and on_soft_reset = soft-reset.)
 */
export const SHUTDOWN_XL_KEYS = ['on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash', 'on_soft_reset'] as const;

/**
 * Memory of an xl.cfg domain without `memory =` (MiB): what the Tachyxx host builds for
 * `xl create` of the same file (toolstack's toBuildSpec default for a b_info without target_memkb).
 */
export const XL_DEFAULT_MEMORY_MIB = 128;

/** One domain of an xl.cfg file, as a sweep runs it. */
export interface XlDomain {
  readonly name: string;
  /** Absolute path (the cfg's `kernel`, relative to the cfg file's folder). */
  readonly image: string;
  readonly memoryMiB: number;
  /** vCPUs online at boot. */
  readonly vcpus: number;
  /** maxvcpus, when more than vcpus. */
  readonly maxVcpus?: number;
  readonly cmdline?: string;
  /** The cfg file (absolute), the sha256 of its bytes (part of the run's cache key) and where it
   *  names the kernel (`FILE:LINE`, for errors about the kernel file). */
  readonly xl: { readonly file: string; readonly sha256: string; readonly kernelAt: string };
}

/** Why an xl.cfg cannot be a sweep domain: one line, starting with the cfg's file:line when there is one. */
export class XlWorkloadError extends Error {
  override readonly name = 'XlWorkloadError';
}

/**
 * Reads `file` (absolute) with xl's rules and returns the domain a sweep runs, or throws
 * XlWorkloadError. `maxMemoryMiB` / `maxVcpus` are the sweep's bounds for any domain.
 */
export function resolveXlDomain(file: string, limits: { maxMemoryMiB: number; maxVcpus: number }): XlDomain {
  let bytes: Buffer;
  try {
    bytes = readConfigBytes(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new XlWorkloadError(`${file}: Failed to read config file: ${code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
  }
  const cfg = new XlConfig();
  let result;
  try {
    cfg.load(bytes.toString('utf8'), file);
    // The topology only matters for cpus= (refused below) and its warnings; the uuid is not used.
    result = interpretDomainConfig(cfg, { configDir: dirname(file), topology: DEFAULT_TOPOLOGY, generateUuid: () => '00000000-0000-0000-0000-000000000000' });
  } catch (e) {
    if (!(e instanceof XlCfgError)) throw e;
    const more = e.problems.length - 1;
    throw new XlWorkloadError(`${e.message}${more ? ` (and ${more} more)` : ''}`);
  }
  const u = result.unsupported[0];
  if (u) throw new XlWorkloadError(`${u.source}:${u.line}: ${u.key}: ${u.message}`);
  for (const s of cfg.settings()) {
    if ((SWEEP_XL_KEYS as readonly string[]).includes(s.key)) continue;
    if ((SHUTDOWN_XL_KEYS as readonly string[]).includes(s.key)) {
      if (s.value.kind === 'atom' && s.value.value === 'destroy') continue;
      const v = s.value.kind === 'atom' ? `"${s.value.value}"` : 'a list';
      throw new XlWorkloadError(`${s.source}:${s.line}: ${s.key}: ${v} is not applied by a sweep run, which ends a domain when it shuts down (as "destroy") and reports how`);
    }
    const near = KNOWN_XL_KEYS.has(s.key) ? undefined : closestXlKey(s.key);
    const why = KNOWN_XL_KEYS.has(s.key)
      ? `not applied by a sweep run, which takes only ${SWEEP_XL_KEYS.join(', ')} from an xl.cfg: remove it, or run the domain with xl create`
      : `unknown key${near ? ` (did you mean '${near}'?)` : ''}`;
    throw new XlWorkloadError(`${s.source}:${s.line}: ${s.key}: ${why}`);
  }

  const c = result.config.c_info;
  const b = result.config.b_info as { kernel?: string; cmdline?: string; target_memkb?: number; max_vcpus?: number; avail_vcpus?: number[] };
  const at = (key: string) => {
    const s = cfg.get(key);
    return s ? `${s.source}:${s.line}: ${key}` : `${file}: ${key}`;
  };
  if (!b.kernel) throw new XlWorkloadError(`${at('kernel')}: a kernel image is required (kernel = "FILE"; a sweep boots it directly)`);
  const memoryMiB = b.target_memkb === undefined ? XL_DEFAULT_MEMORY_MIB : Math.ceil(b.target_memkb / 1024);
  if (memoryMiB > limits.maxMemoryMiB) throw new XlWorkloadError(`${at('memory')}: ${memoryMiB} MiB is more than a sweep domain's ${limits.maxMemoryMiB} MiB`);
  const maxVcpus = b.max_vcpus ?? 1;
  const vcpus = b.avail_vcpus?.length ?? maxVcpus;
  if (maxVcpus > limits.maxVcpus) throw new XlWorkloadError(`${at(cfg.has('maxvcpus') ? 'maxvcpus' : 'vcpus')}: ${maxVcpus} vCPUs is more than a sweep domain's ${limits.maxVcpus}`);
  return {
    name: c.name,
    image: b.kernel,
    memoryMiB,
    vcpus,
    ...(maxVcpus > vcpus ? { maxVcpus } : {}),
    ...(b.cmdline ? { cmdline: b.cmdline } : {}),
    xl: { file, sha256: createHash('sha256').update(bytes).digest('hex'), kernelAt: at('kernel').replace(/: kernel$/, '') },
  };
}
