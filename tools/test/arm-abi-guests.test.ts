// Issue 10 section 1 / 4: guests that use only Xen on Arm's paths, as domains.
// - armabi: xen_version, HVMOP_get_param for xenstore and the console (agreeing with start_info),
//   XENMEM_add_to_physmap(shared_info) into its own image, VCPUOP_register_vcpu_info on 4 vCPUs,
//   a runstate area, and one IPI event per vCPU through the 2-level ABI in the Arm layout,
//   received on that vCPU.
// - pollmask: SCHEDOP_poll with a pending upcall the guest masks waits for its timeout instead of
//   returning at once (before the fix the 200 ms loop made millions of polls): one round masked
//   by sstatus.SIE, one by sie.SEIE alone (interrupts on). That an unmasked pending upcall does
//   end the poll early is packages/hypervisor/test/arm-calls.test.ts (a guest would take it).
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'apps/runner/dist/cli.js');
const hasRunner = existsSync(CLI);
if (!hasRunner) console.warn(`arm-abi-guests: ${CLI} is missing (run 'pnpm build') - every test here is SKIPPED`);

function run(...args: string[]) {
  const stats = join(mkdtempSync(join(tmpdir(), 'tx-armabi-')), 'stats.json');
  const r = spawnSync(process.execPath, [CLI, 'run', ...args, '--stats', stats], { cwd: ROOT, encoding: 'latin1', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', stats: r.status === null ? null : JSON.parse(readFileSync(stats, 'utf8')) };
}

describe.skipIf(!hasRunner)('an Arm-style guest as a domain', () => {
  it('armabi: finds xenstore/console by hvm params, maps shared_info, registers vcpu_info on 4 vCPUs and gets one event on each', () => {
    const r = run('--domain', 'guests/build/armabi.elf', '--vcpus', '4');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'guests/armabi/expected-domain.txt'), 'latin1'));
    expect(r.stdout).toContain('armabi: events by vCPU: 1 1 1 1 (wrong vCPU or port: 0, failures 0)');
    expect(r.status).toBe(0);
    expect(r.stats.tree.host.hypervisor.hypercalls).toMatchObject({ xen_version: 4, hvm_op: 4 });
    expect(r.stats.domains.armabi.shutdown).toBe('poweroff');
  });

  it('armabi bare: xen_version is -ENOSYS under the PL0 firmware', () => {
    const r = run('--bare', 'guests/build/armabi.elf');
    expect(r.stdout).toBe('armabi: bare\n');
    expect(r.status).toBe(0);
  });

  it('pollmask: a masked pending upcall does not end SCHEDOP_poll early, masked by sstatus.SIE or by sie.SEIE alone (about 200 polls per 200 ms round, not millions)', () => {
    const r = run('--domain', 'guests/build/pollmask.elf');
    expect(r.stdout).toBe(readFileSync(join(ROOT, 'guests/pollmask/expected-domain.txt'), 'latin1'));
    expect(r.stdout).toContain('pollmask: sie.SEIE off: upcall pending 1, sstatus.SIE 1, sie.SEIE 0\n');
    expect(r.stdout).toContain('pollmask: sie.SEIE off: <= 250 polls in 200 ms (one per 1 ms timeout: yes), errors 0, upcall still pending 1\n');
    expect(r.status).toBe(0);
    // two rounds of 150-250 polls (+ one block)
    expect(r.stats.tree.host.hypervisor.hypercalls.sched_op).toBeGreaterThan(300);
    expect(r.stats.tree.host.hypervisor.hypercalls.sched_op).toBeLessThan(510);
  });
});
