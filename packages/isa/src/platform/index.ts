export { BareMachine, type BareMachineOptions, type RunResult, type ExitReason } from './bare-machine.js';
export { causeName } from './causes.js';
