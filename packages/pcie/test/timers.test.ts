import { describe, expect, it } from 'vitest';
import { EventQueue, SimClock } from '@tachyxx/core';
import { PhysMemory } from '@tachyxx/isa';
import { ecamAccess, EDU_REG, EduDevice, PcieComponent, PcieHost, PolledTimer, PCI_COMMAND, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '../src/index.js';

describe('device time', () => {
  it('PolledTimer: device events run at the next PCIe access at or after their time, in order', () => {
    let now = 0;
    const mem = new PhysMemory({ base: 0x8000_0000, size: 1 << 20 });
    const timer = new PolledTimer(() => now, 1);
    const pcie = new PcieHost({ mem, topology: 'edu', timer });
    const [, e] = pcie.enumerate();
    const bar0 = e!.bars[0]!.addr;
    const reg = (o: number) => { pcie.bus.read(bar0 + o, 4); return pcie.bus.value.lo >>> 0; };
    pcie.bus.write(bar0 + EDU_REG.fact, 4, 5, 0); // 100 + 5 x 10 ns
    expect(timer.pending).toBe(1);
    now = 149;
    expect(reg(EDU_REG.status) & 1).toBe(1); // not yet
    now = 150;
    expect(reg(EDU_REG.status) & 1).toBe(0);
    expect(reg(EDU_REG.fact)).toBe(120);
    expect(timer.pending).toBe(0);
  });

  it('the host component builds PCIe over the host memory on the host event queue and enumerates it', () => {
    const clock = new SimClock(1000);
    const queue = new EventQueue(clock);
    const mem = new PhysMemory({ base: 0x8000_0000, size: 1 << 20 });
    const comp = new PcieComponent({ topology: { channels: [[{ kind: 'device', model: 'edu' }]] }, bootDrivers: [], create: (m, t) => new PcieHost({ mem: m, topology: 'edu', timer: t! }) });
    expect(() => comp.pcie).toThrow(/not attached/);
    comp.attach({ machine: { mem }, queue });
    expect(mem.mmio).toBe(comp.pcie.bus);
    const edu = comp.pcie.find('0/rp0/edu') as EduDevice;
    expect(edu.decodedBars().length).toBe(2);
    const ecam = ecamAccess(comp.pcie.bus, () => comp.pcie.channels[0]!.ecamBase);
    ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const bar0 = edu.decodedBars()[0]!.addr;
    mem.fill(0x8000_0000, 64, 0x42);
    comp.pcie.bus.write(bar0 + EDU_REG.dmaSrc, 8, 0x8000_0000 | 0, 0);
    comp.pcie.bus.write(bar0 + EDU_REG.dmaDst, 8, 0x40000, 0);
    comp.pcie.bus.write(bar0 + EDU_REG.dmaCount, 8, 64, 0);
    comp.pcie.bus.write(bar0 + EDU_REG.dmaCmd, 8, 1, 0);
    expect(queue.nextDeadline()).toBe(500 + 16);
    queue.runUntil(1000);
    expect(edu.buffer[63]).toBe(0x42);
    expect(() => comp.attach({ machine: { mem }, queue })).toThrow(/already attached/);
  });
});
