// tachyxx starts light: the bin is bundled (tools/bundle-cli.mjs: dist/cli.js and dist/chunks/),
// so a real process loads a few files of its own and Node built-ins, nothing else; `--help`
// does not load the CPU or the hypervisor; sweep and worker run from the unbundled dist/main.js
// (bullmq, tinypool and vega find files beside themselves and cannot be bundled).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI, GUEST, ROOT, tmp } from './helpers.js';

const CHUNKS = join(dirname(CLI), 'chunks');

/** The file modules a real `tachyxx ARGS` process resolves (a resolve hook registered with --import). */
function loaded(args: string[]): { files: string[]; status: number | null } {
  const d = tmp();
  writeFileSync(join(d, 'hook.mjs'), `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n`);
  writeFileSync(join(d, 'reg.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(d, 'hook.mjs')).href)});\n`);
  const p = spawnSync(process.execPath, ['--import', pathToFileURL(join(d, 'reg.mjs')).href, CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  const urls = p.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
  return { files: [...new Set(urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u)))], status: p.status };
}
const ownFile = (f: string) => f === CLI || (dirname(f) === CHUNKS && f.endsWith('.js'));
/** The modules esbuild bundled into a file (each is headed by a `// <path>` comment). */
const bundled = (f: string) => readFileSync(f, 'utf8').split('\n').filter((l) => /^\/\/ (\.\.\/)*[\w@.-]+\/.*\.c?js$/.test(l)).map((l) => l.slice(3));

describe('tachyxx start-up', () => {
  it('the built bin is a bundle: dist/cli.js is a small entry, the code is in dist/chunks/', () => {
    expect(readFileSync(CLI, 'utf8').length).toBeLessThan(4096);
    expect(readdirSync(CHUNKS).some((n) => n.endsWith('.js'))).toBe(true);
  });

  it('run --bare hello loads only the bundle, in a handful of files', () => {
    const { files, status } = loaded(['run', '--bare', GUEST('hello')]);
    expect(status).toBe(0);
    expect(files[0]).toBe(CLI);
    expect(files.filter((f) => !ownFile(f))).toEqual([]);
    expect(files.length).toBeLessThanOrEqual(12);
  });

  it('--help loads neither the CPU nor the hypervisor', () => {
    const { files, status } = loaded(['--help']);
    expect(status).toBe(0);
    expect(files.filter((f) => !ownFile(f))).toEqual([]);
    expect(files.flatMap(bundled).filter((m) => /packages\/(isa|hypervisor|mmu)\//.test(m))).toEqual([]);
  });

  it('sweep runs from the unbundled modules (dist/main.js), none of the bundle beyond the entry', () => {
    const { files, status } = loaded(['sweep', '--help']);
    expect(status).toBe(0);
    expect(files).toContain(join(dirname(CLI), 'main.js'));
    expect(files.filter((f) => f !== CLI && ownFile(f))).toEqual([]);
  });
});
