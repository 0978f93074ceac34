// Network ops (issue 12 §4): vif= at create through pv-net's addVif, network-list rows from
// xenstore, network-attach's next devid, network-detach's handshake with a frontend that closes,
// and libxl's timeout for one that does not.
import { describe, it, expect } from 'vitest';
import { makeToolstack, op, cfg } from './helpers.js';
import { NIC_REMOVE_TIMEOUT_NS, ToolstackError } from '@tachyxx/toolstack';

async function rejects(p: Promise<unknown>, code: string, re: RegExp) {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e, 'the op must fail').toBeInstanceOf(ToolstackError);
  expect((e as ToolstackError).code).toBe(code);
  expect((e as ToolstackError).message).toMatch(re);
}

describe('network ops', () => {
  it('create with nics, list, attach (next devid), detach: an Initialising frontend at once, a Connected one after it closes, a silent one at the timeout', async () => {
    const ts = makeToolstack();
    try {
      const r = await op(ts, 'create', { config: cfg('n', 'hello', { nics: [{ devid: 0, bridge: 'xenbr0' }, { devid: 1, mac: '00:16:3e:01:02:03', ifname: 'web0' }] }), paused: true });
      const domid = r.domid as number;
      const list = async () => (await op(ts, 'network-list', { domain: domid })).domains[0].nics as { devid: number; mac: string; state: number; backend: string }[];
      const nics = await list();
      expect(nics.map((n) => [n.devid, n.mac, n.state])).toEqual([[0, `00:16:3e:00:${domid.toString(16).padStart(2, '0')}:00`, 1], [1, '00:16:3e:01:02:03', 1]]);
      expect(ts.xsc.read(`${nics[1]!.backend}/vifname`)).toBe('web0');
      ts.host.queue.runUntil(ts.host.clock.now);
      expect(ts.xsc.read(`${nics[0]!.backend}/state`)).toBe('2'); // netback probed: InitWait
      const a = await op(ts, 'network-attach', { domain: domid, nic: { devid: -1, bridge: 'xenbr1' } });
      expect(a.devid).toBe(2);
      await rejects(op(ts, 'network-attach', { domain: domid, nic: { devid: 2 } }), 'EEXIST', /already has vif 2/);
      await rejects(op(ts, 'network-attach', { domain: domid, nic: { devid: 3, script: 'vif-nat' } }), 'EINVAL', /script=vif-nat/);
      await rejects(op(ts, 'network-detach', { domain: domid, devid: 9 }), 'ENOENT', /Unknown device 9/);
      // Initialising frontend: removed at once.
      await op(ts, 'network-detach', { domain: domid, devid: 2 });
      expect((await list()).map((n) => n.devid)).toEqual([0, 1]);
      // A frontend that says Connected (as a guest would), then closes when asked.
      const fe0 = `/local/domain/${domid}/device/vif/0`;
      const fe1 = `/local/domain/${domid}/device/vif/1`;
      ts.xsc.write(`${fe0}/state`, '4');
      ts.xsc.write(`${fe1}/state`, '4');
      await op(ts, 'network-detach', { domain: domid, mac: '00:16:3e:01:02:03' });
      await op(ts, 'network-detach', { domain: domid, devid: 0 });
      ts.host.queue.runUntil(ts.host.clock.now + 1_000_000);
      expect((await list()).map((n) => n.devid)).toEqual([0, 1]); // both still waiting for their frontends
      expect(ts.xsc.read(`${nics[1]!.backend}/online`)).toBe('0');
      ts.xsc.write(`${fe1}/state`, '6'); // vif 1's frontend closes
      ts.host.queue.runUntil(ts.host.clock.now + 10_000_000);
      expect((await list()).map((n) => n.devid)).toEqual([0]);
      ts.host.queue.runUntil(ts.host.clock.now + NIC_REMOVE_TIMEOUT_NS);
      expect(await list()).toEqual([]); // vif 0's never did: libxl's timeout
      expect(ts.xsc.tryRead(`/local/domain/0/backend/vif/${domid}/0`)).toBeUndefined();
    } finally {
      ts.close();
    }
  });
});
