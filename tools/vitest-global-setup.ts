// Every temporary file or folder a test (or a process it starts) makes goes under one folder per
// `vitest run`, removed at the end: tests may mkdtemp freely and never leave anything behind.
// Vitest runs this once per project: only the first call makes the folder (short paths matter:
// Unix socket paths are limited to 107 bytes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  if (process.env.TACHYXX_TEST_TMP) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'tachyxx-test-'));
  process.env.TACHYXX_TEST_TMP = dir;
  process.env.TMPDIR = dir; // workers and the processes tests spawn inherit it; os.tmpdir() reads it
  return () => {
    rmSync(dir, { recursive: true, force: true });
    delete process.env.TACHYXX_TEST_TMP;
  };
}
