/**
 * xl-pci-configuration(5) PCI_SPEC_STRING, following libxlu_pci.c:
 *   [DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]     or     KEY=VALUE,... with bdf= or name=
 * F may be '*' (all functions). Keys: bdf, vslot, permissive, msitranslate, seize, power_mgmt,
 * rdm_policy (strict | relaxed), name. Exactly one of a BDF and a name.
 */
export interface DevicePci {
  func?: number;
  dev?: number;
  bus?: number;
  domain?: number;
  vdevfn?: number;
  vfunc_mask?: number;
  msitranslate?: boolean;
  power_mgmt?: boolean;
  permissive?: boolean;
  seize?: boolean;
  rdm_policy?: 'strict' | 'relaxed';
  name?: string;
}

export const PCI_KEYS = ['bdf', 'vslot', 'permissive', 'msitranslate', 'seize', 'power_mgmt', 'rdm_policy', 'name'] as const;
export const RDM_POLICIES = ['strict', 'relaxed'] as const;
const LIBXL_PCI_FUNC_ALL = 0xffffffff;

/** A bad spec; the interpreter turns it into an XlCfgError naming the key and line. */
export class PciSpecError extends Error {
  override readonly name = 'PciSpecError';
  constructor(
    readonly reason: string,
    readonly allowed?: readonly string[],
  ) {
    super(reason);
  }
}

/** Parses a BDF at the start of `s`; returns the fields and how much was consumed, or undefined. */
function parseBdf(s: string): { pci: DevicePci; used: number } | undefined {
  const m = /^(?:([0-9a-fA-F]+):)?([0-9a-fA-F]+):([0-9a-fA-F]+)\.(\*|[0-9a-fA-F]+)/.exec(s);
  if (!m) return undefined;
  const domain = m[1] === undefined ? 0 : parseInt(m[1], 16);
  const bus = parseInt(m[2]!, 16);
  const dev = parseInt(m[3]!, 16);
  if (domain > 0xffff || bus > 0xff || dev > 0x1f) return undefined;
  const all = m[4] === '*';
  const func = all ? 0 : parseInt(m[4]!, 16);
  if (func > 7) return undefined;
  return { pci: { domain, bus, dev, func, vfunc_mask: all ? LIBXL_PCI_FUNC_ALL : 1 }, used: m[0].length };
}

function parseVslot(s: string): number | undefined {
  const m = /^[0-9a-fA-F]+/.exec(s);
  if (!m) return undefined;
  const v = parseInt(m[0], 16);
  return v > 0x1f ? undefined : v << 3;
}

function flag(key: string, v: string): boolean {
  // atoi(): leading digits, anything else is 0.
  return Number.parseInt(v, 10) ? true : false;
}

/** Parses one PCI spec. `defaults` carries the global pci_* settings of the config. */
export function parsePciSpec(spec: string, defaults: Omit<DevicePci, 'name'> = {}): DevicePci {
  const pci: DevicePci = { ...defaults };
  let rest = spec;
  let bdf = false;
  let named = false;
  const head = parseBdf(rest);
  if (head) {
    Object.assign(pci, head.pci);
    bdf = true;
    rest = rest.slice(head.used);
    if (rest.startsWith('@')) {
      const m = /^@([0-9a-fA-F]*)/.exec(rest)!;
      const v = parseVslot(m[1]!);
      if (v === undefined) throw new PciSpecError(`invalid virtual slot '${m[1]}' (hex, at most 1f)`);
      pci.vdevfn = v;
      rest = rest.slice(m[0].length);
    }
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (rest !== '') throw new PciSpecError(`unexpected '${rest}' after the BDF`);
  }
  while (rest !== '') {
    const eq = rest.indexOf('=');
    if (eq < 0) throw new PciSpecError(`'${rest}' is not a BDF ([DDDD:]BB:DD.F) nor KEY=VALUE`);
    const key = rest.slice(0, eq);
    const comma = rest.indexOf(',', eq);
    const val = comma < 0 ? rest.slice(eq + 1) : rest.slice(eq + 1, comma);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    switch (key) {
      case 'bdf': {
        const b = parseBdf(val);
        if (!b || b.used !== val.length) throw new PciSpecError(`invalid bdf '${val}' (expected [DDDD:]BB:DD.F)`);
        Object.assign(pci, b.pci);
        bdf = true;
        break;
      }
      case 'vslot': {
        const v = parseVslot(val);
        if (v === undefined) throw new PciSpecError(`invalid vslot '${val}' (hex, at most 1f)`);
        pci.vdevfn = v;
        break;
      }
      case 'permissive':
      case 'msitranslate':
      case 'seize':
      case 'power_mgmt':
        pci[key] = flag(key, val);
        break;
      case 'rdm_policy':
        if (val !== 'strict' && val !== 'relaxed') throw new PciSpecError(`unknown RDM policy '${val}'`, RDM_POLICIES);
        pci.rdm_policy = val;
        break;
      case 'name':
        pci.name = val;
        named = true;
        break;
      default:
        throw new PciSpecError(`unknown PCI_SPEC_STRING option '${key}'`, PCI_KEYS);
    }
  }
  if (bdf === named) throw new PciSpecError(bdf ? 'give either a BDF or name=, not both' : 'no BDF ([DDDD:]BB:DD.F) and no name= given');
  return pci;
}
