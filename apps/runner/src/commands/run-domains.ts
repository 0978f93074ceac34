// `tachyxx run --domain IMAGE ...`: boot a host (no toolstack yet) and run each image as a domU.
import { writeFileSync } from 'node:fs';
import { ConfigError } from '@tachyxx/core';
import { ImageError } from '@tachyxx/isa';
import { HostError } from '@tachyxx/hypervisor';
import { bootDomains, finishDomains, type BootedDomains, type DomainImage, type DomainsStop } from '@tachyxx/sim';
import { hostConfig } from '../host-config.js';
import { traceExporter } from '../trace.js';
import { catchSignals, consoleSink, signalStatus, stdoutGone } from '../console.js';
import { readImageFileSync } from '@tachyxx/toolstack/image-file';
import { ToolstackError } from '@tachyxx/toolstack/protocol';
import type { GdbOptions } from './gdb.js';

export interface RunDomainsOptions {
  images: string[];
  memoryMiB: number;
  vcpus: number;
  hostFile?: string;
  variant?: string;
  maxInsns: number;
  stats?: string;
  /** Write Chrome trace-event JSON of the run here (--trace-events). */
  traceEvents?: string;
  /** Serve gdb for the first domain (--gdb). */
  gdb?: GdbOptions;
}

/** Simulated time per run slice (between two checks for signals and a closed stdout). */
const RUN_SLICE_NS = 10_000_000;

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
  let booted: BootedDomains;
  let trace = null as ReturnType<typeof traceExporter> | null;
  try {
    const { config, registry } = hostConfig(o.hostFile, {
      isa: o.variant,
      // machine memory: the domains plus room for P2M tables and special pages
      memoryMiB: Math.min(4096, o.images.length * (o.memoryMiB + 8) + 16),
    });
    const images: DomainImage[] = [];
    for (const file of o.images) {
      let bytes: Uint8Array;
      try {
        // A regular file no larger than the domain's memory (never /dev/zero or a FIFO).
        bytes = readImageFileSync(file, 'image', o.memoryMiB * 1024 * 1024);
      } catch (e) {
        if (!(e instanceof ToolstackError)) throw e;
        process.stderr.write(`tachyxx: ${e.message.replace(/^image /, '')}\n`);
        return 2;
      }
      images.push({ file, bytes, memoryMiB: o.memoryMiB, vcpus: o.vcpus });
    }
    // The host, its components (event channels, grant tables, xenstored, console rings) and the
    // domains: @tachyxx/sim, shared with `tachyxx sweep`.
    booted = bootDomains({
      config, registry, images, console: guestOutput,
      // The trace exporter subscribes before the domains exist, so it sees them being created.
      onHost: (h) => { trace = o.traceEvents ? traceExporter(h.bus) : null; },
    });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ImageError || e instanceof HostError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const { host } = booted;

  // The run goes in slices of simulated time (deterministic, as one long run is), with a turn of
  // the event loop between them: SIGINT/SIGTERM/SIGHUP stop it there with every console byte
  // flushed (a signal used to kill the process with up to 64 KiB of output still buffered), and
  // a reader that went away (EPIPE) stops it too.
  const sig = catchSignals();
  const t0 = performance.now();
  if (o.gdb) {
    const first = host.domains.list()[0]!;
    // The gdb stub loads only with --gdb.
    const [{ DomainTarget }, { serveGdb }] = await Promise.all([import('@tachyxx/gdbstub'), import('./gdb.js')]);
    const target = new DomainTarget(host, first, { othersRun: o.gdb.othersRun, maxInsns: o.maxInsns });
    const end = await serveGdb(target, o.gdb);
    if (end.killed) { sig.done(); out.flush(); return 1; }
  }
  let why: DomainsStop | 'signal' | 'epipe';
  try {
    for (;;) {
      const stop = host.run({ maxInsns: o.maxInsns, untilNs: host.clock.now + RUN_SLICE_NS });
      // A device completion waits for its host file I/O: sleep until it is done (no polling).
      if (stop === 'io-wait') { await host.ioSettled(); continue; }
      why = stop;
      if (why !== 'time') break;
      out.tick();
      await new Promise((res) => setImmediate(res));
      if (sig.signal()) {
        why = 'signal';
        break;
      }
      if (stdoutGone()) {
        why = 'epipe';
        break;
      }
    }
  } finally {
    sig.done();
    for (const [name, rest] of partial) if (rest) out.write(enc.encode(`${name}: ${rest}\n`));
    out.flush();
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  if (trace) {
    writeFileSync(o.traceEvents!, trace.toJSON());
    trace.stop();
  }
  if (why === 'signal' || why === 'epipe') booted.assembled.close();
  if (why === 'signal') {
    process.stderr.write(`tachyxx: stopped by ${sig.signal()}\n`);
    return signalStatus(sig.signal()!);
  }
  if (why === 'epipe') return signalStatus('SIGPIPE');

  const run = finishDomains(booted, why, wallSeconds, o.maxInsns);
  for (const f of run.failures) process.stderr.write(`tachyxx: domain '${f.name}' (d${f.domid}) ${f.message}\n`);
  if (run.stop === 'insn-limit') process.stderr.write(`tachyxx: stopped after --max-insns ${o.maxInsns} instructions\n`);
  if (run.stop === 'idle') process.stderr.write('tachyxx: deadlock: every vCPU is blocked and nothing can wake them\n');

  if (o.stats) writeFileSync(o.stats, JSON.stringify(run.stats, null, 2) + '\n');
  booted.assembled.close();
  return run.status;
}
