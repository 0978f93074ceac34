// Shared helpers for benchmark scripts: the machine line and docs/benchmarks.md sections.
import { cpus, totalmem } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export function machineLine() {
  const c = cpus();
  return `${c.length} x ${c[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}`;
}

export function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Replaces (or appends) the `## title` section of a markdown file with `body`. */
export function writeBenchSection(file, title, body) {
  const head = '# Benchmarks\n\nNumbers written by the benchmark scripts (`pnpm bench`). Each section says how to reproduce it.\n';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : head;
  const marker = `## ${title}\n`;
  const section = `${marker}\n${body.trim()}\n`;
  const start = text.indexOf(marker);
  if (start < 0) text = text.trimEnd() + '\n\n' + section;
  else {
    const next = text.indexOf('\n## ', start + marker.length);
    // (a blank line before the next section, as between every two sections)
    text = text.slice(0, start) + section + (next < 0 ? '' : `\n${text.slice(next + 1)}`);
  }
  writeFileSync(file, text.endsWith('\n') ? text : text + '\n');
}
