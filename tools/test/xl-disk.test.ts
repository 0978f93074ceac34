// xl.cfg `disk = [...]` through real processes (issue 11): a `tachyxx host --unpaced` daemon, `xl`
// processes, the blkfront C guest on a raw image file made by the test; the image checked after.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { GUEST, XL, cliBuilt, until, xlSync, startHost, stopHost } from './process-helpers.js';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDiskSpec } from '@tachyxx/xlcfg';
import { diskSpecFromLibxl } from '@tachyxx/pv-blk';

const BLKFRONT = GUEST('blkfront');
const built = cliBuilt && existsSync(BLKFRONT);
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xl-disk-'));
const socket = join(dir, 'host.sock');
let host: ChildProcess | null = null;

const xl = (...args: string[]) => xlSync(socket, args, 60_000);
/** xl run from working directory `cwd` (relative disk targets resolve there). */
function xlSyncIn(cwd: string, args: string[]) {
  const p = spawnSync(process.execPath, [XL, ...args], { cwd, encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: socket }, timeout: 60_000 });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}
/** A cfg running blkfront.elf with `disks` (xl.cfg disk spec strings). */
function cfg(name: string, disks: string[], extra = ''): string {
  const f = join(dir, `${name}.cfg`);
  writeFileSync(f, `name = "${name}"\ntype = "pv"\nkernel = "${BLKFRONT}"\nmemory = 16\ndisk = [ ${disks.map((d) => `'${d}'`).join(', ')} ]\n${extra}`);
  return f;
}
function image(name: string, bytes: number): string {
  const p = join(dir, name);
  writeFileSync(p, '');
  truncateSync(p, bytes);
  return p;
}

beforeAll(async () => {
  if (!built) return;
  host = await startHost(['--unpaced', '--socket', socket, '--log-dir', join(dir, 'log')]);
});

afterAll(async () => {
  await stopHost(host);
  rmSync(dir, { recursive: true, force: true });
});

describe('xlcfg disk entries as pv-blk vbd specs', () => {
  it('positional and key=value specs map to the same vbd; what blkback cannot serve is refused', () => {
    expect(diskSpecFromLibxl(parseDiskSpec('/img/a.img,raw,xvda,w'))).toEqual({ target: '/img/a.img', vdev: 'xvda', access: 'w', format: 'raw' });
    expect(diskSpecFromLibxl(parseDiskSpec('format=raw, vdev=xvdb, access=ro, target=/img/a.img'))).toEqual({ target: '/img/a.img', vdev: 'xvdb', access: 'r', format: 'raw' });
    expect(diskSpecFromLibxl(parseDiskSpec('format=raw, vdev=xvdc, no-discard, target=/img/a.img'))).toMatchObject({ vdev: 'xvdc', discard: false });
    expect(diskSpecFromLibxl(parseDiskSpec('format=raw, vdev=xvdc, discard, target=/img/a.img'))).toMatchObject({ vdev: 'xvdc', discard: true });
    expect(diskSpecFromLibxl(parseDiskSpec('phy:/img/a.img,hda,w'))).toMatchObject({ vdev: 'hda', access: 'w' });
    expect(() => diskSpecFromLibxl(parseDiskSpec('/img/a.qcow2,qcow2,xvda,w'))).not.toThrow(); // the format is addVbd's to refuse
    expect(() => diskSpecFromLibxl(parseDiskSpec('vdev=xvda, devtype=cdrom, target=/img/x.iso'))).toThrow(/cdrom is not supported/);
    expect(() => diskSpecFromLibxl(parseDiskSpec('backendtype=qdisk, vdev=xvda, target=/img/a.img'))).toThrow(/backendtype=qdisk is not supported/);
    expect(() => diskSpecFromLibxl(parseDiskSpec('script=block-iscsi, vdev=xvda, target=iqn'))).toThrow(/hotplug scripts are not run/);
  });
});

describe.skipIf(!built)('xl create with disk = [...] against a running tachyxx host (real processes)', () => {
  it('create -n: a raw disk is no longer reported unsupported; qcow2 is, with the reason and line', () => {
    const ok = xl('create', '-n', '-q', cfg('dry', [`${join(dir, 'none.img')},raw,xvda,w`]));
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout).disks).toEqual([{ pdev_path: join(dir, 'none.img'), vdev: 'xvda', format: 'raw', readwrite: 1 }]);
    const q = xl('create', '-q', cfg('qcow', [`${join(dir, 'a.qcow2')},qcow2,xvda,w`]));
    expect(q.status).toBe(1);
    expect(q.stderr).toMatch(/qcow\.cfg:5: .*disk 'xvda': format 'qcow2' is not supported \(only raw images/);
  });

  it('create -c: blkfront writes, flushes and reads back its disk, prints PASS; the image holds its writes', () => {
    const img = image('guest.img', 2 * MiB);
    const r = xl('create', '-c', '-q', cfg('blkfront', [`${img},raw,xvda,w`]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('xvda: 4096 sectors of 512 bytes, flush 1');
    expect(r.stdout).toContain('read back: 0 bad bytes');
    expect(r.stdout).toContain('blkfront: PASS');
    // What the guest wrote (guests/blkfront/blkfront.c): sector 0 onwards holds its pattern.
    const b = readFileSync(img);
    const pattern = (off: number) => (Math.floor(off / 512) * 7 + (off % 512) * 13 + 0x5a) & 0xff;
    for (const o of [0, 1, 511, 512, 200 * 512 + 3, b.length - 1]) expect(b[o], `byte ${o}`).toBe(pattern(o));
    expect(b[90 * 512]).toBe(0); // between the big writes: untouched
    expect(xl('list', 'blkfront').status).toBe(1); // powered off and destroyed
  });

  it('one file read-write in two domains: the second is refused with a clear error; free again after destroy', () => {
    const img = image('shared.img', 2 * MiB);
    expect(xl('create', '-q', '-p', cfg('holder', [`${img},raw,xvda,w`])).status).toBe(0);
    const second = xl('create', '-q', '-p', cfg('second', [`${img},raw,xvda,w`]));
    expect(second.status).toBe(3); // a libxl error, as for a taken name (xl-flow.test.ts)
    expect(second.stderr).toMatch(new RegExp(`^libxl: error: disk xvda: file ${img.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by domain \\d+ \\(mode w\\), and so cannot be used read-write by domain \\d+`));
    expect(xl('list', 'second').status).toBe(1); // nothing left of it
    const ro = xl('create', '-q', '-p', cfg('reader', [`${img},raw,xvda,r`]));
    expect(ro.status).toBe(3); // read-only while another domain has it read-write: refused too
    expect(xl('destroy', 'holder').status).toBe(0);
    expect(xl('create', '-q', '-p', cfg('second', [`${img},raw,xvda,w`])).status).toBe(0);
    expect(xl('destroy', 'second').status).toBe(0);
  });

  it('on_poweroff = "restart": the vbd of the old domain goes with it, so the rebuilt domain opens the file read-write again', async () => {
    const img = image('restart.img', 2 * MiB);
    expect(xl('create', '-q', cfg('again', [`${img},raw,xvda,w`], 'on_poweroff = "restart"\n')).status).toBe(0);
    const log = join(dir, 'log', 'guest-again.log');
    await until(() => existsSync(log) && (readFileSync(log, 'utf8').match(/blkfront: PASS/g) ?? []).length >= 2, 30_000);
    expect(xl('destroy', 'again').status).toBe(0);
  });

  it('block-attach / block-list / block-detach: hot plug through the xenbus states, xl\'s output', async () => {
    const img = image('hot.img', MiB);
    const f = join(dir, 'hot.cfg');
    writeFileSync(f, `name = "hot"\ntype = "pv"\nkernel = "${GUEST('blkwriter')}"\nmemory = 16\n`);
    expect(xl('create', '-q', '-p', f).status).toBe(0);
    const domid = Number(xl('domid', 'hot').stdout.trim());
    const header = 'Vdev  BE  handle state evt-ch ring-ref BE-path                       ';
    expect(xl('block-list', 'hot').stdout).toBe(`${header}\n`);
    // Errors as xl reports them.
    const bad = xl('block-attach', 'hot', `${img},qcow2,xvda,w`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^libxl: error: disk xvda: format 'qcow2' is not supported.*\nlibxl_device_disk_add failed\.\n$/s);
    expect(xl('block-attach', 'nosuch', `${img},raw,xvda,w`).stderr).toBe('nosuch is an invalid domain identifier (rc=-6)\n');
    // Attach while paused: the frontend directory is there before the guest looks (key=value form, relative target).
    const rel = xlSyncIn(dir, ['block-attach', 'hot', 'format=raw, vdev=xvda, access=rw, target=hot.img']);
    expect(rel.status, rel.stderr).toBe(0);
    const again = xl('block-attach', 'hot', `${img},raw,xvda,w`);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('device already exists');
    const be = `/local/domain/0/backend/vbd/${domid}/51712`;
    const row = (st: number, ev: number, rr: number) => `${'51712'.padEnd(5)} ${'0'.padEnd(3)} ${String(domid).padEnd(6)} ${String(st).padEnd(5)} ${String(ev).padEnd(6)} ${String(rr).padEnd(8)} ${be.padEnd(30)}`;
    expect(xl('block-list', 'hot').stdout).toBe(`${header}\n${row(1, -1, -1)}\n`);
    const both = xl('block-list', 'hot', 'nosuch', String(domid));
    expect(both.stderr).toBe('nosuch is an invalid domain identifier\n');
    expect(both.stdout.split('\n').filter((l) => l.startsWith('51712'))).toHaveLength(2);
    expect(xl('unpause', 'hot').status).toBe(0);
    const log = join(dir, 'log', 'guest-hot.log');
    await until(() => existsSync(log) && /acked 3\b/.test(readFileSync(log, 'utf8')), 30_000);
    // Connected: frontend state 4, an event channel, and no ring-ref (a 4-page ring: ring-ref0..3).
    const listed = xl('block-list', 'hot').stdout.split('\n')[1]!;
    expect(listed).toMatch(new RegExp(`^51712 0   ${String(domid).padEnd(6)} 4     \\d+ +-1       ${be}`));
    expect(xl('block-detach', 'hot', 'xvdb').stderr).toBe('Error: Device xvdb not connected.\n');
    const det = xl('block-detach', 'hot', 'xvda');
    expect(det.status, det.stderr).toBe(0);
    expect(xl('block-list', 'hot').stdout).toBe(`${header}\n`);
    await until(() => /blkwriter: detached after \d+ batches \(close -> 0\)/.test(readFileSync(log, 'utf8')), 30_000);
    expect(xl('dmesg').stdout).not.toContain('removed by force'); // the frontend closed: no forced removal
    await until(() => xl('list', 'hot').status === 1, 30_000); // it powered off and went
    // The file can be attached read-write elsewhere again: nothing holds it.
    expect(xl('create', '-q', '-p', f.replace('hot.cfg', 'hot.cfg')).status).toBe(0);
    expect(xl('block-attach', 'hot', `${img},raw,xvda,w`).status).toBe(0);
    expect(xl('destroy', 'hot').status).toBe(0);
  }, 120_000);

  it('a missing image file: refused naming the file', () => {
    const missing = join(dir, 'missing.img');
    const r = xl('create', '-q', cfg('missing', [`${missing},raw,xvda,w`]));
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`libxl: error: disk xvda: target ${missing}: ENOENT`);
    expect(xl('list', 'missing').status).toBe(1);
  });
});
