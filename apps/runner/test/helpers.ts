import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(ROOT, 'apps/runner/dist/cli.js');
export const GUEST = (name: string) => join(ROOT, 'guests/build', `${name}.elf`);
export const tmp = () => mkdtempSync(join(tmpdir(), 'tachyxx-runner-'));

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'pnpm build' first (pnpm test does)`);

/** Runs the real `tachyxx` CLI as a user would. */
export function tachyxx(...args: string[]) {
  const p = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}

export interface Daemon { proc: ChildProcess; sock: string; dir: string; stderr: () => string }

/** Starts `tachyxx host` on a socket under `dir` (unpaced unless `paced`) and waits until it listens. */
export async function startHost(dir = tmp(), extra: string[] = [], { paced = false } = {}): Promise<Daemon> {
  const sock = join(dir, 'run', 'host.sock');
  const proc = spawn(process.execPath, [CLI, 'host', '--socket', sock, ...(paced ? [] : ['--unpaced']), ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const deadline = Date.now() + 15_000;
  while (!err.includes('listening on')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`host did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, sock, dir, stderr: () => err };
}
