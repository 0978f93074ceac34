/**
 * User-facing errors. Each has a one-line `message` a CLI prints as is, and an `exitCode`
 * (2 for usage, config and image errors). Invariant violations inside the simulator are bugs and
 * are thrown as plain `Error`s, never as these.
 */
export class TachyxxError extends Error {
  override readonly name: string = 'TachyxxError';
  constructor(
    message: string,
    readonly exitCode: number = 1,
  ) {
    super(message);
  }
}

/**
 * An error that carries a Xen errno (positive, as xen/include/public/errno.h numbers it; a guest
 * sees -errno): the one base class for every component error that maps to a Xen error code
 * (the hypervisor's HostError, xenstored's XsError, the toolstack's ToolstackError, the scheduler's SchedError).
 */
export class XenError extends TachyxxError {
  override readonly name: string = 'XenError';
  constructor(
    message: string,
    readonly errno: number,
    exitCode = 1,
  ) {
    super(message, exitCode);
    if (!Number.isInteger(errno) || errno <= 0) throw new RangeError(`XenError errno must be a positive Xen errno, got ${errno}`);
  }
}

/** Bad command-line usage (unknown option, missing argument). */
export class UsageError extends TachyxxError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

export interface ConfigErrorDetails {
  /** What is wrong, e.g. "unknown key" or "expected an integer >= 1, got -2". */
  reason: string;
  /** Dotted path of the offending key, e.g. "components.mmu.entries" ('' for the whole document). */
  keyPath: string;
  /** The config file, when the config came from one. */
  file?: string;
  /** 1-based line and column in `file`, when known. */
  line?: number;
  col?: number;
  /** The values that would have been accepted, when there is a finite list. */
  allowed?: readonly string[];
}

/**
 * A host config (or plugin param) that cannot be used. Message:
 * `host.yaml:7:5: components.mmu.variant: unknown variant 'tagd' (allowed: flush-all, tagged)`.
 */
export class ConfigError extends TachyxxError {
  override readonly name = 'ConfigError';
  readonly reason: string;
  readonly keyPath: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  readonly allowed?: readonly string[];

  constructor(d: ConfigErrorDetails) {
    super(formatConfigMessage(d), 2);
    this.reason = d.reason;
    this.keyPath = d.keyPath;
    this.file = d.file;
    this.line = d.line;
    this.col = d.col;
    this.allowed = d.allowed;
  }
}

function formatConfigMessage(d: ConfigErrorDetails): string {
  let where = d.file ?? '';
  if (d.file !== undefined && d.line !== undefined) where += `:${d.line}:${d.col ?? 1}`;
  const parts = [where, d.keyPath].filter((s) => s !== '');
  const allowed = d.allowed ? ` (allowed: ${d.allowed.length ? d.allowed.join(', ') : 'none'})` : '';
  return [...parts, d.reason + allowed].join(': ').replace(/[\r\n]+/g, ' ');
}

/** A guest image that cannot be loaded (not ELF, wrong machine, segment outside RAM...). */
export class ImageError extends TachyxxError {
  override readonly name = 'ImageError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`.replace(/[\r\n]+/g, ' '), 2);
  }
}
