// `tachyxx run --domain IMAGE ...`: boot a host (no toolstack yet) and run each image as a domU.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConfigError } from '@tachyxx/core';
import { ImageError } from '@tachyxx/isa';
import { assembleHost, HostError, type AssembledHost, type Host } from '@tachyxx/hypervisor';
import { hostConfig } from '../host-config.js';
import { catchSignals, consoleSink, signalStatus, stdoutGone } from '../console.js';
import { traceExporter } from '../trace.js';
import { readImageFileSync, ToolstackError } from '@tachyxx/toolstack';
import { DomainTarget } from '@tachyxx/gdbstub';
import { serveGdb, type GdbOptions } from './gdb.js';

export interface RunDomainsOptions {
  images: string[];
  memoryMiB: number;
  vcpus: number;
  hostFile?: string;
  variant?: string;
  maxInsns: number;
  stats?: string;
  /** Chrome trace-event JSON of the run (Perfetto, chrome://tracing). */
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
  const lines: string[] = [];
  // Guest output (console_io and the PV console ring alike).
  const guestOutput = (d: { name: string }, bytes: Uint8Array): void => {
    if (!multi) return out.write(bytes);
    // Prefix every complete line with the domain's name; keep partial lines per domain.
    const text = (partial.get(d.name) ?? '') + dec.decode(bytes);
    const parts = text.split('\n');
    partial.set(d.name, parts.pop()!);
    for (const l of parts) out.write(enc.encode(`${d.name}: ${l}\n`));
  };
  let assembled: AssembledHost;
  try {
    const { config, registry } = hostConfig(o.hostFile, {
      isa: o.variant,
      // machine memory: the domains plus room for P2M tables and special pages
      memoryMiB: Math.min(4096, o.images.length * (o.memoryMiB + 8) + 16),
    });
    // Every selected component (evtchn, grant, xenstore, console, ...) is attached by the assembly;
    // console_io and the PV console rings both write to guestOutput.
    assembled = assembleHost(config, registry, { console: guestOutput, log: (l) => lines.push(l) });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  const host: Host = assembled.host;
  const trace = o.traceEvents ? traceExporter(host.bus) : null;
  const names = new Map<string, number>();
  try {
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
      let name = basename(file).replace(/\.elf$/, '');
      const n = (names.get(name) ?? 0) + 1;
      names.set(name, n);
      if (n > 1) name = `${name}-${n}`;
      host.createDomain({ name, image: bytes, file, memoryMiB: o.memoryMiB, vcpus: o.vcpus });
    }
  } catch (e) {
    if (e instanceof ImageError || e instanceof HostError) {
      process.stderr.write(`tachyxx: ${e.message}\n`);
      return 2;
    }
    throw e;
  }

  // The run goes in slices of simulated time (deterministic, as one long run is), with a turn of
  // the event loop between them: SIGINT/SIGTERM/SIGHUP stop it there with every console byte
  // flushed (a signal used to kill the process with up to 64 KiB of output still buffered), and
  // a reader that went away (EPIPE) stops it too.
  const sig = catchSignals();
  const t0 = performance.now();
  if (o.gdb) {
    const first = host.domains.list()[0]!;
    const target = new DomainTarget(host, first, { othersRun: o.gdb.othersRun, maxInsns: o.maxInsns });
    const end = await serveGdb(target, o.gdb);
    if (end.killed) { sig.done(); out.flush(); return 1; }
  }
  let why: ReturnType<Host['run']> | 'signal' | 'epipe';
  try {
    for (;;) {
      why = host.run({ maxInsns: o.maxInsns, untilNs: host.clock.now + RUN_SLICE_NS });
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
  assembled.close();
  if (why === 'signal') {
    process.stderr.write(`tachyxx: stopped by ${sig.signal()}\n`);
    return signalStatus(sig.signal()!);
  }
  if (why === 'epipe') return signalStatus('SIGPIPE');

  let status = 0;
  const domains = host.domains.list();
  for (const d of domains) {
    if (d.shutdownCode === 0) continue;
    status = 1;
    const reason = d.shutdownCode === null ? `still running (${why})` : `shut down: ${['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'][d.shutdownCode] ?? d.shutdownCode}`;
    process.stderr.write(`tachyxx: domain '${d.name}' (d${d.domid}) ${d.crashMessage ? `crashed: ${d.crashMessage}` : reason}\n`);
  }
  if (why === 'insn-limit') process.stderr.write(`tachyxx: stopped after --max-insns ${o.maxInsns} instructions\n`);
  if (why === 'idle') process.stderr.write('tachyxx: deadlock: every vCPU is blocked and nothing can wake them\n');

  if (o.stats) {
    const s = host.statsJson();
    const insns = s.instructions as number;
    writeFileSync(o.stats, JSON.stringify({
      ...s,
      wallSeconds,
      mips: wallSeconds > 0 ? insns / wallSeconds / 1e6 : 0,
      exit: { reason: why === 'all-shutdown' ? (status ? 'domain-failure' : 'poweroff') : why, code: status },
      log: lines,
    }, null, 2) + '\n');
  }
  return status;
}
