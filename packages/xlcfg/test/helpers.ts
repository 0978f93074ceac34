import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(import.meta.dirname, 'fixtures');
export const GOLDEN = resolve(import.meta.dirname, 'golden');
export const tmp = () => mkdtempSync(join(tmpdir(), 'tachyxx-xlcfg-'));
