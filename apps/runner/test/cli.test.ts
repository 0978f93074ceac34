import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tachyxx, GUEST, tmp } from './helpers.js';

describe('tachyxx CLI', () => {
  it('prints help for the program and for run, exit 0', () => {
    const a = tachyxx('--help');
    expect(a.status).toBe(0);
    expect(a.stdout).toMatch(/Usage: tachyxx <command>/);
    const b = tachyxx('run', '--help');
    expect(b.status).toBe(0);
    expect(b.stdout).toMatch(/--max-insns N/);
    expect(b.stdout).toMatch(/tachy-v1 \| legacy-silent/);
  });

  it('rejects bad usage with exit 2 and one line naming the problem', () => {
    for (const [args, msg] of [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['run'], /missing --bare IMAGE/],
      [['run', '--bare', GUEST('hello'), '--memory', 'lots'], /--memory: 'lots' is not a non-negative integer/],
      [['run', '--bare', GUEST('hello'), '--memory', '-5'], /--memory: '-5' is not a non-negative integer/],
      [['run', '--bare', GUEST('hello'), '--max-insns', '-1'], /--max-insns: '-1' is not a non-negative integer/],
      [['run', '--bare', GUEST('hello'), '--memory', '8192'], /--memory: 8192 is out of range 1..4096/],
      [['run', '--bare', GUEST('hello'), '--isa', 'pentium'], /unknown variant 'pentium' \(known: tachy-v1, legacy-silent\)/],
      [['run', '--bare', GUEST('hello'), '--frob'], /Unknown option '--frob'/],
    ] as const) {
      const r = tachyxx(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });

  it('rejects a bad image with exit 2 and a one-line error, never a stack trace', () => {
    const d = tmp();
    const empty = join(d, 'empty.elf');
    writeFileSync(empty, '');
    const notElf = join(d, 'text.elf');
    writeFileSync(notElf, 'hello world, not an ELF file at all........................................');
    for (const f of [empty, notElf, join(d, 'missing.elf')]) {
      const r = tachyxx('run', '--bare', f);
      expect(r.status, f).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(f.split('/').pop()!);
    }
  });

  it('boots hello: console on stdout only, exit 0, stats JSON with the required fields', () => {
    const stats = join(tmp(), 's.json');
    const r = tachyxx('run', '--bare', GUEST('hello'), '--stats', stats);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/Hello from Tachyxx/);
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    for (const k of ['instructions', 'simCycles', 'simNs', 'wallSeconds', 'mips', 'exit', 'traps', 'hypercalls']) expect(s).toHaveProperty(k);
    expect(s.exit).toEqual({ reason: 'poweroff', code: 0 });
    expect(s.instructions).toBeGreaterThan(100);
    expect(s.hypercalls.console_io).toBeGreaterThan(0);
    expect(s.hypercalls.sched_op).toBe(1);
    expect(s.traps.ecall_from_pl2).toBe(s.hypercalls.console_io + s.hypercalls.sched_op);
  });

  it('is deterministic: two runs give identical stats apart from wall-clock fields', () => {
    const d = tmp();
    const run = (n: string) => {
      const f = join(d, n);
      expect(tachyxx('run', '--bare', GUEST('isa-tests'), '--stats', f).status).toBe(0);
      const s = JSON.parse(readFileSync(f, 'utf8'));
      delete s.wallSeconds;
      delete s.mips;
      return s;
    };
    expect(run('a.json')).toEqual(run('b.json'));
  });

  it('--max-insns N stops after exactly N instructions with exit 1', () => {
    const stats = join(tmp(), 's.json');
    for (const n of [1, 17, 1000, 12345]) {
      const r = tachyxx('run', '--bare', GUEST('isa-tests'), '--max-insns', String(n), '--stats', stats);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`stopped after --max-insns ${n} instructions`));
      const s = JSON.parse(readFileSync(stats, 'utf8'));
      expect(s.instructions).toBe(n);
      expect(s.exit.reason).toBe('insn-limit');
    }
  });

  it('--trace writes one line per retired instruction with its disassembly', () => {
    const d = tmp();
    const trace = join(d, 't.txt'), stats = join(d, 's.json');
    expect(tachyxx('run', '--bare', GUEST('hello'), '--trace', trace, '--stats', stats).status).toBe(0);
    const lines = readFileSync(trace, 'utf8').trim().split('\n');
    const s = JSON.parse(readFileSync(stats, 'utf8'));
    expect(lines.length).toBe(s.instructions);
    expect(lines[0]).toMatch(/80000000/);
  });

  it('exits 1 with the reason when the guest crashes', () => {
    const r = tachyxx('run', '--bare', GUEST('crash'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/crash/);
  });
});

describe('tachyxx run: fatal conditions', () => {
  it('reports a fatal trap with cause, pc and disassembly, exit 1', () => {
    const r = tachyxx('run', '--bare', GUEST('badinsn'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('badinsn: executing an illegal instruction\n');
    expect(r.stderr).toMatch(/fatal trap: illegal_instruction \(cause 2\) at pc 0x8[0-9a-f]+ \(unimp\), stval 0xffffffff, delegated to PL2 which has no trap vector/);
  });

  it('stops a wfi that nothing can wake with a deadlock error, exit 1', () => {
    const r = tachyxx('run', '--bare', GUEST('deadlock'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/deadlock: wfi at pc 0x8[0-9a-f]+/);
  });

  it('ends a domain whose wfi nothing can wake as a deadlock too, though its periodic timer ticks', () => {
    const t0 = Date.now();
    const r = tachyxx('run', '--domain', GUEST('deadlock'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tachyxx: deadlock: every vCPU is blocked and nothing can wake them/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('runs self-modifying code correctly with and without fence.i', () => {
    const r = tachyxx('run', '--bare', GUEST('selfmod'));
    expect(r.status).toBe(0);
    for (const line of r.stdout.trim().split('\n')) {
      const m = line.match(/= (-?\d+) \(expect (-?\d+)\)/);
      expect(m, line).not.toBeNull();
      expect(m![1], line).toBe(m![2]);
    }
    expect(r.stdout.trim().split('\n')).toHaveLength(5);
  });

  it('gives the same console output under both ISA variants for unprivileged programs', () => {
    const a = tachyxx('run', '--bare', GUEST('isa-tests'));
    const b = tachyxx('run', '--bare', GUEST('isa-tests'), '--isa', 'legacy-silent');
    expect(a.status).toBe(0);
    expect(b.stdout).toBe(a.stdout);
  });

  it('boots a large sparse machine cheaply: --memory 4096 for a small program', () => {
    const stats = join(tmp(), 's.json');
    const r = tachyxx('run', '--bare', GUEST('hello'), '--memory', '4096', '--stats', stats);
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(stats, 'utf8')).exit.reason).toBe('poweroff');
  });
});
