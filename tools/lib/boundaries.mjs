// Module-boundary check (the Nx enforce-module-boundaries rule, without eslint):
// every workspace project carries one `scope:*` tag in package.json `nx.tags`; a project may only
// depend on (declare in package.json, and import) projects whose scope it is allowed to reach.
// Direction: apps -> components -> hypervisor -> cpu (isa, mmu) -> core / abi.
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export const ALLOWED = {
  'scope:abi': [],
  'scope:core': [],
  'scope:cpu': ['scope:core', 'scope:abi', 'scope:cpu'],
  'scope:hypervisor': ['scope:core', 'scope:abi', 'scope:cpu', 'scope:hypervisor'],
  'scope:component': ['scope:core', 'scope:abi', 'scope:cpu', 'scope:hypervisor', 'scope:component'],
  'scope:app': ['scope:core', 'scope:abi', 'scope:cpu', 'scope:hypervisor', 'scope:component'],
};

function* walk(dir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (/\.(ts|mts|js|mjs)$/.test(e) && !e.endsWith('.d.ts')) yield p;
  }
}

/** Returns a list of violation strings (empty = clean). */
export function checkBoundaries(root) {
  const projects = new Map();
  for (const group of ['packages', 'apps']) {
    const g = join(root, group);
    if (!existsSync(g)) continue;
    for (const name of readdirSync(g)) {
      const pj = join(g, name, 'package.json');
      if (!existsSync(pj)) continue;
      const pkg = JSON.parse(readFileSync(pj, 'utf8'));
      projects.set(pkg.name, { dir: join(g, name), pkg, tags: pkg.nx?.tags ?? [] });
    }
  }
  const errors = [];
  const scopeOf = (p) => p.tags.find((t) => t.startsWith('scope:'));
  for (const [name, p] of projects) {
    const scope = scopeOf(p);
    if (!scope || !(scope in ALLOWED)) {
      errors.push(`${name}: needs one nx tag of ${Object.keys(ALLOWED).join(', ')} (has ${p.tags.join(', ') || 'none'})`);
      continue;
    }
    const declared = { ...p.pkg.dependencies, ...p.pkg.peerDependencies };
    const check = (dep, where) => {
      const target = projects.get(dep);
      if (!target) return errors.push(`${where}: depends on unknown workspace package ${dep}`);
      const ts = scopeOf(target);
      if (dep === name) return errors.push(`${where}: imports itself by package name`);
      if (!ALLOWED[scope].includes(ts)) errors.push(`${where}: ${name} (${scope}) must not depend on ${dep} (${ts})`);
    };
    for (const dep of Object.keys(declared)) if (dep.startsWith('@tachyxx/')) check(dep, `${name} package.json`);
    for (const file of walk(join(p.dir, 'src'))) {
      const src = readFileSync(file, 'utf8');
      const rel = relative(root, file);
      for (const m of src.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('@tachyxx/')) {
          const parts = spec.split('/');
          const dep = parts.slice(0, 2).join('/');
          // A subpath is public only when the target package declares it in its `exports`.
          const sub = parts.length > 2 ? `./${parts.slice(2).join('/')}` : '.';
          const target = projects.get(dep);
          if (sub !== '.' && !(target && target.pkg.exports && sub in target.pkg.exports)) {
            errors.push(`${rel}: deep import '${spec}' (import from '${dep}' only, or a subpath it exports)`);
          }
          if (!(dep in declared)) errors.push(`${rel}: imports ${dep} which ${name}/package.json does not declare`);
          check(dep, rel);
        } else if (spec.startsWith('.') && /(^|\/)(packages|apps)\//.test(join(relative(root, p.dir), spec))) {
          const resolved = relative(root, join(file, '..', spec));
          if (!resolved.startsWith(relative(root, p.dir))) errors.push(`${rel}: relative import '${spec}' leaves the package`);
        }
      }
    }
  }
  return errors;
}
