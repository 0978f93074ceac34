// Fuzzing the ELF loader: whatever the bytes, parseElf returns an image that is safe to load
// (segments inside RAM, pairwise disjoint, entry in an executable segment) or throws ImageError.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ImageError, parseElf, PF_X, type ElfImage } from '../src/elf.js';
import { buildElf, type SegmentSpec } from './fixtures/elf-builder.js';

const RAM = { ramBase: 0x8000_0000, ramSize: 0x10_0000 }; // 1 MiB: small, so out-of-RAM is common
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const SEEDS = [fixture('hello.elf'), fixture('hello-n.elf'), buildElf(), buildElf({ segments: [{}, { paddr: 0x8000_1000, flags: 6, memsz: 64 }] })];

/** Counts of outcomes per property, reported at the end so a regression to "all rejected" shows. */
const outcomes: Record<string, { ok: number; rejected: number }> = {};

function checkImage(img: ElfImage, bytes: Uint8Array): void {
  const end = RAM.ramBase + RAM.ramSize;
  expect(img.segments.length).toBeGreaterThan(0);
  for (const s of img.segments) {
    expect(Number.isSafeInteger(s.paddr) && Number.isSafeInteger(s.memsz)).toBe(true);
    expect(s.paddr).toBeGreaterThanOrEqual(RAM.ramBase);
    expect(s.paddr + s.memsz).toBeLessThanOrEqual(end);
    expect(s.memsz).toBeGreaterThan(0);
    expect(s.filesz).toBeLessThanOrEqual(s.memsz);
    expect(s.data.length).toBe(s.filesz);
    expect(s.data.buffer).toBe(bytes.buffer);
    expect(s.data.byteOffset + s.data.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
  }
  const sorted = [...img.segments].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) expect(sorted[i].paddr).toBeGreaterThanOrEqual(sorted[i - 1].paddr + sorted[i - 1].memsz);
  expect(img.entry % 4).toBe(0);
  expect(img.segments.some((s) => s.flags & PF_X && img.entry >= s.paddr && img.entry < s.paddr + s.memsz)).toBe(true);
  expect(img.imageEnd).toBe(Math.max(...img.segments.map((s) => s.paddr + s.memsz)));
  for (const [name, v] of img.symbols ?? []) {
    expect(typeof name).toBe('string');
    expect(Number.isSafeInteger(v)).toBe(true);
  }
}

function loadOrReject(label: string, bytes: Uint8Array): void {
  const tally = (outcomes[label] ??= { ok: 0, rejected: 0 });
  let img: ElfImage;
  try {
    img = parseElf(bytes, { file: 'fuzz.elf', ...RAM });
  } catch (e) {
    if (!(e instanceof ImageError)) throw e; // any other exception is a loader bug
    expect(e.message.startsWith('fuzz.elf: ')).toBe(true);
    expect(e.message).not.toContain('\n');
    tally.rejected++;
    return;
  }
  checkImage(img, bytes);
  tally.ok++;
}

// Offsets of every ELF header and first-three-program-header field, with its width.
const FIELDS: [number, 1 | 2 | 4 | 8][] = [
  [4, 1], [5, 1], [6, 1], [16, 2], [18, 2], [20, 4], [24, 8], [32, 8], [40, 8], [48, 4], [52, 2], [54, 2], [56, 2], [58, 2], [60, 2], [62, 2],
  ...[0, 1, 2].flatMap((i): [number, 1 | 2 | 4 | 8][] => {
    const b = 64 + i * 56;
    return [[b, 4], [b + 4, 4], [b + 8, 8], [b + 16, 8], [b + 24, 8], [b + 32, 8], [b + 40, 8], [b + 48, 8]];
  }),
];
const interesting = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7, 8, 56, 64, 243, 0xffff, 0x8000_0000, 0x8000_0030, 0x8010_0000, 0xffff_ffff, 0x1f_ffff, 0x20_0000),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), pos: fc.nat() }),
  fc.record({ kind: fc.constant('field' as const), field: fc.constantFrom(...FIELDS), lo: interesting, hi: interesting }),
  fc.record({ kind: fc.constant('byte' as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(seed: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = seed.slice();
  for (const m of muts) {
    if (b.length === 0) break;
    if (m.kind === 'flip') b[m.pos % b.length] ^= 1 << m.bit;
    else if (m.kind === 'byte') b[m.pos % b.length] = m.value;
    else if (m.kind === 'truncate') b = b.slice(0, m.pos % (b.length + 1));
    else {
      const [off, width] = m.field;
      if (off + width > b.length) continue;
      const dv = new DataView(b.buffer);
      if (width === 1) dv.setUint8(off, m.lo & 0xff);
      else if (width === 2) dv.setUint16(off, m.lo & 0xffff, true);
      else dv.setUint32(off, m.lo >>> 0, true);
      if (width === 8) dv.setUint32(off + 4, m.hi % 2 === 0 ? 0 : m.hi >>> 0, true);
    }
  }
  return b;
}

describe('elf loader fuzzing: an image is either loadable or an ImageError, nothing else', () => {
  it('random bytes (10,000 cases)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => loadOrReject('random', b)), { numRuns: 10_000 });
  });

  it('random bytes behind a valid RISC-V ELF64 identification (10,000 cases)', () => {
    const head = buildElf().subarray(0, 20);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (tail) => {
        const b = new Uint8Array(20 + tail.length);
        b.set(head);
        b.set(tail, 20);
        if (b.length >= 24) b.set([1, 0, 0, 0], 20); // e_version
        loadOrReject('random-behind-header', b);
      }),
      { numRuns: 10_000 },
    );
  });

  it('mutations (bit flips, byte writes, truncations, field overwrites) of valid images (20,000 cases)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 6 }), (seed, muts) =>
        loadOrReject('mutation', mutate(seed, muts)),
      ),
      { numRuns: 20_000 },
    );
  });

  it('random segment layouts around the RAM window (10,000 cases)', () => {
    const addr = fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 255 }).map((k) => 0x8000_0000 + k * 0x1000) },
      { weight: 2, arbitrary: fc.integer({ min: 0x7fff_f000, max: 0x8010_1000 }).map((a) => a - (a % 2)) },
      { weight: 1, arbitrary: fc.constantFrom(0, 0x8000_0000, 0x800f_fff0, 0x8010_0000, 2 ** 53 - 16) },
    );
    const seg: fc.Arbitrary<SegmentSpec> = fc.record({
      type: fc.constantFrom(1, 1, 1, 1, 4, 6, 0x6474e551),
      flags: fc.constantFrom(5, 5, 6, 7, 4, 0, 1),
      paddr: addr,
      vaddr: fc.option(addr, { nil: undefined }),
      memsz: fc.option(fc.oneof(fc.integer({ min: 0, max: 0x2000 }), fc.constant(2 ** 52)), { nil: undefined }),
      data: fc.uint8Array({ maxLength: 64 }),
    });
    fc.assert(
      fc.property(fc.array(seg, { minLength: 0, maxLength: 6 }), fc.option(addr, { nil: undefined, freq: 3 }), (segments, entry) =>
        loadOrReject('layout', buildElf({ segments, entry })),
      ),
      { numRuns: 10_000 },
    );
  });

  it('exercised both outcomes', () => {
    // Not a vacuous fuzz: mutations and layouts must produce loadable images too.
    console.info(`elf fuzz outcomes: ${JSON.stringify(outcomes)}`);
    expect(outcomes.mutation?.ok).toBeGreaterThan(100);
    expect(outcomes.layout?.ok).toBeGreaterThan(100);
    expect(outcomes.random?.rejected).toBe(10_000);
  });
});
