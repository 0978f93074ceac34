import { defineConfig } from 'vitest/config';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// One vitest project per workspace package/app (plus tools). Tests import sibling packages by
// their public name; the alias points that name at the package's src/index.ts so tests never need
// a prior build and never reach into another package's internals.
const root = import.meta.dirname;
const dirs = ['packages', 'apps'].flatMap((d) =>
  readdirSync(resolve(root, d)).map((n) => `${d}/${n}`),
).filter((d) => existsSync(resolve(root, d, 'package.json')));

// Each package's public entries (its package.json `exports`: "." and any declared subpath such as
// "@tachyxx/core/errors") map to their sources, matched exactly.
// Apps tagged scope:component (device models such as apps/sriov-nic) are imported by packages too.
const isComponentApp = (d: string) => d.startsWith('apps/') && (JSON.parse(readFileSync(resolve(root, d, 'package.json'), 'utf8')).nx?.tags ?? []).includes('scope:component');
const alias = dirs.filter((d) => d.startsWith('packages/') || isComponentApp(d)).flatMap((d) => {
  const pkg = JSON.parse(readFileSync(resolve(root, d, 'package.json'), 'utf8'));
  return Object.keys(pkg.exports ?? { '.': {} }).map((sub) => ({
    find: new RegExp(`^${pkg.name}${sub === '.' ? '' : sub.slice(1)}$`),
    replacement: resolve(root, d, 'src', sub === '.' ? 'index.ts' : `${sub.slice(2)}.ts`),
  }));
});

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: [resolve(root, 'tools/vitest-global-setup.ts')],
    // CI sets TACHYXX_TEST_REPORT=FILE to also get a JSON report (summed by tools/ci-summary.mjs).
    reporters: process.env.TACHYXX_TEST_REPORT
      ? ['default', ['json', { outputFile: process.env.TACHYXX_TEST_REPORT }]]
      : ['default'],
    projects: [
      ...dirs.map((d) => ({
        extends: true as const,
        test: { name: d.split('/')[1], root: resolve(root, d), include: ['test/**/*.test.ts'], testTimeout: 60_000 },
      })),
      { extends: true as const, test: { name: 'tools', root: resolve(root, 'tools'), include: ['test/**/*.test.ts'], testTimeout: 300_000 } },
      // Hostile guests and clients next to a victim (issue 8): `pnpm test:hostile` runs only these.
      { extends: true as const, test: { name: 'hostile', root: resolve(root, 'tools'), include: ['hostile/**/*.test.ts'], testTimeout: 300_000 } },
    ],
  },
});
