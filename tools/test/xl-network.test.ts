// xl.cfg `vif = [...]` and xl network-list / network-attach / network-detach through real
// processes (issue 12 §4): a `tachyxx host --unpaced --pcap DIR` daemon and `xl` processes. The
// domain is created paused (no netfront runs), so the vifs sit in InitWait with the frontend in
// Initialising: what xl network-list shows then on Xen too (state 1, no rings, evt-ch -1).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { GUEST, TACHYXX, cliBuilt, until, xlSync } from './process-helpers.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xl-net-'));
const socket = join(dir, 'host.sock');
const pcap = join(dir, 'pcap');
let host: ChildProcess | null = null;
const xl = (...args: string[]) => xlSync(socket, args, 60_000);

beforeAll(async () => {
  if (!cliBuilt) return;
  host = spawn(process.execPath, [TACHYXX, 'host', '--unpaced', '--socket', socket, '--log-dir', join(dir, 'log'), '--pcap', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  host.stderr!.on('data', (d) => (err += d));
  await until(() => err.includes('listening on'), 20_000);
});

afterAll(async () => {
  if (host && host.exitCode === null) {
    host.kill('SIGTERM');
    await new Promise((r) => host!.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ';

describe.skipIf(!cliBuilt)('xl network-* against a running tachyxx host (real processes)', () => {
  it('vif = [...] at create; network-list in xl\'s columns; attach picks the next devid; detach by devid and by mac', async () => {
    const f = join(dir, 'n1.cfg');
    writeFileSync(f, `name = "n1"\ntype = "pv"\nkernel = "${GUEST('hello')}"\nmemory = 16\nvif = [ 'bridge=xenbr0', 'mac=00:16:3e:aa:bb:cc,bridge=xenbr1,rate=10Mb/s' ]\n`);
    const c = xl('create', '-p', '-q', f);
    expect(c.status, c.stderr).toBe(0);
    const domid = Number(xl('domid', 'n1').stdout.trim());
    const list = () => xl('network-list', 'n1');
    let l = list();
    expect(l.status, l.stderr).toBe(0);
    const mac0 = `00:16:3e:00:${domid.toString(16).padStart(2, '0')}:00`;
    expect(l.stdout.split('\n')).toEqual([
      HEADER,
      `0   0  ${mac0}     0     1     -1    -1/-1          /local/domain/0/backend/vif/${domid}/0`, // %-30s: 31 characters, no padding
      `1   0  00:16:3e:aa:bb:cc     1     1     -1    -1/-1          /local/domain/0/backend/vif/${domid}/1`,
      '',
    ]);
    const a = xl('network-attach', 'n1', 'bridge=xenbr2', 'vifname=web0');
    expect(a.status, a.stderr).toBe(0);
    l = list();
    expect(l.stdout).toMatch(new RegExp(`^2   0  00:16:3e:00:${domid.toString(16).padStart(2, '0')}:02     2     1 .*/backend/vif/${domid}/2`, 'm'));
    const bad = xl('network-attach', 'n1', 'script=vif-nat');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/script=vif-nat is not supported/);
    expect(xl('network-detach', 'n1', '7').stderr).toMatch(/Unknown device 7\./);
    expect(xl('network-detach', 'n1', '1').status).toBe(0);
    expect(xl('network-detach', 'n1', mac0).status).toBe(0);
    // No frontend runs to close them: removed at once.
    await until(() => !/^[01] /m.test(list().stdout), 30_000, 200);
    expect(list().stdout.split('\n').filter((x) => /^\d/.test(x)).map((x) => x.split(' ')[0])).toEqual(['2']);
    // The capture directory has the bridges' files (the ports have no traffic yet: headers only).
    expect(existsSync(pcap)).toBe(true);
    expect(xl('network-list', 'nosuch').stderr).toMatch(/nosuch is an invalid domain identifier/);
    expect(xl('destroy', 'n1').status).toBe(0);
    void readdirSync(pcap);
  });
});
