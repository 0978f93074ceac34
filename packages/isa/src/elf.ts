/**
 * ELF loader for Tachyxx guest images.
 *
 * Accepts exactly what the platform can boot: a static (no PT_INTERP / PT_DYNAMIC) little-endian
 * ELF64 executable (ET_EXEC) for RISC-V (EM_RISCV = 243) without the C or F/D extensions, whose
 * PT_LOAD segments all lie inside guest RAM, do not overlap, and whose entry point lies in an
 * executable segment. Segments are placed at their *physical* address (`p_paddr`): the image is
 * entered at PL2 with translation off (docs/isa.md section 3), so `e_entry` is checked against the
 * physical ranges too.
 *
 * Every malformed input throws an {@link ImageError} with a one-line message naming the file and
 * the problem; no other exception escapes (fuzzed in test/elf-fuzz.test.ts). 64-bit fields are
 * read as two 32-bit halves; any address, offset or size >= 2^53 is rejected, so all arithmetic
 * stays exact in doubles without BigInt.
 *
 * The section header table is optional: when it is present and well formed, `.symtab` feeds
 * {@link ElfImage.symbols}; when it is missing or malformed the image still loads, without symbols
 * (nothing the CPU needs lives there).
 */
import { ImageError } from './image-error.js';

export { ImageError } from './image-error.js';

/** One PT_LOAD segment, to be copied to `paddr` with `memsz - filesz` zero bytes after `data`. */
export interface ElfSegment {
  /** Physical load address (`p_paddr`), inside RAM. */
  paddr: number;
  /** Virtual address (`p_vaddr`), informational. */
  vaddr: number;
  /** Bytes occupied in memory (`p_memsz`), >= `filesz`, > 0. */
  memsz: number;
  /** Bytes taken from the file (`p_filesz`). */
  filesz: number;
  /** The file bytes of the segment: a subarray view of the input, `filesz` long. */
  data: Uint8Array;
  /** `p_flags`: {@link PF_X} | {@link PF_W} | {@link PF_R}. */
  flags: number;
}

export interface ElfImage {
  /** `e_entry`: the first PC, inside an executable segment, 4-byte aligned. */
  entry: number;
  /** Non-empty PT_LOAD segments in program header order; inside RAM, pairwise disjoint. */
  segments: ElfSegment[];
  /** Highest `paddr + memsz` over all segments (first byte after the image). */
  imageEnd: number;
  /** Defined function/object/untyped symbols from `.symtab` (name -> value), when present. */
  symbols?: Map<string, number>;
}

export interface ParseElfOptions {
  /** File name for error messages (default `<image>`). */
  file?: string;
  /** Guest-physical address of the first byte of RAM (0x8000_0000 on Tachyxx). */
  ramBase: number;
  /** RAM size in bytes. */
  ramSize: number;
}

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

/** Most program headers an image may have. Real guests have 2-6. */
export const MAX_PROGRAM_HEADERS = 64;

const EM_RISCV = 243;
const ET_EXEC = 2;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const SHT_SYMTAB = 2;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const EF_RISCV_RVC = 0x1;
const EF_RISCV_FLOAT_ABI = 0x6;

const MACHINE_NAMES: Record<number, string> = {
  0: 'none',
  2: 'SPARC',
  3: 'x86 (i386)',
  8: 'MIPS',
  20: 'PowerPC',
  21: 'PowerPC64',
  22: 'S/390',
  40: 'ARM',
  43: 'SPARC V9',
  50: 'IA-64',
  62: 'x86-64',
  183: 'AArch64',
  243: 'RISC-V',
  247: 'BPF',
  258: 'LoongArch',
};

const ET_NAMES: Record<number, string> = {
  0: 'ET_NONE',
  1: 'ET_REL: a relocatable object file, not linked',
  3: 'ET_DYN: a shared object or position-independent executable',
  4: 'ET_CORE: a core dump',
};

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Largest value whose high 32-bit half still keeps the whole value below 2^53. */
const MAX_SAFE_HI = 0x1fffff;

/**
 * Parse and validate a guest ELF image. Pure: copies nothing, the returned segment data are
 * views into `bytes`.
 * @throws ImageError for every malformed or unsupported image.
 */
export function parseElf(bytes: Uint8Array, opts: ParseElfOptions): ElfImage {
  const file = opts.file ?? '<image>';
  const { ramBase, ramSize } = opts;
  if (!Number.isSafeInteger(ramBase) || ramBase < 0 || !Number.isSafeInteger(ramSize) || ramSize <= 0 || ramBase + ramSize > Number.MAX_SAFE_INTEGER) {
    // A caller bug (the CLI validates --memory), not a property of the image.
    throw new RangeError(`parseElf: invalid RAM range base=${ramBase} size=${ramSize}`);
  }
  const ramEnd = ramBase + ramSize;
  const fail = (problem: string): never => {
    throw new ImageError(file, problem);
  };

  const len = bytes.byteLength;
  if (len === 0) fail('empty file (0 bytes), not an ELF image');

  // e_ident, checked byte by byte on whatever is present so a short file gets the best message.
  const magic = [0x7f, 0x45, 0x4c, 0x46];
  for (let i = 0; i < Math.min(4, len); i++) {
    if (bytes[i] !== magic[i]) {
      const shown = Array.from(bytes.subarray(0, Math.min(4, len)), (b) => b.toString(16).padStart(2, '0')).join(' ');
      fail(`not an ELF file (magic is ${shown}, expected 7f 45 4c 46)`);
    }
  }
  if (len > 4) {
    const cls = bytes[4];
    if (cls === 1) fail('ELF32 image (EI_CLASS 1); Tachyxx loads ELF64 (RV64) images only');
    if (cls !== 2) fail(`invalid ELF class ${cls} (expected 2, ELF64)`);
  }
  if (len > 5) {
    const data = bytes[5];
    if (data === 2) fail('big-endian ELF (EI_DATA 2); Tachyxx loads little-endian images only');
    if (data !== 1) fail(`invalid ELF data encoding ${data} (expected 1, little-endian)`);
  }
  if (len > 6 && bytes[6] !== 1) fail(`unsupported ELF version ${bytes[6]} (expected 1)`);
  if (len < EHDR_SIZE) fail(`truncated ELF header (${len} bytes; an ELF64 header needs ${EHDR_SIZE})`);

  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  const u16 = (off: number): number => dv.getUint16(off, true);
  const u32 = (off: number): number => dv.getUint32(off, true);
  /** A 64-bit field as a safe integer; `what` names it in the error when it is >= 2^53. */
  const u64 = (off: number, what: string): number => {
    const lo = dv.getUint32(off, true);
    const hi = dv.getUint32(off + 4, true);
    if (hi > MAX_SAFE_HI) fail(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large (>= 2^53)`);
    return hi * 0x1_0000_0000 + lo;
  };

  const machine = u16(18);
  if (machine !== EM_RISCV) {
    fail(`wrong machine ${machine} (${MACHINE_NAMES[machine] ?? 'unknown'}); expected ${EM_RISCV} (RISC-V)`);
  }
  const type = u16(16);
  if (type !== ET_EXEC) {
    fail(`not an executable (e_type ${type}, ${ET_NAMES[type] ?? 'unknown type'}); link a static executable at a fixed address`);
  }
  if (u32(20) !== 1) fail(`unsupported ELF version ${u32(20)} in e_version (expected 1)`);
  const eflags = u32(48);
  if (eflags & EF_RISCV_RVC) {
    fail('built for the C (compressed) extension (EF_RISCV_RVC); Tachyxx has no C: build with -march=rv64ima');
  }
  if (eflags & EF_RISCV_FLOAT_ABI) {
    fail('built for a hardware floating-point ABI; Tachyxx has no F/D: build with -mabi=lp64');
  }

  const entry = u64(24, 'entry point');
  const phoff = u64(32, 'program header table offset');
  const phentsize = u16(54);
  const phnum = u16(56);

  if (phnum === 0) fail('no program headers (an executable needs at least one PT_LOAD segment)');
  if (phnum > MAX_PROGRAM_HEADERS) fail(`too many program headers (${phnum}; at most ${MAX_PROGRAM_HEADERS})`);
  if (phentsize !== PHDR_SIZE) fail(`bad program header entry size ${phentsize} (expected ${PHDR_SIZE})`);
  if (phoff + phnum * PHDR_SIZE > len) {
    fail(`program header table [${hex(phoff)}, ${hex(phoff + phnum * PHDR_SIZE)}) extends beyond the end of the file (${len} bytes)`);
  }

  const segments: ElfSegment[] = [];
  const segIndex: number[] = []; // program header index of each segment, for messages
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    const ptype = u32(ph);
    if (ptype === PT_INTERP) fail('dynamically linked (has PT_INTERP); Tachyxx loads static executables only: link with -static');
    if (ptype === PT_DYNAMIC) fail('dynamically linked (has PT_DYNAMIC); Tachyxx loads static executables only: link with -static');
    if (ptype !== PT_LOAD) continue;
    const flags = u32(ph + 4);
    const offset = u64(ph + 8, `segment ${i}: p_offset`);
    const vaddr = u64(ph + 16, `segment ${i}: p_vaddr`);
    const paddr = u64(ph + 24, `segment ${i}: p_paddr`);
    const filesz = u64(ph + 32, `segment ${i}: p_filesz`);
    const memsz = u64(ph + 40, `segment ${i}: p_memsz`);
    if (filesz > memsz) fail(`segment ${i}: file size ${hex(filesz)} exceeds memory size ${hex(memsz)}`);
    if (offset + filesz > len) {
      fail(`segment ${i}: file data [${hex(offset)}, ${hex(offset + filesz)}) extends beyond the end of the file (${len} bytes)`);
    }
    if (memsz === 0) continue; // legal and harmless: nothing to load
    const end = paddr + memsz;
    if (paddr < ramBase || end > ramEnd) {
      // lld's default layout (-Ttext without a linker script) loads the ELF headers at 0x10000.
      const headersOnly = offset === 0 && filesz > 0 && filesz <= Math.max(EHDR_SIZE, phoff + phnum * PHDR_SIZE);
      fail(
        `segment ${i} [${hex(paddr)}, ${hex(end)}) lies outside RAM [${hex(ramBase)}, ${hex(ramEnd)})` +
          (headersOnly ? ' (it holds only the ELF headers: link with ld.lld -N or a linker script)' : ''),
      );
    }
    segments.push({ paddr, vaddr, memsz, filesz, data: bytes.subarray(offset, offset + filesz), flags });
    segIndex.push(i);
  }
  if (segments.length === 0) fail('no loadable segment (no non-empty PT_LOAD program header)');

  // Overlaps: sort a permutation by address and compare neighbours.
  const order = segments.map((_, k) => k).sort((a, b) => segments[a].paddr - segments[b].paddr);
  for (let k = 1; k < order.length; k++) {
    const a = segments[order[k - 1]];
    const b = segments[order[k]];
    if (b.paddr < a.paddr + a.memsz) {
      fail(
        `segments ${segIndex[order[k - 1]]} [${hex(a.paddr)}, ${hex(a.paddr + a.memsz)}) and ` +
          `${segIndex[order[k]]} [${hex(b.paddr)}, ${hex(b.paddr + b.memsz)}) overlap`,
      );
    }
  }

  if (!segments.some((s) => (s.flags & PF_X) !== 0 && entry >= s.paddr && entry < s.paddr + s.memsz)) {
    fail(`entry point ${hex(entry)} is outside every executable (PF_X) segment`);
  }
  if (entry % 4 !== 0) fail(`entry point ${hex(entry)} is not 4-byte aligned`);

  let imageEnd = 0;
  for (const s of segments) imageEnd = Math.max(imageEnd, s.paddr + s.memsz);

  const image: ElfImage = { entry, segments, imageEnd };
  const symbols = readSymbols(bytes, dv);
  if (symbols) image.symbols = symbols;
  return image;
}

/**
 * Symbols from `.symtab` (and its linked string table), or undefined when the image has no
 * section headers, no symbol table, or a malformed one. Never throws: every read is bounds-checked.
 */
function readSymbols(bytes: Uint8Array, dv: DataView): Map<string, number> | undefined {
  const len = bytes.byteLength;
  const u32 = (off: number): number => dv.getUint32(off, true);
  /** 64-bit field, or -1 when it is >= 2^53. */
  const u64 = (off: number): number => {
    const hi = dv.getUint32(off + 4, true);
    return hi > MAX_SAFE_HI ? -1 : hi * 0x1_0000_0000 + dv.getUint32(off, true);
  };
  const shoff = u64(40);
  const shentsize = dv.getUint16(58, true);
  const shnum = dv.getUint16(60, true);
  if (shoff <= 0 || shnum === 0 || shentsize !== SHDR_SIZE || shoff + shnum * SHDR_SIZE > len) return undefined;

  let symtab = -1;
  for (let i = 0; i < shnum; i++) {
    if (u32(shoff + i * SHDR_SIZE + 4) === SHT_SYMTAB) {
      symtab = i;
      break;
    }
  }
  if (symtab < 0) return undefined;
  const sh = shoff + symtab * SHDR_SIZE;
  const symOff = u64(sh + 24);
  const symSize = u64(sh + 32);
  const link = u32(sh + 40);
  if (symOff < 0 || symSize < 0 || symOff + symSize > len || link === 0 || link >= shnum) return undefined;
  const strSh = shoff + link * SHDR_SIZE;
  const strOff = u64(strSh + 24);
  const strSize = u64(strSh + 32);
  if (strOff < 0 || strSize < 0 || strOff + strSize > len) return undefined;

  const decoder = new TextDecoder('utf-8', { fatal: false });
  const symbols = new Map<string, number>();
  const count = Math.floor(symSize / SYM_SIZE);
  for (let k = 1; k < count; k++) {
    const s = symOff + k * SYM_SIZE;
    const nameOff = u32(s);
    const info = bytes[s + 4];
    const shndx = dv.getUint16(s + 6, true);
    const value = u64(s + 8);
    const stType = info & 0xf;
    // NOTYPE, OBJECT, FUNC; defined (not SHN_UNDEF); representable.
    if (stType > 2 || shndx === 0 || value < 0 || nameOff === 0 || nameOff >= strSize) continue;
    let e = strOff + nameOff;
    const limit = strOff + strSize;
    while (e < limit && bytes[e] !== 0) e++;
    const name = decoder.decode(bytes.subarray(strOff + nameOff, e));
    if (name === '' || name.startsWith('$') || name.startsWith('.L')) continue;
    if (!symbols.has(name)) symbols.set(name, value);
  }
  return symbols;
}
