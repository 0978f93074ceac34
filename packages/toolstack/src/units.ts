// xl's units, shared by the daemon and the xl CLI (a light entry: `@tachyxx/toolstack/units`
// loads nothing else, so an xl process stays small).

/** The host `tachyxx host` boots without --config (xl create -n checks cpus= against it). */
export const DEFAULT_HOST = Object.freeze({ pcpus: 4, memoryMiB: 4096 });

/** Largest memory size xl and the host accept (KiB): 2^42 KiB = 4 PiB, the bound of b_info.max_memkb too. */
export const MAX_MEMKB = 2 ** 42;

/**
 * xl's memory sizes: a number with an optional b/k/m/g/t suffix; no suffix = MiB
 * (parse_mem_size_kb). Returns KiB, or NaN for text that is not a size or a size that is not a
 * safe integer (callers check the range against MAX_MEMKB and say "invalid memory size").
 */
export function parseMemKb(v: unknown): number {
  let kb: number;
  if (typeof v === 'number') kb = v * 1024;
  else if (typeof v !== 'string') return NaN;
  else {
    const m = /^(\d{1,20})([bkmgt]?)$/i.exec(v.trim());
    if (!m) return NaN;
    const n = Number(m[1]);
    switch (m[2]!.toLowerCase()) {
      case 'b': kb = Math.ceil(n / 1024); break;
      case 'k': kb = n; break;
      case 'g': kb = n * 1024 * 1024; break;
      case 't': kb = n * 1024 * 1024 * 1024; break;
      default: kb = n * 1024;
    }
  }
  return Number.isSafeInteger(kb) ? kb : NaN;
}
