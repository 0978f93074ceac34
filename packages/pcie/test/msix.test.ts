import { describe, expect, it } from 'vitest';
import { ecamAccess, EduDevice, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL, PCI_MSIX_PBA, PCI_MSIX_TABLE, DirectMsiRemapper } from '../src/index.js';
import { host, mmio32 } from './helpers.js';

function rig() {
  const remapper = new DirectMsiRemapper();
  const h = host('edu', { remapper: () => remapper });
  const found = h.pcie.enumerate();
  const edu = h.pcie.find('0/rp0/edu') as EduDevice;
  const ecam = ecamAccess(h.bus, (s) => h.pcie.channels[s]!.ecamBase);
  const bar2 = found[1]!.bars[1]!.addr;
  const cap = edu.msix!.cap;
  const flags = (v: number) => ecam.write(0, 1, 0, cap + PCI_MSIX_FLAGS, 2, v);
  ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  return { ...h, edu, ecam, bar2, cap, flags, remapper };
}

describe('MSI-X', () => {
  it('the capability names a 1-vector table at BAR2 offset 0 and the PBA at BAR2 offset 0x800; Table Size is read-only', () => {
    const { ecam, cap, flags } = rig();
    expect(ecam.read(0, 1, 0, cap + PCI_MSIX_FLAGS, 2)).toBe(0);
    expect(ecam.read(0, 1, 0, cap + PCI_MSIX_TABLE, 4)).toBe(2);
    expect(ecam.read(0, 1, 0, cap + PCI_MSIX_PBA, 4)).toBe(0x802);
    flags(0xffff);
    expect(ecam.read(0, 1, 0, cap + PCI_MSIX_FLAGS, 2)).toBe(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
  });

  it('vectors reset masked; a masked vector sets its pending bit and fires on unmask', () => {
    const { bus, bar2, flags, edu, remapper } = rig();
    expect(mmio32(bus, bar2 + 12)).toBe(1); // Vector Control: masked
    bus.write(bar2, 8, 0xfee0_0000 | 0, 0x1);
    bus.write(bar2 + 8, 4, 0x31, 0);
    flags(PCI_MSIX_FLAGS_ENABLE);
    expect(edu.signal(0)).toBe(false);
    expect(mmio32(bus, bar2 + 0x800)).toBe(1); // pending
    expect(remapper.log).toEqual([]);
    bus.write(bar2 + 12, 4, 0, 0); // unmask
    expect(remapper.log).toEqual([{ rid: 0x100, addr: 0x1_fee0_0000, data: 0x31 }]);
    expect(mmio32(bus, bar2 + 0x800)).toBe(0);
    expect(edu.signal(0)).toBe(true);
    expect(remapper.log.length).toBe(2);
  });

  it('Function Mask holds every vector pending; clearing it delivers; the PBA ignores writes', () => {
    const { bus, bar2, flags, edu, remapper } = rig();
    bus.write(bar2 + 12, 4, 0, 0);
    flags(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
    edu.signal(0);
    edu.signal(0);
    expect(remapper.log).toEqual([]);
    bus.write(bar2 + 0x800, 4, 0, 0);
    expect(mmio32(bus, bar2 + 0x800)).toBe(1);
    flags(PCI_MSIX_FLAGS_ENABLE);
    expect(remapper.log.length).toBe(1); // one pending bit, one message
    expect(edu.msix!.stats).toMatchObject({ sent: 1, pended: 2 });
  });

  it('without Bus Master Enable the message waits in the PBA and goes out when mastering is turned on', () => {
    const { bus, bar2, flags, edu, remapper, ecam } = rig();
    bus.write(bar2 + 12, 4, 0, 0);
    flags(PCI_MSIX_FLAGS_ENABLE);
    ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    edu.signal(0);
    expect(remapper.log).toEqual([]);
    ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    expect(remapper.log.length).toBe(1);
  });

  it('Vector Control keeps only its mask bit and Message Address its dword alignment', () => {
    const { bus, bar2 } = rig();
    bus.write(bar2 + 12, 4, -1, 0);
    expect(mmio32(bus, bar2 + 12)).toBe(1);
    bus.write(bar2, 4, 0x1003, 0);
    expect(mmio32(bus, bar2)).toBe(0x1000);
  });
});
