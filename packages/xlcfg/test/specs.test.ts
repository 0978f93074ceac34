import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseDiskSpec, DiskSpecError, parseVifSpec, parseVifRate, VifSpecError, parsePciSpec, PciSpecError, parseCpuList } from '../src/index.js';

const diskErr = (spec: string) => {
  try {
    parseDiskSpec(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(DiskSpecError);
    return e as DiskSpecError;
  }
  throw new Error(`no error for '${spec}'`);
};

describe('disk specs (xl-disk-configuration(5))', () => {
  it('reads the key=value form in any order', () => {
    expect(parseDiskSpec('format=raw, vdev=xvda, access=w, target=/dev/vg/guest-volume')).toEqual({ pdev_path: '/dev/vg/guest-volume', vdev: 'xvda', format: 'raw', readwrite: 1 });
    expect(parseDiskSpec('format=raw,vdev=hdc,access=ro,backendtype=qdisk,devtype=cdrom,target=/root/boot.iso')).toEqual({ pdev_path: '/root/boot.iso', vdev: 'hdc', format: 'raw', backend: 'qdisk', readwrite: 0, removable: 1, is_cdrom: 1 });
    // target= takes the rest of the spec, commas included (so it goes last).
    expect(parseDiskSpec('vdev=hdc,target=/root/boot.iso,access=ro')).toMatchObject({ pdev_path: '/root/boot.iso,access=ro', readwrite: 1 });
  });

  it('reads the positional form: target, format, vdev, access', () => {
    expect(parseDiskSpec('/dev/vg/guest-volume,raw,xvda,rw')).toEqual({ pdev_path: '/dev/vg/guest-volume', vdev: 'xvda', format: 'raw', readwrite: 1 });
    expect(parseDiskSpec('/img/d.qcow2,qcow2,xvdb,r')).toMatchObject({ format: 'qcow2', vdev: 'xvdb', readwrite: 0 });
    expect(parseDiskSpec('/dev/x,,xvda')).toMatchObject({ format: 'raw', vdev: 'xvda', readwrite: 1 });
  });

  it('reads deprecated prefixes, which skip the format slot', () => {
    expect(parseDiskSpec('phy:/dev/vg/guest,xvda,w')).toEqual({ pdev_path: '/dev/vg/guest', vdev: 'xvda', format: 'raw', readwrite: 1 });
    expect(parseDiskSpec('file:/path/disk.img,xvda1,r')).toEqual({ pdev_path: '/path/disk.img', vdev: 'xvda1', format: 'raw', readwrite: 0 });
    expect(parseDiskSpec('tap:qcow2:/img/a.qcow2,xvda,w')).toMatchObject({ pdev_path: '/img/a.qcow2', format: 'qcow2' });
    expect(parseDiskSpec('iscsi:iqn.2001-05.com.example:disk,xvdb,w')).toMatchObject({ script: 'block-iscsi', pdev_path: 'iqn.2001-05.com.example:disk' });
  });

  it('reads cdroms: devtype=cdrom, the old vdev:cdrom, and an empty drive', () => {
    expect(parseDiskSpec('file:/srv/iso/debian.iso,hdc:cdrom,r')).toEqual({ pdev_path: '/srv/iso/debian.iso', vdev: 'hdc', format: 'raw', readwrite: 0, removable: 1, is_cdrom: 1 });
    expect(parseDiskSpec(',hdc:cdrom,r')).toEqual({ pdev_path: '', vdev: 'hdc', format: 'empty', readwrite: 0, removable: 1, is_cdrom: 1 });
    expect(parseDiskSpec('vdev=hdc,devtype=cdrom')).toMatchObject({ format: 'empty', is_cdrom: 1 });
    expect(parseDiskSpec('/a.iso,raw,hdc,cdrom')).toMatchObject({ is_cdrom: 1 });
  });

  it('reads the flags and the target= that eats commas', () => {
    expect(parseDiskSpec('vdev=xvda,direct-io-safe,discard,trusted,backend=dom1,script=block-drbd,target=rbd:pool/img,a=b')).toEqual({
      backend_domname: 'dom1', pdev_path: 'rbd:pool/img,a=b', vdev: 'xvda', format: 'raw', script: 'block-drbd', readwrite: 1, direct_io_safe: true, discard_enable: 'True', trusted: 'True',
    });
    expect(parseDiskSpec('vdev=xvda,no-discard,untrusted,specification=virtio,target=/x')).toMatchObject({ discard_enable: 'False', trusted: 'False', specification: 'virtio' });
  });

  it('refuses bad specs with the reason and the allowed values', () => {
    expect(diskErr('/dev/vg/guest,xvda,w').reason).toBe("unknown value for format: 'xvda'");
    expect(diskErr('/dev/vg/guest,xvda,w').allowed).toContain('qcow2');
    expect(diskErr('/x,raw,xvda,rwx').reason).toBe("unknown value for access: 'rwx'");
    expect(diskErr('/x,raw,xvda,rw,extra').reason).toMatch(/too many positional parameters: near 'extra'/);
    expect(diskErr('/x').reason).toBe('no vdev specified');
    expect(diskErr('vdev=xvda').reason).toBe('no target specified (and device not removable)');
    expect(diskErr('vdev=xvda,devtype=floppy,target=/x').allowed).toEqual(['disk', 'cdrom']);
    expect(diskErr('vdev=xvda,colour=red,target=/x').reason).toBe("unknown parameter 'colour'");
    expect(diskErr('vdev=xvda,vdev=xvdb,target=/x').reason).toBe("vdev respecified: near 'xvdb'");
    expect(diskErr('foo:/dev/x,xvda').reason).toBe("unknown deprecated disk prefix 'foo:'");
    expect(diskErr('vdev=xvda,backendtype=nbd,target=/x').allowed).toEqual(['phy', 'tap', 'qdisk', 'standalone']);
  });

  it('never throws anything but DiskSpecError on random specs', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('phy:', 'file:', '/dev/x', ',', 'xvda', 'hdc:cdrom', 'raw', 'qcow2', 'r', 'w', '=', 'target=', 'vdev=', 'format=', 'devtype=cdrom', ' ', 'foo:', 'a'), { maxLength: 12 }), (parts) => {
        try {
          parseDiskSpec(parts.join(''));
        } catch (e) {
          if (!(e instanceof DiskSpecError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('vif specs (xl-network-configuration(5))', () => {
  it('reads key=value items, with spaces after commas, and the empty spec', () => {
    expect(parseVifSpec('', 0).nic).toEqual({ devid: 0 });
    expect(parseVifSpec('bridge=xenbr0, mac=00:16:3E:1a:2b:1, model=e1000, type=ioemu, vifname=web0, ip=10.0.0.2', 3).nic).toEqual({
      devid: 3, bridge: 'xenbr0', mac: '00:16:3e:1a:2b:01', model: 'e1000', nictype: 'vif_ioemu', ifname: 'web0', ip: '10.0.0.2',
    });
    expect(parseVifSpec('backend=netdom,script=vif-nat,gatewaydev=eth0,mtu=9000,vlan=10,devid=7,trusted', 0).nic).toEqual({
      devid: 7, backend_domname: 'netdom', script: 'vif-nat', gatewaydev: 'eth0', mtu: 9000, vlan: '10', trusted: 'True',
    });
  });

  it('reads rates as libxl does (bytes per interval, 50 ms default)', () => {
    expect(parseVifRate('10240KB/s')).toEqual({ bytesPerInterval: 512000, intervalUsecs: 50000 });
    expect(parseVifRate('10Mb/s@20ms')).toEqual({ bytesPerInterval: 25000, intervalUsecs: 20000 });
    expect(parseVifRate('1GB/s@1s')).toEqual({ bytesPerInterval: 1e9, intervalUsecs: 1e6 });
    expect(parseVifRate('100B/s@250us')).toEqual({ bytesPerInterval: 0, intervalUsecs: 250 });
    expect(() => parseVifRate('fast')).toThrow(VifSpecError);
    expect(() => parseVifRate('10Mb/s@soon')).toThrow(VifSpecError);
    expect(() => parseVifRate('0Mb/s')).toThrow(VifSpecError);
  });

  it('refuses unknown items, bad macs and bad types, listing what is allowed', () => {
    const e = (() => {
      try {
        parseVifSpec('bridge=xenbr0,colour=red', 0);
      } catch (x) {
        return x as VifSpecError;
      }
    })()!;
    expect(e.reason).toBe("unrecognized argument 'colour=red'");
    expect(e.allowed).toContain('bridge=');
    expect(() => parseVifSpec('mac=00:16:3e:zz:00:01', 0)).toThrow(/invalid mac/);
    expect(() => parseVifSpec('type=tap', 0)).toThrow(VifSpecError);
    expect(parseVifSpec('accel=x', 0).warnings).toHaveLength(1);
  });
});

describe('pci specs (xl-pci-configuration(5))', () => {
  it('reads BDFs with and without a domain, vslots, function wildcards and options', () => {
    expect(parsePciSpec('0000:01:1a.1')).toEqual({ domain: 0, bus: 1, dev: 0x1a, func: 1, vfunc_mask: 1 });
    expect(parsePciSpec('02:00.0,permissive=1')).toEqual({ domain: 0, bus: 2, dev: 0, func: 0, vfunc_mask: 1, permissive: true });
    expect(parsePciSpec('0001:03:1f.*@8,msitranslate=1,rdm_policy=relaxed')).toMatchObject({ domain: 1, bus: 3, dev: 0x1f, vfunc_mask: 0xffffffff, vdevfn: 0x40, msitranslate: true, rdm_policy: 'relaxed' });
    expect(parsePciSpec('bdf=03:00.0,seize=1,power_mgmt=1')).toMatchObject({ bus: 3, seize: true, power_mgmt: true });
    expect(parsePciSpec('name=gpu0')).toEqual({ name: 'gpu0' });
    expect(parsePciSpec('01:00.0', { permissive: true })).toMatchObject({ permissive: true });
  });

  it('refuses bad BDFs and unknown options', () => {
    for (const bad of ['01:20.0', '01:00.8', '100:00.0', '0000:01:00', 'name=a,01:00.0', '01:00.0,name=x', 'permissive=1', '01:00.0,colour=red', '01:00.0@20', '01:00.0,rdm_policy=lax']) {
      expect(() => parsePciSpec(bad), bad).toThrow(PciSpecError);
    }
  });
});

describe("cpu lists (xl's cpus= syntax)", () => {
  const host = { pcpus: 8, nodes: [[0, 1, 2, 3], [4, 5, 6, 7]] };
  it('reads ranges, exclusions, nodes and all', () => {
    expect(parseCpuList('0-3,^2', host)).toEqual({ cpus: [0, 1, 3], missing: [] });
    expect(parseCpuList('nodes:0', host)).toEqual({ cpus: [0, 1, 2, 3], missing: [] });
    expect(parseCpuList('node:1,^6', host)).toEqual({ cpus: [4, 5, 7], missing: [] });
    expect(parseCpuList('all,^nodes:0', host)).toEqual({ cpus: [4, 5, 6, 7], missing: [] });
    expect(parseCpuList('all', host)).toEqual({ cpus: [0, 1, 2, 3, 4, 5, 6, 7], missing: [] });
    expect(parseCpuList('5', host)).toEqual({ cpus: [5], missing: [] });
  });
  it('tells which CPUs or nodes the host lacks, and refuses bad ranges', () => {
    expect(parseCpuList('6-9', host)).toEqual({ cpus: [6, 7], missing: ['pCPUs 8-9'] });
    expect(parseCpuList('9', host)).toEqual({ cpus: [], missing: ['pCPU 9'] });
    // Issue 8: a range past the host is reported in one piece, never expanded (this took a
    // 4-billion-element array before).
    const t0 = performance.now();
    expect(parseCpuList('0-4000000000', host)).toEqual({ cpus: [0, 1, 2, 3, 4, 5, 6, 7], missing: ['pCPUs 8-4000000000'] });
    expect(parseCpuList('nodes:0-99999999999', host)).toEqual({ cpus: [0, 1, 2, 3, 4, 5, 6, 7], missing: ['nodes 2-99999999999'] });
    expect(performance.now() - t0).toBeLessThan(50);
    expect(parseCpuList('nodes:2', host)).toEqual({ cpus: [], missing: ['node 2'] });
    expect(parseCpuList('^all', host)).toBe(`can't combine "^" and "all" in '^all'`);
    expect(parseCpuList('3-1', host)).toMatch(/3-1/);
    expect(parseCpuList('x', host)).toMatch(/invalid pCPU range 'x'/);
    expect(parseCpuList('', host)).toMatch(/names no CPUs/);
  });
});
