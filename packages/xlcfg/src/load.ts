import { randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { XlCfgError } from './errors.js';
import { XlConfig, applyOverrides } from './xl-config.js';
import type { HostTopology } from './cpumap.js';
import { interpretDomainConfig, type DomainConfigResult } from './domain-config.js';
import { DEFAULT_HOST } from '@tachyxx/toolstack/units';
import { readConfigText } from './read-file.js';

/** What `xl create -n` assumes without a running host: the default `tachyxx host`, its pCPUs on one NUMA node. */
export const DEFAULT_TOPOLOGY: HostTopology = { pcpus: DEFAULT_HOST.pcpus, nodes: [Array.from({ length: DEFAULT_HOST.pcpus }, (_, i) => i)] };

export interface LoadOptions {
  /** KEY=VALUE overrides, applied after the file. */
  overrides?: readonly string[];
  topology?: HostTopology;
  generateUuid?: () => string;
  /** Read the file (default: readConfigText: a regular file of at most 1 MiB, as UTF-8). */
  readFile?: (path: string) => string;
}

/**
 * Reads an xl.cfg file, applies overrides and builds libxl's domain config. `file` may be
 * /dev/null, as in xl: then the config comes from the overrides alone. Throws XlCfgError only.
 */
export function loadDomainConfig(file: string, opts: LoadOptions = {}): DomainConfigResult {
  const cfg = new XlConfig();
  let text = '';
  if (file !== '/dev/null') {
    try {
      text = (opts.readFile ?? ((p: string) => readConfigText(p)))(file);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : e instanceof Error ? e.message : String(e);
      throw new XlCfgError({ source: file, line: 0, col: 0, reason: `Failed to read config file: ${reason}` });
    }
  }
  cfg.load(text, file);
  applyOverrides(cfg, opts.overrides ?? []);
  return interpretDomainConfig(cfg, {
    configDir: file === '/dev/null' ? process.cwd() : dirname(resolve(file)),
    topology: opts.topology ?? DEFAULT_TOPOLOGY,
    generateUuid: opts.generateUuid ?? randomUUID,
  });
}

/** The JSON text xl prints (libxl's yajl generator beautified with four-space indents). */
export function domainConfigJson(r: DomainConfigResult): string {
  return JSON.stringify(r.config, null, 4) + '\n';
}
