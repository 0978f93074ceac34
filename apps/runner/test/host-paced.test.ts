// Paced simulated time (issue 5, section 1): while every vCPU is idle, the host daemon lets
// simulated time advance no faster than the wall clock, so consoles and clients feel live; with
// --unpaced it races ahead (batch runs).
import { describe, expect, it } from 'vitest';
import { HostClient } from '@tachyxx/toolstack';
import { GUEST, startHost } from './helpers.js';

async function dom0Uptime(c: HostClient): Promise<number> {
  const r = (await c.call('uptime', {})) as { domains: { domid: number; uptimeSec: number }[] };
  return r.domains.find((d) => d.domid === 0)!.uptimeSec;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('tachyxx host: simulated time pacing', () => {
  it('paced: an idle host advances simulated time with the wall clock, and a timer guest still completes', async () => {
    const h = await startHost(undefined, [], { paced: true });
    const c = await HostClient.connect(h.sock);
    try {
      const t0 = await dom0Uptime(c);
      const w0 = performance.now();
      await sleep(600);
      const dt = (await dom0Uptime(c)) - t0;
      const dw = (performance.now() - w0) / 1000;
      expect(dt).toBeGreaterThan(0);
      expect(dt).toBeLessThanOrEqual(dw + 0.05); // never faster than the wall clock
      expect(dt).toBeGreaterThan(dw * 0.5); // and keeps up with it when idle
      // a guest that sleeps on its timers finishes under pacing
      await c.call('create', {
        config: {
          c_info: { name: 'timer', type: 'pv' },
          b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 16384, target_memkb: 16384, kernel: GUEST('timer') },
          on_poweroff: 'preserve',
        },
      });
      const deadline = Date.now() + 10_000;
      for (;;) {
        const l = (await c.call('list', {})) as { domains: { name: string; shutdownReason: string | null }[] };
        if (l.domains.find((d) => d.name === 'timer')?.shutdownReason === 'poweroff') break;
        if (Date.now() > deadline) throw new Error('timer guest did not power off under pacing');
        await sleep(20);
      }
    } finally {
      c.close();
      h.proc.kill('SIGTERM');
    }
  });

  it('unpaced: with every vCPU blocked, simulated time runs far ahead of the wall clock', async () => {
    const h = await startHost();
    const c = await HostClient.connect(h.sock);
    try {
      // `deadlock` waits in wfi forever; its periodic timer keeps firing, so there is always a
      // next event and an unpaced host jumps from one to the next without waiting.
      await c.call('create', {
        config: {
          c_info: { name: 'sleeper', type: 'pv' },
          b_info: { max_vcpus: 1, avail_vcpus: [0], max_memkb: 16384, target_memkb: 16384, kernel: GUEST('deadlock') },
        },
      });
      const t0 = await dom0Uptime(c);
      const w0 = performance.now();
      await sleep(400);
      const dt = (await dom0Uptime(c)) - t0;
      const dw = (performance.now() - w0) / 1000;
      expect(dt).toBeGreaterThan(2 * dw);
    } finally {
      c.close();
      h.proc.kill('SIGTERM');
    }
  });

});
