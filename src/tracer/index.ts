export { SyscallTracer, tracerPrograms, descendants } from './engine.js';
export { EbpfUnavailableError, describeFailure } from './errors.js';
export { rawLayout, tracefsLayout, type TracerLayout } from './layout.js';
export { State, Stat, tracerMaps, sysEnterProgram, forkProgram, exitProgram } from './programs.js';
export type { AttachMode, SyscallSnapshot, TracerOptions } from './types.js';
