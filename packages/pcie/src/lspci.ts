/**
 * `lspci -xxxx` output of a topology: per function a title line "BB:DD.F Class [cccc]: Vendor
 * Device", then the 4096 config bytes as pciutils' show_hex_dump prints them (16 per line, the
 * offset as %02x: "00:" .. "ff:", "100:" .. "ff0:"), then an empty line. pciutils' dump reader
 * (lib/dump.c, `lspci -F FILE`) accepts exactly this: a "##:##.# " or "####:##:##.# " line
 * starts a function, "##: " / "###: " lines fill its config space, an empty line ends it.
 * With more than one segment every address carries its domain ("0001:00:00.0").
 */
import type { PciFunction } from './function.js';

/** Class names pciutils prints for the classes our models use (pci.ids "C" lines). */
const CLASS_NAMES: Record<number, string> = {
  0x0604: 'PCI bridge',
  0x00ff: 'Unclassified device',
  0x0200: 'Ethernet controller',
  0x0880: 'System peripheral',
};
/** Vendor and device names (pci.ids) of the models. */
const VENDORS: Record<number, string> = { 0x1234: 'Technical Corp.', 0x1b36: 'Red Hat, Inc.', 0x104c: 'Texas Instruments' };
const DEVICES: Record<string, string> = {
  '1234:11e8': 'QEMU PCI Test Device',
  '1b36:000c': 'QEMU PCIe Root port',
  '104c:8232': 'XIO3130 PCI Express Switch (Upstream)',
  '104c:8233': 'XIO3130 PCI Express Switch (Downstream)',
};

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

/** The address as lspci prints it. */
export function bdfString(segment: number, bus: number, devfn: number, withDomain: boolean): string {
  const a = `${hex(bus, 2)}:${hex(devfn >> 3, 2)}.${devfn & 7}`;
  return withDomain ? `${hex(segment, 4)}:${a}` : a;
}

/** Reads config space through `read` (ECAM, as software sees it) and formats one function. */
export function formatFunction(addr: string, read: (off: number) => number): string {
  const b = (o: number) => read(o) & 0xff;
  const vendor = b(0) | (b(1) << 8), device = b(2) | (b(3) << 8);
  const cls = b(0x0a) | (b(0x0b) << 8);
  const rev = b(0x08);
  const cname = CLASS_NAMES[cls] ?? `Class ${hex(cls, 4)}`;
  const vname = VENDORS[vendor] ?? `Device ${hex(vendor, 4)}`;
  const dname = DEVICES[`${hex(vendor, 4)}:${hex(device, 4)}`] ?? `Device ${hex(device, 4)}`;
  const lines = [`${addr} ${cname} [${hex(cls, 4)}]: ${vname} ${dname} [${hex(vendor, 4)}:${hex(device, 4)}]${rev !== 0 ? ` (rev ${hex(rev, 2)})` : ''}`];
  for (let off = 0; off < 4096; off += 16) {
    const bytes: string[] = [];
    for (let i = 0; i < 16; i++) bytes.push(hex(b(off + i), 2));
    lines.push(`${hex(off, 2)}: ${bytes.join(' ')}`);
  }
  return `${lines.join('\n')}\n\n`;
}

export interface ListedFunction {
  segment: number;
  bus: number;
  devfn: number;
  fn: PciFunction;
}

/** The whole listing, functions in (segment, bus, devfn) order. */
export function lspciDump(functions: readonly ListedFunction[], read: (f: ListedFunction, off: number) => number): string {
  const withDomain = functions.some((f) => f.segment !== 0);
  const sorted = [...functions].sort((a, b) => a.segment - b.segment || a.bus - b.bus || a.devfn - b.devfn);
  return sorted.map((f) => formatFunction(bdfString(f.segment, f.bus, f.devfn, withDomain), (off) => read(f, off))).join('');
}
