import { describe, expect, it } from 'vitest';
import { TachyxxError, XenError } from '../src/index.js';

describe('XenError', () => {
  it('is a user-facing TachyxxError that carries a positive Xen errno', () => {
    const e = new XenError('cannot create domain: not enough free memory', 12);
    expect(e).toBeInstanceOf(TachyxxError);
    expect(e.errno).toBe(12);
    expect(e.exitCode).toBe(1);
    expect(e.name).toBe('XenError');
  });

  it('refuses an errno that is not a positive integer (a guest-side -errno passed by mistake)', () => {
    expect(() => new XenError('x', -22)).toThrow(/positive Xen errno, got -22/);
    expect(() => new XenError('x', 0)).toThrow(RangeError);
  });
});
