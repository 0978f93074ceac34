// Property test (issues 12-14): the device ops the I/O work added to the control socket — vif,
// vbd, PCI passthrough and SR-IOV (`network-*`, `block-*`, `pci-*`, `pci-sriov-*`) — sent with
// arbitrary and hostile arguments to a live daemon whose host HAS the devices (the passthrough
// IOMMU, interrupt remapping and an SR-IOV NIC with 8 VFs), next to a running victim domain.
// Every request gets a Xen-style error or a result within the bound; the daemon never fails
// inside; `list` and the NIC's PF driver still answer afterwards and the victim still runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OPS, OP_ARGS } from '@tachyxx/toolstack';
import { GRANT_PLUGINS } from '@tachyxx/grant';
import { XENSTORE_PLUGINS } from '@tachyxx/xenstore';
import { XENBUS_PLUGINS } from '@tachyxx/xenbus';
import { PCIE_PLUGINS } from '@tachyxx/pcie';
import { IOMMU_PLUGINS } from '@tachyxx/iommu';
import { IRQ_REMAP_PLUGINS } from '@tachyxx/irq-remap';
import { PASSTHROUGH_PLUGINS } from '@tachyxx/passthrough';
import { PVNET_PLUGINS } from '@tachyxx/pv-net';
import { SRIOV_NIC_PLUGINS } from '@tachyxx/sriov-nic';
import { cfg } from './helpers.js';
import { RawClient, listWithin, startDaemon, type Daemon } from './control-helpers.js';

const REPLY_MS = 2000;
const DEVICE_OPS = OPS.filter((o) => /^(network|block|pci)-/.test(o));
let d: Daemon;
let c: RawClient;
let nextId = 1;
/** Outcomes by error code: the arguments must reach past validation (see the last test). */
const codes = new Map<string, number>();

beforeAll(async () => {
  d = await startDaemon({}, {}, {
    pcpus: 2,
    memoryMiB: 512,
    components: {
      isa: 'tachy-v1', mmu: 'tagged', sched: 'credit', hypervisor: 'xen', evtchn: 'fifo', grant: 'v1', xenstore: 'cxenstored', xenbus: 'linux',
      pcie: { variant: 'ecam', topology: 'sriov-nic(vfs=8, queue=256, switch=veb), edu' },
      iommu: 'shared-stage2', 'irq-remap': 'posted', passthrough: 'pv', 'pv-net': 'bridge',
      'sriov-nic': { variant: 'pf', numvfs: 8, bridge: 'xenbr0' },
    },
  }, [...GRANT_PLUGINS, ...XENSTORE_PLUGINS, ...XENBUS_PLUGINS, ...PCIE_PLUGINS, ...IOMMU_PLUGINS, ...IRQ_REMAP_PLUGINS, ...PASSTHROUGH_PLUGINS, ...PVNET_PLUGINS, ...SRIOV_NIC_PLUGINS]);
  c = await RawClient.open(d.path);
  c.send(JSON.stringify({ id: 0, op: 'create', args: { config: cfg('victim', 'spin') } }));
  expect((await c.waitLines(1))[0]).toMatchObject({ id: 0, ok: true });
});
afterAll(async () => {
  c?.close();
  await d?.stop();
});

async function roundTrip(op: string, args: unknown): Promise<any> {
  const id = nextId++;
  const from = c.lines.length;
  c.send(JSON.stringify({ id, op, args }));
  const end = Date.now() + REPLY_MS;
  for (;;) {
    const r = c.lines.slice(from).find((m) => m && typeof m === 'object' && 'ok' in m && m.id === id);
    if (r) return r;
    if (c.closed) throw new Error(`connection closed after ${op} ${JSON.stringify(args).slice(0, 200)}`);
    if (Date.now() > end) throw new Error(`no reply within ${REPLY_MS} ms to ${op} ${JSON.stringify(args).slice(0, 200)}`);
    await new Promise((res) => setTimeout(res, 2));
  }
}

// What a hostile client sends: BDFs and numbers past every range, another domain's devices, specs
// with wild keys, huge strings.
const bdf = fc.oneof(
  fc.constantFrom('01:00.0', '01:10.0', '01:1e.0', '02:00.0', '0000:01:00.0', 'ffff:ff:1f.7', '01:00', '01:00.8', '1:0.0', '', '-1', '01:00.0@99'),
  fc.string({ maxLength: 20 }),
);
const num = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 1, 7, 8, 9, 64, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, -0.5));
const domain = fc.oneof(fc.constantFrom('victim', 'Domain-0', 0, 1, 2, 99999, -1, 2 ** 53), fc.string({ maxLength: 12 }));
const spec = fc.oneof(
  fc.constantFrom('bridge=xenbr0', 'mac=00:16:3e:00:00:01', 'rate=99999999999999999999Gb/s', 'mtu=0', 'mtu=70000', 'bridge=' + 'x'.repeat(300), '01:10.0,permissive=1', '01:00.0,seize=1', 'target=/etc/passwd,vdev=xvda', '/dev/zero,raw,xvda,w'),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.string({ maxLength: 40 }), num, fc.boolean()), { maxKeys: 6 }),
);
const byName: Record<string, fc.Arbitrary<unknown>> = { domain, bdf, vf: num, numvfs: num, key: fc.constantFrom('mac', 'vlan', 'max_tx_rate', 'state', 'spoof', ''), value: fc.oneof(fc.string({ maxLength: 30 }), num.map(String)), nic: spec, disk: spec, pci: spec, devid: num, mac: fc.string({ maxLength: 20 }), vdev: fc.string({ maxLength: 12 }), force: fc.boolean() };
/** Arguments for `op`: its own keys (each maybe absent) with hostile values, sometimes one stray key. */
const opAndArgs = fc.constantFrom(...DEVICE_OPS).chain((op) => {
  const keys = Object.keys((OP_ARGS as Record<string, Record<string, string>>)[op]!);
  const rec = fc.record(Object.fromEntries(keys.map((k) => [k, byName[k] ?? fc.oneof(num, fc.string({ maxLength: 20 }))])), { requiredKeys: [] });
  return fc.tuple(fc.constant(op), fc.oneof({ weight: 9, arbitrary: rec }, { weight: 1, arbitrary: rec.map((r) => ({ ...r, stray: 1 })) }));
});

describe('the device ops under hostile arguments, on a host with the devices', () => {
  it('covers every device op the daemon serves', () => {
    expect(DEVICE_OPS).toEqual(expect.arrayContaining(['network-attach', 'block-attach', 'pci-attach', 'pci-assignable-add', 'pci-sriov-numvfs', 'pci-sriov-vf']));
  });

  it('every device op with arbitrary arguments: an E-code error or a result within the bound, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(opAndArgs, async ([op, a]) => {
        const r = await roundTrip(op, a);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.error.code).toMatch(/^E[A-Z]+$/);
        codes.set(r.ok ? "ok" : r.error.code, (codes.get(r.ok ? "ok" : r.error.code) ?? 0) + 1);
      }),
      { numRuns: 500 },
    );
  }, 120_000);

  it('afterwards the daemon answers, never failed inside, the victim runs and the PF driver still lists its VFs', async () => {
    const { names, ms } = await listWithin(d.path);
    expect(ms).toBeLessThan(REPLY_MS);
    expect(names).toContain('victim');
    expect(d.server.stats.internalErrors).toBe(0);
    const victim = d.ts.list().find((e) => e.name === 'victim')!;
    expect(victim.state).not.toMatch(/c|d/); // neither crashed nor dying
    const r = await roundTrip('pci-sriov-list', {});
    expect(r.ok).toBe(true);
    // The fuzz reached the devices, not only the argument checks: some requests succeeded and
    // the refusals came from several layers (not one errno for everything).
    console.log('device-op outcomes:', JSON.stringify(Object.fromEntries(codes)));
    expect(codes.get('ok') ?? 0).toBeGreaterThan(0);
    expect([...codes.keys()].filter((k) => k !== 'ok').length).toBeGreaterThan(2);
  });
});
