// One run, inside a worker: the images checked against the sweep's hashes, then one simulation
// through @tachyxx/sim (the same path as `tachyxx run --stats`).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostConfigWithDefaults, simulateBare, simulateDomains } from '@tachyxx/sim';
import { TachyxxError } from '@tachyxx/core';
import type { RunJob } from './expand.js';

export interface RunOutcome {
  readonly key: string;
  readonly status: 'ok' | 'failed';
  /** Why the run failed (guest crash, deadlock, instruction limit, timeout...); '' when ok. */
  readonly reason: string;
  /** The `run --stats` JSON (null when the run never started). */
  readonly stats: Record<string, unknown> | null;
  readonly wallSeconds: number;
  /** False for outcomes that depend on the machine (timeouts, worker errors): never cached. */
  readonly deterministic: boolean;
}

/** Runs one job to completion in this thread (a worker's). Never throws. */
export function executeRun(job: RunJob): RunOutcome {
  const t0 = performance.now();
  const failed = (reason: string, deterministic: boolean): RunOutcome => ({ key: job.key, status: 'failed', reason, stats: null, wallSeconds: (performance.now() - t0) / 1000, deterministic });
  try {
    const images = job.images.map((img) => {
      const bytes = img.base64 !== undefined ? Buffer.from(img.base64, 'base64') : readFileSync(img.file);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== img.sha256) throw new StaleImage(`${img.file}: the image changed since the sweep read it (sha256 ${sha.slice(0, 12)}, expected ${img.sha256.slice(0, 12)})`);
      return { ...img, bytes };
    });
    // Validate the shipped config again: a worker trusts no input.
    const config = hostConfigWithDefaults(job.config, {}, `run ${job.id}`);
    if (job.mode === 'bare') {
      const img = images[0]!;
      const r = simulateBare({ config, file: img.file, bytes: img.bytes, memoryMiB: img.memoryMiB, maxInsns: job.maxInsns });
      return { key: job.key, status: r.status ? 'failed' : 'ok', reason: r.status ? r.result.message : '', stats: r.stats, wallSeconds: r.wallSeconds, deterministic: true };
    }
    const r = simulateDomains({
      config,
      images: images.map((i) => ({ file: i.file, bytes: i.bytes, memoryMiB: i.memoryMiB, vcpus: i.vcpus, ...(i.maxVcpus !== undefined ? { maxVcpus: i.maxVcpus } : {}), ...(i.name !== undefined ? { name: i.name } : {}), ...(i.cmdline !== undefined ? { cmdline: i.cmdline } : {}) })),
      maxInsns: job.maxInsns,
    });
    return { key: job.key, status: r.status ? 'failed' : 'ok', reason: r.reason, stats: r.stats, wallSeconds: r.wallSeconds, deterministic: true };
  } catch (e) {
    if (e instanceof StaleImage) return failed(e.message, false);
    // Config, image and host errors are the input's fault: the same input fails the same way.
    // (isa's ImageError and the hypervisor's HostError are their own classes: matched by name.)
    if (e instanceof TachyxxError || (e instanceof Error && INPUT_ERRORS.includes(e.name))) return failed(e.message, true);
    return failed(`error: ${e instanceof Error ? e.message : String(e)}`, false);
  }
}

class StaleImage extends Error {}

const INPUT_ERRORS: readonly string[] = ['ConfigError', 'ImageError', 'HostError'];
