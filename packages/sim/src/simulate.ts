// One simulation, in process: what `tachyxx run --bare|--domain --stats` does, without the CLI.
// Deterministic: for the same config, images and instruction limit, every field of `stats` except
// `wallSeconds` and `mips` is the same on every run and every machine.
import { buildContainer, type HostConfig, type PluginRegistry } from '@tachyxx/core';
import { BareMachine, ISA_CPU_FACTORY, type RunResult } from '@tachyxx/isa';
import { MMU_FACTORY } from '@tachyxx/mmu';
import { resolve } from '@tachyxx/core';
import { assembleHost, type AssembledHost, type Host } from '@tachyxx/hypervisor';
import { registry } from './host-config.js';

/** Xen's shutdown reasons (public/sched.h SHUTDOWN_*), by code. */
export const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;

/** Stats keys that depend on the wall clock (everything else is deterministic). */
export const WALL_CLOCK_STATS: readonly string[] = ['wallSeconds', 'mips'];

export interface DomainImage {
  /** Domain name; default: the file's base name without `.elf` (made unique with `-2`, `-3`...). */
  name?: string;
  /** For error messages and the default name. */
  file: string;
  bytes: Uint8Array;
  memoryMiB: number;
  vcpus?: number;
  /** vCPUs the guest may bring up with VCPUOP_up (default `vcpus`). */
  maxVcpus?: number;
  cmdline?: string;
}

export interface SimulateDomainsOptions {
  /** A validated host config (hostConfigWithDefaults / hostConfig). */
  config: HostConfig;
  /** The registry the config was validated with (default: registry()). */
  registry?: PluginRegistry;
  images: readonly DomainImage[];
  maxInsns?: number;
  /** Guest output (console_io and the PV console ring), per domain. Default: dropped. */
  console?: (domain: { name: string }, bytes: Uint8Array) => void;
  /** Host log lines (also kept in stats.log). */
  log?: (line: string) => void;
}

export type DomainsStop = 'all-shutdown' | 'time' | 'insn-limit' | 'idle' | 'debug';

export interface DomainFailure {
  name: string;
  domid: number;
  /** One line, as `tachyxx run` prints it after "domain 'NAME' (dN) ". */
  message: string;
}

export interface DomainsRun {
  host: Host;
  stop: DomainsStop;
  /** 0 every domain powered off, 1 otherwise (a crash, a deadlock, the instruction limit). */
  status: 0 | 1;
  /** Domains that did not power off, in domid order. */
  failures: DomainFailure[];
  /** One line saying why the run failed ('' when status is 0). */
  reason: string;
  wallSeconds: number;
  /** The `run --domain --stats` JSON. */
  stats: Record<string, unknown>;
}

/** Names for the images: base names without `.elf`, duplicates numbered `-2`, `-3`... */
export function domainNames(images: readonly Pick<DomainImage, 'name' | 'file'>[]): string[] {
  const seen = new Map<string, number>();
  return images.map((img) => {
    let name = img.name ?? img.file.replace(/^.*[\\/]/, '').replace(/\.elf$/, '');
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name = `${name}-${n}`;
    return name;
  });
}

/** A host with its domains created, not yet run (bootDomains); finishDomains reads the outcome. */
export interface BootedDomains {
  host: Host;
  /** The assembly (components attached through the container); close() detaches them. */
  assembled: AssembledHost;
  /** Host log lines so far (and later: the array keeps filling). */
  log: string[];
}

/**
 * Boots a host (hypervisor, event channels, grant tables, xenstored, console rings) from `config`
 * and creates one domU per image, without running it: a caller that runs the host its own way
 * (in slices, under a debugger) then calls finishDomains. Throws ConfigError / ImageError /
 * HostError for unusable input.
 */
export function bootDomains(o: Omit<SimulateDomainsOptions, 'maxInsns'> & { onHost?: (host: Host) => void }): BootedDomains {
  const lines: string[] = [];
  const log = (l: string) => {
    lines.push(l);
    o.log?.(l);
  };
  const output = o.console ?? (() => {});
  // Every selected component (evtchn, grant, xenstore, console, ...) is attached by the assembly;
  // console_io and the PV console rings both write to `output`.
  const assembled = assembleHost(o.config, o.registry ?? registry(), { console: output, log });
  const host = assembled.host;
  o.onHost?.(host);
  const names = domainNames(o.images);
  o.images.forEach((img, i) => host.createDomain({ name: names[i]!, image: img.bytes, file: img.file, memoryMiB: img.memoryMiB, vcpus: img.vcpus ?? 1, ...(img.maxVcpus !== undefined ? { maxVcpus: img.maxVcpus } : {}), ...(img.cmdline !== undefined ? { cmdline: img.cmdline } : {}) }));
  return { host, assembled, log: lines };
}

/** The outcome of a booted host's run that ended with `stop` after `wallSeconds` of running. */
export function finishDomains(b: BootedDomains, stop: DomainsStop, wallSeconds: number, maxInsns = Infinity): DomainsRun {
  const { host } = b;
  const failures: DomainFailure[] = [];
  for (const d of host.domains.list()) {
    if (d.shutdownCode === 0) continue;
    const why = d.shutdownCode === null ? `still running (${stop})` : `shut down: ${SHUTDOWN_REASONS[d.shutdownCode] ?? d.shutdownCode}`;
    failures.push({ name: d.name, domid: d.domid, message: d.crashMessage ? `crashed: ${d.crashMessage}` : why });
  }
  const status = failures.length ? 1 : 0;
  let reason = '';
  if (stop === 'insn-limit') reason = `stopped after ${maxInsns} instructions`;
  else if (stop === 'idle') reason = 'deadlock: every vCPU is blocked and nothing can wake them';
  if (failures.length) reason = [failures.map((f) => `domain '${f.name}' ${f.message}`).join('; '), reason].filter(Boolean).join('; ');

  const s = host.statsJson();
  const insns = s.instructions as number;
  const stats = {
    ...s,
    wallSeconds,
    mips: wallSeconds > 0 ? insns / wallSeconds / 1e6 : 0,
    exit: { reason: stop === 'all-shutdown' ? (status ? 'domain-failure' : 'poweroff') : stop, code: status },
    log: b.log,
  };
  return { host, stop, status, failures, reason, wallSeconds, stats };
}

/**
 * Boots a host and its domains (bootDomains) and runs until every domain has shut down, nothing
 * can run any more (deadlock), or `maxInsns`.
 */
export function simulateDomains(o: SimulateDomainsOptions): DomainsRun {
  const booted = bootDomains(o);
  const maxInsns = o.maxInsns ?? Infinity;
  const t0 = performance.now();
  const stop = booted.host.run({ maxInsns });
  // Device file I/O completes asynchronously: a synchronous run cannot wait for it (the sweep
  // attaches no disks; `tachyxx run` and the host daemon wait with Host.ioSettled()).
  if (stop === 'io-wait') throw new Error('simulateDomains: a device waits for host file I/O, which a synchronous run cannot wait for (use an async loop with Host.ioSettled())');
  const run = finishDomains(booted, stop, (performance.now() - t0) / 1000, maxInsns);
  booted.assembled.close();
  return run;
}

export interface SimulateBareOptions {
  config: HostConfig;
  file: string;
  bytes: Uint8Array;
  /** Guest RAM (default 256). */
  memoryMiB?: number;
  maxInsns?: number;
  console?: (bytes: Uint8Array) => void;
  trace?: (line: string) => void;
}

export interface BareRun {
  machine: BareMachine;
  result: RunResult;
  /** 0 poweroff, 1 otherwise. */
  status: 0 | 1;
  wallSeconds: number;
  /** The `run --bare --stats` JSON. */
  stats: Record<string, unknown>;
}

/** Boots `bytes` bare on one hart under the PL0 firmware (the config's isa and mmu variants). */
export function simulateBare(o: SimulateBareOptions): BareRun {
  const container = buildContainer(o.config, registry());
  const cpuFactory = resolve(container, ISA_CPU_FACTORY);
  const mmuFactory = resolve(container, MMU_FACTORY);
  const machine = new BareMachine({
    image: o.bytes,
    file: o.file,
    memoryMiB: o.memoryMiB ?? 256,
    variant: o.config.components.isa?.variant ?? 'tachy-v1',
    cpuFactory,
    attach: (cpu, memory) => cpu.attachMmu(mmuFactory.create(memory, 0, cpu)),
    console: o.console ?? (() => {}),
    trace: o.trace,
  });
  const t0 = performance.now();
  const result = machine.run({ maxInsns: o.maxInsns ?? Infinity });
  const wallSeconds = (performance.now() - t0) / 1000;
  return { machine, result, status: result.reason === 'poweroff' ? 0 : 1, wallSeconds, stats: machine.stats(wallSeconds) as Record<string, unknown> };
}
