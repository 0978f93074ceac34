// `tachyxx run --domain IMAGE ...`: boot a host (no toolstack yet) and run each image as a domU.
import { readFileSync, writeFileSync } from 'node:fs';
import { ConfigError } from '@tachyxx/core';
import { ImageError } from '@tachyxx/isa';
import { HostError } from '@tachyxx/hypervisor';
import { simulateDomains, type DomainImage, type DomainsRun } from '@tachyxx/sim';
import { hostContainer } from '../host-config.js';
import { consoleSink } from '../console.js';

export interface RunDomainsOptions {
  images: string[];
  memoryMiB: number;
  vcpus: number;
  hostFile?: string;
  variant?: string;
  maxInsns: number;
  stats?: string;
}

export async function runDomains(o: RunDomainsOptions): Promise<number> {
  const out = consoleSink();
  const multi = o.images.length > 1;
  const partial = new Map<string, string>();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  // Guest output (console_io and the PV console ring alike).
  const guestOutput = (d: { name: string }, bytes: Uint8Array): void => {
    if (!multi) return out.write(bytes);
    // Prefix every complete line with the domain's name; keep partial lines per domain.
    const text = (partial.get(d.name) ?? '') + dec.decode(bytes);
    const parts = text.split('\n');
    partial.set(d.name, parts.pop()!);
    for (const l of parts) out.write(enc.encode(`${d.name}: ${l}\n`));
  };
  let run: DomainsRun;
  try {
    const { config } = hostContainer(o.hostFile, {
      isa: o.variant,
      // machine memory: the domains plus room for P2M tables and special pages
      memoryMiB: Math.min(4096, o.images.length * (o.memoryMiB + 8) + 16),
    });
    const images: DomainImage[] = [];
    for (const file of o.images) {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(file);
      } catch (e) {
        process.stderr.write(`tachyxx: ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}\n`);
        return 2;
      }
      images.push({ file, bytes, memoryMiB: o.memoryMiB, vcpus: o.vcpus });
    }
    // The host, its components (event channels, grant tables, xenstored, console rings) and the
    // domains: @tachyxx/sim, shared with `tachyxx sweep`.
    run = simulateDomains({ config, images, maxInsns: o.maxInsns, console: guestOutput });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ImageError || e instanceof HostError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  for (const [name, rest] of partial) if (rest) out.write(enc.encode(`${name}: ${rest}\n`));
  out.flush();

  const status = run.status;
  for (const f of run.failures) process.stderr.write(`tachyxx: domain '${f.name}' (d${f.domid}) ${f.message}\n`);
  if (run.stop === 'insn-limit') process.stderr.write(`tachyxx: stopped after --max-insns ${o.maxInsns} instructions\n`);
  if (run.stop === 'idle') process.stderr.write('tachyxx: deadlock: every vCPU is blocked and nothing can wake them\n');

  if (o.stats) writeFileSync(o.stats, JSON.stringify(run.stats, null, 2) + '\n');
  return status;
}
