// 'auto': the wasm engine wherever it can run, the js engine elsewhere. wasm needs RAM and every
// hart's engine area (registers, soft-TLB, code descriptors) inside one 4 GiB WebAssembly.Memory
// (wasm32) and a WebAssembly runtime; a bigger machine runs on js (exact either way: both engines
// retire the same instructions in the same simulated cycles).
import { DEFAULT_TLB_ENTRIES, type CpuEngine, type EngineChoice } from './state.js';
import { engineAreaBytes } from './wasmgen.js';

/** Bytes a wasm32 memory can hold. */
export const WASM32_MEMORY_BYTES = 2 ** 32;

/** The engine `choice` gives for a machine of `ramBytes` with `harts` harts. */
export function resolveEngine(choice: EngineChoice | undefined, ramBytes: number, harts: number): CpuEngine {
  if (choice === 'js' || choice === 'wasm') return choice;
  if (choice === undefined) return 'js';
  const fits = ramBytes + harts * engineAreaBytes(DEFAULT_TLB_ENTRIES) <= WASM32_MEMORY_BYTES;
  return fits && typeof (globalThis as { WebAssembly?: unknown }).WebAssembly === 'object' ? 'wasm' : 'js';
}
