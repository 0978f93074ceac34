import { parseArgs } from 'node:util';
// The config parser (and @tachyxx/core under it) is loaded only by the commands that read
// xl.cfg files, so that list, console, ... start fast.
import type { XlCfgError, XlNotice, HostTopology } from '@tachyxx/xlcfg';
import { Host, NoHostError, HostOpError, UntrustedSocketError } from './client.js';
import { HOST_COMMANDS, createOnHost, hostTopology } from './commands.js';
import { Usage, XlFail } from './usage.js';

export const VERSION = '0.1.0';

/** xl's commands (names, summaries, usage lines and options as in xl_cmdtable.c) that this xl knows. */
export const XL_COMMANDS: readonly { name: string; summary: string; usage: string; options?: string; modifies?: boolean; dryrun?: boolean }[] = [
  { name: 'create', summary: 'Create a domain from config file <filename>', usage: '<ConfigFile> [options] [vars]', modifies: true, dryrun: true },
  { name: 'list', summary: 'List information about all/some domains', usage: '[options] [Domain]',
    options: '-l, --long              Output all VM details\n-v, --verbose           Prints out UUIDs and security context\n-Z, --context           Prints out security context\n-c, --cpupool           Prints the cpupool the domain is in\n-n, --numa              Prints out NUMA node affinity' },
  { name: 'destroy', summary: 'Terminate a domain immediately', usage: '[options] <Domain>', modifies: true,
    options: '-f                      Permit destroying domain 0, which will only succeed\n                        when run from disaggregated toolstack domain with a\n                        hardware domain distinct from domain 0.' },
  { name: 'shutdown', summary: 'Issue a shutdown signal to a domain', usage: '[options] <-a|Domain>', modifies: true,
    options: '-a, --all               Shutdown all guest domains.\n-h                      Print this help.\n-F                      Fallback to ACPI power event for HVM guests with\n                        no PV drivers.\n-w, --wait              Wait for guest(s) to shutdown.\n' },
  { name: 'reboot', summary: 'Issue a reboot signal to a domain', usage: '[options] <-a|Domain>', modifies: true,
    options: '-a, --all               Shutdown all guest domains.\n-h                      Print this help.\n-F                      Fallback to ACPI reset event for HVM guests with\n                        no PV drivers.\n-w, --wait              Wait for guest(s) to reboot.\n' },
  { name: 'pause', summary: 'Pause execution of a domain', usage: '<Domain>', modifies: true },
  { name: 'unpause', summary: 'Unpause a paused domain', usage: '<Domain>', modifies: true },
  { name: 'console', summary: "Attach to domain's console", usage: '[options] <Domain>\n-t <type>       console type, pv , serial or vuart\n-n <number>     console number\n-e <escape>     escape character\n\nCtrl-] (or the -e escape, written ^X) detaches; the domain runs on.' },
  { name: 'mem-max', summary: 'Set the maximum amount reservation for a domain', usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", modifies: true },
  { name: 'mem-set', summary: 'Set the current memory usage for a domain', usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", modifies: true },
  { name: 'vcpu-list', summary: 'List the VCPUs for all/some domains', usage: '[Domain, ...]' },
  { name: 'vcpu-pin', summary: 'Set which CPUs a VCPU can use', usage: '[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>', modifies: true, dryrun: true,
    options: '-f, --force        undo an override pinning done by the kernel\n--ignore-global-affinity-masks Ignore global masks in xl.conf' },
  { name: 'vcpu-set', summary: 'Set the number of active VCPUs allowed for the domain', usage: '[option] <Domain> <vCPUs>', modifies: true,
    options: "-i, --ignore-host  Don't limit the vCPU based on the host CPU count" },
  { name: 'info', summary: 'Get information about Xen host', usage: '-n, --numa         List host NUMA topology information' },
  { name: 'sched-credit', summary: 'Get/set credit scheduler parameters', usage: '[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]', modifies: true,
    options: '-d DOMAIN, --domain=DOMAIN        Domain to modify\n-w WEIGHT, --weight=WEIGHT        Weight (int)\n-c CAP, --cap=CAP                 Cap (int)\n-s         --schedparam           Query / modify scheduler parameters\n-t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n-r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n-m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds\n-p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL' },
  { name: 'domid', summary: 'Convert a domain name to domain id', usage: '<DomainName>' },
  { name: 'domname', summary: 'Convert a domain id to domain name', usage: '<DomainId>' },
  { name: 'rename', summary: 'Rename a domain', usage: '<Domain> <NewDomainName>', modifies: true },
  { name: 'dmesg', summary: 'Read and/or clear dmesg buffer', usage: '[-c]', options: '  -c                        Clear dmesg buffer as well as printing it' },
  { name: 'top', summary: 'Monitor a host and the domains in real time', usage: '[-b] [-i ITERATIONS] [-d DELAY]',
    options: '-b, --batch             Batch mode: plain screens one after another, no terminal control\n-i N, --iterations=N    Stop after N screens\n-d S, --delay=S         Seconds between screens (default 1)\nq or Esc quits the live view.' },
  { name: 'uptime', summary: 'Print uptime for all/some domains', usage: '[-s] [Domain]' },
  { name: 'stats', summary: 'Print the host\'s stats tree (Tachyxx), or the part at PATH', usage: '[PATH]',
    options: 'PATH   a dotted path into the tree, e.g. host.evtchn.total or host.cpu0.traps' },
  { name: 'cpupool-create', summary: 'Create a new CPU pool', usage: '[options] [<ConfigFile>] [Variable=value ...]', modifies: true, dryrun: true,
    options: '-h, --help                   Print this help.\n-f FILE, --defconfig=FILE    Use the given configuration file.\n-n, --dryrun                 Dry run - prints the resulting configuration.\n                              (deprecated in favour of global -N option).\n\nSee the xlcpupool.cfg(5) manpage for more information.' },
  { name: 'cpupool-list', summary: 'List CPU pools on host', usage: '[-c|--cpus] [<CPU Pool>]', options: '-c, --cpus                     Output list of CPUs used by a pool' },
  { name: 'cpupool-numa-split', summary: 'Splits up the machine into one CPU pool per NUMA node', usage: '', modifies: true },
  { name: 'debug', summary: 'Serve a gdb stub for a domain (Tachyxx; Xen has gdbsx)', usage: '[options] <Domain>', modifies: true,
    options: '-p N, --port=N          Listen on 127.0.0.1:N (default 0: a free port, printed)\n-u PATH, --unix=PATH    Listen on a Unix socket at PATH (must not exist)\n--others-run            Other domains run while gdb holds this one (default:\n                        all-stop, the whole host stops, as QEMU)\n-d, --detach            Close the stub of <Domain>; the domain runs on\n\nPrints the address for gdb (target remote ADDR) and returns. One debugger at a\ntime per host; gdb\'s detach (or disconnect) lets the domain run on, the stub stays\nuntil --detach or the domain is destroyed.' },
  { name: 'block-attach', summary: 'Create a new virtual block device', usage: '<Domain> <disk-spec-component(s)>...', modifies: true },
  { name: 'block-list', summary: 'List virtual block devices for a domain', usage: '<Domain(s)>' },
  { name: 'block-detach', summary: 'Destroy a domain\'s virtual block device', usage: '<Domain> <DevId>', modifies: true },
  { name: 'network-attach', summary: 'Create a new virtual network device', usage: '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackEnd>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>]', modifies: true },
  { name: 'network-list', summary: 'List virtual network interfaces for a domain', usage: '<Domain(s)>' },
  { name: 'network-detach', summary: "Destroy a domain's virtual network device", usage: '<Domain> <DevId|mac>', modifies: true },
  { name: 'pci-dump', summary: 'Print the config space of every PCI function (Tachyxx; lspci -xxxx format, lspci -F decodes it)', usage: '' },
  { name: 'pci-attach', summary: 'Insert a new pass-through pci device', usage: '<Domain> <BDF> [Virtual Slot]', modifies: true },
  { name: 'pci-detach', summary: 'Remove a domain\'s pass-through pci device', usage: '[options] <Domain> <BDF>', modifies: true,
    options: '-f,  --force    Force removal (the device is reset and revoked either way)' },
  { name: 'pci-list', summary: 'List pass-through pci devices for a domain', usage: '<Domain>' },
  { name: 'pci-assignable-add', summary: 'Make a device assignable for pci-passthru', usage: '<BDF>', modifies: true },
  { name: 'pci-assignable-remove', summary: 'Remove a device from being assignable', usage: '[options] <BDF>', modifies: true,
    options: '-r             Attempt to re-assign the device to the original driver' },
  { name: 'pci-assignable-list', summary: 'List all the assignable pci devices', usage: '' },
  { name: 'pci-sriov-numvfs', summary: 'Show or set the number of VFs of an SR-IOV PF (Tachyxx; sriov_numvfs)', usage: '<BDF> [N]', modifies: true },
  { name: 'pci-sriov-list', summary: 'List SR-IOV PFs and their VFs (Tachyxx; ip link show)', usage: '[BDF]' },
  { name: 'pci-sriov-vf', summary: 'Set a VF\'s MAC, port VLAN, rate or link (Tachyxx; ip link set PF vf N)', usage: '<BDF> <VF> mac|vlan|max_tx_rate|state <value>', modifies: true },
  { name: 'help', summary: 'Print this help', usage: '[command]' },
];

/** xl.c help(): `Usage: xl [-v...] CMD USAGE`, the summary, then the options. */
export function commandHelp(name: string): string {
  const c = XL_COMMANDS.find((x) => x.name === name)!;
  return `Usage: xl [-v${c.modifies ? 'f' : ''}${c.dryrun ? 'N' : ''}] ${c.name} ${c.usage}\n\n${c.summary}.\n\n${c.options ? `Options:\n\n${c.options}\n` : ''}`;
}

export const MAIN_HELP = `Usage xl [-vfNtTV] <subcommand> [args]

xl ${VERSION}: the Tachyxx toolstack (Xen's xl, for domains on a Tachyxx host)

xl full list of subcommands:

${XL_COMMANDS.map((c) => ` ${c.name.padEnd(20)}${c.summary}`).join('\n')}

Every command but 'create -n' (dry run) and 'help' talks to a running Tachyxx host
('tachyxx host --detach' starts one) on $TACHYXX_HOST, else
$XDG_RUNTIME_DIR/tachyxx/host.sock (/run/tachyxx/host.sock as root).
DOMAIN is a domain name or id. Exit status: 0 success, 1 failure (an xl-style error on
stderr), 2 bad usage, 3 the host could not create the domain.
`;

export const CREATE_HELP = `Usage: xl [-v] create <ConfigFile> [options] [vars]

Create a domain from config file <filename>.

Options:

-c                      Connect to the console after the domain is created.
-F                      Run in foreground until death of the domain.
-h, --help              Print this help.
-n, --dryrun            Dry run - prints the resulting configuration
                         (libxl's domain config as JSON) and exits.
-p                      Leave the domain paused after it is created.
-q, --quiet             Quiet.

vars are KEY=VALUE settings in xl.cfg syntax, applied after the file
(e.g. memory=256 'vif=["bridge=xenbr0"]' 'extra+=" quiet"').
ConfigFile /dev/null takes the whole config from vars.
Relative kernel, ramdisk, device_tree and disk paths resolve against the
config file's folder. -n checks cpus= and cpus_soft= against the running host,
or without one against the default 'tachyxx host' (4 pCPUs, 1 NUMA node).
`;

function notice(n: XlNotice, kind: string): string {
  return `${n.source}${n.line > 0 ? `:${n.line}` : ''}: ${kind}: ${n.key}: ${n.message}\n`;
}

async function createCommand(args: string[], host: () => Promise<Host>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        dryrun: { type: 'boolean', short: 'n' },
        quiet: { type: 'boolean', short: 'q' },
        console: { type: 'boolean', short: 'c' },
        paused: { type: 'boolean', short: 'p' },
        foreground: { type: 'boolean', short: 'F' },
        help: { type: 'boolean', short: 'h' },
        debug: { type: 'boolean', short: 'd' },
        'no-monitor': { type: 'boolean', short: 'e' },
        defconfig: { type: 'string', short: 'f' },
        'ignore-global-affinity-masks': { type: 'boolean', short: 'i' },
      },
    });
  } catch (e) {
    throw new Usage(e instanceof Error ? e.message.replace(/\. To specify a positional.*$/s, '') : String(e), 'create');
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(CREATE_HELP);
    return 0;
  }
  const overrides = positionals.filter((p) => p.includes('='));
  const files = [...(values.defconfig !== undefined ? [values.defconfig] : []), ...positionals.filter((p) => !p.includes('='))];
  if (files.length === 0) throw new Usage('create: no config file given', 'create');
  if (files.length > 1) throw new Usage(`create: more than one config file given ('${files[0]}', '${files[1]}')`, 'create');
  const file = files[0]!;
  const { loadDomainConfig, domainConfigJson } = await import('@tachyxx/xlcfg');
  if (values.dryrun) {
    // The running host's topology when there is one (so -n warns exactly as create would),
    // else the default `tachyxx host` (DEFAULT_TOPOLOGY).
    let topology: HostTopology | undefined;
    try {
      topology = await hostTopology(await host());
    } catch (e) {
      if (!(e instanceof NoHostError)) throw e;
    }
    if (!values.quiet) process.stderr.write(`Parsing config from ${file}\n`);
    const result = loadDomainConfig(file, { overrides, ...(topology ? { topology } : {}) });
    for (const w of result.warnings) process.stderr.write(notice(w, 'warning'));
    for (const u of result.unsupported) process.stderr.write(notice(u, 'not supported by Tachyxx (xl create will refuse)'));
    process.stdout.write(domainConfigJson(result));
    return 0;
  }
  // A real create: the host first (its topology resolves cpus= / nodes:), then the config.
  const h = await host();
  const topology = await hostTopology(h);
  if (!values.quiet) process.stderr.write(`Parsing config from ${file}\n`);
  const result = loadDomainConfig(file, { overrides, topology });
  for (const w of result.warnings) process.stderr.write(notice(w, 'warning'));
  if (result.unsupported.length) {
    for (const u of result.unsupported) process.stderr.write(notice(u, 'not supported by Tachyxx'));
    const name = (result.config as { c_info?: { name?: string } }).c_info?.name ?? file;
    throw new XlFail(`xl: not creating domain '${name}': Tachyxx cannot do what the config above asks for`, 1);
  }
  return createOnHost(h, {
    config: result.config,
    name: (result.config as { c_info: { name: string } }).c_info.name,
    paused: values.paused === true,
    console: values.console === true,
    foreground: values.foreground === true,
    quiet: values.quiet === true,
  });
}

/** Runs xl and returns its exit status. Never calls process.exit (stdout must drain). */
export async function main(argv: string[]): Promise<number> {
  // Global options (xl [-vfNtT] <subcommand>): accepted, -N means dry run.
  let i = 0;
  let dry = false;
  let debug = false;
  while (i < argv.length && /^-[vfNtTV]+$/.test(argv[i]!)) {
    if (argv[i]!.includes('N')) dry = true;
    if (argv[i]!.includes('v')) debug = true;
    i++;
  }
  const [cmd, ...rest] = argv.slice(i);
  let conn: Host | null = null;
  const host = async () => (conn ??= await Host.connect());
  try {
    switch (cmd) {
      case undefined:
        process.stderr.write(MAIN_HELP);
        return 2;
      case '-h':
      case '--help':
      case 'help': {
        const sub = cmd === 'help' ? rest[0] : undefined;
        if (sub === 'create') process.stdout.write(CREATE_HELP);
        else if (sub !== undefined && XL_COMMANDS.some((c) => c.name === sub)) process.stdout.write(commandHelp(sub));
        else if (sub !== undefined) {
          process.stderr.write(`xl: command '${sub}' not implemented\n`);
          return 1;
        } else process.stdout.write(MAIN_HELP);
        return 0;
      }
      case '--version':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case 'create':
        return await createCommand(dry && !rest.includes('-n') ? ['-n', ...rest] : rest, host);
      default: {
        const run = HOST_COMMANDS[cmd];
        if (run) {
          if (rest.includes('-h') || rest.includes('--help')) return main(['help', cmd]);
          return await run(host, rest);
        }
        process.stderr.write(`xl: command '${cmd}' not implemented\nTry 'xl help'.\n`);
        return 2;
      }
    }
  } catch (e) {
    if (e instanceof Usage) {
      process.stderr.write(`xl: ${e.message}\nTry 'xl ${e.cmd ? `${e.cmd} ` : ''}--help'.\n`);
      return 2;
    }
    if (e instanceof XlFail) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof NoHostError || e instanceof UntrustedSocketError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    if (e instanceof HostOpError) {
      process.stderr.write(`libxl: error: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Error && e.name === 'XlCfgError') {
      const ce = e as XlCfgError;
      const { XlCfgError: Cls } = await import('@tachyxx/xlcfg');
      process.stderr.write(`${ce.message}\n`);
      for (const extra of ce.problems.slice(1)) {
        process.stderr.write(`${new Cls(extra, extra.key === undefined).message}\n`);
      }
      if (debug && ce.stack) process.stderr.write(`${ce.stack}\n`);
      return ce.exitCode;
    }
    throw e;
  } finally {
    (conn as Host | null)?.close();
  }
}
