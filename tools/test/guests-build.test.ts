// The committed guest images (guests/build/) are what the sources build to, byte for byte, and
// are well-formed boot ABI v1 images. Rebuilding needs clang + ld.lld; without them that test is
// skipped with a visible reason (the committed images exist precisely for such machines).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const build = resolve(root, 'guests/build');
const hasClang = spawnSync(process.env.CLANG ?? 'clang', ['--version'], { stdio: 'ignore' }).status === 0
  && spawnSync(process.env.LD_LLD ?? 'ld.lld', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasClang) console.warn('guests-build: clang or ld.lld not found (Debian: apt-get install -y clang lld) - the rebuild check is SKIPPED');

interface Image { target: string; variant: string; path: string; sha256: string }
const manifest: { programs: { name: string; tachyxxOnly: boolean; images: Image[] }[] } =
  JSON.parse(readFileSync(resolve(build, 'manifest.json'), 'utf8'));
const images = manifest.programs.flatMap((p) => p.images);

describe('committed guest images', () => {
  it('lists every program directory under guests/ in the manifest', () => {
    const dirs = readdirSync(resolve(root, 'guests'))
      .filter((n) => n !== 'lib' && n !== 'build' && statSync(resolve(root, 'guests', n)).isDirectory())
      .filter((n) => readdirSync(resolve(root, 'guests', n)).some((f) => /\.(c|S)$/.test(f)));
    expect(manifest.programs.map((p) => p.name).sort()).toEqual(dirs.sort());
  });

  it('are static little-endian RISC-V ELF64 executables entered at 0x80000000', () => {
    for (const img of images) {
      const b = readFileSync(resolve(build, img.path));
      expect(b.subarray(0, 4).toString('latin1'), img.path).toBe('\x7fELF');
      expect(b[4], `${img.path} ELFCLASS64`).toBe(2);
      expect(b[5], `${img.path} little-endian`).toBe(1);
      expect(b.readUInt16LE(16), `${img.path} ET_EXEC`).toBe(2);
      expect(b.readUInt16LE(18), `${img.path} EM_RISCV`).toBe(243);
      expect(b.readBigUInt64LE(24), `${img.path} entry`).toBe(0x8000_0000n);
    }
  });

  it('has a Linux-user build for every program that is not Tachyxx-only', () => {
    for (const p of manifest.programs) {
      const targets = new Set(p.images.map((i) => i.target));
      expect(targets.has('tachyxx'), p.name).toBe(true);
      expect(targets.has('linux'), p.name).toBe(!p.tachyxxOnly);
    }
  });

  it.skipIf(!hasClang)('are byte-identical to a fresh build of the sources', () => {
    const out = mkdtempSync(join(tmpdir(), 'tachyxx-guests-test-'));
    try {
      const r = spawnSync(process.execPath, [resolve(root, 'tools/build-guests.mjs'), '--quiet', '--out', out], { cwd: root, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      for (const img of images) {
        const fresh = join(out, img.path);
        expect(existsSync(fresh), img.path).toBe(true);
        expect(readFileSync(fresh).equals(readFileSync(resolve(build, img.path))), `${img.path} differs from a fresh build: run pnpm guests and commit`).toBe(true);
      }
      expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(readFileSync(resolve(build, 'manifest.json'), 'utf8'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
