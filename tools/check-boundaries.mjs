#!/usr/bin/env node
// Fails (exit 1) when a workspace dependency points the wrong way. See tools/lib/boundaries.mjs.
import { checkBoundaries } from './lib/boundaries.mjs';
const errors = checkBoundaries(new URL('..', import.meta.url).pathname);
if (errors.length) {
  for (const e of errors) console.error(`boundary: ${e}`);
  process.exit(1);
}
console.log('module boundaries: ok');
