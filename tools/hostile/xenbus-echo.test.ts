// The xenbus split-driver layer against real and hostile frontends (issue 10 §3-4): the echo
// guest walks the handshake with dom0's echo backend next to a victim domain; in-process hostile
// frontends throw wild ring indexes, bad grant refs, state flaps and a dying domain at it. The
// device is shut, the guest sees Closing, the host and the other domain go on, nothing leaks.
import { describe, it, expect } from 'vitest';
import { addDevice } from '@tachyxx/xenbus';
import { image } from '../test/io-helpers.js';
import { xenbusHost } from '../../packages/xenbus/test/helpers.js';

function runAll(h: ReturnType<typeof xenbusHost>, maxInsns = 400_000_000) {
  return h.host.run({ maxInsns });
}

describe('xenbus echo: a real C frontend', () => {
  it('echofront walks the handshake, gets every answer, closes, reconnects; the victim runs on', () => {
    const h = xenbusHost();
    const fe = h.host.createDomain({ name: 'echofront', image: image('echofront'), memoryMiB: 4, paused: true });
    const victim = h.host.createDomain({ name: 'victim', image: image('hello'), memoryMiB: 4, paused: true });
    addDevice(h.dom0xs, { kind: 'echo', domid: fe.domid, devid: 0 });
    h.host.unpauseDomain(fe);
    h.host.unpauseDomain(victim);
    const why = runAll(h);
    const text = h.consoleText(fe);
    expect(why, text).toBe('all-shutdown');
    expect(text).toContain('echo: 2000 of 2000 answers right');
    expect(text).toContain('unknown op: 3 of 3 answered -EINVAL');
    expect(text).toContain('after reconnect: 50 of 50 answers right');
    expect(text).toContain('echofront: PASS');
    expect(fe.shutdownReason).toBe('poweroff');
    expect(h.consoleText(victim)).toContain('Hello from Tachyxx!');
    const st = h.host.stats.lookup(`host.xenbus.echo.d${fe.domid}-0`) as { dump(): Record<string, number> };
    expect(st.dump()).toMatchObject({ requests: 2053, responses: 2053, connects: 2, faults: 0 });
    expect(h.dom0Maps()).toBe(0);
  });
});
