#!/usr/bin/env node
// `xl`: the Tachyxx toolstack. Exit status: 0 success, 1 failure (an xl-style one-line error on
// stderr), 2 bad usage; 70 for an internal error (a bug: the stack trace is printed).
// The build bundles this file with everything it imports into dist/cli.js (tools/bundle-cli.mjs),
// so that xl starts in one module load.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`xl: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
