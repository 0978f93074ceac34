import { describe, it, expect } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xl, tmp, FIXTURES } from './helpers.js';

describe('xl CLI (the built dist/cli.js, run as a process)', () => {
  it('create -n prints libxl domain config JSON for a real config, exit 0', () => {
    const r = xl(['create', '-n', join(FIXTURES, 'xlexample.pvlinux.cfg')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^Parsing config from .*xlexample\.pvlinux\.cfg\n/);
    expect(r.stderr).not.toMatch(/: vif:/); // a bridged vif: pv-net serves it
    expect(r.stderr).not.toMatch(/: disk:/); // a raw disk: pv-blk serves it
    const j = JSON.parse(r.stdout);
    expect(j.c_info).toMatchObject({ type: 'pv', name: 'example.pvlinux', run_hotplug_scripts: 'True' });
    expect(j.c_info.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(j.b_info).toMatchObject({ max_vcpus: 2, avail_vcpus: [0, 1], max_memkb: 131072, target_memkb: 131072, kernel: '/boot/vmlinuz', cmdline: 'root=/dev/xvda1' });
    expect(j.disks).toEqual([{ pdev_path: '/dev/vg/guest-volume', vdev: 'xvda', format: 'raw', readwrite: 1 }]);
    expect(j.on_reboot).toBe('restart');
    expect(r.stdout).toMatch(/^\{\n {4}"c_info": \{\n {8}"type": "pv",/); // yajl-style 4-space indents
  });

  it('create -n without a host checks cpus= against the default tachyxx host (4 pCPUs), as create would', () => {
    const d = tmp();
    const cfg = join(d, 'pinned.cfg');
    writeFileSync(cfg, 'name = "p"\nkernel = "k"\nmemory = 64\ncpus = "2-3"\ncpus_soft = "3-5"\n');
    const r = xl(['create', '-n', '-q', cfg], d);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/pCPU 2|pCPU 3/);
    expect(r.stderr).toMatch(/cpus_soft: pCPUs 4-5 not on this host \(4 pCPUs, 1 NUMA node\): ignored/);
  });

  it('-q, overrides, the global -N, and relative paths against the config folder', () => {
    const d = tmp();
    mkdirSync(join(d, 'guests'));
    const cfg = join(d, 'guests', 'g.cfg');
    writeFileSync(cfg, 'name = "g"\nkernel = "vmlinuz"\nmemory = 64\n');
    const r = xl(['create', '-n', '-q', cfg, 'memory=128', 'vcpus=2', 'extra="console=hvc0"'], d);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    expect(j.b_info).toMatchObject({ target_memkb: 131072, max_vcpus: 2, kernel: join(d, 'guests', 'vmlinuz'), cmdline: 'console=hvc0' });
    const n = xl(['-N', 'create', '-q', cfg]);
    expect(n.status).toBe(0);
    expect(JSON.parse(n.stdout).c_info.name).toBe('g');
  });

  it('a syntax error: one line naming file, line and column, exit 1, nothing on stdout', () => {
    const d = tmp();
    const cfg = join(d, 'bad.cfg');
    writeFileSync(cfg, 'name = "g"\nkernel = "/k"\nvif = [ "a" "b" ]\n');
    const r = xl(['create', '-n', '-q', cfg]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${cfg}:3:13: expected ',' or ']' after a list item, found string "b"\n`);
  });

  it('an invalid value: the key and what is allowed, exit 1', () => {
    const d = tmp();
    const cfg = join(d, 'guest.cfg');
    writeFileSync(cfg, 'name = "g"\nkernel = "/k"\nmemory = "lots"\n');
    const r = xl(['create', '-n', '-q', 'guest.cfg'], d);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("guest.cfg:3: memory: 'lots' is not a number of MiB\n");
    const m = xl(['create', '-n', '-q', '/nonexistent.cfg']);
    expect(m.status).toBe(1);
    expect(m.stderr).toBe('/nonexistent.cfg: Failed to read config file: No such file or directory\n');
  });

  it('help for xl and create; bad usage exits 2', () => {
    for (const args of [['help'], ['--help'], ['-h']]) {
      const r = xl(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage xl \[-vfNtTV\] <subcommand> \[args\]/);
      for (const c of ['create', 'list', 'destroy', 'shutdown', 'reboot', 'pause', 'unpause', 'rename', 'domid', 'domname', 'console', 'vcpu-list', 'vcpu-pin', 'vcpu-set', 'mem-set', 'mem-max', 'info', 'dmesg', 'uptime', 'sched-credit', 'cpupool-list', 'cpupool-create', 'cpupool-numa-split', 'top', 'help']) {
        expect(r.stdout).toMatch(new RegExp(`^ ${c} +\\S`, 'm'));
      }
    }
    for (const args of [['create', '--help'], ['help', 'create'], ['create', '-h']]) {
      const r = xl(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: xl \[-v\] create <ConfigFile> \[options\] \[vars\]/);
      expect(r.stdout).toMatch(/-n, --dryrun/);
    }
    expect(xl(['create', '-n']).status).toBe(2);
    expect(xl(['create', '-n']).stderr).toMatch(/no config file given/);
    expect(xl(['create', '--frob', 'x.cfg']).status).toBe(2);
    expect(xl(['frobnicate']).status).toBe(2);
  });

  it('with no host running, every host command names the socket and how to start one, exit 1', () => {
    const d = tmp();
    const sock = join(d, 'none.sock');
    const env = { TACHYXX_HOST: sock };
    for (const c of [['list'], ['destroy', 'x'], ['console', 'x'], ['info'], ['top', '-b', '-i', '1'], ['vcpu-list'], ['sched-credit']]) {
      const r = xl(c, undefined, env);
      expect(r.status, c[0]).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`xl: cannot reach a Tachyxx host at ${sock} (no such socket: no host is running).\n` +
        "Start one with 'tachyxx host --detach' (it listens there by default), or point TACHYXX_HOST at a running host's socket.\n");
    }
    writeFileSync(join(d, 'g.cfg'), 'name="g"\nkernel="/k"\n');
    const c = xl(['create', '-q', join(d, 'g.cfg')], undefined, env);
    expect(c.status).toBe(1);
    expect(c.stderr).toMatch(/cannot reach a Tachyxx host at .*none\.sock/);
  });

  it('every command has --help in xl\'s layout', () => {
    for (const c of ['list', 'destroy', 'shutdown', 'console', 'vcpu-pin', 'sched-credit', 'cpupool-create', 'top']) {
      const r = xl([c, '--help']);
      expect(r.status, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: xl \\[-v[fN]*\\] ${c} `));
    }
  });
});
