/**
 * The domain builder (libxl_domain_create_new): a libxl domain_config -> a checked build spec ->
 * the files it names read safely -> Host.createDomain -> pool, affinities, grant and event
 * channel limits -> libxl's xenstore entries and the console log. Anything that fails on the way
 * undoes what was done.
 */
import { ImageError } from '@tachyxx/isa';
import { HostError, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import { SchedError, DEFAULT_POOL } from '@tachyxx/sched';
import { createDomainLayout, domainPath, vmPath } from '@tachyxx/xenstore';
import { destroyDomainDevices } from '@tachyxx/xenbus';
import { addVbd, diskSpecFromLibxl, type LibxlDiskLike } from '@tachyxx/pv-blk';
import { attachPci, passthroughOf, type LibxlPciLike } from './pci.js';
import { addVif, vifSpecFromLibxl, type LibxlNicLike } from '@tachyxx/pv-net';
import { ToolstackError } from './protocol.js';
import { MAX_IMAGE_BYTES, checkImageFile, readImageFile } from './image-file.js';
import { toBuildSpec, type BuildSpec } from './domain-config.js';
import { CONSOLE_BUFFER } from './consoles.js';
import { errnoCode, mib, type DomRecord } from './records.js';
import type { Toolstack } from './toolstack.js';

export class DomainBuilder {
  /** Suffix of hypervisor-side names while an old domain still holds the name (rename-restart). */
  private seq = 0;

  constructor(private readonly ts: Toolstack) {}

  /** Builds a domain from a libxl domain_config (xl create). */
  async create(config: unknown, opts: { paused?: boolean } = {}): Promise<{ domid: number; name: string; uuid: string; warnings: string[] }> {
    const spec = toBuildSpec(config, this.ts.topo);
    // The files the config names: regular files only, at most the domain's memory (and
    // libxenguest's 1 GiB), read without blocking the daemon (a FIFO or /dev/zero is refused).
    const limit = Math.min(MAX_IMAGE_BYTES, spec.memoryMiB * 1024 * 1024);
    if (spec.ramdisk) await checkImageFile(spec.ramdisk, 'ramdisk', limit);
    const dt = (config as { b_info?: { device_tree?: unknown } }).b_info?.device_tree;
    if (typeof dt === 'string' && dt !== '') await checkImageFile(dt, 'device_tree', limit);
    const image = await readImageFile(spec.kernel, 'kernel', limit);
    const r = this.build(spec, image, JSON.parse(JSON.stringify(config)) as Record<string, unknown>, { paused: opts.paused ?? false, uuid: spec.uuid });
    for (const w of spec.warnings) this.ts.log(`(d0) xl: warning: ${spec.name}: ${w}`);
    return { domid: r.d.domid, name: r.name, uuid: r.uuid, warnings: spec.warnings };
  }

  /** Builds (or rebuilds, for a restart) a domain from its spec and kernel image. */
  build(spec: BuildSpec, image: Uint8Array, config: Record<string, unknown>, o: { paused: boolean; uuid: string | null; restarts?: number }): DomRecord {
    const { ts } = this;
    const host = ts.host;
    if (ts.closed) throw new ToolstackError('EBUSY', 'the host is shutting down');
    if (ts.records.nameTaken(spec.name)) throw new ToolstackError('EEXIST', `Domain with name "${spec.name}" already exists.`);
    if (spec.pool !== null) ts.pools.internal(spec.pool);
    // Guest RAM plus its P2M tables and special pages (a few frames per 2 MiB).
    const need = spec.memoryMiB * 256 + 16 + Math.ceil(spec.memoryMiB / 2);
    const free = host.machine.freeFrames();
    if (need > free) throw new ToolstackError('ENOMEM', `not enough memory: domain '${spec.name}' needs ${spec.memoryMiB} MiB, the host has ${mib(free)} MiB free`);
    const internalName = host.domains.getByName(spec.name) ? `${spec.name}#${++this.seq}` : spec.name;
    let d: Domain<Vcpu>;
    try {
      d = host.createDomain({
        name: internalName,
        image,
        file: spec.kernel,
        memoryMiB: spec.memoryMiB,
        maxMemoryMiB: spec.maxMemoryMiB,
        vcpus: spec.vcpus,
        maxVcpus: spec.maxVcpus,
        cmdline: spec.cmdline,
        weight: spec.weight,
        cap: spec.cap,
        cpus: spec.hardAll ?? undefined,
        paused: true,
      });
    } catch (e) {
      if (e instanceof HostError) throw new ToolstackError(errnoCode(e.errno), e.message.replace(/^cannot create domain '[^']*': not enough free memory$/, `not enough memory for domain '${spec.name}' (${spec.memoryMiB} MiB)`));
      if (e instanceof ImageError) throw new ToolstackError('EINVAL', `kernel: ${e.message}`);
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
    const uuid = o.uuid ?? d.uuid;
    const r: DomRecord = {
      d, name: spec.name, uuid, config, spec, image,
      targetMemkb: spec.memoryMiB * 1024, maxMemkb: spec.maxMemoryMiB * 1024, availVcpus: spec.vcpus,
      handled: false, startedWall: performance.now(), firstConsoleWall: null,
      console: [], consoleBytes: 0, pendingLog: [], logFd: null, sinks: new Set(), waiters: [], restarts: o.restarts ?? 0,
      rate: ts.consoles.newRate(),
    };
    try {
      const now = host.clock.now;
      if (spec.pool !== null) {
        const internal = ts.pools.internal(spec.pool);
        if (internal !== DEFAULT_POOL) host.sched.moveDomain(d.domid, internal, now);
      }
      d.vcpus.forEach((v, i) => {
        const hard = spec.hardAll ? undefined : spec.hard[i];
        const soft = spec.soft[i];
        if (hard !== undefined && hard !== null) host.sched.setAffinity(v.sched, { hard }, now);
        if (soft !== null && soft !== undefined) host.sched.setAffinity(v.sched, { soft }, now);
      });
      if (spec.maxGrantFrames !== null && ts.grants.setMaxGrantFrames(d.domid, spec.maxGrantFrames) < 0) throw new ToolstackError('EINVAL', `max_grant_frames: ${spec.maxGrantFrames} is out of range`);
      if (spec.maxEventChannels !== null && ts.evtchn.setMaxEventChannels(d.domid, spec.maxEventChannels) < 0) throw new ToolstackError('EINVAL', `max_event_channels: ${spec.maxEventChannels} is out of range`);
      this.writeXenstore(r);
      this.addDisks(r);
      this.addPcis(r);
      this.addNics(r);
      r.logFd = ts.consoles.openGuestLog(spec.name);
    } catch (e) {
      host.destroyDomain(d);
      this.removeXenstore(d.domid, uuid, d.uuid);
      if (e instanceof SchedError) throw new ToolstackError(errnoCode(e.errno), e.message);
      throw e;
    }
    ts.records.set(r);
    ts.log(`(d0) xl: built domain ${d.domid} '${spec.name}' (${spec.type}, ${spec.memoryMiB} MiB, ${spec.vcpus}/${spec.maxVcpus} vCPUs, pool ${ts.pools.name(host.sched.domain(d.domid).pool)})`);
    ts.emit({ kind: 'created', domid: d.domid, name: r.name });
    if (!o.paused) {
      host.unpauseDomain(d);
      ts.onWork();
    }
    return r;
  }

  /** libxl's xenstore entries of a new domain (and xenstored's domain connection). */
  private writeXenstore(r: DomRecord): void {
    const d = r.d;
    const c = this.ts.xsc;
    // attachXenstore wrote the layout under the hypervisor's name and UUID: ours win.
    if (d.uuid !== r.uuid && c.exists(vmPath(d.uuid))) c.rm(vmPath(d.uuid));
    const dom = createDomainLayout(c, { domid: d.domid, name: r.name, uuid: r.uuid });
    c.transaction((tx) => {
      c.write(`${dom}/memory/static-max`, String(r.maxMemkb), tx);
      c.write(`${dom}/memory/target`, String(r.targetMemkb), tx);
      for (let i = 0; i < r.spec.maxVcpus; i++) c.write(`${dom}/cpu/${i}/availability`, i < r.availVcpus ? 'online' : 'offline', tx);
      c.write(`${dom}/console/type`, 'xenconsoled', tx);
      c.write(`${dom}/console/limit`, String(CONSOLE_BUFFER), tx);
      c.write(`${vmPath(r.uuid)}/image/ostype`, 'linux', tx);
      c.write(`${vmPath(r.uuid)}/image/kernel`, r.spec.kernel, tx);
      c.write(`${vmPath(r.uuid)}/image/cmdline`, r.spec.cmdline, tx);
      c.write(`${vmPath(r.uuid)}/start_time`, (Date.now() / 1000).toFixed(2), tx);
      c.write(`/libxl/${d.domid}/type`, r.spec.type, tx);
    });
    if (!this.ts.xs.domains.has(d.domid)) this.ts.xs.addDomain(d.domid, undefined);
  }

  /**
   * The config's `disks` as vbd devices served by dom0's blkback (libxl__device_disk_add, once the
   * domain exists and before it runs). Refused: what pv-blk cannot serve (non-raw formats, qdisk,
   * scripts, CD-ROMs: EINVAL), a missing target (ENOENT), a file another domain has open
   * read-write or that is wanted read-write while another domain has it (EBUSY, as the block
   * hotplug script's check_sharing refuses it for xl).
   */
  private addDisks(r: DomRecord): void {
    const disks = (r.config as { disks?: unknown }).disks;
    if (!Array.isArray(disks)) return;
    for (const d of disks as LibxlDiskLike[]) {
      try {
        addVbd(this.ts.xsc, r.d.domid, diskSpecFromLibxl(d));
      } catch (e) {
        const m = (e as Error).message;
        throw new ToolstackError(/ENOENT|no such file/i.test(m) ? 'ENOENT' : / is in use by domain /.test(m) ? 'EBUSY' : 'EINVAL', m);
      }
    }
  }

  /**
   * The config's `pcidevs` (xl.cfg pci = [...]) assigned to the domain before it runs
   * (libxl__device_pci_add): options per xl-pci-configuration(5) (pciFromLibxl), a device not
   * assignable refused unless seize=1, no IOMMU refused unless the host allows unsafe passthrough.
   */
  private addPcis(r: DomRecord): void {
    const pcis = (r.config as { pcidevs?: unknown }).pcidevs;
    if (!Array.isArray(pcis) || pcis.length === 0) return;
    const pt = passthroughOf(this.ts.assembled);
    for (const p of pcis as LibxlPciLike[]) attachPci(pt, r.d.domid, p);
  }

  /**
   * The config's `nics` as vif devices served by dom0's netback on their bridges
   * (libxl__device_nic_add, once the domain exists and before it runs). Refused (EINVAL): what
   * pv-net cannot serve (driver domains, scripts other than vif-bridge, VLANs), bad MACs, names, MTUs.
   */
  private addNics(r: DomRecord): void {
    const nics = (r.config as { nics?: unknown }).nics;
    if (!Array.isArray(nics)) return;
    for (const n of nics as LibxlNicLike[]) {
      try {
        addVif(this.ts.xsc, r.d.domid, vifSpecFromLibxl(n));
      } catch (e) {
        throw new ToolstackError('EINVAL', (e as Error).message);
      }
    }
  }

  /** Removes every xenstore entry of a domain, its devices' too (and xenstored's connection). */
  removeXenstore(domid: number, uuid: string, hvUuid?: string): void {
    const c = this.ts.xsc;
    // libxl__devices_destroy: the backend and frontend directories of every device of the domain.
    destroyDomainDevices(c, domid);
    for (const p of [domainPath(domid), vmPath(uuid), ...(hvUuid ? [vmPath(hvUuid)] : []), `/libxl/${domid}`]) {
      if (c.exists(p)) c.rm(p);
    }
    if (this.ts.xs.domains.has(domid)) this.ts.xs.releaseDomain(domid);
  }
}
