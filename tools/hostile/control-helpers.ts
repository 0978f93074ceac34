// Shared by the control-*.test.ts hostile scenarios: a real `tachyxx host` process on a private
// temporary directory, `xl` as a real process (timed), and the victim checks.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, XL, TACHYXX, GUEST, cliBuilt, sleep } from '../test/process-helpers.js';

export { ROOT, XL, TACHYXX, GUEST, sleep };
export const built = cliBuilt;
/** How long `xl list` may take while the host is under attack (wall ms, on a loaded 2-core CI box). */
export const LIST_BOUND_MS = 5000;

export interface HostProc {
  proc: ChildProcess;
  dir: string;
  sock: string;
  logDir: string;
  stderr: () => string;
  stop(): Promise<void>;
}

export async function startHost(extra: string[] = [], dir = mkdtempSync(join(tmpdir(), 'tachyxx-hostile-'))): Promise<HostProc> {
  const sock = join(dir, 'host.sock');
  const logDir = join(dir, 'log');
  const proc = spawn(process.execPath, [TACHYXX, 'host', '--socket', sock, '--log-dir', logDir, ...extra], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 30_000;
  while (!err.includes('listening on')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`host did not start: ${err}`);
    await sleep(20);
  }
  return {
    proc, dir, sock, logDir, stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}


export interface XlResult { status: number | null; stdout: string; stderr: string; ms: number }

/** Runs `xl` as a process (asynchronously: the test's own sockets keep being served). */
export function xl(sock: string, args: string[], timeoutMs = 30_000): Promise<XlResult> {
  return new Promise((res) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [XL, ...args], { cwd: ROOT, env: { ...process.env, TACHYXX_HOST: sock } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (status) => {
      clearTimeout(t);
      res({ status, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** A config file for `guest` named `name` in `dir`. */
export function cfg(dir: string, name: string, guest: string, extra = ''): string {
  const f = join(dir, `${name}.cfg`);
  writeFileSync(f, `name = "${name}"\ntype = "pv"\nkernel = "${GUEST(guest)}"\nmemory = 16\nvcpus = 1\n${extra}`);
  return f;
}

/** `xl list` rows as {name, domid, state, time}. */
export function rows(out: string): { name: string; domid: number; state: string; time: number }[] {
  return out.trim().split('\n').slice(1).map((l) => {
    const f = l.trim().split(/\s+/);
    return { name: f[0]!, domid: Number(f[1]), state: f[4]!, time: Number(f[5]) };
  });
}

/** The victim: a spinning domain. Returns its CPU time now (xl list), checking `xl list` answered within the bound. */
export async function victimTime(sock: string, name = 'victim'): Promise<{ time: number; ms: number }> {
  const r = await xl(sock, ['list']);
  if (r.status !== 0) throw new Error(`xl list failed (${r.status}): ${r.stderr}`);
  const v = rows(r.stdout).find((x) => x.name === name);
  if (!v) throw new Error(`no ${name} in:\n${r.stdout}`);
  if (v.state.includes('s') || v.state.includes('c')) throw new Error(`${name} is not running: ${v.state}`);
  return { time: v.time, ms: r.ms };
}

/** Resident memory of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts the victim (spin) and waits until it has run a little. */
export async function startVictim(h: HostProc): Promise<number> {
  const r = await xl(h.sock, ['create', '-q', cfg(h.dir, 'victim', 'spin')]);
  if (r.status !== 0) throw new Error(`victim create failed: ${r.stderr}`);
  const t0 = Date.now();
  for (;;) {
    const { time } = await victimTime(h.sock);
    if (time > 0) return time;
    if (Date.now() - t0 > 20_000) throw new Error('the victim does not run');
    await sleep(200);
  }
}

/** Asserts the victim ran more since `before` (its CPU time grew) and `xl list` answered within the bound. */
export async function victimAlive(h: HostProc, before: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const { time, ms } = await victimTime(h.sock);
    if (ms > LIST_BOUND_MS) throw new Error(`xl list took ${Math.round(ms)} ms (bound ${LIST_BOUND_MS})`);
    if (time > before) return time;
    if (Date.now() - t0 > 20_000) throw new Error(`the victim's CPU time stays at ${time}`);
    await sleep(200);
  }
}
