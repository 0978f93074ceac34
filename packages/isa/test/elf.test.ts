import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ImageError, parseElf, PF_R, PF_W, PF_X, type ElfImage } from '../src/elf.js';
import { buildElf, put64, type ElfSpec } from './fixtures/elf-builder.js';

const RAM = { ramBase: 0x8000_0000, ramSize: 0x800_0000 }; // 128 MiB at 0x8000_0000
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));

function parse(bytes: Uint8Array, ram = RAM): ElfImage {
  return parseElf(bytes, { file: 'guest.elf', ...ram });
}

/** The ImageError thrown for `bytes`; fails the test if it parses or throws anything else. */
function problem(bytes: Uint8Array, ram = RAM): string {
  try {
    parse(bytes, ram);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    const err = e as ImageError;
    expect(err.file).toBe('guest.elf');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`guest.elf: ${err.reason}`);
    expect(err.message).not.toContain('\n');
    return err.reason;
  }
  throw new Error('expected an ImageError');
}

const withBytes = (spec: ElfSpec, edit: (dv: DataView, b: Uint8Array) => void): Uint8Array => {
  const b = buildElf(spec);
  edit(new DataView(b.buffer), b);
  return b;
};

describe('elf loader: real images built by clang + ld.lld', () => {
  it('loads a linker-script image with an RX and an RW segment, entry and symbols', () => {
    const bytes = fixture('hello.elf');
    const img = parse(bytes);
    expect(img.entry).toBe(0x8000_0030);
    expect(img.segments.map((s) => [s.paddr, s.vaddr, s.filesz, s.memsz, s.flags])).toEqual([
      [0x8000_0000, 0x8000_0000, 0xbc, 0xbc, PF_R | PF_X],
      [0x8000_1000, 0x8000_1000, 0x3c, 0x48, PF_R | PF_W],
    ]);
    expect(img.imageEnd).toBe(0x8000_1048);
    // Segment data are views into the input, not copies.
    expect(img.segments[0].data.buffer).toBe(bytes.buffer);
    expect(img.segments[0].data.byteOffset).toBe(bytes.byteOffset + 0x1000);
    expect(img.segments[0].data.length).toBe(0xbc);
    expect(img.symbols?.get('_start')).toBe(0x8000_0030);
    expect(img.symbols?.get('fib')).toBe(0x8000_0000);
    expect(img.symbols?.get('counter')).toBe(0x8000_1040);
    expect([...(img.symbols?.keys() ?? [])].some((n) => n.startsWith('.L'))).toBe(false);
    // The message the program prints lives in the RW segment.
    const off = img.symbols!.get('message')! - img.segments[1].paddr;
    expect(new TextDecoder().decode(img.segments[1].data.subarray(off, off + 18))).toBe('hello from tachyxx');
  });

  it('loads an ld.lld -N image (one RWX segment)', () => {
    const img = parse(fixture('hello-n.elf'));
    expect(img.segments).toHaveLength(1);
    expect(img.segments[0].paddr).toBe(0x8000_0000);
    expect(img.segments[0].flags).toBe(PF_R | PF_W | PF_X);
    expect(img.entry).toBe(0x8000_0030);
  });

  it('works on a Buffer slice with a non-zero byteOffset (pooled small-file buffers)', () => {
    const raw = fixture('hello-n.elf');
    const big = new Uint8Array(raw.length + 13);
    big.set(raw, 13);
    const img = parse(big.subarray(13));
    expect(img.entry).toBe(0x8000_0030);
    expect(img.segments[0].data[0]).toBe(raw[0xb0]);
  });

  it('explains that a plain -Ttext link loads the ELF headers at 0x10000, outside RAM', () => {
    expect(problem(fixture('hello-ttext.elf'))).toBe(
      'segment 1 [0x10000, 0x10158) lies outside RAM [0x80000000, 0x88000000) ' +
        '(it holds only the ELF headers: link with ld.lld -N or a linker script)',
    );
  });

  it('rejects an image that does not fit in a smaller RAM', () => {
    expect(problem(fixture('hello.elf'), { ramBase: 0x8000_0000, ramSize: 0x1000 })).toBe(
      'segment 1 [0x80001000, 0x80001048) lies outside RAM [0x80000000, 0x80001000)',
    );
  });

  it('uses <image> as the file name when none is given', () => {
    expect(() => parseElf(new Uint8Array(0), RAM)).toThrow('<image>: empty file (0 bytes), not an ELF image');
  });
});

describe('elf loader: minimal hand-built images', () => {
  it('accepts the builder default, and memsz > filesz (bss)', () => {
    const img = parse(buildElf({ segments: [{ memsz: 0x1000 }] }));
    expect(img).toMatchObject({ entry: 0x8000_0000, imageEnd: 0x8000_1000 });
    expect(img.symbols).toBeUndefined();
  });

  it('accepts segments that touch, skips empty PT_LOADs and ignores other program header types', () => {
    const img = parse(
      buildElf({
        entry: 0x8000_0010,
        segments: [
          { paddr: 0x8000_0010 },
          { paddr: 0x8000_0000, flags: PF_R | PF_W },
          { paddr: 0x9000_0000, filesz: 0, memsz: 0, data: new Uint8Array(0) },
          { type: 4 /* PT_NOTE */, paddr: 0 },
          { type: 0x6474e551 /* PT_GNU_STACK */, paddr: 0 },
        ],
      }),
    );
    expect(img.segments.map((s) => s.paddr)).toEqual([0x8000_0010, 0x8000_0000]);
    expect(img.imageEnd).toBe(0x8000_0020);
  });

  it('accepts a segment ending exactly at the end of RAM', () => {
    expect(parse(buildElf({ segments: [{ paddr: 0x8800_0000 - 16 }] })).imageEnd).toBe(0x8800_0000);
  });
});

describe('elf loader: every malformed image is an ImageError with a one-line message', () => {
  const valid = buildElf();
  const cases: [string, Uint8Array, string][] = [
    ['zero-size file', new Uint8Array(0), 'empty file (0 bytes), not an ELF image'],
    ['bad magic', new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'not an ELF file (magic is 23 21 2f 62, expected 7f 45 4c 46)'],
    ['bad magic in a 2-byte file', new Uint8Array([0x4d, 0x5a]), 'not an ELF file (magic is 4d 5a, expected 7f 45 4c 46)'],
    ['truncated magic', new Uint8Array([0x7f, 0x45]), 'truncated ELF header (2 bytes; an ELF64 header needs 64)'],
    ['truncated header', valid.subarray(0, 40), 'truncated ELF header (40 bytes; an ELF64 header needs 64)'],
    ['ELF32', buildElf({ eclass: 1 }), 'ELF32 image (EI_CLASS 1); Tachyxx loads ELF64 (RV64) images only'],
    ['ELF32 shorter than an ELF64 header', buildElf({ eclass: 1 }).subarray(0, 52), 'ELF32 image (EI_CLASS 1); Tachyxx loads ELF64 (RV64) images only'],
    ['invalid class', buildElf({ eclass: 7 }), 'invalid ELF class 7 (expected 2, ELF64)'],
    ['big-endian', buildElf({ edata: 2 }), 'big-endian ELF (EI_DATA 2); Tachyxx loads little-endian images only'],
    ['invalid data encoding', buildElf({ edata: 0 }), 'invalid ELF data encoding 0 (expected 1, little-endian)'],
    ['bad EI_VERSION', withBytes({}, (_, b) => (b[6] = 0)), 'unsupported ELF version 0 (expected 1)'],
    ['bad e_version', withBytes({}, (dv) => dv.setUint32(20, 2, true)), 'unsupported ELF version 2 in e_version (expected 1)'],
    ['x86-64', buildElf({ machine: 62 }), 'wrong machine 62 (x86-64); expected 243 (RISC-V)'],
    ['AArch64', buildElf({ machine: 183 }), 'wrong machine 183 (AArch64); expected 243 (RISC-V)'],
    ['unknown machine', buildElf({ machine: 9999 }), 'wrong machine 9999 (unknown); expected 243 (RISC-V)'],
    ['relocatable object', buildElf({ type: 1 }), 'not an executable (e_type 1, ET_REL: a relocatable object file, not linked); link a static executable at a fixed address'],
    ['PIE / shared object', buildElf({ type: 3 }), 'not an executable (e_type 3, ET_DYN: a shared object or position-independent executable); link a static executable at a fixed address'],
    ['core dump', buildElf({ type: 4 }), 'not an executable (e_type 4, ET_CORE: a core dump); link a static executable at a fixed address'],
    ['compressed instructions', buildElf({ eflags: 0x1 }), 'built for the C (compressed) extension (EF_RISCV_RVC); Tachyxx has no C: build with -march=rv64ima'],
    ['hard-float ABI', buildElf({ eflags: 0x4 }), 'built for a hardware floating-point ABI; Tachyxx has no F/D: build with -mabi=lp64'],
    ['PT_INTERP', buildElf({ segments: [{}, { type: 3, paddr: 0 }] }), 'dynamically linked (has PT_INTERP); Tachyxx loads static executables only: link with -static'],
    ['PT_DYNAMIC', buildElf({ segments: [{}, { type: 2, paddr: 0 }] }), 'dynamically linked (has PT_DYNAMIC); Tachyxx loads static executables only: link with -static'],
    ['no program headers', buildElf({ phnum: 0 }), 'no program headers (an executable needs at least one PT_LOAD segment)'],
    ['no PT_LOAD', buildElf({ segments: [{ type: 4 }] }), 'no loadable segment (no non-empty PT_LOAD program header)'],
    ['only empty PT_LOADs', buildElf({ segments: [{ filesz: 0, memsz: 0 }] }), 'no loadable segment (no non-empty PT_LOAD program header)'],
    ['too many program headers', buildElf({ phnum: 65 }), 'too many program headers (65; at most 64)'],
    ['PN_XNUM program headers', buildElf({ phnum: 0xffff }), 'too many program headers (65535; at most 64)'],
    ['bad phentsize', buildElf({ phentsize: 32 }), 'bad program header entry size 32 (expected 56)'],
    ['phdr table past EOF', withBytes({}, (dv) => put64(dv, 32, 0x10000)), 'program header table [0x10000, 0x10038) extends beyond the end of the file (136 bytes)'],
    ['phdr table cut off', valid.subarray(0, 100), 'program header table [0x40, 0x78) extends beyond the end of the file (100 bytes)'],
    ['phoff >= 2^53', withBytes({}, (dv) => put64(dv, 32, [0x0020_0000, 0])), 'program header table offset 0x20000000000000 is too large (>= 2^53)'],
    ['entry >= 2^53', buildElf({ entry: 2 ** 53 }), 'entry point 0x20000000000000 is too large (>= 2^53)'],
    ['p_paddr >= 2^53', withBytes({}, (dv) => put64(dv, 64 + 24, [0xffff_ffff, 0x8000_0000])), 'segment 0: p_paddr 0xffffffff80000000 is too large (>= 2^53)'],
    ['p_memsz >= 2^53', withBytes({}, (dv) => put64(dv, 64 + 40, [0x0100_0000, 0])), 'segment 0: p_memsz 0x100000000000000 is too large (>= 2^53)'],
    ['segment data past EOF', buildElf({ segments: [{ offset: 0x7000 }] }), 'segment 0: file data [0x7000, 0x7010) extends beyond the end of the file (120 bytes)'],
    ['segment data cut off', valid.subarray(0, 0x80), 'segment 0: file data [0x78, 0x88) extends beyond the end of the file (128 bytes)'],
    ['filesz > memsz', buildElf({ segments: [{ memsz: 8 }] }), 'segment 0: file size 0x10 exceeds memory size 0x8'],
    ['segment below RAM', buildElf({ segments: [{ paddr: 0x7fff_fff8 }], entry: 0x8000_0000 }), 'segment 0 [0x7ffffff8, 0x80000008) lies outside RAM [0x80000000, 0x88000000)'],
    ['segment above RAM', buildElf({ segments: [{}, { paddr: 0x87ff_fff8, flags: 6 }] }), 'segment 1 [0x87fffff8, 0x88000008) lies outside RAM [0x80000000, 0x88000000)'],
    ['bss past the end of RAM', buildElf({ segments: [{ memsz: 0x1000_0000 }] }), 'segment 0 [0x80000000, 0x90000000) lies outside RAM [0x80000000, 0x88000000)'],
    [
      'overlapping segments',
      buildElf({ segments: [{ paddr: 0x8000_1000, memsz: 0x100 }, { type: 4 }, { paddr: 0x8000_0ff8, flags: 6 }] }),
      'segments 2 [0x80000ff8, 0x80001008) and 0 [0x80001000, 0x80001100) overlap',
    ],
    ['identical segments', buildElf({ segments: [{}, {}] }), 'segments 0 [0x80000000, 0x80000010) and 1 [0x80000000, 0x80000010) overlap'],
    ['entry outside every segment', buildElf({ entry: 0x8000_0100 }), 'entry point 0x80000100 is outside every executable (PF_X) segment'],
    ['entry in a data segment', buildElf({ entry: 0x8000_1000, segments: [{}, { paddr: 0x8000_1000, flags: 6 }] }), 'entry point 0x80001000 is outside every executable (PF_X) segment'],
    ['entry misaligned', buildElf({ entry: 0x8000_0002 }), 'entry point 0x80000002 is not 4-byte aligned'],
  ];
  it.each(cases)('%s', (_name, bytes, message) => {
    expect(problem(bytes)).toBe(message);
  });

  it('tolerates a malformed section header table: loads without symbols', () => {
    const b = fixture('hello.elf');
    const dv = new DataView(b.buffer, b.byteOffset);
    dv.setUint16(60, 0xffff, true); // e_shnum far beyond the file
    expect(parse(b).symbols).toBeUndefined();
    dv.setUint16(60, 10, true);
    dv.setUint16(58, 40, true); // e_shentsize wrong
    expect(parse(b).symbols).toBeUndefined();
  });

  it('refuses an invalid RAM range as a caller bug (RangeError), not an image problem', () => {
    expect(() => parseElf(buildElf(), { ramBase: 0x8000_0000, ramSize: 0 })).toThrow(RangeError);
  });
});

describe('elf loader: the committed guest images', () => {
  const dir = new URL('../../../guests/build/', import.meta.url);
  const images = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.elf')) : [];
  it.skipIf(images.length === 0).each(images)('loads guests/build/%s into 128 MiB of RAM', (f) => {
    const img = parseElf(new Uint8Array(readFileSync(new URL(f, dir))), { file: f, ramBase: 0x8000_0000, ramSize: 0x800_0000 });
    expect(img.segments.some((s) => s.flags & PF_X)).toBe(true);
    expect(img.symbols?.get('_start')).toBe(img.entry);
  });
});
