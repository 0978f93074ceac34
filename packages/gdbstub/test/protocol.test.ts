import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Cpu, PhysMemory } from '@tachyxx/isa';
import {
  PacketParser, MAX_PACKET, checksum, frame, GdbSession, MAX_RETRANSMITS, TARGET_XML, NUM_REGS, addrHex, parseAddr,
  type DebugTarget, type StopListener,
} from '@tachyxx/gdbstub';

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('packet framing', () => {
  it('checksums and frames like the manual ($data#cs, escapes # $ } *)', () => {
    expect(checksum('OK')).toBe(0x9a);
    expect(frame('OK')).toBe('$OK#9a');
    expect(frame('a#b$c}d*')).toBe('$a}\x03b}\x04c}]d}\x0a#' + checksum('a}\x03b}\x04c}]d}\x0a').toString(16).padStart(2, '0'));
  });

  it('parses packets, acks, nacks and Ctrl-C; ignores garbage between packets', () => {
    const p = new PacketParser();
    const ev = p.feed(enc('xx+$qC#b4-\x03junk$g#67'));
    expect(ev).toEqual([{ kind: 'ack' }, { kind: 'packet', data: 'qC' }, { kind: 'nack' }, { kind: 'interrupt' }, { kind: 'packet', data: 'g' }]);
  });

  it('reports a bad checksum (and non-hex checksum digits) with the data', () => {
    const p = new PacketParser();
    expect(p.feed(enc('$g#00'))).toEqual([{ kind: 'bad-checksum', data: 'g' }]);
    expect(p.feed(enc('$g#zz'))).toEqual([{ kind: 'bad-checksum', data: 'g' }]);
  });

  it('unescapes }-escaped bytes (binary X data) and survives packets split at every byte', () => {
    const f = frame('X80000000,2:#$');
    const p = new PacketParser();
    const out = [...f].flatMap((ch) => p.feed(enc(ch)));
    expect(out).toEqual([{ kind: 'packet', data: 'X80000000,2:#$' }]);
  });

  it('drops a packet longer than MAX_PACKET and reports it', () => {
    const p = new PacketParser();
    const data = 'M' + 'a'.repeat(MAX_PACKET + 10);
    expect(p.feed(enc(frame(data)))).toEqual([{ kind: 'oversized', length: data.length }]);
    expect(p.feed(enc('$qC#b4'))).toEqual([{ kind: 'packet', data: 'qC' }]); // and goes on
  });

  it('a $ inside a packet restarts it (gdb resynchronising)', () => {
    expect(new PacketParser().feed(enc('$abc$qC#b4'))).toEqual([{ kind: 'packet', data: 'qC' }]);
  });

  it('fuzz: any framed data parses back to itself, whatever garbage precedes it and however it is split', () => {
    fc.assert(fc.property(
      fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((b) => String.fromCharCode(b)), maxLength: 300 }),
      fc.string({ unit: fc.constantFrom('a', 'z', '#', '}', '0', ' '), maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }),
      (data, garbage, cuts) => {
        const bytes = enc(garbage + frame(data));
        const p = new PacketParser();
        const out = [];
        let i = 0, k = 0;
        while (i < bytes.length) { const n = cuts[k++ % cuts.length]!; out.push(...p.feed(bytes.subarray(i, i + n))); i += n; }
        const packets = out.filter((e) => e.kind === 'packet');
        expect(packets.at(-1)).toEqual({ kind: 'packet', data });
      }));
  });

  it('fuzz: random bytes never throw and never produce data longer than MAX_PACKET', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
      const p = new PacketParser();
      for (const e of p.feed(bytes)) if (e.kind === 'packet' || e.kind === 'bad-checksum') expect(e.data.length).toBeLessThanOrEqual(MAX_PACKET);
    }));
  });

  it('addresses: gdb unsigned hex <-> the CPU signed-number form', () => {
    expect(parseAddr('80000000')).toBe(0x80000000);
    expect(parseAddr('ffffffffffff0000')).toBe(-0x10000);
    expect(addrHex(-0x10000)).toBe('ffffffffffff0000');
    expect(addrHex(0x80001234)).toBe('80001234');
    expect(parseAddr('1'.repeat(17))).toBeUndefined();
    expect(parseAddr('zz')).toBeUndefined();
  });
});

/** A session over a real CPU (bare translation) with a fake run control. */
function setup() {
  const mem = new PhysMemory({ base: 0x80000000, size: 1 << 20 });
  const cpu = new Cpu(mem);
  const sent: string[] = [];
  let closed = false;
  const calls: string[] = [];
  const target: DebugTarget = {
    threads: () => [1, 2],
    threadInfo: (t) => `vcpu ${t - 1}`,
    readReg: (t, n) => (t === 1 && n < NUM_REGS ? { lo: n === 32 ? cpu.pcLo : n < 32 ? cpu.getRegLo(n) : 0, hi: n === 32 ? cpu.pcHi : n < 32 ? cpu.getRegHi(n) : 0 } : undefined),
    writeReg: (_t, n, lo, hi) => { if (n < 32) { cpu.setReg(n, lo, hi); return true; } return false; },
    memory: mem,
    translation: () => ({ satpLo: 0, satpHi: 0, p1gatpLo: 0, p1gatpHi: 0, level: 2 }),
    setBreakpoints: (a) => { calls.push(`bp ${a.map((x) => x.toString(16)).join(',')}`); },
    setWatchpoints: (l) => { calls.push(`wp ${l.length}`); },
    resume: (s) => { calls.push(`resume ${s ?? 'all'}`); },
    halt: () => { calls.push('halt'); },
    running: false, exited: false,
    detach: () => { calls.push('detach'); }, kill: () => { calls.push('kill'); },
    listener: undefined as StopListener | undefined,
    catchTraps: 'off',
  };
  const s = new GdbSession(target, { send: (d) => sent.push(d), close: () => { closed = true; } });
  const send = (data: string) => { sent.length = 0; s.receive(enc(frame(data))); return [...sent]; };
  return { mem, cpu, s, sent, send, calls, target, isClosed: () => closed };
}

describe('session', () => {
  it('acks every packet and answers qSupported, vCont?, qC, qAttached, qfThreadInfo', () => {
    const { send } = setup();
    expect(send('qSupported:multiprocess+;swbreak+')).toEqual(['+', frame('PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;vContSupported+;swbreak+;hwbreak+')]);
    expect(send('vCont?')[1]).toBe(frame('vCont;c;C;s;S;t'));
    expect(send('qC')[1]).toBe(frame('QC1'));
    expect(send('qAttached')[1]).toBe(frame('1'));
    expect(send('qfThreadInfo')[1]).toBe(frame('m1,2'));
    expect(send('qsThreadInfo')[1]).toBe(frame('l'));
    expect(send('qUnknownThing')[1]).toBe(frame('')); // unsupported: empty reply
  });

  it('serves the target description in chunks ending with l', () => {
    const { send } = setup();
    const r1 = send('qXfer:features:read:target.xml:0,40')[1]!;
    expect(r1).toBe(frame('m' + TARGET_XML.slice(0, 0x40)));
    const last = send(`qXfer:features:read:target.xml:${(TARGET_XML.length - 5).toString(16)},40`)[1]!;
    expect(last).toBe(frame('l' + TARGET_XML.slice(-5)));
    expect(TARGET_XML).toContain('<architecture>riscv:rv64</architecture>');
    expect(TARGET_XML).toContain('org.gnu.gdb.riscv.cpu');
  });

  it('a bad checksum gets "-" and no reply; a "-" from gdb retransmits the last reply, at most MAX_RETRANSMITS times', () => {
    const { s, sent, send } = setup();
    sent.length = 0;
    s.receive(enc('$qC#00'));
    expect(sent).toEqual(['-']);
    send('qC');
    sent.length = 0;
    for (let i = 0; i < MAX_RETRANSMITS + 3; i++) s.receive(enc('-'));
    expect(sent).toEqual(Array(MAX_RETRANSMITS).fill(frame('QC1')));
    expect(s.counts.badChecksum).toBe(1);
  });

  it('an oversized packet gets + and an error reply, and the session goes on', () => {
    const { s, sent, send } = setup();
    sent.length = 0;
    s.receive(enc(frame('M80000000,1:' + '0'.repeat(MAX_PACKET))));
    expect(sent).toEqual(['+', frame('E16')]);
    expect(send('qC')[1]).toBe(frame('QC1'));
  });

  it('no-ack mode: OK is still framed, then nothing is acknowledged', () => {
    const { send } = setup();
    expect(send('QStartNoAckMode')).toEqual(['+', frame('OK')]);
    expect(send('qC')).toEqual([frame('QC1')]);
  });

  it('g / p / P / m / M / X work on registers and memory; malformed ones get errors', () => {
    const { send, cpu, mem } = setup();
    cpu.setReg(10, 0x11223344, 0x55667788);
    const g = send('g')[1]!;
    expect(g.slice(1 + 10 * 16, 1 + 11 * 16)).toBe('4433221188776655');
    expect(send('pa')[1]).toBe(frame('4433221188776655'));
    expect(send('P5=0100000000000000')[1]).toBe(frame('OK'));
    expect(cpu.getReg(5)).toBe(1);
    expect(send('P5=01')[1]).toBe(frame('E16'));
    expect(send('M80000010,4:deadbeef')[1]).toBe(frame('OK'));
    expect(mem.readU32(0x80000010)).toBe(0xefbeadde);
    expect(send('m80000010,4')[1]).toBe(frame('deadbeef'));
    expect(send('m10,4')[1]).toBe(frame('E0e')); // not RAM
    expect(send('mzz,4')[1]).toBe(frame('E16'));
    expect(send('X80000020,2:\x01\x02')[1]).toBe(frame('OK'));
    expect(mem.readU16(0x80000020)).toBe(0x0201);
    expect(send('X80000020,0:')[1]).toBe(frame('OK'));
    // a read crossing the end of RAM returns the part that exists
    expect(send(`m${(0x80000000 + (1 << 20) - 2).toString(16)},4`)[1]).toBe(frame('0000'));
  });

  it('Z0/z0 and Z2 reach the target; vCont steps the named thread; H selects threads', () => {
    const { send, calls } = setup();
    expect(send('Z0,80000100,4')[1]).toBe(frame('OK'));
    expect(send('Z1,80000200,4')[1]).toBe(frame('OK'));
    expect(send('z0,80000100,4')[1]).toBe(frame('OK'));
    expect(send('Z2,80001000,8')[1]).toBe(frame('OK'));
    expect(send('Z9,1,1')[1]).toBe(frame('E16'));
    expect(send('Hg2')[1]).toBe(frame('OK'));
    expect(send('Hg7')[1]).toBe(frame('E16'));
    expect(send('vCont;s:2;c')).toEqual(['+']); // the reply comes with the stop
    expect(send('vCont;c')).toEqual(['+']);
    expect(calls).toEqual(['bp 80000100', 'bp 80000100,80000200', 'bp 80000200', 'wp 1', 'resume 2', 'resume all']);
  });

  it('stop replies carry the thread, swbreak / hwbreak and watch addresses; D detaches', () => {
    const { send, target, sent, calls, isClosed } = setup();
    send('Z2,80001000,8');
    target.listener!.onStop({ tid: 1, signal: 5, kind: 'watch', watchAddr: 0x80001004, watchKind: 'watch' });
    expect(sent.at(-1)).toBe(frame('T05thread:1;watch:80001004;'));
    send('Z1,80000000,4');
    target.listener!.onStop({ tid: 1, signal: 5, kind: 'break' });
    expect(sent.at(-1)).toBe(frame('T05thread:1;hwbreak:;'));
    expect(send('?')[1]).toBe(frame('T05thread:1;hwbreak:;'));
    target.listener!.onExit({ code: 0, message: 'done' });
    expect(sent.at(-1)).toBe(frame('W00'));
    send('D');
    expect(calls.at(-1)).toBe('detach');
    expect(isClosed()).toBe(true);
  });

  it('Ctrl-C halts a running target; monitor commands answer with O packets then OK', () => {
    const { s, sent, target, calls, send } = setup();
    (target as { running: boolean }).running = true;
    s.receive(Uint8Array.of(3));
    expect(calls).toEqual(['halt']);
    const r = send(`qRcmd,${Buffer.from('catch-traps on').toString('hex')}`);
    expect(r[1]!.startsWith('$O')).toBe(true);
    expect(r.at(-1)).toBe(frame('OK'));
    expect(target.catchTraps).toBe('exceptions');
    void sent;
  });
});
