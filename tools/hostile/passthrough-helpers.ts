// Shared by tools/hostile/passthrough-*.test.ts: an in-process toolstack (the one `tachyxx host`
// runs: `list` answers as for xl) whose host has two edu functions (01:00.0 for the attacker,
// 02:00.0 for the victim), an IOMMU, an interrupt remapper and passthrough; the guest's side of
// physdev_op / event_channel_op for a domain, from the test.
import { join } from 'node:path';
import {
  DOMID_SELF, EvtchnBindPirq, EvtchnOp, GUEST_RAM_BASE, Hypercall, MapPirqType, PhysdevMapPirq, PhysdevOp,
} from '@tachyxx/abi';
import { PluginRegistry, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { HYPERVISOR_PLUGINS, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { EVTCHN_PLUGINS } from '@tachyxx/evtchn';
import { PCIE_PLUGINS, type EduDevice } from '@tachyxx/pcie';
import { IOMMU_PLUGINS, type IommuComponent } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS, type IrqRemapComponent } from '@tachyxx/irq-remap';
import { PASSTHROUGH_PLUGINS, type PassthroughComponent } from '@tachyxx/passthrough';
import { HostRunner, Toolstack, type OpContext } from '@tachyxx/toolstack';
import { ROOT, testIsa } from '../test/io-helpers.js';

export const PAGE = 4096;
export const MISSION = 0x80f0_0000;
export const ATTACKER_BDF = '01:00.0';
export const VICTIM_BDF = '02:00.0';
export const ARG = GUEST_RAM_BASE + 14 * 1024 * 1024;

export function ptHost(o: { iommu?: string; irq?: string; unsafe?: boolean } = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins, ...HYPERVISOR_PLUGINS, ...EVTCHN_PLUGINS, ...PCIE_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PASSTHROUGH_PLUGINS]);
  const iommu = o.unsafe ? { variant: o.iommu ?? 'none', 'unsafe-passthrough': true } : (o.iommu ?? 'shared-stage2');
  const config = hostConfigFromObject({
    pcpus: 2, memoryMiB: 512,
    components: { isa: testIsa(), mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo', pcie: { variant: 'ecam', topology: 'edu, edu' }, iommu, 'irq-remap': o.irq ?? 'posted', passthrough: 'pv' },
  }, reg);
  const ts = new Toolstack({ config, registry: reg, restartDelayMs: 0 });
  const comp = ts.assembled.component<PassthroughComponent>('passthrough');
  let id = 1;
  const ctx: OpContext = { send: () => true, addStream: () => {}, endStream: () => {} } as unknown as OpContext;
  const op = <T = any>(name: string, args: Record<string, unknown> = {}) => ts.op(name, args, ctx, id++) as Promise<T>;
  return {
    ts, op, pt: comp.passthrough, pcie: comp.pcie,
    iommu: ts.assembled.component<IommuComponent>('iommu'),
    irq: ts.assembled.component<IrqRemapComponent>('irq-remap'),
    attackerEdu: comp.pcie.find('0/rp0/edu') as EduDevice,
    victimEdu: comp.pcie.find('0/rp1/edu') as EduDevice,
    dom: (domid: number) => ts.host.domains.get(domid)!,
  };
}

/** An xl.cfg-like domain_config (libxl JSON) for guests/build/NAME.elf with `pcidevs`. */
export function cfg(name: string, guest: string, pcidevs: unknown[] = [], memMiB = 16) {
  return {
    c_info: { name, type: 'pv' },
    b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: memMiB * 1024, target_memkb: memMiB * 1024, kernel: join(ROOT, 'guests/build', `${guest}.elf`) },
    pcidevs,
  };
}

/** Runs the toolstack's host until `pred` holds (or `maxSteps` slices). */
export async function runUntil(ts: Toolstack, pred: () => boolean, maxSteps = 4000): Promise<void> {
  const r = new HostRunner(ts, { paced: false });
  for (let i = 0; i < maxSteps && !pred(); i++) {
    r.step();
    await new Promise((res) => setImmediate(res));
  }
  if (!pred()) throw new Error('condition not reached');
}


/** The victim's driver, from the test: MSI-X entry 0 of `bus:devfn` mapped to a pirq and bound. */
export function victimIrq(ts: Toolstack, d: Domain<Vcpu>, bus: number, devfn: number): { pirq: number; port: number } {
  const L = PhysdevMapPirq;
  const b = new Uint8Array(L.size);
  const v = new DataView(b.buffer);
  v.setUint16(0, DOMID_SELF, true); v.setInt32(4, MapPirqType.MSI, true); v.setInt32(8, -1, true); v.setInt32(12, -1, true);
  v.setInt32(16, bus, true); v.setInt32(20, devfn, true); v.setInt32(24, 0, true); v.setUint32(32, 0x2310_0000, true);
  d.access.write(ARG, b);
  const call = (nr: number, a0: number) => ts.host.hypercalls.dispatch(d.vcpus[0]!, nr, { a0, a1: ARG, a2: 0, a3: 0, a4: 0, a5: 0 });
  if (call(Hypercall.physdev_op, PhysdevOp.map_pirq) < 0) throw new Error('victim map_pirq failed');
  const pirq = d.access.readU32(ARG + L.pirq.offset) as number;
  d.access.write(ARG, new Uint8Array(EvtchnBindPirq.size));
  d.access.writeU32(ARG, pirq);
  if (call(Hypercall.event_channel_op, EvtchnOp.bind_pirq) < 0) throw new Error('victim bind_pirq failed');
  return { pirq, port: d.access.readU32(ARG + EvtchnBindPirq.port.offset) as number };
}

/** The mission eduevil reads at MISSION (guests/eduevil/eduevil.c struct mission). */
export function writeMission(d: Domain<Vcpu>, m: { dma?: number[]; msi?: 0 | 1 | 2; handle?: number; victimBdf?: number; bar?: number }): void {
  const b = new Uint8Array(64);
  const v = new DataView(b.buffer);
  const dma = m.dma ?? [];
  v.setUint32(0, 0x4c495645, true);
  v.setUint32(4, dma.length, true);
  dma.forEach((a, i) => { v.setUint32(8 + 8 * i, a % 2 ** 32, true); v.setUint32(12 + 8 * i, Math.floor(a / 2 ** 32), true); });
  v.setUint32(40, m.msi ?? 0, true);
  v.setUint32(44, m.handle ?? 0, true);
  v.setUint32(48, m.victimBdf ?? 0, true);
  v.setUint32(56, (m.bar ?? 0) % 2 ** 32, true);
  v.setUint32(60, Math.floor((m.bar ?? 0) / 2 ** 32), true);
  if (d.access.write(MISSION, b) < 0) throw new Error('mission not written');
}

/** The machine address of `d`'s guest-physical `gpa`. */
export const maOf = (d: Domain<Vcpu>, gpa: number) => d.p2m!.lookup(Math.floor(gpa / PAGE)) * PAGE + (gpa % PAGE);

/**
 * Every RAM page of `d` by machine address (a copy); not its special pages (shared_info: the
 * hypervisor writes event and time state there on its own).
 */
export function snapshot(ts: Toolstack, d: Domain<Vcpu>): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const special = new Set(d.specialPages.values());
  d.p2m!.forEachMapping((_g, mfn, _p, n) => {
    for (let i = 0; i < n; i++) {
      if (ts.host.machine.ownerOf(mfn + i) !== d.domid || special.has(mfn + i)) continue;
      out.set(mfn + i, ts.host.machine.mem.readBytes((mfn + i) * PAGE, PAGE));
    }
  });
  return out;
}
