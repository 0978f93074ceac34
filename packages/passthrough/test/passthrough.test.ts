// Passthrough on an assembled host: assign (IOMMU context, BARs in the guest window, owner),
// physdev_op config access through pciback's filter, map_pirq through the remapper to a pirq
// event channel, and detach / domain death revoking all of it.
import { describe, expect, it } from 'vitest';
import { DMA_WRITE } from '@tachyxx/core';
import { Errno, GUEST_RAM_BASE, GUEST_VPCI_MEM_ADDR } from '@tachyxx/abi';
import { EDU_DMA_START, EDU_REG, EDU_DMA_RUN, EDU_DMA_TO_PCI, EDU_DMA_IRQ_EN, PCI_COMMAND_MASTER, PCI_COMMAND_MEMORY } from '@tachyxx/pcie';
import { formatSbdf, parseSbdf, Passthrough } from '../src/index.js';
import { bindPirq, cfgRead, cfgWrite, EDU, HELLO, mapPirq, maOf, PAGE, ptHost, SPIN, unmapPirq } from './helpers.js';

const BAR0_MA = 0x4000_0000;

describe('sbdf', () => {
  it('parses [DDDD:]BB:DD.F and formats as libxl does', () => {
    expect(parseSbdf('01:00.0')).toEqual({ seg: 0, bus: 1, devfn: 0 });
    expect(parseSbdf('0001:0a:1f.7')).toEqual({ seg: 1, bus: 10, devfn: 0xff });
    expect(formatSbdf(parseSbdf('1:2:3.4'))).toBe('0001:02:03.4');
    expect(() => parseSbdf('01:20.0')).toThrow(/device 0x20 is out of range/);
    expect(() => parseSbdf('01:00.8')).toThrow(/not a PCI address/);
    expect(() => parseSbdf('xyz')).toThrow(/\[DDDD:\]BB:DD\.F/);
  });
});

describe('assign', () => {
  it('needs pci-assignable-add, then maps the BARs into the guest window with the IOMMU context on the domain', () => {
    const { host, pt, iommu, edu } = ptHost();
    const d = host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    expect(pt.assign(d.domid, EDU).rc).toBe(-Errno.EBUSY);
    expect(pt.assign(d.domid, { seg: 0, bus: 7, devfn: 0 }).rc).toBe(-Errno.ENODEV);
    expect(pt.assignableAdd({ seg: 0, bus: 0, devfn: 0 }).rc).toBe(-Errno.EINVAL); // the root port
    expect(pt.assignableAdd(EDU).rc).toBe(0);
    expect(pt.assignableList().map(formatSbdf)).toEqual(['0000:01:00.0']);
    expect(pt.assign(d.domid, EDU).rc).toBe(0);
    expect(pt.assignableList()).toEqual([]);
    expect(edu.owner).toBe(d.domid);
    expect(iommu.unit(0).context(edu.rid)?.domid).toBe(d.domid);
    const as = pt.assignment(EDU)!;
    expect(as.bars.map((b) => [b.bar, b.gpa])).toEqual([[0, GUEST_VPCI_MEM_ADDR], [2, GUEST_VPCI_MEM_ADDR + 0x10_0000]]);
    expect(d.p2m!.lookup(GUEST_VPCI_MEM_ADDR / PAGE)).toBe(BAR0_MA / PAGE);
    expect(d.p2m!.lookup(GUEST_VPCI_MEM_ADDR / PAGE + 255)).toBe(BAR0_MA / PAGE + 255);
    // Its DMA goes to the domain's memory by guest-physical address.
    const io = iommu.unit(0);
    expect(io.translate(edu.rid, GUEST_RAM_BASE + 0x5000, DMA_WRITE, { cycles: 0 })).toBe(maOf(d, GUEST_RAM_BASE + 0x5000));
    // A second domain cannot have it.
    const e = host.createDomain({ name: 'h', image: HELLO, memoryMiB: 4, paused: true });
    expect(pt.assign(e.domid, EDU)).toMatchObject({ rc: -Errno.EBUSY, reason: expect.stringMatching(/already assigned to domain/) });
    expect(pt.assignableRemove(EDU).rc).toBe(-Errno.EBUSY);
    expect(pt.stats.refused.value).toBe(2 + 1);
  });

  it('iommu none: refused (-EOPNOTSUPP) unless unsafe-passthrough, then allowed with a warning', () => {
    const safe = ptHost({ iommu: 'none' });
    const d = safe.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    safe.pt.assignableAdd(EDU);
    expect(safe.pt.assign(d.domid, EDU)).toMatchObject({ rc: -Errno.EOPNOTSUPP, reason: expect.stringMatching(/unsafe-passthrough/) });
    expect(safe.edu.owner).toBe(0);
    const unsafe = ptHost({ unsafe: true });
    const e = unsafe.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    unsafe.pt.assignableAdd(EDU);
    expect(unsafe.pt.assign(e.domid, EDU).rc).toBe(0);
    expect(unsafe.log.join('\n')).toMatch(/WARNING: no IOMMU/);
  });
});

describe('physdev_op config space (pciback filter)', () => {
  function assigned(irq = 'posted') {
    const t = ptHost({ irq });
    const d = t.host.createDomain({ name: 'g', image: HELLO, memoryMiB: 4, paused: true });
    t.pt.assignableAdd(EDU);
    expect(t.pt.assign(d.domid, EDU).rc).toBe(0);
    return { ...t, d };
  }

  it('reads ids and capabilities from the device, BARs as guest-physical addresses', () => {
    const { host, d } = assigned();
    expect(cfgRead(host, d, EDU, 0, 4)).toBe(0x11e81234);
    expect(cfgRead(host, d, EDU, 0x10, 4)).toBe(GUEST_VPCI_MEM_ADDR);
    expect(cfgRead(host, d, EDU, 0x18, 4)).toBe(GUEST_VPCI_MEM_ADDR + 0x10_0000);
    expect(cfgRead(host, d, EDU, 0x14, 4)).toBe(0);
    expect(cfgRead(host, d, EDU, 0x30, 4)).toBe(0); // no ROM
    expect(cfgRead(host, d, EDU, 0x34, 1)).toBeGreaterThanOrEqual(0x40);
  });

  it('BAR sizing works, a BAR cannot be moved; the device keeps its machine address', () => {
    const { host, d, edu } = assigned();
    expect(cfgWrite(host, d, EDU, 0x10, 4, 0xffffffff)).toBe(0);
    expect(cfgRead(host, d, EDU, 0x10, 4)).toBe(0xfff00000); // 1 MiB
    expect(cfgWrite(host, d, EDU, 0x10, 4, 0x8000_0000)).toBe(0); // over guest RAM / someone's memory
    expect(cfgRead(host, d, EDU, 0x10, 4)).toBe(GUEST_VPCI_MEM_ADDR);
    expect(edu.decodedBars()[0]!.addr).toBe(BAR0_MA);
    expect(cfgWrite(host, d, EDU, 0x10, 2, 0xffff)).toBe(0); // a 16-bit write does not start sizing
    expect(cfgRead(host, d, EDU, 0x10, 4)).toBe(GUEST_VPCI_MEM_ADDR);
  });

  it('Command: Memory / Bus Master / INTx Disable reach the device, other bits do not; Device Control FLR is dropped', () => {
    const { host, d, edu } = assigned();
    expect(cfgWrite(host, d, EDU, 0x04, 2, 0xffff)).toBe(0);
    expect(edu.configRead(0x04, 2) & 0xffff).toBe(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400);
    const flrs = edu.flrCount;
    expect(cfgWrite(host, d, EDU, edu.pcieCap + 8, 2, 0x8000)).toBe(0);
    expect(edu.flrCount).toBe(flrs);
    // The capability pointer is read-only.
    const cap = cfgRead(host, d, EDU, 0x34, 1);
    expect(cfgWrite(host, d, EDU, 0x34, 1, 0x44)).toBe(0);
    expect(cfgRead(host, d, EDU, 0x34, 1)).toBe(cap);
  });

  it('splits a write over the fields it covers, as pciback: a dword at the MSI-X capability reaches Message Control only', () => {
    const { host, d, edu, pt } = assigned();
    const m = pt.assignment(EDU)!.vcfg.msixCap;
    const head = edu.configRead(m, 2);
    expect(cfgWrite(host, d, EDU, m, 4, 0xc000ffff)).toBe(0); // id/next bytes ignored, Enable + Mask set
    expect(edu.configRead(m, 2)).toBe(head);
    expect(edu.configRead(m + 2, 2) & 0xc000).toBe(0xc000);
    expect(edu.configRead(m + 2, 2) & 0x7ff).toBe(0); // Table Size is read-only
    expect(cfgWrite(host, d, EDU, 0x3c, 4, 0xffff0a0b)).toBe(0);
    expect(cfgRead(host, d, EDU, 0x3c, 1)).toBe(0x0b); // emulated
    expect(edu.configRead(0x3c, 1)).not.toBe(0x0b);
    expect(cfgRead(host, d, EDU, 0x3d, 1)).toBe(1); // Interrupt Pin: the device's, read-only
    expect(cfgWrite(host, d, EDU, 0x05, 1, 0xff)).toBe(0); // Command's high byte: INTx Disable only
    expect(edu.configRead(0x04, 2) & 0xff00).toBe(0x0400);
  });

  it('answers Xen errnos: -EINVAL for bad sizes / alignment / offsets, -ENODEV for a function not its own', () => {
    const { host, d } = assigned();
    expect(cfgRead(host, d, EDU, 0, 3)).toBe(-Errno.EINVAL);
    expect(cfgRead(host, d, EDU, 2, 4)).toBe(-Errno.EINVAL);
    expect(cfgRead(host, d, EDU, 4096, 1)).toBe(-Errno.EINVAL);
    expect(cfgRead(host, d, { seg: 0, bus: 0, devfn: 0 }, 0, 4)).toBe(-Errno.ENODEV);
    const e = host.createDomain({ name: 'other', image: HELLO, memoryMiB: 4, paused: true });
    expect(cfgRead(host, e, EDU, 0, 4)).toBe(-Errno.ENODEV);
    expect(host.hypercalls.dispatch(d.vcpus[0]!, 33, { a0: 0x7a00, a1: 0x10, a2: 0, a3: 0, a4: 0, a5: 0 })).toBe(-Errno.EFAULT);
    expect(host.hypercalls.dispatch(d.vcpus[0]!, 33, { a0: 9999, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 })).toBe(-Errno.ENOSYS);
  });
});

describe('map_pirq: MSI-X through the remapper to an event channel', () => {
  for (const irq of ['posted', 'forwarded', 'none'] as const) {
    it(`${irq}: the edu completion raises the pirq port; the guest cannot map a device it does not hold`, () => {
      const { host, pt, ev, edu, pcie } = ptHost({ irq });
      const d = host.createDomain({ name: 'g', image: SPIN, memoryMiB: 4, paused: true });
      pt.assignableAdd(EDU);
      expect(pt.assign(d.domid, EDU).rc).toBe(0);
      const other = host.createDomain({ name: 'o', image: SPIN, memoryMiB: 4, paused: true });
      expect(mapPirq(host, other, EDU, 0)).toBe(-Errno.ENODEV);
      expect(mapPirq(host, d, EDU, 0, { domid: other.domid })).toBe(-Errno.EPERM);
      expect(mapPirq(host, d, EDU, 1)).toBe(-Errno.EINVAL); // edu has one vector
      expect(mapPirq(host, d, EDU, 0, { tableBase: 0 })).toBe(-Errno.EOPNOTSUPP);
      const pirq = mapPirq(host, d, EDU, 0);
      expect(pirq).toBe(16);
      expect(mapPirq(host, d, EDU, 0)).toBe(-Errno.EBUSY);
      const e = Passthrough.msixEntry(edu, 0);
      expect(e.masked).toBe(false);
      expect(e.addr & 0x10).toBe(irq === 'none' ? 0 : 0x10); // remappable format with a remapper
      const port = bindPirq(host, d, pirq);
      expect(port).toBeGreaterThan(0);
      // The driver: MSI-X on, Memory + Bus Master, a DMA into its own RAM with an interrupt.
      expect(cfgWrite(host, d, EDU, pt.assignment(EDU)!.vcfg.msixCap + 2, 2, 0x8000)).toBe(0);
      expect(cfgWrite(host, d, EDU, 4, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(0);
      edu.buffer.fill(0x5a, 0, 64);
      const bus = pcie.bus;
      bus.write(BAR0_MA + EDU_REG.dmaSrc, 8, EDU_DMA_START, 0);
      bus.write(BAR0_MA + EDU_REG.dmaDst, 8, GUEST_RAM_BASE + 0x2f_0000, 0);
      bus.write(BAR0_MA + EDU_REG.dmaCount, 8, 64, 0);
      bus.write(BAR0_MA + EDU_REG.dmaCmd, 8, EDU_DMA_RUN | EDU_DMA_TO_PCI | EDU_DMA_IRQ_EN, 0);
      host.unpauseDomain(d);
      host.run({ untilNs: host.clock.now + 2_000_000 });
      expect(d.access.readU32(GUEST_RAM_BASE + 0x2f_0000)).toBe(0x5a5a5a5a);
      expect(ev.isPending(d.domid, port)).toBe(true);
      // Unmapped: the entry is masked and the pirq revoked.
      expect(unmapPirq(host, d, pirq)).toBe(0);
      expect(Passthrough.msixEntry(edu, 0).masked).toBe(true);
      expect(unmapPirq(host, d, pirq)).toBe(-Errno.EINVAL);
      expect(bindPirq(host, d, pirq)).toBe(-Errno.EPERM);
    });
  }
});

describe('detach and domain death', () => {
  function withDma(irq = 'posted') {
    const t = ptHost({ irq });
    const d = t.host.createDomain({ name: 'g', image: SPIN, memoryMiB: 4, paused: true });
    t.pt.assignableAdd(EDU);
    expect(t.pt.assign(d.domid, EDU).rc).toBe(0);
    const pirq = mapPirq(t.host, d, EDU, 0);
    expect(cfgWrite(t.host, d, EDU, 4, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)).toBe(0);
    // Warm the IOTLB with the domain's page.
    expect(t.iommu.unit(0).translate(t.edu.rid, GUEST_RAM_BASE, DMA_WRITE, { cycles: 0 })).toBe(maOf(d, GUEST_RAM_BASE));
    return { ...t, d, pirq };
  }

  function revoked(t: ReturnType<typeof withDma>, flrsBefore: number) {
    const { pt, edu, iommu, d, irq } = t;
    expect(edu.owner).toBe(0);
    expect(edu.flrCount).toBeGreaterThan(flrsBefore);
    expect(edu.busMaster).toBe(false);
    expect(edu.decodedBars()[0]!.addr).toBe(BAR0_MA); // dom0's BARs are back
    expect(iommu.unit(0).context(edu.rid)).toBeUndefined();
    expect(Passthrough.msixEntry(edu, 0).masked).toBe(true);
    expect(irq.unit(0).entry(0)).toBeUndefined();
    if (!d.isDying) expect(d.p2m!.lookup(GUEST_VPCI_MEM_ADDR / PAGE)).toBe(-1);
    expect(pt.assignableList().map(formatSbdf)).toEqual(['0000:01:00.0']);
    // A DMA started now (even with Bus Master turned back on by dom0) cannot reach the old domain.
    const faults = iommu.unit(0).queuedFaults;
    edu.configWrite(4, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    const r = edu.dmaWrite(GUEST_RAM_BASE, new Uint8Array(16).fill(0xee), 0, 16);
    expect(r).toMatchObject({ ok: false, fault: 'translation' });
    expect(iommu.unit(0).queuedFaults).toBe(faults + 1);
    edu.configWrite(4, 2, PCI_COMMAND_MEMORY);
  }

  it('xl pci-detach: FLR, IOMMU context and IOTLB entries, IRTEs, pirq and BAR mappings are revoked', () => {
    const t = withDma();
    const flrs = t.edu.flrCount;
    const bytes = t.d.access.readU32(GUEST_RAM_BASE);
    expect(t.pt.deassign(EDU).rc).toBe(0);
    revoked(t, flrs);
    expect(t.d.access.readU32(GUEST_RAM_BASE)).toBe(bytes);
    expect(bindPirq(t.host, t.d, t.pirq)).toBe(-Errno.EPERM);
    expect(t.pt.deassign(EDU).rc).toBe(-Errno.ENODEV);
  });

  it('domain death takes the device back; a new domain gets a clean device', () => {
    const t = withDma('forwarded');
    const flrs = t.edu.flrCount;
    t.host.destroyDomain(t.d);
    revoked(t, flrs);
    const n = t.host.createDomain({ name: 'new', image: SPIN, memoryMiB: 4, paused: true });
    expect(t.pt.assign(n.domid, EDU).rc).toBe(0);
    expect(t.edu.busMaster).toBe(false);
    expect(Passthrough.msixEntry(t.edu, 0)).toEqual({ addr: 0, data: 0, masked: true });
    expect(cfgRead(t.host, n, EDU, 0x10, 4)).toBe(GUEST_VPCI_MEM_ADDR);
    expect(t.iommu.unit(0).context(t.edu.rid)?.domid).toBe(n.domid);
  });
});
