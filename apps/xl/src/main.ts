import { parseArgs } from 'node:util';
import { XlCfgError } from './xlcfg/errors.js';
import { loadDomainConfig, domainConfigJson } from './config/load.js';
import type { XlNotice } from './config/values.js';

export const VERSION = '0.1.0';

/** xl's commands (names, summaries and usage lines as in xl_cmdtable.c) that this xl knows. */
export const XL_COMMANDS: readonly { name: string; summary: string; usage: string }[] = [
  { name: 'create', summary: 'Create a domain from config file <filename>', usage: '<ConfigFile> [options] [vars]' },
  { name: 'list', summary: 'List information about all/some domains', usage: '[options] [Domain]' },
  { name: 'destroy', summary: 'Terminate a domain immediately', usage: '[options] <Domain>' },
  { name: 'shutdown', summary: 'Issue a shutdown signal to a domain', usage: '[options] <-a|Domain>' },
  { name: 'reboot', summary: 'Issue a reboot signal to a domain', usage: '[options] <-a|Domain>' },
  { name: 'pause', summary: 'Pause execution of a domain', usage: '<Domain>' },
  { name: 'unpause', summary: 'Unpause a paused domain', usage: '<Domain>' },
  { name: 'console', summary: "Attach to domain's console", usage: '[options] <Domain>' },
  { name: 'mem-max', summary: 'Set the maximum amount reservation for a domain', usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>" },
  { name: 'mem-set', summary: 'Set the current memory usage for a domain', usage: "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>" },
  { name: 'vcpu-list', summary: 'List the VCPUs for all/some domains', usage: '[Domain, ...]' },
  { name: 'vcpu-pin', summary: 'Set which CPUs a VCPU can use', usage: '[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>' },
  { name: 'vcpu-set', summary: 'Set the number of active VCPUs allowed for the domain', usage: '[option] <Domain> <vCPUs>' },
  { name: 'info', summary: 'Get information about Xen host', usage: '[-n, --numa]' },
  { name: 'sched-credit', summary: 'Get/set credit scheduler parameters', usage: '[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT]] [-p CPUPOOL]' },
  { name: 'domid', summary: 'Convert a domain name to domain id', usage: '<DomainName>' },
  { name: 'domname', summary: 'Convert a domain id to domain name', usage: '<DomainId>' },
  { name: 'rename', summary: 'Rename a domain', usage: '<Domain> <NewDomainName>' },
  { name: 'dmesg', summary: 'Read and/or clear dmesg buffer', usage: '[-c]' },
  { name: 'top', summary: 'Monitor a host and the domains in real time', usage: '' },
  { name: 'uptime', summary: 'Print uptime for all/some domains', usage: '[-s] [Domain]' },
  { name: 'cpupool-create', summary: 'Create a new CPU pool', usage: '[options] [<ConfigFile>] [Variable=value ...]' },
  { name: 'cpupool-list', summary: 'List CPU pools on host', usage: '[-c|--cpus] [<CPU Pool>]' },
  { name: 'cpupool-numa-split', summary: 'Splits up the machine into one CPU pool per NUMA node', usage: '' },
  { name: 'help', summary: 'Print this help', usage: '[command]' },
];

export const MAIN_HELP = `Usage xl [-vfNtTV] <subcommand> [args]

xl ${VERSION}: the Tachyxx toolstack (Xen's xl, for domains on a Tachyxx host)

xl full list of subcommands:

${XL_COMMANDS.map((c) => ` ${c.name.padEnd(20)}${c.summary}`).join('\n')}

Only 'create -n' (dry run) works without a running Tachyxx host; the other commands
need the host daemon, which is not implemented yet.
Exit status: 0 success, 1 failure (an xl-style error on stderr), 2 bad usage.
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
config file's folder. Without a running host, -n assumes Tachyxx's default
host (1 pCPU, 1 NUMA node) for cpus= and cpus_soft=.
`;

class Usage extends Error {
  constructor(
    message: string,
    readonly cmd?: string,
  ) {
    super(message);
  }
}

function notice(n: XlNotice, kind: string): string {
  return `${n.source}${n.line > 0 ? `:${n.line}` : ''}: ${kind}: ${n.key}: ${n.message}\n`;
}

function createCommand(args: string[]): number {
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
  const files = positionals.filter((p) => !p.includes('='));
  if (files.length === 0) throw new Usage('create: no config file given', 'create');
  if (files.length > 1) throw new Usage(`create: more than one config file given ('${files[0]}', '${files[1]}')`, 'create');
  const file = files[0]!;
  if (!values.quiet) process.stderr.write(`Parsing config from ${file}\n`);
  const result = loadDomainConfig(file, { overrides });
  for (const w of result.warnings) process.stderr.write(notice(w, 'warning'));
  if (values.dryrun) {
    for (const u of result.unsupported) process.stderr.write(notice(u, 'not supported by Tachyxx (xl create will refuse)'));
    process.stdout.write(domainConfigJson(result));
    return 0;
  }
  process.stderr.write("xl: command 'create' needs a running Tachyxx host (not implemented yet); 'xl create -n' prints the domain config\n");
  return 1;
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
        else if (sub !== undefined && XL_COMMANDS.some((c) => c.name === sub)) {
          const c = XL_COMMANDS.find((x) => x.name === sub)!;
          process.stdout.write(`Usage: xl ${c.name} ${c.usage}\n\n${c.summary}.\n`);
        } else if (sub !== undefined) {
          process.stderr.write(`xl: command '${sub}' not implemented\n`);
          return 1;
        } else process.stdout.write(MAIN_HELP);
        return 0;
      }
      case '--version':
        process.stdout.write(`${VERSION}\n`);
        return 0;
      case 'create':
        return createCommand(dry && !rest.includes('-n') ? ['-n', ...rest] : rest);
      default:
        if (XL_COMMANDS.some((c) => c.name === cmd)) {
          if (rest.includes('-h') || rest.includes('--help')) return main(['help', cmd]);
          process.stderr.write(`xl: command '${cmd}' needs a running Tachyxx host (not implemented yet)\n`);
          return 1;
        }
        process.stderr.write(`xl: command '${cmd}' not implemented\nTry 'xl help'.\n`);
        return 2;
    }
  } catch (e) {
    if (e instanceof Usage) {
      process.stderr.write(`xl: ${e.message}\nTry 'xl ${e.cmd ? `${e.cmd} ` : ''}--help'.\n`);
      return 2;
    }
    if (e instanceof XlCfgError) {
      process.stderr.write(`${e.message}\n`);
      for (const extra of e.problems.slice(1)) {
        process.stderr.write(`${new XlCfgError(extra, extra.key === undefined).message}\n`);
      }
      if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
