// A real gdb against the stub (issue 16): Debian's gdb-multiarch in batch mode drives
// `tachyxx run --gdb` (bare and --domain). Skips with a visible reason when gdb-multiarch or the
// built runner is missing.
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const runnerCli = resolve(root, 'apps/runner/dist/cli.js');
const elf = (name: string) => resolve(root, 'guests/build', `${name}.elf`);

const hasGdb = spawnSync('gdb-multiarch', ['--version'], { stdio: 'ignore' }).status === 0;
const hasRunner = existsSync(runnerCli);
if (!hasGdb) console.warn('gdb-stub: gdb-multiarch not found (Debian: apt-get install -y gdb-multiarch) - the gdb sessions are SKIPPED');
if (!hasRunner) console.warn(`gdb-stub: ${runnerCli} not found (run pnpm build) - the gdb sessions are SKIPPED`);
const itGdb = hasGdb && hasRunner ? it : it.skip;

interface Run { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<number | null> }

/** Start the runner with --gdb-wait; resolves with the address gdb should use. */
async function startRunner(args: string[]): Promise<{ run: Run; address: string }> {
  const child = spawn(process.execPath, [runnerCli, 'run', ...args, '--gdb-wait'], { cwd: root });
  let out = '', err = '';
  child.stdout!.on('data', (b) => { out += b; });
  const address = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`runner did not announce the stub: ${err}`)), 20_000);
    child.stderr!.on('data', (b) => {
      err += b;
      const m = /target remote (\S+)'/.exec(err);
      if (m) { clearTimeout(t); res(m[1]!); }
    });
    child.on('exit', (c) => rej(new Error(`runner exited (${c}) before listening: ${err}`)));
  });
  const done = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { run: { child, stdout: () => out, stderr: () => err, done }, address };
}

let scripts = 0;

/** gdb-multiarch -batch with the given commands; returns its output (stdout + stderr). */
function gdb(image: string, address: string, cmds: string[]): Promise<string> {
  // a command file (not -ex): multi-line commands such as `while` need it
  const script = join(tmpdir(), `tachyxx-gdb-${process.pid}-${++scripts}.gdb`);
  writeFileSync(script, ['set pagination off', 'set confirm off', `target remote ${address}`, ...cmds, ''].join('\n'));
  const args = ['-q', '-nx', '-batch', image, '-x', script];
  return new Promise((res, rej) => {
    const g = spawn('gdb-multiarch', args, { cwd: root });
    let text = '';
    g.stdout.on('data', (b) => { text += b; });
    g.stderr.on('data', (b) => { text += b; });
    const t = setTimeout(() => { g.kill('SIGKILL'); rej(new Error(`gdb timed out:\n${text}`)); }, 120_000);
    g.on('exit', () => { clearTimeout(t); res(text); });
  });
}

async function finished(run: Run): Promise<number | null> {
  const t = setTimeout(() => run.child.kill('SIGKILL'), 60_000);
  const code = await run.done;
  clearTimeout(t);
  return code;
}

describe('gdb-multiarch against tachyxx run --gdb', () => {
  itGdb('bare gdbdemo: break by symbol, bt, registers, x/8gx, a store watchpoint, detach; the guest finishes normally', async () => {
    const { run, address } = await startRunner(['--bare', elf('gdbdemo'), '--gdb', '0']);
    const text = await gdb(elf('gdbdemo'), address, [
      'break square', 'continue', 'bt', 'info registers', 'p $pl', 'x/8gx $sp', 'p/x $sp',
      'delete', 'watch counter', 'continue', 'continue', 'delete', 'detach',
    ]);
    expect(text).toMatch(/Breakpoint 1, square \(x=1\) at \.\/guests\/gdbdemo\/gdbdemo\.c:12/);
    // the backtrace: square <- accumulate <- main
    expect(text).toMatch(/#0 +square \(x=1\)[^\n]*\n#1 +0x[0-9a-f]+ in accumulate \(n=3\)[^\n]*\n#2 +0x[0-9a-f]+ in main \(\)/);
    expect(text).toMatch(/^pc +0x8000[0-9a-f]{4}\s+0x8000[0-9a-f]{4} <square\+\d+>/m);
    expect(text).toMatch(/^sp +0x8fffff[0-9a-f]{2}/m);
    expect(text).toMatch(/^\$1 = 2$/m); // PL2
    const sp = /^\$2 = 0x([0-9a-f]+)$/m.exec(text)![1]!;
    // x/8gx $sp: four lines of two giant words starting at sp
    expect(text).toMatch(new RegExp(`^0x${sp}:\\s+0x[0-9a-f]{16}\\s+0x[0-9a-f]{16}$`, 'm'));
    expect(text.match(/^0x8fffff[0-9a-f]{2}:\s+0x[0-9a-f]{16}\s+0x[0-9a-f]{16}$/gm)).toHaveLength(4);
    // the watchpoint fires on the stores of 1 and then 1 + 4
    expect(text).toMatch(/Hardware watchpoint 2: counter\s+Old value = 0\s+New value = 1/);
    expect(text).toMatch(/Old value = 1\s+New value = 5/);
    expect(text).toMatch(/Inferior 1 \(Remote target\) detached/);
    expect(await finished(run)).toBe(0);
    expect(run.stdout()).toBe(readFileSync(resolve(root, 'guests/gdbdemo/expected.txt'), 'utf8'));
  });

  itGdb('bare minikernel: stepi over a PL3 ecall stops at the PL2 trap handler entry (user and kernel both debuggable)', async () => {
    const { run, address } = await startRunner(['--bare', elf('minikernel'), '--gdb', '0']);
    const text = await gdb(elf('minikernel'), address, [
      // the first user task starts at USER_CODE_VA 0x10000 (guests/minikernel/kernel.c) at PL3
      'break *0x10000', 'continue', 'p $pl', 'delete',
      // step (reading the user's code through its stage 1) up to its first ecall
      'while *(unsigned int *)$pc != 0x00000073\nstepi\nend',
      // gdb steps RISC-V in software (a breakpoint after the ecall): ask the stub to stop in the handler
      'p/x $pc', 'monitor catch-traps on', 'stepi', 'p $pl', 'p $pc == trap_entry', 'p $scause', 'p/x $sepc', 'detach',
    ]);
    expect(text).toMatch(/^\$1 = 3$/m); // stopped in user mode
    const ecallPc = /^\$2 = 0x([0-9a-f]+)$/m.exec(text)![1]!;
    expect(parseInt(ecallPc, 16)).toBeGreaterThanOrEqual(0x10000);
    expect(parseInt(ecallPc, 16)).toBeLessThan(0x20000);
    expect(text).toMatch(/^\$3 = 2$/m); // one stepi later: PL2
    expect(text).toMatch(/^\$4 = 1$/m); // at trap_entry
    expect(text).toMatch(/^\$5 = 8$/m); // scause: ecall from PL3
    expect(text).toMatch(new RegExp(`^\\$6 = 0x${ecallPc}$`, 'm')); // sepc: the ecall
    expect(await finished(run)).toBe(0);
    expect(run.stdout()).toBe(readFileSync(resolve(root, 'guests/minikernel/expected.txt'), 'utf8'));
  });

  itGdb('domain vcpus --vcpus 4: a breakpoint in secondary_main, info threads lists the 4 vCPUs; detach and it finishes', async () => {
    const sock = join(tmpdir(), `tachyxx-gdb-${process.pid}.sock`);
    const { run, address } = await startRunner(['--domain', elf('vcpus'), '--vcpus', '4', '--gdb', `unix:${sock}`]);
    expect(address).toBe(sock);
    const text = await gdb(elf('vcpus'), address, [
      'break secondary_main', 'continue', 'info threads', 'p $pl', 'delete', 'detach',
    ]);
    // vcpus is built without -g: gdb knows the symbol only (a secondary vCPU hits it)
    expect(text).toMatch(/Thread [234] hit Breakpoint 1, 0x[0-9a-f]+ in secondary_main \(\)/);
    for (let t = 1; t <= 4; t++) expect(text).toMatch(new RegExp(`^\\*? +${t} +Thread ${t} \\(vcpus vCPU ${t - 1} \\(d1v${t - 1}\\)`, 'm'));
    expect(text).toMatch(/^\$1 = 2$/m);
    expect(await finished(run)).toBe(0);
    expect(run.stdout()).toBe(readFileSync(resolve(root, 'guests/vcpus/expected-domain.txt'), 'utf8'));
    expect(existsSync(sock)).toBe(false); // the runner removed its socket
  });
});
