// A guest that writes console output as fast as it can (guests/conflood) next to a victim, on a
// real `tachyxx host` (issue 8, finding 10: 3.5 GB of log in 11 s before). The console is
// rate-limited as xenconsoled does, the dropped bytes are reported in the host log, the log
// files stay under their cap, the victim keeps running and `xl list` answers within the bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LIST_BOUND_MS, built, cfg, sleep, startHost, startVictim, victimAlive, xl, type HostProc } from './control-helpers.js';

const LOG_SIZE = 256 * 1024;
let h: HostProc;
let victim = 0;
beforeAll(async () => {
  if (!built) return;
  h = await startHost(['--log-size', '256k', '--log-keep', '1']);
  victim = await startVictim(h);
});
afterAll(async () => {
  await h?.stop();
});

describe.skipIf(!built)('console flood', () => {
  it('conflood for 8 s: bounded logs, dropped bytes reported, the victim runs, xl list answers', async () => {
    const r = await xl(h.sock, ['create', '-q', cfg(h.dir, 'flood', 'conflood')]);
    expect(r.status).toBe(0);
    const t0 = Date.now();
    let worst = 0;
    while (Date.now() - t0 < 8000) {
      const l = await xl(h.sock, ['list']);
      expect(l.status).toBe(0);
      worst = Math.max(worst, l.ms);
      await sleep(500);
    }
    const secs = (Date.now() - t0) / 1000;
    expect(worst).toBeLessThan(LIST_BOUND_MS);
    victim = await victimAlive(h, victim);
    const files = readdirSync(h.logDir).filter((f) => f.startsWith('guest-flood.log')).sort();
    expect(files).toEqual(['guest-flood.log', 'guest-flood.log.1']);
    const total = files.reduce((n, f) => n + statSync(join(h.logDir, f)).size, 0);
    for (const f of files) expect(statSync(join(h.logDir, f)).size).toBeLessThanOrEqual(LOG_SIZE);
    // The host log says what was dropped, once per 200 ms period at most.
    const hv = readFileSync(join(h.logDir, 'hypervisor.log'), 'utf8');
    const reports = hv.split('\n').filter((l) => /xenconsoled: domain \d+ 'flood': console output over the rate limit \(61440 bytes per 200 ms\): \d+ bytes dropped/.test(l));
    expect(reports.length).toBeGreaterThan(0);
    expect(reports.length).toBeLessThanOrEqual(Math.ceil((secs + 10) * 5));
    const dropped = Number(/\((\d+) in all\)/.exec(reports.at(-1)!)![1]);
    console.log(`console flood ${secs.toFixed(1)} s: logs ${files.length} files ${total} bytes (cap ${LOG_SIZE} x 2), ${dropped} bytes dropped in ${reports.length} reports, worst xl list ${Math.round(worst)} ms`);
    // The flooder can still be destroyed like any domain.
    expect((await xl(h.sock, ['destroy', 'flood'])).status).toBe(0);
  });
});
