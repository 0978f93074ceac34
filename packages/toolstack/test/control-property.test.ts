// Property tests (issue 8): arbitrary requests against a live in-process daemon, and the parsers
// fuzzed. The daemon never throws, every request gets its reply within a bound, and `list` still
// answers correctly afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { OPS, OP_ARGS, MAX_REQUEST_DEPTH, ToolstackError, parseCpuList, parseMemKb, toBuildSpec } from '@tachyxx/toolstack';
import { cfg } from './helpers.js';
import { RawClient, listWithin, startDaemon, type Daemon } from './control-helpers.js';

const REPLY_MS = 2000;
let d: Daemon;
let c: RawClient;
let nextId = 1;

beforeAll(async () => {
  d = await startDaemon();
  c = await RawClient.open(d.path);
  c.send(JSON.stringify({ id: 0, op: 'create', args: { config: cfg('victim', 'spin') } }));
  expect((await c.waitLines(1))[0]).toMatchObject({ id: 0, ok: true });
});
afterAll(async () => {
  c.close();
  await d.stop();
});

/** Sends one line and waits for the reply with `id` (stream events of earlier requests are skipped). */
async function roundTrip(line: string, id: number | null): Promise<any> {
  const from = c.lines.length;
  c.send(line);
  const end = Date.now() + REPLY_MS;
  for (;;) {
    const r = c.lines.slice(from).find((m) => m && typeof m === 'object' && 'ok' in m && m.id === id);
    if (r) return r;
    if (c.closed) throw new Error(`connection closed after ${line.slice(0, 200)}`);
    if (Date.now() > end) throw new Error(`no reply within ${REPLY_MS} ms to ${line.slice(0, 200)}`);
    await new Promise((res) => setTimeout(res, 2));
  }
}

const argNames = [...new Set(Object.values(OP_ARGS).flatMap((a) => Object.keys(a)))];
const hostileNumber = fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(1e300, -1e300, -1, 0, 2 ** 53, 2 ** 64, 4_000_000_000, 65536, -0.5));
const leaf = fc.oneof(hostileNumber, fc.boolean(), fc.constant(null), fc.string({ maxLength: 40 }), fc.constantFrom('all', '-', '0-4000000000', 'nodes:0', '^0', 'victim', 'Domain-0', 'Pool-0', '0', '1e300', '99999999999999999999t'), fc.string({ minLength: 300, maxLength: 3000 }));
/** JSON nested up to a few levels past the request depth limit. */
function nested(depth: number): fc.Arbitrary<unknown> {
  return fc.nat(depth).map((n) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
    return v;
  });
}
const value = fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) }, { weight: 1, arbitrary: nested(MAX_REQUEST_DEPTH + 3) }, { weight: 1, arbitrary: fc.array(fc.integer({ min: -2, max: 10 }), { maxLength: 20 }) });
const args = fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...argNames) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }) }), value, { maxKeys: 4 });
const opName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...OPS) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });

describe('the control socket under arbitrary requests', () => {
  it('every op with arbitrary arguments: a reply within the bound, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(opName, fc.oneof(args, value), fc.boolean(), async (op, a, withV) => {
        const id = nextId++;
        const r = await roundTrip(JSON.stringify({ id, op, args: a, ...(withV ? { v: 1 } : {}) }), id);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(r.error.code).toMatch(/^E[A-Z]+$/);
      }),
      { numRuns: 600 },
    );
  }, 120_000);

  it('malformed envelopes and non-JSON lines: an error reply with id null (or the id), never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 200 }).filter((s) => !s.includes('\n') && s.trim() !== '')), async (line) => {
        let id: unknown = null;
        try {
          const v = JSON.parse(line);
          if (v && typeof v === 'object' && !Array.isArray(v) && (typeof v.id === 'number' || (typeof v.id === 'string' && v.id.length <= 256))) id = v.id;
        } catch {
          /* not JSON */
        }
        // Replies to a well-formed request may be ok; anything else is an error.
        const r = await roundTrip(line, id as number | null);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('afterwards `list` answers, and agrees with the toolstack; host-counts are consistent', async () => {
    const { names, ms } = await listWithin(d.path);
    expect(ms).toBeLessThan(REPLY_MS);
    expect(names).toEqual(d.ts.list().map((e) => e.name));
    expect(names[0]).toBe('Domain-0');
    const counts = d.ts.counts();
    expect(counts.domains).toBe(d.ts.domainCount + 1);
    expect(d.server.stats.internalErrors).toBe(0);
  });
});

describe('parsers never throw anything but their own error', () => {
  const topo = { pcpus: 4, nodes: [[0, 1], [2, 3]] };
  it('parseCpuList: ToolstackError only; results are pCPUs of the host', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.array(fc.oneof(fc.integer(), fc.double()), { maxLength: 10 }), fc.integer(), fc.stringMatching(/^\^?(nodes?:)?\d{1,12}(-\d{1,12})?(,\^?(nodes?:)?\d{1,12}(-\d{1,12})?){0,4}$/)), (spec) => {
        try {
          const r = parseCpuList(spec as string, topo);
          for (const x of r) expect(x >= 0 && x < 4).toBe(true);
        } catch (e) {
          if (!(e instanceof ToolstackError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseMemKb: NaN or a safe integer, never a throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 30 }), fc.double(), fc.stringMatching(/^\d{1,25}[bkmgtBKMGT]?$/), fc.anything()), (v) => {
        const kb = parseMemKb(v);
        expect(Number.isNaN(kb) || Number.isSafeInteger(kb)).toBe(true);
        // A plain number of MiB within range comes back exactly.
        if (typeof v === 'string' && /^\d{1,9}$/.test(v)) expect(kb).toBe(Number(v) * 1024);
      }),
      { numRuns: 2000 },
    );
  });

  it('toBuildSpec: ToolstackError only, on arbitrary domain_configs', () => {
    const b = fc.dictionary(fc.constantFrom('cmdline', 'max_vcpus', 'avail_vcpus', 'max_memkb', 'target_memkb', 'cpumap', 'cpumap_soft', 'vcpu_hard_affinity', 'sched_params', 'kernel', 'ramdisk', 'max_grant_frames', 'event_channels', 'type'), value, { maxKeys: 6 });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ c_info: fc.oneof(fc.record({ name: fc.oneof(fc.string({ maxLength: 70 }), hostileNumber), type: fc.oneof(fc.constantFrom('pv', 'pvh', 'hvm', 'x'), fc.jsonValue({ maxDepth: 2 })), uuid: fc.oneof(fc.uuid(), fc.jsonValue({ maxDepth: 2 })) }, { requiredKeys: ['name'] }), fc.jsonValue({ maxDepth: 2 })), b_info: b, on_crash: fc.oneof(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })) })), (raw) => {
        try {
          toBuildSpec(raw, topo);
        } catch (e) {
          if (!(e instanceof ToolstackError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
