// The PV console ring (packages/xenbus/src/console.ts + guests/xenlib/console.h) in process:
// start_info wiring, the echo guest reading input from `in` and writing to `out`, and hostile
// indexes that drop only that domain's ring.
import { describe, it, expect } from 'vitest';
import { StartInfo, XENCONS_IN_SIZE, XenconsInterface } from '@tachyxx/abi';
import { ioHost, image } from './io-helpers.js';

const u32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
const enc = (s: string) => new TextEncoder().encode(s);

/** An assembled host with the console component (xenconsoled): its rings, output in `out`, the host log. */
function consoleHost() {
  const h = ioHost({ console: true });
  return { ...h, rings: h.rings! };
}

describe('console ring wiring', () => {
  it('start_info.console names the ring GFN (RAM end + 2 pages) and the port; destroy unbinds', () => {
    const { host, rings, store } = consoleHost();
    const d = host.createDomain({ name: 'probe', image: image('hello'), memoryMiB: 16, paused: true });
    const b = new Uint8Array(12);
    d.access.read(d.startInfoGpa + StartInfo.console_mfn.offset, b.subarray(0, 8));
    d.access.read(d.startInfoGpa + StartInfo.console_evtchn.offset, b.subarray(8, 12));
    const bind = rings.bindings.get(d.domid)!;
    expect(u32(b.subarray(0, 4))).toBe((0x8000_0000 + 16 * 1024 * 1024 + 2 * 4096) / 4096);
    expect(u32(b.subarray(4, 8))).toBe(0);
    expect(bind.gfn).toBe(u32(b.subarray(0, 4)));
    expect(bind.gfn).toBe(store.bindings.get(d.domid)!.gfn + 1);
    expect(u32(b.subarray(8, 12))).toBe(bind.guestPort);
    expect(bind.dom0Port).toBeGreaterThan(0);
    host.destroyDomain(d);
    expect(rings.bindings.has(d.domid)).toBe(false);
    expect(rings.input(d.domid, enc('x'))).toBe(-1);
  });
});

describe('echo guest over the console ring', () => {
  it('reads lines from in[], writes them uppercased to out[], powers off on quit', () => {
    const { host, rings, out } = consoleHost();
    const d = host.createDomain({ name: 'echo', image: image('echo'), memoryMiB: 16 });
    expect(host.run({ maxInsns: 2e7 })).toBe('idle'); // blocked waiting for input
    expect(out.get('echo')).toBe('echo: ready\n');
    expect(rings.input(d.domid, enc('hello\nMixed Case 123\n'))).toBe(21);
    expect(host.run({ maxInsns: 2e7 })).toBe('idle');
    expect(out.get('echo')).toBe('echo: ready\nHELLO\nMIXED CASE 123\n');
    expect(rings.input(d.domid, enc('quit\n'))).toBe(5);
    expect(host.run({ maxInsns: 2e7 })).toBe('all-shutdown');
    expect(d.shutdownCode).toBe(0);
    expect(out.get('echo')).toBe('echo: ready\nHELLO\nMIXED CASE 123\necho: bye\n');
  });

  it('input larger than in[] (1024 bytes) is fed as the guest consumes it', () => {
    const { host, rings, out } = consoleHost();
    const d = host.createDomain({ name: 'echo', image: image('echo'), memoryMiB: 16 });
    const lines = Array.from({ length: 60 }, (_, i) => `line ${i} ${'abcdefghij'.repeat(4)}`);
    const text = lines.join('\n') + '\nquit\n';
    expect(text.length).toBeGreaterThan(2 * XENCONS_IN_SIZE);
    expect(rings.input(d.domid, enc(text))).toBe(text.length);
    expect(host.run({ maxInsns: 2e8 })).toBe('all-shutdown');
    expect(out.get('echo')).toBe('echo: ready\n' + lines.map((l) => l.toUpperCase() + '\n').join('') + 'echo: bye\n');
  });
});

describe('hostile console ring', () => {
  for (const [what, off, a, b] of [
    ['out_prod - out_cons > 2048', XenconsInterface.fields.out_cons.offset, 0, 4096],
    ['in_prod - in_cons > 1024', XenconsInterface.fields.in_cons.offset, 0xdeadbeef, 7],
  ] as const) {
    it(`${what}: that ring is dropped with a log line; other domains carry on`, () => {
      const { host, rings, out, log } = consoleHost();
      const bad = host.createDomain({ name: 'hostile', image: image('echo'), memoryMiB: 16, paused: true });
      const good = host.createDomain({ name: 'echo', image: image('echo'), memoryMiB: 16 });
      const gpa = rings.ringGpaOf(bad);
      const idx = new Uint8Array(8);
      new DataView(idx.buffer).setUint32(0, a, true);
      new DataView(idx.buffer).setUint32(4, b, true);
      bad.access.write(gpa + off, idx);
      rings.process(bad.domid);
      expect(rings.bindings.get(bad.domid)!.broken).toContain(what.slice(0, 8));
      expect(log.filter((l) => l.includes('console ring dropped'))).toEqual([expect.stringContaining(`d${bad.domid} console ring dropped`)]);
      expect(rings.input(bad.domid, enc('hi\n'))).toBe(-1);
      expect(out.get('hostile')).toBeUndefined();
      // the hostile guest runs (its ring is dead: it blocks forever); the good one is served
      host.unpauseDomain(bad);
      expect(rings.input(good.domid, enc('ok\nquit\n'))).toBe(8);
      host.run({ maxInsns: 5e7 });
      expect(good.shutdownCode).toBe(0);
      expect(out.get('echo')).toBe('echo: ready\nOK\necho: bye\n');
      expect(bad.shutdownCode).toBeNull();
      host.destroyDomain(bad);
      expect(rings.bindings.has(bad.domid)).toBe(false);
    });
  }
});
