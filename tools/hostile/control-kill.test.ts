// kill -9 of the host (issue 8): xl then says clearly that no host answers (the socket is
// stale), and a new host starts on the stale socket (and xenstored's), with a new victim.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { built, sleep, startHost, startVictim, victimAlive, xl, type HostProc } from './control-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'tachyxx-kill-'));
const hosts: HostProc[] = [];
afterAll(async () => {
  for (const h of hosts) if (h.proc.exitCode === null && h.proc.signalCode === null) h.proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!built)('kill -9 of the host', () => {
  it('xl reports "no host" clearly; a new host starts on the stale sockets; xl list works again', async () => {
    const a = await startHost([], dir);
    hosts.push(a);
    await startVictim(a);
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    expect(existsSync(a.sock)).toBe(true); // left behind
    expect(existsSync(join(dir, 'xenstored.sock'))).toBe(true);
    const r = await xl(a.sock, ['list']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`xl: cannot reach a Tachyxx host at ${a.sock} (connection refused: the host is not running (stale socket))`);
    expect(r.stderr).toContain("Start one with 'tachyxx host --detach'");
    expect(r.ms).toBeLessThan(5000);
    // A new host on the same sockets.
    const b = await startHost([], dir);
    hosts.push(b);
    const v = await startVictim(b);
    await sleep(300);
    await victimAlive(b, v);
    b.proc.kill('SIGTERM');
    await new Promise((res) => b.proc.once('exit', res));
    expect(b.proc.exitCode).toBe(0);
    expect(existsSync(b.sock)).toBe(false);
  });
});
