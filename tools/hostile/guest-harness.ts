// A guest-shaped harness for hypercall tests: a domain whose only vCPU executes
//   ecall                 <- the hypercall under test, registers a0..a5, a7 as given
//   sd a0, result         <- its result, at HC_RESULT_GPA
//   li a7, 29; li a0, 2; la a1, zero; ecall   <- SCHEDOP_shutdown(poweroff)
//   j .
// so the call is issued exactly as a guest issues it (trap, dispatch, continuation, return).
// Other guest state is the image's (hello); the code sits at the start of RAM.
import { GUEST_RAM_BASE } from '@tachyxx/abi';
import type { Domain, Host, Vcpu } from '@tachyxx/hypervisor';
import { image } from '../test/io-helpers.js';

const CODE = new Uint32Array([
  0x00000073, // ecall
  0x00000297, // auipc t0, 0
  0x02a2b223, // sd a0, 36(t0)       (the call's result -> HC_RESULT_GPA, 40 bytes into the code)
  0x01d00893, // addi a7, x0, 29     (sched_op)
  0x00200513, // addi a0, x0, 2      (SCHEDOP_shutdown)
  0x00000597, // auipc a1, 0
  0x01058593, // addi a1, a1, 16     (-> the zero word: SHUTDOWN_poweroff)
  0x00000073, // ecall
  0x0000006f, // j .
  0x00000000, // reason 0
  0x00000000, 0x00000000, // the result (8 bytes at +40)
]);
/** Where the harness's guest stores a0 after the call under test (its result). */
export const HC_RESULT_GPA = GUEST_RAM_BASE + 40;

/** 64-bit register values as (lo, hi) int32 halves. */
export interface Regs { nr: number; a: [number, number][]; /** a7's upper half (default 0). */ nrHi?: number }

/** Guest memory to fill before the call (argument structs): bytes at a guest-physical address. */
export interface Fill { gpa: number; bytes: Uint8Array }

/**
 * Creates a paused domain that will issue hypercall `regs.nr` with `regs.a` in a0..a5, then
 * power off; `fill` is written into its memory first (the structs the call's pointers name).
 */
export function hypercallDomain(host: Host, name: string, regs: Regs, memoryMiB = 16, maxVcpus = 1, fill: Fill[] = []): Domain<Vcpu> {
  const d = host.createDomain({ name, image: image('hello'), memoryMiB, paused: true, maxVcpus });
  for (const f of fill) d.access.write(f.gpa, f.bytes);
  d.access.write(GUEST_RAM_BASE, new Uint8Array(CODE.buffer));
  const ctx = d.vcpus[0]!.ctx;
  const set = (r: number, lo: number, hi: number) => { ctx.x[2 * r] = lo | 0; ctx.x[2 * r + 1] = hi | 0; };
  regs.a.forEach(([lo, hi], i) => set(10 + i, lo, hi));
  set(17, regs.nr, regs.nrHi ?? 0);
  ctx.pcLo = GUEST_RAM_BASE | 0;
  ctx.pcHi = 0;
  return d;
}
