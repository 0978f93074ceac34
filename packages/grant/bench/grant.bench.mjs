#!/usr/bin/env node
// Grant-table throughput (host wall time; not run by `pnpm test`): map+unmap pairs and copies
// through grant_table_op as a guest issues them (op structs in guest memory, hypercall 20
// dispatched on the guest's vCPU), and the same from a dom0 TypeScript backend.
//   pnpm build && node packages/grant/bench/grant.bench.mjs [--json FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');
const pkg = (n) => import(resolve(root, `packages/${n}/dist/index.js`));
const [{ PluginRegistry, buildContainer, hostConfigFromObject }, { ISA_PLUGINS }, { MMU_PLUGINS }, { schedPlugins }, { Host }, abi, { GrantTables }] =
  await Promise.all(['core', 'isa', 'mmu', 'sched', 'hypervisor', 'abi', 'grant'].map(pkg));
const { GnttabOp, GnttabMapGrantRef: M, GnttabUnmapGrantRef: U, GnttabCopy: C, GNTMAP_host_map, GNTCOPY_source_gref, GNTCOPY_dest_gref, DOMID_SELF, Hypercall } = abi;

const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
const config = hostConfigFromObject({ pcpus: 1, memoryMiB: 256, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
const host = new Host({ container: buildContainer(config, reg), console: () => {} });
const gnt = GrantTables.attach(host);
const image = readFileSync(resolve(root, 'guests/build/hello.elf'));
const a = host.createDomain({ name: 'granter', image, memoryMiB: 8, paused: true });
const b = host.createDomain({ name: 'mapper', image, memoryMiB: 8, paused: true });
const DATA = 0x8040_0000, OPS = 0x8060_0000, HOLE = 0x9000_0000, BATCH = 16;
for (let r = 0; r < 256; r++) gnt.grantForeignAccess(a.domid, 8 + r, b.domid, DATA / 4096 + r);
for (let r = 0; r < 256; r++) gnt.grantForeignAccess(a.domid, 300 + r, 0, DATA / 4096 + r);
const hc = (d, cmd, uop, n) => host.hypercalls.dispatch(d.vcpus[0], Hypercall.grant_table_op, { a0: cmd, a1: uop, a2: n, a3: 0, a4: 0, a5: 0 });

function writeMaps(n) {
  for (let i = 0; i < n; i++) {
    const o = OPS + i * M.size;
    b.access.writeU64(o, HOLE + i * 4096); b.access.writeU32(o + 8, GNTMAP_host_map);
    b.access.writeU32(o + 12, 8 + i); b.access.writeU16(o + 16, a.domid);
  }
}
function writeUnmaps(n) {
  for (let i = 0; i < n; i++) {
    const o = OPS + 0x10000 + i * U.size;
    b.access.writeU64(o, HOLE + i * 4096);
    b.access.writeU32(o + 16, b.access.readU32(OPS + i * M.size + 20));
  }
}
function writeCopies(n, len) {
  for (let i = 0; i < n; i++) {
    const o = OPS + 0x20000 + i * C.size;
    b.access.writeU64(o, 8 + i); b.access.writeU16(o + 8, a.domid); b.access.writeU16(o + 10, 0);
    b.access.writeU64(o + 16, 0x8010_0000 / 4096 + i); b.access.writeU16(o + 24, DOMID_SELF); b.access.writeU16(o + 26, 0);
    b.access.writeU16(o + 32, len); b.access.writeU16(o + 34, GNTCOPY_source_gref);
  }
}

function time(fn, minMs = 400) {
  for (let i = 0; i < 200; i++) fn(); // warm up
  let n = 0; const t0 = performance.now();
  do { for (let i = 0; i < 100; i++) fn(); n += 100; } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / 1000 / n; // seconds per call
}

const rows = [];
const row = (name, opsPerCall, bytesPerOp, s) => rows.push({ name, opsPerSec: opsPerCall / s, bytesPerSec: bytesPerOp ? (opsPerCall * bytesPerOp) / s : null });

for (const n of [1, BATCH]) {
  writeMaps(n);
  hc(b, GnttabOp.map_grant_ref, OPS, n); writeUnmaps(n); hc(b, GnttabOp.unmap_grant_ref, OPS + 0x10000, n);
  const s = time(() => {
    if (hc(b, GnttabOp.map_grant_ref, OPS, n) !== 0) throw new Error('map failed');
    writeUnmaps(n);
    if (hc(b, GnttabOp.unmap_grant_ref, OPS + 0x10000, n) !== 0) throw new Error('unmap failed');
  });
  row(`hypercall map+unmap (batch ${n})`, n, 0, s);
}
for (const [n, len] of [[1, 64], [BATCH, 64], [1, 4096], [BATCH, 4096]]) {
  writeCopies(n, len);
  const s = time(() => { if (hc(b, GnttabOp.copy, OPS + 0x20000, n) !== 0) throw new Error('copy failed'); });
  if (b.access.readU16(OPS + 0x20000 + 36) !== 0) throw new Error('copy status');
  row(`hypercall copy ${len} B (batch ${n})`, n, len, s);
}
{
  const s = time(() => { const m = gnt.mapForeign(a.domid, 300); gnt.unmapForeign(m.handle); });
  row('backend mapForeign+unmap', 1, 0, s);
  const buf = new Uint8Array(4096);
  const ops = Array.from({ length: BATCH }, (_, i) => ({ source: { ref: 300 + i, domid: a.domid, offset: 0 }, dest: { buffer: buf, offset: 0 }, len: 4096 }));
  const s2 = time(() => gnt.copy(ops));
  row(`backend copy 4096 B (batch ${BATCH})`, BATCH, 4096, s2);
}

const fmt = (x) => x === null ? '-' : x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(1)} k`;
console.log(`${'benchmark'.padEnd(36)} ${'ops/s'.padStart(10)} ${'bytes/s'.padStart(10)}`);
for (const r of rows) console.log(`${r.name.padEnd(36)} ${fmt(r.opsPerSec).padStart(10)} ${fmt(r.bytesPerSec).padStart(10)}`);
const st = gnt.statsOf(b.domid);
console.log(`mapper stats: ${JSON.stringify(st)}`);
const i = process.argv.indexOf('--json');
if (i > 0) writeFileSync(process.argv[i + 1], JSON.stringify({ node: process.version, rows }, null, 2));
