import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executeRun, expandSweep, parseQueueUrl, parseSweep, type RunJob } from '@tachyxx/sweep';

const guests = resolve(import.meta.dirname, '../../../guests/build');
const job = (): RunJob =>
  expandSweep(parseSweep(`workloads: [{ name: h, domains: [${guests}/hello.elf] }]\nmetrics: { i: instructions }\n`, resolve(import.meta.dirname, 'x.yaml')))[0]!.job;

describe('a worker trusts no job', () => {
  it('runs a good job in this thread', () => {
    const o = executeRun(job());
    expect(o).toMatchObject({ status: 'ok', reason: '', deterministic: true });
    expect((o.stats as { instructions: number }).instructions).toBeGreaterThan(0);
  });

  it('refuses image bytes that do not match the hash (not cached: a machine problem)', () => {
    const j = job();
    const bytes = Buffer.from(readFileSync(j.images[0]!.file));
    bytes[100]! ^= 1;
    const o = executeRun({ ...j, images: [{ ...j.images[0]!, base64: bytes.toString('base64') }] });
    expect(o.status).toBe('failed');
    expect(o.reason).toMatch(/the image changed since the sweep read it/);
    expect(o.deterministic).toBe(false);
  });

  it('validates the shipped host config again', () => {
    const j = job();
    const o = executeRun({ ...j, config: { ...j.config, components: { ...j.config.components, mmu: { variant: 'flat' } } } as never });
    expect(o).toMatchObject({ status: 'failed', deterministic: true });
    expect(o.reason).toMatch(/^run h\/seed=1: components\.mmu\.variant: unknown variant 'flat' of component 'mmu' \(allowed: tagged, untagged\)$/);
  });

  it('reports a bad image as a failed run', () => {
    const j = job();
    const junk = Buffer.from('not an elf at all');
    const o = executeRun({ ...j, images: [{ ...j.images[0]!, base64: junk.toString('base64'), sha256: createHash('sha256').update(junk).digest('hex') }] });
    expect(o).toMatchObject({ status: 'failed', deterministic: true });
    expect(o.reason).toMatch(/hello\.elf: /);
  });
});

describe('queue URLs', () => {
  it('parses TCP and Unix-socket URLs, with a queue name and a database', () => {
    expect(parseQueueUrl('redis://10.0.0.2:6380/3?queue=mine')).toMatchObject({ name: 'mine', connection: { host: '10.0.0.2', port: 6380, db: 3 } });
    expect(parseQueueUrl('redis://h')).toMatchObject({ name: 'tachyxx-sweep', connection: { host: 'h', port: 6379, db: 0 } });
    expect(parseQueueUrl('redis+unix:///run/r.sock')).toMatchObject({ connection: { path: '/run/r.sock' } });
    expect(parseQueueUrl('redis://:s3cret@h:1').display).not.toContain('s3cret');
  });
  it('refuses anything else with one line', () => {
    expect(() => parseQueueUrl('h:6379')).toThrow(/unsupported scheme|not a URL/);
    expect(() => parseQueueUrl('http://h')).toThrow(/unsupported scheme 'http:'/);
    expect(() => parseQueueUrl('redis://h?queue=a/b')).toThrow(/bad queue name/);
    expect(() => parseQueueUrl('redis://h/x')).toThrow(/bad database number/);
  });
});
