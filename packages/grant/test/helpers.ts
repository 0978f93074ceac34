// A real Host with the grant component, two paused hello domains, and op-struct writers that put
// grant_table_op arguments into guest memory and dispatch hypercall 20 as the guest's vCPU would.
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, type Domain, type Vcpu } from '@tachyxx/hypervisor';
import {
  GTF_permit_access, GTF_readonly, GnttabCopy, GnttabMapGrantRef, GnttabOp, GnttabQuerySize, GnttabSetupTable,
  GnttabUnmapGrantRef, Hypercall, PAGE_SIZE,
} from '@tachyxx/abi';
import { GrantTables, type GrantTablesOptions } from '@tachyxx/grant';

const ROOT = resolvePath(import.meta.dirname, '../../..');
export const HELLO = readFileSync(join(ROOT, 'guests/build/hello.elf'));

/** Guest-physical addresses the tests use in every domain (4 MiB of RAM from 0x8000_0000). */
export const OPS = 0x8030_0000;      // op arrays
export const LIST = 0x8031_0000;     // setup_table frame lists
export const DATA = 0x8020_0000;     // pages to grant (DATA + i * 4096)
export const HOLE = 0x9000_0000;     // unpopulated GFNs to map grants at (HOLE + i * 4096)

export function makeHost(opts: GrantTablesOptions = {}) {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: 1, memoryMiB: 128, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const log: string[] = [];
  const host = new Host({ container: buildContainer(config, reg), console: () => {} });
  const gnt = GrantTables.attach(host, { log: (l) => log.push(l), ...opts });
  return { host, gnt, log };
}

export function domain(host: Host, name: string): Domain<Vcpu> {
  return host.createDomain({ name, image: HELLO, memoryMiB: 4, paused: true });
}

export function hc(host: Host, d: Domain<Vcpu>, cmd: number, uop: number, count: number): number {
  return host.hypercalls.dispatch(d.vcpus[0]!, Hypercall.grant_table_op, { a0: cmd, a1: uop, a2: count, a3: 0, a4: 0, a5: 0 });
}

const s16 = (v: number) => (v << 16) >> 16;

/** setup_table(dom, nr) through the guest: { rc, status, gfns }. */
export function setupTable(host: Host, d: Domain<Vcpu>, dom: number, nr: number) {
  const a = d.access;
  a.write(OPS, new Uint8Array(GnttabSetupTable.size));
  a.writeU16(OPS + GnttabSetupTable.dom.offset, dom);
  a.writeU32(OPS + GnttabSetupTable.nr_frames.offset, nr);
  a.writeU64(OPS + GnttabSetupTable.frame_list.offset, LIST);
  const rc = hc(host, d, GnttabOp.setup_table, OPS, 1);
  const gfns: number[] = [];
  for (let i = 0; i < nr; i++) gfns.push(a.readU64(LIST + i * 8));
  return { rc, status: s16(a.readU16(OPS + GnttabSetupTable.status.offset)), gfns };
}

export function querySize(host: Host, d: Domain<Vcpu>, dom: number) {
  const a = d.access;
  a.write(OPS, new Uint8Array(GnttabQuerySize.size));
  a.writeU16(OPS, dom);
  const rc = hc(host, d, GnttabOp.query_size, OPS, 1);
  return { rc, nr: a.readU32(OPS + 4), max: a.readU32(OPS + 8), status: s16(a.readU16(OPS + 12)) };
}

/** The granter writes entry `ref` in its own grant-table frames, through its own memory. */
export function grant(host: Host, granter: Domain<Vcpu>, ref: number, to: number, gfn: number, flags = GTF_permit_access, readonly = false) {
  const gpa = 0x7f00_0000 + ref * 8;
  granter.access.writeU16(gpa + 2, to);
  granter.access.writeU32(gpa + 4, gfn);
  granter.access.writeU16(gpa, flags | (readonly ? GTF_readonly : 0));
}
export function entryFlags(granter: Domain<Vcpu>, ref: number): number {
  return granter.access.readU16(0x7f00_0000 + ref * 8);
}

export interface MapOp { hostAddr: number; flags: number; ref: number; dom: number }
export interface MapResult { status: number; handle: number; devBusAddr: number }

export function mapOps(host: Host, d: Domain<Vcpu>, ops: MapOp[], at = OPS): { rc: number; res: MapResult[] } {
  const a = d.access, L = GnttabMapGrantRef;
  ops.forEach((op, i) => {
    const b = at + i * L.size;
    a.write(b, new Uint8Array(L.size));
    a.writeU64(b + L.host_addr.offset, op.hostAddr);
    a.writeU32(b + L.flags.offset, op.flags);
    a.writeU32(b + L.ref.offset, op.ref);
    a.writeU16(b + L.dom.offset, op.dom);
    a.writeU16(b + L.status.offset, 0x7777);
  });
  const rc = hc(host, d, GnttabOp.map_grant_ref, at, ops.length);
  const res = ops.map((_, i) => {
    const b = at + i * L.size;
    return { status: s16(a.readU16(b + L.status.offset)), handle: a.readU32(b + L.handle.offset), devBusAddr: a.readU64(b + L.dev_bus_addr.offset) };
  });
  return { rc, res };
}
export const map1 = (host: Host, d: Domain<Vcpu>, op: MapOp) => mapOps(host, d, [op]).res[0]!;

export function unmapOps(host: Host, d: Domain<Vcpu>, ops: { hostAddr: number; handle: number }[]): { rc: number; status: number[] } {
  const a = d.access, L = GnttabUnmapGrantRef;
  ops.forEach((op, i) => {
    const b = OPS + i * L.size;
    a.write(b, new Uint8Array(L.size));
    a.writeU64(b + L.host_addr.offset, op.hostAddr);
    a.writeU32(b + L.handle.offset, op.handle);
    a.writeU16(b + L.status.offset, 0x7777);
  });
  const rc = hc(host, d, GnttabOp.unmap_grant_ref, OPS, ops.length);
  return { rc, status: ops.map((_, i) => s16(a.readU16(OPS + i * L.size + L.status.offset))) };
}
export const unmap1 = (host: Host, d: Domain<Vcpu>, hostAddr: number, handle: number) => unmapOps(host, d, [{ hostAddr, handle }]).status[0]!;

export interface CopyOpIn {
  src: { u: number; domid: number; offset: number };
  dst: { u: number; domid: number; offset: number };
  len: number;
  flags: number;
}
export function copyOps(host: Host, d: Domain<Vcpu>, ops: CopyOpIn[]): { rc: number; status: number[] } {
  const a = d.access, L = GnttabCopy;
  ops.forEach((op, i) => {
    const b = OPS + i * L.size;
    a.write(b, new Uint8Array(L.size));
    a.writeU64(b + L.source_u.offset, op.src.u);
    a.writeU16(b + L.source_domid.offset, op.src.domid);
    a.writeU16(b + L.source_offset.offset, op.src.offset);
    a.writeU64(b + L.dest_u.offset, op.dst.u);
    a.writeU16(b + L.dest_domid.offset, op.dst.domid);
    a.writeU16(b + L.dest_offset.offset, op.dst.offset);
    a.writeU16(b + L.len.offset, op.len);
    a.writeU16(b + L.flags.offset, op.flags);
    a.writeU16(b + L.status.offset, 0x7777);
  });
  const rc = hc(host, d, GnttabOp.copy, OPS, ops.length);
  return { rc, status: ops.map((_, i) => s16(a.readU16(OPS + i * L.size + L.status.offset))) };
}

export const gfnOf = (gpa: number) => gpa / PAGE_SIZE;
export const text = (s: string) => new TextEncoder().encode(s);
