/**
 * Every xl command that talks to a running Tachyxx host, over its control socket. Output
 * layouts follow Xen's tools/xl (xl_info.c, xl_vcpu.c, xl_sched.c, xl_cpupool.c,
 * xl_vmcontrol.c): the same printf formats, the same error wording, the same exit statuses.
 */
import { parseArgs } from 'node:util';
import { resolve as resolvePath } from 'node:path';
import type { BlockEntry, ListEntry, PciEntry, VcpuEntry } from '@tachyxx/toolstack';
import { Host, HostOpError, MAX_MEMKB, parseMemKb } from './client.js';
import { parseCpuList, type HostTopology } from '@tachyxx/xlcfg/cpumap';
import { Usage, XlFail } from './usage.js';

type Opts = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

const out = (s: string) => void process.stdout.write(s);
const err = (s: string) => void process.stderr.write(s);

function args(cmd: string, argv: string[], options: Opts = {}): { values: Record<string, any>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } });
  } catch (e) {
    throw new Usage(`${cmd}: ${e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e)}`, cmd);
  }
}

/** printf's %-Ns / %Ns. */
const L = (s: string | number, n: number) => String(s).padEnd(n);
const R = (s: string | number, n: number) => String(s).padStart(n);
/** printf's %N.1f of a float (xl casts to float first; one decimal is safe). */
const F1 = (x: number, n: number) => R(x.toFixed(1), n);

const REASON_CODE: Record<string, number> = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5 };
const REASON_LETTER = '-rscwS';

/** xl list's six state letters: r b p s <shutdown reason> d (xl_info.c list_domains). */
export function stateLetters(e: Pick<ListEntry, 'state' | 'shutdownReason'>): string {
  const s = e.state.padEnd(6, '-');
  const shut = e.shutdownReason !== null && e.shutdownReason !== undefined;
  const code = shut ? REASON_CODE[e.shutdownReason!] : 0;
  const reason = shut ? (code !== undefined ? REASON_LETTER[code]! : '?') : '-';
  return `${s[0]}${s[1]}${s[2]}${shut ? 's' : '-'}${reason}${s[5]}`;
}

export const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';

/** One row of `xl list`: printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f"). */
export function listRow(e: ListEntry): string {
  return `${L(e.name, 40)} ${R(e.domid, 5)} ${R(e.memMiB, 5)} ${R(e.vcpus, 5)}     ${stateLetters(e)}  ${F1(e.timeSec, 8)}`;
}

/** Resolves DOMAIN (name or id) like xl's find_domain: unknown -> "X is an invalid domain identifier (rc=-6)", exit 1. */
async function findDomain(h: Host, dom: string): Promise<{ domid: number; name: string }> {
  try {
    const r = await h.call<{ domains: ListEntry[] }>('list', { domain: dom });
    const e = r.domains[0]!;
    return { domid: e.domid, name: e.name };
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'ESRCH') throw new XlFail(`${dom} is an invalid domain identifier (rc=-6)`);
    throw e;
  }
}

/** A libxl failure: `libxl: error: MESSAGE` then xl's own line for the command, if it has one. */
function libxlError(e: unknown, xlLine?: string, exitCode = 1): never {
  if (e instanceof HostOpError) {
    if (e.code === 'ESRCH' && / is an invalid domain identifier/.test(e.message)) throw new XlFail(e.message);
    throw new XlFail(`libxl: error: ${e.message}${xlLine ? `\n${xlLine}` : ''}`, exitCode);
  }
  throw e;
}

function need(cmd: string, positionals: string[], min: number, max = min): void {
  if (positionals.length < min) throw new Usage(`${cmd}: missing argument${min - positionals.length > 1 ? 's' : ''}`, cmd);
  if (positionals.length > max) throw new Usage(`${cmd}: unexpected argument '${positionals[max]}'`, cmd);
}

// =============================================================================================
// Commands
// =============================================================================================

export type HostCommand = (h: () => Promise<Host>, argv: string[]) => Promise<number>;

const list: HostCommand = async (host, argv) => {
  const { values, positionals } = args('list', argv, {
    long: { type: 'boolean', short: 'l' }, verbose: { type: 'boolean', short: 'v' }, context: { type: 'boolean', short: 'Z' },
    cpupool: { type: 'boolean', short: 'c' }, numa: { type: 'boolean', short: 'n' },
  });
  const h = await host();
  let domains: ListEntry[];
  try {
    domains = (await h.call<{ domains: ListEntry[] }>('list', { domains: positionals, long: values.long === true })).domains;
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'ESRCH') {
      // Name the first one that is not there, as xl's find_domain does.
      for (const p of positionals) await findDomain(h, p);
    }
    return libxlError(e, 'libxl_list_domain failed.');
  }
  if (values.long) {
    // xl list -l: a JSON array of {domid, config} (libxl's yajl generator, 4-space indents).
    out(JSON.stringify(domains.map((d) => ({ domid: d.domid, config: d.config })), null, 4) + '\n');
    return 0;
  }
  let head = LIST_HEADER;
  if (values.verbose) head += '   UUID                            Reason-Code\tSecurity Label';
  if (values.context && !values.verbose) head += '   Security Label';
  if (values.cpupool) head += '         Cpupool';
  if (values.numa) head += ' NODE Affinity';
  const lines = [head];
  for (const d of domains) {
    let row = listRow(d);
    if (values.verbose) {
      row += ` ${d.uuid}`;
      row += d.shutdownReason ? ` ${R((REASON_CODE[d.shutdownReason] ?? 255).toString(16), 8)}` : ` ${R('-', 8)}`;
    }
    if (values.verbose || values.context) row += ` ${R('-', 16)}`;
    if (values.cpupool) row += R(d.pool, 16);
    if (values.numa) row += ' all';
    lines.push(row);
  }
  out(lines.join('\n') + '\n');
  return 0;
};

const destroy: HostCommand = async (host, argv) => {
  const { values, positionals } = args('destroy', argv, { force: { type: 'boolean', short: 'f' } });
  need('destroy', positionals, 1);
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  if (domid === 0) {
    throw new XlFail(values.force
      ? 'libxl: error: Domain-0 is the Tachyxx toolstack itself and cannot be destroyed\ndestroy failed (rc=-3)'
      : 'Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n');
  }
  try {
    await h.call('destroy', { domain: domid });
  } catch (e) {
    libxlError(e, 'destroy failed (rc=-3)');
  }
  return 0;
};

interface WaitResult { domid: number; name: string; reason: string; action: string; newDomid?: number; error?: string }

function shutdownOrReboot(what: 'shutdown' | 'reboot'): HostCommand {
  return async (host, argv) => {
    const { values, positionals } = args(what, argv, {
      all: { type: 'boolean', short: 'a' }, wait: { type: 'boolean', short: 'w', multiple: true }, fallback: { type: 'boolean', short: 'F' },
    });
    if (!positionals.length && !values.all) throw new XlFail('You must specify -a or a domain id.\n');
    need(what, positionals, 0, values.all ? 0 : 1);
    const h = await host();
    const verb = what === 'reboot' ? 'Rebooting' : 'Shutting down';
    const waitLevel = values.wait?.length ?? 0;
    let targets: number[];
    if (values.all) {
      const all = (await h.call<{ domains: ListEntry[] }>('list')).domains;
      targets = all.filter((d) => d.domid !== 0 && !d.shutdownReason).map((d) => d.domid);
    } else {
      const { domid } = await findDomain(h, positionals[0]!);
      if (domid === 0) throw new XlFail(`libxl: error: Domain-0 is the Tachyxx toolstack itself: it cannot be ${what === 'reboot' ? 'rebooted' : 'shut down'} from xl (stop the host instead)\n${what} failed (rc=-3)`);
      targets = [domid];
    }
    for (const d of targets) err(`${verb} domain ${d}\n`);
    if (waitLevel) err(`Waiting for ${targets.length} domains\n`);
    let res: { domains: WaitResult[] };
    try {
      res = await h.call(what, values.all ? { all: true, wait: waitLevel > 0 } : { domain: targets[0], wait: waitLevel > 0 });
    } catch (e) {
      return libxlError(e, `${what} failed (rc=-3)`);
    }
    if (waitLevel) {
      for (const r of res.domains) {
        err(`Domain ${r.domid} has been shut down, reason code ${REASON_CODE[r.reason] ?? 255}\n`);
        if (waitLevel > 1 && (r.action === 'destroy' || r.action === 'coredump-destroy' || r.action === 'restart' || r.newDomid !== undefined)) err(`Domain ${r.domid} has been destroyed\n`);
      }
    }
    return 0;
  };
}

function simpleDomainOp(op: 'pause' | 'unpause'): HostCommand {
  return async (host, argv) => {
    const { positionals } = args(op, argv);
    need(op, positionals, 1);
    const h = await host();
    const { domid } = await findDomain(h, positionals[0]!);
    if (domid === 0) throw new XlFail(`libxl: error: Domain-0 is the Tachyxx toolstack itself and cannot be ${op}d`);
    try {
      await h.call(op, { domain: domid });
    } catch (e) {
      libxlError(e);
    }
    return 0;
  };
}

/** `xl debug`: a gdb stub for a domain in the host daemon (Tachyxx; Xen's is gdbsx). */
const debug: HostCommand = async (host, argv) => {
  const { values, positionals } = args('debug', argv, {
    port: { type: 'string', short: 'p' }, unix: { type: 'string', short: 'u' },
    'others-run': { type: 'boolean' }, detach: { type: 'boolean', short: 'd' },
  });
  need('debug', positionals, 1);
  const dom = positionals[0]!;
  if (values.detach === true) {
    if (values.port !== undefined || values.unix !== undefined || values['others-run'] === true) throw new Usage('debug: --detach takes no other option', 'debug');
    const h = await host();
    let r: { domid: number; name: string };
    try { r = await h.call('debug-detach', { domain: dom }); } catch (e) { libxlError(e); }
    out(`debugger of domain ${r.domid} (${r.name}) detached; the domain runs on\n`);
    return 0;
  }
  if (values.port !== undefined && values.unix !== undefined) throw new Usage('debug: --port and --unix exclude each other', 'debug');
  let listen: string;
  if (values.unix !== undefined) {
    if (values.unix === '') throw new Usage('debug: --unix needs a socket path', 'debug');
    listen = `unix:${resolvePath(values.unix as string)}`;
  } else {
    const p = (values.port as string | undefined) ?? '0';
    if (!/^\d{1,5}$/.test(p) || Number(p) > 65535) throw new Usage(`debug: --port ${p}: not a TCP port (0-65535)`, 'debug');
    listen = `127.0.0.1:${Number(p)}`;
  }
  const h = await host();
  let r: { domid: number; name: string; listen: string; othersRun: boolean };
  try {
    r = await h.call('debug-attach', { domain: dom, listen, othersRun: values['others-run'] === true });
  } catch (e) {
    libxlError(e);
  }
  out(`gdb stub for domain ${r.domid} (${r.name}) listening on ${r.listen}${r.othersRun ? ' (other domains run while gdb holds it)' : ' (all-stop: the whole host stops while gdb holds it)'}\n`);
  out(`connect: gdb-multiarch -ex 'target remote ${r.listen}' KERNEL-ELF\n`);
  out(`end: detach in gdb (the domain runs on, the stub stays), or xl debug --detach ${r.domid}\n`);
  return 0;
};

const rename: HostCommand = async (host, argv) => {
  const { positionals } = args('rename', argv);
  need('rename', positionals, 2);
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  try {
    await h.call('rename', { domain: domid, name: positionals[1] });
  } catch (e) {
    libxlError(e, `Can't rename domain '${positionals[0]}'.`);
  }
  return 0;
};

const domid: HostCommand = async (host, argv) => {
  const { positionals } = args('domid', argv);
  need('domid', positionals, 1);
  const h = await host();
  try {
    const r = await h.call<{ domid: number }>('domid', { name: positionals[0] });
    out(`${r.domid}\n`);
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'ESRCH') throw new XlFail(`Can't get domid of domain name '${positionals[0]}', maybe this domain does not exist.`);
    libxlError(e);
  }
  return 0;
};

const domname: HostCommand = async (host, argv) => {
  const { positionals } = args('domname', argv);
  need('domname', positionals, 1);
  const s = positionals[0]!;
  if (!/^\s*[+-]?\d/.test(s)) throw new XlFail('Invalid domain id.\n');
  const id = parseInt(s, 10);
  const h = await host();
  try {
    const r = await h.call<{ name: string }>('domname', { domid: String(id) });
    out(`${r.name}\n`);
  } catch (e) {
    if (e instanceof HostOpError && (e.code === 'ESRCH' || e.code === 'EINVAL')) throw new XlFail(`Can't get domain name of domain id '${id >>> 0}', maybe this domain does not exist.`);
    libxlError(e);
  }
  return 0;
};

/** Attaches to a domain's console: raw terminal when stdin is a TTY, Ctrl-] (or the -e escape) detaches. */
export async function attachConsole(h: Host, domid: number, o: { follow?: boolean; escape?: number } = {}): Promise<{ reason: string }> {
  const esc = o.escape ?? 0x1d;
  const tty = process.stdin.isTTY === true;
  let cur = domid;
  let onKey: ((b: Buffer) => void) | null = null;
  const restore = () => {
    if (onKey) process.stdin.off('data', onKey);
    if (tty) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  };
  try {
    for (;;) {
      let streamId = 0;
      const ended = new Promise<Record<string, unknown>>((res) => {
        h.onClose = () => res({ reason: 'host-gone' });
        const s = h.stream('console', { domain: cur }, (ev) => {
          if (ev.event === 'console') out(Buffer.from(String(ev.data), 'base64').toString('latin1'));
          else if (ev.event === 'end') res(ev);
        });
        streamId = s.id;
        s.result.catch((e: unknown) => res({ reason: 'error', error: e }));
        if (tty && !onKey) {
          process.stdin.setRawMode(true);
          process.stdin.resume();
          onKey = (b: Buffer) => {
            // Typed bytes go to the domain's PV console ring (xenconsoled's input side); the
            // escape and anything after it do not.
            const at = b.indexOf(esc);
            const typed = at >= 0 ? b.subarray(0, at) : b;
            if (typed.length) void h.call('console-input', { domain: cur, data: typed.toString('base64') }).catch(() => {});
            if (at >= 0) {
              void h.call('detach', { stream: streamId }).catch(() => {});
              res({ reason: 'detached' });
            }
          };
          process.stdin.on('data', onKey);
        }
      });
      const ev = await ended;
      if (ev.reason === 'error') {
        const e = ev.error;
        if (e instanceof HostOpError && e.code === 'ESRCH') throw new XlFail(`${cur} is an invalid domain identifier (rc=-6)`);
        if (e instanceof HostOpError) throw new XlFail(`libxl: error: ${e.message}\nUnable to attach console`);
        throw e;
      }
      if (ev.reason === 'restarted' && o.follow && typeof ev.newDomid === 'number') {
        cur = ev.newDomid;
        continue;
      }
      return { reason: String(ev.reason) };
    }
  } finally {
    restore();
    h.onClose = null;
  }
}

const consoleCmd: HostCommand = async (host, argv) => {
  const { values, positionals } = args('console', argv, { type: { type: 'string', short: 't' }, num: { type: 'string', short: 'n' }, escape: { type: 'string', short: 'e' } });
  need('console', positionals, 1);
  if (values.type !== undefined && values.type !== 'pv' && values.type !== 'serial') throw new XlFail('console type supported are: pv, serial, vuart');
  if (values.num !== undefined && values.num !== '0') throw new XlFail(`libxl: error: console ${values.num}: Tachyxx domains have one console (0)\nUnable to attach console`);
  let escape: number | undefined;
  if (values.escape !== undefined) {
    const m = /^\^([@A-Z[\\\]^_])$/i.exec(values.escape);
    if (!m) throw new XlFail(`Invalid escape sequence '${values.escape}' (use ^X)`);
    escape = m[1]!.toUpperCase().charCodeAt(0) - 64;
  }
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  await attachConsole(h, domid, escape === undefined ? {} : { escape });
  return 0;
};

export const VCPU_LIST_HEADER = `${L('Name', 32)} ${R('ID', 5)} ${R('VCPU', 5)} ${R('CPU', 5)} ${R('State', 5)} ${R('Time(s)', 9)} Affinity (Hard / Soft)`;

/** One row of `xl vcpu-list` (xl_vcpu.c print_vcpuinfo). */
export function vcpuRow(v: VcpuEntry): string {
  const head = `${L(v.name, 32)} ${R(v.domid, 5)} ${R(v.vcpu, 5)}`;
  const st = v.state.padEnd(3, '-');
  const mid = v.cpu === null ? `${R('-', 5)} ${R('-', 3)}-p ` : `${R(v.cpu, 5)} ${R(st[0]!, 3)}${st[1]}- `;
  return `${head}${mid}${F1(v.timeSec, 9)}  ${v.hard} / ${v.soft}`;
}

const vcpuList: HostCommand = async (host, argv) => {
  const { positionals } = args('vcpu-list', argv);
  const h = await host();
  for (const p of positionals) await findDomain(h, p);
  let vcpus: VcpuEntry[];
  try {
    vcpus = (await h.call<{ vcpus: VcpuEntry[] }>('vcpu-list', positionals.length ? { domains: positionals } : {})).vcpus;
  } catch (e) {
    return libxlError(e);
  }
  out([VCPU_LIST_HEADER, ...vcpus.map(vcpuRow)].join('\n') + '\n');
  return 0;
};

/** The host's pCPUs and NUMA nodes (from `info`), as cpus= and vcpu-pin need them. */
export async function hostTopology(h: Host): Promise<HostTopology> {
  const info = (await h.call<{ info: [string, string][] }>('info')).info;
  const get = (k: string) => Number(info.find(([x]) => x === k)?.[1] ?? 1);
  const pcpus = Math.max(1, Math.min(get('nr_cpus'), 1 << 16));
  const nrNodes = Math.max(1, Math.min(get('nr_nodes'), pcpus));
  const per = Math.ceil(pcpus / nrNodes);
  const nodes = Array.from({ length: nrNodes }, (_, n) => Array.from({ length: pcpus }, (_, c) => c).filter((c) => Math.floor(c / per) === n));
  return { pcpus, nodes };
}

/** An affinity argument of vcpu-pin, checked against the host before it is sent (the host checks again). */
function checkAffinity(spec: string | undefined, topo: HostTopology, which: string): void {
  if (spec === undefined || spec === '-' || spec === 'all') return;
  const shown = spec.length > 64 ? `${spec.slice(0, 64)}...` : spec;
  const r = parseCpuList(spec, topo);
  if (typeof r === 'string') throw new XlFail(`Invalid ${which} affinity '${shown}': ${r}.`);
  if (r.missing.length) throw new XlFail(`Invalid ${which} affinity '${shown}': ${r.missing.join(', ')} not on this host (${topo.pcpus} pCPUs: 0-${topo.pcpus - 1}, ${topo.nodes.length} NUMA node${topo.nodes.length === 1 ? '' : 's'}).`);
  if (r.cpus.length === 0) throw new XlFail(`Invalid ${which} affinity '${shown}': it leaves no pCPU.`);
}

/** Largest vCPU number or count xl sends (libxl's are ints; HVM_MAX_VCPUS is 128). */
const MAX_VCPU_ARG = 0x7fffffff;

const vcpuPin: HostCommand = async (host, argv) => {
  const { positionals } = args('vcpu-pin', argv, { force: { type: 'boolean', short: 'f' }, 'ignore-global-affinity-masks': { type: 'boolean', short: 'i' } });
  need('vcpu-pin', positionals, 3, 4);
  const [dom, vcpu, hard, soft] = positionals as [string, string, string, string | undefined];
  if (vcpu !== 'all' && (!/^\d+$/.test(vcpu) || Number(vcpu) > MAX_VCPU_ARG)) throw new XlFail(`Error: Invalid argument ${vcpu} as VCPU.`);
  const h = await host();
  const topo = await hostTopology(h);
  checkAffinity(hard, topo, 'hard');
  checkAffinity(soft, topo, 'soft');
  const { domid } = await findDomain(h, dom);
  try {
    await h.call('vcpu-pin', { domain: domid, vcpu: vcpu === 'all' ? 'all' : Number(vcpu), hard, ...(soft !== undefined ? { soft } : {}) });
  } catch (e) {
    libxlError(e, vcpu === 'all' ? 'Could not set affinity.' : `Could not set affinity for vcpu \`${vcpu}'.`);
  }
  return 0;
};

const vcpuSet: HostCommand = async (host, argv) => {
  const { positionals } = args('vcpu-set', argv, { 'ignore-host': { type: 'boolean', short: 'i' } });
  need('vcpu-set', positionals, 2);
  if (!/^\d+$/.test(positionals[1]!) || Number(positionals[1]) > MAX_VCPU_ARG) throw new XlFail('Error: Invalid argument.');
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  try {
    await h.call('vcpu-set', { domain: domid, count: Number(positionals[1]) });
  } catch (e) {
    libxlError(e, `libxl_set_vcpuonline failed domid=${domid} max_vcpus=${positionals[1]}, rc: -3`);
  }
  return 0;
};

function memCmd(op: 'mem-set' | 'mem-max'): HostCommand {
  return async (host, argv) => {
    const { positionals } = args(op, argv);
    need(op, positionals, 2);
    const [dom, mem] = positionals as [string, string];
    const kb = parseMemKb(mem);
    if (!Number.isSafeInteger(kb) || kb <= 0 || kb > MAX_MEMKB) throw new XlFail(`invalid memory size: ${mem}`);
    const h = await host();
    const { domid } = await findDomain(h, dom);
    try {
      await h.call(op, { domain: domid, memkb: kb });
    } catch (e) {
      libxlError(e, `cannot set domid ${domid} ${op === 'mem-max' ? 'static' : 'dynamic'} max memory to : ${mem}`);
    }
    return 0;
  };
}

// ---- network (xl_vif.c) ------------------------------------------------------------------------

/** libxl_nicinfo as the host's network-list op returns it. */
export interface NicRow { devid: number; backendId: number; mac: string; state: number; evtch: number; rrefTx: number; rrefRx: number; backend: string }

/** xl network-list's header: printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", ...). */
export const NETWORK_LIST_HEADER = `${L('Idx', 3)} ${L('BE', 2)} ${L('Mac Addr.', 17)} ${L('handle', 6)} ${L('state', 5)} ${L('evt-ch', 6)} ${R('tx-', 5)}/${L('rx-ring-ref', 5)} ${L('BE-path', 30)}`;

/** One row: printf("%-3d %-2d ") + LIBXL_MAC_FMT + printf("%6d %5d %6d %5d/%-11d %-30s\n"). */
export function networkRow(n: NicRow): string {
  return `${L(n.devid, 3)} ${L(n.backendId, 2)} ${n.mac}${R(n.devid, 6)} ${R(n.state, 5)} ${R(n.evtch, 6)} ${R(n.rrefTx, 5)}/${L(n.rrefRx, 11)} ${L(n.backend, 30)}`;
}

const networkList: HostCommand = async (host, argv) => {
  const { positionals } = args('network-list', argv);
  if (positionals.length < 1) throw new Usage('network-list: missing argument', 'network-list');
  const h = await host();
  out(`${NETWORK_LIST_HEADER}\n`);
  for (const dom of positionals) {
    const { domid } = await findDomain(h, dom);
    const r = await h.call<{ domains: { domid: number; nics: NicRow[] }[] }>('network-list', { domain: domid });
    for (const n of r.domains[0]?.nics ?? []) out(`${networkRow(n)}\n`);
  }
  return 0;
};

const networkAttach: HostCommand = async (host, argv) => {
  const { positionals } = args('network-attach', argv);
  if (positionals.length < 1) throw new Usage('network-attach: missing argument', 'network-attach');
  const { parseVifSpec, VifSpecError } = await import('@tachyxx/xlcfg');
  let nic: Record<string, unknown>;
  try {
    const r = parseVifSpec(positionals.slice(1).join(','), -1);
    for (const w of r.warnings) err(`${w}\n`);
    nic = r.nic as unknown as Record<string, unknown>;
  } catch (e) {
    if (e instanceof VifSpecError) throw new XlFail(`${e.reason}${e.allowed ? ` (allowed: ${e.allowed.join(' ')})` : ''}`);
    throw e;
  }
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  try {
    await h.call('network-attach', { domain: domid, nic });
  } catch (e) {
    libxlError(e, 'libxl_device_nic_add failed.');
  }
  return 0;
};

const networkDetach: HostCommand = async (host, argv) => {
  const { positionals } = args('network-detach', argv);
  need('network-detach', positionals, 2);
  const [dom, which] = positionals as [string, string];
  const h = await host();
  const { domid } = await findDomain(h, dom);
  const byMac = /^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(which);
  if (!byMac && !/^\d+$/.test(which)) throw new XlFail(`Unknown device ${which}.`);
  try {
    await h.call('network-detach', byMac ? { domain: domid, mac: which } : { domain: domid, devid: Number(which) });
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'ENOENT') throw new XlFail(`Unknown device ${which}.`);
    libxlError(e, 'libxl_device_nic_del failed.');
  }
  return 0;
};

/** `key                    : value` (xl_info.c: the key padded to 23 columns). */
export function infoLine(k: string, v: string): string {
  return `${L(k, 23)}: ${v}`;
}

const info: HostCommand = async (host, argv) => {
  const { values, positionals } = args('info', argv, { numa: { type: 'boolean', short: 'n' } });
  const h = await host();
  const r = await h.call<{ info: [string, string][] }>('info');
  const filter = !values.numa && positionals.length ? positionals[0]! : null;
  const lines: string[] = [];
  for (const [k, v] of r.info) {
    if (filter !== null) {
      if (k.startsWith(filter)) lines.push(v);
      continue;
    }
    lines.push(infoLine(k, v));
    if (values.numa && k === 'free_cpus') {
      const pools = await h.call<{ pools: { cpuList: string }[] }>('cpupool-list');
      const n = Number(r.info.find(([x]) => x === 'nr_cpus')?.[1] ?? 1);
      lines.push('cpu_topology           :', 'cpu:    core    socket     node');
      for (let c = 0; c < n; c++) lines.push(`${R(c, 3)}:    ${R(c, 4)}     ${R(0, 4)}     ${R(0, 4)}`);
      void pools;
      lines.push('device topology        :', 'device           node', 'No device topology data available');
    }
  }
  if (lines.length) out(lines.join('\n') + '\n');
  return 0;
};

const dmesg: HostCommand = async (host, argv) => {
  const { values, positionals } = args('dmesg', argv, { clear: { type: 'boolean', short: 'c' } });
  need('dmesg', positionals, 0);
  const h = await host();
  const r = await h.call<{ lines: string[] }>('dmesg', { clear: values.clear === true });
  if (r.lines.length) out(r.lines.join('\n') + '\n');
  return 0;
};

/** Tachyxx's `xl pci-dump`: every PCI function's config space as `lspci -xxxx` prints it. */
const pciDump: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-dump', argv, {});
  need('pci-dump', positionals, 0);
  const h = await host();
  const r = await h.call<{ text: string }>('pci-dump', {});
  out(r.text);
  return 0;
};

/**
 * Tachyxx's `xl stats [PATH]`: the host's stats tree (the same as `tachyxx run --stats` writes
 * under `tree`) as JSON, or the subtree / value at a dotted PATH such as `host.evtchn.total`.
 */
const stats: HostCommand = async (host, argv) => {
  const { positionals } = args('stats', argv, {});
  if (positionals.length > 1) throw new XlFail(`stats: at most one PATH, got ${positionals.length}`, 2);
  const h = await host();
  const r = await h.call<{ tree: Record<string, unknown>; simNs: number; instructions: number }>('stats', {});
  let node: unknown = { simNs: r.simNs, instructions: r.instructions, ...r.tree };
  const path = positionals[0];
  if (path) {
    for (const part of path.split('.')) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) {
        const here = node !== null && typeof node === 'object' ? Object.keys(node).join(', ') : 'a value';
        throw new XlFail(`stats: no '${part}' in ${path} (there: ${here})`);
      }
      node = (node as Record<string, unknown>)[part];
    }
  }
  out(JSON.stringify(node, null, 2) + '\n');
  return 0;
};

/** xl_info.c uptime_to_string. */
export function uptimeString(sec: number, short: boolean): string {
  let up = Math.floor(sec);
  const day = Math.floor(up / 86400);
  up -= day * 86400;
  const hour = Math.floor(up / 3600);
  up -= hour * 3600;
  const min = Math.floor(up / 60);
  const s = up - min * 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  const days = day > 1 ? `${day} days, ` : day === 1 ? `${day} day, ` : '';
  return short ? `${days}${R(hour, 2)}:${p2(min)}` : `${days}${R(hour, 2)}:${p2(min)}:${p2(s)}`;
}

const uptime: HostCommand = async (host, argv) => {
  const { values, positionals } = args('uptime', argv, { short: { type: 'boolean', short: 's' } });
  const h = await host();
  for (const p of positionals) await findDomain(h, p);
  const r = await h.call<{ domains: { name: string; domid: number; uptimeSec: number }[] }>('uptime', positionals.length ? { domains: positionals } : {});
  const now = new Date().toTimeString().slice(0, 8);
  const lines = values.short ? [] : [`${L('Name', 33)} ${R('ID', 4)} Uptime`];
  for (const d of r.domains) {
    lines.push(values.short ? ` ${now} up ${uptimeString(d.uptimeSec, true)}, ${d.name} (${d.domid})` : `${L(d.name, 33)} ${R(d.domid, 4)} ${uptimeString(d.uptimeSec, false)}`);
  }
  out(lines.join('\n') + '\n');
  return 0;
};

interface PoolInfo { name: string; cpus: number; cpuList: string; sched: string; active: boolean; domains: number }

const CREDIT_PARAMS = 'tslice=30ms ratelimit=1000us migration-delay=0us';

const schedCredit: HostCommand = async (host, argv) => {
  const { values, positionals } = args('sched-credit', argv, {
    domain: { type: 'string', short: 'd' }, weight: { type: 'string', short: 'w' }, cap: { type: 'string', short: 'c' },
    schedparam: { type: 'boolean', short: 's' }, tslice_ms: { type: 'string', short: 't' }, ratelimit_us: { type: 'string', short: 'r' },
    migration_delay_us: { type: 'string', short: 'm' }, cpupool: { type: 'string', short: 'p' },
  });
  need('sched-credit', positionals, 0);
  const optW = values.weight !== undefined;
  const optC = values.cap !== undefined;
  const optParam = values.tslice_ms !== undefined || values.ratelimit_us !== undefined || values.migration_delay_us !== undefined;
  if ((values.cpupool !== undefined || values.schedparam) && (values.domain !== undefined || optW || optC)) throw new XlFail('Specifying a cpupool or schedparam is not allowed with domain options.');
  if (values.domain === undefined && (optW || optC)) throw new XlFail('Must specify a domain.');
  if (!values.schedparam && optParam) throw new XlFail('Must specify schedparam to set schedule parameter values.');
  const h = await host();
  const pools = (await h.call<{ pools: PoolInfo[] }>('cpupool-list')).pools;
  if (values.cpupool !== undefined && !pools.some((p) => p.name === values.cpupool)) throw new XlFail(`unknown cpupool '${values.cpupool}'`);
  const header = `${L('Name', 33)} ${R('ID', 4)} ${R('Weight', 6)} ${R('Cap', 4)}`;
  const row = (d: { name: string; domid: number; weight: number; cap: number }) => `${L(d.name, 33)} ${R(d.domid, 4)} ${R(d.weight, 6)} ${R(d.cap, 4)}`;
  if (values.schedparam) {
    if (optParam) throw new XlFail('libxl: error: the credit scheduler of Tachyxx has fixed tslice, ratelimit and migration-delay\nlibxl_sched_credit_params_set failed.');
    out(`Cpupool ${values.cpupool ?? pools[0]?.name ?? 'Pool-0'}: ${CREDIT_PARAMS}\n`);
    return 0;
  }
  if (values.domain === undefined) {
    const rows = (await h.call<{ domains: { name: string; domid: number; weight: number; cap: number }[] }>('sched-credit')).domains;
    const where = new Map((await h.call<{ domains: ListEntry[] }>('list')).domains.map((d) => [d.domid, d.pool]));
    const lines: string[] = [];
    for (const p of pools) {
      if (p.sched !== 'credit' || (values.cpupool !== undefined && p.name !== values.cpupool)) continue;
      lines.push(`Cpupool ${p.name}: ${CREDIT_PARAMS}`, header);
      for (const r of rows) if (where.get(r.domid) === p.name) lines.push(row(r));
    }
    if (lines.length) out(lines.join('\n') + '\n');
    return 0;
  }
  const { domid } = await findDomain(h, values.domain);
  const num = (v: string) => {
    const m = /^\s*[+-]?\d+/.exec(v);
    const n = m ? parseInt(m[0], 10) : 0; // strtol
    return Math.max(-0x80000000, Math.min(0x7fffffff, n)); // an int, as libxl's
  };
  // libxl_sched.c's checks and wording (sched_credit_domain_set).
  if (optW) {
    const w = num(values.weight!);
    if (w < 1 || w > 65535) throw new XlFail('libxl: error: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.');
  }
  if (optC && num(values.cap!) < 0) throw new XlFail('libxl: error: Cpu cap out of range, it must not be negative\nlibxl_domain_sched_params_set failed.');
  try {
    if (!optW && !optC) {
      const r = await h.call<{ domains: { name: string; domid: number; weight: number; cap: number }[] }>('sched-credit', { domain: domid });
      out(`${header}\n${row(r.domains[0]!)}\n`);
    } else {
      await h.call('sched-credit', { domain: domid, ...(optW ? { weight: num(values.weight!) } : {}), ...(optC ? { cap: num(values.cap!) } : {}) });
    }
  } catch (e) {
    libxlError(e, 'libxl_domain_sched_params_set failed.');
  }
  return 0;
};

/** The host's "0-3,6" back to ids; only ids below `n` (the host's pCPUs) are expanded, whatever the text says. */
function expandCpuList(s: string, n: number): number[] {
  if (s === 'all') return Array.from({ length: n }, (_, i) => i);
  if (s === 'none' || s === '') return [];
  const outl: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    if (!Number.isInteger(a) || a < 0) continue;
    for (let c = a; c <= Math.min(b ?? a, n - 1); c++) outl.push(c);
  }
  return outl;
}

async function nrCpus(h: Host): Promise<number> {
  const r = await h.call<{ info: [string, string][] }>('info');
  return Number(r.info.find(([k]) => k === 'nr_cpus')?.[1] ?? 1);
}

const cpupoolList: HostCommand = async (host, argv) => {
  const { values, positionals } = args('cpupool-list', argv, { cpus: { type: 'boolean', short: 'c' } });
  need('cpupool-list', positionals, 0, 1);
  const h = await host();
  const pools = (await h.call<{ pools: PoolInfo[] }>('cpupool-list')).pools;
  const pool = positionals[0];
  if (pool !== undefined && !pools.some((p) => p.name === pool)) throw new XlFail(`Pool '${pool}' does not exist`);
  const n = await nrCpus(h);
  const lines = [`${L('Name', 19)}${values.cpus ? 'CPU list' : 'CPUs   Sched     Active   Domain count'}`];
  for (const p of pools) {
    if (pool !== undefined && p.name !== pool) continue;
    lines.push(`${L(p.name, 19)}${values.cpus ? expandCpuList(p.cpuList, n).join(',') : `${R(p.cpus, 3)} ${R(p.sched, 9)}       y       ${R(p.domains, 4)}`}`);
  }
  out(lines.join('\n') + '\n');
  return 0;
};

const cpupoolNumaSplit: HostCommand = async (host, argv) => {
  const { positionals } = args('cpupool-numa-split', argv);
  need('cpupool-numa-split', positionals, 0);
  const h = await host();
  try {
    await h.call('cpupool-numa-split');
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'EBUSY') throw new XlFail('splitting not possible, already cpupools in use');
    libxlError(e);
  }
  return 0;
};

const cpupoolCreate: HostCommand = async (host, argv) => {
  const { values, positionals } = args('cpupool-create', argv, { defconfig: { type: 'string', short: 'f' }, dryrun: { type: 'boolean', short: 'n' } });
  const vars = positionals.filter((p) => p.includes('='));
  const files = positionals.filter((p) => !p.includes('='));
  if (files.length + (values.defconfig ? 1 : 0) > 1) throw new Usage('cpupool-create: more than one config file given', 'cpupool-create');
  const file = values.defconfig ?? files[0];
  const { XlConfig, applyOverrides } = await import('@tachyxx/xlcfg');
  const cfg = new XlConfig();
  if (file !== undefined) {
    const { readConfigText } = await import('@tachyxx/xlcfg');
    let text: string;
    try {
      text = readConfigText(file);
    } catch (e) {
      throw new XlFail(`Failed to read config file: ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
    }
    cfg.load(text, file);
  }
  applyOverrides(cfg, vars);
  const str = (k: string): string | undefined => {
    const v = cfg.get(k)?.value;
    if (!v) return undefined;
    if (v.kind === 'atom') return v.value;
    // cpus = ["0", "2-3"]: xlcpupool.cfg(5) accepts a list of CPU ranges.
    return v.items.map((i) => (i.kind === 'atom' ? i.value : '')).join(',');
  };
  const name = str('name');
  if (!name) throw new XlFail('Missing cpupool name!');
  const sched = str('sched') ?? 'credit';
  const cpusText = str('cpus');
  const h = await host();
  const pools = (await h.call<{ pools: PoolInfo[] }>('cpupool-list')).pools;
  if (pools.some((p) => p.name === name)) throw new XlFail(`Pool name "${name}" already exists`);
  const n = await nrCpus(h);
  const used = new Set(pools.flatMap((p) => expandCpuList(p.cpuList, n)));
  let cpus: number[] | string;
  if (cpusText !== undefined) cpus = cpusText;
  else {
    const free = Array.from({ length: n }, (_, i) => i).filter((c) => !used.has(c));
    if (!free.length) throw new XlFail('no free cpu found');
    cpus = [free[0]!];
  }
  const count = typeof cpus === 'string' ? null : cpus.length;
  out(`Using config file "${file ?? 'command line'}"\ncpupool name:   ${name}\nscheduler:      ${sched}\n`);
  if (values.dryrun) {
    out(`number of cpus: ${count ?? cpusText}\n`);
    return 0;
  }
  try {
    const r = await h.call<{ cpus: number[] }>('cpupool-create', { name, sched, cpus });
    out(`number of cpus: ${r.cpus.length}\n`);
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'EBUSY') throw new XlFail(`libxl: error: ${e.message}\ncpu illegal or not free`);
    libxlError(e, 'error on creating cpupool');
  }
  return 0;
};

interface TopRow { name: string; domid: number; state: string; cpuSec: number; cpuPct: number; memKiB: number; memPct: number; maxMemKiB: number; maxMemPct: number; vcpus: number; nets: number; netTxKiB: number; netRxKiB: number; vbds: number; ssid: number }
interface TopResult { simNs: number; wallMs: number; domains: TopRow[]; summary: { total: number; running: number; blocked: number; paused: number; crashed: number; memTotalKiB: number; memFreeKiB: number; cpus: number; cpuMHz: number } }

/** xentop's screen: two summary lines, a header, one row per domain (xentop.c's columns). */
export function topScreen(t: TopResult, version: string): string {
  const s = t.summary;
  const time = new Date(t.wallMs).toTimeString().slice(0, 8);
  const dying = t.domains.filter((d) => d.state[5] === 'd').length;
  const shut = t.domains.filter((d) => d.state[3] === 's').length;
  const lines = [
    `xentop - ${time}   Xen ${version}   (simulated time ${(t.simNs / 1e9).toFixed(3)} s)`,
    `${s.total} domains: ${s.running} running, ${s.blocked} blocked, ${s.paused} paused, ${s.crashed} crashed, ${dying} dying, ${shut} shutdown `,
    `Mem: ${s.memTotalKiB}k total, ${s.memTotalKiB - s.memFreeKiB}k used, ${s.memFreeKiB}k free    CPUs: ${s.cpus} @ ${Math.round(s.cpuMHz)}MHz`,
    `${R('NAME', 10)}  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS SSID`,
  ];
  for (const d of t.domains) {
    // xentop's state order: dying, shutdown, blocked, crashed, paused, running.
    const st = d.state;
    const xs = `${st[5] === 'd' ? 'd' : '-'}${st[3] === 's' ? 's' : '-'}${st[1] === 'b' ? 'b' : '-'}${st[4] === 'c' ? 'c' : '-'}${st[2] === 'p' ? 'p' : '-'}${st[0] === 'r' ? 'r' : '-'}`;
    lines.push(`${R(d.name.slice(0, 10), 10)} ${xs} ${R(Math.floor(d.cpuSec), 10)} ${R(d.cpuPct.toFixed(1), 6)} ${R(d.memKiB, 10)} ${R(d.memPct.toFixed(1), 6)} ${R(d.maxMemKiB, 10)} ${R(d.maxMemPct.toFixed(1), 9)} ${R(d.vcpus, 5)} ${R(d.nets, 4)} ${R(d.netTxKiB, 8)} ${R(d.netRxKiB, 8)} ${R(d.vbds, 4)} ${R(d.ssid, 4)}`);
  }
  return lines.join('\n') + '\n';
}

const top: HostCommand = async (host, argv) => {
  const { values, positionals } = args('top', argv, {
    batch: { type: 'boolean', short: 'b' }, iterations: { type: 'string', short: 'i' }, delay: { type: 'string', short: 'd' },
  });
  need('top', positionals, 0);
  const iterations = values.iterations !== undefined ? Number(values.iterations) : Infinity;
  const delay = values.delay !== undefined ? Number(values.delay) : 1;
  // setTimeout takes at most 2^31-1 ms: a longer delay would fire at once.
  if (!(iterations > 0) || !(delay > 0) || delay > 86400 || (iterations !== Infinity && !Number.isSafeInteger(iterations))) throw new Usage('top: -i needs a positive count and -d a positive number of seconds (at most 86400)', 'top');
  const h = await host();
  const version = (await h.call<{ xen_version: string }>('hello')).xen_version;
  const tty = process.stdout.isTTY === true && !values.batch;
  let quit = false;
  let wake: (() => void) | null = null;
  if (tty && process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.resume();
    process.stdin.on('data', (b: Buffer) => {
      if (b.includes(0x71) || b.includes(0x51) || b.includes(0x03) || b.includes(0x1b)) {
        quit = true;
        wake?.();
      }
    });
  }
  try {
    for (let i = 0; i < iterations && !quit; i++) {
      const t = await h.call<TopResult>('top');
      const screen = topScreen(t, version);
      out(tty ? `\x1b[H\x1b[2J${screen}${'\nq: quit'}` : screen + (values.batch ? '' : '\n'));
      if (i + 1 < iterations) await new Promise<void>((res) => ((wake = res), setTimeout(res, delay * 1000)));
    }
  } finally {
    if (tty && process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.pause();
      out('\n');
    }
  }
  return 0;
};

// ---- block devices (xl_vdisk.c) ----------------------------------------------------------------

/** `xl block-list`'s header: printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", ...) (xl_vdisk.c main_blocklist). */
export const BLOCK_LIST_HEADER = `${L('Vdev', 5)} ${L('BE', 3)} ${L('handle', 6)} ${L('state', 5)} ${L('evt-ch', 6)} ${L('ring-ref', 8)} ${L('BE-path', 30)}`;

/** One row: printf("%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n", devid, backend_id, frontend_id, state, evtch, rref, backend). */
export function blockRow(d: BlockEntry): string {
  return `${L(d.devid, 5)} ${L(d.backendId, 3)} ${L(d.frontendId, 6)} ${L(d.state, 5)} ${L(d.evtch, 6)} ${L(d.rref, 8)} ${L(d.backend, 30)}`;
}

/** xl block-attach <Domain> <disk-spec-component(s)>...: libxl_device_disk_add of one disk. */
const blockAttach: HostCommand = async (host, argv) => {
  const { positionals } = args('block-attach', argv);
  need('block-attach', positionals, 2, Infinity);
  const [dom, ...spec] = positionals as [string, ...string[]];
  const { parseDiskSpec } = await import('@tachyxx/xlcfg');
  let disk: Record<string, unknown>;
  try {
    disk = parseDiskSpec(spec) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new XlFail(`${(e as Error).message}\nlibxl_device_disk_add failed.`);
  }
  // The host resolves nothing: a relative target is this xl's working directory's, as xl.cfg's.
  if (typeof disk.pdev_path === 'string' && disk.pdev_path !== '' && !disk.pdev_path.startsWith('/')) disk.pdev_path = resolvePath(disk.pdev_path);
  const h = await host();
  const { domid } = await findDomain(h, dom);
  try {
    await h.call('block-attach', { domain: domid, disk });
  } catch (e) {
    libxlError(e, 'libxl_device_disk_add failed.');
  }
  return 0;
};

/** xl block-list <Domain(s)>: a header, then one row per disk; a bad domain is named on stderr and skipped. */
const blockList: HostCommand = async (host, argv) => {
  const { positionals } = args('block-list', argv);
  need('block-list', positionals, 1, Infinity);
  const h = await host();
  out(BLOCK_LIST_HEADER + '\n');
  for (const dom of positionals) {
    let disks: BlockEntry[];
    try {
      disks = (await h.call<{ disks: BlockEntry[] }>('block-list', { domain: dom })).disks;
    } catch (e) {
      if (e instanceof HostOpError && e.code === 'ESRCH') { err(`${dom} is an invalid domain identifier\n`); continue; }
      throw e;
    }
    if (disks.length) out(disks.map(blockRow).join('\n') + '\n');
  }
  return 0;
};

/** xl block-detach <Domain> <DevId>: DevId a vdev (xvda) or a device number (51712). */
const blockDetach: HostCommand = async (host, argv) => {
  const { positionals } = args('block-detach', argv);
  need('block-detach', positionals, 2);
  const [dom, vdev] = positionals as [string, string];
  const h = await host();
  const { domid } = await findDomain(h, dom);
  try {
    await h.call('block-detach', { domain: domid, vdev });
  } catch (e) {
    if (e instanceof HostOpError && e.code === 'ENOENT' && e.message.startsWith('Error: Device ')) throw new XlFail(e.message);
    libxlError(e, 'libxl_device_disk_remove failed.');
  }
  return 0;
};

// ---- PCI passthrough (xl_pci.c) -------------------------------------------------------------------

/** xl pci-list's rows: printf("%02x.%01x %04x:%02x:%02x.%01x\n", vdevfn slot, func, domain, bus, dev, func) after "Vdev Device". */
export function pciListRows(devs: readonly PciEntry[]): string {
  return ['Vdev Device', ...devs.map((d) => `${((d.vdevfn >> 3) & 0x1f).toString(16).padStart(2, '0')}.${(d.vdevfn & 7).toString(16)} ${d.bdf}`)].join('\n') + '\n';
}

/** xl pci-assignable-add|-remove <BDF>: a BDF the host has; malformed ones exit 2 as xl's xlu_pci_parse_bdf check. */
function pciAssignable(cmd: 'pci-assignable-add' | 'pci-assignable-remove'): HostCommand {
  return async (host, argv) => {
    const { positionals } = args(cmd, argv, cmd === 'pci-assignable-remove' ? { rebind: { type: 'boolean', short: 'r' } } : {});
    need(cmd, positionals, 1);
    const bdf = positionals[0]!;
    if (!/^(?:[0-9a-fA-F]{1,4}:)?[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}\.[0-7]$/.test(bdf)) throw new XlFail(`${cmd}: malformed BDF specification "${bdf}"`, 2);
    const h = await host();
    try {
      await h.call(cmd, { bdf });
    } catch (e) {
      libxlError(e);
    }
    return 0;
  };
}

/** xl pci-assignable-list: one BDF per line (printf("%04x:%02x:%02x.%01x\n")). */
const pciAssignableList: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-assignable-list', argv);
  need('pci-assignable-list', positionals, 0);
  const h = await host();
  const r = await h.call<{ devices: string[] }>('pci-assignable-list', {});
  if (r.devices.length) out(r.devices.join('\n') + '\n');
  return 0;
};

/**
 * xl pci-sriov-numvfs <BDF> [N] (Tachyxx): the PF's sriov_numvfs: prints "numvfs/totalvfs"; with
 * N, `echo N > /sys/bus/pci/devices/BDF/sriov_numvfs` first (0 disables; changing a nonzero
 * count needs 0 first; a VF assigned to a domain keeps them: EBUSY, as Linux).
 */
const pciSriovNumvfs: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-sriov-numvfs', argv);
  if (positionals.length < 1 || positionals.length > 2) throw new XlFail('pci-sriov-numvfs: <BDF> [N]', 2);
  const [bdf, n] = positionals as [string, string | undefined];
  if (n !== undefined && !/^\d{1,5}$/.test(n)) throw new XlFail(`pci-sriov-numvfs: N must be a number, not "${n}"`, 2);
  const h = await host();
  try {
    const r = await h.call<{ bdf: string; numvfs: number; totalvfs: number }>('pci-sriov-numvfs', n === undefined ? { bdf } : { bdf, numvfs: Number(n) });
    out(`${r.bdf}: ${r.numvfs}/${r.totalvfs} VFs\n`);
  } catch (e) {
    libxlError(e);
  }
  return 0;
};

interface SriovReport { bdf: string; link: boolean; totalVfs: number; numVfs: number; switchMode: string; vfs: { vf: number; bdf: string; mac: string; vlan: number; rateMbps: number; link: boolean; txPkts: number; rxPkts: number; drops: number }[] }

/** xl pci-sriov-list [BDF] (Tachyxx): each PF and its VFs as `ip link show` prints them. */
const pciSriovList: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-sriov-list', argv);
  if (positionals.length > 1) throw new XlFail('pci-sriov-list: [BDF]', 2);
  const h = await host();
  try {
    const r = await h.call<{ pfs: SriovReport[] }>('pci-sriov-list', positionals[0] !== undefined ? { bdf: positionals[0] } : {});
    for (const p of r.pfs) {
      out(`${p.bdf}: link ${p.link ? 'up' : 'down'}, switch ${p.switchMode}, ${p.numVfs}/${p.totalVfs} VFs\n`);
      for (const v of p.vfs) out(`    vf ${v.vf} ${v.bdf} link/ether ${v.mac}, vlan ${v.vlan}, max_tx_rate ${v.rateMbps}Mbps, link-state ${v.link ? 'enable' : 'disable'}, tx ${v.txPkts} rx ${v.rxPkts} drops ${v.drops}\n`);
    }
  } catch (e) {
    libxlError(e);
  }
  return 0;
};

/** xl pci-sriov-vf <BDF> <VF> mac M|vlan V|max_tx_rate R|state enable|disable (Tachyxx; `ip link set PF vf N ...`). */
const pciSriovVf: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-sriov-vf', argv);
  if (positionals.length !== 4) throw new XlFail('pci-sriov-vf: <BDF> <VF> mac|vlan|max_tx_rate|state <value>', 2);
  const [bdf, vf, key, value] = positionals as [string, string, string, string];
  if (!/^\d{1,3}$/.test(vf)) throw new XlFail(`pci-sriov-vf: VF must be a number (1-based), not "${vf}"`, 2);
  const h = await host();
  try {
    await h.call('pci-sriov-vf', { bdf, vf: Number(vf), key, value });
  } catch (e) {
    libxlError(e);
  }
  return 0;
};

/** xl pci-attach <Domain> <PCI_SPEC_STRING>: libxl_device_pci_add (options per xl-pci-configuration(5)). */
const pciAttach: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-attach', argv);
  need('pci-attach', positionals, 2);
  const [dom, spec] = positionals as [string, string];
  const { parsePciSpec } = await import('@tachyxx/xlcfg');
  let pci: Record<string, unknown>;
  try {
    pci = parsePciSpec(spec) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new XlFail(`pci-attach: malformed BDF specification "${spec}": ${(e as Error).message}`, 2);
  }
  const h = await host();
  const { domid } = await findDomain(h, dom);
  try {
    await h.call('pci-attach', { domain: domid, pci });
  } catch (e) {
    libxlError(e);
  }
  return 0;
};

/** xl pci-detach [-f] <Domain> <BDF>: libxl_device_pci_remove (-f: _destroy). */
const pciDetach: HostCommand = async (host, argv) => {
  const { values, positionals } = args('pci-detach', argv, { force: { type: 'boolean', short: 'f' } });
  need('pci-detach', positionals, 2);
  const [dom, bdf] = positionals as [string, string];
  if (!/^(?:[0-9a-fA-F]{1,4}:)?[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}\.[0-7]$/.test(bdf)) throw new XlFail(`pci-detach: malformed BDF specification "${bdf}"`, 2);
  const h = await host();
  const { domid } = await findDomain(h, dom);
  try {
    await h.call('pci-detach', { domain: domid, bdf, force: values.force === true });
  } catch (e) {
    libxlError(e);
  }
  return 0;
};

/** xl pci-list <Domain>. */
const pciListCmd: HostCommand = async (host, argv) => {
  const { positionals } = args('pci-list', argv);
  need('pci-list', positionals, 1);
  const h = await host();
  const { domid } = await findDomain(h, positionals[0]!);
  const r = await h.call<{ devices: PciEntry[] }>('pci-list', { domain: domid });
  out(pciListRows(r.devices));
  return 0;
};

export const HOST_COMMANDS: Record<string, HostCommand> = {
  list, destroy, shutdown: shutdownOrReboot('shutdown'), reboot: shutdownOrReboot('reboot'),
  pause: simpleDomainOp('pause'), unpause: simpleDomainOp('unpause'), rename, domid, domname, console: consoleCmd,
  'vcpu-list': vcpuList, 'vcpu-pin': vcpuPin, 'vcpu-set': vcpuSet, 'mem-set': memCmd('mem-set'), 'mem-max': memCmd('mem-max'),
  info, dmesg, uptime, stats, 'sched-credit': schedCredit, 'cpupool-list': cpupoolList, 'cpupool-create': cpupoolCreate,
  'cpupool-numa-split': cpupoolNumaSplit, top, debug, 'pci-dump': pciDump,
  'block-attach': blockAttach, 'block-list': blockList, 'block-detach': blockDetach,
  'network-list': networkList, 'network-attach': networkAttach, 'network-detach': networkDetach,
  'pci-assignable-add': pciAssignable('pci-assignable-add'), 'pci-assignable-remove': pciAssignable('pci-assignable-remove'),
  'pci-assignable-list': pciAssignableList, 'pci-attach': pciAttach, 'pci-detach': pciDetach, 'pci-list': pciListCmd,
  'pci-sriov-numvfs': pciSriovNumvfs, 'pci-sriov-list': pciSriovList, 'pci-sriov-vf': pciSriovVf,
};

// ---- create ---------------------------------------------------------------------------------

export interface CreateSend {
  config: unknown;
  name: string;
  paused: boolean;
  console: boolean;
  foreground: boolean;
  quiet: boolean;
}

/** Sends a built domain config to the host (xl create without -n). */
export async function createOnHost(h: Host, c: CreateSend): Promise<number> {
  // -F: watch the domain's events from before it exists (xl's monitoring child, in the foreground).
  let events: { id: number; result: Promise<unknown> } | null = null;
  const evq: Record<string, unknown>[] = [];
  let evWake: (() => void) | null = null;
  if (c.foreground && !c.console) {
    events = h.stream('events', {}, (ev) => {
      evq.push(ev);
      evWake?.();
    });
    await events.result;
  }
  let r: { domid: number; name: string; uuid: string; warnings: string[] };
  try {
    // With -c the domain starts paused until its console is attached: no output is lost, even
    // from a guest that is gone a millisecond later.
    r = await h.call('create', { config: c.config, paused: c.paused || c.console });
  } catch (e) {
    if (e instanceof HostOpError) throw new XlFail(`libxl: error: ${e.message}\nlibxl: error: Domain '${c.name}': cannot (re-)build domain: -3`, 3);
    throw e;
  }
  for (const w of r.warnings ?? []) err(`libxl: warning: ${w}\n`);
  if (c.console) {
    const attached = attachConsole(h, r.domid, { follow: true });
    if (!c.paused) {
      await new Promise((res) => setImmediate(res));
      await h.call('unpause', { domain: r.domid }).catch(() => {});
    }
    await attached;
    return 0;
  }
  if (!events) return 0;
  // -F: xl's monitoring loop, in the foreground, until the domain is gone.
  let domid = r.domid;
  err(`Waiting for domain ${r.name} (domid ${domid}) to die [pid ${process.pid}]\n`);
  for (;;) {
    while (!evq.length) await new Promise<void>((res) => (evWake = res));
    const ev = evq.shift()!;
    if (ev.event === 'end') return 0;
    if (ev.domid !== domid && !(ev.kind === 'restarted' && ev.oldDomid === domid)) continue;
    if (ev.kind === 'shutdown') {
      const code = REASON_CODE[String(ev.reason)] ?? 255;
      err(`Domain ${domid} has shut down, reason code ${code} 0x${code.toString(16)}\n`);
      err(`Action for shutdown reason code ${code} is ${String(ev.action)}\n`);
      if (ev.action === 'preserve') {
        err('Done. Exiting now\n');
        return 0;
      }
    } else if (ev.kind === 'restarted') {
      err('Done. Rebooting now\n');
      domid = ev.domid as number;
      err(`Waiting for domain ${String(ev.name)} (domid ${domid}) to die [pid ${process.pid}]\n`);
    } else if (ev.kind === 'destroyed' && ev.why !== 'restart') {
      if (ev.why === 'shutdown') {
        err(`Domain ${domid} needs to be cleaned up: destroying the domain\nDone. Exiting now\n`);
      } else err(`Domain ${domid} has been destroyed.\n`);
      return 0;
    }
  }
}
