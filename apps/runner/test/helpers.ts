import { spawnSync } from 'node:child_process';
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
