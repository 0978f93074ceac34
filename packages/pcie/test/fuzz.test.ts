// Hostile config-space and MSI-X traffic (fast-check): every offset and size, any value, through
// the function and through ECAM. Nothing throws, read-only bits keep their reset values, BAR
// sizing still answers ~(size-1) | flags, and MSI-X delivers exactly what a reference model says.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Bridge, DirectMsiRemapper, ecamAccess, EduDevice, Endpoint, PCI_BASE_ADDRESS_0, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY,
  PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, SriovCapability, UNCLAIMED, ROOT_PORT_ID, SWITCH_DOWN_ID, SWITCH_UP_ID,
  PCI_ACS_SV, PCI_ACS_RR, type PciFunction,
} from '../src/index.js';
import type { MmioHandler } from '@tachyxx/isa';
import { host, ManualTimer } from './helpers.js';

class SriovPf extends Endpoint {
  constructor() {
    super('pf', {
      identity: { vendorId: 0x8086, deviceId: 0x10c9, classCode: 0x020000 },
      bars: [{ size: 0x20000 }, null, { size: 0x4000, is64: true, prefetch: true }, null, { size: 0x4000 }],
      msix: { vectors: 10, tableBar: 4, tableOffset: 0, pbaBar: 4, pbaOffset: 0x2000 },
      ari: { nextFunction: 0 }, acs: PCI_ACS_SV | PCI_ACS_RR,
    });
    new SriovCapability(this.cs, { totalVFs: 8, firstVfOffset: 0x80, vfStride: 2, vfDeviceId: 0x10ca, vfBars: [{ size: 0x4000, is64: true }, { size: 0x4000 }] });
    this.seal();
  }
  protected deviceBar(): MmioHandler { return UNCLAIMED; }
}

const makers: Record<string, () => PciFunction> = {
  edu: () => new EduDevice({ timer: new ManualTimer() }),
  'edu-ari': () => new EduDevice({ timer: new ManualTimer(), ari: { nextFunction: 0 }, acs: 0x1f }),
  'sriov-pf': () => new SriovPf(),
  'root-port': () => new Bridge('rp', { identity: ROOT_PORT_ID, type: 'root-port', slot: 3 }),
  'switch-up': () => new Bridge('up', { identity: SWITCH_UP_ID, type: 'upstream' }),
  'switch-down': () => new Bridge('dp', { identity: SWITCH_DOWN_ID, type: 'downstream', slot: 0 }),
};

const access = fc.record({
  size: fc.constantFrom(1, 2, 4),
  off: fc.integer({ min: 0, max: 4095 }),
  value: fc.integer({ min: 0, max: 0xffffffff }),
}).map((a) => ({ ...a, off: a.off - (a.off % a.size) }));

/** The read-only part of every byte must keep its reset value. */
function checkReadOnly(f: PciFunction, reset: Uint8Array): void {
  const { bytes, wmask, w1cmask } = f.cs;
  for (let o = 0; o < 4096; o++) {
    const ro = ~(wmask[o]! | w1cmask[o]!) & 0xff;
    if ((bytes[o]! & ro) !== (reset[o]! & ro)) throw new Error(`${f.name}: read-only bits of byte 0x${o.toString(16)} changed: 0x${reset[o]!.toString(16)} -> 0x${bytes[o]!.toString(16)}`);
  }
}

describe('config space under hostile writes', () => {
  for (const [name, make] of Object.entries(makers)) {
    it(`${name}: random writes of every offset and size never throw and never change read-only bits`, () => {
      fc.assert(fc.property(fc.array(access, { maxLength: 200 }), (ops) => {
        const f = make();
        const reset = f.cs.bytes.slice();
        for (const op of ops) {
          f.configWrite(op.off, op.size, op.value);
          const r = f.configRead(op.off, op.size);
          expect(Number.isInteger(r) && r >= 0 && r < 2 ** (8 * op.size)).toBe(true);
        }
        checkReadOnly(f, reset);
      }), { numRuns: 60 });
    });
  }

  it('BAR sizing answers correctly after any prior writes', () => {
    fc.assert(fc.property(fc.array(access, { maxLength: 100 }), (ops) => {
      const f = makers.edu!() as EduDevice;
      for (const op of ops) f.configWrite(op.off, op.size, op.value);
      f.configWrite(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
      f.configWrite(PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
      f.configWrite(PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
      const pf = new SriovPf();
      for (const op of ops) pf.configWrite(op.off, op.size, op.value);
      pf.configWrite(PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
      pf.configWrite(PCI_BASE_ADDRESS_0 + 12, 4, 0xffffffff);
      return f.configRead(PCI_BASE_ADDRESS_0, 4) === 0xfff00000 && f.configRead(PCI_BASE_ADDRESS_0 + 8, 4) === 0xfffff000
        && f.configRead(PCI_BASE_ADDRESS_0 + 4, 4) === 0 // unimplemented BAR1
        && pf.configRead(PCI_BASE_ADDRESS_0 + 8, 4) === 0xffffc00c && pf.configRead(PCI_BASE_ADDRESS_0 + 12, 4) === 0xffffffff;
    }), { numRuns: 100 });
  });

  it('random ECAM traffic (any bus, devfn, offset, size 1/2/4/8) on an enumerated host: no exception, read-only bits hold', () => {
    const ecamOp = fc.record({
      bus: fc.integer({ min: 0, max: 8 }), devfn: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      off: fc.integer({ min: 0, max: 4095 }), size: fc.constantFrom(1, 2, 4, 8), lo: fc.integer(), hi: fc.integer(), write: fc.boolean(),
    });
    fc.assert(fc.property(fc.array(ecamOp, { maxLength: 150 }), (ops) => {
      const h = host('edu, switch(edu-ari, edu)');
      h.pcie.enumerate();
      const fns = h.pcie.rc.functions().map(({ fn }) => fn);
      // Read-only reference: the bytes after enumeration (which wrote writable bits only).
      const resets = fns.map((f) => f.cs.bytes.slice());
      const before = h.pcie.channels[0]!.stats.configWrites;
      const ecamBase = h.pcie.channels[0]!.ecamBase;
      for (const op of ops) {
        const a = ecamBase + op.bus * 2 ** 20 + op.devfn * 4096 + op.off - (op.off % op.size);
        if (op.write) h.bus.write(a, op.size, op.lo | 0, op.hi | 0);
        else h.bus.read(a, op.size);
        h.timer.run();
      }
      fns.forEach((f, i) => checkReadOnly(f, resets[i]!));
      expect(h.pcie.channels[0]!.stats.configWrites - before).toBe(ops.filter((o) => o.write).reduce((n, o) => n + (o.size === 8 ? 2 : 1), 0));
      // Every decoded BAR region still belongs to a function that has Memory Space on.
      for (const r of h.pcie.rc.decodedRegions()) expect(r.fn.memoryEnabled).toBe(true);
    }), { numRuns: 40 });
  });
});

describe('MSI-X table under hostile writes', () => {
  it('delivers exactly when a reference model says, with the entry the table holds', () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant('table' as const), off: fc.integer({ min: 0, max: 0xfff }), size: fc.constantFrom(1, 2, 4, 8), lo: fc.integer(), hi: fc.integer() }),
      fc.record({ k: fc.constant('flags' as const), v: fc.integer({ min: 0, max: 0xffff }) }),
      fc.record({ k: fc.constant('cmd' as const), bme: fc.boolean() }),
      fc.record({ k: fc.constant('signal' as const) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const remapper = new DirectMsiRemapper();
      const h = host('edu', { remapper: () => remapper });
      const found = h.pcie.enumerate();
      const edu = h.pcie.find('0/rp0/edu') as EduDevice;
      const ecam = ecamAccess(h.bus, (s) => h.pcie.channels[s]!.ecamBase);
      const bar2 = found[1]!.bars[1]!.addr;
      const cap = edu.msix!.cap;
      ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
      let pending = false, bme = true, expected = 0;
      const deliverable = () => {
        const fl = ecam.read(0, 1, 0, cap + PCI_MSIX_FLAGS, 2);
        return (fl & PCI_MSIX_FLAGS_ENABLE) !== 0 && (fl & PCI_MSIX_FLAGS_MASKALL) === 0 && (edu.msix!.table[3]! & 1) === 0 && bme;
      };
      const entry = () => ({ rid: 0x100, addr: edu.msix!.table[1]! * 2 ** 32 + edu.msix!.table[0]!, data: edu.msix!.table[2]! });
      for (const o of ops) {
        if (o.k === 'table') h.bus.write(bar2 + (o.off - (o.off % o.size)), o.size, o.lo | 0, o.hi | 0);
        else if (o.k === 'flags') ecam.write(0, 1, 0, cap + PCI_MSIX_FLAGS, 2, o.v);
        else if (o.k === 'cmd') { bme = o.bme; ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | (o.bme ? PCI_COMMAND_MASTER : 0)); }
        else if (deliverable()) { edu.signal(0); expected++; expect(remapper.log.at(-1)).toEqual(entry()); continue; }
        else { edu.signal(0); pending = true; }
        if (pending && deliverable()) { pending = false; expected++; expect(remapper.log.at(-1)).toEqual(entry()); }
        expect(remapper.delivered).toBe(expected);
        expect(edu.msix!.isPending(0)).toBe(pending);
        expect(edu.msix!.table[3]! & ~1).toBe(0); // Vector Control: only the mask bit
        expect(edu.msix!.table[0]! & 3).toBe(0); // Message Address: dword aligned
      }
      expect(remapper.delivered).toBe(expected);
    }), { numRuns: 150 });
  });
});
