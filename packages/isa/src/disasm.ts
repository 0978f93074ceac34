/**
 * Disassembler for the Tachyxx ISA (RV64IMA + Zicsr + Zifencei + Tachyxx privileged
 * instructions), built on {@link decode} and its field extractors.
 *
 * Output follows **llvm-objdump** (LLVM 14) for RV64IMA: ABI register names (`s0`, not `fp`),
 * decimal immediates, `imm(reg)` memory operands, `lui`/`auipc` immediates as the unsigned 20-bit
 * field, aq/rl as mnemonic suffixes (`amoadd.w.aqrl`), and with `aliases` (the default) the same
 * pseudo-instructions llvm-objdump picks (`nop li mv not neg negw sext.w seqz snez sltz sgtz beqz
 * bnez blez bgez bltz bgtz j jal jr jalr ret fence csrr csrw csrs csrc csrwi csrsi csrci rdcycle
 * rdtime rdinstret unimp sfence.vma`). Without `aliases` it matches `llvm-objdump -M no-aliases`.
 *
 * One separator differs from objdump's text: a single space (not a tab) between mnemonic and
 * operands. Intentional differences from llvm-objdump (the golden test lists them):
 * - CSRs are named after the Tachyxx privileged architecture (docs/isa.md): `p1status` (llvm:
 *   `hstatus`), `p1tvec` (`htimedelta`), `p1scratch` (llvm: the number 1600), `stimecmp`, ...;
 *   CSRs Tachyxx does not have are printed as decimal numbers (llvm names standard RISC-V CSRs
 *   such as `fflags`).
 * - `hret` (0x20200073) is a Tachyxx instruction; llvm prints `<unknown>`.
 * - A word that is not a Tachyxx instruction prints `unimp` (llvm: `<unknown>`).
 * - Branch/jump targets: with `pc`, the absolute address in hex (objdump's target, without the
 *   `<symbol+off>` annotation); without `pc`, the signed decimal offset (llvm-mc's form).
 * - Encodings that Tachyxx's decoder accepts but llvm rejects (fence with a non-zero fm other than
 *   fence.tso or with non-zero rd/rs1, fence.i with non-zero fields) print as `fence pred, succ`
 *   and `fence.i`.
 */
import {
  aqrl,
  csrNum,
  decode,
  immB,
  immI,
  immJ,
  immS,
  Op,
  opFormat,
  opName,
  rd,
  rs1,
  rs2,
  shamt,
  zimm,
} from './decode.js';

export interface DisassembleOptions {
  /** Print pseudo-instructions (`li`, `mv`, `ret`, `csrr`, ...) like llvm-objdump. Default true. */
  aliases?: boolean;
}

/** ABI names of x0..x31, as llvm-objdump prints them. */
export const REG_NAMES: readonly string[] = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
];

/** Names of the CSRs Tachyxx implements (docs/isa.md section 2.2). */
export const CSR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x100, 'sstatus'], [0x104, 'sie'], [0x105, 'stvec'], [0x106, 'scounteren'],
  [0x140, 'sscratch'], [0x141, 'sepc'], [0x142, 'scause'], [0x143, 'stval'], [0x144, 'sip'],
  [0x14d, 'stimecmp'], [0x180, 'satp'],
  [0x300, 'mstatus'], [0x302, 'medeleg'], [0x303, 'mideleg'], [0x304, 'mie'], [0x305, 'mtvec'],
  [0x306, 'mcounteren'], [0x340, 'mscratch'], [0x341, 'mepc'], [0x342, 'mcause'], [0x343, 'mtval'],
  [0x344, 'mip'], [0xf14, 'mhartid'],
  [0x600, 'p1status'], [0x602, 'p1edeleg'], [0x603, 'p1ideleg'], [0x604, 'p1ie'], [0x605, 'p1tvec'],
  [0x606, 'p1counteren'], [0x60a, 'p1timedelta'], [0x640, 'p1scratch'], [0x641, 'p1epc'],
  [0x642, 'p1cause'], [0x643, 'p1tval'], [0x644, 'p1ip'], [0x64b, 'p1tval2'], [0x680, 'p1gatp'],
  [0xc00, 'cycle'], [0xc01, 'time'], [0xc02, 'instret'],
]);

/** A CSR operand: its Tachyxx name, or the number in decimal (as llvm prints unnamed CSRs). */
export function csrName(csr: number): string {
  return CSR_NAMES.get(csr) ?? String(csr);
}

const R = REG_NAMES;
const ZERO = 0;
const RA = 1;
const CSR_CYCLE = 0xc00;
const CSR_TIME = 0xc01;
const CSR_INSTRET = 0xc02;
const UNIMP = 0xc0001073; // csrrw zero, cycle, zero

/** Hex of a safe integer as a 64-bit two's-complement address (negative targets wrap). */
function hexAddr(n: number): string {
  if (n >= 0) return `0x${n.toString(16)}`;
  const m = -n;
  const lo = (0x1_0000_0000 - (m % 0x1_0000_0000)) % 0x1_0000_0000;
  const hi = 0xffff_ffff - Math.floor((m - 1) / 0x1_0000_0000);
  return `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}

const target = (pc: number | undefined, off: number): string => (pc === undefined ? String(off) : hexAddr(pc + off));

/** `fence` predecessor/successor set: some of `iorw`, or `unknown` when empty (llvm's text). */
function fenceSet(bits: number): string {
  let s = '';
  if (bits & 8) s += 'i';
  if (bits & 4) s += 'o';
  if (bits & 2) s += 'r';
  if (bits & 1) s += 'w';
  return s === '' ? 'unknown' : s;
}

const AQRL_SUFFIX = ['', '.rl', '.aq', '.aqrl'];

/**
 * Disassemble one 32-bit instruction word.
 * @param insn the instruction bits (any number; taken modulo 2^32)
 * @param pc its address: branch/jump targets are then shown as absolute hex addresses
 * @returns e.g. `addi sp, sp, -16`, `beqz a0, 0x80000048`, `csrr a0, p1cause`, `unimp`
 */
export function disassemble(insn: number, pc?: number, opts?: DisassembleOptions): string {
  insn = insn >>> 0;
  const aliases = opts?.aliases ?? true;
  const op = decode(insn);
  if (op === Op.ILLEGAL) return 'unimp';
  const name = opName(op);
  const d = rd(insn);
  const s1 = rs1(insn);
  const s2 = rs2(insn);

  switch (opFormat(op)) {
    case 'U':
      return `${name} ${R[d]}, ${insn >>> 12}`;

    case 'J': {
      const off = immJ(insn);
      if (aliases && d === ZERO) return `j ${target(pc, off)}`;
      if (aliases && d === RA) return `jal ${target(pc, off)}`;
      return `jal ${R[d]}, ${target(pc, off)}`;
    }

    case 'B': {
      const t = target(pc, immB(insn));
      if (aliases) {
        switch (op) {
          case Op.BEQ: if (s2 === ZERO) return `beqz ${R[s1]}, ${t}`; break;
          case Op.BNE: if (s2 === ZERO) return `bnez ${R[s1]}, ${t}`; break;
          case Op.BLT:
            if (s2 === ZERO) return `bltz ${R[s1]}, ${t}`;
            if (s1 === ZERO) return `bgtz ${R[s2]}, ${t}`;
            break;
          case Op.BGE:
            if (s1 === ZERO) return `blez ${R[s2]}, ${t}`;
            if (s2 === ZERO) return `bgez ${R[s1]}, ${t}`;
            break;
        }
      }
      return `${name} ${R[s1]}, ${R[s2]}, ${t}`;
    }

    case 'LOAD': {
      const imm = immI(insn);
      if (op === Op.JALR && aliases) {
        if (d === ZERO && s1 === RA && imm === 0) return 'ret';
        if (d === ZERO) return imm === 0 ? `jr ${R[s1]}` : `jr ${imm}(${R[s1]})`;
        if (d === RA) return imm === 0 ? `jalr ${R[s1]}` : `jalr ${imm}(${R[s1]})`;
        if (imm === 0) return `jalr ${R[d]}, ${R[s1]}`;
      }
      return `${name} ${R[d]}, ${imm}(${R[s1]})`;
    }

    case 'S':
      return `${name} ${R[s2]}, ${immS(insn)}(${R[s1]})`;

    case 'I': {
      const imm = immI(insn);
      if (aliases) {
        switch (op) {
          case Op.ADDI:
            if (d === ZERO && s1 === ZERO && imm === 0) return 'nop';
            if (s1 === ZERO) return `li ${R[d]}, ${imm}`;
            if (imm === 0) return `mv ${R[d]}, ${R[s1]}`;
            break;
          case Op.ADDIW: if (imm === 0) return `sext.w ${R[d]}, ${R[s1]}`; break;
          case Op.SLTIU: if (imm === 1) return `seqz ${R[d]}, ${R[s1]}`; break;
          case Op.XORI: if (imm === -1) return `not ${R[d]}, ${R[s1]}`; break;
        }
      }
      return `${name} ${R[d]}, ${R[s1]}, ${imm}`;
    }

    case 'SHIFT':
      return `${name} ${R[d]}, ${R[s1]}, ${shamt(insn)}`;

    case 'R':
      if (aliases) {
        switch (op) {
          case Op.SUB: if (s1 === ZERO) return `neg ${R[d]}, ${R[s2]}`; break;
          case Op.SUBW: if (s1 === ZERO) return `negw ${R[d]}, ${R[s2]}`; break;
          case Op.SLT:
            if (s2 === ZERO) return `sltz ${R[d]}, ${R[s1]}`;
            if (s1 === ZERO) return `sgtz ${R[d]}, ${R[s2]}`;
            break;
          case Op.SLTU: if (s1 === ZERO) return `snez ${R[d]}, ${R[s2]}`; break;
        }
      }
      return `${name} ${R[d]}, ${R[s1]}, ${R[s2]}`;

    case 'LR':
      return `${name}${AQRL_SUFFIX[aqrl(insn)]} ${R[d]}, (${R[s1]})`;

    case 'AMO':
      return `${name}${AQRL_SUFFIX[aqrl(insn)]} ${R[d]}, ${R[s2]}, (${R[s1]})`;

    case 'FENCE': {
      if (op === Op.FENCE_I) return 'fence.i';
      const fm = insn >>> 28;
      const pred = (insn >>> 24) & 15;
      const succ = (insn >>> 20) & 15;
      if (fm === 8 && pred === 3 && succ === 3) return 'fence.tso';
      if (aliases && pred === 15 && succ === 15) return 'fence';
      return `fence ${fenceSet(pred)}, ${fenceSet(succ)}`;
    }

    case 'SFENCE':
      if (aliases && s2 === ZERO) return s1 === ZERO ? 'sfence.vma' : `sfence.vma ${R[s1]}`;
      return `sfence.vma ${R[s1]}, ${R[s2]}`;

    case 'CSR': {
      const csr = csrNum(insn);
      const c = csrName(csr);
      if (insn === UNIMP) return 'unimp'; // llvm prints it in -M no-aliases mode too
      if (aliases) {
        if (op === Op.CSRRS && s1 === ZERO) {
          if (csr === CSR_CYCLE) return `rdcycle ${R[d]}`;
          if (csr === CSR_TIME) return `rdtime ${R[d]}`;
          if (csr === CSR_INSTRET) return `rdinstret ${R[d]}`;
          return `csrr ${R[d]}, ${c}`;
        }
        if (d === ZERO) {
          const short = op === Op.CSRRW ? 'csrw' : op === Op.CSRRS ? 'csrs' : 'csrc';
          return `${short} ${c}, ${R[s1]}`;
        }
      }
      return `${name} ${R[d]}, ${c}, ${R[s1]}`;
    }

    case 'CSRI': {
      const c = csrName(csrNum(insn));
      if (aliases && d === ZERO) {
        const short = op === Op.CSRRWI ? 'csrwi' : op === Op.CSRRSI ? 'csrsi' : 'csrci';
        return `${short} ${c}, ${zimm(insn)}`;
      }
      return `${name} ${R[d]}, ${c}, ${zimm(insn)}`;
    }

    default: // ecall, ebreak, sret, hret, mret, wfi
      return name;
  }
}

/**
 * Disassemble a little-endian code buffer, one line per 4-byte word:
 *
 *     80000000: 00000513  li a0, 0
 *
 * the address in lower-case hex without `0x` (at least 8 digits), `: `, the instruction word as
 * 8 hex digits, two spaces, and the instruction as {@link disassemble} prints it with `pc` = its
 * address. 1-3 trailing bytes that do not fill a word make a last line
 * `80000008: 8067      .byte 0x67, 0x80` (their little-endian value, then the bytes in order).
 */
export function disassembleRange(bytes: Uint8Array, baseAddr: number, opts?: DisassembleOptions): string[] {
  const lines: string[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const whole = bytes.byteLength - (bytes.byteLength % 4);
  for (let off = 0; off < whole; off += 4) {
    const addr = baseAddr + off;
    const word = dv.getUint32(off, true);
    lines.push(`${addr.toString(16).padStart(8, '0')}: ${word.toString(16).padStart(8, '0')}  ${disassemble(word, addr, opts)}`);
  }
  if (whole < bytes.byteLength) {
    const rest = Array.from(bytes.subarray(whole));
    const raw = rest.map((b) => b.toString(16).padStart(2, '0')).reverse().join('');
    lines.push(
      `${(baseAddr + whole).toString(16).padStart(8, '0')}: ${raw.padEnd(8, ' ')}  .byte ${rest.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ')}`,
    );
  }
  return lines;
}
