import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { parseXlCfg, interpretDomainConfig, applyOverrides, loadDomainConfig, XlCfgError, type DomainConfigResult } from '../src/index.js';

const HOST = { pcpus: 8, nodes: [[0, 1, 2, 3], [4, 5, 6, 7]] };
const UUID = '00000000-0000-4000-8000-000000000001';
const MIN = 'name = "g"\nkernel = "/boot/k"\n';

function build(text: string, overrides: string[] = [], configDir = '/etc/xen'): DomainConfigResult {
  const cfg = parseXlCfg(text, 'guest.cfg');
  applyOverrides(cfg, overrides);
  return interpretDomainConfig(cfg, { configDir, topology: HOST, generateUuid: () => UUID });
}
function bad(text: string): XlCfgError {
  try {
    build(text);
  } catch (e) {
    expect(e).toBeInstanceOf(XlCfgError);
    return e as XlCfgError;
  }
  throw new Error('no error');
}
const b = (r: DomainConfigResult) => r.config.b_info as Record<string, any>;

describe('domain config (libxl_domain_config as xl builds it)', () => {
  it('a minimal PV config: defaults left out as libxl does, actions in libxl spelling', () => {
    const r = build(MIN);
    expect(r.config).toEqual({
      c_info: { type: 'pv', name: 'g', uuid: UUID, run_hotplug_scripts: 'True' },
      b_info: {
        max_vcpus: 1, avail_vcpus: [0], sched_params: {}, claim_mode: 'True', kernel: '/boot/k', 'type.pv': {},
        arch_arm: { arm_sci: {} }, arch_x86: {}, xenstore_quota: {},
      },
      on_reboot: 'restart',
      on_soft_reset: 'soft_reset',
    });
    expect(r.warnings).toEqual([]);
    expect(r.unsupported).toEqual([]);
  });

  it('memory, maxmem, vcpus, maxvcpus, weight and cap', () => {
    const r = build(MIN + 'memory = 512\nmaxmem = 0x400\nvcpus = 2\nmaxvcpus = 4\ncpu_weight = 512\ncap = 50\n');
    expect(b(r)).toMatchObject({ max_vcpus: 4, avail_vcpus: [0, 1], max_memkb: 1048576, target_memkb: 524288, sched_params: { weight: 512, cap: 50 } });
    expect(b(build(MIN + 'memory = "256"\n')).max_memkb).toBe(262144);
  });

  it('every on_* action, in xl spelling in and libxl spelling out', () => {
    const r = build(MIN + 'on_poweroff = "preserve"\non_reboot = "rename-restart"\non_watchdog = "coredump-restart"\non_crash = "coredump-destroy"\non_soft_reset = "restart"\n');
    expect(r.config).toMatchObject({ on_poweroff: 'preserve', on_reboot: 'restart_rename', on_watchdog: 'coredump_restart', on_crash: 'coredump_destroy', on_soft_reset: 'restart' });
    expect(r.unsupported.map((u) => u.key)).toEqual(['on_watchdog', 'on_crash']);
    const e = bad(MIN + 'on_crash = "reboot"\n');
    expect(e.message).toBe("guest.cfg:3: on_crash: 'reboot' is not valid (allowed: destroy, restart, rename-restart, preserve, coredump-destroy, coredump-restart, soft-reset)");
  });

  it('invalid values name the key, the line and what is allowed', () => {
    const cases: [string, string][] = [
      ['name = "g"\nkernel = "/k"\nmemory = "lots"\n', "guest.cfg:3: memory: 'lots' is not a number of MiB"],
      [MIN + 'vcpus = [ 1 ]\n', 'guest.cfg:3: vcpus: expected a number of vCPUs, found a list'],
      [MIN + 'memory = 512\nmemory += 1\n', "guest.cfg:4: memory: can't use += with numbers"],
      [MIN + 'type = "xen"\n', "guest.cfg:3: type: 'xen' is not valid (allowed: pv, pvh, hvm)"],
      [MIN + 'vcpus = 4\nmaxvcpus = 2\n', 'guest.cfg:4: maxvcpus: 2 is less than vcpus (4); maxvcpus must be >= vcpus'],
      [MIN + 'memory = 512\nmaxmem = 256\n', 'guest.cfg:4: maxmem: 256 MiB is less than memory (512 MiB); maxmem must be >= memory'],
      [MIN + 'acpi = "yes"\n', "guest.cfg:3: acpi: 'yes' is not a boolean (0 = false, 1 = true)"],
      [MIN + 'uuid = "not-a-uuid"\n', "guest.cfg:3: uuid: 'not-a-uuid' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"],
      [MIN + 'cpus = "0-3,x"\n', "guest.cfg:3: cpus: invalid pCPU range 'x' (use N, N-M, ^N, nodes:N or all)"],
      [MIN + 'cpu_weight = 0\n', 'guest.cfg:3: cpu_weight: 0 is out of range 1..65535'],
      [MIN + 'disk = [ "/img,raw,xvda,w",\n  "/dev/vg/guest,xvda,w" ]\n', "guest.cfg:4: disk: unknown value for format: 'xvda' in '/dev/vg/guest,xvda,w' (allowed: raw, qcow, qcow2, vhd, empty, qed)"],
      [MIN + 'pci = [ "01:20.0" ]\n', "guest.cfg:3: pci: '01:20.0' is not a BDF ([DDDD:]BB:DD.F) nor KEY=VALUE in '01:20.0'"],
      [MIN + 'vtpm = [ "uuid=c7a5fdb2-cdaf-9455-926a-d65c16db1809" ]\n', "guest.cfg:3: vtpm: vtpm spec 'uuid=c7a5fdb2-cdaf-9455-926a-d65c16db1809' is missing the required backend= field"],
      ['kernel = "/k"\n', 'guest.cfg: name: Domain name must be specified'],
      ['name = "g"\n', 'guest.cfg: kernel: a PV guest needs a kernel (kernel = "...") or a bootloader: neither kernel nor bootloader specified'],
      ['name = "g"\nkernal = "/boot/k"\n', `guest.cfg:2: kernal: unknown key 'kernal' (did you mean 'kernel'?); a PV guest needs a kernel (kernel = "...") or a bootloader: neither kernel nor bootloader specified`],
      [MIN + 'builder = "hvm"\ntype = "pv"\n', 'guest.cfg:3: builder: contradicts type = "pv" (builder "hvm" means hvm)'],
      [MIN + 'timer_mode = "no_missed_ticks_pending"\n', 'guest.cfg:3: timer_mode: the "timer_mode" option is not supported for PV guests'],
      [MIN + 'device_model_version = "qemu-xen-traditional"\n', "guest.cfg:3: device_model_version: unknown device_model_version 'qemu-xen-traditional' (allowed: qemu-xen)"],
    ];
    for (const [text, msg] of cases) expect(bad(text).message, text).toBe(msg);
    expect(bad(MIN + 'vif = [ "bridge=br0,colour=red" ]\n').message).toMatch(/^guest.cfg:3: vif: unrecognized argument 'colour=red' in 'bridge=br0,colour=red' \(allowed: mac=, bridge=, ip=, type=, model=, vifname=, .*trusted, untrusted/);
    expect(bad(MIN + 'memory = "lots"\n')).toMatchObject({ key: 'memory', line: 3 });
    expect(bad(MIN + 'type = "xen"\n').allowed).toEqual(['pv', 'pvh', 'hvm']);
  });

  it('cmdline from cmdline, or root and extra', () => {
    expect(b(build(MIN + 'root = "/dev/xvda1 ro"\nextra = "console=hvc0"\n')).cmdline).toBe('root=/dev/xvda1 ro console=hvc0');
    expect(b(build(MIN + 'extra = "quiet"\n')).cmdline).toBe('quiet');
    const r = build(MIN + 'cmdline = "a b"\nextra = "ignored"\n');
    expect(b(r).cmdline).toBe('a b');
    expect(r.warnings.map((w) => w.message)).toContain('ignoring root= and extra= in favour of cmdline=');
  });

  it('cpus and cpus_soft: one map for every vCPU, or one per vCPU from a list', () => {
    const r = build(MIN + 'vcpus = 3\ncpus = "0-3,^2"\ncpus_soft = "nodes:1"\n');
    expect(b(r).vcpu_hard_affinity).toEqual([[0, 1, 3], [0, 1, 3], [0, 1, 3]]);
    expect(b(r).vcpu_soft_affinity).toEqual([[4, 5, 6, 7], [4, 5, 6, 7], [4, 5, 6, 7]]);
    expect(b(r).numa_placement).toBe('False');
    const l = build(MIN + 'vcpus = 2\ncpus = [ "1", "all,^0", "7" ]\n');
    expect(b(l).vcpu_hard_affinity).toEqual([[1], [1, 2, 3, 4, 5, 6, 7]]);
    expect(b(l).numa_placement).toBe('False');
    const m = build(MIN + 'cpus = "6-9"\n');
    expect(m.warnings[0]!.message).toMatch(/pCPUs 8-9 not on this host \(8 pCPUs, 2 NUMA nodes\): ignored/);
  });

  it('resolves kernel, ramdisk and disk paths against the config folder', () => {
    const r = build('name="g"\nkernel = "vmlinuz"\nramdisk = "../initrd.img"\ndisk = [ "disk.img,raw,xvda,w", "phy:/dev/vg/x,xvdb,w", "vdev=xvdc,script=block-iscsi,target=iqn.x:y" ]\n', [], '/srv/guests/web');
    expect(b(r)).toMatchObject({ kernel: '/srv/guests/web/vmlinuz', ramdisk: '/srv/guests/initrd.img' });
    expect((r.config.disks as any[]).map((d) => d.pdev_path)).toEqual(['/srv/guests/web/disk.img', '/dev/vg/x', 'iqn.x:y']);
  });

  it('builds disks, nics, pcidevs and vtpms in libxl field order', () => {
    const r = build(MIN + [
      'disk = [ "format=qcow2, vdev=xvda, access=w, target=/img/a.qcow2", "file:/iso/x.iso,hdc:cdrom,r" ]',
      'vif = [ "", "mac=00:16:3e:00:00:01,bridge=xenbr0,rate=10Mb/s", "type=ioemu,model=e1000", "script=vif-route" ]',
      'pci = [ "0000:03:00.0@4,permissive=1" ]',
      'pci_msitranslate = 1',
      'vtpm = [ "backend=vtpmmgr,uuid=C7A5FDB2-CDAF-9455-926A-D65C16DB1809" ]',
    ].join('\n'));
    expect(r.config.disks).toEqual([
      { pdev_path: '/img/a.qcow2', vdev: 'xvda', format: 'qcow2', readwrite: 1 },
      { pdev_path: '/iso/x.iso', vdev: 'hdc', format: 'raw', removable: 1, is_cdrom: 1 },
    ]);
    expect(r.config.nics).toEqual([
      { devid: 0 },
      { devid: 1, mac: '00:16:3e:00:00:01', bridge: 'xenbr0', rate_bytes_per_interval: 62500, rate_interval_usecs: 50000 },
      { devid: 2, model: 'e1000', nictype: 'vif_ioemu' },
      { devid: 3, script: 'vif-route' },
    ]);
    expect(Object.keys((r.config.nics as any[])[1])).toEqual(['devid', 'mac', 'bridge', 'rate_bytes_per_interval', 'rate_interval_usecs']);
    expect(r.config.pcidevs).toEqual([{ bus: 3, vdevfn: 0x20, vfunc_mask: 1, msitranslate: true, permissive: true }]);
    expect(r.config.vtpms).toEqual([{ backend_domname: 'vtpmmgr', devid: 0, uuid: 'c7a5fdb2-cdaf-9455-926a-d65c16db1809' }]);
    expect(b(r)['type.pv']).toEqual({ e820_host: 'True' });
    expect(r.unsupported.map((u) => u.key).sort()).toEqual(['disk', 'disk', 'vif', 'vtpm']); // pci: the toolstack checks the options (passthrough)
    // vifs are served by pv-net: only the one it cannot serve is reported, with its reason.
    expect(r.unsupported.find((u) => u.key === 'vif')!.message).toMatch(/^vif 3: script=vif-route is not supported/);
    expect(r.unsupported.filter((u) => u.key === 'disk').map((u) => u.message)).toEqual([
      expect.stringMatching(/^disk 'xvda': format 'qcow2' is not supported \(only raw images/),
      expect.stringMatching(/^disk 'hdc': devtype=cdrom is not supported/),
    ]);
  });

  it('disk: raw images are served by pv-blk (supported); other backends, scripts and driver domains are refused with the reason and line', () => {
    const ok = build(MIN + 'disk = [ "/img/a.img,raw,xvda,w", "format=raw, vdev=xvdb, access=ro, target=/img/b.img" ]\n');
    expect(ok.unsupported).toEqual([]);
    const r = build(MIN + [
      'disk = [ "/img/a.img,raw,xvda,w",',
      '  "backendtype=qdisk, vdev=xvdb, target=/img/b.img",',
      '  "script=block-iscsi, vdev=xvdc, target=iqn",',
      '  "backend=driverdom, vdev=xvdd, target=/img/d.img" ]',
    ].join('\n'));
    expect(r.unsupported.map((u) => [u.key, u.line, u.message.replace(/ \(.*$|: hotplug.*$/, '')])).toEqual([
      ['disk', MIN.split('\n').length + 1, "disk 'xvdb': backendtype=qdisk is not supported"],
      ['disk', MIN.split('\n').length + 2, "disk 'xvdc': script=block-iscsi"],
      ['disk', MIN.split('\n').length + 3, "disk 'xvdd': backend=driverdom: only dom0 serves disks"],
    ]);
  });

  it('HVM: parses and builds type.hvm, and says create will refuse it', () => {
    const r = build('name = "h"\ntype = "hvm"\nmemory = 1024\nboot = "dc"\nserial = "pty"\nvnc = 1\nvnclisten = "0.0.0.0"\nacpi = 1\napic = 1\nviridian = 1\nusbdevice = [ "tablet" ]\nvga = "stdvga"\n');
    expect(r.config.c_info.type).toBe('hvm');
    expect(b(r)['type.hvm']).toEqual({ viridian: 'True', vga: { kind: 'std' }, vnc: { enable: 'True', listen: '0.0.0.0' }, sdl: {}, spice: {}, serial: 'pty', boot: 'dc', usbdevice_list: ['tablet'], rdm: {} });
    expect(b(r)).toMatchObject({ acpi: 'True', apic: 'True' });
    expect(r.unsupported[0]).toMatchObject({ key: 'type', line: 2, message: expect.stringMatching(/HVM guests need device emulation/) });
  });

  it('PVH, builder, pool, max_grant_frames, max_event_channels, seclabel and the rest', () => {
    const r = build(MIN + 'type = "pvh"\npool = "p1"\nmax_grant_frames = 64\nmax_event_channels = 1023\nlocaltime = 1\nrtc_timeoffset = "-3600"\nnomigrate = 1\ndevice_model_version = "qemu-xen"\nbootloader_args = "-q --x"\n');
    expect(r.config.c_info).toMatchObject({ type: 'pvh', pool_name: 'p1' });
    expect(b(r)).toMatchObject({ max_grant_frames: 64, event_channels: 1023, localtime: 'True', rtc_timeoffset: 4294963696, disable_migrate: 'True', device_model_version: 'qemu_xen', bootloader_args: ['-q', '--x'], 'type.pvh': {} });
    expect(build(MIN + 'builder = "generic"\n').warnings[0]!.message).toMatch(/deprecated/);
    expect(build(MIN + 'seclabel = "system_u:system_r:domU_t"\n').config.c_info.ssid_label).toBe('system_u:system_r:domU_t');
  });

  it('warns about unknown keys and HVM-only keys on a PV guest, with their lines', () => {
    const r = build(MIN + 'console = "ttyS0"\nboot = "c"\nfoo.bar = 1\nmemroy = 64\n');
    expect(r.warnings.map((w) => `${w.line} ${w.key}: ${w.message}`)).toEqual([
      "3 console: unknown key 'console': ignored (xl ignores keys it does not know)",
      "4 boot: 'boot' applies to HVM guests only: ignored for a PV guest",
      "5 foo.bar: unknown key 'foo.bar': ignored (xl ignores keys it does not know)",
      "6 memroy: unknown key 'memroy' (did you mean 'memory'?): ignored (xl ignores keys it does not know)",
    ]);
  });

  it('overrides are applied after the file, and a /dev/null config comes from them alone', () => {
    const r = build(MIN + 'memory = 128\n', ['memory=256', 'extra="x"', 'extra+=" y"']);
    expect(b(r)).toMatchObject({ target_memkb: 262144, cmdline: 'x y' });
    const n = loadDomainConfig('/dev/null', { overrides: ['name="cli"', 'kernel="/k"'], generateUuid: () => UUID });
    expect(n.config.c_info).toMatchObject({ name: 'cli', uuid: UUID });
  });

  it('a missing file is an XlCfgError naming it', () => {
    expect(() => loadDomainConfig(join('/nonexistent', 'guest.cfg'))).toThrow('/nonexistent/guest.cfg: Failed to read config file: No such file or directory');
  });
});
