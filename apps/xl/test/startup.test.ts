// xl starts light: commands that read no xl.cfg load neither the parser (@tachyxx/xlcfg's main
// entry) nor @tachyxx/core's DI / RxJS; `create -n` loads the parser but still no DI or RxJS.
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI, ROOT, tmp } from './helpers.js';

/** The module URLs a real `xl ARGS` process resolves (a resolve hook registered with --import). */
function loaded(args: string[]): string[] {
  const d = tmp();
  writeFileSync(join(d, 'hook.mjs'), `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n`);
  writeFileSync(join(d, 'reg.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(d, 'hook.mjs')).href)});\n`);
  const p = spawnSync(process.execPath, ['--import', pathToFileURL(join(d, 'reg.mjs')).href, CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TACHYXX_HOST: join(d, 'no-host.sock') } });
  return p.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
}

const HEAVY = /\/(rxjs|tsyringe|reflect-metadata)\/|packages\/core\/dist\/index\.js$/;

describe('xl start-up', () => {
  it('xl list loads no xl.cfg parser, no DI, no RxJS', () => {
    const mods = loaded(['list']);
    expect(mods.some((m) => m.endsWith('apps/xl/dist/commands.js'))).toBe(true);
    expect(mods.filter((m) => HEAVY.test(m))).toEqual([]);
    expect(mods.filter((m) => m.includes('/xlcfg/dist/')).map((m) => m.replace(/^.*\//, ''))).toEqual(['cpumap.js']);
  });

  it('xl create -n loads the parser (@tachyxx/xlcfg) and still no DI or RxJS', () => {
    const mods = loaded(['create', '-n', 'examples/hello.cfg']);
    expect(mods.some((m) => m.endsWith('packages/xlcfg/dist/index.js'))).toBe(true);
    expect(mods.filter((m) => HEAVY.test(m))).toEqual([]);
  });
});
