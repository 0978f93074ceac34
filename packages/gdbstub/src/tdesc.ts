// The target description gdb reads with qXfer:features:read:target.xml (gdb manual, "Target
// Descriptions"; the RISC-V features are gdb's features/riscv/64bit-cpu.xml). Register numbers
// follow the order here: x0..x31 = 0..31, pc = 32, then the PL2 bank and the privilege level
// (REG in target.ts).
const GPR_NAMES = ['zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1',
  'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11',
  't3', 't4', 't5', 't6'];

function gpr(i: number): string {
  const type = i === 1 ? 'code_ptr' : i === 2 || i === 8 ? 'data_ptr' : 'int';
  return `<reg name="${GPR_NAMES[i]}" bitsize="64" type="${type}" regnum="${i}"/>`;
}

/** The PL2 (supervisor) bank and the current privilege level: a Tachyxx feature. */
export const PL2_FEATURE = 'org.tachyxx.riscv.pl2';

export const TARGET_XML = `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>riscv:rv64</architecture>
<feature name="org.gnu.gdb.riscv.cpu">
${Array.from({ length: 32 }, (_, i) => gpr(i)).join('\n')}
<reg name="pc" bitsize="64" type="code_ptr" regnum="32"/>
</feature>
<feature name="${PL2_FEATURE}">
<reg name="sstatus" bitsize="64" type="int" regnum="33" group="system"/>
<reg name="sepc" bitsize="64" type="code_ptr" regnum="34" group="system"/>
<reg name="scause" bitsize="64" type="int" regnum="35" group="system"/>
<reg name="stval" bitsize="64" type="int" regnum="36" group="system"/>
<reg name="stvec" bitsize="64" type="code_ptr" regnum="37" group="system"/>
<reg name="satp" bitsize="64" type="int" regnum="38" group="system"/>
<reg name="pl" bitsize="64" type="int" regnum="39" group="system"/>
</feature>
</target>
`;
