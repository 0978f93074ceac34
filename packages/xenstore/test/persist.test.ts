// Durable persistence (issue 8, findings 11 and 12): write-ahead log + snapshot, replies held
// until the log is fsync'd, torn tails, compaction, file modes.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XsType } from '@tachyxx/abi';
import { connectLocal, nulStrings, utf8, Xenstored, XsConnection, XsPersistence } from '../src/index.js';

/** A connection that records what reaches its transport (as a socket would send it). */
class Wire extends XsConnection {
  readonly kind = 'socket' as const;
  readonly sent: string[] = [];
  protected transmit(): void {
    for (let item = this.shiftOut(); item; item = this.shiftOut()) {
      const b = Buffer.from(item.bytes);
      this.sent.push(`${b.readUInt32LE(0)}:${b.subarray(16).toString('latin1')}`);
    }
  }
  shutdown(): void {
    this.closed = true;
  }
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'tachyxx-xs-persist-'));
  dirs.push(d);
  return d;
}
const turn = () => new Promise((r) => setImmediate(r));
/** Waits until the scheduled batch was written and its fsync came back. */
async function settle(p: XsPersistence) {
  const state = p as unknown as { inflight: boolean; scheduled: boolean; pending: unknown[] };
  await turn();
  for (let i = 0; i < 400 && (state.inflight || state.scheduled || state.pending.length); i++) await new Promise((r) => setTimeout(r, 5));
}

function fresh(file: string, opts = {}) {
  const xs = new Xenstored({ log: () => {} });
  const p = new XsPersistence(xs, file, opts);
  const loaded = p.load();
  p.start();
  return { xs, p, loaded };
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('write-ahead log', () => {
  it('holds the reply (and the watch events) until the batch is fsync\'d, then sends them in order', async () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file);
    const a = new Wire(0);
    const b = new Wire(0);
    xs.attach(a);
    xs.attach(b);
    xs.handle(b, { type: XsType.WATCH, reqId: 1, txId: 0, payload: nulStrings('/k', 'tok') });
    expect(b.sent).toEqual([`${XsType.WATCH}:OK\0`, `${XsType.WATCH_EVENT}:/k\0tok\0`]);
    xs.handle(a, { type: XsType.WRITE, reqId: 2, txId: 0, payload: utf8('/k\0v1') });
    xs.handle(a, { type: XsType.READ, reqId: 3, txId: 0, payload: nulStrings('/k') });
    // Nothing is acknowledged yet, and the watcher has not seen the change either.
    expect(a.sent).toEqual([]);
    expect(b.sent).toHaveLength(2);
    const syncs = p.syncs;
    await settle(p);
    expect(p.syncs).toBe(syncs + 1);
    expect(a.sent).toEqual([`${XsType.WRITE}:OK\0`, `${XsType.READ}:v1`]);
    expect(b.sent).toEqual([`${XsType.WATCH}:OK\0`, `${XsType.WATCH_EVENT}:/k\0tok\0`, `${XsType.WATCH_EVENT}:/k\0tok\0`]);
    expect(readFileSync(`${file}.wal`).includes(Buffer.from('"/k"'))).toBe(true);
    p.stop();
  });

  it('group commit: requests of one event-loop turn share one fsync', async () => {
    const { xs, p } = fresh(join(tmp(), 'xs.json'));
    const a = new Wire(0);
    xs.attach(a);
    const syncs = p.syncs;
    for (let i = 0; i < 200; i++) xs.handle(a, { type: XsType.WRITE, reqId: i, txId: 0, payload: utf8(`/g/k${i}\0${i}`) });
    await settle(p);
    expect(a.sent).toHaveLength(200);
    expect(p.syncs - syncs).toBe(1);
    expect(p.records).toBe(200);
    p.stop();
  });

  it('a committed transaction is one record; failed requests write nothing', async () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file);
    const c = connectLocal(xs, 0);
    const before = p.records;
    c.transaction((tx) => {
      for (let i = 0; i < 5; i++) c.write(`/tx/n${i}`, String(i), tx);
    });
    expect(p.records).toBe(before + 1);
    expect(c.tryRead('/nope')).toBeUndefined();
    c.rm('/nope/deeper/still'.slice(0, 5));
    expect(p.records).toBe(before + 1);
    p.stop();
  });

  it('in-process callers get their reply synchronously, already durable', () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file);
    const c = connectLocal(xs, 0);
    c.write('/sync/a', 'x');
    expect(c.read('/sync/a')).toBe('x');
    expect(p.syncs).toBeGreaterThan(0);
    // Killed right now (no stop): the log alone brings it back.
    const ys = new Xenstored({ log: () => {} });
    expect(new XsPersistence(ys, file).load()).toBe(true);
    expect(connectLocal(ys, 0).read('/sync/a')).toBe('x');
  });

  it('restores everything (values, perms, rm, transactions, releases) from snapshot + log without a clean stop', async () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file);
    const c = connectLocal(xs, 0);
    c.write('/a/b', 'bytes\u0001\u00ff');
    c.write('/a/c', '');
    c.setPerms('/a/c', ['n7', 'r8']);
    c.mkdir('/gone/x');
    c.rm('/gone');
    c.introduce(7, 1, 1);
    c.write('/local/domain/7/own', 'mine');
    c.setPerms('/local/domain/7/own', ['n7']);
    c.transaction((tx) => {
      c.write('/t/1', 'one', tx);
      c.rm('/a/b', tx);
    });
    c.release(7);
    const want = xs.exportTree().nodes;
    const ys = new Xenstored({ log: () => {} });
    new XsPersistence(ys, file).load();
    expect(ys.exportTree().nodes).toEqual(want);
    expect(ys.entriesOf(0)).toBe(xs.entriesOf(0));
    expect(ys.peek('/local/domain/7/own')!.perms).toEqual([{ id: 0, perm: 0 }]);
    p.stop();
  });

  it('cuts off a torn or corrupt last record, logs it, and appends after the good part', () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file);
    const c = connectLocal(xs, 0);
    c.write('/t/ok', '1');
    c.write('/t/torn', '2');
    const wal = `${file}.wal`;
    const full = statSync(wal).size;
    // Kill -9 halfway through the last record.
    truncateSync(wal, full - 5);
    const lines: string[] = [];
    const ys = new Xenstored({ log: (l) => lines.push(l) });
    const q = new XsPersistence(ys, file);
    q.load();
    expect(connectLocal(ys, 0).read('/t/ok')).toBe('1');
    expect(connectLocal(ys, 0).tryRead('/t/torn')).toBeUndefined();
    expect(lines).toEqual([expect.stringMatching(/xs\.json\.wal: cut off a torn or corrupt record at byte \d+ \(\d+ bytes\)/)]);
    q.start();
    connectLocal(ys, 0).write('/t/after', '3');
    const zs = new Xenstored({ log: () => {} });
    new XsPersistence(zs, file).load();
    expect(connectLocal(zs, 0).read('/t/after')).toBe('3');
    expect(connectLocal(zs, 0).read('/t/ok')).toBe('1');
    // A flipped byte (bad CRC) ends the log the same way.
    appendFileSync(wal, Buffer.from([0xff, 0, 0, 0, 1, 2, 3, 4, 5]));
    const ws = new Xenstored({ log: () => {} });
    new XsPersistence(ws, file).load();
    expect(connectLocal(ws, 0).read('/t/after')).toBe('3');
    p.stop();
    q.stop();
  });

  it('compacts into a snapshot (temp + rename) once the log passes compactBytes; replay skips what the snapshot has', async () => {
    const file = join(tmp(), 'xs.json');
    const { xs, p } = fresh(file, { compactBytes: 4096 });
    const a = new Wire(0);
    xs.attach(a);
    for (let i = 0; i < 100; i++) xs.handle(a, { type: XsType.WRITE, reqId: i, txId: 0, payload: utf8(`/c/k${i % 10}\0value-${i}`) });
    await settle(p);
    expect(p.saves).toBeGreaterThan(1);
    expect(statSync(`${file}.wal`).size).toBeLessThan(4096);
    expect(existsSync(`${file}.tmp`)).toBe(false);
    const snap = JSON.parse(readFileSync(file, 'utf8'));
    expect(snap.walSeq).toBeGreaterThan(0);
    const ys = new Xenstored({ log: () => {} });
    new XsPersistence(ys, file).load();
    expect(ys.exportTree().nodes).toEqual(xs.exportTree().nodes);
    expect(connectLocal(ys, 0).read('/c/k9')).toBe('value-99');
    p.stop();
  });
});

describe('files and their directory (finding 11)', () => {
  it('creates the snapshot, the log and the temp file 0600 whatever the umask, and tightens existing files', () => {
    const dir = tmp();
    const file = join(dir, 'xs.json');
    const old = process.umask(0);
    try {
      writeFileSync(file, JSON.stringify(new Xenstored().exportTree()), { mode: 0o666 });
      const { xs, p } = fresh(file);
      connectLocal(xs, 0).write('/m', '1');
      p.save();
      for (const f of [file, `${file}.wal`]) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
      p.stop();
    } finally {
      process.umask(old);
    }
  });

  it('refuses a world-writable directory and symbolic links, naming the path', () => {
    const dir = tmp();
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const xs = new Xenstored({ log: () => {} });
    expect(() => new XsPersistence(xs, join(open, 'xs.json')).load()).toThrow(`${open}: directory is world-writable (mode 777)`);
    chmodSync(open, 0o1777);
    expect(() => new XsPersistence(xs, join(open, 'xs.json')).start()).toThrow(/world-writable \(mode 1777\)/);
    const target = join(dir, 'elsewhere');
    writeFileSync(target, '{}');
    symlinkSync(target, join(dir, 'xs.json'));
    expect(() => new XsPersistence(xs, join(dir, 'xs.json')).load()).toThrow(`${join(dir, 'xs.json')}: is a symbolic link`);
  });

  it('refuses a bad snapshot or a log record that is not a change, leaving the store untouched', () => {
    const dir = tmp();
    const file = join(dir, 'xs.json');
    writeFileSync(file, '{"format":"nope"}');
    const xs = new Xenstored({ log: () => {} });
    connectLocal(xs, 0).write('/keep', '1');
    expect(() => new XsPersistence(xs, file).load()).toThrow(`${file}: not a tachyxx-xenstore/1 tree`);
    writeFileSync(file, '{not json');
    expect(() => new XsPersistence(xs, file).load()).toThrow(/xs\.json: not JSON/);
    expect(connectLocal(xs, 0).read('/keep')).toBe('1');
  });
});
