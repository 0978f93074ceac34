// pv-blk durability (issue 11 §4): a host process whose in-process frontend writes numbered
// batches of blocks, each followed by FLUSH_DISKCACHE, printing `acked N` after the flush's OKAY;
// it is killed with SIGKILL at random moments (several runs). Every block of every acknowledged
// batch must be in the image afterwards (a block may hold a later batch: the writer wraps).
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIXTURE = join(import.meta.dirname, 'fixtures/pvblk-writer.mjs');
const built = existsSync(join(import.meta.dirname, '../../packages/pv-blk/dist/index.js'));
const BLOCKS = 8;
const SLOTS = 256; // 1 MiB image of 4 KiB slots

function runAndKill(img: string, killAfterAcks: number): Promise<{ acked: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, img], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let acked = 0;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = [...out.matchAll(/acked (\d+)/g)];
      if (m.length) acked = Number(m[m.length - 1]![1]);
      if (acked >= killAfterAcks && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('error', reject);
    child.on('exit', () => resolve({ acked, out }));
  });
}

describe.skipIf(!built)('pv-blk: SIGKILL of the host', () => {
  it('every block of every acknowledged flush batch is in the image after a kill at a random moment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pvblk-kill-'));
    let seed = 0x5eed;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
    for (let run = 0; run < 4; run++) {
      const img = join(dir, `d${run}.img`);
      writeFileSync(img, Buffer.alloc(SLOTS * 4096));
      const { acked, out } = await runAndKill(img, 5 + rnd(60));
      expect(out).not.toMatch(/FAIL|Error/);
      expect(acked).toBeGreaterThan(0);
      const data = readFileSync(img);
      // Batches overwrite slot (n * BLOCKS + k) % SLOTS; the newest batch <= acked that wrote a
      // slot must be there, or a later (unacknowledged) one.
      let bad = 0;
      for (let n = Math.max(1, acked - SLOTS / BLOCKS + 1); n <= acked; n++) {
        for (let k = 0; k < BLOCKS; k++) {
          const off = ((n * BLOCKS + k) % SLOTS) * 4096;
          const b = data.readUInt32LE(off), kk = data.readUInt32LE(off + 4);
          if (b < n || kk !== k || data.readUInt32LE(off + 4088) !== b) bad++;
        }
      }
      expect(bad, `run ${run}: acked ${acked}`).toBe(0);
    }
  }, 120_000);
});
