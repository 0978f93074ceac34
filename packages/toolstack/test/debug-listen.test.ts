import { describe, it, expect } from 'vitest';
import { parseListen, ToolstackError } from '../src/index.js';

const refuse = (spec: string): string => {
  try { parseListen(spec); } catch (e) { expect(e).toBeInstanceOf(ToolstackError); return `${(e as ToolstackError).code}: ${(e as Error).message}`; }
  throw new Error(`${spec} accepted`);
};

describe('debug-attach listen address (loopback or a Unix socket only)', () => {
  it('accepts loopback TCP and absolute Unix paths', () => {
    expect(parseListen('127.0.0.1:1234')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 1234 });
    expect(parseListen('localhost:0')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
    expect(parseListen('[::1]:9')).toEqual({ kind: 'tcp', host: '::1', port: 9 });
    expect(parseListen('unix:/tmp/tachyxx-no-such-dir/x.sock')).toEqual({ kind: 'unix', path: '/tmp/tachyxx-no-such-dir/x.sock' });
  });
  it('refuses every other address with the exact error', () => {
    const only = 'only 127.0.0.1:PORT, localhost:PORT, [::1]:PORT or unix:PATH (the stub never listens beyond this machine)';
    expect(refuse('0.0.0.0:1234')).toBe(`EINVAL: listen 0.0.0.0:1234: ${only}`);
    expect(refuse('192.168.1.2:1234')).toBe(`EINVAL: listen 192.168.1.2:1234: ${only}`);
    expect(refuse('1234')).toBe(`EINVAL: listen 1234: ${only}`);
    expect(refuse('127.0.0.1:99999')).toBe('EINVAL: listen 127.0.0.1:99999: 99999 is not a TCP port (0-65535)');
    expect(refuse('unix:rel.sock')).toBe('EINVAL: listen unix:rel.sock: the socket path must be absolute');
    expect(refuse(`unix:/${'a'.repeat(107)}`)).toBe(`EINVAL: listen unix:/${'a'.repeat(107)}: the socket path is longer than 107 bytes`);
    expect(refuse('unix:/')).toBe('EEXIST: listen unix:/: / exists (the daemon does not remove it)');
  });
});
