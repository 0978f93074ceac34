#!/usr/bin/env node
// `pnpm demo`: (1) two guests bare on the Tachyxx CPU through the real `tachyxx` CLI, then (2) a
// Tachyxx host daemon with the real `xl`: create the example domains from examples/*.cfg, list
// them, their consoles, vcpu-list, a domain with a virtual disk (blkcheck over a raw image),
// two domains pinging each other over xenbr0, the credit scheduler, shut everything down and stop
// the host; (3) a host with the SR-IOV NIC: a VF domain pings a PV-net domain through the PF's uplink.
// Every command is echoed like a terminal session. The host runs on a temporary socket and is
// stopped on every way out (errors and Ctrl-C included).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tachyxx = join(root, 'apps/runner/dist/cli.js');
const xlCli = join(root, 'apps/xl/dist/cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'tachyxx-demo-'));
const socket = join(tmp, 'host.sock');
const logDir = join(tmp, 'log');
const env = { ...process.env, TACHYXX_HOST: socket };
const t0 = performance.now();
let failed = 0;
let hostPid = null;

const indent = (s) => s.replace(/\n$/, '').split('\n').map((l) => `  ${l}`).join('\n') + '\n';
function show(cmd, p) {
  if (p.stdout) process.stdout.write(p.stdout);
  if (p.status !== 0) console.log(`  (exit status ${p.status})`);
}
/** Runs `tachyxx ARGS` or `xl ARGS` as a process, echoing it like a shell session. */
function run(tool, args, { expect = 0, capture = false } = {}) {
  console.log(`$ ${tool} ${args.join(' ')}`);
  // Inherited stdio keeps stdout and stderr in the order the command wrote them.
  const p = spawnSync(process.execPath, [tool === 'xl' ? xlCli : tachyxx, ...args], {
    cwd: root, env, encoding: 'utf8', timeout: 30_000, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
  });
  if (capture) show(tool, p);
  else if (p.status !== 0) console.log(`  (exit status ${p.status})`);
  if (p.status !== expect) {
    failed++;
    console.log(`  !! expected exit status ${expect}`);
  }
  return p;
}
const xl = (...args) => run('xl', args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stopHost() {
  if (hostPid === null) return;
  try {
    process.kill(hostPid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  hostPid = null;
}
process.on('exit', () => {
  stopHost();
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

// ---- 1. bare ----------------------------------------------------------------------------------
console.log('### 1. Guests bare on the Tachyxx CPU (no hypervisor)\n');
for (const r of [
  { image: 'guests/build/hello.elf', args: [] },
  { image: 'guests/build/priv.elf', args: ['--isa', 'legacy-silent'], note: 'the privileged-architecture test under the legacy-silent ISA variant' },
]) {
  if (!existsSync(join(root, r.image))) {
    console.log(`${r.image} is missing (run 'pnpm guests' to build it)`);
    failed++;
    continue;
  }
  if (r.note) console.log(`# ${r.note}`);
  const stats = join(tmp, 'stats.json');
  const p = run('tachyxx', ['run', '--bare', r.image, '--stats', stats, ...r.args]);
  if (p.status === 0 && existsSync(stats)) {
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    console.log(`# ${s.instructions.toLocaleString('en')} instructions, ${(s.simNs / 1e6).toFixed(3)} ms simulated, ${s.wallSeconds.toFixed(3)} s wall, ${s.mips.toFixed(1)} MIPS\n`);
  }
}

// ---- 2. a host and xl -------------------------------------------------------------------------
console.log('### 2. A Tachyxx host and xl: domains from examples/*.cfg\n');
console.log(`$ export TACHYXX_HOST=${socket}`);
try {
  const p = run('tachyxx', ['host', '--detach', '--log-dir', logDir], { capture: true });
  const m = /^(\d+) /.exec(p.stdout ?? '');
  if (p.status !== 0 || !m) throw new Error('the host did not start');
  hostPid = Number(m[1]);
  console.log();

  xl('info', 'total_memory');
  xl('info', 'free_memory');
  console.log('\n# create -c attaches the console and returns when the domain is gone (hello powers off)');
  xl('create', '-c', 'examples/hello.cfg');
  console.log('\n# a domain that never stops (capped at 50% of a pCPU), one left paused (-p), two short ones');
  xl('create', 'examples/spin.cfg');
  xl('create', '-p', 'examples/vcpus.cfg');
  xl('create', 'examples/timer.cfg');
  xl('create', 'examples/crash-preserve.cfg');
  await sleep(300);
  console.log();
  xl('list');
  console.log();
  xl('vcpu-list');

  console.log('\n# attach to the paused vcpus domain in the background, then let it run');
  console.log('$ xl console vcpus &');
  const bg = spawn(process.execPath, [xlCli, 'console', 'vcpus'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let bgOut = '';
  bg.stdout.on('data', (d) => (bgOut += d));
  bg.stderr.on('data', (d) => (bgOut += d));
  const bgDone = new Promise((res) => bg.on('exit', res));
  await sleep(250);
  xl('unpause', 'vcpus');
  let timer;
  const code = await Promise.race([bgDone, new Promise((res) => (timer = setTimeout(() => res('timeout'), 15_000)))]);
  clearTimeout(timer);
  process.stdout.write(bgOut);
  if (code !== 0) {
    failed++;
    console.log(`  !! xl console vcpus: ${code === 'timeout' ? 'did not return' : `exit status ${code}`}`);
    bg.kill();
  }

  console.log('\n# the minikernel: three PL3 tasks with their own address spaces');
  xl('create', '-c', 'examples/minikernel.cfg');

  console.log('\n# a virtual disk: blkcheck writes, flushes and verifies an 8 MiB raw image through dom0\'s blkback');
  {
    const img = join(tmp, 'blkcheck.img');
    writeFileSync(img, '');
    truncateSync(img, 8 << 20); // sparse, as `truncate -s 8M`
    const cfg = join(tmp, 'blkcheck.cfg');
    writeFileSync(cfg, readFileSync(join(root, 'examples/blkcheck.cfg'), 'utf8')
      .replace(/^kernel = .*$/m, `kernel = "${join(root, 'guests/build/blkcheck.elf')}"`)
      .replace(/^disk = .*$/m, `disk = [ '${img},raw,xvda,w' ]`));
    console.log(`$ truncate -s 8M ${img}   # examples/blkcheck.cfg with this image as its disk`);
    const p = run('xl', ['create', '-c', cfg], { capture: true });
    if (!/blkcheck: ok/.test(p.stdout ?? '')) {
      failed++;
      console.log('  !! blkcheck did not print "blkcheck: ok"');
    }
  }

  console.log('\n# networking: two domains on the bridge xenbr0 (vif = [...]) ping each other and power off');
  xl('create', 'examples/ping-b.cfg');
  xl('create', '-c', 'examples/ping-a.cfg');
  {
    const f = join(logDir, 'guest-ping-b.log');
    for (let i = 0; i < 200 && !(existsSync(f) && /answered \d+ echo requests/.test(readFileSync(f, 'utf8'))); i++) await sleep(50);
    console.log('$ cat $LOG_DIR/guest-ping-b.log');
    const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
    process.stdout.write(text);
    if (!text.includes('4 packets transmitted, 4 received, 0% packet loss')) {
      failed++;
      console.log('  !! ping-b did not get its 4 replies');
    }
  }

  console.log("\n# consoles are logged by the host: the timer guest's and the crashed guest's");
  for (const name of ['timer', 'crash']) {
    const f = join(logDir, `guest-${name}.log`);
    console.log(`$ cat $LOG_DIR/guest-${name}.log`);
    if (existsSync(f)) process.stdout.write(readFileSync(f, 'utf8'));
    else {
      failed++;
      console.log(`  !! ${f} is missing`);
    }
  }

  console.log('\n# the credit scheduler: give spin more weight and a lower cap');
  xl('sched-credit', '-d', 'spin', '-w', '512', '-c', '25');
  xl('sched-credit');
  console.log();
  xl('list');

  console.log('\n# shut every running domain down and wait; the crashed one was preserved: destroy it');
  xl('shutdown', '-w', '-a');
  xl('destroy', 'crash');
  xl('list');
  console.log();
} catch (e) {
  failed++;
  console.log(`!! demo failed: ${e instanceof Error ? e.message : String(e)}`);
  const out = join(logDir, 'host.out');
  if (existsSync(out)) process.stdout.write(indent(readFileSync(out, 'utf8')));
} finally {
  if (hostPid !== null) {
    console.log(`$ kill ${hostPid}   # stop the host`);
    const pid = hostPid;
    stopHost();
    for (let i = 0; i < 100 && existsSync(socket); i++) await sleep(20);
    try {
      process.kill(pid, 0);
      await sleep(200);
      process.kill(pid, 'SIGKILL');
    } catch {
      /* stopped */
    }
    const out = join(logDir, 'host.out');
    if (existsSync(out)) process.stdout.write(readFileSync(out, 'utf8'));
  }
}
// ---- 3. SR-IOV: a VF domain next to a PV-net domain ---------------------------------------------
console.log('### 3. An SR-IOV NIC: a VF passed through to a domain, a PV-net domain on the same bridge\n');
{
  const socket2 = join(tmp, 'sriov.sock');
  const logDir2 = join(tmp, 'log-sriov');
  env.TACHYXX_HOST = socket2;
  console.log(`$ export TACHYXX_HOST=${socket2}`);
  try {
    const p = run('tachyxx', ['host', '--detach', '--config', 'examples/host-sriov.yaml', '--log-dir', logDir2], { capture: true });
    const m = /^(\d+) /.exec(p.stdout ?? '');
    if (p.status !== 0 || !m) throw new Error('the SR-IOV host did not start');
    hostPid = Number(m[1]);
    console.log('\n# dom0\'s PF driver enabled 8 VFs at boot (sriov-nic: { numvfs: 8 }); their MACs, VLANs, rates and links');
    xl('pci-sriov-list');
    xl('pci-sriov-vf', '01:00.0', '2', 'vlan', '7');
    xl('pci-assignable-add', '01:10.0');
    console.log('\n# a PV-net domain (udpecho on xenbr0), then a VF domain (ping over the C VF driver) pinging it through the PF uplink');
    xl('create', 'examples/sriov-pv.cfg');
    const r = run('xl', ['create', '-c', 'examples/sriov-vf.cfg'], { capture: true });
    if (!(r.stdout ?? '').includes('4 packets transmitted, 4 received, 0% packet loss')) {
      failed++;
      console.log('  !! sriov-vf did not get its 4 replies');
    }
    xl('pci-sriov-list', '01:00.0');
    xl('destroy', 'sriov-pv');
  } catch (e) {
    failed++;
    console.log(`!! SR-IOV demo failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    if (hostPid !== null) {
      console.log(`$ kill ${hostPid}   # stop the host`);
      const pid = hostPid;
      stopHost();
      for (let i = 0; i < 100 && existsSync(socket2); i++) await sleep(20);
      try {
        process.kill(pid, 0);
        await sleep(200);
        process.kill(pid, 'SIGKILL');
      } catch {
        /* stopped */
      }
    }
  }
}
console.log(`\n${failed ? `demo: ${failed} step(s) failed` : 'demo: all steps succeeded'} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
process.exitCode = failed ? 1 : 0;
