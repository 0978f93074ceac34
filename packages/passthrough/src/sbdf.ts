// PCI addresses as xl writes them: DDDD:BB:DD.F (segment, bus, device, function; hex).
// xl.cfg(5) / xl-pci-configuration(5): "[DDDD:]BB:DD.F" with the domain (segment) optional (0).

export interface Sbdf {
  readonly seg: number;
  readonly bus: number;
  /** Device 0-31 and function 0-7 as one byte: dev << 3 | fn. */
  readonly devfn: number;
}

/** "0000:01:00.0" (libxl's PCI_BDF format, lower-case hex). */
export function formatSbdf(a: Sbdf): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(a.seg, 4)}:${h(a.bus, 2)}:${h(a.devfn >> 3, 2)}.${a.devfn & 7}`;
}

/** A map key for an address. */
export const sbdfKey = (a: Sbdf): number => a.seg * 65536 + a.bus * 256 + a.devfn;

/**
 * Parses "[DDDD:]BB:DD.F" (hex; device 0-1f, function 0-7), as xlu_pci_parse_bdf does. Throws a
 * RangeError naming the text and what was expected.
 */
export function parseSbdf(text: string): Sbdf {
  const m = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(text.trim());
  if (!m) throw new RangeError(`'${text}' is not a PCI address: expected [DDDD:]BB:DD.F (hex domain, bus, device; function 0-7)`);
  const seg = m[1] === undefined ? 0 : parseInt(m[1], 16);
  const bus = parseInt(m[2]!, 16), dev = parseInt(m[3]!, 16), fn = parseInt(m[4]!, 10);
  if (dev > 0x1f) throw new RangeError(`'${text}': device 0x${dev.toString(16)} is out of range 00-1f`);
  return { seg, bus, devfn: (dev << 3) | fn };
}
