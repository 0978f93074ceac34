// The CPU execution engine: public surface of src/cpu.
export { Cpu, ISA_VARIANTS, CPU_ENGINES, DEFAULT_TLB_ENTRIES, TLB_INITIAL_ENTRIES, WASM_TIER_UP, WASM_SHORT_RUN, DEFAULT_REGION_PAGES, createVcpuContext } from './cpu.js';
export { engineAreaBytes } from './wasmgen.js';
export { resolveEngine, WASM32_MEMORY_BYTES } from './engine-choice.js';
export { ENGINE_CHOICES, type EngineChoice } from './state.js';
export type { CpuEngine, EngineStats, IsaVariant, RunReason, TrapHandler, CsrTrapHandler, FastEcallHandler, TraceHook, CpuOptions, CpuStats, VcpuContext, CpuDebugHooks, CpuWatchpoint } from './cpu.js';
export { TRAP_SENSITIVE, SILENT_SENSITIVE, sensitivePolicyOf } from './sensitive.js';
export type { SensitiveInstructionPolicy, SensitiveKind, SensitiveAction } from './sensitive.js';
export { costOf } from './codegen.js';
export { PhysMemory, PAGE_SIZE, PAGE_SHIFT } from './memory.js';
export type { PhysMemoryConfig, MemoryWriteListener } from './memory.js';
export { MmioBus, Mmio32Handler, MMIO_ACCESS, DEFAULT_MMIO_READ_CYCLES, DEFAULT_MMIO_WRITE_CYCLES } from './mmio.js';
export type { MmioHandler, MmioRegion, MmioValue, MmioBusOptions } from './mmio.js';
export { Access, BareTranslator } from './translator.js';
export type { Translator, TranslationControl, SoftTlbInvalidator } from './translator.js';
export { DEFAULT_COST_MODEL, makeCostModel } from './cost.js';
export type { CostModel } from './cost.js';
export { CSR, CAUSE, IRQ } from './csr.js';
