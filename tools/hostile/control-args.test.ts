// Hostile arguments through the real xl against a real `tachyxx host` (issue 8, findings 4 and
// 19): ranges of billions of pCPUs, memory sizes of 1e300, weights out of range. Each is an
// xl-style error at once; the victim keeps running and `xl list` answers within the bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostClient } from '@tachyxx/toolstack';
import { LIST_BOUND_MS, built, rssMiB, startHost, startVictim, victimAlive, xl, type HostProc } from './control-helpers.js';

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

describe.skipIf(!built)('xl with hostile numbers', () => {
  it('vcpu-pin victim 0 0-4000000000 (it used to kill the host): refused by xl, and by the host when sent directly', async () => {
    const rss0 = rssMiB(h.proc.pid!);
    const r = await xl(h.sock, ['vcpu-pin', 'victim', '0', '0-4000000000']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("Invalid hard affinity '0-4000000000': pCPUs 4-4000000000 not on this host (4 pCPUs: 0-3, 1 NUMA node).\n");
    expect(r.ms).toBeLessThan(LIST_BOUND_MS);
    const soft = await xl(h.sock, ['vcpu-pin', 'victim', 'all', '-', 'nodes:0-99999999999']);
    expect(soft.status).toBe(1);
    expect(soft.stderr).toMatch(/^Invalid soft affinity 'nodes:0-99999999999': nodes 1-99999999999 not on this host/);
    // Never trust the client: the same request sent straight to the socket is refused by the host.
    const c = await HostClient.connect(h.sock);
    try {
      await expect(c.call('vcpu-pin', { domain: 'victim', vcpu: 0, hard: '0-4000000000' })).rejects.toThrow(/hard affinity: pCPUs 4-4000000000 do not exist \(the host has 4: 0-3\)/);
      await expect(c.call('mem-max', { domain: 'victim', memkb: 1e300 })).rejects.toThrow(/argument 'memkb' must be an integer/);
    } finally {
      c.close();
    }
    expect(rssMiB(h.proc.pid!) - rss0).toBeLessThan(100);
    const v = await xl(h.sock, ['vcpu-list', 'victim']);
    expect(v.stdout).toMatch(/all \/ all\n$/);
    victim = await victimAlive(h, victim);
  });

  it('mem-max 1e300, 99999999999999999999t, -1; vcpu-set 4294967296; sched-credit -w 70000: xl errors, nothing changed', async () => {
    const before = (await xl(h.sock, ['list', '-l', 'victim'])).stdout;
    for (const [args, err] of [
      [['mem-max', 'victim', '1e300'], 'invalid memory size: 1e300\n'],
      [['mem-max', 'victim', '99999999999999999999t'], 'invalid memory size: 99999999999999999999t\n'],
      [['mem-set', 'victim', '-1'], /^xl: mem-set: Unknown option '-1'|invalid memory size: -1/],
      [['vcpu-set', 'victim', '4294967296'], 'Error: Invalid argument.\n'],
      [['vcpu-pin', 'victim', '99999999999', '0'], 'Error: Invalid argument 99999999999 as VCPU.\n'],
      [['sched-credit', '-d', 'victim', '-w', '70000'], 'libxl: error: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n'],
      [['sched-credit', '-d', 'victim', '-c', '99999999999999999999'], /^libxl: error: sched-credit: cap \d+ is out of range 0\.\.400/],
    ] as const) {
      const r = await xl(h.sock, [...args]);
      expect(r.status, args.join(' ')).not.toBe(0);
      if (typeof err === 'string') expect(r.stderr).toBe(err);
      else expect(r.stderr).toMatch(err);
    }
    expect((await xl(h.sock, ['list', '-l', 'victim'])).stdout).toBe(before);
    victim = await victimAlive(h, victim);
  });
});
