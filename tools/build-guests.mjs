#!/usr/bin/env node
// Builds every guest program (guests/<name>/) for both targets:
//   guests/build/<name>.elf        PLATFORM_TACHYXX (boot ABI v1, hypercalls) - committed
//   guests/build/linux/<name>.elf  PLATFORM_LINUX (Linux-user shim, the qemu-riscv64 oracle)
// guest.json "sources": [paths from the repository root] adds shared library sources (e.g.
// guests/xenlib/net/net.c) to a program; they are compiled with the program's flags.
// Programs whose guest.json sets "small": true are also built with -DSMALL as <name>-small.elf
// (fast variants for the differential test). A manifest goes to guests/build/manifest.json.
//
// Usage: node tools/build-guests.mjs [--out DIR] [--only NAME[,NAME...]] [--quiet] [--record]
//   --record  also run every linux image under qemu-riscv64 and store its stdout as the golden
//             output guests/<name>/expected.txt (expected-small.txt for the -small variant).
// Environment: CLANG, LD_LLD override the tool names (default clang, ld.lld).
// The output is deterministic: no timestamps, no absolute paths, no build id.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const guestsDir = join(root, 'guests');

const CLANG = process.env.CLANG ?? 'clang';
const LD = process.env.LD_LLD ?? 'ld.lld';

export const TARGETS = {
  tachyxx: { define: 'PLATFORM_TACHYXX', subdir: '' },
  linux: { define: 'PLATFORM_LINUX', subdir: 'linux' },
};

const CFLAGS = [
  '--target=riscv64-unknown-elf', '-march=rv64ima', '-mabi=lp64', '-mcmodel=medany', '-mno-relax',
  '-nostdlib', '-ffreestanding', '-fno-pic', '-O2', '-fno-asynchronous-unwind-tables', '-fno-unwind-tables',
  '-fno-stack-protector', '-fno-common', '-Wall', '-Wextra', '-Wno-unused-parameter',
  `-ffile-prefix-map=${root}/=`, '-Iguests/lib',
];
const LDFLAGS = ['-T', 'guests/lib/link.ld', '--no-relax', '-static', '--build-id=none', '-nostdlib'];

/** Program metadata from guests/<name>/guest.json (all optional). */
export function listPrograms() {
  return readdirSync(guestsDir)
    .filter((n) => n !== 'lib' && n !== 'build' && statSync(join(guestsDir, n)).isDirectory())
    .filter((n) => readdirSync(join(guestsDir, n)).some((f) => /\.(c|S)$/.test(f)))
    .sort()
    .map((name) => {
      const metaPath = join(guestsDir, name, 'guest.json');
      const meta = existsSync(metaPath) ? JSON.parse(readFileSync(metaPath, 'utf8')) : {};
      return {
        name,
        description: meta.description ?? '',
        tachyxxOnly: meta.tachyxxOnly === true,
        small: meta.small === true,
        bench: meta.bench === true,
        cflags: meta.cflags ?? [],
        // library sources shared between programs (e.g. guests/xenlib/net/net.c), compiled per program
        sources: meta.sources ?? [],
      };
    });
}

function sources(dir) {
  return readdirSync(join(root, dir)).filter((f) => /\.(c|S)$/.test(f)).sort().map((f) => `${dir}/${f}`);
}

function fail(msg) {
  console.error(`build-guests: ${msg}`);
  process.exit(2);
}

function checkTool(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0];
  } catch {
    return null;
  }
}

async function pool(jobs, n) {
  const results = [];
  let i = 0;
  const workers = Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (i < jobs.length) {
      const k = i++;
      results[k] = await jobs[k]();
    }
  });
  await Promise.all(workers);
  return results;
}

async function main() {
  const args = process.argv.slice(2);
  let outDir = join(guestsDir, 'build');
  let only = null;
  let quiet = false;
  let record = false;
  for (let k = 0; k < args.length; k++) {
    if (args[k] === '--out') outDir = resolve(args[++k]);
    else if (args[k] === '--only') only = new Set(args[++k].split(','));
    else if (args[k] === '--quiet') quiet = true;
    else if (args[k] === '--record') record = true;
    else if (args[k] === '--help' || args[k] === '-h') {
      console.log('usage: node tools/build-guests.mjs [--out DIR] [--only NAME[,NAME...]] [--quiet] [--record]');
      return;
    } else fail(`unknown argument ${args[k]}`);
  }
  const log = quiet ? () => {} : (m) => console.log(m);

  const clangVer = checkTool(CLANG, ['--version']);
  if (!clangVer) fail(`'${CLANG}' not found. Install it (Debian: apt-get install -y clang lld) or set CLANG=...; the committed images in guests/build/ work without it.`);
  if (!checkTool(LD, ['--version'])) fail(`'${LD}' not found. Install it (Debian: apt-get install -y lld) or set LD_LLD=...`);
  const targets = execFileSync(CLANG, ['-print-targets'], { encoding: 'utf8' });
  if (!/riscv64/.test(targets)) fail(`${CLANG} has no riscv64 backend (${clangVer})`);
  log(`build-guests: ${clangVer}`);

  let programs = listPrograms();
  if (only) programs = programs.filter((p) => only.has(p.name));
  const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-guests-'));
  const opts = { cwd: root, maxBuffer: 16 << 20 };
  const compile = async (src, obj, flags) => {
    try {
      await run(CLANG, [...CFLAGS, ...flags, '-c', src, '-o', obj], opts);
    } catch (e) {
      throw new Error(`compiling ${src}:\n${e.stderr || e.message}`);
    }
    return obj;
  };

  try {
    // 1. the library, once per target
    const libObjs = {};
    const jobs = [];
    for (const [t, cfg] of Object.entries(TARGETS)) {
      mkdirSync(join(tmp, t, 'lib'), { recursive: true });
      libObjs[t] = sources('guests/lib').map((src) => {
        const obj = join(tmp, t, 'lib', src.split('/').pop() + '.o');
        jobs.push(() => compile(src, obj, [`-D${cfg.define}`]));
        return obj;
      });
    }
    // 2. program objects per (target, variant)
    const links = [];
    for (const p of programs) {
      for (const [t, cfg] of Object.entries(TARGETS)) {
        if (t === 'linux' && p.tachyxxOnly) continue;
        for (const small of p.small ? [false, true] : [false]) {
          const variant = small ? `${p.name}-small` : p.name;
          const objDir = join(tmp, t, variant);
          mkdirSync(objDir, { recursive: true });
          const objs = [...sources(`guests/${p.name}`), ...p.sources].map((src) => {
            const obj = join(objDir, src.split('/').pop() + '.o');
            jobs.push(() => compile(src, obj, [`-D${cfg.define}`, ...(small ? ['-DSMALL'] : []), ...p.cflags]));
            return obj;
          });
          const out = join(outDir, cfg.subdir, `${variant}.elf`);
          links.push({ program: p.name, variant, target: t, small, objs, out });
        }
      }
    }
    log(`build-guests: compiling ${jobs.length} objects`);
    await pool(jobs, Math.max(2, cpus().length));

    // 3. link (library objects last so program symbols win nothing by accident; order is fixed)
    for (const l of links) {
      mkdirSync(dirname(l.out), { recursive: true });
      try {
        await run(LD, [...LDFLAGS, ...l.objs, ...libObjs[l.target], '-o', l.out], opts);
      } catch (e) {
        throw new Error(`linking ${relative(root, l.out)}:\n${e.stderr || e.message}`);
      }
      const bytes = readFileSync(l.out);
      l.sha256 = createHash('sha256').update(bytes).digest('hex');
      l.size = bytes.length;
      log(`  ${l.target.padEnd(7)} ${relative(root, l.out).padEnd(44)} ${String(l.size).padStart(7)} bytes`);
    }

    // 4. manifest (only for full builds into the default directory or --out)
    if (!only) {
      const manifest = {
        comment: 'Generated by tools/build-guests.mjs. tachyxxOnly programs have no linux build and are not compared with qemu-riscv64.',
        programs: programs.map((p) => ({
          name: p.name,
          description: p.description,
          tachyxxOnly: p.tachyxxOnly,
          bench: p.bench,
          small: p.small,
          images: links
            .filter((l) => l.program === p.name)
            .map((l) => ({ target: l.target, variant: l.variant, path: relative(outDir, l.out), sha256: l.sha256 })),
        })),
      };
      writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    }
    log(`build-guests: ${links.length} images in ${relative(root, outDir) || '.'}`);

    // 5. golden outputs from the qemu-riscv64 oracle
    if (record) {
      if (!checkTool('qemu-riscv64', ['--version'])) fail('--record needs qemu-riscv64 (Debian: apt-get install -y qemu-user)');
      for (const l of links.filter((x) => x.target === 'linux')) {
        const t0 = Date.now();
        const { stdout } = await run('qemu-riscv64', [l.out], { ...opts, encoding: 'buffer' });
        const golden = join(guestsDir, l.program, l.small ? 'expected-small.txt' : 'expected.txt');
        writeFileSync(golden, stdout);
        log(`  recorded ${relative(root, golden)} (${((Date.now() - t0) / 1000).toFixed(2)} s under qemu)`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`build-guests: ${e.message}`);
  process.exit(1);
});
