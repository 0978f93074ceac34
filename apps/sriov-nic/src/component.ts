// The sriov-nic host component (variant `pf`): dom0's PF driver for every sriov-nic in the PCIe
// topology (bound at boot, after enumeration: `numvfs` VFs enabled, as a boot-time
// `echo N > sriov_numvfs`), and each PF's uplink as a port on a pv-net bridge (`bridge`), so VF
// domains and vif domains share a network; in VEPA mode the port hairpins.
import { bindSingleton, definePlugin, defineToken, p, resolve, StatGroup, type DependencyContainer } from '@tachyxx/core';
import type { HostComponent, HostServices } from '@tachyxx/hypervisor';
import { PASSTHROUGH_COMPONENT, type PassthroughComponent } from '@tachyxx/passthrough';
import { PCIE_FACTORY, SRIOV_CONTROL_ID, type PcieHost, type SriovHostControl } from '@tachyxx/pcie';
import { PVNET_COMPONENT, type BridgePort, type PvNetComponent } from '@tachyxx/pv-net';
import { nicsOf, PfDriver } from './pf-driver.js';
import { NIC_MAX_VFS } from './regs.js';
import './model.js';

export const SRIOV_NIC_COMPONENT = defineToken<SriovNicComponent>('sriov-nic.Component');

export interface SriovNicSettings {
  /** VFs each PF driver enables at boot (0: none until `xl pci-sriov-numvfs`). */
  readonly numvfs: number;
  /** The pv-net bridge the PFs' uplinks join ('' = no uplink). */
  readonly bridge: string;
}

export class SriovNicComponent implements HostComponent, SriovHostControl {
  readonly id = SRIOV_CONTROL_ID;
  /** PF drivers by PcieHost (one host per component in practice; lspci builds its own). */
  private readonly byHost = new Map<PcieHost, PfDriver[]>();
  private hostDrivers: PfDriver[] = [];
  readonly uplinks: BridgePort[] = [];
  private log: (line: string) => void = () => {};

  constructor(readonly settings: SriovNicSettings, private readonly pt: PassthroughComponent | null, private readonly pvnet: PvNetComponent | null) {}

  /** The boot driver (PcieHost.bootDrivers): a PF driver per NIC, `numvfs` VFs enabled. */
  probe(host: PcieHost): void {
    const drivers: PfDriver[] = [];
    for (const nic of nicsOf(host)) {
      const d = new PfDriver(host, nic, () => nic.timer.now());
      d.log = (l) => this.log(l);
      if (this.settings.numvfs > 0) {
        const rc = d.setNumVfs(Math.min(this.settings.numvfs, d.totalVfs));
        if (rc < 0) throw new Error(`sriov-nic ${d.bdf}: enabling ${this.settings.numvfs} VFs failed (${rc})`);
      }
      drivers.push(d);
    }
    this.byHost.set(host, drivers);
  }

  attach(h: HostServices): void {
    this.log = (l) => h.log(`(d0) ${l}`);
    if (this.pt === null) return;
    const pcie = this.pt.pcie; // enumerated (and probed) by passthrough's attach
    this.hostDrivers = this.byHost.get(pcie) ?? [];
    this.hostDrivers.forEach((d, i) => mountStats(h.stats.mount(`host.sriov-nic.pf${i}`, new StatGroup()), d));
    if (this.settings.bridge === '' || this.pvnet === null) return;
    for (const d of this.hostDrivers) {
      const nic = d.nic;
      const name = `sriov${d.bdf.slice(5).replace(/[:]/g, '.')}`; // sriov01.00.0
      const port = this.pvnet.bridges.attach(this.settings.bridge, name, (f) => nic.fromUplink(f.data));
      port.needsCsum = true; // the NIC does no checksum offload
      port.hairpin = nic.switchMode === 'vepa';
      nic.uplink = (f) => { port.hairpin = nic.switchMode === 'vepa'; port.send({ data: f, csumBlank: false, validated: false }); };
      this.uplinks.push(port);
    }
  }

  /** The PF drivers of the running host. */
  get drivers(): readonly PfDriver[] { return this.hostDrivers; }

  /** The driver of the PF at `bdf` ("0000:01:00.0" or "01:00.0"), if any. */
  driver(bdf: string): PfDriver | undefined {
    const full = /^[0-9a-f]{4}:/i.test(bdf) ? bdf.toLowerCase() : `0000:${bdf.toLowerCase()}`;
    return this.hostDrivers.find((d) => d.bdf === full);
  }

  /** `sriov_numvfs` of the PF at `bdf`: 0 or a negative errno (-ENODEV: no such PF). */
  setNumVfs(bdf: string, n: number): number {
    const d = this.driver(bdf);
    if (d === undefined) return -19;
    return d.setNumVfs(n, (k) => (d.nic.vfs[k - 1]?.owner ?? 0) !== 0);
  }
}

/** `host.sriov-nic.pfN`: the switch and mailbox counters, the PF driver's, and each VF port's (sampled: the device keeps plain numbers). */
function mountStats(g: StatGroup, d: PfDriver): void {
  const nic = d.nic;
  const desc: Record<keyof typeof nic.stats, string> = {
    switchedLocal: 'frames switched between functions inside the NIC (VEB)', toUplink: 'frames sent out of the uplink',
    fromUplink: 'frames received from the uplink', uplinkNoMatch: 'uplink frames no function wanted', spoofed: 'TX frames refused: source MAC not the VF\'s',
    vlanRefused: 'TX frames refused: a VLAN tag from a port-VLAN VF', uplinkDown: 'frames with no uplink to leave by',
    mbxRequests: 'VF mailbox requests accepted', mbxDrops: 'VF mailbox requests dropped (one still pending)', vfEnables: 'VF Enable transitions',
    vfResets: 'VF resets (FLR, VF disable)',
  };
  for (const k of Object.keys(desc) as (keyof typeof nic.stats)[]) g.sampled(k, 'count', desc[k], () => nic.stats[k]);
  const drv = g.group('driver');
  for (const k of Object.keys(d.stats) as (keyof typeof d.stats)[]) drv.sampled(k, 'count', `PF driver: ${k}`, () => d.stats[k]);
  nic.ports.forEach((p, i) => {
    const pg = g.group(i === 0 ? 'pf' : `vf${i}`);
    for (const k of Object.keys(p.c) as (keyof typeof p.c)[]) pg.sampled(k, k === 'dmaCycles' ? 'cycle' : k.endsWith('Bytes') ? 'byte' : 'count', `${i === 0 ? 'PF' : `VF ${i}`} ${k}`, () => p.c[k]);
  });
}

export const sriovNicPf = definePlugin({
  id: 'sriov-nic',
  variant: 'pf',
  description: "dom0's PF driver for sriov-nic devices (VFs enabled at boot, per-VF MAC/VLAN/rate, mailbox) and each PF's uplink on a pv-net bridge",
  params: {
    numvfs: p.uint(0, `VFs each PF driver enables at boot (0..${NIC_MAX_VFS}, capped at the NIC's TotalVFs), as echo N > sriov_numvfs`),
    bridge: p.string('xenbr0', "the pv-net bridge each PF's uplink joins ('' = none)"),
  },
  provides: [SRIOV_NIC_COMPONENT],
  requires: [PCIE_FACTORY, PASSTHROUGH_COMPONENT, PVNET_COMPONENT],
  component: SRIOV_NIC_COMPONENT,
  register(c, prm) {
    const settings = { numvfs: Math.min(prm.numvfs, NIC_MAX_VFS), bridge: prm.bridge };
    bindSingleton(c, SRIOV_NIC_COMPONENT, (cc: DependencyContainer) => new SriovNicComponent(settings, resolve(cc, PASSTHROUGH_COMPONENT), resolve(cc, PVNET_COMPONENT)));
    resolve(c, PCIE_FACTORY).bootDrivers.push((host) => resolve(c, SRIOV_NIC_COMPONENT).probe(host));
  },
});

export const SRIOV_NIC_PLUGINS = [sriovNicPf] as const;
