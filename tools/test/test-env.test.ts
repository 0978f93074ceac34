// The test environment itself: temporary files go to one folder per run (removed at the end by
// tools/vitest-global-setup.ts), so a run leaves nothing in the system's temp folder.
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('the test environment', () => {
  it('gives every test and every process it starts a private temp folder of this run', () => {
    expect(basename(tmpdir())).toMatch(/^tachyxx-test-/);
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("os").tmpdir())'], { encoding: 'utf8' });
    expect(child.stdout).toBe(tmpdir());
    expect(basename(dirname(tmpdir()))).not.toMatch(/^tachyxx-test-/); // one folder, not one per project
  });
});
