#!/usr/bin/env node
// Sums vitest's JSON report (all projects) and prints the closing line CI reads:
// "N passed, N failed, N skipped". Exit 1 when the report is missing or nothing ran.
import { readFileSync, existsSync } from 'node:fs';
const file = process.argv[2] ?? '.vitest-results.json';
if (!existsSync(file)) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const r = JSON.parse(readFileSync(file, 'utf8'));
const byProject = new Map();
for (const f of r.testResults ?? []) {
  const project = f.name.split('/').find((_, i, a) => a[i - 1] === 'packages' || a[i - 1] === 'apps')
    ?? (f.name.includes('/tools/hostile/') ? 'hostile' : 'tools');
  const c = byProject.get(project) ?? { passed: 0, failed: 0, skipped: 0 };
  for (const t of f.assertionResults ?? []) {
    if (t.status === 'passed') c.passed++;
    else if (t.status === 'failed') c.failed++;
    else c.skipped++;
  }
  if ((f.assertionResults ?? []).length === 0 && f.status === 'failed') c.failed++; // file failed to load
  byProject.set(project, c);
}
let passed = 0, failed = 0, skipped = 0;
for (const [p, c] of [...byProject].sort()) {
  console.log(`  ${p.padEnd(12)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`);
  passed += c.passed; failed += c.failed; skipped += c.skipped;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(passed === 0 || failed > 0 ? 1 : 0);
