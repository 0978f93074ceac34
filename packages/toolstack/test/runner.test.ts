// HostRunner with a domain that can never wake (deadlock.elf: wfi with no interrupt enabled,
// while its periodic timer keeps ticking - the hypervisor's "can never wake", docs/hypervisor.md):
// the loop sleeps instead of spinning on Host.run's 'idle', and paced, the clock still follows
// the wall clock.
import { describe, expect, it } from 'vitest';
import { HostRunner } from '@tachyxx/toolstack';
import { cfg, makeToolstack, op } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HostRunner and a domain that can never wake', () => {
  for (const paced of [false, true]) {
    it(`${paced ? 'paced' : 'unpaced'}: a few idle polls, not a busy loop${paced ? '; the clock follows the wall' : ''}`, async () => {
      const ts = makeToolstack();
      const r = new HostRunner(ts, { paced, idlePollMs: 20 });
      try {
        await op(ts, 'create', { config: cfg('dl', 'deadlock') });
        r.start();
        await sleep(150); // it boots and reaches its wfi
        const s0 = r.slices;
        const t0 = ts.host.clock.now;
        const w0 = performance.now();
        await sleep(400);
        const slices = r.slices - s0;
        const dw = (performance.now() - w0) * 1e6;
        expect(r.error).toBeNull();
        expect(ts.anyRunnable()).toBe(false);
        expect(ts.anyTimerPending()).toBe(true); // its periodic timer is armed, yet cannot wake it
        // 400 ms at one poll per 20 ms is ~20 turns; a spinning loop does thousands.
        expect(slices).toBeLessThan(60);
        const dt = ts.host.clock.now - t0;
        if (paced) {
          expect(dt).toBeGreaterThan(dw * 0.5);
          expect(dt).toBeLessThanOrEqual(dw + 50e6);
        }
      } finally {
        r.stop();
        ts.close();
      }
    });
  }
});
