// `tachyxx host`: the host daemon — dom0 + xenstored + consoles, serving the control socket xl talks to.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, hostConfigFromObject } from '@tachyxx/core';
import { XsSocketServer } from '@tachyxx/xenstore';
import {
  CONSOLE_RATE_DEFAULT, CONTROL_DEFAULTS, ControlServer, HostRunner, LOG_KEEP_DEFAULT, LOG_MAX_BYTES_DEFAULT, Toolstack, ToolstackError, defaultSocketPath, probeSocket,
} from '@tachyxx/toolstack';
import { DEFAULT_HOST } from '@tachyxx/toolstack/units';
import { hostConfig } from '../host-config.js';
import { traceExporter } from '../trace.js';
import { intOption, parse, UsageError } from '../usage.js';

export const HOST_HELP = `Usage: tachyxx host [--config host.yaml] [--socket PATH] [--detach] [--unpaced] [--log-dir DIR]
                    [--log-size SIZE] [--log-keep N] [--console-rate BYTES] [--max-connections N]
                    [--trace-events FILE] [--pcap DIR [--pcap-only NAMES]]

Boots a Tachyxx host — dom0 (the TypeScript toolstack), xenstored and the console daemon — and
serves the control socket that xl talks to (JSON lines; packages/toolstack/README.md).

Options:
  --config FILE   host config (YAML: pcpus, memoryMiB, numa, components, costs,
                  dom0: { memoryMiB, vcpus }); default ${DEFAULT_HOST.pcpus} pCPUs, ${DEFAULT_HOST.memoryMiB} MiB, dom0 256 MiB / 1 vCPU
  --socket PATH   control socket (default: $TACHYXX_HOST, else $XDG_RUNTIME_DIR/tachyxx/host.sock,
                  /run/tachyxx/host.sock as root); created mode 0600, its directory 0700
  --log-dir DIR   console logs guest-<name>.log and the host log hypervisor.log
                  (default: <socket dir>/log)
  --log-size SIZE each log file rotates past SIZE bytes (k/m/g suffixes; default 16m; 0 = never)
  --log-keep N    rotated copies kept per log, NAME.1 .. NAME.N (default 2; 0 = start over)
  --console-rate BYTES
                  console bytes a domain may write per 200 ms (default 61440, xenconsoled's
                  30 ring events x 2 KiB); the rest is dropped and counted in the host log
                  (0 = unlimited)
  --max-connections N
                  control-socket clients at once (default 256; xenstored's socket: 512); at the
                  limit a silent or idle client is closed for a new one, else the new one gets EBUSY
  --pcap DIR      capture every frame crossing the software bridges: DIR/vifD.N.pcap per vif
                  port and DIR/BRIDGE.pcap per bridge (libpcap, ns timestamps in simulated
                  time; tshark/tcpdump -r read them); the same as the pv-net pcapDir param
  --pcap-only NAMES
                  capture only these vif ports and bridges (comma-separated: vif1.0,xenbr0)
  --detach        run in the background: print "PID SOCKET" and "XENSTORED_PATH=PATH", then exit
  --unpaced       never pace simulated time to the wall clock (batch runs, tests)
  --trace-events FILE
                  write a Chrome trace-event JSON of the host's run when it stops
                  (ui.perfetto.dev, chrome://tracing); see tachyxx run --help
  -h, --help      show this help

xenstored listens on xenstored.sock (NAME.xenstored.sock for a socket NAME.sock other than
host.sock) next to the control socket (XENSTORED_PATH=... for
xenstore-utils). The socket directory must be yours and not group/world-writable (as for tmux);
xl refuses to talk through one that is not. SIGINT, SIGTERM or SIGHUP stops the host: logs are
flushed and its sockets removed. Limits: docs/limits.md.
Exit status: 0 stopped by a signal; 1 the socket is taken / cannot listen / host failure; 2 bad usage or config.
`;

const HINT = 'tachyxx host --help';

/** A byte count with an optional k/m/g suffix (powers of 1024). */
function sizeOption(name: string, value: string | undefined, dflt: number): number {
  if (value === undefined) return dflt;
  const m = /^(\d{1,15})([kmg]?)$/i.exec(value.trim());
  if (!m) throw new UsageError(`--${name}: '${value}' is not a size (a number of bytes, with an optional k, m or g suffix)`, HINT);
  const n = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name}: '${value}' is too large`, HINT);
  return n;
}

export async function hostCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    config: { type: 'string' },
    socket: { type: 'string' },
    'log-dir': { type: 'string' },
    detach: { type: 'boolean' },
    unpaced: { type: 'boolean' },
    'trace-events': { type: 'string' },
    'log-size': { type: 'string' },
    'log-keep': { type: 'string' },
    'console-rate': { type: 'string' },
    'max-connections': { type: 'string' },
    pcap: { type: 'string' },
    'pcap-only': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, HINT);
  if (values.help) {
    process.stdout.write(HOST_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, HINT);
  if (values['pcap-only'] !== undefined && values.pcap === undefined) throw new UsageError('--pcap-only needs --pcap DIR', HINT);
  const logMaxBytes = sizeOption('log-size', values['log-size'], LOG_MAX_BYTES_DEFAULT);
  const logKeep = intOption('log-keep', values['log-keep'], LOG_KEEP_DEFAULT, HINT, 0, 100);
  const consoleRate = { bytes: sizeOption('console-rate', values['console-rate'], CONSOLE_RATE_DEFAULT.bytes), periodMs: CONSOLE_RATE_DEFAULT.periodMs };
  const maxConnections = intOption('max-connections', values['max-connections'], CONTROL_DEFAULTS.maxConnections, HINT, 1, 100_000);
  const socket = resolve(values.socket ?? defaultSocketPath());
  const logDir = resolve(values['log-dir'] ?? join(dirname(socket), 'log'));

  // Refuse a live host before anything else (also before forking).
  const probe = await probeSocket(socket);
  if (probe.state === 'live') {
    process.stderr.write(`tachyxx host: ${socket} is in use by a running host${probe.pid ? ` (pid ${probe.pid})` : ''}; stop it first or use --socket\n`);
    return 1;
  }
  if (probe.state === 'other') {
    process.stderr.write(`tachyxx host: ${socket} exists and is not a socket\n`);
    return 1;
  }

  if (values.detach) return detach(args, socket, logDir);

  let ts: Toolstack;
  try {
    let { config, registry } = hostConfig(values.config, values.config ? {} : { ...DEFAULT_HOST });
    if (values.pcap !== undefined) {
      const pcapDir = resolve(values.pcap);
      mkdirSync(pcapDir, { recursive: true });
      const net = config.components['pv-net'] ?? { variant: 'bridge' };
      const pcapOnly = values['pcap-only'] ?? '';
      config = hostConfigFromObject({ ...config, components: { ...config.components, 'pv-net': { ...net, pcapDir, pcapOnly } } }, registry, { file: '--pcap' });
    }
    ts = new Toolstack({ config, registry, logDir, logMaxBytes, logKeep, consoleRate });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ToolstackError) {
      process.stderr.write(`tachyxx host: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const traceFile = values['trace-events'] === undefined ? null : resolve(values['trace-events']);
  const trace = traceFile ? traceExporter(ts.host.bus) : null;
  const server = new ControlServer(ts, { maxConnections });
  const xsServer = new XsSocketServer(ts.xs, { log: (l) => ts.log(l), onIo: () => ts.onIo() });
  const xsPath = xenstoredPathFor(socket);
  try {
    await server.listen(socket);
    // xenstored's socket: the same directory trust check, mode 0600 (XsSocketServer.listen).
    await xsServer.listen(xsPath);
  } catch (e) {
    process.stderr.write(`tachyxx host: ${e instanceof Error ? e.message : String(e)}\n`);
    await server.close();
    ts.close();
    return 1;
  }
  const runner = new HostRunner(ts, { paced: !values.unpaced });
  let failed: Error | null = null;
  let stop!: () => void;
  const stopped = new Promise<void>((res) => (stop = res));
  runner.onError = (e) => {
    failed = e;
    ts.log(`(XEN) host failure: ${e.stack ?? e.message}`);
    stop();
  };
  runner.start();
  const onSignal = () => stop();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // A terminal or pipe that went away must not kill the daemon with its logs unflushed.
  process.stderr.on('error', () => {});
  process.stderr.write(`tachyxx host: listening on ${socket} (pid ${process.pid}${values.unpaced ? ', unpaced' : ''})\n` +
    `tachyxx host: XENSTORED_PATH=${xsPath}\ntachyxx host: logs in ${logDir}\n`);
  await stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  runner.stop();
  await server.close();
  await xsServer.close();
  if (trace && traceFile) {
    try {
      writeFileSync(traceFile, trace.toJSON());
    } catch (e) {
      process.stderr.write(`tachyxx host: --trace-events ${traceFile}: ${(e as Error).message}\n`);
    }
    trace.stop();
  }
  ts.close();
  if (failed) {
    process.stderr.write(`tachyxx host: ${(failed as Error).message}\n`);
    return 1;
  }
  process.stderr.write('tachyxx host: stopped\n');
  return 0;
}

/** Where xenstored listens next to a control socket: xenstored.sock, or NAME.xenstored.sock for NAME.sock. */
function xenstoredPathFor(socket: string): string {
  const base = basename(socket).replace(/\.sock$/, '');
  return join(dirname(socket), base === 'host' ? 'xenstored.sock' : `${base}.xenstored.sock`);
}

/** Forks the daemon in the background (its output goes to <log dir>/host.out) and waits until it listens. */
async function detach(args: string[], socket: string, logDir: string): Promise<number> {
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const outFile = join(logDir, 'host.out');
  const out = openSync(outFile, 'a', 0o600);
  const childArgs = args.filter((a) => a !== '--detach');
  if (!childArgs.includes('--socket')) childArgs.push('--socket', socket);
  const child = spawn(process.execPath, [process.argv[1]!, 'host', ...childArgs], { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited !== null) {
      process.stderr.write(`tachyxx host: the daemon exited with status ${exited} (see ${outFile})\n`);
      return 1;
    }
    const p = await probeSocket(socket, 500);
    if (p.state === 'live' && p.pid) {
      process.stdout.write(`${p.pid} ${socket}\nXENSTORED_PATH=${xenstoredPathFor(socket)}\n`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stderr.write(`tachyxx host: the daemon did not start listening on ${socket} within 20 s (see ${outFile})\n`);
  return 1;
}
