import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDomainConfig, domainConfigJson } from '../src/index.js';
import { FIXTURES, GOLDEN } from './helpers.js';

// Real published xl.cfg files (see fixtures/README.md) and what `xl create -n` prints for them.
// Regenerate on purpose only: UPDATE_GOLDEN=1 pnpm vitest run --project xlcfg
const UUID = '00000000-0000-4000-8000-000000000000';
const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.cfg')).sort();

describe('real published xl.cfg files', () => {
  it('there are at least ten of them, from several sources', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
    expect(files.filter((f) => f.startsWith('xlexample.'))).toHaveLength(3);
  });

  for (const f of files) {
    it(`${f} parses and gives the golden domain config`, () => {
      const r = loadDomainConfig(join(FIXTURES, f), { generateUuid: () => UUID, topology: { pcpus: 4, nodes: [[0, 1, 2, 3]] } });
      const rel = (s: string) => s.split(FIXTURES).join('<fixtures>');
      const text = rel(domainConfigJson(r));
      const notes = [...r.warnings.map((w) => `warning ${w.line} ${w.key}: ${w.message}`), ...r.unsupported.map((u) => `unsupported ${u.line} ${u.key}: ${u.message}`)].join('\n') + '\n';
      const gold = join(GOLDEN, f.replace(/\.cfg$/, '.json'));
      const goldNotes = join(GOLDEN, f.replace(/\.cfg$/, '.notes'));
      if (process.env.UPDATE_GOLDEN || !existsSync(gold)) {
        writeFileSync(gold, text);
        writeFileSync(goldNotes, rel(notes));
      }
      expect(text).toBe(readFileSync(gold, 'utf8'));
      expect(rel(notes)).toBe(readFileSync(goldNotes, 'utf8'));
      // Sensible: the name, memory and vCPUs from the file made it through.
      const src = readFileSync(join(FIXTURES, f), 'utf8');
      expect(r.config.c_info.name).toBe(/^name\s*=\s*["']([^"']+)/m.exec(src)![1]);
      const mem = /^memory\s*=\s*(\d+)/m.exec(src);
      if (mem) expect((r.config.b_info as any).target_memkb).toBe(Number(mem[1]) * 1024);
      const vcpus = /^vcpus\s*=\s*(\d+)/m.exec(src);
      if (vcpus) expect((r.config.b_info as any).avail_vcpus).toHaveLength(Number(vcpus[1]));
    });
  }
});
