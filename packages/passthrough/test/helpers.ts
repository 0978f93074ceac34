// An assembled host with PCIe, an IOMMU, an interrupt remapper and passthrough, and the guest's
// side of physdev_op / event_channel_op driven from the test (structs in guest memory, hypercalls
// dispatched from vCPU 0), as the C driver does them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DOMID_SELF, EvtchnBindPirq, EvtchnOp, GUEST_RAM_BASE, Hypercall, MapPirqType, PhysdevMapPirq, PhysdevOp,
  PhysdevTachyxxPciConfig, PhysdevUnmapPirq, PHYSDEVOP_tachyxx_pci_config_read, PHYSDEVOP_tachyxx_pci_config_write,
} from '@tachyxx/abi';
import { parseHostConfig, PluginRegistry } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { assembleHost, HYPERVISOR_PLUGINS, type Domain, type Host, type Vcpu } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS, type EvtchnComponent } from '@tachyxx/evtchn';
import { IOMMU_PLUGINS, type IommuComponent } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS, type IrqRemapComponent } from '@tachyxx/irq-remap';
import { EduDevice, PCIE_PLUGINS } from '@tachyxx/pcie';
import { PASSTHROUGH_PLUGINS, type PassthroughComponent, type Sbdf } from '../src/index.js';

export const HELLO = readFileSync(join(import.meta.dirname, '../../../guests/build/hello.elf'));
export const SPIN = readFileSync(join(import.meta.dirname, '../../../guests/build/spin.elf'));
/** edu behind root port 0 of the default topology. */
export const EDU: Sbdf = { seg: 0, bus: 1, devfn: 0 };
export const ARG = GUEST_RAM_BASE + 3 * 1024 * 1024;
export const PAGE = 4096;

export interface HostOpts { iommu?: string; irq?: string; unsafe?: boolean; topology?: string }

export function ptHost(o: HostOpts = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...PCIE_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PASSTHROUGH_PLUGINS]);
  const iommu = o.unsafe ? `{ variant: ${o.iommu ?? 'none'}, unsafe-passthrough: true }` : (o.iommu ?? 'shared-stage2');
  const yaml = `components:\n  isa: tachy-v1\n  mmu: tagged\n  sched: credit\n  hypervisor: xen\n  evtchn: fifo\n  pcie: { variant: ecam, topology: "${o.topology ?? 'edu'}" }\n  iommu: ${iommu}\n  irq-remap: ${o.irq ?? 'posted'}\n  passthrough: pv\n`;
  const log: string[] = [];
  const out = new Map<string, string>();
  const a = assembleHost(parseHostConfig(yaml, reg, { file: 'host.yaml' }), reg, {
    console: (d, b) => out.set(d.name, (out.get(d.name) ?? '') + new TextDecoder().decode(b)),
    log: (l) => log.push(l),
  });
  const comp = a.component<PassthroughComponent>('passthrough');
  return {
    a, host: a.host, log, out, comp, pt: comp.passthrough, pcie: comp.pcie,
    ev: a.component<EvtchnComponent>('evtchn').channels,
    iommu: a.component<IommuComponent>('iommu'),
    irq: a.component<IrqRemapComponent>('irq-remap'),
    edu: comp.pcie.find('0/rp0/edu') as EduDevice,
  };
}

const hc = (host: Host, d: Domain<Vcpu>, nr: number, a0: number, a1: number) => host.hypercalls.dispatch(d.vcpus[0]!, nr, { a0, a1, a2: 0, a3: 0, a4: 0, a5: 0 });

/** The guest's config read through physdev_op; the value, or -errno. */
export function cfgRead(host: Host, d: Domain<Vcpu>, a: Sbdf, reg: number, len: number): number {
  const L = PhysdevTachyxxPciConfig;
  const b = new Uint8Array(L.size);
  const v = new DataView(b.buffer);
  v.setUint16(0, a.seg, true); v.setUint8(2, a.bus); v.setUint8(3, a.devfn); v.setUint16(4, reg, true); v.setUint8(6, len);
  d.access.write(ARG, b);
  const rc = hc(host, d, Hypercall.physdev_op, PHYSDEVOP_tachyxx_pci_config_read, ARG);
  return rc < 0 ? rc : d.access.readU32(ARG + L.value.offset) as number;
}

export function cfgWrite(host: Host, d: Domain<Vcpu>, a: Sbdf, reg: number, len: number, value: number): number {
  const L = PhysdevTachyxxPciConfig;
  const b = new Uint8Array(L.size);
  const v = new DataView(b.buffer);
  v.setUint16(0, a.seg, true); v.setUint8(2, a.bus); v.setUint8(3, a.devfn); v.setUint16(4, reg, true); v.setUint8(6, len); v.setUint32(8, value >>> 0, true);
  d.access.write(ARG, b);
  return hc(host, d, Hypercall.physdev_op, PHYSDEVOP_tachyxx_pci_config_write, ARG);
}

/** PHYSDEVOP_map_pirq for MSI-X entry `entry` of `a`; the pirq or -errno. */
export function mapPirq(host: Host, d: Domain<Vcpu>, a: Sbdf, entry: number, o: { pirq?: number; domid?: number; tableBase?: number } = {}): number {
  const L = PhysdevMapPirq;
  const b = new Uint8Array(L.size);
  const v = new DataView(b.buffer);
  v.setUint16(0, o.domid ?? DOMID_SELF, true); v.setInt32(4, MapPirqType.MSI_SEG, true); v.setInt32(8, -1, true); v.setInt32(12, o.pirq ?? -1, true);
  v.setInt32(16, (a.seg << 16) | a.bus, true); v.setInt32(20, a.devfn, true); v.setInt32(24, entry, true); v.setUint32(32, o.tableBase ?? 0x2310_0000, true);
  d.access.write(ARG, b);
  const rc = hc(host, d, Hypercall.physdev_op, PhysdevOp.map_pirq, ARG);
  return rc < 0 ? rc : d.access.readU32(ARG + L.pirq.offset) as number;
}

export function unmapPirq(host: Host, d: Domain<Vcpu>, pirq: number): number {
  const b = new Uint8Array(PhysdevUnmapPirq.size);
  const v = new DataView(b.buffer);
  v.setUint16(0, DOMID_SELF, true); v.setInt32(4, pirq, true);
  d.access.write(ARG, b);
  return hc(host, d, Hypercall.physdev_op, PhysdevOp.unmap_pirq, ARG);
}

/** EVTCHNOP_bind_pirq; the port or -errno. */
export function bindPirq(host: Host, d: Domain<Vcpu>, pirq: number): number {
  d.access.write(ARG, new Uint8Array(EvtchnBindPirq.size));
  d.access.writeU32(ARG + EvtchnBindPirq.pirq.offset, pirq);
  const rc = hc(host, d, Hypercall.event_channel_op, EvtchnOp.bind_pirq, ARG);
  return rc < 0 ? rc : d.access.readU32(ARG + EvtchnBindPirq.port.offset) as number;
}

/** The machine address of `d`'s guest-physical `gpa`. */
export const maOf = (d: Domain<Vcpu>, gpa: number) => d.p2m!.lookup(Math.floor(gpa / PAGE)) * PAGE + (gpa % PAGE);
