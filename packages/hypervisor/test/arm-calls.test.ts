// Issue 10 section 1: the calls Arm guests make, each through the Host's hypercall table with
// Xen 4.17's answers (sources cited in src/hypercalls/*.ts).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import {
  DOMID_SELF, Errno, GUEST_RAM_BASE, Hypercall, HvmOp, HvmParam, PAGE_SIZE, SchedOp, SharedInfo, ShutdownReason, StartInfo,
  VcpuInfo, VcpuOp, XenCompileInfo, XenFeat, XenMapSpace, XenMem, XenPlatformParameters, XenVer,
} from '@tachyxx/abi';
import { PluginRegistry, SHUTDOWN, buildContainer, hostConfigFromObject, type ShutdownEvent } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, HYPERCALL_CONTINUATION, NR_DOMAIN_WATCHDOG_TIMERS, XENVER_VERSION_VALUE, updateRunstateArea, xenVersion, type Domain, type Vcpu } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));
const MIB = 1 << 20;
const ARG = GUEST_RAM_BASE + 4 * MIB;

function setup(vcpus = 1, privileged = false) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: 1, memoryMiB: 256, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const log: string[] = [];
  const host = new Host({ container: buildContainer(config, reg), console: () => {}, log: (l) => log.push(l) });
  // The control domain as the toolstack makes it (packages/toolstack: domid 0, no vCPUs, no
  // image - dom0 is the host's toolstack): no guest runs with its privilege.
  const dom0 = privileged ? host.domains.create({ name: 'dom0', domid: 0, memoryMiB: 8 }) : null;
  if (typeof dom0 === 'number') throw new Error(`dom0: ${dom0}`);
  const d = host.createDomain({ name: 'g', image: image('hello'), memoryMiB: 16, vcpus, paused: true });
  const call = (nr: number, a0 = 0, a1 = 0, a2 = 0, v: Vcpu = d.vcpus[0]!) => host.hypercalls.dispatch(v, nr, { a0, a1, a2, a3: 0, a4: 0, a5: 0 });
  /** A caller from the control domain (which has no vCPU): handlers that look only at v.domain. */
  const dom0Caller = dom0 ? ({ domain: dom0 } as unknown as Vcpu) : null;
  return { host, d, call, log, dom0, dom0Caller };
}
const bytes = (d: Domain<Vcpu>, gpa: number, n: number) => { const b = new Uint8Array(n); expect(d.access.read(gpa, b)).toBeGreaterThanOrEqual(0); return b; };
const str = (d: Domain<Vcpu>, gpa: number, n: number) => {
  const b = new Uint8Array(n);
  d.access.read(gpa, b);
  return new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? n : b.indexOf(0)));
};

describe('shared_info / vcpu_info as aarch64 Xen', () => {
  it('has one vcpu_info slot: vCPU 0 uses it, vCPUs > 0 have none until they register', () => {
    const { d } = setup(4);
    expect(SharedInfo.size).toBe(1088);
    expect(SharedInfo.evtchn_pending.offset).toBe(48);
    expect(d.vcpus[0]!.vcpuInfoGpa).toBe(d.sharedInfoGpa);
    expect(d.vcpus.slice(1).map((v) => v.vcpuInfoGpa)).toEqual([0, 0, 0]);
  });

  it('VCPUOP_register_vcpu_info: -ENXIO for an offset that leaves the page or is unaligned, -EINVAL twice / online other vCPU / no page', () => {
    const { d, call, host } = setup(2);
    const reg = (vcpu: number, gfn: number, off: number, caller = d.vcpus[0]!) => {
      d.access.writeU64(ARG, gfn); d.access.writeU32(ARG + 8, off); d.access.writeU32(ARG + 12, 0);
      return call(Hypercall.vcpu_op, VcpuOp.register_vcpu_info, vcpu, ARG, caller);
    };
    const gfn = (GUEST_RAM_BASE + 5 * MIB) / PAGE_SIZE;
    expect(reg(1, gfn, PAGE_SIZE - VcpuInfo.size + 8)).toBe(-Errno.ENXIO);
    expect(reg(1, gfn, 4)).toBe(-Errno.ENXIO);
    expect(reg(1, 0x10, 0)).toBe(-Errno.EINVAL); // not the domain's memory
    expect(call(Hypercall.vcpu_op, VcpuOp.register_vcpu_info, 1, 0x10)).toBe(-Errno.EFAULT);
    expect(reg(1, gfn, PAGE_SIZE - VcpuInfo.size)).toBe(0); // the last place it fits
    expect(d.vcpus[1]!.vcpuInfoGpa).toBe(gfn * PAGE_SIZE + PAGE_SIZE - VcpuInfo.size);
    // a spurious event: every selector bit, the upcall raised
    expect(d.access.readU8(d.vcpus[1]!.vcpuInfoGpa)).toBe(1);
    expect(d.access.readU32(d.vcpus[1]!.vcpuInfoGpa + VcpuInfo.evtchn_pending_sel.offset)).toBe(0xffffffff);
    expect(reg(1, gfn, 0)).toBe(-Errno.EINVAL); // once only
    // vCPU 0 is online: only it may register itself
    expect(reg(0, gfn, 64, d.vcpus[1]!)).toBe(-Errno.EINVAL);
    d.access.writeU32(d.sharedInfoGpa + VcpuInfo.time.offset + 28, 0x77); // something to carry over
    expect(reg(0, gfn, 64)).toBe(0);
    expect(d.vcpus[0]!.vcpuInfoGpa).toBe(gfn * PAGE_SIZE + 64);
    expect(host.hypercalls.failures.size).toBe(0);
  });

  it('vcpu_op: a cmd Tachyxx does not answer is -EINVAL as on Arm (after the vCPU check, -ENOENT)', () => {
    const { call, host } = setup(2);
    // Xen 4.17 xen/arch/arm/domain.c do_vcpu_op: domain_vcpu() first, then default -EINVAL
    for (const cmd of [VcpuOp.send_nmi, VcpuOp.get_physid, VcpuOp.register_vcpu_time_memory_area, 14, 0x7fffffff, -1]) {
      expect(call(Hypercall.vcpu_op, cmd, 0, ARG), `cmd ${cmd}`).toBe(-Errno.EINVAL);
      expect(call(Hypercall.vcpu_op, cmd, 2, ARG), `cmd ${cmd} vcpu 2`).toBe(-Errno.ENOENT);
    }
    // the register's low 32 bits are the int cmd: 2^32 + 11 is send_nmi
    expect(call(Hypercall.vcpu_op, 2 ** 32 + VcpuOp.send_nmi, 0, ARG)).toBe(-Errno.EINVAL);
    // the cmds Tachyxx keeps beside Arm's two still answer (docs/abi.md)
    expect(call(Hypercall.vcpu_op, VcpuOp.is_up, 0, 0)).toBe(1);
    expect(call(Hypercall.vcpu_op, VcpuOp.is_up, 1, 0)).toBe(0);
    expect(call(Hypercall.vcpu_op, VcpuOp.stop_periodic_timer, 0, 0)).toBe(0);
    expect(host.hypercalls.failures.size).toBe(0);
  });

  it('VCPUOP_register_runstate_memory_area: written at once and at every schedule in and out', () => {
    const { d, call, host } = setup(1);
    const area = GUEST_RAM_BASE + 6 * MIB;
    d.access.writeU64(ARG, area);
    expect(call(Hypercall.vcpu_op, VcpuOp.register_runstate_memory_area, 0, ARG)).toBe(0);
    expect(d.access.readU32(area)).toBe(1); // runnable (paused, online)
    d.access.writeU64(ARG, 0x10);
    expect(call(Hypercall.vcpu_op, VcpuOp.register_runstate_memory_area, 0, ARG)).toBe(-Errno.EFAULT);
    host.unpauseDomain(d);
    host.run({ untilNs: 50e6 });
    // hello powered off: switched out as offline with time accounted as running
    expect(d.access.readU32(area)).toBe(3);
    expect(d.access.readU64(area + 16)).toBeGreaterThan(0);
    // a schedule stamped before the state's entry (another clock): no time runs backwards
    const v = d.vcpus[0]!;
    const before = v.runstateTimes(v.runstateEntry);
    updateRunstateArea(v, v.runstateEntry - 181);
    for (let i = 0; i < 4; i++) {
      const t = d.access.readU64(area + 16 + 8 * i);
      expect(t).toBeLessThan(2 ** 53); // not a negative count read as 2^64 - n
    }
    expect(d.access.readU64(area + 16 + 8 * 3)).toBe(before.offline);
  });
});

describe('xen_version', () => {
  it('answers every sub-op as Xen 4.17 with the dummy XSM policy (domU)', () => {
    const { d, call } = setup();
    expect(call(Hypercall.xen_version, XenVer.version, 0)).toBe(XENVER_VERSION_VALUE);
    expect(XENVER_VERSION_VALUE).toBe(0x40011);
    expect(call(Hypercall.xen_version, XenVer.extraversion, ARG)).toBe(0);
    expect(str(d, ARG, 16)).toBe('-tachyxx');
    expect(call(Hypercall.xen_version, XenVer.capabilities, ARG)).toBe(0);
    expect(str(d, ARG, 1024)).toBe('xen-3.0-tachyxx');
    expect(call(Hypercall.xen_version, XenVer.changeset, ARG)).toBe(0);
    expect(str(d, ARG, 64)).toBe('unavailable');
    // compile_info: the fixed strings, each NUL-padded to its field, the whole struct written
    d.access.write(ARG, new Uint8Array(256).fill(0xaa));
    expect(call(Hypercall.xen_version, XenVer.compile_info, ARG)).toBe(0);
    const ci = bytes(d, ARG, 256);
    const field = (f: { offset: number; size: number }) => ci.subarray(f.offset, f.offset + f.size);
    const text = (f: { offset: number; size: number }) => { const b = field(f); return new TextDecoder().decode(b.subarray(0, b.indexOf(0))); };
    expect(XenCompileInfo.size).toBe(144);
    expect(text(XenCompileInfo.compiler)).toBe('tsc (TypeScript) for Node.js');
    expect(text(XenCompileInfo.compile_by)).toBe('tachyxx');
    expect(text(XenCompileInfo.compile_domain)).toBe('');
    expect(text(XenCompileInfo.compile_date)).toBe('');
    for (const f of [XenCompileInfo.compiler, XenCompileInfo.compile_by, XenCompileInfo.compile_domain, XenCompileInfo.compile_date]) {
      const b = field(f);
      expect([...b.subarray(b.indexOf(0))].every((x) => x === 0), `field @${f.offset} NUL-padded`).toBe(true);
    }
    expect([...ci.subarray(XenCompileInfo.size)].every((x) => x === 0xaa)).toBe(true); // not one byte past it
    // platform_parameters: virt_start all ones (no hypervisor range in the guest's space), 8 bytes
    d.access.write(ARG, new Uint8Array(16).fill(0xaa));
    expect(call(Hypercall.xen_version, XenVer.platform_parameters, ARG)).toBe(0);
    expect(XenPlatformParameters.size).toBe(8);
    expect([...bytes(d, ARG, 16)]).toEqual([...new Array(8).fill(0xff), ...new Array(8).fill(0xaa)]);
    d.access.writeU32(ARG, 0);
    expect(call(Hypercall.xen_version, XenVer.get_features, ARG)).toBe(0);
    const f = d.access.readU32(ARG + 4);
    expect(f & (1 << XenFeat.auto_translated_physmap)).not.toBe(0);
    expect(f & (1 << XenFeat.not_direct_mapped)).not.toBe(0);
    expect(f & (1 << XenFeat.dom0)).toBe(0);
    d.access.writeU32(ARG, 1);
    expect(call(Hypercall.xen_version, XenVer.get_features, ARG)).toBe(-Errno.EINVAL);
    expect(call(Hypercall.xen_version, XenVer.pagesize, 0)).toBe(4096);
    expect(call(Hypercall.xen_version, XenVer.pagesize, ARG)).toBe(-Errno.EINVAL);
    // guest_handle: the domain's UUID, its 16 bytes in the order the string gives them
    d.access.write(ARG, new Uint8Array(32).fill(0xaa));
    expect(call(Hypercall.xen_version, XenVer.guest_handle, ARG)).toBe(0);
    const hex = [...bytes(d, ARG, 16)].map((x) => x.toString(16).padStart(2, '0')).join('');
    expect(d.uuid.replace(/-/g, '')).toMatch(/^[0-9a-f]{32}$/);
    expect(hex).toBe(d.uuid.replace(/-/g, ''));
    expect(d.access.readU8(ARG + 16)).toBe(0xaa);
    expect(call(Hypercall.xen_version, XenVer.commandline, ARG)).toBe(0);
    expect(str(d, ARG, 1024)).toBe('<denied>');
    expect(call(Hypercall.xen_version, XenVer.build_id, 0)).toBe(-Errno.EPERM);
    expect(call(Hypercall.xen_version, 11, ARG)).toBe(-Errno.ENOSYS);
    expect(call(Hypercall.xen_version, XenVer.extraversion, 0x10)).toBe(-Errno.EFAULT);
  });
});

describe('xen_version for the control domain', () => {
  // No guest runs as the control domain (dom0 is the host's toolstack: domid 0 without vCPUs),
  // so its path is exercised through the table and the handler with a dom0 caller.
  it('commandline: the host\'s, NUL-padded to 1024; build_id: -ENODATA (none), len 0 -EINVAL, bad handle -EFAULT', () => {
    const { host, d, call, dom0, dom0Caller } = setup(1, true);
    const c = dom0Caller!;
    host.commandline = 'dom0_mem=1G loglvl=all';
    dom0!.access.write(ARG, new Uint8Array(1100).fill(0xaa));
    expect(call(Hypercall.xen_version, XenVer.commandline, ARG, 0, c)).toBe(0);
    const cl = bytes(dom0!, ARG, 1100);
    expect(str(dom0!, ARG, 1024)).toBe('dom0_mem=1G loglvl=all');
    // Xen copies ARRAY_SIZE(saved_cmdline) = 1024 bytes
    expect([...cl.subarray(host.commandline.length, 1024)].every((x) => x === 0)).toBe(true);
    expect([...cl.subarray(1024)].every((x) => x === 0xaa)).toBe(true);
    expect(call(Hypercall.xen_version, XenVer.commandline, 0x10, 0, c)).toBe(-Errno.EFAULT);
    // a command line longer than 1023 bytes is cut (safe_strcpy), still NUL-terminated
    host.commandline = 'x'.repeat(2000);
    expect(call(Hypercall.xen_version, XenVer.commandline, ARG, 0, c)).toBe(0);
    expect(str(dom0!, ARG, 1024)).toBe('x'.repeat(1023));
    // build_id: Xen's xen_build_id() without one is -ENODATA; a null handle asks only the size
    expect(call(Hypercall.xen_version, XenVer.build_id, 0, 0, c)).toBe(-Errno.ENODATA);
    dom0!.access.writeU32(ARG, 0);
    expect(call(Hypercall.xen_version, XenVer.build_id, ARG, 0, c)).toBe(-Errno.EINVAL);
    dom0!.access.writeU32(ARG, 64);
    expect(call(Hypercall.xen_version, XenVer.build_id, ARG, 0, c)).toBe(-Errno.ENODATA);
    expect(call(Hypercall.xen_version, XenVer.build_id, 0x10, 0, c)).toBe(-Errno.EFAULT);
    // get_features: the dom0 bit
    dom0!.access.writeU32(ARG, 0);
    expect(call(Hypercall.xen_version, XenVer.get_features, ARG, 0, c)).toBe(0);
    expect(dom0!.access.readU32(ARG + 4) & (1 << XenFeat.dom0)).not.toBe(0);
    // the same host, a domU: denied
    expect(call(Hypercall.xen_version, XenVer.commandline, ARG)).toBe(0);
    expect(str(d, ARG, 1024)).toBe('<denied>');
    expect(call(Hypercall.xen_version, XenVer.build_id, ARG)).toBe(-Errno.EPERM);
    // the handler itself, with its own context: an empty command line is 1024 NUL bytes
    dom0!.access.write(ARG, new Uint8Array(1024).fill(0xaa));
    expect(xenVersion({ commandline: '' }, dom0!, XenVer.commandline, ARG)).toBe(0);
    expect([...bytes(dom0!, ARG, 1024)].every((x) => x === 0)).toBe(true);
    expect(host.hypercalls.failures.size).toBe(0);
  });
});

describe('hvm_op params', () => {
  it('agree with start_info; a domU may read but not set them; unknown params -EINVAL', () => {
    const { d, call } = setup();
    d.access.writeU64(d.startInfoGpa + StartInfo.store_mfn.offset, 0x12345);
    const get = (index: number, domid = DOMID_SELF) => {
      d.access.write(ARG, new Uint8Array(16)); d.access.writeU16(ARG, domid); d.access.writeU32(ARG + 4, index);
      const r = call(Hypercall.hvm_op, HvmOp.get_param, ARG);
      return r < 0 ? r : d.access.readU64(ARG + 8);
    };
    // the builder's values (no xenstore here: 0), whatever the guest writes into start_info later
    expect(get(HvmParam.STORE_PFN)).toBe(0);
    expect(get(HvmParam.CONSOLE_EVTCHN)).toBe(0);
    expect(get(HvmParam.MONITOR_RING_PFN)).toBe(-Errno.EPERM);
    expect(get(3)).toBe(-Errno.EINVAL);
    expect(get(1000)).toBe(-Errno.EINVAL);
    expect(get(HvmParam.STORE_PFN, 999)).toBe(-Errno.ESRCH);
    d.access.write(ARG, new Uint8Array(16)); d.access.writeU16(ARG, DOMID_SELF); d.access.writeU32(ARG + 4, HvmParam.STORE_PFN);
    expect(call(Hypercall.hvm_op, HvmOp.set_param, ARG)).toBe(-Errno.EPERM);
    d.access.writeU32(ARG + 4, 5);
    expect(call(Hypercall.hvm_op, HvmOp.set_param, ARG)).toBe(-Errno.EINVAL);
    expect(call(Hypercall.hvm_op, 99, ARG)).toBe(-Errno.ENOSYS);
    expect(call(Hypercall.hvm_op, HvmOp.get_param, 0x10)).toBe(-Errno.EFAULT);
  });
});

describe('XENMEM_add_to_physmap / remove_from_physmap', () => {
  it('moves the shared-info page (events and time follow it), removes and maps it again', () => {
    const { d, call } = setup();
    const old = d.sharedInfoGpa;
    d.access.writeU32(old + SharedInfo.wc_version.offset + 4, 0xabcd);
    const target = (GUEST_RAM_BASE + 8 * MIB) / PAGE_SIZE;
    const pagesBefore = d.totPages;
    const xatp = (space: number, idx: number, gpfn: number) => {
      d.access.write(ARG, new Uint8Array(24)); d.access.writeU16(ARG, DOMID_SELF); d.access.writeU32(ARG + 4, space);
      d.access.writeU64(ARG + 8, idx); d.access.writeU64(ARG + 16, gpfn);
      return call(Hypercall.memory_op, XenMem.add_to_physmap, ARG);
    };
    expect(xatp(XenMapSpace.shared_info, 1, target)).toBe(-Errno.EINVAL);
    expect(xatp(XenMapSpace.gmfn, 0, target)).toBe(-Errno.ENOSYS);
    expect(xatp(XenMapSpace.gmfn_foreign, 0, target)).toBe(-Errno.ENOSYS);
    expect(xatp(XenMapSpace.shared_info, 0, target)).toBe(0);
    expect(d.sharedInfoGpa).toBe(target * PAGE_SIZE);
    expect(d.access.readU32(d.sharedInfoGpa + SharedInfo.wc_version.offset + 4)).toBe(0xabcd); // the same page
    expect(d.access.readU8(old)).toBe(-Errno.EFAULT); // gone from its old place
    expect(d.totPages).toBe(pagesBefore - 1); // the RAM page it replaced was released
    expect(d.vcpus[0]!.vcpuInfoGpa).toBe(target * PAGE_SIZE);
    expect(call(Hypercall.memory_op, XenMem.add_to_physmap | (1 << 22), ARG)).toBe(-Errno.EDOM);
    d.access.write(ARG, new Uint8Array(16)); d.access.writeU16(ARG, DOMID_SELF); d.access.writeU64(ARG + 8, target);
    expect(call(Hypercall.memory_op, XenMem.remove_from_physmap, ARG)).toBe(0);
    expect(d.sharedInfoGpa).toBe(0);
    expect(call(Hypercall.memory_op, XenMem.remove_from_physmap, ARG)).toBe(-Errno.ENOENT);
    expect(xatp(XenMapSpace.shared_info, 0, old / PAGE_SIZE)).toBe(0);
    expect(d.access.readU32(old + SharedInfo.wc_version.offset + 4)).toBe(0xabcd);
    // grant_table without a grant component: -ENOSYS
    expect(xatp(XenMapSpace.grant_table, 0, target)).toBe(-Errno.ENOSYS);
  });
});

describe('multicall', () => {
  it('dispatches each entry through the table, writes each result, refuses nesting', () => {
    const { d, call } = setup();
    const list = ARG + 1024;
    const entry = (i: number, op: number, ...args: number[]) => {
      d.access.write(list + 64 * i, new Uint8Array(64));
      d.access.writeU64(list + 64 * i, op);
      args.forEach((a, k) => d.access.writeU64(list + 64 * i + 16 + 8 * k, a));
    };
    entry(0, Hypercall.xen_version, XenVer.version, 0);
    entry(1, Hypercall.sched_op, 0x7fff, 0);
    entry(2, Hypercall.multicall, list, 1);
    entry(3, 100);
    expect(call(Hypercall.multicall, list, 4)).toBe(0);
    const res = (i: number) => { const lo = d.access.readU32(list + 64 * i + 8), hi = d.access.readU32(list + 64 * i + 12); return hi === 0xffffffff ? lo - 2 ** 32 : lo + hi * 2 ** 32; };
    expect([0, 1, 2, 3].map(res)).toEqual([XENVER_VERSION_VALUE, -Errno.ENOSYS, -Errno.EINVAL, -Errno.ENOSYS]);
    expect(call(Hypercall.multicall, 0x10, 1)).toBe(-Errno.EFAULT);
    expect(call(Hypercall.multicall, 0x10, 0)).toBe(0);
  });

  it('yields between entries and resumes where it stopped (continuation)', () => {
    const { d, host } = setup();
    const list = ARG + 1024;
    for (let i = 0; i < 3; i++) { d.access.write(list + 64 * i, new Uint8Array(64)); d.access.writeU64(list + 64 * i, Hypercall.xen_version); }
    const r = host.hypercalls.dispatch(d.vcpus[0]!, Hypercall.multicall, { a0: list, a1: 3, a2: 0, a3: 0, a4: 0, a5: 0 }, 0);
    expect(r).toBe(HYPERCALL_CONTINUATION);
    expect(host.hypercalls.continuation).toEqual([list + 64, 2]);
    expect(d.access.readU32(list + 8)).toBe(XENVER_VERSION_VALUE);
    expect(d.access.readU32(list + 64 + 8)).toBe(0);
  });
});

describe('SCHEDOP_watchdog', () => {
  it('hands out NR_DOMAIN_WATCHDOG_TIMERS ids, and a timer that fires shuts the domain down (watchdog)', () => {
    const { d, call, host, log } = setup();
    const wd = (id: number, timeout: number) => { d.access.writeU32(ARG, id); d.access.writeU32(ARG + 4, timeout); return call(Hypercall.sched_op, SchedOp.watchdog, ARG); };
    expect(wd(0, 1)).toBe(1);
    expect(wd(0, 1000)).toBe(2);
    expect(NR_DOMAIN_WATCHDOG_TIMERS).toBe(2);
    expect(wd(0, 1)).toBe(-Errno.ENOSPC);
    expect(wd(3, 1)).toBe(-Errno.EINVAL);
    expect(wd(2, 0)).toBe(0); // stopped and freed
    expect(wd(2, 5)).toBe(-Errno.EINVAL);
    expect(call(Hypercall.sched_op, SchedOp.watchdog, 0x10)).toBe(-Errno.EFAULT);
    host.run({ untilNs: 2e9 });
    expect(d.shutdownCode).toBe(ShutdownReason.watchdog);
    expect(log.some((l) => l.includes('Watchdog timer fired for domain'))).toBe(true);
  });
});

describe('SCHEDOP_shutdown_code', () => {
  const record = (s: ReturnType<typeof setup>, reason: number, arg = ARG) => { s.d.access.writeU32(ARG, reason); return s.call(Hypercall.sched_op, SchedOp.shutdown_code, arg); };
  const shutdowns = (s: ReturnType<typeof setup>) => { const seen: ShutdownEvent[] = []; s.host.bus.on(SHUTDOWN).subscribe((e) => seen.push(e)); return seen; };

  it('records the first code only (-EFAULT for a bad handle, -EINVAL for an unknown reason); the domain runs on', () => {
    const s = setup();
    expect(record(s, ShutdownReason.reboot, 0x10)).toBe(-Errno.EFAULT);
    expect(s.d.recordedShutdownCode).toBe(null);
    expect(record(s, ShutdownReason.soft_reset + 1)).toBe(-Errno.EINVAL);
    expect(record(s, ShutdownReason.reboot)).toBe(0);
    expect(record(s, ShutdownReason.poweroff)).toBe(0); // Xen: only while none is recorded
    expect(s.d.recordedShutdownCode).toBe(ShutdownReason.reboot);
    expect(s.d.shutdownCode).toBe(null); // recording does not shut the domain down
    expect(s.d.state).toBe('paused');
  });

  it('a later crash is reported with the recorded code (Xen domain_shutdown: reason = d->shutdown_code)', () => {
    const s = setup();
    const seen = shutdowns(s);
    expect(record(s, ShutdownReason.reboot)).toBe(0);
    s.host.crashDomain(s.d, 'test crash');
    expect(s.d.shutdownCode).toBe(ShutdownReason.reboot);
    expect(s.d.shutdownReason).toBe('reboot');
    expect(seen.map((e) => [e.domid, e.reason, e.code])).toEqual([[s.d.domid, 'reboot', ShutdownReason.reboot]]);
    expect(s.log.some((l) => l.includes('domain_crash: test crash (reported as reboot: the code the guest recorded)'))).toBe(true);
  });

  it('a later SCHEDOP_shutdown (poweroff) and the watchdog report the recorded code too; without one the asked reason stands', () => {
    const s = setup();
    const seen = shutdowns(s);
    expect(record(s, ShutdownReason.crash)).toBe(0);
    s.d.access.writeU32(ARG, ShutdownReason.poweroff);
    expect(s.call(Hypercall.sched_op, SchedOp.shutdown, ARG)).toBe(0);
    expect(s.d.shutdownReason).toBe('crash');
    expect(record(s, ShutdownReason.reboot)).toBe(0); // after the shutdown: nothing changes
    expect(s.d.shutdownCode).toBe(ShutdownReason.crash);

    const w = setup();
    const seenW = shutdowns(w);
    expect(record(w, ShutdownReason.soft_reset)).toBe(0);
    w.d.access.writeU32(ARG, 0); w.d.access.writeU32(ARG + 4, 1);
    expect(w.call(Hypercall.sched_op, SchedOp.watchdog, ARG)).toBe(1);
    w.host.run({ untilNs: 2e9 });
    expect(w.d.shutdownReason).toBe('soft_reset');
    expect(seenW.map((e) => e.reason)).toEqual(['soft_reset']);

    expect(seen.map((e) => e.reason)).toEqual(['crash']);

    // nothing recorded: the reason the guest asks for stands (a reboot, not crash, the default)
    const n = setup();
    const seenN = shutdowns(n);
    n.d.access.writeU32(ARG, ShutdownReason.reboot);
    expect(n.call(Hypercall.sched_op, SchedOp.shutdown, ARG)).toBe(0);
    expect(n.d.shutdownReason).toBe('reboot');
    expect(seenN.map((e) => e.reason)).toEqual(['reboot']);
  });
});

describe('SCHEDOP_remote_shutdown', () => {
  it('as Xen orders it: -EFAULT, no such domain -ESRCH (before the privilege check), a domU -EPERM; the control domain shuts the target down', () => {
    const { d, call, host, dom0Caller } = setup(1, true);
    const req = (v: Vcpu, domid: number, reason: number) => {
      v.domain.access.writeU16(ARG, domid); v.domain.access.writeU32(ARG + 4, reason);
      return call(Hypercall.sched_op, SchedOp.remote_shutdown, ARG, 0, v);
    };
    const other = host.createDomain({ name: 'other', image: image('hello'), memoryMiB: 8, paused: true });
    expect(call(Hypercall.sched_op, SchedOp.remote_shutdown, 0x10)).toBe(-Errno.EFAULT);
    expect(req(d.vcpus[0]!, 999, ShutdownReason.poweroff)).toBe(-Errno.ESRCH); // Xen: rcu_lock_domain_by_id first
    expect(req(d.vcpus[0]!, DOMID_SELF, ShutdownReason.poweroff)).toBe(-Errno.ESRCH);
    expect(req(d.vcpus[0]!, other.domid, ShutdownReason.poweroff)).toBe(-Errno.EPERM);
    expect(other.shutdownCode).toBe(null);
    expect(req(dom0Caller!, other.domid, ShutdownReason.soft_reset + 1)).toBe(-Errno.EINVAL);
    expect(req(dom0Caller!, other.domid, ShutdownReason.reboot)).toBe(0);
    expect(other.shutdownReason).toBe('reboot');
    expect(d.shutdownCode).toBe(null);
  });
});

describe('SCHEDOP_pin_override', () => {
  it('is -EPERM for every caller: Tachyxx has no guest hardware domain (not even the control domain is one)', () => {
    const { d, call, dom0, dom0Caller } = setup(1, true);
    expect(dom0!.privileged).toBe(true);
    for (const v of [d.vcpus[0]!, dom0Caller!]) {
      v.domain.access.writeU32(ARG, 0); // struct sched_pin_override { int32_t pcpu; }: pCPU 0
      expect(call(Hypercall.sched_op, SchedOp.pin_override, ARG, 0, v)).toBe(-Errno.EPERM);
      // Xen checks is_hardware_domain before it reads the argument: a bad handle is -EPERM too
      expect(call(Hypercall.sched_op, SchedOp.pin_override, 0x10, 0, v)).toBe(-Errno.EPERM);
    }
    // and the cmd after it is unknown: -ENOSYS (Xen's default)
    expect(call(Hypercall.sched_op, SchedOp.pin_override + 1, ARG)).toBe(-Errno.ENOSYS);
  });
});

describe('SCHEDOP_poll and a pending upcall (Xen on Arm: local_events_need_delivery)', () => {
  // Tachyxx's PL2 interrupt enables play Arm's PSTATE.I: the upcall (external interrupt, code 9)
  // can be taken only with sstatus.SIE and sie.SEIE both set.
  const SSTATUS_SIE = 1 << 1, SIE_SEIE = 1 << 9;
  function pollWith(sstatus: number, sie: number, pending: boolean) {
    const s = setup();
    const v = s.d.vcpus[0]!;
    s.host.unpauseDomain(s.d);
    v.ctx.sstatus = sstatus;
    v.ctx.sie = sie;
    if (pending) s.host.sendUpcall(v);
    // struct sched_poll { ports = 0, nr_ports = 0, timeout = 1 ms }
    s.d.access.write(ARG, new Uint8Array(24));
    s.d.access.writeU64(ARG + 16, 1e6);
    const r = s.call(Hypercall.sched_op, SchedOp.poll, ARG);
    return { r, blocked: v.blocked, pendingByte: s.d.access.readU8(v.vcpuInfoGpa) };
  }

  it('an unmasked pending upcall ends the poll at once', () => {
    expect(pollWith(SSTATUS_SIE, SIE_SEIE, true)).toEqual({ r: 0, blocked: false, pendingByte: 1 });
  });
  it('masked by sie.SEIE alone (interrupts on), by sstatus.SIE alone, or by both, it does not: the poll waits', () => {
    expect(pollWith(SSTATUS_SIE, 0, true)).toEqual({ r: 0, blocked: true, pendingByte: 1 });
    expect(pollWith(0, SIE_SEIE, true)).toEqual({ r: 0, blocked: true, pendingByte: 1 });
    expect(pollWith(0, 0, true)).toEqual({ r: 0, blocked: true, pendingByte: 1 });
  });
  it('nothing pending (or acknowledged in vcpu_info): the poll waits whatever the mask', () => {
    expect(pollWith(SSTATUS_SIE, SIE_SEIE, false)).toEqual({ r: 0, blocked: true, pendingByte: 0 });
  });
});
