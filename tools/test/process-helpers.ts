// Shared by the tests that drive real processes (a `tachyxx host` daemon, `xl`): where the built
// CLIs are, a synchronous `xl` run against one host socket, and polling until something holds.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const XL = join(ROOT, 'apps/xl/dist/cli.js');
export const TACHYXX = join(ROOT, 'apps/runner/dist/cli.js');
export const GUEST = (name: string) => join(ROOT, 'guests/build', `${name}.elf`);
/** Both CLIs are built (`pnpm build`); tests that need them skip (and say so) otherwise. */
export const cliBuilt = existsSync(XL) && existsSync(TACHYXX);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every `stepMs` until it holds; throws after `ms`. */
export async function until(pred: () => boolean, ms = 10_000, stepMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(stepMs);
  }
}

/** Runs `xl ARGS` as a process against the host at `socket` (TACHYXX_HOST), to completion. */
export function xlSync(socket: string, args: string[], timeoutMs = 30_000): { status: number | null; stdout: string; stderr: string } {
  const p = spawnSync(process.execPath, [XL, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: socket }, timeout: timeoutMs });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

/**
 * Starts a `tachyxx host` daemon (`tachyxx host ARGS`: give it --socket and --log-dir) and waits
 * until it listens. Its stderr so far is in `stderr()`; stop it with `stopHost`.
 */
export async function startHost(args: string[], timeoutMs = 20_000): Promise<ChildProcess & { stderr: NonNullable<ChildProcess['stderr']>; log(): string }> {
  const host = spawn(process.execPath, [TACHYXX, 'host', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  host.stderr!.on('data', (d) => (err += d));
  const h = Object.assign(host, { log: () => err }) as ChildProcess & { stderr: NonNullable<ChildProcess['stderr']>; log(): string };
  try {
    await until(() => err.includes('listening on') || host.exitCode !== null, timeoutMs);
  } catch {
    host.kill('SIGKILL');
    throw new Error(`tachyxx host ${args.join(' ')} did not listen within ${timeoutMs} ms: ${err}`);
  }
  if (host.exitCode !== null) throw new Error(`tachyxx host ${args.join(' ')} exited ${host.exitCode}: ${err}`);
  return h;
}

/** SIGTERM to a host started by `startHost` (if it still runs), and waits for it to exit. */
export async function stopHost(host: ChildProcess | null | undefined): Promise<void> {
  if (!host || host.exitCode !== null || host.signalCode !== null) return;
  const gone = new Promise((r) => host.once('exit', r));
  host.kill('SIGTERM');
  await gone;
}
