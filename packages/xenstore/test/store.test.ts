import { describe, expect, it } from 'vitest';
import { EventBus, XenError } from '@tachyxx/core';
import { Errno, XsType, XSD_ERRORS } from '@tachyxx/abi';
import { connectLocal, createDomainLayout, nulStrings, XENSTORE_WATCH, Xenstored, XsError, fromUtf8 } from '../src/index.js';
import { errnoOf, setup } from './helpers.js';

describe('tree', () => {
  it('starts with /tool/xenstored, owned by dom0 and closed to others', () => {
    const { dom0, dom } = setup();
    expect(dom0.directory('/')).toEqual(['tool']);
    expect(dom0.directory('/tool')).toEqual(['xenstored']);
    expect(dom0.getPerms('/')).toEqual(['n0']);
    expect(errnoOf(() => dom(3).directory('/'))).toBe('EACCES');
  });

  it('writes and reads values, creating missing parents with the parent perms', () => {
    const { dom0 } = setup();
    dom0.mkdir('/p');
    dom0.setPerms('/p', ['n0', 'r7']);
    dom0.write('/p/a/b/c', 'v');
    expect(dom0.read('/p/a/b/c')).toBe('v');
    expect(dom0.read('/p/a')).toBe('');
    expect(dom0.getPerms('/p/a/b')).toEqual(['n0', 'r7']);
    expect(dom0.directory('/p/a')).toEqual(['b']);
  });

  it('keeps binary values, empty values and child order', () => {
    const { dom0 } = setup();
    dom0.write('/d/z', new Uint8Array([0, 1, 255]));
    dom0.write('/d/a', '');
    dom0.mkdir('/d/m');
    expect([...dom0.readBytes('/d/z')]).toEqual([0, 1, 255]);
    expect(dom0.directory('/d')).toEqual(['z', 'a', 'm']);
  });

  it('mkdir of an existing node keeps its value', () => {
    const { dom0 } = setup();
    dom0.write('/k', 'v');
    dom0.mkdir('/k');
    expect(dom0.read('/k')).toBe('v');
  });

  it('removes recursively; removing a missing child of an existing node is fine, of a missing parent ENOENT', () => {
    const { xs, dom0 } = setup();
    const before = xs.size;
    dom0.write('/r/a/b', '1');
    dom0.write('/r/c', '2');
    dom0.rm('/r');
    expect(xs.size).toBe(before);
    expect(errnoOf(() => dom0.read('/r/a/b'))).toBe('ENOENT');
    expect(errnoOf(() => dom0.rm('/nothere'))).toBe('OK');
    expect(errnoOf(() => dom0.rm('/no/there'))).toBe('ENOENT');
    expect(errnoOf(() => dom0.rm('/'))).toBe('EINVAL');
    expect(xs.entriesOf(0)).toBe(xs.size);
  });

  it('rejects bad paths with EINVAL', () => {
    const { dom0 } = setup();
    for (const p of ['/a/', '/a//b', '/a b', '/a\\b', '@introduceDomain', '/é']) expect(errnoOf(() => dom0.write(p, 'x')), p).toBe('EINVAL');
    expect(errnoOf(() => dom0.read('@releaseDomain'))).toBe('EINVAL');
    expect(dom0.getPerms('@releaseDomain')).toEqual(['n0']);
  });

  it('resolves relative paths against /local/domain/<id>', () => {
    const { dom0, dom } = setup();
    dom0.mkdir('/local/domain/4');
    dom0.setPerms('/local/domain/4', ['n4']);
    const d4 = dom(4);
    d4.write('data/x', 'y');
    expect(dom0.read('/local/domain/4/data/x')).toBe('y');
    expect(d4.read('data/x')).toBe('y');
  });

  it('answers GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED (dom0 only), INTRODUCE and RELEASE', () => {
    const { dom0, dom } = setup();
    expect(dom0.getDomainPath(5)).toBe('/local/domain/5');
    expect(dom(5).getDomainPath(0)).toBe('/local/domain/0');
    expect(errnoOf(() => dom0.getDomainPath(70000))).toBe('EINVAL');
    expect(dom0.isDomainIntroduced(0)).toBe(true);
    expect(dom0.isDomainIntroduced(0x7ff0)).toBe(true);
    expect(dom0.isDomainIntroduced(5)).toBe(false);
    dom0.introduce(5, 1234, 3);
    expect(dom0.isDomainIntroduced(5)).toBe(true);
    expect(errnoOf(() => dom(5).isDomainIntroduced(5))).toBe('EACCES');
    expect(errnoOf(() => dom(5).introduce(6, 1, 1))).toBe('EACCES');
    expect(errnoOf(() => dom0.introduce(6, 1, 0))).toBe('EINVAL');
    dom0.release(5);
    expect(dom0.isDomainIntroduced(5)).toBe(false);
    expect(errnoOf(() => dom0.release(5))).toBe('ENOENT');
    expect(errnoOf(() => dom0.release(0))).toBe('EINVAL');
  });

  it('writes the standard domain layout', () => {
    const { xs, dom0, dom } = setup();
    const path = createDomainLayout(xs, { domid: 3, name: 'guest', uuid: '00000000-0000-0000-0000-000000000003' });
    expect(path).toBe('/local/domain/3');
    expect(dom0.directory(path)).toEqual(['name', 'domid', 'vm', 'device', 'control', 'data']);
    const d3 = dom(3);
    expect(d3.read('name')).toBe('guest');
    expect(d3.read('vm')).toBe('/vm/00000000-0000-0000-0000-000000000003');
    expect(d3.read('/vm/00000000-0000-0000-0000-000000000003/name')).toBe('guest');
    expect(errnoOf(() => d3.write('name', 'evil'))).toBe('EACCES');
    d3.write('data/k', 'v');
    d3.write('control/shutdown', 'poweroff');
    expect(errnoOf(() => dom(4).read('/local/domain/3/name'))).toBe('EACCES');
  });
});

describe('permissions', () => {
  // Owner 1, default (others) from the first entry, explicit entries for 2..5.
  const cases: [string[], number, string, string][] = [
    // perms, domid, read result, write result
    [['n1'], 1, 'OK', 'OK'],
    [['n1'], 2, 'EACCES', 'EACCES'],
    [['r1'], 2, 'OK', 'EACCES'],
    [['w1'], 2, 'EACCES', 'OK'],
    [['b1'], 2, 'OK', 'OK'],
    [['b1', 'n2'], 2, 'EACCES', 'EACCES'],
    [['n1', 'r2'], 2, 'OK', 'EACCES'],
    [['n1', 'w2'], 2, 'EACCES', 'OK'],
    [['n1', 'b2'], 2, 'OK', 'OK'],
    [['n1', 'b2'], 3, 'EACCES', 'EACCES'],
    [['n1', 'r2', 'w2'], 2, 'OK', 'EACCES'], // the first matching entry wins
    [['n1'], 0, 'OK', 'OK'], // dom0 is privileged
    [['n0', 'n1'], 1, 'EACCES', 'EACCES'],
  ];
  it.each(cases)('perms %j for dom%i: read %s, write %s', (perms, domid, r, w) => {
    const { dom0, dom } = setup();
    dom0.write('/n', 'v');
    dom0.setPerms('/n', perms);
    const c = dom(domid);
    expect(errnoOf(() => c.read('/n'))).toBe(r);
    expect(errnoOf(() => c.write('/n', 'x'))).toBe(w);
  });

  it('hides whether a node exists from who may not read its parent (EACCES, not ENOENT)', () => {
    const { dom0, dom } = setup();
    dom0.mkdir('/secret');
    dom0.mkdir('/open');
    dom0.setPerms('/open', ['r0']);
    expect(errnoOf(() => dom(2).read('/secret/missing'))).toBe('EACCES');
    expect(errnoOf(() => dom(2).read('/open/missing'))).toBe('ENOENT');
    expect(errnoOf(() => dom(2).read('/open/missing/deeper'))).toBe('ENOENT');
  });

  it('lets an unprivileged domain create only where the parent is writable, and makes it the owner', () => {
    const { dom0, dom } = setup();
    dom0.mkdir('/w');
    dom0.setPerms('/w', ['n0', 'w2']);
    expect(errnoOf(() => dom(3).write('/w/x', '1'))).toBe('EACCES');
    dom(2).write('/w/x/y', '1');
    expect(dom0.getPerms('/w/x')).toEqual(['n2', 'w2']);
    expect(dom0.getPerms('/w/x/y')).toEqual(['n2', 'w2']);
  });

  it('SET_PERMS needs ownership; an unprivileged owner may not give the node away', () => {
    const { dom0, dom } = setup();
    dom0.write('/o', '');
    dom0.setPerms('/o', ['n2', 'b3']);
    expect(errnoOf(() => dom(3).setPerms('/o', ['n2', 'b3', 'r4']))).toBe('EACCES');
    dom(2).setPerms('/o', ['r2', 'w5']);
    expect(dom0.getPerms('/o')).toEqual(['r2', 'w5']);
    expect(errnoOf(() => dom(2).setPerms('/o', ['n5']))).toBe('EPERM');
    expect(errnoOf(() => dom0.setPerms('/o', ['x5']))).toBe('EINVAL');
    expect(errnoOf(() => dom0.setPerms('/o', []))).toBe('EINVAL');
    dom0.setPerms('/o', ['n5']);
    expect(dom0.getPerms('/o')).toEqual(['n5']);
  });

  it('SET_TARGET gives a stub domain the rights of its target', () => {
    const { xs, dom0 } = setup();
    const ring = (id: number) => {
      const c = connectLocal(xs, id);
      xs.domains.set(id, { domid: id, conn: c.conn, port: 1, gfn: 0, binding: undefined });
      return c;
    };
    const stub = ring(9);
    ring(3);
    dom0.write('/t', 'v');
    dom0.setPerms('/t', ['n3']);
    expect(errnoOf(() => stub.read('/t'))).toBe('EACCES');
    dom0.conn.request(XsType.SET_TARGET, nulStrings('9', '3'));
    expect(stub.read('/t')).toBe('v');
  });
});

describe('watches', () => {
  it('fire once at registration, then for the node and everything below it', () => {
    const { dom0, dom } = setup();
    const w = dom(0);
    w.watch('/x', 'tok');
    expect(w.takeEvents()).toEqual([{ path: '/x', token: 'tok' }]);
    dom0.write('/x/a/b', '1');
    dom0.write('/xy', '1'); // not below /x
    dom0.write('/x', '2');
    expect(w.takeEvents()).toEqual([
      { path: '/x/a/b', token: 'tok' },
      { path: '/x', token: 'tok' },
    ]);
  });

  it('reach the writer itself too', () => {
    const { xs, dom0 } = setup();
    dom0.watch('/q', 't');
    dom0.takeEvents();
    dom0.write('/q', '1');
    expect(dom0.takeEvents()).toEqual([{ path: '/q', token: 't' }]);
    expect(xs.stats.watchEvents.value).toBe(2);
  });

  it('fire on rm for the removed subtree: the root for ancestors, each node for its own watch', () => {
    const { dom0 } = setup();
    dom0.write('/r/a/b', '1');
    const w = setup().dom0; // a different store: unaffected
    w.watch('/r', 'other');
    w.takeEvents();
    dom0.watch('/r', 'root');
    dom0.watch('/r/a/b', 'leaf');
    dom0.watch('/r/a/b/c', 'none');
    dom0.takeEvents();
    dom0.rm('/r');
    expect(dom0.takeEvents()).toEqual([
      { path: '/r/a/b', token: 'leaf' },
      { path: '/r', token: 'root' },
    ]);
    expect(w.takeEvents()).toEqual([]);
  });

  it('report relative paths to relative watches', () => {
    const { dom0, dom } = setup();
    dom0.mkdir('/local/domain/2');
    dom0.setPerms('/local/domain/2', ['n2']);
    const d2 = dom(2);
    d2.watch('device', 'dev');
    expect(d2.takeEvents()).toEqual([{ path: 'device', token: 'dev' }]);
    dom0.write('/local/domain/2/device/vif/0', '');
    expect(d2.takeEvents()).toEqual([{ path: 'device/vif/0', token: 'dev' }]);
  });

  it('only fire for watchers that may read the node or its parent', () => {
    const { dom0, dom } = setup();
    dom0.mkdir('/s');
    const d2 = dom(2);
    d2.watch('/s', 't');
    d2.takeEvents();
    dom0.write('/s/hidden', '1');
    expect(d2.takeEvents()).toEqual([]);
    dom0.setPerms('/s', ['n0', 'r2']);
    d2.takeEvents();
    dom0.write('/s/visible-through-parent', '1');
    expect(d2.takeEvents()).toEqual([{ path: '/s/visible-through-parent', token: 't' }]);
  });

  it('@introduceDomain and @releaseDomain reach privileged watchers, others only if the special node allows', () => {
    const { dom0, dom } = setup();
    const d2 = dom(2);
    dom0.watch('@introduceDomain', 'i');
    dom0.watch('@releaseDomain', 'r');
    d2.watch('@releaseDomain', 'r2');
    expect(dom0.takeEvents()).toHaveLength(2);
    expect(d2.takeEvents()).toEqual([{ path: '@releaseDomain', token: 'r2' }]);
    dom0.introduce(7, 0, 1);
    dom0.release(7);
    expect(dom0.takeEvents()).toEqual([
      { path: '@introduceDomain', token: 'i' },
      { path: '@releaseDomain', token: 'r' },
    ]);
    expect(d2.takeEvents()).toEqual([]);
    dom0.setPerms('@releaseDomain', ['n0', 'r2']);
    d2.takeEvents(); // SET_PERMS fires the node's watches too
    dom0.introduce(8, 0, 1);
    dom0.release(8);
    expect(d2.takeEvents()).toEqual([{ path: '@releaseDomain', token: 'r2' }]);
  });

  it('refuse duplicates (EEXIST) and unknown unwatches (ENOENT); RESET_WATCHES forgets them all', () => {
    const { dom0 } = setup();
    dom0.watch('/a', 't');
    expect(errnoOf(() => dom0.watch('/a', 't'))).toBe('EEXIST');
    dom0.watch('/a', 'u');
    dom0.unwatch('/a', 't');
    expect(errnoOf(() => dom0.unwatch('/a', 't'))).toBe('ENOENT');
    dom0.resetWatches();
    dom0.takeEvents();
    dom0.write('/a', '1');
    expect(dom0.takeEvents()).toEqual([]);
  });

  it('publish watch fires on the bus only when subscribed', () => {
    const bus = new EventBus();
    const { dom0 } = setup({ bus, now: () => 42 });
    const seen: unknown[] = [];
    dom0.watch('/b', 't');
    const sub = bus.on(XENSTORE_WATCH).subscribe((e) => seen.push(e));
    dom0.write('/b', '1');
    sub.unsubscribe();
    dom0.write('/b', '2');
    expect(seen).toEqual([{ time: 42, domid: 0, path: '/b', token: 't' }]);
  });
});

describe('transactions', () => {
  it('see their own writes; others see them only after commit, with watches fired at commit', () => {
    const { dom0, dom } = setup();
    const other = dom(0);
    other.watch('/t', 'w');
    other.takeEvents();
    const tx = dom0.transactionStart();
    dom0.write('/t/a', '1', tx);
    expect(dom0.read('/t/a', tx)).toBe('1');
    expect(errnoOf(() => other.read('/t/a'))).toBe('ENOENT');
    expect(other.takeEvents()).toEqual([]);
    dom0.transactionEnd(tx);
    expect(other.read('/t/a')).toBe('1');
    expect(other.takeEvents()).toEqual([{ path: '/t/a', token: 'w' }]);
  });

  it('fail with EAGAIN when a node they read changed, and leave the tree as the other writer left it', () => {
    const { dom0, dom } = setup();
    const other = dom(0);
    dom0.write('/c', '0');
    const tx = dom0.transactionStart();
    expect(dom0.read('/c', tx)).toBe('0');
    dom0.write('/c2', 'x', tx);
    other.write('/c', '1');
    expect(errnoOf(() => dom0.transactionEnd(tx))).toBe('EAGAIN');
    expect(dom0.read('/c')).toBe('1');
    expect(errnoOf(() => dom0.read('/c2'))).toBe('ENOENT');
    expect(errnoOf(() => dom0.transactionEnd(tx))).toBe('ENOENT'); // gone after EAGAIN
  });

  it('conflict when a node they found missing appears, or a directory they listed changes', () => {
    const { dom0, dom } = setup();
    const other = dom(0);
    const t1 = dom0.transactionStart();
    expect(errnoOf(() => dom0.read('/m', t1))).toBe('ENOENT');
    other.write('/m', '1');
    expect(errnoOf(() => dom0.transactionEnd(t1))).toBe('EAGAIN');
    dom0.mkdir('/dir');
    const t2 = dom0.transactionStart();
    dom0.directory('/dir', t2);
    other.write('/dir/new', '');
    expect(errnoOf(() => dom0.transactionEnd(t2))).toBe('EAGAIN');
  });

  it('commit unrelated changes side by side; abort discards', () => {
    const { xs, dom0 } = setup();
    dom0.mkdir('/u');
    dom0.mkdir('/v');
    const t1 = dom0.transactionStart();
    const t2 = dom0.transactionStart();
    expect(t2).not.toBe(t1);
    dom0.write('/u/one', '1', t1);
    dom0.write('/v/two', '2', t2);
    dom0.transactionEnd(t1);
    dom0.transactionEnd(t2);
    expect(dom0.read('/u/one') + dom0.read('/v/two')).toBe('12');
    const before = JSON.stringify(xs.exportTree().nodes);
    const t3 = dom0.transactionStart();
    dom0.rm('/u', t3);
    dom0.write('/w', 'x', t3);
    dom0.transactionEnd(t3, false);
    expect(JSON.stringify(xs.exportTree().nodes)).toBe(before);
    expect(xs.stats.txCommitted.value).toBe(2);
    expect(xs.stats.txAborted.value).toBe(1);
  });

  it('reject unknown ids (ENOENT), nesting (EBUSY) and bad end arguments (EINVAL)', () => {
    const { dom0 } = setup();
    expect(errnoOf(() => dom0.read('/tool', 99))).toBe('ENOENT');
    const tx = dom0.transactionStart();
    const r = dom0.conn.request(XsType.TRANSACTION_START, nulStrings(''), tx);
    expect(fromUtf8(r.payload)).toBe('EBUSY\0');
    expect(fromUtf8(dom0.conn.request(XsType.TRANSACTION_END, nulStrings('X'), tx).payload)).toBe('EINVAL\0');
    expect(fromUtf8(dom0.conn.request(XsType.TRANSACTION_END, nulStrings('T'), 0).payload)).toBe('ENOENT\0');
    dom0.transactionEnd(tx);
  });

  it('rm inside a transaction, then recreate, commits as one change', () => {
    const { xs, dom0 } = setup();
    dom0.write('/z/a/b', '1');
    const tx = dom0.transactionStart();
    dom0.rm('/z/a', tx);
    dom0.write('/z/a/c', '2', tx);
    expect(dom0.directory('/z/a', tx)).toEqual(['c']);
    dom0.transactionEnd(tx);
    expect(dom0.directory('/z/a')).toEqual(['c']);
    expect(xs.entriesOf(0)).toBe(xs.size);
  });
});

describe('quotas (unprivileged domains only)', () => {
  const owned = (opts: ConstructorParameters<typeof Xenstored>[0] = {}) => {
    const s = setup(opts);
    s.dom0.mkdir('/local/domain/2');
    s.dom0.setPerms('/local/domain/2', ['n2']);
    return { ...s, d2: s.dom(2) };
  };

  it('node count: ENOSPC when the domain would own entriesPerDomain nodes, nothing created', () => {
    const { xs, d2, dom0 } = owned({ quotas: { entriesPerDomain: 5 } });
    // dom2 owns /local/domain/2 already (1 node).
    d2.write('a', '');
    d2.write('b', '');
    d2.write('c', '');
    expect(errnoOf(() => d2.write('d', ''))).toBe('ENOSPC');
    expect(errnoOf(() => d2.write('x/y/z', ''))).toBe('ENOSPC');
    expect(xs.entriesOf(2)).toBe(4);
    expect(errnoOf(() => d2.read('x'))).toBe('ENOENT');
    for (let i = 0; i < 20; i++) dom0.write(`/local/domain/2/dom0-${i}`, ''); // dom0 is exempt
  });

  it('node size: ENOSPC for a value that makes the node too big', () => {
    const { d2, dom0 } = owned({ quotas: { nodeSize: 100 } });
    d2.write('small', 'x'.repeat(50));
    expect(errnoOf(() => d2.write('big', 'x'.repeat(100)))).toBe('ENOSPC');
    dom0.write('/local/domain/2/big', 'x'.repeat(1000));
  });

  it('watches, transactions and permissions per node: ENOSPC', () => {
    const { d2 } = owned({ quotas: { watchesPerDomain: 3, transactionsPerDomain: 3, permsPerNode: 3 } });
    d2.watch('a', '1');
    d2.watch('a', '2');
    expect(errnoOf(() => d2.watch('a', '3'))).toBe('ENOSPC');
    d2.transactionStart();
    d2.transactionStart();
    expect(errnoOf(() => d2.transactionStart())).toBe('ENOSPC');
    d2.write('p', '');
    d2.setPerms('p', ['n2', 'r1']);
    expect(errnoOf(() => d2.setPerms('p', ['n2', 'r1', 'r3']))).toBe('ENOSPC');
  });

  it('path length: EINVAL beyond the limit below /local/domain/<id>/', () => {
    const { d2 } = owned({ quotas: { pathLength: 20 } });
    d2.write('a'.repeat(19), '');
    expect(errnoOf(() => d2.write('a'.repeat(20), ''))).toBe('EINVAL');
  });

  it('defaults are C xenstored’s', () => {
    expect(new Xenstored().quotas).toMatchObject({ entriesPerDomain: 1000, nodeSize: 2048, watchesPerDomain: 128, transactionsPerDomain: 10, permsPerNode: 5, pathLength: 2048 });
  });
});

describe('wire', () => {
  it('answers errors with the errno name, NUL-terminated, echoing req_id and tx_id', () => {
    const { dom0 } = setup();
    const tx = dom0.transactionStart();
    const r = dom0.conn.request(XsType.READ, nulStrings('/none'), tx);
    expect(r.type).toBe(XsType.ERROR);
    expect(fromUtf8(r.payload)).toBe('ENOENT\0');
    expect(r.txId).toBe(tx);
  });

  it('answers unknown and reply-only types with ENOSYS, dom0-only types from guests with EACCES', () => {
    const { dom0, dom } = setup();
    for (const t of [XsType.WATCH_EVENT, XsType.ERROR, 20, 23, 99, 0xffff, 0xffffffff]) expect(fromUtf8(dom0.conn.request(t, new Uint8Array()).payload)).toBe('ENOSYS\0');
    const d = dom(3);
    for (const t of [XsType.CONTROL, XsType.INTRODUCE, XsType.RELEASE, XsType.IS_DOMAIN_INTRODUCED, XsType.RESUME, XsType.SET_TARGET]) expect(fromUtf8(d.conn.request(t, nulStrings('1', '2', '3')).payload)).toBe('EACCES\0');
  });

  it('requires NUL-terminated single arguments (EINVAL otherwise)', () => {
    const { dom0 } = setup();
    for (const p of [new Uint8Array(), new TextEncoder().encode('/tool'), nulStrings('/tool', 'x')]) expect(fromUtf8(dom0.conn.request(XsType.READ, p).payload)).toBe('EINVAL\0');
    expect(fromUtf8(dom0.conn.request(XsType.WRITE, new TextEncoder().encode('/nonul')).payload)).toBe('EINVAL\0');
  });

  it('sends E2BIG for a DIRECTORY that does not fit, and DIRECTORY_PART in pieces', () => {
    const { dom0 } = setup();
    const names = Array.from({ length: 400 }, (_, i) => `child-number-${i}`);
    for (const n of names) dom0.mkdir(`/big/${n}`);
    expect(fromUtf8(dom0.conn.request(XsType.DIRECTORY, nulStrings('/big')).payload)).toBe('E2BIG\0');
    const got: string[] = [];
    let off = 0;
    let gen: string | undefined;
    for (;;) {
      const r = dom0.conn.request(XsType.DIRECTORY_PART, nulStrings('/big', String(off)));
      expect(r.type).toBe(XsType.DIRECTORY_PART);
      expect(r.payload.length).toBeLessThanOrEqual(4096);
      const parts = fromUtf8(r.payload).split('\0');
      gen ??= parts[0];
      expect(parts[0]).toBe(gen);
      const body = parts.slice(1, -1);
      const done = body.at(-1) === '';
      const list = done ? body.slice(0, -1) : body;
      got.push(...list);
      off += list.reduce((s, n) => s + n.length + 1, 0);
      if (done) break;
    }
    expect(got).toEqual(names);
  });

  it('every error it can send is one of xsd_errors', () => {
    const { xs } = setup();
    expect(Object.keys(xs.stats.errors)).toEqual([...XSD_ERRORS]);
  });

  it('CONTROL check answers OK for dom0', () => {
    const { dom0 } = setup();
    expect(fromUtf8(dom0.conn.request(XsType.CONTROL, nulStrings('check')).payload)).toBe('OK\0');
    expect(fromUtf8(dom0.conn.request(XsType.CONTROL, nulStrings('nope')).payload)).toBe('EINVAL\0');
  });
});

describe('stats and persistence', () => {
  it('counts ops by type, errors, watch events and transactions', () => {
    const { xs, dom0 } = setup();
    dom0.watch('/s', 't');
    dom0.write('/s', '1');
    errnoOf(() => dom0.read('/none'));
    const tx = dom0.transactionStart();
    dom0.transactionEnd(tx, false);
    const d = xs.stats.dump() as Record<string, any>;
    expect(d.ops.WRITE).toBe(1);
    expect(d.ops.READ).toBe(1);
    expect(d.errors.ENOENT).toBe(1);
    expect(d.watchEvents).toBe(2);
    expect(d.txStarted).toBe(1);
    expect(d.txAborted).toBe(1);
  });

  it('exports and imports the tree exactly, and refuses a broken one without touching the store', () => {
    const { xs, dom0 } = setup();
    dom0.write('/p/q', new Uint8Array([0, 200]));
    dom0.setPerms('/p/q', ['n3', 'r0']);
    const json = JSON.parse(JSON.stringify(xs.exportTree()));
    const ys = new Xenstored();
    ys.importTree(json);
    expect(ys.exportTree().nodes).toEqual(xs.exportTree().nodes);
    expect(ys.entriesOf(3)).toBe(1);
    const broken = structuredClone(json);
    broken.nodes = broken.nodes.filter((n: [string]) => n[0] !== '/p/q');
    expect(() => ys.importTree(broken)).toThrow(/missing child/);
    expect(ys.exportTree().nodes).toEqual(xs.exportTree().nodes);
  });
});

describe('XsError (issue 9 §4: one error base carrying a Xen errno)', () => {
  it('is a XenError: the wire name in `code`, its public/errno.h number in `errno`, for every xsd_errors[] name', () => {
    for (const code of XSD_ERRORS) {
      const e = new XsError(code);
      expect(e).toBeInstanceOf(XenError);
      expect([e.name, e.code, e.errno, e.message]).toEqual(['XsError', code, Errno[code], code]);
    }
    expect(() => new XsError('EBOGUS' as never)).toThrow(/not an xsd_errors\[\] name/);
  });

  it('a client call that fails throws it with both', () => {
    const xs = new Xenstored();
    const c = connectLocal(xs, 0);
    let err: unknown;
    try {
      c.read('/no/such/node');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(XsError);
    expect([(err as XsError).code, (err as XsError).errno]).toEqual(['ENOENT', 2]);
  });
});
