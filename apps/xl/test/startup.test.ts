// xl starts light. The bin is bundled (tools/bundle-cli.mjs: dist/cli.js and dist/chunks/): a real
// `xl` process loads those files and Node built-ins, nothing else, and the bundle holds no DI,
// RxJS or @tachyxx/core index at all. The same main() as a library (dist/main.js, unbundled) keeps its
// lazy loading, which the bundle inherits (esbuild evaluates a dynamically imported module only
// when the import runs): commands that read no xl.cfg load neither the parser (@tachyxx/xlcfg's
// main entry) nor DI / RxJS; `create -n` loads the parser but still no DI or RxJS.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, tmp } from './helpers.js';

const MAIN = join(ROOT, 'apps/xl/dist/main.js');
const CHUNKS = join(dirname(CLI), 'chunks');
const bundleFiles = () => [CLI, ...readdirSync(CHUNKS).filter((n) => n.endsWith('.js')).map((n) => join(CHUNKS, n))];

/** The module URLs a real process resolves (a resolve hook registered with --import). */
function loaded(script: string[], args: string[]): string[] {
  const d = tmp();
  writeFileSync(join(d, 'hook.mjs'), `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n`);
  writeFileSync(join(d, 'reg.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(d, 'hook.mjs')).href)});\n`);
  const p = spawnSync(process.execPath, ['--import', pathToFileURL(join(d, 'reg.mjs')).href, ...script, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: join(d, 'no-host.sock') } });
  return p.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
}
/** main(ARGS) of the unbundled library modules, as a process. */
const viaLibrary = (args: string[]) =>
  loaded(['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(pathToFileURL(MAIN).href)}); process.exitCode = await main(process.argv.slice(1));`], args);

const HEAVY = /\/(rxjs|tsyringe|reflect-metadata)\/|packages\/core\/dist\/index\.js$/;

describe('xl start-up', () => {
  it('xl list and xl create -n load the bundle (a few files) and Node built-ins only', () => {
    const ours = new Set(bundleFiles().map((p) => pathToFileURL(p).href));
    for (const args of [['list'], ['create', '-n', 'examples/hello.cfg']]) {
      const files = [...new Set(loaded([CLI], args).filter((u) => !u.startsWith('node:')))];
      expect(files[0], args.join(' ')).toBe(pathToFileURL(CLI).href);
      expect(files.filter((u) => !ours.has(u)), args.join(' ')).toEqual([]);
      expect(files.length, args.join(' ')).toBeLessThanOrEqual(4);
    }
  });

  it('the bundle holds no DI, no RxJS and not the @tachyxx/core index', () => {
    // esbuild (not minified) heads each bundled module with a `// <path>` comment.
    const mods = bundleFiles().flatMap((p) => readFileSync(p, 'utf8').split('\n')).filter((l) => /^\/\/ (\.\.\/)*[\w@.-]+\/.*\.c?js$/.test(l)).map((l) => l.slice(3));
    expect(mods.some((m) => m.endsWith('packages/xlcfg/dist/parser.js'))).toBe(true);
    expect(mods.filter((m) => HEAVY.test(m))).toEqual([]);
  });

  it('xl list (library modules) loads no xl.cfg parser, no DI, no RxJS', () => {
    const mods = viaLibrary(['list']);
    expect(mods.some((m) => m.endsWith('apps/xl/dist/commands.js'))).toBe(true);
    expect(mods.filter((m) => HEAVY.test(m))).toEqual([]);
    expect(mods.filter((m) => m.includes('/xlcfg/dist/')).map((m) => m.replace(/^.*\//, ''))).toEqual(['cpumap.js']);
  });

  it('xl create -n (library modules) loads the parser (@tachyxx/xlcfg) and still no DI or RxJS', () => {
    const mods = viaLibrary(['create', '-n', 'examples/hello.cfg']);
    expect(mods.some((m) => m.endsWith('packages/xlcfg/dist/index.js'))).toBe(true);
    expect(mods.filter((m) => HEAVY.test(m))).toEqual([]);
  });
});
