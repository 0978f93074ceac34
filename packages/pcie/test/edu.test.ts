import { describe, expect, it } from 'vitest';
import {
  DirectMsiRemapper, ecamAccess, EDU_DMA_START, EDU_ID_VALUE, EDU_REG, EduDevice, IdentityTranslator, PCI_COMMAND,
  PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY, PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR, PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, PCI_STATUS,
  PCI_STATUS_INTERRUPT, PCI_STATUS_REC_MASTER_ABORT,
} from '../src/index.js';
import type { IoTranslator } from '@tachyxx/core';
import { host, mmio32, RAM_BASE } from './helpers.js';

const MSI_ADDR = 0x2800_0000, MSI_DATA = 0x41;

/** Enumerated default host; edu with MSI-X vector 0 programmed and enabled (as its driver does). */
function rig(opts: { busMaster?: boolean; msix?: boolean; translator?: IoTranslator } = {}) {
  const remapper = new DirectMsiRemapper();
  const h = host('edu', { remapper: () => remapper, translator: opts.translator ? () => opts.translator : undefined });
  const found = h.pcie.enumerate();
  const edu = h.pcie.find('0/rp0/edu') as EduDevice;
  const ecam = ecamAccess(h.bus, (s) => h.pcie.channels[s]!.ecamBase);
  const bar0 = found[1]!.bars[0]!.addr, bar2 = found[1]!.bars[1]!.addr;
  const r = (off: number) => mmio32(h.bus, bar0 + off);
  const w = (off: number, v: number) => { expect(h.bus.write(bar0 + off, 4, v | 0, 0)).toBe(true); };
  const w64 = (off: number, v: number) => { expect(h.bus.write(bar0 + off, 8, v % 2 ** 32 | 0, Math.floor(v / 2 ** 32))).toBe(true); };
  if (opts.busMaster !== false) ecam.write(0, 1, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
  if (opts.msix !== false) {
    h.bus.write(bar2, 4, MSI_ADDR, 0); h.bus.write(bar2 + 4, 4, 0, 0); h.bus.write(bar2 + 8, 4, MSI_DATA, 0); h.bus.write(bar2 + 12, 4, 0, 0);
    const cap = edu.msix!.cap;
    ecam.write(0, 1, 0, cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
  }
  return { ...h, edu, ecam, bar0, bar2, r, w, w64, remapper };
}

describe('edu', () => {
  it('identification, liveness and unknown offsets behave as QEMU edu', () => {
    const { r, w, bus, bar0 } = rig();
    expect(r(EDU_REG.id)).toBe(EDU_ID_VALUE);
    w(EDU_REG.liveness, 0x12345678);
    expect(r(EDU_REG.liveness)).toBe(~0x12345678 >>> 0);
    expect(r(0x10)).toBe(0xffffffff); // unknown register
    expect(bus.read(bar0 + EDU_REG.id, 2)).toBe(true); // registers < 0x80 take 4-byte accesses only
    expect(bus.value.lo).toBe(0xffff);
  });

  it('computes a factorial in simulated time and raises MSI-X vector 0 when asked', () => {
    const { r, w, timer, remapper, edu } = rig();
    w(EDU_REG.status, 0x80);
    w(EDU_REG.fact, 10);
    expect(r(EDU_REG.status) & 1).toBe(1); // computing
    w(EDU_REG.fact, 3); // ignored while computing
    timer.run();
    expect(r(EDU_REG.status) & 1).toBe(0);
    expect(r(EDU_REG.fact)).toBe(3628800);
    expect(r(EDU_REG.irqStatus)).toBe(1);
    expect(remapper.log).toEqual([{ rid: 0x100, addr: MSI_ADDR, data: MSI_DATA }]);
    expect(timer.t).toBe(edu.costs.factBaseNs + 10 * edu.costs.factStepNs);
    w(EDU_REG.irqAck, 1);
    expect(r(EDU_REG.irqStatus)).toBe(0);
    w(EDU_REG.fact, 13); timer.run();
    expect(r(EDU_REG.fact)).toBe(1932053504); // 13! mod 2^32
  });

  it('DMA from RAM into the buffer and back out, through the translator, with an interrupt and a cost', () => {
    const { w, w64, timer, remapper, mem, edu, bus, bar0, pcie } = rig();
    const src = RAM_BASE + 0x10000, dst = RAM_BASE + 0x20000;
    for (let i = 0; i < 256; i++) mem.writeU8(src + i, i ^ 0x5a);
    w64(EDU_REG.dmaSrc, src); w64(EDU_REG.dmaDst, EDU_DMA_START + 0x100); w64(EDU_REG.dmaCount, 256);
    w(EDU_REG.dmaCmd, 1 | 4);
    expect(mmio32(bus, bar0 + EDU_REG.dmaCmd) & 1).toBe(1);
    w64(EDU_REG.dmaCount, 7); // ignored while running
    timer.run();
    expect(timer.t).toBe(edu.costs.dmaSetupNs + 256 / edu.costs.dmaBytesPerNs);
    expect(mmio32(bus, bar0 + EDU_REG.dmaCmd) & 1).toBe(0);
    expect(mmio32(bus, bar0 + EDU_REG.irqStatus)).toBe(0x100);
    expect(edu.buffer[0x100 + 7]).toBe(7 ^ 0x5a);
    expect(mmio32(bus, bar0 + EDU_DMA_START + 0x100)).toBe(((3 ^ 0x5a) << 24 | (2 ^ 0x5a) << 16 | (1 ^ 0x5a) << 8 | 0x5a) >>> 0);
    // back out, across a page boundary of RAM
    w64(EDU_REG.dmaSrc, EDU_DMA_START + 0x100); w64(EDU_REG.dmaDst, dst + 4096 - 100); w64(EDU_REG.dmaCount, 256);
    w(EDU_REG.dmaCmd, 1 | 2 | 4);
    timer.run();
    for (let i = 0; i < 256; i++) expect(mem.readU8(dst + 4096 - 100 + i)).toBe(i ^ 0x5a);
    expect(remapper.log.length).toBe(2);
    expect(edu.stats).toMatchObject({ dmas: 2, dmaBytes: 512, dmaErrors: 0 });
    expect(pcie.channels[0]!.stats.dmaTranslations).toBe(1 + 2); // one page, then two
  });

  it('no DMA without Bus Master Enable: an IoFault bus-master, no byte moved', () => {
    const { w, w64, timer, mem, edu, pcie } = rig({ busMaster: false });
    mem.fill(RAM_BASE + 0x3000, 64, 0xee);
    w64(EDU_REG.dmaSrc, EDU_DMA_START); w64(EDU_REG.dmaDst, RAM_BASE + 0x3000); w64(EDU_REG.dmaCount, 64);
    w(EDU_REG.dmaCmd, 1 | 2);
    timer.run();
    expect(mem.readU8(RAM_BASE + 0x3000)).toBe(0xee);
    expect(edu.stats.dmaErrors).toBe(1);
    const ss = pcie.channels[0]!;
    expect(ss.faults).toEqual([{ time: expect.any(Number), rid: 0x100, addr: RAM_BASE + 0x3000, kind: 'bus-master', access: 2 }]);
  });

  it('a bridge without Bus Master Enable blocks DMA from below it too', () => {
    const { w, w64, timer, ecam, pcie } = rig();
    ecam.write(0, 0, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    w64(EDU_REG.dmaSrc, RAM_BASE); w64(EDU_REG.dmaDst, EDU_DMA_START); w64(EDU_REG.dmaCount, 8);
    w(EDU_REG.dmaCmd, 1);
    timer.run();
    expect(pcie.channels[0]!.faults.map((f) => f.kind)).toEqual(['bus-master']);
  });

  it('refuses a DMA outside its buffer, and a DMA to an address that is not RAM is a master abort', () => {
    const { w, w64, timer, edu, ecam } = rig();
    w64(EDU_REG.dmaSrc, RAM_BASE); w64(EDU_REG.dmaDst, EDU_DMA_START + 4000); w64(EDU_REG.dmaCount, 200);
    w(EDU_REG.dmaCmd, 1);
    timer.run();
    expect(edu.stats.dmaErrors).toBe(1);
    w64(EDU_REG.dmaSrc, 0x1000); w64(EDU_REG.dmaDst, EDU_DMA_START); w64(EDU_REG.dmaCount, 16);
    w(EDU_REG.dmaCmd, 1);
    timer.run();
    expect(edu.stats.dmaErrors).toBe(2);
    expect(ecam.read(0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT).toBe(PCI_STATUS_REC_MASTER_ABORT);
    ecam.write(0, 1, 0, PCI_STATUS, 2, PCI_STATUS_REC_MASTER_ABORT); // RW1C
    expect(ecam.read(0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_REC_MASTER_ABORT).toBe(0);
  });

  it('translation faults stop the DMA at the page and the translator decides per page', () => {
    class HalfTranslator extends IdentityTranslator {
      override translate(rid: number, iova: number, access: number, cost: { cycles: number }): number {
        const r = super.translate(rid, iova, access, cost);
        cost.cycles = 40;
        return iova >= RAM_BASE + 0x5000 ? -1 : r;
      }
    }
    const { w, w64, timer, mem, edu } = rig({ translator: new HalfTranslator() });
    w64(EDU_REG.dmaSrc, EDU_DMA_START); w64(EDU_REG.dmaDst, RAM_BASE + 0x5000 - 16); w64(EDU_REG.dmaCount, 32);
    edu.buffer.fill(0x77);
    w(EDU_REG.dmaCmd, 1 | 2);
    timer.run();
    expect(mem.readU8(RAM_BASE + 0x5000 - 1)).toBe(0x77); // the first page was written
    expect(mem.readU8(RAM_BASE + 0x5000)).toBe(0); // the refused page was not
    expect(edu.stats.dmaErrors).toBe(1);
    // translation cycles delay the completion: 500 + 32/4 ns, then 2 x 40 cycles (1 GHz)
    expect(timer.t).toBe(500 + 8 + 80);
  });

  it('without MSI-X, interrupts assert INTx (Status.Interrupt) until acknowledged', () => {
    const { w, ecam, remapper } = rig({ msix: false });
    w(EDU_REG.irqRaise, 0x1000);
    expect(ecam.read(0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT).toBe(PCI_STATUS_INTERRUPT);
    w(EDU_REG.irqAck, 0x1000);
    expect(ecam.read(0, 1, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT).toBe(0);
    expect(remapper.log).toEqual([]);
  });

  it('FLR through Device Control resets the device, its config space and its MSI-X state, and drops its DMA', () => {
    const { w, w64, timer, ecam, edu, bus, bar0, mem } = rig();
    w(EDU_REG.liveness, 5);
    mem.fill(RAM_BASE + 0x6000, 64, 0);
    edu.buffer.fill(0x99);
    w64(EDU_REG.dmaSrc, EDU_DMA_START); w64(EDU_REG.dmaDst, RAM_BASE + 0x6000); w64(EDU_REG.dmaCount, 64);
    w(EDU_REG.dmaCmd, 1 | 2);
    const devctl = edu.pcieCap + PCI_EXP_DEVCTL;
    ecam.write(0, 1, 0, devctl, 2, ecam.read(0, 1, 0, devctl, 2) | PCI_EXP_DEVCTL_BCR_FLR);
    expect(edu.flrCount).toBe(1);
    expect(ecam.read(0, 1, 0, devctl, 2) & PCI_EXP_DEVCTL_BCR_FLR).toBe(0); // reads 0
    expect(ecam.read(0, 1, 0, PCI_COMMAND, 2)).toBe(0);
    expect(ecam.read(0, 1, 0, 0x10, 4)).toBe(0); // BAR cleared
    expect(bus.read(bar0, 4)).toBe(false); // no longer decoded
    expect(edu.msix!.enabled).toBe(false);
    expect(edu.msix!.isMasked(0)).toBe(true);
    timer.run();
    expect(mem.readU8(RAM_BASE + 0x6000)).toBe(0); // the DMA in flight was dropped
    expect(edu.buffer[0]).toBe(0);
  });
});
