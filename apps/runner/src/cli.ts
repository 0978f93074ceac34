#!/usr/bin/env node
// `tachyxx`: the headless Tachyxx runner. Guest console bytes go to stdout and nothing else does;
// diagnostics go to stderr. Exit status: 0 guest powered off, 1 guest crashed / fatal trap /
// instruction limit, 2 bad usage or bad image.
//
// The build bundles this file with everything it imports into dist/cli.js (tools/bundle-cli.mjs),
// so that the CLI starts in one module load. `sweep` and `worker` load bullmq, tinypool and vega,
// which find files next to themselves at run time and cannot be bundled: those two commands run
// the whole CLI from the unbundled modules beside the bin (dist/main.js, the library's own), with
// one copy of every class, so that `instanceof` checks across packages hold.
import type { main as Main } from './main.js';

const argv = process.argv.slice(2);
const UNBUNDLED_MAIN: string = './main.js';
const loaded: Promise<{ main: typeof Main }> =
  argv[0] === 'sweep' || argv[0] === 'worker' ? import(UNBUNDLED_MAIN) : import('./main.js');

loaded.then(({ main }) => main(argv)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tachyxx: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
