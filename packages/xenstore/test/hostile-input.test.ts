// Issue 8 (xenstored): requests that used to kill xenstored or answer nonsense, the integer
// parsing of every wire op, the guard around every op, and the transaction-nodes quota.
import { describe, expect, it } from 'vitest';
import { XsType } from '@tachyxx/abi';
import { fromUtf8, introduceRing, nulStrings, ringPageOf, utf8, Xenstored, connectLocal, type XsLocalConnection } from '../src/index.js';
import { errnoOf, setup } from './helpers.js';

/** The reply payload as text ("OK\0", "EINVAL\0", ...). */
function ask(c: XsLocalConnection, type: number, payload: Uint8Array | string, tx = 0): string {
  return fromUtf8(c.request(type, typeof payload === 'string' ? utf8(payload) : payload, tx).payload);
}

describe('finding 6: SET_TARGET with unknown or ring-less domains', () => {
  it('the 20-byte killer ("0\\0" "0\\0") is answered EINVAL, and xenstored goes on', () => {
    const { dom0 } = setup();
    expect(ask(dom0.conn, XsType.SET_TARGET, '0\u00000\u0000')).toBe('EINVAL\0');
    dom0.write('/alive', 'yes');
    expect(dom0.read('/alive')).toBe('yes');
  });

  it('INTRODUCE 5 then SET_TARGET 5 5 (a domain without a ring, as the standalone daemon has): EINVAL', () => {
    const { dom0 } = setup();
    dom0.introduce(5, 1234, 7);
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('5', '5'))).toBe('EINVAL\0');
    expect(dom0.read('/tool/xenstored')).toBe('');
  });

  it('answers as do_set_target(): EINVAL for fewer than two strings or a bad domid, ENOENT for a domain not introduced', () => {
    const { xs, dom0 } = setup();
    const page = new Uint8Array(4096);
    introduceRing(xs, 7, ringPageOf(page), () => {});
    introduceRing(xs, 8, ringPageOf(new Uint8Array(4096)), () => {});
    for (const p of ['', '7', '7\u0000', 'x\u00008\u0000', '7\u0000-1\u0000', '7\u000065536\u0000', '7\u00008']) expect(ask(dom0.conn, XsType.SET_TARGET, p)).toBe('EINVAL\0');
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('9', '8'))).toBe('ENOENT\0');
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('7', '9'))).toBe('ENOENT\0');
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('0', '8'))).toBe('EINVAL\0');
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('7', '8'))).toBe('OK\0');
    expect(xs.domains.get(7)!.conn!.target).toBe(8);
    // Extra strings are ignored, as get_strings() with a 2-entry vector does.
    expect(ask(dom0.conn, XsType.SET_TARGET, nulStrings('7', '8', 'junk'))).toBe('OK\0');
  });
});

describe('finding 19: integers on the wire', () => {
  it('DIRECTORY_PART with a negative, non-decimal or oversized offset is EINVAL (used to return the tail)', () => {
    const { dom0 } = setup();
    for (const n of ['aa', 'bb', 'cc']) dom0.mkdir(`/d/${n}`);
    for (const off of ['-5', '-1', ' 1', '+1', '0x1', '1x', '', '4294967296', '99999999999999999999']) {
      expect(ask(dom0.conn, XsType.DIRECTORY_PART, nulStrings('/d', off)), off).toBe('EINVAL\0');
    }
    const gen = String(dom0.conn.xs.peek('/d')!.gen);
    expect(ask(dom0.conn, XsType.DIRECTORY_PART, nulStrings('/d', '0'))).toBe(`${gen}\0aa\0bb\0cc\0\0`);
    expect(ask(dom0.conn, XsType.DIRECTORY_PART, nulStrings('/d', '3'))).toBe(`${gen}\0bb\0cc\0\0`);
    expect(ask(dom0.conn, XsType.DIRECTORY_PART, nulStrings('/d', '4294967295'))).toBe(`${gen}\0\0`);
  });

  it('domids (GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, RELEASE, RESUME, INTRODUCE) must be plain decimals up to 65535', () => {
    const { dom0 } = setup();
    for (const t of [XsType.GET_DOMAIN_PATH, XsType.IS_DOMAIN_INTRODUCED, XsType.RELEASE, XsType.RESUME]) {
      for (const d of ['-1', '65536', '4294967301', '1e3', '0x10', ' 1', '1 ', '+1', '', '１']) expect(ask(dom0.conn, t, nulStrings(d)), `${t} ${d}`).toBe('EINVAL\0');
    }
    expect(ask(dom0.conn, XsType.GET_DOMAIN_PATH, nulStrings('65535'))).toBe('/local/domain/65535\0');
    for (const args of [['-1', '1', '1'], ['70000', '1', '1'], ['3', '-1', '1'], ['3', '1x', '1'], ['3', '1', '-1'], ['3', '1', '0'], ['3', '1', '4294967296'], ['3', '1', ' 2']]) {
      expect(ask(dom0.conn, XsType.INTRODUCE, nulStrings(...args)), args.join(' ')).toBe('EINVAL\0');
    }
    expect(ask(dom0.conn, XsType.INTRODUCE, nulStrings('3', '4503599627370495', '4294967295'))).toBe('OK\0');
  });

  it('permissions must be n|r|w|b and a domid up to 65535', () => {
    const { dom0 } = setup();
    dom0.write('/p', '');
    for (const perm of ['r-1', 'r65536', 'x1', 'r', 'r1x', 'r 1', 'R1', 'r0x1']) expect(ask(dom0.conn, XsType.SET_PERMS, nulStrings('/p', perm)), perm).toBe('EINVAL\0');
    expect(ask(dom0.conn, XsType.SET_PERMS, nulStrings('/p', 'b65535'))).toBe('OK\0');
  });

  it('transaction ids: any 32-bit value that is not open is ENOENT, even for ops that take none', () => {
    const { dom0 } = setup();
    for (const tx of [1, 2, 0x7fffffff, 0x80000000, 0xffffffff]) expect(ask(dom0.conn, XsType.READ, nulStrings('/tool'), tx)).toBe('ENOENT\0');
    // WATCH ignores tx_id (XS_FLAG_NOTID).
    expect(ask(dom0.conn, XsType.WATCH, nulStrings('/tool', 't'), 0xffffffff)).toBe('OK\0');
  });
});

describe('every op runs inside a guard', () => {
  it('an op that throws answers EIO to that request, logs op and connection, and other clients go on', () => {
    const lines: string[] = [];
    const xs = new Xenstored({ log: (l) => lines.push(l) });
    const a = connectLocal(xs, 0);
    const b = connectLocal(xs, 0);
    b.write('/w', 'before');
    b.watch('/w', 'tok');
    b.takeEvents();
    // A bug in one handler (injected): READ of /boom throws a TypeError.
    const real = (xs as unknown as { getChecked: (...a: unknown[]) => unknown }).getChecked;
    (xs as unknown as { getChecked: (...a: unknown[]) => unknown }).getChecked = function (this: Xenstored, ...args: unknown[]) {
      if (args[2] === '/boom') throw new TypeError("Cannot set properties of undefined (setting 'target')");
      return real.apply(this, args);
    };
    const r = a.conn.request(XsType.READ, nulStrings('/boom'));
    expect(r.type).toBe(XsType.ERROR);
    expect(fromUtf8(r.payload)).toBe('EIO\0');
    expect(lines).toEqual([expect.stringMatching(/^internal error in READ \(req_id \d+, tx_id 0\) from local connection #\d+ \(domain 0\): TypeError: Cannot set properties of undefined/)]);
    expect(xs.stats.internalErrors.value).toBe(1);
    // The same connection and the others go on; watches still fire.
    a.write('/w', 'after');
    expect(b.read('/w')).toBe('after');
    expect(b.takeEvents()).toEqual([{ path: '/w', token: 'tok' }]);
    expect(a.read('/w')).toBe('after');
  });

  it('a transaction in which an op failed inside commits nothing (EIO)', () => {
    const xs = new Xenstored({ log: () => {} });
    const a = connectLocal(xs, 0);
    const tx = a.transactionStart();
    a.write('/t/one', '1', tx);
    const real = (xs as unknown as { write: (...a: unknown[]) => unknown }).write;
    (xs as unknown as { write: (...a: unknown[]) => unknown }).write = () => {
      throw new RangeError('bug');
    };
    expect(errnoOf(() => a.write('/t/two', '2', tx))).toBe('EIO');
    (xs as unknown as { write: (...a: unknown[]) => unknown }).write = real;
    expect(errnoOf(() => a.transactionEnd(tx))).toBe('EIO');
    expect(a.exists('/t/one')).toBe(false);
    expect(a.conn.transactions.size).toBe(0);
  });

  it('a throwing introduce hook answers EIO instead of killing xenstored', () => {
    const lines: string[] = [];
    const xs = new Xenstored({ log: (l) => lines.push(l), introduceHook: () => { throw new Error('cannot map'); } });
    const a = connectLocal(xs, 0);
    expect(ask(a.conn, XsType.INTRODUCE, nulStrings('4', '1', '1'))).toBe('EIO\0');
    expect(lines[0]).toMatch(/internal error in INTRODUCE/);
    expect(a.isDomainIntroduced(4)).toBe(false);
  });
});

describe('quota transaction-nodes (C xenstored ACC_TRANSNODES 1024)', () => {
  it('an unprivileged transaction may access 1023 nodes; the next one is ENOSPC; dom0 has no limit', () => {
    const { xs, dom0, dom } = setup();
    expect(xs.quotas.nodesPerTransaction).toBe(1024);
    dom0.mkdir('/local/domain/3');
    dom0.setPerms('/local/domain/3', ['n3']);
    const d = dom(3);
    const tx = d.transactionStart();
    // Reads of missing nodes count as accesses too (their absence is remembered), and so does
    // their parent, read to choose between ENOENT and EACCES: 1 + 1022 = 1023 nodes.
    for (let i = 0; i < 1022; i++) expect(errnoOf(() => d.tryRead(`/local/domain/3/n${i}`, tx))).toBe('OK');
    expect(d.conn.transactions.get(tx)!.accessed.size).toBe(1023);
    expect(errnoOf(() => d.read('/local/domain/3/one-more', tx))).toBe('ENOSPC');
    expect(errnoOf(() => d.write('/local/domain/3/one-more', 'x', tx))).toBe('ENOSPC');
    expect(errnoOf(() => d.read('/local/domain/3/n5', tx))).toBe('ENOENT');
    d.transactionEnd(tx, false);
    const t0 = dom0.transactionStart();
    for (let i = 0; i < 2000; i++) dom0.tryRead(`/x/n${i}`, t0);
    dom0.transactionEnd(t0);
  });
});
