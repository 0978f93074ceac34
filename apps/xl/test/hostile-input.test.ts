// Issue 8 through the real `xl` process: input that used to crash or hang xl gets an xl-style
// error naming file and line, exit 1 (the parser's own tests: packages/xlcfg/test/hostile-input.test.ts).
import { describe, it, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { xl, tmp } from './helpers.js';

describe('xl on hostile config files', () => {
  it('xl create -n on the probe file: exit 1 with file:line, no stack trace (was exit 70)', () => {
    const d = tmp();
    const f = join(d, 'deep.cfg');
    writeFileSync(f, `name = "deep"\nkernel = "k"\nvnuma = ${'['.repeat(8000)}${']'.repeat(8000)}\n`);
    const r = xl(['create', '-n', f]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${f}:3:`);
    expect(r.stderr).toContain('lists nest at most');
    expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  });

  it('xl create -n /dev/zero: no hang, exit 1, naming the file', () => {
    const r = xl(['create', '-n', '/dev/zero']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/dev/zero: Failed to read config file: is a character device');
  });
});
