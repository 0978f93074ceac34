// Write throughput of the standalone daemon (`tachyxx xenstored`) with and without --persist
// (every acknowledged write fsync'd to the log first, group commit per event-loop turn).
// Run after `pnpm build`: node packages/xenstore/bench/persist.bench.mjs [--seconds N]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');
const cli = join(root, 'apps/runner/dist/cli.js');
const secIdx = process.argv.indexOf('--seconds');
const SECONDS = secIdx > 0 ? Number(process.argv[secIdx + 1]) : 3;

async function daemon(args) {
  const p = spawn(process.execPath, [cli, 'xenstored', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise((res, rej) => {
    p.stderr.on('data', (b) => {
      err += b;
      if (err.includes('listening on')) res();
    });
    p.once('exit', (c) => rej(new Error(`exited ${c}: ${err}`)));
  });
  return p;
}

/** `conns` connections, each keeping `depth` WRITEs in flight, for SECONDS; returns acknowledged writes. */
async function load(sock, conns, depth) {
  let acked = 0;
  const end = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: conns }, (_, ci) => new Promise((res) => {
      const s = connect(sock);
      let buf = Buffer.alloc(0);
      let n = 0;
      let inflight = 0;
      const send = () => {
        while (inflight < depth && Date.now() < end) {
          const body = Buffer.from(`/bench/c${ci}/k${n++ % 1000}\0value-${n}`);
          const h = Buffer.alloc(16);
          h.writeUInt32LE(11, 0); // XS_WRITE
          h.writeUInt32LE(n, 4);
          h.writeUInt32LE(body.length, 12);
          s.write(Buffer.concat([h, body]));
          inflight++;
        }
        if (inflight === 0) {
          s.destroy();
          res();
        }
      };
      s.on('connect', send);
      s.on('data', (b) => {
        buf = Buffer.concat([buf, b]);
        while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(12)) {
          const len = buf.readUInt32LE(12);
          if (buf.readUInt32LE(0) === 11) acked++;
          buf = buf.subarray(16 + len);
          inflight--;
        }
        send();
      });
    })),
  );
  return acked;
}

const rows = [];
for (const persist of [false, true]) {
  for (const [conns, depth] of [[1, 1], [4, 32]]) {
    const dir = mkdtempSync(join(tmpdir(), 'tachyxx-xs-bench-'));
    const sock = join(dir, 'sock');
    const p = await daemon(['--socket', sock, ...(persist ? ['--persist', join(dir, 'xs.json')] : [])]);
    const acked = await load(sock, conns, depth);
    p.kill('SIGTERM');
    await new Promise((r) => p.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
    rows.push({ persist: persist ? 'yes (WAL + fdatasync)' : 'no', clients: conns, 'in flight each': depth, 'acked writes': acked, 'writes/s': Math.round(acked / SECONDS) });
  }
}
console.table(rows);
