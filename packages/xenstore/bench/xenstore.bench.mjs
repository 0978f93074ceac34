// xenstore benchmarks: operations per second in process, over the Unix socket with pipelined
// requests, and Debian xenstore-utils round trips (one process per call) for comparison.
// Run after `pnpm build`: node packages/xenstore/bench/xenstore.bench.mjs [--json FILE]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Xenstored, connectLocal, XsSocketServer, encodeMessage, nulStrings } from '../dist/index.js';

const rows = [];
const rate = (name, n, ms, note = '') => rows.push({ benchmark: name, ops: n, ms: +ms.toFixed(1), 'ops/s': Math.round((n * 1000) / ms), note });
const time = (fn) => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};

// ---- in process ----
{
  const xs = new Xenstored();
  const c = connectLocal(xs, 0);
  const N = 100_000;
  for (let i = 0; i < 100; i++) c.write(`/bench/k${i}`, 'warm');
  rate('in-process WRITE (100 keys)', N, time(() => { for (let i = 0; i < N; i++) c.write(`/bench/k${i % 100}`, 'value'); }));
  rate('in-process READ', N, time(() => { for (let i = 0; i < N; i++) c.read(`/bench/k${i % 100}`); }));
  rate('in-process DIRECTORY (100 children)', N / 10, time(() => { for (let i = 0; i < N / 10; i++) c.directory('/bench'); }));
  rate('in-process READ ENOENT', N, time(() => { for (let i = 0; i < N; i++) c.tryRead('/bench/none'); }));
  const w = connectLocal(xs, 0);
  w.conn.onEvent = () => {};
  for (let i = 0; i < 10; i++) w.watch('/bench', `t${i}`);
  rate('in-process WRITE, 10 watches firing', N, time(() => { for (let i = 0; i < N; i++) c.write(`/bench/k${i % 100}`, 'v'); }));
  const T = 20_000;
  rate('in-process transaction (start, 3 writes, commit)', T, time(() => {
    for (let i = 0; i < T; i++) {
      const tx = c.transactionStart();
      c.write(`/tx/${i % 50}/a`, 'x', tx);
      c.write(`/tx/${i % 50}/b`, 'y', tx);
      c.write(`/tx/${i % 50}/c`, 'z', tx);
      c.transactionEnd(tx);
    }
  }));
}

// ---- Unix socket, pipelined ----
const dir = mkdtempSync(join(tmpdir(), 'xs-bench-'));
const sock = join(dir, 'sock');
const xs = new Xenstored();
const server = new XsSocketServer(xs);
await server.listen(sock);
async function pipelined(label, makeMsg, total, depth) {
  const s = connect(sock);
  await new Promise((r) => s.once('connect', r));
  let received = 0;
  let sent = 0;
  let buf = Buffer.alloc(0);
  const t = performance.now();
  await new Promise((res) => {
    const sendBatch = () => {
      const parts = [];
      while (sent < total && sent - received < depth) parts.push(makeMsg(++sent));
      if (parts.length) s.write(Buffer.concat(parts));
    };
    s.on('data', (b) => {
      buf = buf.length ? Buffer.concat([buf, b]) : b;
      let off = 0;
      while (buf.length - off >= 16 && buf.length - off >= 16 + buf.readUInt32LE(off + 12)) {
        off += 16 + buf.readUInt32LE(off + 12);
        received++;
      }
      buf = buf.subarray(off);
      if (received === total) res();
      else sendBatch();
    });
    sendBatch();
  });
  rate(label, total, performance.now() - t, `depth ${depth}`);
  s.destroy();
}
const enc = new TextEncoder();
const writeMsg = (i) => encodeMessage(11, i, 0, enc.encode(`/sock/k${i % 100}\0value`));
const readMsg = (i) => encodeMessage(2, i, 0, nulStrings(`/sock/k${i % 100}`));
await pipelined('socket WRITE pipelined', writeMsg, 100_000, 256);
await pipelined('socket READ pipelined', readMsg, 100_000, 256);
await pipelined('socket READ one at a time', readMsg, 10_000, 1);

// ---- xenstore-utils round trips ----
if (existsSync('/usr/bin/xenstore-read')) {
  // The tools block, so run them against a separate xenstored process.
  await server.close();
  const { spawn } = await import('node:child_process');
  const cli = new URL('../../../apps/runner/dist/cli.js', import.meta.url).pathname;
  const d = spawn(process.execPath, [cli, 'xenstored', '--socket', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((r) => d.stderr.once('data', r));
  const env = { ...process.env, XENSTORED_PATH: sock };
  const N = 200;
  rate('xenstore-write (process per call)', N, time(() => { for (let i = 0; i < N; i++) spawnSync('/usr/bin/xenstore-write', [`/u/k${i % 10}`, 'v'], { env }); }), '1 transaction + write each');
  rate('xenstore-read (process per call)', N, time(() => { for (let i = 0; i < N; i++) spawnSync('/usr/bin/xenstore-read', [`/u/k${i % 10}`], { env }); }));
  d.kill('SIGTERM');
} else {
  console.warn('xenstore-utils not installed: skipping the real-client round trips');
  await server.close();
}

console.table(rows);
const j = process.argv.indexOf('--json');
if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify({ node: process.version, rows }, null, 2));
