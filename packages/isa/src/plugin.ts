// The isa component's plugin entries: one per CPU variant. The composition root (runner,
// later the hypervisor host) selects one by config (`components: { isa: { variant: ... } }`)
// and resolves ISA_CPU_FACTORY to build a hart per pCPU.
import { bindSingleton, componentCosts, definePlugin, defineToken, p, resolve, TOKENS, type ParamSpec } from '@tachyxx/core';
import {
  ENGINE_CHOICES, Cpu, PhysMemory, DEFAULT_COST_MODEL, DEFAULT_REGION_PAGES, WASM_TIER_UP, SILENT_SENSITIVE, TRAP_SENSITIVE,
  type CostModel, type EngineChoice, type CpuOptions, type IsaVariant, type SensitiveInstructionPolicy,
} from './cpu/index.js';

/** Builds a hart of the configured variant over a machine's physical memory. */
export interface CpuFactory {
  readonly variant: IsaVariant;
  /**
   * The execution engine of the harts it builds (default 'js'); 'wasm' needs memory with an
   * engine area; 'auto' builds wasm harts on memory that has one and js harts elsewhere (the
   * machine sizes the memory with resolveEngine).
   */
  readonly engine?: EngineChoice;
  /** `extra` adds per-use options (e.g. `platformInterrupts` for a hypervisor host). */
  create(memory: PhysMemory, hartId: number, extra?: Omit<CpuOptions, 'variant' | 'hartId' | 'freqHz' | 'costs' | 'sensitivePolicy'>): Cpu;
}
export const ISA_CPU_FACTORY = defineToken<CpuFactory>('isa.CpuFactory');

const COST_DESCRIPTIONS: Record<keyof CostModel, string> = {
  base: 'cycles per ALU / lui / auipc / fence / not-taken branch instruction',
  mul: 'cycles per multiply',
  div: 'cycles per divide or remainder',
  load: 'cycles per aligned load',
  store: 'cycles per aligned store',
  misaligned: 'extra cycles for a misaligned load or store',
  branchTaken: 'extra cycles for a taken conditional branch',
  jump: 'cycles per jal / jalr',
  atomic: 'cycles per lr / sc / AMO',
  csr: 'cycles per CSR instruction',
  system: 'cycles per ecall / ebreak / wfi / sfence.vma (trap entry extra)',
  trapReturn: 'cycles per sret / hret / mret',
  fenceI: 'cycles per fence.i (drops all compiled code)',
  trapEntry: 'cycles to enter a trap at any level',
  worldSwitch: 'cycles per vCPU context load (world switch; default: Xen-ARM VM switch, Dall et al. ISCA 2016)',
};
const costs = Object.fromEntries(
  (Object.keys(DEFAULT_COST_MODEL) as (keyof CostModel)[]).map((k) => [k, p.uint(DEFAULT_COST_MODEL[k], COST_DESCRIPTIONS[k])]),
) as Record<keyof CostModel, ParamSpec<number>>;

// One rule for variants: the plugin binds a strategy (SensitiveInstructionPolicy) that the CPU,
// its consumer, defines (as the mmu plugins bind a TlbTagPolicy).
function isaPlugin(variant: IsaVariant, policy: SensitiveInstructionPolicy, description: string) {
  return definePlugin({
    id: 'isa',
    variant,
    description,
    params: {
      maxBlockInsns: p.uint(64, 'longest basic block the JIT compiles', { min: 1, max: 1024 }),
      maxRegionPages: p.uint(DEFAULT_REGION_PAGES, 'virtual pages one compiled region may span (it follows calls, returns and page crossings; 1: its entry page only)', { min: 1, max: 64 }),
      engine: p.enum(ENGINE_CHOICES, 'auto', "execution engine: 'js' (JS functions, the reference), 'wasm' (WebAssembly with i64 registers) or 'auto' (wasm where RAM and the engine areas fit a 4 GiB wasm32 memory, else js)"),
      wasmTierUp: p.uint(WASM_TIER_UP, 'engine wasm: instructions a region runs as JS before it is compiled to wasm (0: at once)', { max: 2 ** 40 }),
    },
    costs,
    provides: [ISA_CPU_FACTORY],
    requires: [TOKENS.Costs, TOKENS.HostConfig],
    register(c, params) {
      bindSingleton(c, ISA_CPU_FACTORY, (c) => {
        const all = componentCosts(resolve(c, TOKENS.Costs), 'isa');
        const freqHz = resolve(c, TOKENS.HostConfig).cpu.freqMHz * 1e6;
        const model = Object.fromEntries(Object.keys(DEFAULT_COST_MODEL).map((k) => [k, all[k]])) as unknown as CostModel;
        return {
          variant,
          engine: params.engine,
          create: (memory, hartId, extra) => new Cpu(memory, {
            maxBlockInsns: params.maxBlockInsns, maxRegionPages: params.maxRegionPages, engine: params.engine === 'auto' ? (memory.wasmMemory ? 'wasm' : 'js') : params.engine, wasmTierUp: params.wasmTierUp, ...extra, variant, sensitivePolicy: policy, hartId, freqHz, costs: model,
          }),
        };
      });
    },
  });
}

export const isaTachyV1 = isaPlugin('tachy-v1', TRAP_SENSITIVE, 'Tachyxx v1: every control-sensitive instruction at PL2 traps to PL1/PL0 (cause 22)');
export const isaLegacySilent = isaPlugin('legacy-silent', SILENT_SENSITIVE, 'pre-VT-like: some sensitive instructions fail silently at PL2 (docs/isa.md 2.6)');
export const ISA_PLUGINS = [isaTachyV1, isaLegacySilent] as const;
