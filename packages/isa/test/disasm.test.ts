import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { csrName, disassemble, disassembleRange } from '../src/disasm.js';
import { parseElf } from '../src/elf.js';

describe('disassemble', () => {
  it('prints objdump-style mnemonics with ABI register names', () => {
    expect(disassemble(0xff010113)).toBe('addi sp, sp, -16');
    expect(disassemble(0x00113423)).toBe('sd ra, 8(sp)');
    expect(disassemble(0x00008067)).toBe('ret');
    expect(disassemble(0x00000013)).toBe('nop');
    expect(disassemble(0x00000513)).toBe('li a0, 0');
    expect(disassemble(0x00000073)).toBe('ecall');
  });

  it('prints the raw form with aliases: false (llvm-objdump -M no-aliases)', () => {
    expect(disassemble(0x00008067, undefined, { aliases: false })).toBe('jalr zero, 0(ra)');
    expect(disassemble(0x00000013, undefined, { aliases: false })).toBe('addi zero, zero, 0');
    expect(disassemble(0x0ff0000f, undefined, { aliases: false })).toBe('fence iorw, iorw');
    expect(disassemble(0x0ff0000f)).toBe('fence');
  });

  it('shows branch and jump targets as absolute addresses with a pc, as offsets without', () => {
    expect(disassemble(0xfe0508e3, 0x8000_0010)).toBe('beqz a0, 0x80000000');
    expect(disassemble(0xfe0508e3)).toBe('beqz a0, -16');
    expect(disassemble(0x0100006f, 0x8000_0000)).toBe('j 0x80000010');
    expect(disassemble(0x010000ef, 0x8000_0000)).toBe('jal 0x80000010');
    expect(disassemble(0x0100056f, 0x8000_0000)).toBe('jal a0, 0x80000010');
    // A target below address 0 wraps like a 64-bit address.
    expect(disassemble(0xff1ff06f, 0)).toBe('j 0xfffffffffffffff0');
  });

  it('names Tachyxx CSRs and privileged instructions', () => {
    expect(disassemble(0x20200073)).toBe('hret');
    expect(disassemble(0x30200073)).toBe('mret');
    expect(disassemble(0x10200073)).toBe('sret');
    expect(disassemble(0x10500073)).toBe('wfi');
    expect(disassemble(0x60002573)).toBe('csrr a0, p1status');
    expect(disassemble(0x68051073)).toBe('csrw p1gatp, a0');
    expect(disassemble(0x14d02573)).toBe('csrr a0, stimecmp');
    expect(disassemble(0x64b02573, undefined, { aliases: false })).toBe('csrrs a0, p1tval2, zero');
    expect(disassemble(0xc0102573)).toBe('rdtime a0');
    expect(disassemble(0x7c002573)).toBe('csrr a0, 1984');
    expect(csrName(0x60a)).toBe('p1timedelta');
    expect(csrName(0x001)).toBe('1');
  });

  it('prints unimp for anything that is not a Tachyxx instruction', () => {
    for (const w of [0x00000000, 0xffffffff, 0x00000053 /* fadd.s */, 0x00200073 /* uret */, 0x7b200073 /* dret */]) {
      expect(disassemble(w)).toBe('unimp');
    }
    expect(disassemble(0xc0001073)).toBe('unimp');
  });

  it('never throws and always returns one non-empty line (100,000 random words)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), fc.option(fc.nat({ max: 2 ** 53 - 1 }), { nil: undefined }), fc.boolean(), (w, pc, aliases) => {
        const s = disassemble(w, pc, { aliases });
        expect(s.length).toBeGreaterThan(0);
        expect(s).not.toMatch(/\n|undefined|NaN/);
      }),
      { numRuns: 100_000 },
    );
  });
});

describe('disassembleRange', () => {
  it('prints address, word and instruction, one line per word', () => {
    const bytes = new Uint8Array([0x13, 0x05, 0x00, 0x00, 0xe3, 0x0e, 0x05, 0xfe, 0x67, 0x80]);
    expect(disassembleRange(bytes, 0x8000_0000)).toEqual([
      '80000000: 00000513  li a0, 0',
      '80000004: fe050ee3  beqz a0, 0x80000000',
      '80000008: 8067      .byte 0x67, 0x80',
    ]);
  });

  it('disassembles a loaded image segment (hello.elf) like llvm-objdump', () => {
    const file = new Uint8Array(readFileSync(new URL('./fixtures/hello.elf', import.meta.url)));
    const img = parseElf(file, { ramBase: 0x8000_0000, ramSize: 0x100_0000 });
    const lines = disassembleRange(img.segments[0].data, img.segments[0].paddr);
    expect(lines[0]).toMatch(/^80000000: [0-9a-f]{8} {2}\S/);
    expect(lines).toContain('80000030: 00001517  auipc a0, 1');
    expect(lines).toContain('80000034: fd850513  addi a0, a0, -40');
    expect(lines.length).toBe(img.segments[0].filesz / 4);
    expect(lines.every((l) => !l.endsWith('unimp'))).toBe(true);
  });
});
