// tools/bundle-cli.mjs: a CLI bin bundled in place keeps the behaviour of its modules, and the
// build refuses (names file:line) a bundled module that finds files relative to itself, which
// would name the bundle instead; createRequire(import.meta.url)('./x.json') is inlined.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const BUNDLE = resolve(import.meta.dirname, '../bundle-cli.mjs');

/** A throw-away app: dist/cli.js importing the given modules (a package `lib` beside it). */
function app(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'tachyxx-bundle-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(d, name, '..'), { recursive: true });
    writeFileSync(join(d, name), text);
  }
  return d;
}
const bundle = (dir: string, ...args: string[]) => spawnSync(process.execPath, [BUNDLE, ...args], { cwd: dir, encoding: 'utf8' });

describe('bundle-cli', () => {
  it('bundles dist/cli.js in place; lazy imports become chunks; a JSON read beside a module is inlined', () => {
    const d = app({
      'lib/package.json': JSON.stringify({ name: 'lib', version: '7.7.7' }),
      'lib/dist/version.js': "import { createRequire } from 'node:module';\nexport const V = createRequire(import.meta.url)('../package.json').version;\n",
      'dist/cli.js': "#!/usr/bin/env node\nconst { V } = await import('../lib/dist/version.js');\nprocess.stdout.write(`v${V}\\n`);\n",
    });
    const b = bundle(d);
    expect(b.status, b.stderr).toBe(0);
    expect(existsSync(join(d, 'dist/chunks'))).toBe(true);
    expect(readdirSync(join(d, 'dist/chunks')).some((n) => /^version-.*\.js$/.test(n))).toBe(true);
    // the version is the package's own (7.7.7), though the chunk lives elsewhere
    const r = spawnSync(process.execPath, [join(d, 'dist/cli.js')], { encoding: 'utf8' });
    expect(r.stdout).toBe('v7.7.7\n');
  });

  it('refuses a bundled module that locates itself (import.meta.url, __dirname), naming file and line', () => {
    const d = app({
      'lib/dist/worker.js': "/* a worker file\n beside this module */\nexport const url = new URL('./w.js', import.meta.url);\n",
      'lib/dist/cjs.cjs': "module.exports = { here: __dirname };\n",
      'dist/cli.js': "import { url } from '../lib/dist/worker.js';\nimport c from '../lib/dist/cjs.cjs';\nconsole.log(url, c);\n",
    });
    const b = bundle(d);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/lib\/dist\/worker\.js:3: 'import\.meta'/);
    expect(b.stderr).toMatch(/lib\/dist\/cjs\.cjs:1: '__dirname'/);
  });

  it('keeps --external packages out and rejects unknown arguments', () => {
    const d = app({ 'dist/cli.js': "const m = await import('some-external-pkg').catch(() => null);\nconsole.log(m === null ? 'absent' : 'present');\n" });
    expect(bundle(d, '--external', 'some-external-pkg').status).toBe(0);
    expect(spawnSync(process.execPath, [join(d, 'dist/cli.js')], { encoding: 'utf8' }).stdout).toBe('absent\n');
    const bad = bundle(d, '--bogus');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown argument '--bogus'/);
  });
});
