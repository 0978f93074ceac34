#!/usr/bin/env node
// `tachyxx`: the headless Tachyxx runner. Guest console bytes go to stdout and nothing else does;
// diagnostics go to stderr. Exit status: 0 guest powered off, 1 guest crashed / fatal trap /
// instruction limit, 2 bad usage or bad image.
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tachyxx: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
