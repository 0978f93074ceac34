import { describe, it, expect } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain JS module without types
import { checkBoundaries } from '../lib/boundaries.mjs';

function fakeRepo(pkgs: Record<string, { tag: string; deps?: string[]; src?: string }>) {
  const root = mkdtempSync(join(tmpdir(), 'tx-bnd-'));
  for (const [name, p] of Object.entries(pkgs)) {
    const dir = join(root, 'packages', name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    const deps = Object.fromEntries((p.deps ?? []).map((d) => [`@tachyxx/${d}`, 'workspace:^']));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `@tachyxx/${name}`, dependencies: deps, nx: { tags: [p.tag] } }));
    writeFileSync(join(dir, 'src/index.ts'), p.src ?? 'export {};\n');
  }
  return root;
}

describe('module boundaries', () => {
  it('holds for this repository', () => {
    expect(checkBoundaries(join(import.meta.dirname, '../..'))).toEqual([]);
  });
  it('rejects core depending on the cpu layer', () => {
    const root = fakeRepo({ core: { tag: 'scope:core', deps: ['isa'] }, isa: { tag: 'scope:cpu' } });
    expect(checkBoundaries(root).join('\n')).toMatch(/@tachyxx\/core \(scope:core\) must not depend on @tachyxx\/isa/);
  });
  it('rejects an undeclared import and a deep import', () => {
    const root = fakeRepo({
      core: { tag: 'scope:core' },
      isa: { tag: 'scope:cpu', src: "import { x } from '@tachyxx/core/src/bus.js';\n" },
    });
    const errs = checkBoundaries(root).join('\n');
    expect(errs).toMatch(/deep import/);
    expect(errs).toMatch(/does not declare/);
  });
  it('rejects a project without a scope tag', () => {
    const root = fakeRepo({ core: { tag: 'nope' } });
    expect(checkBoundaries(root).join('\n')).toMatch(/needs one nx tag/);
  });
});
