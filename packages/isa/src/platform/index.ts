export { BareMachine, type BareMachineOptions, type RunResult, type ExitReason } from './bare-machine.js';
export { causeName, setTrapRouting, type TrapRouting } from './causes.js';
export { encodeStartInfo, type StartInfoFields } from './start-info.js';
