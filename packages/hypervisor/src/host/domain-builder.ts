// The domain builder: a domain from an ELF image (boot ABI v1) - memory with NUMA placement,
// the shared-info page, the image, start_info and the boot wallclock, its vCPUs in the scheduler.
import { Errno, GUEST_MAX_VCPUS, GUEST_RAM_BASE, PAGE_SIZE, SharedInfo } from '@tachyxx/abi';
import { ImageError, encodeStartInfo, parseElf } from '@tachyxx/isa';
import { numaPlacement, vcpusOnNodes, type NumaTopology } from '@tachyxx/sched';
import type { Domain } from '../domain/domain.js';
import { HostError } from './host-error.js';
import type { Host } from './host.js';
import { hex64, TWO32 } from './pcpu.js';
import { Vcpu } from './vcpu.js';

export interface DomainSpec {
  name: string;
  image: Uint8Array;
  /** For error messages. */
  file?: string;
  memoryMiB: number;
  maxMemoryMiB?: number;
  vcpus?: number;
  maxVcpus?: number;
  cmdline?: string;
  weight?: number;
  cap?: number;
  /** Hard affinity for every vCPU (pCPU ids). */
  cpus?: number[];
  /** Start paused (xl create -p). */
  paused?: boolean;
}

export class DomainBuilder {
  constructor(private readonly host: Host, private readonly wallclockEpoch: number) {}

  /** Builds a domain from an ELF image and unpauses it unless spec.paused. */
  create(spec: DomainSpec): Domain<Vcpu> {
    const host = this.host;
    const file = spec.file ?? spec.name;
    const memBytes = spec.memoryMiB * 1024 * 1024;
    const elf = parseElf(spec.image, { file, ramBase: GUEST_RAM_BASE, ramSize: memBytes });
    const nvcpus = spec.vcpus ?? 1;
    const maxVcpus = spec.maxVcpus ?? nvcpus;
    if (!Number.isInteger(nvcpus) || nvcpus < 1 || maxVcpus < nvcpus || maxVcpus > GUEST_MAX_VCPUS) {
      throw new HostError(`${spec.name}: vcpus ${nvcpus} / maxvcpus ${maxVcpus} out of range 1..${GUEST_MAX_VCPUS}`);
    }
    const startInfo = Math.ceil(elf.imageEnd / PAGE_SIZE) * PAGE_SIZE;
    if (startInfo + PAGE_SIZE > GUEST_RAM_BASE + memBytes) {
      throw new ImageError(file, `image ends at ${hex64(elf.imageEnd)}, leaving no page for start_info below the end of RAM at ${hex64(GUEST_RAM_BASE + memBytes)}`);
    }
    // NUMA: with nothing pinned, put memory and vCPUs on the best-fitting node(s), as xl does.
    const placement = !spec.cpus && host.machine.numa.nodes.length > 1 ? this.place(spec.memoryMiB * 256 + 1, nvcpus) : null;
    const created = host.domains.create({
      name: spec.name,
      memoryMiB: spec.memoryMiB,
      placement,
      maxPages: Math.max(spec.maxMemoryMiB ?? spec.memoryMiB, spec.memoryMiB) * 256,
    });
    if (typeof created === 'number') {
      const why = created === -Errno.EEXIST ? `a domain named '${spec.name}' already exists` : created === -Errno.ENOMEM ? 'not enough free memory' : `error ${created}`;
      throw new HostError(`cannot create domain '${spec.name}': ${why}`, -created);
    }
    const d = created;
    // The shared-info page sits right above guest RAM (a special page, like Xen/ARM's magic pages).
    const sharedInfoGpa = GUEST_RAM_BASE + memBytes;
    const r = host.domains.mapSpecialPage(d, sharedInfoGpa / PAGE_SIZE);
    if (r < 0) {
      host.domains.destroy(d.domid);
      throw new HostError(`cannot create domain '${spec.name}': no memory for its shared-info page`, -r);
    }
    d.sharedInfoGpa = sharedInfoGpa;
    for (const seg of elf.segments) d.access.write(seg.paddr, seg.data);
    d.startInfoGpa = startInfo;
    this.writeStartInfo(d, startInfo, memBytes / PAGE_SIZE, spec.cmdline ?? '');

    const sched = host.sched, timers = host.timers;
    sched.addDomain({ domid: d.domid, weight: spec.weight, cap: spec.cap });
    for (let i = 0; i < maxVcpus; i++) {
      const v = new Vcpu(d, i, (v, why) => timers.fired(v, why));
      host.guest.init(v.ctx, d);
      v.sched = sched.addVcpu(d.domid, i, { hard: spec.cpus, soft: placement?.cpus, online: false }, host.clock.now);
      v.sched.owner = v;
      // A new domain starts paused (Xen's controller pause): so do its vCPUs.
      sched.pause(v.sched, host.clock.now);
      d.vcpus.push(v);
    }
    const boot = d.vcpus[0]!;
    host.guest.setEntry(boot.ctx, elf.entry, GUEST_RAM_BASE + memBytes, 0, startInfo);
    boot.initialised = true;
    host.vcpuUp(boot);
    host.domainCreated(d);
    host.hvmParams.initFromStartInfo(d);
    host.log(`(XEN) d${d.domid}: created '${d.name}' with ${spec.memoryMiB} MiB, ${maxVcpus} vCPU(s)`);
    if (!spec.paused) host.unpauseDomain(d);
    return d;
  }

  /** libxl-style NUMA placement over the nodes' free frames and the vCPUs already placed. */
  private place(pages: number, vcpus: number) {
    const { machine, domains } = this.host;
    const topo: NumaTopology = {
      nodes: machine.numa.nodes.map((n) => ({ id: n.id, cpus: n.pcpus, freeMemory: machine.freeFrames(n.id) })),
      distances: machine.numa.distances,
    };
    const existing = domains.list().flatMap((d) => d.vcpus.map((v) => v.sched));
    return numaPlacement(topo, { memory: pages, vcpus }, vcpusOnNodes(topo, existing));
  }

  private writeStartInfo(d: Domain<Vcpu>, gpa: number, nrPages: number, cmdline: string): void {
    d.access.write(gpa, encodeStartInfo({ nrPages, sharedInfo: d.sharedInfoGpa, cmdline }));
    // shared_info: wallclock at boot (wc_version even = stable).
    const wc = new Uint8Array(16);
    const wv = new DataView(wc.buffer);
    wv.setUint32(0, 2, true);
    wv.setUint32(4, this.wallclockEpoch >>> 0, true);
    wv.setUint32(8, 0, true);
    wv.setUint32(12, Math.floor(this.wallclockEpoch / TWO32), true);
    d.access.write(d.sharedInfoGpa + SharedInfo.wc_version.offset, wc);
  }
}
