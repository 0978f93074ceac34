import { describe, it, expect, afterAll } from 'vitest';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureSocketDir, checkSocketOwner, SocketDirError } from '@tachyxx/core';

const base = mkdtempSync(join(tmpdir(), 'tachyxx-sockdir-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const uid = process.getuid!();
const err = (f: () => unknown): SocketDirError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SocketDirError);
    return e as SocketDirError;
  }
  throw new Error('did not throw');
};

describe('secureSocketDir (the tmux / ssh-agent rule)', () => {
  it('creates a missing directory 0700 when asked, and accepts it', () => {
    const d = join(base, 'new', 'sub');
    secureSocketDir(d, { create: true });
    expect(statSync(d).mode & 0o777).toBe(0o700);
    expect(() => secureSocketDir(d)).not.toThrow();
  });

  it('a missing directory without create: ENOENT', () => {
    expect(err(() => secureSocketDir(join(base, 'absent'))).code).toBe('ENOENT');
  });

  it('refuses a group- or world-writable directory, naming the mode', () => {
    for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
      const d = join(base, `m${mode.toString(8)}`);
      mkdirSync(d);
      chmodSync(d, mode);
      const e = err(() => secureSocketDir(d, { create: true }));
      expect(e.code).toBe('EACCES');
      expect(e.message).toContain(`mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`);
    }
    const ok = join(base, 'm755');
    mkdirSync(ok, { mode: 0o755 });
    chmodSync(ok, 0o755);
    expect(() => secureSocketDir(ok)).not.toThrow();
  });

  it('refuses a directory owned by another user', () => {
    const d = join(base, 'other');
    mkdirSync(d, { mode: 0o700 });
    // As root we can hand it to someone else; otherwise ask for another uid.
    if (uid === 0) chownSync(d, 4242, 4242);
    const e = err(() => secureSocketDir(d, uid === 0 ? {} : { uid: uid + 1 }));
    expect(e.code).toBe('EACCES');
    expect(e.message).toMatch(/owned by uid \d+, not by you/);
  });

  it('refuses a symlink (lstat), even to a good directory, and a file', () => {
    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(base, 'link');
    symlinkSync(real, link);
    expect(err(() => secureSocketDir(link)).code).toBe('ELOOP');
    const f = join(base, 'file');
    writeFileSync(f, '');
    expect(err(() => secureSocketDir(f)).code).toBe('ENOTDIR');
  });

  it('checkSocketOwner: refuses a symlink or a file of another user, ignores a missing one', () => {
    const f = join(base, 'sock-other');
    writeFileSync(f, '');
    if (uid === 0) chownSync(f, 4242, 4242);
    if (uid === 0) expect(err(() => checkSocketOwner(f)).code).toBe('EACCES');
    else expect(err(() => checkSocketOwner(f, { uid: uid + 1 })).code).toBe('EACCES');
    const l = join(base, 'sock-link');
    symlinkSync(f, l);
    expect(err(() => checkSocketOwner(l)).code).toBe('ELOOP');
    expect(() => checkSocketOwner(join(base, 'none'))).not.toThrow();
  });
});
