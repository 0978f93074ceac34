#!/usr/bin/env node
// Bundles a CLI's bin (an app's tsc-built dist/cli.js and everything it imports: the workspace
// packages' dist/ and their npm dependencies) in place, after `tsc`: dist/cli.js becomes a small
// entry and dist/chunks/ holds the code, split where the CLI imports lazily (one chunk per command
// and the code they share), so `--help` does not parse the CPU and `run` does not parse xl.
//   node ../../tools/bundle-cli.mjs [--external PKG ...]      (run from the app's folder)
//
// Why: Node 20 resolves, reads and links every ES module separately; `tachyxx run --bare` loaded
// ~170 of them (plus rxjs, yaml, tsyringe) and spent most of its 0.4-0.6 s doing so. A few files
// load in a few ms. Only the bin is bundled: the packages (and the app's own index.js, main.js,
// commands/) stay plain tsc output with types, for use as libraries, and the bin can fall back to
// them for commands whose dependencies cannot be bundled (see apps/runner/src/cli.ts).
//
// The build fails (rather than producing a bin that breaks at run time) when a bundled module
// finds files relative to itself: `import.meta.url`, `__dirname` or `__filename` would point at
// the bundle, not at the module's own package. The one such use that is understood is
// `createRequire(import.meta.url)('<relative>.json')`, which is replaced by the JSON it reads.
import { build } from 'esbuild';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const external = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--external' && args[i + 1]) external.push(args[++i]);
  else throw new Error(`bundle-cli: unknown argument '${args[i]}' (usage: bundle-cli.mjs [--external PKG ...])`);
}
const appDir = process.cwd();
const dist = join(appDir, 'dist');
const file = join(dist, 'cli.js');
statSync(file); // the tsc output must be there
rmSync(join(dist, 'chunks'), { recursive: true, force: true }); // no stale chunks of an older build

const root = resolve(new URL('..', import.meta.url).pathname);
const JSON_REQUIRE = /createRequire\(import\.meta\.url\)\((['"])(\.{1,2}\/[^'"]+\.json)\1\)/g;
const SELF_LOCATING = /\bimport\.meta\b|\b__dirname\b|\b__filename\b/;
const problems = [];

/** Inlines `createRequire(import.meta.url)('./x.json')` and refuses any other self-locating code. */
const selfLocating = {
  name: 'self-locating-modules',
  setup(b) {
    b.onLoad({ filter: /\.(c|m)?js$/ }, (a) => {
      if (a.path === file) return undefined; // the entry: it is the bundle's own location
      let text = readFileSync(a.path, 'utf8');
      const stripped = text.replace(/\/\/# sourceMappingURL=.*$/m, '');
      if (!SELF_LOCATING.test(stripped)) return undefined;
      text = text.replace(JSON_REQUIRE, (_, _q, rel) => `(${readFileSync(join(dirname(a.path), rel), 'utf8').trim()})`);
      // comments do not count (whole-line // ones, and /* */ ones keeping their line breaks)
      const rest = text.replace(/^[ \t]*\/\/[^\n]*/gm, '').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ''));
      const m = rest.match(SELF_LOCATING);
      if (m) {
        const line = rest.slice(0, m.index).split('\n').length;
        problems.push(`${relative(root, a.path)}:${line}: '${m[0]}' in a bundled module (it would name the bundle, not this file); keep its package external (--external) or load it from the unbundled dist/`);
      }
      return { contents: text, loader: 'js', resolveDir: dirname(a.path) };
    });
  },
};

/**
 * rxjs's Node entry is its CommonJS build, all of it (~700 KiB: every operator), which esbuild
 * cannot tree-shake. Its own ES2015 module build (the `es2015` export condition, the same code)
 * is side-effect free, so only what @tachyxx/core uses (Subject, Observable, map) is bundled.
 */
const rxjsEsm = {
  name: 'rxjs-esm',
  setup(b) {
    b.onResolve({ filter: /^rxjs$/ }, (a) => {
      const pkgJson = createRequire(join(a.resolveDir, 'x.js')).resolve('rxjs/package.json');
      const entry = JSON.parse(readFileSync(pkgJson, 'utf8')).exports?.['.']?.es2015;
      if (typeof entry !== 'string') throw new Error(`bundle-cli: ${pkgJson} has no "es2015" export any more: drop the rxjs-esm plugin`);
      return { path: join(dirname(pkgJson), entry) };
    });
  },
};

const result = await build({
  entryPoints: [file],
  outdir: dist,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  allowOverwrite: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // CommonJS dependencies (rxjs, yaml, tsyringe) call require() for Node built-ins: give the ES
  // module bundle a real one.
  banner: { js: "import { createRequire as __tachyxxCreateRequire } from 'node:module';\nconst require = __tachyxxCreateRequire(import.meta.url);" },
  plugins: [selfLocating, rxjsEsm],
});
if (problems.length) {
  process.stderr.write(`bundle-cli: ${relative(root, file)} cannot be bundled as it is:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
const outs = Object.entries(result.metafile.outputs).filter(([n]) => n.endsWith('.js'));
const kib = outs.reduce((a, [, o]) => a + o.bytes, 0) / 1024;
process.stdout.write(`bundle-cli: ${relative(root, file)}: ${Object.keys(result.metafile.inputs).length} modules in ${outs.length} files (dist/cli.js + dist/chunks/), ${kib.toFixed(0)} KiB\n`);
