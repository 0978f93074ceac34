/**
 * Domain lifecycle (libxl + xl's domain death handling): shutdown and reboot requests, the
 * on_poweroff / on_reboot / on_crash / on_watchdog / on_soft_reset actions when a domain shuts
 * down (destroy, preserve, restart, rename-restart, coredump-*), restarts paced against crash
 * loops, destroy and rename.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST_RAM_BASE, PAGE_SIZE, ShutdownReason, shutdownReasonName } from '@tachyxx/abi';
import { domainPath, vmPath } from '@tachyxx/xenstore';
import { ToolstackError } from './protocol.js';
import type { BuildSpec, ShutdownAction } from './domain-config.js';
import { writeAllFd } from './consoles.js';
import type { ConsoleSink, DomRecord } from './records.js';
import type { Toolstack } from './toolstack.js';

/** Default of ToolstackOptions.restartDelayMs: a restart comes at least this long (wall ms) after the previous start. */
export const RESTART_DELAY_DEFAULT_MS = 200;

const REASON_KEY: Record<string, keyof BuildSpec['actions'] | null> = {
  poweroff: 'poweroff', reboot: 'reboot', crash: 'crash', watchdog: 'watchdog', soft_reset: 'soft_reset', suspend: null,
};

type Done = (extra?: Record<string, unknown>) => void;

export class Lifecycle {
  private readonly restartTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly ts: Toolstack, private readonly o: { restartDelayMs?: number; logDir?: string; dumpDir?: string }) {}

  /** Carries out the actions of domains that shut down since the last call. */
  handleShutdowns(): void {
    for (const r of [...this.ts.records.values()]) {
      if (r.handled || r.d.shutdownCode === null) continue;
      r.handled = true;
      this.onShutdown(r);
    }
  }

  /**
   * xl shutdown / reboot (libxl_domain_shutdown / _reboot): writes control/shutdown; a guest
   * without a PV control driver is shut down by the host. With `wait`, resolves when each
   * domain's action is done.
   */
  async requestShutdown(op: 'shutdown' | 'reboot', a: Record<string, unknown>): Promise<unknown> {
    const { ts } = this;
    const targets = a.all === true ? [...ts.records.ids()] : [ts.records.domainArg(a)];
    const reason = op === 'reboot' ? ShutdownReason.reboot : ShutdownReason.poweroff;
    const waits: Promise<Record<string, unknown>>[] = [];
    const out: Record<string, unknown>[] = [];
    for (const domid of targets) {
      const r = ts.records.rec(domid);
      const d = r.d;
      if (d.shutdownCode !== null) {
        if (a.all === true) continue;
        throw new ToolstackError('EINVAL', `domain ${domid} has already shut down`);
      }
      // xl writes control/shutdown; a guest with a PV control driver acts on it (it advertises
      // control/feature-poweroff). Tachyxx guests have none yet: the host shuts them down, as
      // SCHEDOP_remote_shutdown would.
      const dom = domainPath(domid);
      ts.xsc.write(`${dom}/control/shutdown`, op === 'reboot' ? 'reboot' : 'poweroff');
      const pv = ts.xsc.tryRead(`${dom}/control/feature-${op === 'reboot' ? 'reboot' : 'poweroff'}`) === '1';
      if (a.wait === true) waits.push(new Promise((res) => r.waiters.push(res)));
      if (!pv) ts.host.shutdownDomain(d, reason, `shutdown by the toolstack: ${op === 'reboot' ? 'reboot' : 'poweroff'}`);
      out.push({ domid, name: r.name, pvControl: pv });
    }
    // The action runs at once (the domain is already stopped); a PV guest's takes a slice.
    ts.afterSlice();
    ts.onWork();
    if (a.wait === true) return { domains: await Promise.all(waits) };
    return { domains: out };
  }

  private onShutdown(r: DomRecord): void {
    const { ts } = this;
    const d = r.d;
    const reason = shutdownReasonName(d.shutdownCode!);
    const key = REASON_KEY[reason];
    const action: ShutdownAction = key ? r.spec.actions[key] : 'preserve';
    ts.xs.domainShutdown(d.domid);
    ts.log(`(d0) xl: domain ${d.domid} '${r.name}' has shut down, reason ${reason}${d.crashMessage ? ` (${d.crashMessage})` : ''}; action ${action}`);
    ts.emit({ kind: 'shutdown', domid: d.domid, name: r.name, reason, action });
    const done: Done = (extra = {}) => {
      const res = { domid: d.domid, name: r.name, reason, action, ...extra };
      for (const w of r.waiters.splice(0)) w(res);
    };
    let core: string | null = null;
    if (action === 'coredump-destroy' || action === 'coredump-restart') core = this.coredump(r, reason);
    switch (action) {
      case 'destroy':
      case 'coredump-destroy':
        this.destroy(r, 'shutdown');
        return done(core ? { core } : {});
      case 'preserve':
        for (const s of [...r.sinks]) s.end('shutdown', { reason });
        r.sinks.clear();
        return done();
      case 'restart':
      case 'coredump-restart':
      case 'soft-reset':
        return this.paced(r, () => this.restart(r, reason, done, core));
      case 'rename-restart':
        return this.paced(r, () => {
          // xl's preserve_domain: the old domain stays, renamed NAME--<UTC time>, with a new UUID.
          const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace(/(\d{8}T\d{4})\d{2}Z/, '$1Z');
          let newName = `${r.name}--${stamp}`;
          for (let i = 2; ts.records.nameTaken(newName); i++) newName = `${r.name}--${stamp}-${i}`;
          const oldName = r.name;
          const { spec, image, config } = r;
          this.rename(r, newName);
          for (const s of [...r.sinks]) s.end('shutdown', { reason });
          r.sinks.clear();
          this.rebuild({ ...spec, name: oldName }, image, config, r.uuid, r.restarts, reason, done, d.domid, null, true);
        });
    }
  }

  /**
   * Runs `restart` now, or once restartDelayMs has passed since the domain started (a crash loop
   * restarts at most that often; meanwhile the domain stays shut down: listed, destroyable, and a
   * destroy cancels the restart).
   */
  private paced(r: DomRecord, restart: () => void): void {
    const wait = (this.o.restartDelayMs ?? RESTART_DELAY_DEFAULT_MS) - (performance.now() - r.startedWall);
    if (wait <= 0) return restart();
    const t = setTimeout(() => {
      this.restartTimers.delete(t);
      if (this.ts.records.get(r.d.domid) === r && !this.ts.closed) restart();
    }, wait);
    this.restartTimers.add(t);
  }

  private restart(r: DomRecord, reason: string, done: Done, core: string | null): void {
    const { spec, image, config, uuid, restarts } = r;
    const sinks = [...r.sinks];
    r.sinks.clear();
    const oldDomid = r.d.domid;
    this.destroy(r, 'restart', sinks);
    // The rebuilt domain gets a new domid: the hypervisor hands ids out from a rover, as Xen does.
    this.rebuild(spec, image, config, uuid, restarts, reason, done, oldDomid, core, false, sinks);
  }

  private rebuild(spec: BuildSpec, image: Uint8Array, config: Record<string, unknown>, uuid: string, restarts: number,
    reason: string, done: Done, oldDomid: number, core: string | null, newUuid: boolean, sinks: ConsoleSink[] = []): void {
    const { ts } = this;
    if (ts.closed) return;
    try {
      const nr = ts.builder.build(spec, image, config, { paused: false, uuid: newUuid ? null : uuid, restarts: restarts + 1 });
      ts.log(`(d0) xl: domain ${oldDomid} '${spec.name}' restarted as domain ${nr.d.domid}`);
      ts.emit({ kind: 'restarted', domid: nr.d.domid, name: nr.name, oldDomid, reason });
      for (const s of sinks) s.end('restarted', { newDomid: nr.d.domid });
      done({ newDomid: nr.d.domid, ...(core ? { core } : {}) });
    } catch (e) {
      ts.log(`(d0) xl: cannot restart domain '${spec.name}': ${(e as Error).message}`);
      for (const s of sinks) s.end('destroyed');
      done({ error: (e as Error).message });
    }
  }

  /** Writes a core file of the domain (coredump-* actions): a JSON header line, then guest RAM. */
  private coredump(r: DomRecord, reason: string): string | null {
    const { ts } = this;
    const dir = this.o.dumpDir ?? (this.o.logDir ? join(this.o.logDir, 'dump') : null);
    if (!dir) return null;
    const d = r.d;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '')}-${r.name}.${d.domid}.core`);
      const pages = Math.min(d.totPages, r.spec.memoryMiB * 256);
      const header = {
        format: 'tachyxx-core/1', domid: d.domid, name: r.name, uuid: r.uuid, reason, crash: d.crashMessage,
        simNs: ts.host.clock.now,
        vcpus: d.vcpus.map((v) => ({
          id: v.id, online: v.online, level: v.ctx.level, pc: hex64(v.ctx.pcLo, v.ctx.pcHi),
          x: Array.from({ length: 32 }, (_, i) => hex64(v.ctx.x[2 * i]!, v.ctx.x[2 * i + 1]!)),
        })),
        memory: { gpa: GUEST_RAM_BASE, bytes: pages * PAGE_SIZE, note: 'guest RAM follows the header line, byte for byte from gpa' },
      };
      const fd = openSync(file, 'w', 0o600);
      try {
        writeAllFd(fd, Buffer.from(JSON.stringify(header) + '\n'));
        const page = new Uint8Array(PAGE_SIZE * 64);
        for (let off = 0; off < pages * PAGE_SIZE; off += page.length) {
          const n = Math.min(page.length, pages * PAGE_SIZE - off);
          const view = page.subarray(0, n);
          if (d.access.read(GUEST_RAM_BASE + off, view) < 0) view.fill(0);
          writeAllFd(fd, view);
        }
      } finally {
        closeSync(fd);
      }
      ts.log(`(d0) xl: core of domain ${d.domid} '${r.name}' written to ${file}`);
      return file;
    } catch (e) {
      ts.log(`(d0) xl: cannot write the core of domain ${d.domid}: ${(e as Error).message}`);
      return null;
    }
  }

  /** Destroys a domU: every frame, port, grant and xenstore entry it had is released. */
  destroy(r: DomRecord, why: string, keepSinks: ConsoleSink[] = []): void {
    const { ts } = this;
    const d = r.d;
    ts.consoles.flush();
    for (const s of [...r.sinks]) if (!keepSinks.includes(s)) s.end('destroyed');
    r.sinks.clear();
    ts.records.delete(d.domid);
    ts.host.destroyDomain(d);
    ts.builder.removeXenstore(d.domid, r.uuid, d.uuid);
    ts.consoles.release(r, 'destroyed');
    ts.log(`(d0) xl: domain ${d.domid} '${r.name}' destroyed (${why})`);
    ts.emit({ kind: 'destroyed', domid: d.domid, name: r.name, why });
    if (why !== 'shutdown' && why !== 'restart') {
      for (const w of r.waiters.splice(0)) w({ domid: d.domid, name: r.name, reason: 'destroyed', action: 'destroy' });
    }
  }

  rename(r: DomRecord, name: string): void {
    const { ts } = this;
    const old = r.name;
    r.name = name;
    r.config = { ...r.config, c_info: { ...(r.config.c_info as object), name } };
    const dom = domainPath(r.d.domid);
    if (ts.xsc.exists(dom)) ts.xsc.write(`${dom}/name`, name);
    if (ts.xsc.exists(vmPath(r.uuid))) ts.xsc.write(`${vmPath(r.uuid)}/name`, name);
    ts.emit({ kind: 'renamed', domid: r.d.domid, name, oldName: old });
  }

  /** Cancels pending restarts. */
  close(): void {
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
  }
}

function hex64(lo: number, hi: number): string {
  return `0x${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}
