// The one control client (src/client.ts: HostClient for tests and tools, xl's Host): the socket
// path rule, replies, a connection-level error (id null) failing every waiting request at once,
// a stream's listener dropped at its end, and a lost connection.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errno } from '@tachyxx/abi';
import { TachyxxError, XenError } from '@tachyxx/core';
import { ERROR_CODE_ERRNO, HostClient, ToolstackError, defaultSocketPath, isErrorCode } from '@tachyxx/toolstack';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** A fake host: `onRequest` answers each request line on the socket. */
async function fakeHost(onRequest: (s: Socket, req: { id: number; op: string }) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tachyxx-client-'));
  const path = join(dir, 'host.sock');
  const server: Server = createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        onRequest(s, JSON.parse(line));
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(path, res));
  cleanup.push(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return path;
}

describe('control client', () => {
  it('the socket path: TACHYXX_HOST, else XDG_RUNTIME_DIR, else /tmp/tachyxx-<uid> (root: /run/tachyxx)', () => {
    expect(defaultSocketPath({ TACHYXX_HOST: '/x/h.sock', XDG_RUNTIME_DIR: '/r' })).toBe('/x/h.sock');
    const uid = process.getuid?.() ?? 1000;
    expect(defaultSocketPath({ XDG_RUNTIME_DIR: '/r' })).toBe(uid === 0 ? '/run/tachyxx/host.sock' : '/r/tachyxx/host.sock');
    expect(defaultSocketPath({})).toBe(uid === 0 ? '/run/tachyxx/host.sock' : `/tmp/tachyxx-${uid}/host.sock`);
  });

  it('a connection-level error (id null) fails every waiting request at once, with its code', async () => {
    const path = await fakeHost((s, req) => {
      if (req.id === 2) s.write(JSON.stringify({ id: null, ok: false, error: { code: 'EBUSY', message: 'the host is at its limit' } }) + '\n');
    });
    const h = await HostClient.connect(path);
    try {
      const a = h.call('list').then(() => null, (e: unknown) => e);
      const b = h.call('list').then(() => null, (e: unknown) => e);
      for (const e of [await a, await b]) {
        expect(e).toBeInstanceOf(ToolstackError);
        expect((e as ToolstackError).code).toBe('EBUSY');
        expect((e as ToolstackError).message).toBe('the host is at its limit');
      }
    } finally {
      h.close();
    }
  });

  it('replies, error replies, a stream whose listener goes at its end, a lost connection', async () => {
    const path = await fakeHost((s, req) => {
      if (req.op === 'hello') s.write(JSON.stringify({ id: req.id, ok: true, result: { protocol: 'tachyxx-host' } }) + '\n');
      else if (req.op === 'domid') s.write(JSON.stringify({ id: req.id, ok: false, error: { code: 'ESRCH', message: 'x is an invalid domain identifier (rc=-6)' } }) + '\n');
      else if (req.op === 'events') {
        s.write(JSON.stringify({ id: req.id, ok: true, result: { stream: req.id } }) + '\n');
        s.write(JSON.stringify({ id: req.id, event: 'domain', kind: 'created' }) + '\n');
        s.write(JSON.stringify({ id: req.id, event: 'end', reason: 'detached' }) + '\n');
        s.write(JSON.stringify({ id: req.id, event: 'domain', kind: 'after-end' }) + '\n');
      } else if (req.op === 'list') s.destroy();
    });
    const h = await HostClient.connect(path);
    expect(await h.call('hello')).toEqual({ protocol: 'tachyxx-host' });
    const e = await h.call('domid', { name: 'x' }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(ToolstackError);
    expect((e as ToolstackError).code).toBe('ESRCH');
    const seen: unknown[] = [];
    const st = h.stream('events', {}, (ev) => seen.push(ev.kind ?? ev.reason));
    expect(await st.result).toEqual({ stream: st.id });
    await h.call('hello');
    expect(seen).toEqual(['created', 'detached']);
    let closed = false;
    h.onClose = () => (closed = true);
    await expect(h.call('list')).rejects.toThrow('connection to the host closed');
    expect(closed).toBe(true);
  });

  it('an error reply with a code the protocol does not know becomes EIO naming the code; a known one keeps it', async () => {
    const path = await fakeHost((s, req) => {
      const code = req.id === 1 ? 'EWHATEVER' : req.id === 2 ? 42 : 'ESRCH';
      s.write(JSON.stringify({ id: req.id, ok: false, error: { code, message: 'no' } }) + '\n');
    });
    const h = await HostClient.connect(path);
    try {
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => h.call('list').then(() => null, (e: unknown) => e as ToolstackError)));
      expect([a!.code, a!.errno, a!.message]).toEqual(['EIO', 5, 'EWHATEVER: no']);
      expect([b!.code, b!.errno, b!.message]).toEqual(['EIO', 5, 'no']);
      expect([c!.code, c!.errno, c!.message]).toEqual(['ESRCH', 3, 'no']);
    } finally {
      h.close();
    }
  });
});

describe('ToolstackError (issue 9 §4: one error base carrying a Xen errno)', () => {
  it('is a XenError whose errno is its code\'s number in Xen\'s public/errno.h (abi Errno)', () => {
    const e = new ToolstackError('ESRCH', 'no such domain');
    expect(e).toBeInstanceOf(XenError);
    expect(e).toBeInstanceOf(TachyxxError);
    expect([e.name, e.code, e.errno, e.message, e.exitCode]).toEqual(['ToolstackError', 'ESRCH', 3, 'no such domain', 1]);
    for (const [code, errno] of Object.entries(ERROR_CODE_ERRNO)) {
      expect(isErrorCode(code)).toBe(true);
      // ENOTSUP is Linux's alias of EOPNOTSUPP; EPROTO is the one code Xen's errno.h lacks (x86 Linux's 71).
      const want = code === 'ENOTSUP' ? Errno.EOPNOTSUPP : code === 'EPROTO' ? 71 : (Errno as Record<string, number>)[code];
      expect([code, errno]).toEqual([code, want]);
    }
    expect(isErrorCode('EWHATEVER')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(() => new ToolstackError('EWHATEVER' as never, 'x')).toThrow(RangeError);
  });
});
