// allocDomainRing / publishDomainRing: the per-domain service ring set-up xenstored (@tachyxx/xenstore)
// and xenconsoled (@tachyxx/xenbus) share: a special page, an unbound port for dom0, start_info.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { GUEST_RAM_BASE, PAGE_SIZE, StartInfo } from '@tachyxx/abi';
import { PluginRegistry, buildContainer, hostConfigFromObject } from '@tachyxx/core';
import { ISA_PLUGINS } from '@tachyxx/isa';
import { MMU_PLUGINS } from '@tachyxx/mmu';
import { schedPlugins } from '@tachyxx/sched';
import { Host, allocDomainRing, publishDomainRing, type UnboundPortAllocator } from '@tachyxx/hypervisor';

const ROOT = resolvePath(import.meta.dirname, '../../..');
const image = (name: string) => readFileSync(join(ROOT, 'guests/build', `${name}.elf`));

function setup() {
  const reg = new PluginRegistry([...ISA_PLUGINS, ...MMU_PLUGINS, ...schedPlugins]);
  const config = hostConfigFromObject({ pcpus: 1, memoryMiB: 64, components: { isa: 'tachy-v1', mmu: 'tagged', sched: 'credit' } }, reg);
  const host = new Host({ container: buildContainer(config, reg), console: () => {}, log: () => {} });
  const d = host.createDomain({ name: 'g', image: image('hello'), memoryMiB: 8, paused: true });
  const calls: [number, number][] = [];
  const ports = (result: number): UnboundPortAllocator => ({
    allocUnbound: (domid, remote) => {
      calls.push([domid, remote]);
      return result;
    },
  });
  return { host, d, calls, ports };
}

describe('allocDomainRing / publishDomainRing', () => {
  it('maps the page into the domain, asks for a port of the domain that dom0 may bind, publishes GFN and port in start_info', () => {
    const { host, d, calls, ports } = setup();
    const gpa = d.sharedInfoGpa + 3 * PAGE_SIZE;
    const slot = allocDomainRing(host, ports(7), d, gpa);
    expect(slot).toEqual({ gfn: gpa / PAGE_SIZE, guestPort: 7 });
    expect(calls).toEqual([[d.domid, 0]]);
    // the page is the domain's now: a write through its P2M lands and reads back
    expect(d.access.write(gpa, Uint8Array.of(0xa5))).toBeGreaterThanOrEqual(0);
    const back = new Uint8Array(1);
    d.access.read(gpa, back);
    expect(back[0]).toBe(0xa5);
    publishDomainRing(d, slot!, { mfn: StartInfo.console_mfn.offset, evtchn: StartInfo.console_evtchn.offset });
    expect(d.access.readU64(d.startInfoGpa + StartInfo.console_mfn.offset)).toBe(gpa / PAGE_SIZE);
    expect(d.access.readU32(d.startInfoGpa + StartInfo.console_evtchn.offset)).toBe(7);
  });

  it('null (nothing published, no port taken) for a GPA below guest RAM; null when no port is left', () => {
    const { host, d, calls, ports } = setup();
    expect(allocDomainRing(host, ports(7), d, GUEST_RAM_BASE - PAGE_SIZE)).toBeNull();
    expect(calls).toEqual([]);
    expect(allocDomainRing(host, ports(-28), d, d.sharedInfoGpa + 3 * PAGE_SIZE)).toBeNull();
  });
});
