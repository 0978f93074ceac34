// Hostile files and directories around a real `tachyxx host` (issue 8, findings 7, 8): a kernel
// that is /dev/zero or a FIFO, a socket directory someone else can write to. A victim domain
// keeps running and `xl list` answers within LIST_BOUND_MS throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIST_BOUND_MS, ROOT, TACHYXX, built, rssMiB, startHost, startVictim, victimAlive, xl, type HostProc } from './control-helpers.js';

let h: HostProc;
let victim = 0;
beforeAll(async () => {
  if (!built) return;
  h = await startHost();
  victim = await startVictim(h);
});
afterAll(async () => {
  await h?.stop();
});

function kernelCfg(name: string, kernel: string, extra = ''): string {
  const f = join(h.dir, `${name}.cfg`);
  writeFileSync(f, `name = "${name}"\ntype = "pv"\nkernel = "${kernel}"\nmemory = 16\n${extra}`);
  return f;
}

describe.skipIf(!built)('files an xl.cfg names, and the socket directory', () => {
  it('kernel = "/dev/zero", a FIFO, a directory: xl create fails at once naming the file; the host stays small', async () => {
    const fifo = join(h.dir, 'kernel.fifo');
    execFileSync('mkfifo', [fifo]);
    const rss0 = rssMiB(h.proc.pid!);
    for (const [kernel, kind] of [['/dev/zero', 'a character device'], [fifo, 'a FIFO'], [h.dir, 'a directory']] as const) {
      const r = await xl(h.sock, ['create', '-q', kernelCfg('bad', kernel)]);
      expect(r.status).toBe(3);
      expect(r.stderr).toContain(`libxl: error: kernel ${kernel}: is ${kind}, not a regular file`);
      expect(r.ms).toBeLessThan(LIST_BOUND_MS);
    }
    const rd = await xl(h.sock, ['create', '-q', kernelCfg('bad', join(ROOT, 'guests/build/hello.elf'), 'ramdisk = "/dev/zero"\n')]);
    expect(rd.stderr).toContain('libxl: error: ramdisk /dev/zero: is a character device, not a regular file');
    expect(rssMiB(h.proc.pid!) - rss0).toBeLessThan(100);
    victim = await victimAlive(h, victim);
  });

  it('a socket directory others can write to: xl refuses to talk through it; a host refuses to start in it', async () => {
    chmodSync(h.dir, 0o777);
    try {
      const r = await xl(h.sock, ['list']);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`xl: not connecting to ${h.sock}: ${h.dir}: the socket directory has mode 0777`);
    } finally {
      chmodSync(h.dir, 0o700);
    }
    const shared = join(h.dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const p = spawnSync(process.execPath, [TACHYXX, 'host', '--socket', join(shared, 'host.sock')], { encoding: 'utf8', timeout: 30_000 });
    expect(p.status).toBe(1);
    expect(p.stderr).toContain(`tachyxx host: ${shared}: the socket directory has mode 1777: group or others can write to it`);
    if (process.getuid!() === 0) {
      // Another user's directory (someone replaced host.sock there): refused too.
      chownSync(h.dir, 4242, 4242);
      try {
        const r = await xl(h.sock, ['list']);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/owned by uid 4242, not by you/);
      } finally {
        chownSync(h.dir, 0, 0);
      }
    }
    victim = await victimAlive(h, victim);
  });
});
