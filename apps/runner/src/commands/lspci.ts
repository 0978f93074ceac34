import { ConfigError, resolve } from '@tachyxx/core';
import { PhysMemory } from '@tachyxx/isa';
import { PCIE_FACTORY, type DeviceTimer } from '@tachyxx/pcie';
import { hostContainer } from '../host-config.js';
import { parse, UsageError } from '../usage.js';

export const LSPCI_HELP = `Usage: tachyxx lspci [--host FILE]

Builds the PCIe topology of a host (components.pcie.topology in the host config; the default
host has one channel with a root port and the edu test device behind it), enumerates it as dom0
does at boot (bus numbers, BAR sizing and assignment, bridge windows), and prints every
function's 4 KiB configuration space in the format of 'lspci -xxxx', read through ECAM.
pciutils decodes it: tachyxx lspci > dump; lspci -F dump -vvv

Options:
  --host FILE   host config (YAML)
  -h, --help    show this help

Exit status: 0 listed; 2 bad usage or a bad config.
`;

const HINT = 'tachyxx lspci --help';

/** Nothing runs on a listing's clock: devices get a timer that is never advanced. */
const STILL: DeviceTimer = { now: () => 0, after: () => {}, cyclesToNs: (c) => c };

export async function lspciCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { host: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, HINT);
  if (values.help) { process.stdout.write(LSPCI_HELP); return 0; }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, HINT);
  let host;
  try {
    host = hostContainer(values.host, {});
  } catch (e) {
    if (e instanceof ConfigError) { process.stderr.write(`tachyxx: ${e.message}\n`); return 2; }
    throw e;
  }
  // Config space needs no RAM; one page keeps the machine small.
  const mem = new PhysMemory({ base: 0x8000_0000, size: 4096 });
  const pcie = resolve(host.container, PCIE_FACTORY).create(mem, STILL);
  pcie.enumerate();
  process.stdout.write(pcie.lspci());
  return 0;
}
