#!/usr/bin/env node
// Type-checks every test and test helper (packages/*/test, apps/*/test, tools/test, tools/hostile,
// tools/*.ts): vitest strips types without checking them and `pnpm build` compiles src/ only, so
// a test could call an API that no longer exists and still "pass" at the type level unseen.
// Workspace imports resolve exactly as vitest.config.ts aliases them: a package's public entries
// (its package.json `exports`) to their sources. Exit 1 on any error.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const paths = {};
for (const group of ['packages', 'apps']) {
  for (const n of readdirSync(join(root, group))) {
    const d = join(root, group, n);
    if (!existsSync(join(d, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8'));
    if (!existsSync(join(d, 'src/index.ts'))) continue;
    for (const sub of Object.keys(pkg.exports ?? { '.': {} })) {
      paths[sub === '.' ? pkg.name : `${pkg.name}${sub.slice(1)}`] = [join(d, 'src', sub === '.' ? 'index.ts' : `${sub.slice(2)}.ts`)];
    }
  }
}
const dir = join(root, 'node_modules/.cache/tachyxx');
mkdirSync(dir, { recursive: true });
const cfg = join(dir, 'tsconfig.tests.json');
writeFileSync(cfg, JSON.stringify({
  extends: join(root, 'tsconfig.base.json'),
  compilerOptions: { noEmit: true, declaration: false, declarationMap: false, sourceMap: false, paths },
  include: ['packages/*/test/**/*.ts', 'apps/*/test/**/*.ts', 'tools/test/**/*.ts', 'tools/hostile/**/*.ts', 'tools/*.ts'].map((g) => join(root, g)),
}, null, 2));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', cfg, '--pretty', 'false'], { cwd: root, encoding: 'utf8' });
const out = (r.stdout + r.stderr).trim();
if (r.status !== 0) {
  console.error(out.split(root + '/').join(''));
  console.error(`type check of the tests: ${(out.match(/error TS/g) ?? []).length} errors`);
  process.exit(1);
}
console.log('type check of the tests: ok');
