import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(ROOT, 'apps/xl/dist/cli.js');
/** Real published xl.cfg files (kept with the parser, in @tachyxx/xlcfg). */
export const FIXTURES = join(ROOT, 'packages/xlcfg/test/fixtures');
export const tmp = () => mkdtempSync(join(tmpdir(), 'tachyxx-xl-'));

/** Runs the real built `xl` as a user would. */
export function xl(args: string[], cwd = ROOT, env: Record<string, string> = {}) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'pnpm build' first (pnpm test does)`);
  const p = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr };
}
