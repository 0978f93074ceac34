// Every temporary file or folder a test (or a process it starts) makes goes under one folder per
// `vitest run`, removed at the end: tests may mkdtemp freely and never leave anything behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'tachyxx-test-'));
  process.env.TMPDIR = dir; // workers and the processes tests spawn inherit it; os.tmpdir() reads it
  return () => rmSync(dir, { recursive: true, force: true });
}
