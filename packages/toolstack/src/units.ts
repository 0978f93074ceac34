// xl's units, shared by the daemon and the xl CLI (a light entry: `@tachyxx/toolstack/units`
// loads nothing else, so an xl process stays small).

/** The host `tachyxx host` boots without --config (xl create -n checks cpus= against it). */
export const DEFAULT_HOST = Object.freeze({ pcpus: 4, memoryMiB: 4096 });

/** xl's memory sizes: a number with an optional b/k/m/g/t suffix; no suffix = MiB (parse_mem_size_kb). */
export function parseMemKb(v: unknown): number {
  if (typeof v === 'number') return v * 1024;
  const m = /^(\d+)([bkmgt]?)$/i.exec(String(v ?? '').trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  switch (m[2]!.toLowerCase()) {
    case 'b': return Math.ceil(n / 1024);
    case 'k': return n;
    case 'g': return n * 1024 * 1024;
    case 't': return n * 1024 * 1024 * 1024;
    default: return n * 1024;
  }
}
