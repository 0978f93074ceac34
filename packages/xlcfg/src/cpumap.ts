/**
 * xl's CPU list syntax (xl_parse.c parse_cpurange), e.g. "0-3,^2" = {0,1,3}, "nodes:0" = node 0's
 * CPUs, "all" = every pCPU of the host. The one implementation is the toolstack's (the daemon
 * checks the same lists strictly); xlcfg names it `parseCpuList` and reports what is missing.
 */
import { parseCpuRange, type CpuListResult, type CpuTopology } from '@tachyxx/toolstack/cpulist';

/** The host's pCPUs (ids 0..pcpus-1) and each NUMA node's pCPU ids: the toolstack's CpuTopology. */
export type HostTopology = CpuTopology;
export type { CpuListResult };

/** Returns the CPU set, or a string saying what is wrong with `text`. */
export const parseCpuList: (text: string, host: HostTopology) => CpuListResult | string = parseCpuRange;
