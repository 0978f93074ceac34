// Issue 10: SCHEDOP_watchdog and SCHEDOP_shutdown_code end to end, through the toolstack's
// lifecycle (the on_* actions), with the wdog guest (guests/wdog): a guest that arms the domain
// watchdog and stops feeding it gets on_watchdog; a code recorded with SCHEDOP_shutdown_code is
// the reason of the domain's later shutdown, whatever causes it (a crash, its own poweroff, the
// watchdog), and the toolstack acts on that reason.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Toolstack } from '@tachyxx/toolstack';
import { cfg, fakeCtx, makeToolstack, op, runUntil } from './helpers.js';

const gone = (ts: Toolstack, name: string) => () => !ts.list().some((d) => d.name === name);
const shutDown = (ts: Toolstack, name: string) => () => ts.list().some((d) => d.name === name && d.shutdownReason !== null);
const hvLog = (dir: string) => readFileSync(join(dir, 'hypervisor.log'), 'utf8');

describe('SCHEDOP_watchdog through the toolstack (on_watchdog)', () => {
  it('destroy: the unfed watchdog shuts the domain down with reason watchdog and the toolstack destroys it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-wd-'));
    const ts = makeToolstack({}, { logDir: dir });
    const before = ts.counts();
    await op(ts, 'create', { config: cfg('wd', 'wdog', { on_watchdog: 'destroy', on_crash: 'preserve' }) });
    await runUntil(ts, gone(ts, 'wd'));
    ts.close();
    const guest = readFileSync(join(dir, 'guest-wd.log'), 'utf8');
    expect(guest).toContain('wdog: armed watchdog 1 for 1 s');
    expect(guest).toContain('wdog: fed it (3): 0'); // fed 3 times 500 ms apart: it did not fire
    expect(guest).toContain('wdog: not feeding it any more');
    expect(hvLog(dir)).toMatch(/Watchdog timer fired for domain \d+/);
    expect(hvLog(dir)).toMatch(/'wd' has shut down, reason watchdog; action destroy/);
    expect(ts.counts()).toEqual(before);
  });

  it('restart: the domain is rebuilt (new domid, same uuid) and its new watchdog fires again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-wd-'));
    const ts = makeToolstack({}, { logDir: dir });
    const events = fakeCtx();
    await op(ts, 'events', {}, events);
    const first = await op(ts, 'create', { config: cfg('wr', 'wdog', { on_watchdog: 'restart' }) });
    const restarts = () => events.events.filter((e) => e.ev.kind === 'restarted').length;
    await runUntil(ts, () => restarts() >= 2);
    const shutdowns = events.events.filter((e) => e.ev.kind === 'shutdown').map((e) => [e.ev.reason, e.ev.action]);
    expect(shutdowns.slice(0, 2)).toEqual([['watchdog', 'restart'], ['watchdog', 'restart']]);
    const again = ts.list().find((d) => d.name === 'wr')!;
    expect(again.domid).not.toBe(first.domid);
    expect(again.uuid).toBe(first.uuid);
    await op(ts, 'destroy', { domain: 'wr' });
    ts.close();
    expect(hvLog(dir)).toMatch(/'wr' has shut down, reason watchdog; action restart/);
  });
});

describe('SCHEDOP_shutdown_code through the toolstack', () => {
  it('a crash after recording reboot is reported as reboot (on_reboot applies, not on_crash)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sc-'));
    const ts = makeToolstack({}, { logDir: dir });
    await op(ts, 'create', { config: cfg('sc', 'wdog', { on_reboot: 'preserve', on_crash: 'destroy' }, { cmdline: 'code=1 fault' }) });
    await runUntil(ts, shutDown(ts, 'sc'));
    expect(ts.list().find((d) => d.name === 'sc')).toMatchObject({ shutdownReason: 'reboot' });
    await op(ts, 'destroy', { domain: 'sc' });
    ts.close();
    expect(readFileSync(join(dir, 'guest-sc.log'), 'utf8')).toContain('wdog: recorded shutdown code 1: 0; then fault');
    // the hypervisor crashed it (domain_crash) and reported the recorded code
    expect(hvLog(dir)).toMatch(/domain_crash: .*\(reported as reboot: the code the guest recorded\)/);
    expect(hvLog(dir)).toMatch(/'sc' has shut down, reason reboot \(.+\); action preserve/);
  });

  it('its own poweroff after recording crash is reported as crash; an unfed watchdog after recording poweroff as poweroff', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-sc-'));
    const ts = makeToolstack({}, { logDir: dir });
    await op(ts, 'create', { config: cfg('sp', 'wdog', { on_crash: 'preserve', on_poweroff: 'destroy' }, { cmdline: 'code=3 poweroff' }) });
    await op(ts, 'create', { config: cfg('sw', 'wdog', { on_poweroff: 'preserve', on_watchdog: 'destroy' }, { cmdline: 'code=0 watchdog' }) });
    await runUntil(ts, () => shutDown(ts, 'sp')() && shutDown(ts, 'sw')());
    expect(ts.list().find((d) => d.name === 'sp')).toMatchObject({ shutdownReason: 'crash' });
    expect(ts.list().find((d) => d.name === 'sw')).toMatchObject({ shutdownReason: 'poweroff' });
    for (const n of ['sp', 'sw']) await op(ts, 'destroy', { domain: n });
    ts.close();
    expect(readFileSync(join(dir, 'guest-sw.log'), 'utf8')).toContain('wdog: not feeding it any more');
    expect(hvLog(dir)).toMatch(/'sp' has shut down, reason crash; action preserve/);
    expect(hvLog(dir)).toMatch(/Watchdog timer fired for domain \d+ \(reported as poweroff: the code the guest recorded\)/);
    expect(hvLog(dir)).toMatch(/'sw' has shut down, reason poweroff; action preserve/);
  });
});
