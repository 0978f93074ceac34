// Golden test: the disassembler against llvm-objdump (LLVM 14) output committed under golden/.
// Regenerate on purpose only, with fixtures/build-fixtures.sh.
//
// Intentional differences, applied to llvm's text before comparing (see src/disasm.ts):
// - Tachyxx CSR names: llvm names 0x600-0x680 after the RISC-V H extension (hstatus, hgatp, ...)
//   or prints numbers (1600 = p1scratch); Tachyxx has its own PL1 bank there (docs/isa.md 2.2).
// - CSRs Tachyxx does not have: we print the decimal number, llvm may print a standard name.
// - hret (0x20200073): llvm prints <unknown>.
// - words that are not instructions: llvm prints <unknown>, we print unimp.
// - fence / fence.i encodings with reserved fields set: Tachyxx decodes them (RISC-V says to
//   execute them as ordinary fences), llvm prints <unknown>.
// - branch targets: llvm appends <symbol+offset>; we print the address only.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CSR_NAMES, disassemble } from '../src/disasm.js';
import { decode, Op, OP_COUNT, opFormat } from '../src/decode.js';

interface GoldenLine { addr: number; word: number; llvm: string }

/** Parse `llvm-objdump -d` text into words; two 2-byte <unknown> halves make one word. */
function parseObjdump(name: string): GoldenLine[] {
  return parseObjdumpText(readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8'));
}

function parseObjdumpText(text: string): GoldenLine[] {
  const out: GoldenLine[] = [];
  let half: { addr: number; bytes: number[] } | undefined;
  let data = false;
  for (const line of text.split('\n')) {
    // A new symbol: llvm dumps object symbols (data in an executable section, e.g. strings a guest
    // keeps next to copied code) as raw 8-byte lines up to the next symbol.
    if (/^[0-9a-f]+ <.*>:$/.test(line)) data = false;
    const m = /^\s*([0-9a-f]+):\s((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(line);
    if (!m) continue;
    const addr = parseInt(m[1], 16);
    const bytes = m[2].trim().split(' ').map((b) => parseInt(b, 16));
    const llvm = m[3].replace(/(0x[0-9a-f]+) <[^>]*>/g, '$1').replace(/\s+/g, ' ').trim();
    // Instructions follow their bytes after a tab; data lines have no tab, only the ASCII column.
    if (bytes.length > 4 || !/\t/.test(line)) data = true;
    if (data) continue;
    if (bytes.length === 2) {
      expect(llvm).toBe('<unknown>');
      if (!half) {
        half = { addr, bytes };
        continue;
      }
      bytes.unshift(...half.bytes);
      half = undefined;
    }
    expect(bytes).toHaveLength(4);
    const start = bytes.length === 4 && m[2].trim().split(' ').length === 2 ? addr - 2 : addr;
    out.push({ addr: start, word: (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0, llvm });
  }
  expect(half).toBeUndefined();
  return out;
}

/** What llvm calls the Tachyxx CSRs it knows under another name (RISC-V H extension names). */
const LLVM_CSR_ALIASES: Record<number, string> = {
  0x600: 'hstatus', 0x602: 'hedeleg', 0x603: 'hideleg', 0x604: 'hie', 0x605: 'htimedelta',
  0x606: 'hcounteren', 0x60a: 'henvcfg', 0x643: 'htval', 0x644: 'hip', 0x680: 'hgatp',
};

/** llvm's text with the documented differences applied, i.e. what we must print. */
function expected(word: number, llvm: string): string {
  if (llvm === '<unknown>') {
    if (word === 0x20200073) return 'hret';
    if ((word & 0x707f) === 0x000f || (word & 0x707f) === 0x100f) return ''; // fence: checked apart
    return 'unimp';
  }
  const op = decode(word);
  const fmt = opFormat(op);
  if ((fmt === 'CSR' || fmt === 'CSRI') && !/^(unimp|rd(cycle|time|instret))$/.test(llvm.split(' ')[0])) {
    const [mn, rest] = [llvm.slice(0, llvm.indexOf(' ')), llvm.slice(llvm.indexOf(' ') + 1)];
    const ops = rest.split(', ');
    const at = /^csr[wsc]i?$/.test(mn) ? 0 : 1; // csrw/csrs/csrc[i] CSR, x; csrr rd, CSR; csrrX rd, CSR, x
    const num = word >>> 20;
    const tok = ops[at];
    const ours = CSR_NAMES.get(num);
    if (ours !== undefined) {
      // llvm must print our name, the number, or its documented other name.
      expect([ours, String(num), LLVM_CSR_ALIASES[num]]).toContain(tok);
      ops[at] = ours;
    } else {
      expect(tok === String(num) || /^[a-z][a-z0-9]*$/.test(tok)).toBe(true);
      ops[at] = String(num);
    }
    return `${mn} ${ops.join(', ')}`;
  }
  return llvm;
}

function compare(name: string, aliases: boolean): { lines: number; mismatches: string[] } {
  return compareLines(parseObjdump(`${name}.${aliases ? 'aliases' : 'no-aliases'}.objdump`), aliases);
}

function compareLines(lines: GoldenLine[], aliases: boolean): { lines: number; mismatches: string[] } {
  const mismatches: string[] = [];
  for (const { addr, word, llvm } of lines) {
    const ours = disassemble(word, addr, { aliases });
    const want = expected(word, llvm);
    if (want === '') {
      // A fence encoding llvm rejects: Tachyxx executes it as a fence.
      if (!/^fence(\.i)?( |$)/.test(ours)) mismatches.push(`${addr.toString(16)}: ${word.toString(16).padStart(8, '0')} llvm <unknown>, ours ${ours}`);
      continue;
    }
    if (ours !== want) mismatches.push(`${addr.toString(16)}: ${word.toString(16).padStart(8, '0')} llvm "${llvm}" want "${want}" ours "${ours}"`);
  }
  return { lines: lines.length, mismatches };
}

describe('disassembler matches llvm-objdump (golden files)', () => {
  for (const name of ['all-insns', 'hello', 'random-insns']) {
    for (const aliases of [true, false]) {
      it(`${name} with ${aliases ? 'aliases' : '-M no-aliases'}`, () => {
        const { lines, mismatches } = compare(name, aliases);
        expect(lines).toBeGreaterThan(name === 'hello' ? 40 : 200);
        expect(mismatches).toEqual([]);
      });
    }
  }

  it('all-insns covers every Tachyxx instruction', () => {
    const seen = new Set(parseObjdump('all-insns.no-aliases.objdump').map((l) => decode(l.word)));
    const missing = [];
    for (let op = 1; op < OP_COUNT; op++) if (!seen.has(op as Op)) missing.push(op);
    expect(missing).toEqual([]);
    expect(seen.has(Op.ILLEGAL)).toBe(true);
  });
});

// The committed guest images, disassembled live by llvm-objdump when it is installed (CI installs
// it); they change whenever a guest is rebuilt, so they have no committed golden.
const guestDir = new URL('../../../guests/build/', import.meta.url);
const guestImages = existsSync(guestDir) ? readdirSync(guestDir).filter((f) => f.endsWith('.elf')) : [];
const objdump = (() => {
  try {
    execFileSync('llvm-objdump', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
describe.skipIf(!objdump || guestImages.length === 0)(
  `disassembler matches live llvm-objdump on guests/build/*.elf${objdump ? '' : ' (skipped: llvm-objdump not installed)'}`,
  () => {
    it.each(guestImages.flatMap((f) => [[f, true], [f, false]] as [string, boolean][]))('%s (aliases: %s)', (file, aliases) => {
      const args = ['-d', '--mattr=+m,+a', ...(aliases ? [] : ['-M', 'no-aliases']), new URL(file, guestDir).pathname];
      const text = execFileSync('llvm-objdump', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
      const { lines, mismatches } = compareLines(parseObjdumpText(text), aliases);
      expect(lines).toBeGreaterThan(100);
      expect(mismatches).toEqual([]);
    });
  },
);
